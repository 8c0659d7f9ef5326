// SPDX-License-Identifier: Apache-2.0
/* The policy compiler: pol_trace verdicts and explanations, and the
 * determinism of pol_compile's output. */
#include "test_policy_util.h"

#include <errno.h>

/* The trace of @from → @to equals the single-quoted JSON @want. */
static void ttrace(struct pol_db *db, const struct pol_trace_end *from,
		   const struct pol_trace_end *to, uint8_t proto, uint16_t port, const char *want)
{
	json_t *out = json_object(), *w = tj(want);
	size_t ids = pol_identity_count(db);

	assert_int_equal(pol_trace(db, from, to, proto, port, out), 0);
	if (!json_equal(out, w)) {
		char *got = json_dumps(out, JSON_SORT_KEYS), *exp = json_dumps(w, JSON_SORT_KEYS);

		print_message("got  %s\nwant %s\n", got, exp);
		free(got);
		free(exp);
		fail();
	}
	/* the trace's own references are gone */
	assert_int_equal(pol_identity_count(db), ids);
	json_decref(out);
	json_decref(w);
}

#define OPEN "{'isolated':false,'policies':[],'allowed_by':null,'reason':'not isolated'}"

static void test_trace_not_isolated(void **state)
{
	struct pol_db *db = *state;
	struct tsubj a, b;
	struct pol_trace_end from = { .subject = tsubj(&a, "ns", "app=a", "", ""),
				     .addr_be = tip("10.0.0.1") };
	struct pol_trace_end to = { .subject = tsubj(&b, "ns", "app=b", "", ""),
				     .addr_be = tip("10.0.0.2") };

	ttrace(db, &from, &to, TCP, 80, "{'verdict':'allowed','egress':" OPEN ",'ingress':" OPEN "}");
	/* a policy selecting others, or for the other direction, changes nothing */
	tset(db, "ns", "c", "{'podSelector':{'matchLabels':{'app':'c'}}}");
	tset(db, "ns", "eg", "{'podSelector':{'matchLabels':{'app':'b'}},'policyTypes':['Egress']}");
	ttrace(db, &from, &to, TCP, 80, "{'verdict':'allowed','egress':" OPEN ",'ingress':" OPEN "}");
	assert_int_equal(pol_identity_count(db), 0);
}

static void test_trace_ingress(void **state)
{
	struct pol_db *db = *state;
	struct tsubj a, b;
	struct pol_trace_end from = { .subject = tsubj(&a, "ns", "app=a", "", ""),
				     .addr_be = tip("10.0.0.1") };
	struct pol_trace_end to = { .subject = tsubj(&b, "ns", "app=b", "", "http:8080/tcp"),
				     .addr_be = tip("10.0.0.2") };

	tset(db, "ns", "deny", "{'podSelector':{'matchLabels':{'app':'b'}},'ingress':[]}");
	ttrace(db, &from, &to, TCP, 80,
	       "{'verdict':'denied','egress':" OPEN ",'ingress':{'isolated':true,"
	       "'policies':['ns/deny'],'allowed_by':null,'reason':'no rule allows it'}}");

	tset(db, "ns", "allow-a", "{'podSelector':{'matchLabels':{'app':'b'}},'ingress':["
				  "{'from':[{'podSelector':{'matchLabels':{'app':'x'}}}]},"
				  "{'from':[{'podSelector':{'matchLabels':{'app':'a'}}}],"
				  "'ports':[{'port':80},{'port':'http'},{'port':1000,'endPort':2000}]}]}");
	const char *allowed = "{'verdict':'allowed','egress':" OPEN ",'ingress':{'isolated':true,"
			      "'policies':['ns/allow-a','ns/deny'],"
			      "'allowed_by':'ns/allow-a ingress rule 1',"
			      "'reason':'allowed by ns/allow-a ingress rule 1'}}";
	const char *denied = "{'verdict':'denied','egress':" OPEN ",'ingress':{'isolated':true,"
			     "'policies':['ns/allow-a','ns/deny'],'allowed_by':null,"
			     "'reason':'no rule allows it'}}";
	ttrace(db, &from, &to, TCP, 80, allowed);
	ttrace(db, &from, &to, TCP, 8080, allowed);	/* the named port, as b calls it */
	ttrace(db, &from, &to, TCP, 1000, allowed);
	ttrace(db, &from, &to, TCP, 1536, allowed);
	ttrace(db, &from, &to, TCP, 2000, allowed);
	ttrace(db, &from, &to, TCP, 2001, denied);
	ttrace(db, &from, &to, TCP, 999, denied);
	ttrace(db, &from, &to, TCP, 81, denied);
	ttrace(db, &from, &to, UDP, 80, denied);

	/* a pod holding an identity keeps it through the trace */
	uint32_t ida = tident(db, "ns", "app=a", "", "");
	ttrace(db, &from, &to, TCP, 80, allowed);
	assert_non_null(pol_identity_subject(db, ida));
	assert_true(pol_identity_put(db, ida));
}

static void test_trace_egress_ipblock(void **state)
{
	struct pol_db *db = *state;
	struct tsubj a, b;
	struct pol_trace_end from = { .subject = tsubj(&a, "ns", "app=a", "", ""),
				     .addr_be = tip("10.0.0.1") };
	struct pol_trace_end b_pod = { .subject = tsubj(&b, "ns", "app=b", "", ""),
				     .addr_be = tip("10.0.0.5") };
	struct pol_trace_end out = { .subject = NULL, .addr_be = tip("1.1.1.1") };
	struct pol_trace_end priv = { .subject = NULL, .addr_be = tip("10.9.9.9") };

	tset(db, "ns", "out", "{'podSelector':{'matchLabels':{'app':'a'}},'policyTypes':['Egress'],"
			      "'egress':[{'to':[{'ipBlock':{'cidr':'0.0.0.0/0','except':['10.0.0.0/8']}}],"
			      "'ports':[{'port':443}]},"
			      /* egress to a pod by its /32 */
			      "{'to':[{'ipBlock':{'cidr':'10.0.0.5/32'}}]}]}");
	const char *eg = "{'isolated':true,'policies':['ns/out'],";
	char want[1024];

	snprintf(want, sizeof(want), "{'verdict':'allowed','egress':%s'allowed_by':'ns/out egress rule 0',"
		 "'reason':'allowed by ns/out egress rule 0'},'ingress':" OPEN "}", eg);
	ttrace(db, &from, &out, TCP, 443, want);
	snprintf(want, sizeof(want), "{'verdict':'denied','egress':%s'allowed_by':null,"
		 "'reason':'no rule allows it'},'ingress':" OPEN "}", eg);
	ttrace(db, &from, &priv, TCP, 443, want);
	ttrace(db, &from, &out, TCP, 80, want);
	snprintf(want, sizeof(want), "{'verdict':'allowed','egress':%s'allowed_by':'ns/out egress rule 1',"
		 "'reason':'allowed by ns/out egress rule 1'},'ingress':" OPEN "}", eg);
	ttrace(db, &from, &b_pod, UDP, 53, want);
}

static void test_trace_from_host_and_world(void **state)
{
	struct pol_db *db = *state;
	struct tsubj b;
	struct pol_trace_end to = { .subject = tsubj(&b, "ns", "app=b", "", ""),
				     .addr_be = tip("10.0.0.2") };
	struct pol_trace_end node = { .subject = NULL,
				     .addr_be = tip("192.168.0.1"), .host = true };
	struct pol_trace_end world = { .subject = NULL, .addr_be = tip("192.168.0.1") };
	struct pol_trace_end ext = { .subject = NULL, .addr_be = tip("8.8.8.8") };

	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'from':[{'ipBlock':{'cidr':'8.0.0.0/8'}}]}]}");
	ttrace(db, &node, &to, TCP, 80,
	       "{'verdict':'allowed','egress':" OPEN ",'ingress':{'isolated':true,'policies':['ns/p'],"
	       "'allowed_by':null,'reason':'from the node itself: always allowed'}}");
	ttrace(db, &world, &to, TCP, 80,
	       "{'verdict':'denied','egress':" OPEN ",'ingress':{'isolated':true,'policies':['ns/p'],"
	       "'allowed_by':null,'reason':'no rule allows it'}}");
	ttrace(db, &ext, &to, TCP, 80,
	       "{'verdict':'allowed','egress':" OPEN ",'ingress':{'isolated':true,'policies':['ns/p'],"
	       "'allowed_by':'ns/p ingress rule 0','reason':'allowed by ns/p ingress rule 0'}}");
}

/* Both sides isolated: the verdict needs both. */
static void test_trace_both_sides(void **state)
{
	struct pol_db *db = *state;
	struct tsubj a, b;
	struct pol_trace_end from = { .subject = tsubj(&a, "x", "app=a", "team=x", ""),
				     .addr_be = tip("10.0.0.1") };
	struct pol_trace_end to = { .subject = tsubj(&b, "y", "app=b", "team=y", "dns:53/udp"),
				     .addr_be = tip("10.0.1.1") };

	tset(db, "x", "eg", "{'podSelector':{},'policyTypes':['Egress'],'egress':[{'to':["
			    "{'namespaceSelector':{'matchLabels':{'team':'y'}}}],'ports':[{'protocol':'UDP','port':'dns'}]}]}");
	tset(db, "y", "in", "{'podSelector':{},'ingress':[{'from':["
			    "{'namespaceSelector':{'matchLabels':{'team':'x'}},'podSelector':{'matchLabels':{'app':'a'}}}]}]}");
	const char *in_ok = "{'isolated':true,'policies':['y/in'],'allowed_by':'y/in ingress rule 0',"
			    "'reason':'allowed by y/in ingress rule 0'}";
	char want[1024];

	snprintf(want, sizeof(want), "{'verdict':'allowed','egress':{'isolated':true,'policies':['x/eg'],"
		 "'allowed_by':'x/eg egress rule 0','reason':'allowed by x/eg egress rule 0'},"
		 "'ingress':%s}", in_ok);
	ttrace(db, &from, &to, UDP, 53, want);
	snprintf(want, sizeof(want), "{'verdict':'denied','egress':{'isolated':true,'policies':['x/eg'],"
		 "'allowed_by':null,'reason':'no rule allows it'},'ingress':%s}", in_ok);
	ttrace(db, &from, &to, TCP, 53, want);
}

static void test_trace_rejects(void **state)
{
	struct pol_db *db = *state;
	struct pol_subject bad = { .ns = NULL };
	struct pol_trace_end from = { .subject = &bad,
				     .addr_be = 0 }, to = { .subject = NULL, .addr_be = 0 };
	json_t *out = json_object();

	assert_int_equal(pol_trace(db, &from, &to, TCP, 80, out), -EINVAL);
	assert_int_equal(pol_trace(db, &to, &to, TCP, 80, NULL), -EINVAL);
	assert_int_equal(pol_identity_count(db), 0);
	json_decref(out);
}

/* --- determinism ----------------------------------------------------------------- */
static const char *const specs[] = {
	"{'podSelector':{},'ingress':[{'from':[{'podSelector':{'matchLabels':{'r':'1'}}},"
	"{'ipBlock':{'cidr':'10.0.0.0/8','except':['10.1.0.0/16']}}],'ports':[{'port':80,'endPort':90}]}]}",
	"{'podSelector':{'matchLabels':{'app':'s'}},'ingress':[{'from':[{'namespaceSelector':{}}]}],"
	"'egress':[{'to':[{'podSelector':{'matchExpressions':[{'key':'r','operator':'In','values':['1','2']}]}}],"
	"'ports':[{'port':'http'},{'protocol':'UDP','port':53}]}]}",
	"{'podSelector':{},'policyTypes':['Egress'],'egress':[{'to':[{'ipBlock':{'cidr':'10.1.2.0/24'}}]}]}",
};

static void build(struct pol_db *db, const int *order)
{
	char name[8];

	for (int r = 1; r <= 4; r++) {
		char l[16];

		snprintf(l, sizeof(l), "r=%d", r % 3);
		tident(db, "ns", l, "", "http:8080/tcp");
		tident(db, "other", l, "", "http:80/tcp");
	}
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "p%d", order[i]);
		tset(db, "ns", name, specs[order[i]]);
	}
}

static void test_compile_is_deterministic(void **state)
{
	static const int fwd[] = { 0, 1, 2 }, rev[] = { 0, 2, 1 };
	struct pol_db *db = *state, *db2;
	struct pol_compiled c1, c2, c3;
	struct tsubj t;

	tsubj(&t, "ns", "app=s", "", "http:8080/tcp");
	build(db, fwd);
	assert_int_equal(pol_compile(db, &t.s, 3, &c1), 0);
	assert_int_equal(c1.n_entries, 6 + 6 + 4 + 1);	/* see specs[] */
	for (size_t i = 1; i < c1.n_entries; i++)
		assert_true(pol_entry_cmp(&c1.entries[i - 1], &c1.entries[i]) < 0);
	/* twice: byte for byte */
	assert_int_equal(pol_compile(db, &t.s, 3, &c2), 0);
	assert_int_equal(c1.n_entries, c2.n_entries);
	assert_memory_equal(c1.entries, c2.entries, c1.n_entries * sizeof(*c1.entries));
	pol_compiled_clear(&c2);
	/* an unrelated policy coming and going changes nothing */
	tset(db, "ns", "unrelated", "{'podSelector':{'matchLabels':{'app':'zzz'}},'ingress':[]}");
	assert_int_equal(pol_policy_del(db, "ns", "unrelated"), 0);
	assert_int_equal(pol_compile(db, &t.s, 3, &c2), 0);
	assert_int_equal(c1.n_entries, c2.n_entries);
	assert_memory_equal(c1.entries, c2.entries, c1.n_entries * sizeof(*c1.entries));
	/* policies added in another order (CIDRs named in the same order, so
	 * they get the same numbers): the same keys */
	assert_int_equal(pol_db_new(&db2), 0);
	build(db2, rev);
	assert_int_equal(pol_compile(db2, &t.s, 3, &c3), 0);
	assert_int_equal(c1.n_entries, c3.n_entries);
	for (size_t i = 0; i < c1.n_entries; i++)
		assert_memory_equal(&c1.entries[i].key, &c3.entries[i].key, sizeof(c1.entries[i].key));
	pol_compiled_clear(&c1);
	pol_compiled_clear(&c2);
	pol_compiled_clear(&c3);
	pol_db_free(db2);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tdb_setup, tdb_teardown)
	const struct CMUnitTest tests[] = {
		T(test_trace_not_isolated),
		T(test_trace_ingress),
		T(test_trace_egress_ipblock),
		T(test_trace_from_host_and_world),
		T(test_trace_both_sides),
		T(test_trace_rejects),
		T(test_compile_is_deterministic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

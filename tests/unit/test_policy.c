// SPDX-License-Identifier: Apache-2.0
/* The policy compiler: selectors, identities, policy parsing, isolation and
 * peers (pod/namespace selectors, ipBlocks and CIDR identities).  Ports are in
 * test_policy_ports.c, trace in test_policy_trace.c. */
#include "test_policy_util.h"

#include <errno.h>

#include "internal.h"

/* --- selectors ------------------------------------------------------------- */
static void test_selector_operators(void **state)
{
	static const struct {
		const char *sel, *labels;
		bool match;
	} cases[] = {
		{ "{}", "", true },
		{ "{}", "a=b", true },
		{ "{'matchLabels':{}}", "a=b", true },
		{ "{'matchLabels':{'a':'b'}}", "a=b,c=d", true },
		{ "{'matchLabels':{'a':'b'}}", "a=c", false },
		{ "{'matchLabels':{'a':'b'}}", "", false },
		{ "{'matchLabels':{'a':'b','c':'d'}}", "c=d,a=b", true },
		{ "{'matchLabels':{'a':'b','c':'d'}}", "a=b", false },
		{ "{'matchLabels':{'a':''}}", "a=", true },
		{ "{'matchExpressions':[{'key':'a','operator':'In','values':['x','y']}]}", "a=y", true },
		{ "{'matchExpressions':[{'key':'a','operator':'In','values':['x','y']}]}", "a=z", false },
		{ "{'matchExpressions':[{'key':'a','operator':'In','values':['x','y']}]}", "b=x", false },
		{ "{'matchExpressions':[{'key':'a','operator':'NotIn','values':['x']}]}", "a=x", false },
		{ "{'matchExpressions':[{'key':'a','operator':'NotIn','values':['x']}]}", "a=y", true },
		/* NotIn holds when the key is absent */
		{ "{'matchExpressions':[{'key':'a','operator':'NotIn','values':['x']}]}", "b=x", true },
		{ "{'matchExpressions':[{'key':'a','operator':'Exists'}]}", "a=", true },
		{ "{'matchExpressions':[{'key':'a','operator':'Exists','values':[]}]}", "a=q", true },
		{ "{'matchExpressions':[{'key':'a','operator':'Exists'}]}", "b=a", false },
		{ "{'matchExpressions':[{'key':'a','operator':'DoesNotExist'}]}", "b=a", true },
		{ "{'matchExpressions':[{'key':'a','operator':'DoesNotExist'}]}", "a=b", false },
		/* matchLabels and matchExpressions AND */
		{ "{'matchLabels':{'a':'b'},'matchExpressions':[{'key':'c','operator':'Exists'}]}",
		  "a=b", false },
		{ "{'matchLabels':{'a':'b'},'matchExpressions':[{'key':'c','operator':'Exists'}]}",
		  "a=b,c=1", true },
		{ "{'matchExpressions':[{'key':'a','operator':'In','values':['x']},"
		  "{'key':'a','operator':'NotIn','values':['x']}]}", "a=x", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *j = tj(cases[i].sel);
		struct pol_labels l;
		struct pol_sel s;
		char kv[256], err[128];

		tlabels(cases[i].labels, kv, &l);
		assert_int_equal(pol_sel_parse(j, "sel", &s, err, sizeof(err)), 0);
		if (pol_sel_match(&s, &l) != cases[i].match)
			fail_msg("case %zu: %s on {%s}: want %d", i, cases[i].sel, cases[i].labels,
				 cases[i].match);
		pol_sel_clear(&s);
		json_decref(j);
	}
}

static void test_selector_rejects(void **state)
{
	static const struct {
		const char *sel, *msg;
	} cases[] = {
		{ "{'matchExpressions':[{'key':'a','operator':'Equals','values':['x']}]}",
		  "spec.podSelector.matchExpressions[0]: operator \"Equals\" is not In, NotIn, Exists or DoesNotExist" },
		{ "{'matchExpressions':[{'key':'a','operator':'In','values':[]}]}",
		  "spec.podSelector.matchExpressions[0]: In needs at least one value" },
		{ "{'matchExpressions':[{'key':'a','operator':'NotIn'}]}",
		  "spec.podSelector.matchExpressions[0]: NotIn needs at least one value" },
		{ "{'matchExpressions':[{'key':'a','operator':'Exists','values':['x']}]}",
		  "spec.podSelector.matchExpressions[0]: Exists takes no values" },
		{ "{'matchExpressions':[{'key':'a','operator':'DoesNotExist','values':['x']}]}",
		  "spec.podSelector.matchExpressions[0]: DoesNotExist takes no values" },
		{ "{'matchExpressions':[{'operator':'Exists'}]}",
		  "spec.podSelector.matchExpressions[0]: key missing or not a string" },
		{ "{'matchExpressions':[{'key':'a','operator':'In','values':[1]}]}",
		  "spec.podSelector.matchExpressions[0].values[0]: not a string" },
		{ "{'matchLabels':{'a':1}}",
		  "spec.podSelector.matchLabels: \"a\" is not a label and string value" },
		{ "{'matchLabels':[]}", "spec.podSelector.matchLabels: not an object" },
		{ "{'matchExpressions':{}}", "spec.podSelector.matchExpressions: not a list" },
		{ "[]", "spec.podSelector: not an object" },
	};
	struct pol_db *db = *state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char spec[512], err[256];

		snprintf(spec, sizeof(spec), "{'podSelector':%s}", cases[i].sel);
		assert_int_equal(tset_err(db, "ns", "p", spec, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, cases[i].msg);
	}
	assert_int_equal(pol_policy_count(db), 0);
}

/* Equivalent selectors written differently share one cache entry. */
static void test_selector_canonical_and_shared(void **state)
{
	struct pol_db *db = *state;

	tset(db, "ns", "a", "{'podSelector':{},'ingress':[{'from':[{'podSelector':"
			    "{'matchLabels':{'x':'1','y':'2'},'matchExpressions':["
			    "{'key':'z','operator':'In','values':['b','a']},"
			    "{'key':'w','operator':'Exists'}]}}]}]}");
	assert_int_equal(db->selcs.n, 1);
	tset(db, "ns", "b", "{'podSelector':{},'ingress':[{'from':[{'podSelector':"
			    "{'matchExpressions':[{'key':'w','operator':'Exists'},"
			    "{'key':'z','operator':'In','values':['a','b','a']},"
			    "{'key':'y','operator':'In','values':['2']}],"
			    "'matchLabels':{'y':'2','x':'1'}}}]}]}");
	assert_int_equal(db->selcs.n, 1);
	/* the same selector in another namespace is another set of pods */
	tset(db, "other", "a", "{'podSelector':{},'ingress':[{'from':[{'podSelector':"
			       "{'matchLabels':{'x':'1','y':'2'},'matchExpressions':["
			       "{'key':'z','operator':'In','values':['b','a']},"
			       "{'key':'w','operator':'Exists'}]}}]}]}");
	assert_int_equal(db->selcs.n, 2);
	/* namespaceSelector {} is not podSelector {} */
	tset(db, "ns", "c", "{'podSelector':{},'ingress':[{'from':[{'podSelector':{}},"
			    "{'namespaceSelector':{}},{'namespaceSelector':{},'podSelector':{}}]}]}");
	assert_int_equal(db->selcs.n, 5);
	assert_int_equal(pol_policy_del(db, "ns", "a"), 0);
	assert_int_equal(db->selcs.n, 5);
	assert_int_equal(pol_policy_del(db, "ns", "b"), 0);
	assert_int_equal(db->selcs.n, 4);
	assert_int_equal(pol_policy_del(db, "ns", "c"), 0);
	assert_int_equal(pol_policy_del(db, "other", "a"), 0);
	assert_int_equal(db->selcs.n, 0);
	assert_int_equal(db->nsbs.n, 0);
}

/* --- identities ------------------------------------------------------------ */
static void test_identity_interning(void **state)
{
	struct pol_db *db = *state;
	uint32_t a, b, c, d, e;
	struct tsubj t;
	bool fresh;

	assert_int_equal(pol_identity_get(db, tsubj(&t, "ns", "app=web,tier=fe", "team=x",
						    "http:80/tcp,dns:53/udp"), &a, &fresh), 0);
	assert_true(fresh);
	assert_int_equal(a, PN_ID_POD_MIN);
	/* label and port order do not matter; unnamed ports are ignored */
	assert_int_equal(pol_identity_get(db, tsubj(&t, "ns", "tier=fe,app=web", "team=x",
						    "dns:53/udp,:9000/tcp,http:80/tcp"), &b, &fresh),
			 0);
	assert_false(fresh);
	assert_int_equal(b, a);
	/* each of namespace, labels, namespace labels and ports tells apart */
	c = tident(db, "ns2", "app=web,tier=fe", "team=x", "http:80/tcp,dns:53/udp");
	d = tident(db, "ns", "app=web,tier=fe", "team=y", "http:80/tcp,dns:53/udp");
	e = tident(db, "ns", "app=web,tier=fe", "team=x", "http:8080/tcp,dns:53/udp");
	assert_int_not_equal(c, a);
	assert_int_not_equal(d, a);
	assert_int_not_equal(e, a);
	assert_int_not_equal(d, c);
	assert_int_equal(pol_identity_count(db), 4);

	/* the canonical subject: sorted labels, named ports only */
	const struct pol_subject *s = pol_identity_subject(db, a);
	assert_non_null(s);
	assert_string_equal(s->ns, "ns");
	assert_int_equal(s->labels.n, 2);
	assert_memory_equal(s->labels.kv, "app\0web\0tier\0fe", 16);
	assert_int_equal(s->ns_labels.n, 1);
	assert_memory_equal(s->ns_labels.kv, "team\0x", 7);
	assert_int_equal(s->n_ports, 2);
	assert_string_equal(s->ports[0].name, "dns");
	assert_int_equal(s->ports[0].port, 53);
	assert_int_equal(s->ports[0].proto, IPPROTO_UDP);
	assert_string_equal(s->ports[1].name, "http");

	/* refcounted: two references on a */
	assert_false(pol_identity_put(db, a));
	assert_non_null(pol_identity_subject(db, a));
	assert_true(pol_identity_put(db, a));
	assert_null(pol_identity_subject(db, a));
	assert_false(pol_identity_put(db, a));	/* unknown */
	assert_int_equal(pol_identity_count(db), 3);

	/* a freed number is not handed out again soon */
	assert_int_equal(pol_identity_get(db, tsubj(&t, "ns", "app=web,tier=fe", "team=x",
						    "http:80/tcp,dns:53/udp"), &b, &fresh), 0);
	assert_true(fresh);
	assert_int_equal(b, e + 1);
}

static void test_identity_numbers_wrap_skipping_live(void **state)
{
	struct pol_db *db = *state;
	uint32_t a, b, c;

	a = tident(db, "ns", "a=1", "", "");
	db->next_id = PN_ID_CIDR_MIN - 1;
	b = tident(db, "ns", "a=2", "", "");
	c = tident(db, "ns", "a=3", "", "");
	assert_int_equal(a, PN_ID_POD_MIN);
	assert_int_equal(b, PN_ID_CIDR_MIN - 1);
	assert_int_equal(c, PN_ID_POD_MIN + 1);	/* wrapped, skipped the live a */
}

static void test_identity_rejects_bad_subject(void **state)
{
	struct pol_db *db = *state;
	struct pol_subject s = { .ns = NULL };
	uint32_t id;

	assert_int_equal(pol_identity_get(db, &s, &id, NULL), -EINVAL);
	s.ns = "ns";
	s.labels.n = 1;
	assert_int_equal(pol_identity_get(db, &s, &id, NULL), -EINVAL);
	assert_int_equal(pol_identity_count(db), 0);
}

/* --- policy parsing ---------------------------------------------------------- */
static void test_policy_rejects(void **state)
{
	static const struct {
		const char *spec, *msg;
	} cases[] = {
		{ "{}", "spec.podSelector: required ({} selects every pod)" },
		{ "{'podSelector':{},'policyTypes':['Ingres']}",
		  "spec.policyTypes[0]: not Ingress or Egress" },
		{ "{'podSelector':{},'ingress':{}}", "spec.ingress: not a list" },
		{ "{'podSelector':{},'ingress':[{'from':[{}]}]}",
		  "spec.ingress[0].from[0]: needs a podSelector, a namespaceSelector or an ipBlock" },
		{ "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':'10.0.0.0/8'},'podSelector':{}}]}]}",
		  "spec.egress[0].to[0]: ipBlock cannot be combined with a selector" },
		{ "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':'10.0.0.0'}}]}]}",
		  "spec.egress[0].to[0].ipBlock.cidr: \"10.0.0.0\" is not a CIDR" },
		{ "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':'10.0.0.0/33'}}]}]}",
		  "spec.egress[0].to[0].ipBlock.cidr: \"10.0.0.0/33\" is not a CIDR" },
		{ "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':'10.0.0.0/8','except':['11.0.0.0/16']}}]}]}",
		  "spec.egress[0].to[0].ipBlock.except[0]: 11.0.0.0/16 is not strictly inside the cidr" },
		{ "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':'10.0.0.0/8','except':['10.0.0.0/8']}}]}]}",
		  "spec.egress[0].to[0].ipBlock.except[0]: 10.0.0.0/8 is not strictly inside the cidr" },
		{ "{'podSelector':{},'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/8','except':['fd00::/64']}}]}]}",
		  "spec.ingress[0].from[0].ipBlock.except[0]: fd00::/64 is not strictly inside the cidr" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'port':0}]}]}",
		  "spec.ingress[0].ports[0].port: 0 is not in 1-65535" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'port':65536}]}]}",
		  "spec.ingress[0].ports[0].port: 65536 is not in 1-65535" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'port':'HTTP'}]}]}",
		  "spec.ingress[0].ports[0].port: \"HTTP\" is not a port name" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'port':'8080'}]}]}",
		  "spec.ingress[0].ports[0].port: \"8080\" is not a port name" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'port':80,'endPort':79}]}]}",
		  "spec.ingress[0].ports[0].endPort: not a number in 80-65535" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'port':'http','endPort':90}]}]}",
		  "spec.ingress[0].ports[0].endPort: needs a numeric port" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'endPort':90}]}]}",
		  "spec.ingress[0].ports[0].endPort: needs a numeric port" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'protocol':'ICMP','port':1}]}]}",
		  "spec.ingress[0].ports[0].protocol: not TCP, UDP or SCTP" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'protocol':'tcp'}]}]}",
		  "spec.ingress[0].ports[0].protocol: not TCP, UDP or SCTP" },
		/* rules of a direction the policy does not govern are still checked */
		{ "{'podSelector':{},'policyTypes':['Ingress'],'egress':[{'ports':[{'port':-1}]}]}",
		  "spec.egress[0].ports[0].port: -1 is not in 1-65535" },
	};
	struct pol_db *db = *state;
	struct pol_compiled c;
	struct tsubj t;
	char err[256];

	/* A valid version first: a rejected update leaves it in place. */
	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'ports':[{'port':80}]}]}");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = tset_err(db, "ns", "p", cases[i].spec, err, sizeof(err));

		if (r != -EINVAL || strcmp(err, cases[i].msg))
			fail_msg("case %zu: %d \"%s\", want \"%s\"", i, r, err, cases[i].msg);
	}
	assert_int_equal(pol_policy_count(db), 1);
	assert_int_equal(pol_compile(db, tsubj(&t, "ns", "", "", ""), 7, &c), 0);
	assert_int_equal(c.n_entries, 1);
	assert_int_equal(ntohs(c.entries[0].key.dport), 80);
	pol_compiled_clear(&c);
	/* nothing half-made survives: no CIDRs, one selector-free namespace */
	assert_int_equal(db->cidrs.n, 0);
	assert_int_equal(db->selcs.n, 0);
	assert_int_equal(pol_identity_count(db), 0);
	assert_int_equal(tset_err(db, "", "p", "{'podSelector':{}}", err, sizeof(err)), -EINVAL);
	assert_int_equal(pol_policy_del(db, "ns", "nope"), -ENOENT);
}

static void test_policy_types(void **state)
{
	static const struct {
		const char *spec;
		bool in, eg;
		size_t entries;
	} cases[] = {
		{ "{'podSelector':{}}", true, false, 0 },
		{ "{'podSelector':{},'ingress':[{}]}", true, false, 1 },
		{ "{'podSelector':{},'egress':[{}]}", true, true, 1 },
		{ "{'podSelector':{},'egress':[]}", true, false, 0 },
		{ "{'podSelector':{},'egress':null}", true, false, 0 },
		{ "{'podSelector':{},'policyTypes':[],'egress':[{}]}", true, true, 1 },
		{ "{'podSelector':{},'policyTypes':['Egress']}", false, true, 0 },
		/* ingress rules of an Egress-only policy do nothing */
		{ "{'podSelector':{},'policyTypes':['Egress'],'ingress':[{}]}", false, true, 0 },
		{ "{'podSelector':{},'policyTypes':['Ingress'],'egress':[{}]}", true, false, 0 },
		{ "{'podSelector':{},'policyTypes':['Ingress','Egress']}", true, true, 0 },
		{ "{'podSelector':{},'policyTypes':['Egress','Ingress'],'ingress':[{}],'egress':[{}]}",
		  true, true, 2 },
	};
	struct pol_db *db = *state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pol_compiled c;
		struct tsubj t;

		tset(db, "ns", "p", cases[i].spec);
		assert_int_equal(pol_compile(db, tsubj(&t, "ns", "a=b", "", ""), 7, &c), 0);
		if (c.isolated_ingress != cases[i].in || c.isolated_egress != cases[i].eg ||
		    c.n_entries != cases[i].entries)
			fail_msg("case %zu %s: in %d eg %d entries %zu", i, cases[i].spec,
				 c.isolated_ingress, c.isolated_egress, c.n_entries);
		pol_compiled_clear(&c);
	}
}

static void test_replace_keeps_rule_refs(void **state)
{
	struct pol_db *db = *state;
	struct pol_compiled c1, c2;
	struct tsubj t;
	char d[64];

	tset(db, "ns", "first", "{'podSelector':{},'ingress':[{'ports':[{'port':1}]}]}");
	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'ports':[{'port':80}]}]}");
	assert_int_equal(pol_compile(db, tsubj(&t, "ns", "", "", ""), 7, &c1), 0);
	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'ports':[{'port':80},{'port':81}]}]}");
	assert_int_equal(pol_policy_count(db), 2);
	assert_int_equal(pol_compile(db, &t.s, 7, &c2), 0);
	assert_int_equal(c1.n_entries, 2);
	assert_int_equal(c2.n_entries, 3);
	assert_memory_equal(&c1.entries[1], &c2.entries[1], sizeof(c1.entries[1]));
	assert_true(pol_rule_describe(db, c2.entries[2].rule_ref, d, sizeof(d)));
	assert_string_equal(d, "ns/p ingress rule 0");
	/* deleted: the reference names nothing any more */
	assert_int_equal(pol_policy_del(db, "ns", "p"), 0);
	assert_false(pol_rule_describe(db, c2.entries[2].rule_ref, d, sizeof(d)));
	assert_false(pol_rule_describe(db, 0, d, sizeof(d)));
	assert_int_equal(pol_policy_del(db, "ns", "p"), -ENOENT);
	pol_compiled_clear(&c1);
	pol_compiled_clear(&c2);
}

/* --- isolation and peers --------------------------------------------------------- */
static void test_selection_and_namespaces(void **state)
{
	struct pol_db *db = *state;
	struct tsubj t;

	tset(db, "ns", "db-only", "{'podSelector':{'matchLabels':{'app':'db'}},'ingress':[{}]}");
	tset(db, "other", "all", "{'podSelector':{},'policyTypes':['Ingress','Egress']}");
	/* not selected (labels), not selected (another namespace's policy) */
	tcompile(db, tsubj(&t, "ns", "app=web", "", ""), false, false, NULL, 0);
	tcompile(db, tsubj(&t, "ns", "", "", ""), false, false, NULL, 0);
	tcompile(db, tsubj(&t, "third", "app=db", "", ""), false, false, NULL, 0);

	static const struct texp db_only[] = { { PN_ID_ANY, IN, 0, 0, ANYP, "ns/db-only ingress rule 0" } };
	tcompile(db, tsubj(&t, "ns", "app=db", "", ""), true, false, db_only, 1);
	tcompile(db, tsubj(&t, "other", "x=y", "", ""), true, true, NULL, 0);
}

static void test_union_of_policies(void **state)
{
	struct pol_db *db = *state;
	uint32_t web = tident(db, "ns", "app=web", "", "");
	uint32_t api = tident(db, "ns", "app=api", "", "");
	struct tsubj t;

	tset(db, "ns", "a", "{'podSelector':{'matchLabels':{'app':'db'}},'ingress':["
			    "{'from':[{'podSelector':{'matchLabels':{'app':'web'}}}]}]}");
	tset(db, "ns", "b", "{'podSelector':{},'policyTypes':['Ingress','Egress'],'ingress':["
			    "{'from':[{'podSelector':{'matchLabels':{'app':'api'}}}],"
			    "'ports':[{'port':5432}]},"
			    "{'from':[{'podSelector':{'matchLabels':{'app':'web'}}}]}],"
			    "'egress':[{'to':[{'podSelector':{'matchLabels':{'app':'api'}}}]}]}");
	const struct texp want[] = {
		{ web, IN, 0, 0, ANYP, "ns/a ingress rule 0" },	/* also b rule 1: lower ref */
		{ api, IN, TCP, 5432, FULL, "ns/b ingress rule 0" },
		{ api, EG, 0, 0, ANYP, "ns/b egress rule 0" },
	};
	tcompile(db, tsubj(&t, "ns", "app=db", "", ""), true, true, want, ARRAY_SIZE(want));
}

static void test_pod_selector_in_policy_namespace_only(void **state)
{
	struct pol_db *db = *state;
	uint32_t here = tident(db, "ns", "app=web", "", "");
	struct tsubj t;

	tident(db, "elsewhere", "app=web", "", "");
	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'from':[{'podSelector':{}}]}]}");
	const struct texp want[] = {
		{ here, IN, 0, 0, ANYP, "ns/p ingress rule 0" },
	};
	tcompile(db, tsubj(&t, "ns", "", "", ""), true, false, want, 1);
}

static void test_namespace_selectors(void **state)
{
	struct pol_db *db = *state;
	uint32_t a1 = tident(db, "a", "app=web", "team=x", "");
	uint32_t a2 = tident(db, "a", "app=db", "team=x", "");
	uint32_t b1 = tident(db, "b", "app=web", "team=y", "");
	uint32_t c1 = tident(db, "c", "app=web", "", "");
	struct tsubj t;

	tset(db, "p", "ns-only", "{'podSelector':{},'ingress':[{'from':["
				 "{'namespaceSelector':{'matchLabels':{'team':'x'}}}]}]}");
	const struct texp ns_only[] = {
		{ a1, IN, 0, 0, ANYP, "p/ns-only ingress rule 0" },
		{ a2, IN, 0, 0, ANYP, "p/ns-only ingress rule 0" },
	};
	tcompile(db, tsubj(&t, "p", "", "", ""), true, false, ns_only, 2);
	assert_int_equal(pol_policy_del(db, "p", "ns-only"), 0);

	/* {}: every pod of every namespace */
	tset(db, "p", "all", "{'podSelector':{},'ingress':[{'from':[{'namespaceSelector':{}}]}]}");
	const struct texp all[] = {
		{ a1, IN, 0, 0, ANYP, "p/all ingress rule 0" },
		{ a2, IN, 0, 0, ANYP, "p/all ingress rule 0" },
		{ b1, IN, 0, 0, ANYP, "p/all ingress rule 0" },
		{ c1, IN, 0, 0, ANYP, "p/all ingress rule 0" },
	};
	tcompile(db, tsubj(&t, "p", "", "", ""), true, false, all, 4);
	assert_int_equal(pol_policy_del(db, "p", "all"), 0);

	/* one peer with both selectors: AND */
	tset(db, "p", "and", "{'podSelector':{},'ingress':[{'from':[{"
			     "'namespaceSelector':{'matchExpressions':[{'key':'team','operator':'Exists'}]},"
			     "'podSelector':{'matchLabels':{'app':'web'}}}]}]}");
	const struct texp and[] = {
		{ a1, IN, 0, 0, ANYP, "p/and ingress rule 0" },
		{ b1, IN, 0, 0, ANYP, "p/and ingress rule 0" },
	};
	tcompile(db, tsubj(&t, "p", "", "", ""), true, false, and, 2);
	assert_int_equal(pol_policy_del(db, "p", "and"), 0);

	/* two peers: OR (and the podSelector one is about namespace p) */
	tset(db, "p", "or", "{'podSelector':{},'egress':[{'to':["
			    "{'namespaceSelector':{'matchLabels':{'team':'y'}}},"
			    "{'podSelector':{'matchLabels':{'app':'web'}}}]}]}");
	uint32_t p1 = tident(db, "p", "app=web", "", "");
	const struct texp or[] = {
		{ b1, EG, 0, 0, ANYP, "p/or egress rule 0" },
		{ p1, EG, 0, 0, ANYP, "p/or egress rule 0" },
	};
	tcompile(db, tsubj(&t, "p", "", "", ""), true, true, or, 2);
}

/* The selector cache follows identities in both orders of arrival. */
static void test_identities_come_and_go(void **state)
{
	struct pol_db *db = *state;
	uint32_t before = tident(db, "ns", "app=web", "", "");
	uint32_t later;
	struct tsubj t;

	tset(db, "ns", "p", "{'podSelector':{'matchLabels':{'app':'db'}},'ingress':[{'from':["
			    "{'podSelector':{'matchLabels':{'app':'web'}}},"
			    "{'namespaceSelector':{'matchLabels':{'env':'prod'}},"
			    "'podSelector':{'matchLabels':{'app':'web'}}}]}]}");
	later = tident(db, "ns", "app=web,v=2", "env=prod", "");
	tident(db, "ns", "app=api", "env=prod", "");
	uint32_t remote = tident(db, "far", "app=web", "env=prod", "");
	const struct texp want[] = {
		{ before, IN, 0, 0, ANYP, "ns/p ingress rule 0" },
		{ later, IN, 0, 0, ANYP, "ns/p ingress rule 0" },
		{ remote, IN, 0, 0, ANYP, "ns/p ingress rule 0" },
	};
	tcompile(db, tsubj(&t, "ns", "app=db", "", ""), true, false, want, 3);
	assert_true(pol_identity_put(db, later));
	assert_true(pol_identity_put(db, before));
	tcompile(db, tsubj(&t, "ns", "app=db", "", ""), true, false, &want[2], 1);
}

static void test_empty_rule_lists(void **state)
{
	struct pol_db *db = *state;
	struct tsubj t;

	/* ingress: [] with Ingress: isolated, nothing allowed */
	tset(db, "ns", "deny", "{'podSelector':{},'ingress':[]}");
	tcompile(db, tsubj(&t, "ns", "", "", ""), true, false, NULL, 0);
	/* from: [] and ports: []: every peer, every port */
	tset(db, "ns", "deny", "{'podSelector':{},'ingress':[{'from':[],'ports':[]}],"
			       "'egress':[{'to':null}]}");
	const struct texp want[] = {
		{ PN_ID_ANY, IN, 0, 0, ANYP, "ns/deny ingress rule 0" },
		{ PN_ID_ANY, EG, 0, 0, ANYP, "ns/deny egress rule 0" },
	};
	tcompile(db, &t.s, true, true, want, 2);
	/* a selector that matches nobody: isolated, no entries */
	tset(db, "ns", "deny", "{'podSelector':{},'ingress':[{'from':[{'podSelector':"
			       "{'matchLabels':{'no':'one'}}}]}]}");
	tcompile(db, &t.s, true, false, NULL, 0);
}

/* --- ipBlock and CIDR identities ----------------------------------------------------- */
static int collect_cidr(void *data, const struct pol_cidr *c)
{
	char *buf = data, a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &c->addr_be, a, sizeof(a));
	sprintf(buf + strlen(buf), "%s/%u=%u ", a, c->len, c->identity - PN_ID_CIDR_MIN);
	return 0;
}

static void test_cidr_identities(void **state)
{
	struct pol_db *db = *state;
	char got[512] = "";

	tset(db, "ns", "a", "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':'10.0.0.0/8',"
			    "'except':['10.1.0.0/16','10.1.2.0/24']}}]}]}");
	/* the same prefixes again, host bits set: no new identities */
	tset(db, "ns", "b", "{'podSelector':{},'ingress':[{'from':[{'ipBlock':{'cidr':'10.1.2.3/24'}},"
			    "{'ipBlock':{'cidr':'192.168.1.7/32'}},{'ipBlock':{'cidr':'10.9.9.9/8'}}]}]}");
	assert_int_equal(pol_cidr_foreach(db, collect_cidr, got), 0);
	assert_string_equal(got, "10.0.0.0/8=0 10.1.0.0/16=1 10.1.2.0/24=2 192.168.1.7/32=3 ");
	assert_int_equal(pol_cidr_identity(db, tip("10.200.0.1")), PN_ID_CIDR_MIN + 0);
	assert_int_equal(pol_cidr_identity(db, tip("10.1.3.1")), PN_ID_CIDR_MIN + 1);
	assert_int_equal(pol_cidr_identity(db, tip("10.1.2.255")), PN_ID_CIDR_MIN + 2);
	assert_int_equal(pol_cidr_identity(db, tip("192.168.1.7")), PN_ID_CIDR_MIN + 3);
	assert_int_equal(pol_cidr_identity(db, tip("192.168.1.8")), PN_ID_WORLD);
	assert_int_equal(pol_cidr_identity(db, tip("11.0.0.0")), PN_ID_WORLD);

	/* refcounted by the policies naming them: 10.1.0.0/16 only by a */
	assert_int_equal(pol_policy_del(db, "ns", "a"), 0);
	got[0] = '\0';
	assert_int_equal(pol_cidr_foreach(db, collect_cidr, got), 0);
	assert_string_equal(got, "10.0.0.0/8=0 10.1.2.0/24=2 192.168.1.7/32=3 ");
	assert_int_equal(pol_cidr_identity(db, tip("10.1.3.1")), PN_ID_CIDR_MIN + 0);
	/* a replacement naming other prefixes drops the old ones */
	tset(db, "ns", "b", "{'podSelector':{},'ingress':[{'from':[{'ipBlock':{'cidr':'172.16.0.0/12'}}]}]}");
	got[0] = '\0';
	assert_int_equal(pol_cidr_foreach(db, collect_cidr, got), 0);
	assert_string_equal(got, "172.16.0.0/12=4 ");	/* numbers not reused */
	assert_int_equal(pol_cidr_identity(db, tip("10.1.2.3")), PN_ID_WORLD);
	assert_int_equal(pol_policy_del(db, "ns", "b"), 0);
	got[0] = '\0';
	assert_int_equal(pol_cidr_foreach(db, collect_cidr, got), 0);
	assert_string_equal(got, "");
}

static void test_ipblock_except(void **state)
{
	struct pol_db *db = *state;
	struct tsubj t;

	/* Other policies add prefixes inside and around this one's. */
	tset(db, "x", "more", "{'podSelector':{},'ingress':[{'from':["
			      "{'ipBlock':{'cidr':'10.1.2.0/24'}},{'ipBlock':{'cidr':'10.2.0.0/16'}},"
			      "{'ipBlock':{'cidr':'10.1.5.5/32'}},{'ipBlock':{'cidr':'0.0.0.0/1'}}]}]}");
	tset(db, "ns", "p", "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':'10.0.0.0/8',"
			    "'except':['10.1.0.0/16']}}],'ports':[{'port':443}]}]}");
	uint32_t c10 = pol_cidr_identity(db, tip("10.0.0.1"));
	uint32_t c10_2 = pol_cidr_identity(db, tip("10.2.0.1"));
	assert_int_equal(pol_cidr_identity(db, tip("10.1.0.1")), PN_ID_CIDR_MIN + 5);
	/* allowed: 10/8's own region and 10.2/16; not 10.1/16, nor
	 * 10.1.2/24 or 10.1.5.5/32 inside it, nor 0/1 around it, nor world */
	const struct texp want[] = {
		{ c10, EG, TCP, 443, FULL, "ns/p egress rule 0" },
		{ c10_2, EG, TCP, 443, FULL, "ns/p egress rule 0" },
	};
	tcompile(db, tsubj(&t, "ns", "", "", ""), true, true, want, 2);
	/* the CIDR set changes under a cached ipBlock */
	tset(db, "y", "z", "{'podSelector':{},'ingress':[{'from':["
			   "{'ipBlock':{'cidr':'10.3.0.0/16'}},{'ipBlock':{'cidr':'10.1.9.0/24'}}]}]}");
	const struct texp want2[] = {
		{ c10, EG, TCP, 443, FULL, "ns/p egress rule 0" },
		{ c10_2, EG, TCP, 443, FULL, "ns/p egress rule 0" },
		{ pol_cidr_identity(db, tip("10.3.0.0")), EG, TCP, 443, FULL, "ns/p egress rule 0" },
	};
	tcompile(db, &t.s, true, true, want2, 3);
}

/* Nested excepts: each is excluded with everything inside it. */
static void test_ipblock_nested_excepts(void **state)
{
	struct pol_db *db = *state;
	struct tsubj t;

	tset(db, "ns", "p", "{'podSelector':{},'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/8',"
			    "'except':['10.1.0.0/16','10.1.1.0/24']}},{'ipBlock':{'cidr':'10.1.1.128/25'}}]}]}");
	const struct texp want[] = {
		{ PN_ID_CIDR_MIN + 0, IN, 0, 0, ANYP, "ns/p ingress rule 0" },
		/* the second peer ORs its own /25 back in */
		{ PN_ID_CIDR_MIN + 3, IN, 0, 0, ANYP, "ns/p ingress rule 0" },
	};
	tcompile(db, tsubj(&t, "ns", "", "", ""), true, false, want, 2);
	assert_int_equal(pol_cidr_identity(db, tip("10.1.1.200")), PN_ID_CIDR_MIN + 3);
	assert_int_equal(pol_cidr_identity(db, tip("10.1.1.100")), PN_ID_CIDR_MIN + 2);
}

/* 0.0.0.0/0 is a CIDR identity like any other, not PN_ID_WORLD: the
 * datapath's pod identity of every non-pod address is PN_ID_WORLD, so an
 * entry for it would ignore the excepts. */
static void test_ipblock_zero(void **state)
{
	struct pol_db *db = *state;
	char got[256] = "";
	struct tsubj t;

	tset(db, "ns", "p", "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':'0.0.0.0/0',"
			    "'except':['10.0.0.0/8','192.168.0.0/16']}}]}]}");
	tset(db, "ns", "q", "{'podSelector':{'matchLabels':{'q':'1'}},'egress':[{'to':["
			    "{'ipBlock':{'cidr':'10.1.0.0/16'}},{'ipBlock':{'cidr':'8.8.8.8/32'}}]}]}");
	assert_int_equal(pol_cidr_foreach(db, collect_cidr, got), 0);
	assert_string_equal(got, "0.0.0.0/0=0 8.8.8.8/32=4 10.0.0.0/8=1 10.1.0.0/16=3 "
				 "192.168.0.0/16=2 ");
	assert_int_equal(pol_cidr_identity(db, tip("1.1.1.1")), PN_ID_CIDR_MIN + 0);
	assert_int_equal(pol_cidr_identity(db, tip("255.255.255.255")), PN_ID_CIDR_MIN + 0);
	assert_int_equal(pol_cidr_identity(db, tip("10.1.0.0")), PN_ID_CIDR_MIN + 3);
	const struct texp want[] = {
		{ PN_ID_CIDR_MIN + 0, EG, 0, 0, ANYP, "ns/p egress rule 0" },
		{ PN_ID_CIDR_MIN + 4, EG, 0, 0, ANYP, "ns/p egress rule 0" },
	};
	tcompile(db, tsubj(&t, "ns", "", "", ""), true, true, want, 2);
	/* without excepts: every CIDR identity */
	tset(db, "ns", "p", "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':'0.0.0.0/0'}}]}]}");
	const struct texp all[] = {
		{ PN_ID_CIDR_MIN + 0, EG, 0, 0, ANYP, "ns/p egress rule 0" },
		{ PN_ID_CIDR_MIN + 3, EG, 0, 0, ANYP, "ns/p egress rule 0" },
		{ PN_ID_CIDR_MIN + 4, EG, 0, 0, ANYP, "ns/p egress rule 0" },
	};
	tcompile(db, &t.s, true, true, all, 3);
	/* and never PN_ID_WORLD, even when nothing else is in the set */
	assert_int_equal(pol_policy_del(db, "ns", "q"), 0);
	const struct texp zero[] = { { PN_ID_CIDR_MIN + 0, EG, 0, 0, ANYP, "ns/p egress rule 0" } };
	tcompile(db, &t.s, true, true, zero, 1);
}

static void test_ipblock_ipv6_matches_nothing(void **state)
{
	struct pol_db *db = *state;
	struct tsubj t;

	tset(db, "ns", "p", "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':'::/0',"
			    "'except':['fd00::/8']}},{'ipBlock':{'cidr':'2001:db8::/32'}}]}]}");
	tcompile(db, tsubj(&t, "ns", "", "", ""), true, true, NULL, 0);
	assert_int_equal(db->cidrs.n, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tdb_setup, tdb_teardown)
	const struct CMUnitTest tests[] = {
		T(test_selector_operators),
		T(test_selector_rejects),
		T(test_selector_canonical_and_shared),
		T(test_identity_interning),
		T(test_identity_numbers_wrap_skipping_live),
		T(test_identity_rejects_bad_subject),
		T(test_policy_rejects),
		T(test_policy_types),
		T(test_replace_keeps_rule_refs),
		T(test_selection_and_namespaces),
		T(test_union_of_policies),
		T(test_pod_selector_in_policy_namespace_only),
		T(test_namespace_selectors),
		T(test_identities_come_and_go),
		T(test_empty_rule_lists),
		T(test_cidr_identities),
		T(test_ipblock_except),
		T(test_ipblock_nested_excepts),
		T(test_ipblock_zero),
		T(test_ipblock_ipv6_matches_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/* porinctl's offline policy trace: kubectl output in, verdicts out, through
 * the real policy compiler.  No agent, no kernel. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/trace_snapshot.h"

/*
 * What `kubectl get namespaces,pods,networkpolicies,services -A -o json`
 * prints, cut down (single quotes become double ones).  y is isolated for
 * ingress; y/b takes 80/TCP ("web") from x's app=a pods only.
 */
static const char *cluster =
	"{'apiVersion': 'v1', 'kind': 'List', 'items': ["
	" {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'x',"
	"  'resourceVersion': '1', 'uid': 'n1',"
	"  'labels': {'kubernetes.io/metadata.name': 'x', 'team': 'x'}}},"
	" {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'y',"
	"  'resourceVersion': '2', 'uid': 'n2'}},"
	" {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'namespace': 'x', 'name': 'a',"
	"  'resourceVersion': '10', 'uid': 'p1', 'labels': {'app': 'a'}},"
	"  'spec': {'nodeName': 'n1', 'containers': [{'name': 'c', 'ports': ["
	"   {'name': 'http', 'containerPort': 8080, 'protocol': 'TCP'}]}]},"
	"  'status': {'phase': 'Running', 'podIP': '10.0.1.1', 'podIPs': [{'ip': '10.0.1.1'}]}},"
	" {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'namespace': 'x', 'name': 'b',"
	"  'resourceVersion': '11', 'uid': 'p2', 'labels': {'app': 'b'}},"
	"  'spec': {'containers': [{'name': 'c'}]},"
	"  'status': {'phase': 'Running', 'podIP': '10.0.1.2'}},"
	" {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'namespace': 'y', 'name': 'b',"
	"  'resourceVersion': '12', 'uid': 'p3', 'labels': {'app': 'b'}},"
	"  'spec': {'nodeName': 'n1', 'containers': [{'name': 'c', 'ports': ["
	"   {'name': 'web', 'containerPort': 80}]}]},"
	"  'status': {'phase': 'Running', 'podIP': '10.0.2.1'}},"
	" {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'namespace': 'y', 'name': 'c',"
	"  'resourceVersion': '13', 'uid': 'p4', 'labels': {'app': 'c'}},"
	"  'spec': {'containers': [{'name': 'c'}]},"
	"  'status': {'phase': 'Running', 'podIP': '10.0.2.2'}},"
	/* Finished, and its IP went to y/b: the address means y/b. */
	" {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'namespace': 'y', 'name': 'done',"
	"  'resourceVersion': '14', 'uid': 'p5', 'labels': {'app': 'a'}},"
	"  'spec': {'containers': [{'name': 'c'}]},"
	"  'status': {'phase': 'Succeeded', 'podIP': '10.0.2.1'}},"
	" {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'namespace': 'kube-system',"
	"  'name': 'proxy', 'resourceVersion': '15', 'uid': 'p6'},"
	"  'spec': {'nodeName': 'n1', 'hostNetwork': true, 'containers': [{'name': 'c'}]},"
	"  'status': {'phase': 'Running', 'podIP': '192.168.0.10'}},"
	/* Does not decode (port 0): skipped with a warning. */
	" {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'namespace': 'x', 'name': 'broken',"
	"  'resourceVersion': '16', 'uid': 'p7'},"
	"  'spec': {'containers': [{'name': 'c', 'ports': [{'containerPort': 0}]}]},"
	"  'status': {'phase': 'Running', 'podIP': '10.0.1.9'}},"
	" {'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'namespace': 'y', 'name': 's',"
	"  'resourceVersion': '17', 'uid': 's1'}, 'spec': {'clusterIP': '10.96.0.10'}},"
	" {'apiVersion': 'networking.k8s.io/v1', 'kind': 'NetworkPolicy',"
	"  'metadata': {'namespace': 'y', 'name': 'deny-all', 'resourceVersion': '20',"
	"  'uid': 'np1'}, 'spec': {'podSelector': {}, 'policyTypes': ['Ingress']}},"
	" {'apiVersion': 'networking.k8s.io/v1', 'kind': 'NetworkPolicy',"
	"  'metadata': {'namespace': 'y', 'name': 'allow-from-x', 'resourceVersion': '21',"
	"  'uid': 'np2'}, 'spec': {'podSelector': {'matchLabels': {'app': 'b'}},"
	"  'policyTypes': ['Ingress'], 'ingress': [{'from': [{"
	"   'namespaceSelector': {'matchLabels': {'team': 'x'}},"
	"   'podSelector': {'matchLabels': {'app': 'a'}}}],"
	"   'ports': [{'port': 'web', 'protocol': 'TCP'}]}]}},"
	/* Cannot be enforced: skipped with a warning, the rest still applies. */
	" {'apiVersion': 'networking.k8s.io/v1', 'kind': 'NetworkPolicy',"
	"  'metadata': {'namespace': 'y', 'name': 'bad', 'resourceVersion': '22',"
	"  'uid': 'np3'}, 'spec': {'podSelector': {'matchExpressions': ["
	"   {'key': 'app', 'operator': 'Sometimes', 'values': ['a']}]}}}"
	"]}";

/* A second file: a PodList straight from the API (items without kind), in a
 * namespace no file has. */
static const char *pod_list =
	"{'apiVersion': 'v1', 'kind': 'PodList', 'metadata': {'resourceVersion': '30'},"
	" 'items': [{'metadata': {'namespace': 'z', 'name': 'p', 'resourceVersion': '31',"
	"  'uid': 'p8', 'labels': {'app': 'p'}}, 'spec': {'containers': [{'name': 'c'}]},"
	"  'status': {'phase': 'Running', 'podIP': '10.0.3.1'}}]}";

/* A third: a manifest, as written, not as read back (no uid, no
 * resourceVersion).  z's only label is the one the API server sets. */
static const char *manifest =
	"{'apiVersion': 'networking.k8s.io/v1', 'kind': 'NetworkPolicy',"
	" 'metadata': {'namespace': 'y', 'name': 'allow-from-z'},"
	" 'spec': {'podSelector': {'matchLabels': {'app': 'c'}}, 'ingress': [{'from': [{"
	"  'namespaceSelector': {'matchLabels': {'kubernetes.io/metadata.name': 'z'}}}],"
	"  'ports': [{'port': 5432}]}]}}";

static json_t *load(const char *text)
{
	char *s = strdup(text);
	json_error_t jerr;
	json_t *doc;

	assert_non_null(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	doc = json_loads(s, 0, &jerr);
	if (!doc)
		fail_msg("bad test JSON: %s at %d", jerr.text, jerr.position);
	free(s);
	return doc;
}

struct warnings {
	int n;
	char all[2048];
};

static void collect(void *ctx, const char *msg)
{
	struct warnings *w = ctx;
	size_t len = strlen(w->all);

	snprintf(w->all + len, sizeof(w->all) - len, "%s\n", msg);
	w->n++;
}

static void add(struct trace_snapshot *s, const char *text, struct warnings *w)
{
	json_t *doc = load(text);

	assert_int_equal(trace_snapshot_add(s, doc, w ? collect : NULL, w), 0);
	json_decref(doc);
}

static int setup(void **state)
{
	struct warnings w = { 0 };
	struct trace_snapshot *s;

	assert_int_equal(trace_snapshot_new(&s), 0);
	add(s, cluster, &w);
	add(s, pod_list, &w);
	add(s, manifest, &w);
	assert_int_equal(trace_snapshot_build(s, collect, &w), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	trace_snapshot_free(*state);
	return 0;
}

static void test_loads_what_it_can_and_warns_about_the_rest(void **state)
{
	struct warnings w = { 0 };
	struct trace_snapshot *s;

	assert_int_equal(trace_snapshot_new(&s), 0);
	add(s, cluster, &w);
	add(s, pod_list, &w);
	add(s, manifest, &w);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.all, "skipping Pod x/broken"));
	assert_int_equal(trace_snapshot_build(s, collect, &w), 0);
	/* x/broken skipped; the finished and the hostNetwork pod are kept. */
	assert_int_equal(trace_snapshot_pod_count(s), 7);
	assert_int_equal(trace_snapshot_policy_count(s), 3);
	assert_non_null(strstr(w.all, "NetworkPolicy y/bad is not enforced"));
	assert_non_null(strstr(w.all, "namespace kube-system is not in the snapshot"));
	assert_non_null(strstr(w.all, "namespace z is not in the snapshot"));
	assert_int_equal(w.n, 4);
	trace_snapshot_free(s);
}

static void test_refuses_what_is_not_kubernetes_json(void **state)
{
	struct trace_snapshot *s;
	json_t *doc;

	assert_int_equal(trace_snapshot_new(&s), 0);
	doc = json_pack("[i]", 1);
	assert_int_equal(trace_snapshot_add(s, doc, NULL, NULL), -EBADMSG);
	json_decref(doc);
	doc = json_pack("{s:i}", "replicas", 3);
	assert_int_equal(trace_snapshot_add(s, doc, NULL, NULL), -EBADMSG);
	assert_int_equal(trace_snapshot_build(s, NULL, NULL), 0);
	assert_int_equal(trace_snapshot_add(s, doc, NULL, NULL), -EBUSY);
	json_decref(doc);
	trace_snapshot_free(s);
}

static void test_later_objects_replace_earlier_ones(void **state)
{
	struct trace_snapshot *s;
	json_t *out = json_object();
	char msg[128];

	assert_int_equal(trace_snapshot_new(&s), 0);
	add(s, cluster, NULL);
	/* x/b again, now labelled app=a: y/b lets it in. */
	add(s, "{'kind': 'Pod', 'metadata': {'namespace': 'x', 'name': 'b',"
	       " 'labels': {'app': 'a'}}, 'spec': {'containers': [{'name': 'c'}]},"
	       " 'status': {'phase': 'Running', 'podIP': '10.0.1.2'}}", NULL);
	assert_int_equal(trace_snapshot_build(s, NULL, NULL), 0);
	assert_int_equal(trace_snapshot_pod_count(s), 6);
	assert_int_equal(trace_snapshot_trace(s, "x/b", "y/b", IPPROTO_TCP, 80, out, NULL, NULL,
					      msg, sizeof(msg)), 0);
	assert_string_equal(json_string_value(json_object_get(out, "verdict")), "allowed");
	json_decref(out);
	trace_snapshot_free(s);
}

static const struct {
	const char *from, *to;
	uint8_t proto;
	uint16_t port;
	const char *verdict;
	const char *from_name, *to_name;
} cases[] = {
	{ "x/a", "y/b", IPPROTO_TCP, 80, "allowed", "x/a", "y/b" },
	{ "x/b", "y/b", IPPROTO_TCP, 80, "denied", "x/b", "y/b" },	/* not app=a */
	{ "x/a", "y/b", IPPROTO_TCP, 81, "denied", "x/a", "y/b" },	/* not "web" */
	{ "x/a", "y/b", IPPROTO_UDP, 80, "denied", "x/a", "y/b" },
	{ "x/a", "y/c", IPPROTO_TCP, 80, "denied", "x/a", "y/c" },	/* deny-all */
	{ "y/b", "x/a", IPPROTO_TCP, 8080, "allowed", "y/b", "x/a" },	/* x not isolated */
	{ "x/a", "x/b", IPPROTO_UDP, 53, "allowed", "x/a", "x/b" },
	{ "10.0.1.1", "10.0.2.1", IPPROTO_TCP, 80, "allowed", "x/a", "y/b" },
	{ "10.0.1.2", "10.0.2.1", IPPROTO_TCP, 80, "denied", "x/b", "y/b" },
	{ "192.0.2.1", "y/b", IPPROTO_TCP, 80, "denied", "192.0.2.1", "y/b" },
	{ "x/a", "192.0.2.1", IPPROTO_TCP, 443, "allowed", "x/a", "192.0.2.1" },
	/* z is not in the files, yet its kubernetes.io/metadata.name selects it. */
	{ "z/p", "y/c", IPPROTO_TCP, 5432, "allowed", "z/p", "y/c" },
	{ "z/p", "y/c", IPPROTO_TCP, 5433, "denied", "z/p", "y/c" },
	{ "x/a", "y/c", IPPROTO_TCP, 5432, "denied", "x/a", "y/c" },
	/* hostNetwork: the node itself to y/b on its node, any address to y/c. */
	{ "kube-system/proxy", "y/b", IPPROTO_TCP, 80, "allowed", "kube-system/proxy", "y/b" },
	{ "192.168.0.10", "y/b", IPPROTO_TCP, 80, "allowed", "kube-system/proxy", "y/b" },
	{ "kube-system/proxy", "y/c", IPPROTO_TCP, 80, "denied", "kube-system/proxy", "y/c" },
};

static void test_verdicts(void **state)
{
	struct trace_snapshot *s = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *out = json_object();
		const char *from, *to, *verdict;
		char msg[128] = "";
		int err;

		err = trace_snapshot_trace(s, cases[i].from, cases[i].to, cases[i].proto,
					   cases[i].port, out, &from, &to, msg, sizeof(msg));
		if (err < 0)
			fail_msg("case %zu %s -> %s: %d %s", i, cases[i].from, cases[i].to, err,
				 msg);
		verdict = json_string_value(json_object_get(out, "verdict"));
		if (!verdict || strcmp(verdict, cases[i].verdict)) {
			char *dump = json_dumps(out, JSON_COMPACT);

			fail_msg("case %zu %s -> %s %u/%u: want %s, got %s", i, cases[i].from,
				 cases[i].to, cases[i].port, cases[i].proto, cases[i].verdict,
				 dump);
		}
		assert_string_equal(from, cases[i].from_name);
		assert_string_equal(to, cases[i].to_name);
		json_decref(out);
	}
}

static bool has_string(const json_t *arr, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

static void test_explains_the_verdict(void **state)
{
	struct trace_snapshot *s = *state;
	const json_t *in, *eg;
	json_t *out = json_object();
	char msg[128];

	assert_int_equal(trace_snapshot_trace(s, "x/b", "y/b", IPPROTO_TCP, 80, out, NULL, NULL,
					      msg, sizeof(msg)), 0);
	eg = json_object_get(out, "egress");
	in = json_object_get(out, "ingress");
	assert_false(json_is_true(json_object_get(eg, "isolated")));
	assert_true(json_is_true(json_object_get(in, "isolated")));
	assert_true(has_string(json_object_get(in, "policies"), "y/deny-all"));
	assert_true(has_string(json_object_get(in, "policies"), "y/allow-from-x"));
	assert_int_equal(json_array_size(json_object_get(in, "policies")), 2);
	assert_false(json_is_string(json_object_get(in, "allowed_by")));
	json_decref(out);

	out = json_object();
	assert_int_equal(trace_snapshot_trace(s, "x/a", "y/b", IPPROTO_TCP, 80, out, NULL, NULL,
					      msg, sizeof(msg)), 0);
	in = json_object_get(out, "ingress");
	assert_non_null(json_string_value(json_object_get(in, "allowed_by")));
	assert_non_null(strstr(json_string_value(json_object_get(in, "allowed_by")),
			       "y/allow-from-x"));
	json_decref(out);
}

static void test_bad_ends(void **state)
{
	struct trace_snapshot *s = *state;
	json_t *out = json_object();
	char msg[128];

	assert_int_equal(trace_snapshot_trace(s, "x/q", "y/b", IPPROTO_TCP, 80, out, NULL, NULL,
					      msg, sizeof(msg)), -ENOENT);
	assert_string_equal(msg, "no pod x/q in the snapshot");
	assert_int_equal(trace_snapshot_trace(s, "x/a", "y/done", IPPROTO_TCP, 80, out, NULL,
					      NULL, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "finished"));
	for (size_t i = 0; i < 4; i++) {
		static const char *const bad[] = { "nopod", "x/", "/a", "x/a/b" };

		assert_int_equal(trace_snapshot_trace(s, bad[i], "y/b", IPPROTO_TCP, 80, out, NULL,
						      NULL, msg, sizeof(msg)), -EINVAL);
		assert_non_null(strstr(msg, "want NS/POD or an IPv4 address"));
	}
	json_decref(out);
}

static void test_all_pairs(void **state)
{
	struct trace_snapshot *s = *state;
	json_t *out = json_array(), *t;
	bool seen = false;
	size_t i;

	assert_int_equal(trace_snapshot_trace_all(s, IPPROTO_TCP, 80, out), 0);
	/* x/a x/b y/b y/c z/p: not the finished pod, not the hostNetwork one. */
	assert_int_equal(json_array_size(out), 5 * 4);
	/* Sorted by namespace, then name. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "from")),
			    "x/a");
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "to")),
			    "x/b");
	json_array_foreach(out, i, t) {
		const char *from = json_string_value(json_object_get(t, "from"));
		const char *to = json_string_value(json_object_get(t, "to"));
		const char *verdict = json_string_value(json_object_get(t, "verdict"));

		assert_non_null(from);
		assert_non_null(to);
		assert_string_not_equal(from, to);
		if (!strcmp(from, "x/a") && !strcmp(to, "y/b")) {
			assert_string_equal(verdict, "allowed");
			seen = true;
		}
		if (!strcmp(to, "y/c"))
			assert_string_equal(verdict, "denied");
	}
	assert_true(seen);
	json_decref(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads_what_it_can_and_warns_about_the_rest),
		cmocka_unit_test(test_refuses_what_is_not_kubernetes_json),
		cmocka_unit_test(test_later_objects_replace_earlier_ones),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_explains_the_verdict),
		cmocka_unit_test(test_bad_ends),
		cmocka_unit_test(test_all_pairs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

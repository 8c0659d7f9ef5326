// SPDX-License-Identifier: Apache-2.0
/*
 * The policy compiler at node scale: 10,000 distinct identities in 10
 * namespaces and 1,000 policies that all select one endpoint.  Prints the
 * time of each phase and fails if compiling that endpoint takes a second.
 */
#include "test_policy_util.h"

#include <time.h>

#define N_NS		10
#define N_PODS		10000
#define N_POLICIES	1000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void add_pods(struct pol_db *db, uint32_t *ids)
{
	for (int i = 0; i < N_PODS; i++) {
		char ns[16], l[128], nl[64];
		int k = i % N_NS;

		snprintf(ns, sizeof(ns), "ns%d", k);
		snprintf(l, sizeof(l), "app=app-%d,tier=t%d,instance=i%d", (i / N_NS) % 200,
			 i % 4, i);
		snprintf(nl, sizeof(nl), "name=ns%d,env=%s", k, k % 2 ? "prod" : "dev");
		ids[i] = tident(db, ns, l, nl, i % 2 ? "http:8080/tcp" : "metrics:9100/tcp");
	}
}

static void add_policies(struct pol_db *db)
{
	for (int k = 0; k < N_POLICIES; k++) {
		char name[16], spec[1024];

		snprintf(name, sizeof(name), "p%d", k);
		snprintf(spec, sizeof(spec),
			 "{'podSelector':{'matchExpressions':[{'key':'app','operator':'In',"
			 "'values':['app-0','app-%d']}]},"
			 "'ingress':[{'from':[{'podSelector':{'matchLabels':{'app':'app-%d'}}}],"
			 "'ports':[{'port':%d}]},"
			 "{'from':[{'namespaceSelector':{'matchLabels':{'env':'prod'}},"
			 "'podSelector':{'matchLabels':{'app':'app-%d'}}}],"
			 "'ports':[{'port':9000,'endPort':9010}]}],"
			 "'egress':[{'to':[{'namespaceSelector':{'matchLabels':{'name':'ns%d'}}}],"
			 "'ports':[{'port':'http'}]},"
			 "{'to':[{'ipBlock':{'cidr':'10.%d.0.0/16','except':['10.%d.1.0/24']}}]}]}",
			 k % 200, k % 200, 8000 + k % 100, k % 200, k % N_NS, k % 256, k % 256);
		tset(db, "ns0", name, spec);
	}
}

static void test_scale(void **state)
{
	static uint32_t ids[N_PODS];
	struct pol_db *db = *state, *db2;
	struct pol_compiled c;
	double t0, t_pods, t_pols, t_compile, t_pols2, t_pods2;
	struct tsubj s;

	/* identities first, then policies (each selector scans them) */
	t0 = now();
	add_pods(db, ids);
	t_pods = now() - t0;
	assert_int_equal(pol_identity_count(db), N_PODS);
	t0 = now();
	add_policies(db);
	t_pols = now() - t0;
	assert_int_equal(pol_policy_count(db), N_POLICIES);

	tsubj(&s, "ns0", "app=app-0,tier=t0,instance=i0", "name=ns0,env=dev", "http:8080/tcp");
	t0 = now();
	assert_int_equal(pol_compile(db, &s.s, 1, &c), 0);
	t_compile = now() - t0;
	assert_true(c.isolated_ingress && c.isolated_egress);
	/* ingress, for each of the 200 apps: its 5 pods in ns0 on one port
	 * (8000 + app % 100), its 25 pods in prod namespaces on 3 blocks;
	 * egress: the 5,000 pods with an http port; 256 /16s */
	assert_int_equal(c.n_entries, 200 * (5 + 25 * 3) + N_PODS / 2 + 256);
	pol_compiled_clear(&c);

	/* policies first, then identities (each updates the selectors) */
	assert_int_equal(pol_db_new(&db2), 0);
	t0 = now();
	add_policies(db2);
	t_pols2 = now() - t0;
	t0 = now();
	add_pods(db2, ids);
	t_pods2 = now() - t0;
	assert_int_equal(pol_compile(db2, &s.s, 1, &c), 0);
	assert_int_equal(c.n_entries, 200 * (5 + 25 * 3) + N_PODS / 2 + 256);
	pol_compiled_clear(&c);
	pol_db_free(db2);

	print_message("scale: %d identities %.0f ms, then %d policies %.0f ms; "
		      "%d policies %.0f ms, then identities %.0f ms; "
		      "compile of one endpoint selected by all: %.1f ms\n",
		      N_PODS, t_pods * 1e3, N_POLICIES, t_pols * 1e3, N_POLICIES, t_pols2 * 1e3,
		      t_pods2 * 1e3, t_compile * 1e3);
	assert_true(t_compile < 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scale, tdb_setup, tdb_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

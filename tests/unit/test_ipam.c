// SPDX-License-Identifier: Apache-2.0
/* IPAM pool logic and its on-disk store.  No privileges needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/ipam.h"
#include "../../agent/ipam_store.h"
#include "log.h"

static uint32_t ip(const char *s)
{
	struct in_addr in;

	assert_int_equal(inet_pton(AF_INET, s, &in), 1);
	return ntohl(in.s_addr);
}

static struct ipam *pool(const char *cidr)
{
	struct ipam *p = NULL;

	assert_int_equal(ipam_new(cidr, &p), 0);
	assert_non_null(p);
	return p;
}

static void test_bad_cidrs(void **state)
{
	static const char *const bad[] = {
		"", "10.0.0.0", "10.0.0.0/", "/24", "10.0.0.0/31", "10.0.0.0/32",
		"10.0.0.0/15", "10.0.0.0/8", "0.0.0.0/0", "10.0.0.1/24", "10.244.1.0/16",
		"fd00::/64", "::ffff:10.0.0.0/120", "10.0.0.0/24x", "10.0.0.0/-24",
		"10.0.0.0/+24", "10.0.0.0/ 24", "300.0.0.0/24", "10.0.0.0/33",
		"10.0.0/24", "10.0.0.0.0/24", "10.0.0.0/024junk", " 10.0.0.0/24",
	};
	struct ipam *p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = NULL;
		if (ipam_new(bad[i], &p) != -EINVAL)
			fail_msg("cidr '%s' was accepted", bad[i]);
		assert_null(p);
	}
	assert_int_equal(ipam_new(NULL, &p), -EINVAL);
}

static void test_good_cidrs(void **state)
{
	static const struct {
		const char *cidr;
		const char *network, *gateway;
		unsigned int len;
		size_t capacity;
	} good[] = {
		{ "10.244.0.0/24", "10.244.0.0", "10.244.0.1", 24, 253 },
		{ "10.0.0.0/30", "10.0.0.0", "10.0.0.1", 30, 1 },
		{ "192.168.8.0/29", "192.168.8.0", "192.168.8.1", 29, 5 },
		{ "10.1.0.0/16", "10.1.0.0", "10.1.0.1", 16, 65533 },
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct ipam *p = pool(good[i].cidr);

		assert_int_equal(ipam_network(p), ip(good[i].network));
		assert_int_equal(ipam_gateway(p), ip(good[i].gateway));
		assert_int_equal(ipam_prefix_len(p), good[i].len);
		assert_int_equal(ipam_capacity(p), good[i].capacity);
		assert_int_equal(ipam_used(p), 0);
		ipam_free(p);
	}
	ipam_free(NULL);
}

static void test_allocate_idempotent(void **state)
{
	struct ipam *p = pool("10.244.0.0/24");
	uint32_t a, b, again;

	assert_int_equal(ipam_allocate(p, "c1/eth0", &a), 1);
	assert_int_equal(a, ip("10.244.0.2"));
	assert_int_equal(ipam_allocate(p, "c2/eth0", &b), 1);
	assert_int_equal(b, ip("10.244.0.3"));
	/* Same owner, same address, no new allocation. */
	assert_int_equal(ipam_allocate(p, "c1/eth0", &again), 0);
	assert_int_equal(again, a);
	/* Same container, other interface: a different owner. */
	assert_int_equal(ipam_allocate(p, "c1/net1", &again), 1);
	assert_int_equal(again, ip("10.244.0.4"));
	assert_int_equal(ipam_used(p), 3);

	assert_int_equal(ipam_lookup(p, "c2/eth0", &again), 0);
	assert_int_equal(again, b);
	assert_int_equal(ipam_lookup(p, "nobody/eth0", &again), -ENOENT);
	assert_string_equal(ipam_owner_of(p, a), "c1/eth0");
	assert_null(ipam_owner_of(p, ip("10.244.0.9")));
	assert_null(ipam_owner_of(p, ip("10.245.0.2")));

	assert_int_equal(ipam_allocate(p, "", &again), -EINVAL);
	assert_int_equal(ipam_allocate(p, NULL, &again), -EINVAL);
	ipam_free(p);
}

static void test_exhaustion_and_reserved(void **state)
{
	struct ipam *p = pool("192.168.8.0/29");
	uint32_t got[5], x;
	char owner[32];

	for (int i = 0; i < 5; i++) {
		snprintf(owner, sizeof(owner), "c%d/eth0", i);
		assert_int_equal(ipam_allocate(p, owner, &got[i]), 1);
		/* Never network (.0), gateway (.1) or broadcast (.7). */
		assert_true(got[i] >= ip("192.168.8.2") && got[i] <= ip("192.168.8.6"));
		for (int j = 0; j < i; j++)
			assert_int_not_equal(got[i], got[j]);
	}
	assert_int_equal(ipam_used(p), 5);
	assert_int_equal(ipam_allocate(p, "late/eth0", &x), -ENOSPC);
	/* An existing owner still gets its address when the pool is full. */
	assert_int_equal(ipam_allocate(p, "c3/eth0", &x), 0);
	assert_int_equal(x, got[3]);

	/* Freeing one makes exactly that one available. */
	assert_int_equal(ipam_release(p, "c2/eth0", &x), 1);
	assert_int_equal(x, got[2]);
	assert_int_equal(ipam_allocate(p, "late/eth0", &x), 1);
	assert_int_equal(x, got[2]);
	ipam_free(p);

	p = pool("10.0.0.0/30");
	assert_int_equal(ipam_allocate(p, "only/eth0", &x), 1);
	assert_int_equal(x, ip("10.0.0.2"));
	assert_int_equal(ipam_allocate(p, "second/eth0", &x), -ENOSPC);
	ipam_free(p);

	p = pool("10.0.0.0/24");
	assert_false(ipam_assignable(p, ip("10.0.0.0")));
	assert_false(ipam_assignable(p, ip("10.0.0.1")));
	assert_false(ipam_assignable(p, ip("10.0.0.255")));
	assert_false(ipam_assignable(p, ip("10.0.1.2")));
	assert_true(ipam_assignable(p, ip("10.0.0.2")));
	assert_true(ipam_assignable(p, ip("10.0.0.254")));
	ipam_free(p);
}

static void test_release_no_immediate_reuse(void **state)
{
	struct ipam *p = pool("10.244.0.0/24");
	uint32_t a, b, c;

	assert_int_equal(ipam_allocate(p, "a/eth0", &a), 1);
	assert_int_equal(ipam_allocate(p, "b/eth0", &b), 1);
	assert_int_equal(ipam_release(p, "a/eth0", NULL), 1);
	assert_int_equal(ipam_release(p, "a/eth0", NULL), 0);	/* idempotent */
	assert_int_equal(ipam_release(p, "never/eth0", NULL), 0);
	assert_int_equal(ipam_used(p), 1);

	assert_int_equal(ipam_allocate(p, "c/eth0", &c), 1);
	assert_int_not_equal(c, a);
	assert_int_equal(c, ip("10.244.0.4"));
	/* A released owner coming back gets a fresh address too. */
	assert_int_equal(ipam_allocate(p, "a/eth0", &c), 1);
	assert_int_equal(c, ip("10.244.0.5"));
	ipam_free(p);
}

static void test_wraparound(void **state)
{
	struct ipam *p = pool("192.168.8.0/29");	/* .2 .. .6 */
	uint32_t x;
	char owner[32];

	for (int i = 0; i < 5; i++) {
		snprintf(owner, sizeof(owner), "c%d/eth0", i);
		assert_int_equal(ipam_allocate(p, owner, &x), 1);
	}
	assert_int_equal(ipam_release(p, "c0/eth0", NULL), 1);	/* .2 */
	assert_int_equal(ipam_release(p, "c3/eth0", NULL), 1);	/* .5 */
	/* The search continues after .6, wraps and finds .2 first. */
	assert_int_equal(ipam_allocate(p, "n1/eth0", &x), 1);
	assert_int_equal(x, ip("192.168.8.2"));
	assert_int_equal(ipam_allocate(p, "n2/eth0", &x), 1);
	assert_int_equal(x, ip("192.168.8.5"));
	ipam_free(p);
}

static void test_claim(void **state)
{
	struct ipam *p = pool("10.244.0.0/24");
	uint32_t x;

	assert_int_equal(ipam_claim(p, ip("10.244.0.10"), "a/eth0"), 1);
	assert_int_equal(ipam_claim(p, ip("10.244.0.10"), "a/eth0"), 0);
	assert_int_equal(ipam_claim(p, ip("10.244.0.10"), "b/eth0"), -EADDRINUSE);
	assert_int_equal(ipam_claim(p, ip("10.244.0.11"), "a/eth0"), -EEXIST);
	assert_int_equal(ipam_claim(p, ip("10.244.0.0"), "b/eth0"), -EINVAL);
	assert_int_equal(ipam_claim(p, ip("10.244.0.1"), "b/eth0"), -EINVAL);
	assert_int_equal(ipam_claim(p, ip("10.244.0.255"), "b/eth0"), -EINVAL);
	assert_int_equal(ipam_claim(p, ip("10.244.1.7"), "b/eth0"), -EINVAL);
	assert_int_equal(ipam_claim(p, ip("10.244.0.12"), ""), -EINVAL);
	/* Round-robin resumes after the highest claimed address. */
	assert_int_equal(ipam_allocate(p, "b/eth0", &x), 1);
	assert_int_equal(x, ip("10.244.0.11"));
	ipam_free(p);
}

static void test_iterate(void **state)
{
	struct ipam *p = pool("10.244.0.0/24");
	const char *owner;
	size_t cursor = 0;
	uint32_t x;

	assert_false(ipam_next(p, &cursor, &x, &owner));
	assert_int_equal(ipam_claim(p, ip("10.244.0.20"), "b/eth0"), 1);
	assert_int_equal(ipam_claim(p, ip("10.244.0.7"), "a/eth0"), 1);
	cursor = 0;
	assert_true(ipam_next(p, &cursor, &x, &owner));
	assert_int_equal(x, ip("10.244.0.7"));
	assert_string_equal(owner, "a/eth0");
	assert_true(ipam_next(p, &cursor, &x, &owner));
	assert_int_equal(x, ip("10.244.0.20"));
	assert_false(ipam_next(p, &cursor, &x, &owner));
	ipam_free(p);
}

/* --- persistence ------------------------------------------------------------ */

static char tmpdir[64];

static int setup_dir(void **state)
{
	strcpy(tmpdir, "/tmp/porin-test-ipam-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_text(const char *dir, const char *name)
{
	static char buf[512];
	char path[256];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_store_roundtrip(void **state)
{
	char dir[128];
	struct ipam *p = pool("10.244.0.0/24"), *q;
	uint32_t a, b, c, x;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/ipam", tmpdir);
	assert_int_equal(ipam_store_load(p, dir), 0);	/* creates the dir */
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	assert_int_equal(ipam_allocate(p, "c1/eth0", &a), 1);
	assert_int_equal(ipam_store_save(dir, a, "c1/eth0"), 0);
	assert_int_equal(ipam_allocate(p, "c2/eth0", &b), 1);
	assert_int_equal(ipam_store_save(dir, b, "c2/eth0"), 0);
	assert_int_equal(ipam_allocate(p, "c3/eth0", &c), 1);
	assert_int_equal(ipam_store_save(dir, c, "c3/eth0"), 0);
	assert_string_equal(read_text(dir, "10.244.0.2"), "c1/eth0\n");

	/* Release c3 on disk and in memory, as the agent does. */
	assert_int_equal(ipam_store_remove(dir, c), 0);
	assert_int_equal(ipam_store_remove(dir, c), 0);	/* idempotent */
	assert_null(read_text(dir, "10.244.0.4"));
	assert_int_equal(ipam_store_save(dir, a, "bad owner"), -EINVAL);
	assert_int_equal(ipam_store_save(dir, a, ""), -EINVAL);
	ipam_free(p);

	/* Junk the loader must skip without failing. */
	write_file(dir, "README", "not an address\n");
	write_file(dir, ".10.244.0.9.tmp", "half/written");
	write_file(dir, "10.244.0.50", "");			/* empty owner */
	write_file(dir, "10.244.0.51", "has space/eth0\n");	/* invalid owner */
	write_file(dir, "10.244.0.1", "gw/eth0\n");		/* reserved */
	write_file(dir, "10.244.7.2", "out/eth0\n");		/* outside the pool */
	write_file(dir, "10.244.0.60", "c1/eth0\n");		/* a second address for c1 */

	q = pool("10.244.0.0/24");
	int loaded = ipam_store_load(q, dir);

	/* c1 and c2, and exactly one of the two c1 files (readdir order). */
	assert_int_equal(loaded, 2);
	assert_int_equal(ipam_used(q), 2);
	assert_int_equal(ipam_lookup(q, "c2/eth0", &x), 0);
	assert_int_equal(x, b);
	assert_int_equal(ipam_lookup(q, "c1/eth0", &x), 0);
	assert_true(x == a || x == ip("10.244.0.60"));
	assert_null(ipam_owner_of(q, ip("10.244.0.50")));
	assert_null(ipam_owner_of(q, ip("10.244.0.1")));
	ipam_free(q);
}

static void test_store_resume_after_restart(void **state)
{
	char dir[128];
	struct ipam *p = pool("10.244.0.0/24"), *q;
	uint32_t x;

	snprintf(dir, sizeof(dir), "%s/ipam2", tmpdir);
	assert_int_equal(ipam_store_load(p, dir), 0);
	for (int i = 0; i < 3; i++) {
		char owner[32];

		snprintf(owner, sizeof(owner), "c%d/eth0", i);
		assert_int_equal(ipam_allocate(p, owner, &x), 1);
		assert_int_equal(ipam_store_save(dir, x, owner), 0);
	}
	/* Release the oldest (.2). */
	assert_int_equal(ipam_lookup(p, "c0/eth0", &x), 0);
	assert_int_equal(ipam_store_remove(dir, x), 0);
	ipam_free(p);

	q = pool("10.244.0.0/24");
	assert_int_equal(ipam_store_load(q, dir), 2);
	/* Persisted owners are idempotent across the restart... */
	assert_int_equal(ipam_allocate(q, "c1/eth0", &x), 0);
	assert_int_equal(x, ip("10.244.0.3"));
	/* ...and new ones continue after the highest address, not at .2. */
	assert_int_equal(ipam_allocate(q, "new/eth0", &x), 1);
	assert_int_equal(x, ip("10.244.0.5"));
	ipam_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_cidrs),
		cmocka_unit_test(test_good_cidrs),
		cmocka_unit_test(test_allocate_idempotent),
		cmocka_unit_test(test_exhaustion_and_reserved),
		cmocka_unit_test(test_release_no_immediate_reuse),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_claim),
		cmocka_unit_test(test_iterate),
		cmocka_unit_test(test_store_roundtrip),
		cmocka_unit_test(test_store_resume_after_restart),
	};

	log_setup(LOG_LVL_ERROR, NULL, stderr);
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

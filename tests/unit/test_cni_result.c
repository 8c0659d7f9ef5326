// SPDX-License-Identifier: Apache-2.0
/*
 * CNI output: the ADD result per cniVersion (byte-for-byte JSON equality),
 * the prevResult merge, error and VERSION objects, and reading IP
 * configuration from the agent, a delegated IPAM result and a prevResult.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cni/cni.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static json_t *parse(const char *s)
{
	json_error_t jerr;
	json_t *j = json_loads(s, 0, &jerr);

	if (!j)
		fail_msg("bad test JSON: %s: %s", jerr.text, s);
	return j;
}

/* Equality of JSON values, with both sides printed on mismatch. */
static void assert_json(const char *what, json_t *got, const char *want_s)
{
	json_t *want = parse(want_s);

	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT), *w = json_dumps(want, JSON_COMPACT);

		print_error("%s:\n  want %s\n  got  %s\n", what, w, g);
		free(g);
		free(w);
		json_decref(want);
		fail();
	}
	json_decref(want);
}

static void conf_load(struct cni_conf *c, const char *json)
{
	struct cni_error e = { 0 };

	if (cni_conf_parse(c, json, strlen(json), CNI_CMD_ADD, &e) < 0)
		fail_msg("config: %d %s", e.code, e.details);
}

static void attachment(struct cni_attachment *a)
{
	static const uint8_t hmac[6] = { 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f };
	static const uint8_t pmac[6] = { 0xaa, 0xbb, 0xcc, 0x00, 0x01, 0xff };

	memset(a, 0, sizeof(*a));
	snprintf(a->host_ifname, sizeof(a->host_ifname), "lxc0123456789a");
	snprintf(a->ifname, sizeof(a->ifname), "eth0");
	memcpy(a->host_mac, hmac, 6);
	memcpy(a->pod_mac, pmac, 6);
	a->sandbox = "/run/netns/pod1";
	a->mtu = 1450;
	a->ip.ip_be = ip("10.244.0.5");
	a->ip.prefixlen = 24;	/* reported by IPAM; the result always says /32 */
	a->ip.gw_be = ip("10.244.0.1");
	a->ip.routes[0] = (struct cni_route4){ 0, 0, ip("10.244.0.1") };
	a->ip.n_routes = 1;
}

/* --- ADD result per version ---------------------------------------------------------- */

static const struct {
	const char *version;
	const char *want;
} result_cases[] = {
	{ "0.4.0",
	  "{\"cniVersion\":\"0.4.0\","
	  "\"interfaces\":[{\"name\":\"lxc0123456789a\",\"mac\":\"0a:1b:2c:3d:4e:5f\"},"
	  "{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:00:01:ff\",\"sandbox\":\"/run/netns/pod1\"}],"
	  "\"ips\":[{\"version\":\"4\",\"address\":\"10.244.0.5/32\",\"gateway\":\"10.244.0.1\","
	  "\"interface\":1}],"
	  "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.244.0.1\"}],\"dns\":{}}" },
	{ "1.0.0",
	  "{\"cniVersion\":\"1.0.0\","
	  "\"interfaces\":[{\"name\":\"lxc0123456789a\",\"mac\":\"0a:1b:2c:3d:4e:5f\"},"
	  "{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:00:01:ff\",\"sandbox\":\"/run/netns/pod1\"}],"
	  "\"ips\":[{\"address\":\"10.244.0.5/32\",\"gateway\":\"10.244.0.1\",\"interface\":1}],"
	  "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.244.0.1\"}],\"dns\":{}}" },
	{ "1.1.0",
	  "{\"cniVersion\":\"1.1.0\","
	  "\"interfaces\":[{\"name\":\"lxc0123456789a\",\"mac\":\"0a:1b:2c:3d:4e:5f\"},"
	  "{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:00:01:ff\",\"sandbox\":\"/run/netns/pod1\","
	  "\"mtu\":1450}],"
	  "\"ips\":[{\"address\":\"10.244.0.5/32\",\"gateway\":\"10.244.0.1\",\"interface\":1}],"
	  "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.244.0.1\"}],\"dns\":{}}" },
};

static void test_result_per_version(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(result_cases); i++) {
		struct cni_error e = { 0 };
		struct cni_attachment a;
		struct cni_conf c;
		char conf[128];
		json_t *res = NULL;
		char *dump;

		snprintf(conf, sizeof(conf), "{\"cniVersion\":\"%s\",\"name\":\"n\",\"type\":\"porin\"}",
			 result_cases[i].version);
		conf_load(&c, conf);
		attachment(&a);
		assert_int_equal(cni_result_build(&c, &a, &res, &e), 0);
		assert_json(result_cases[i].version, res, result_cases[i].want);
		/* cniVersion leads, as every example in the spec shows it. */
		dump = json_dumps(res, JSON_COMPACT);
		assert_true(strncmp(dump, "{\"cniVersion\":", 14) == 0);
		free(dump);
		json_decref(res);
		cni_conf_free(&c);
	}
}

static void test_result_extra_routes_and_dns(void **state)
{
	struct cni_error e = { 0 };
	struct cni_attachment a;
	struct cni_conf c;
	json_t *res = NULL;

	conf_load(&c, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"porin\"}");
	attachment(&a);
	a.ip.routes[1] = (struct cni_route4){ ip("192.168.0.0"), 16, ip("10.244.0.254") };
	a.ip.n_routes = 2;
	a.ip.dns = parse("{\"nameservers\":[\"10.96.0.10\"]}");
	assert_int_equal(cni_result_build(&c, &a, &res, &e), 0);
	assert_json("routes", json_object_get(res, "routes"),
		    "[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.244.0.1\"},"
		    "{\"dst\":\"192.168.0.0/16\",\"gw\":\"10.244.0.254\"}]");
	assert_json("dns", json_object_get(res, "dns"), "{\"nameservers\":[\"10.96.0.10\"]}");
	json_decref(res);
	cni_ipconf_reset(&a.ip);
	assert_null(a.ip.dns);
	cni_conf_free(&c);
}

/* --- prevResult merge ------------------------------------------------------------------ */

static void test_result_merges_prev_result(void **state)
{
	static const char conf[] =
		"{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"type\":\"porin\",\"prevResult\":"
		"{\"cniVersion\":\"0.4.0\","
		"\"interfaces\":[{\"name\":\"br0\",\"mac\":\"00:00:00:00:00:01\"},"
		"{\"name\":\"net0\",\"mac\":\"00:00:00:00:00:02\",\"sandbox\":\"/run/netns/pod1\"}],"
		"\"ips\":[{\"version\":\"4\",\"address\":\"192.168.1.2/24\",\"interface\":1}],"
		"\"routes\":[{\"dst\":\"192.168.0.0/16\"}],"
		"\"dns\":{\"nameservers\":[\"1.1.1.1\"]}}}";
	static const char want[] =
		"{\"cniVersion\":\"0.4.0\","
		"\"interfaces\":[{\"name\":\"br0\",\"mac\":\"00:00:00:00:00:01\"},"
		"{\"name\":\"net0\",\"mac\":\"00:00:00:00:00:02\",\"sandbox\":\"/run/netns/pod1\"},"
		"{\"name\":\"lxc0123456789a\",\"mac\":\"0a:1b:2c:3d:4e:5f\"},"
		"{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:00:01:ff\",\"sandbox\":\"/run/netns/pod1\"}],"
		"\"ips\":[{\"version\":\"4\",\"address\":\"192.168.1.2/24\",\"interface\":1},"
		"{\"version\":\"4\",\"address\":\"10.244.0.5/32\",\"gateway\":\"10.244.0.1\","
		"\"interface\":3}],"
		"\"routes\":[{\"dst\":\"192.168.0.0/16\"},{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.244.0.1\"}],"
		"\"dns\":{\"nameservers\":[\"1.1.1.1\"]}}";
	struct cni_error e = { 0 };
	struct cni_attachment a;
	struct cni_conf c;
	json_t *res = NULL;

	conf_load(&c, conf);
	attachment(&a);
	assert_int_equal(cni_result_build(&c, &a, &res, &e), 0);
	assert_json("merged", res, want);
	/* The config's prevResult itself is left alone. */
	assert_int_equal(json_array_size(json_object_get(c.prev_result, "interfaces")), 2);
	json_decref(res);
	cni_conf_free(&c);
}

static void test_result_prev_result_without_arrays(void **state)
{
	struct cni_error e = { 0 };
	struct cni_attachment a;
	struct cni_conf c;
	json_t *res = NULL;

	conf_load(&c, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"porin\","
		      "\"prevResult\":{\"cniVersion\":\"1.0.0\"}}");
	attachment(&a);
	assert_int_equal(cni_result_build(&c, &a, &res, &e), 0);
	assert_json("ips", json_object_get(res, "ips"),
		    "[{\"address\":\"10.244.0.5/32\",\"gateway\":\"10.244.0.1\",\"interface\":1}]");
	json_decref(res);
	cni_conf_free(&c);
}

static void test_result_bad_prev_result(void **state)
{
	static const char *const confs[] = {
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"porin\","
		"\"prevResult\":{\"interfaces\":{}}}",
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"porin\","
		"\"prevResult\":{\"ips\":\"10.0.0.1/32\"}}",
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"porin\","
		"\"prevResult\":{\"routes\":5}}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(confs); i++) {
		struct cni_error e = { 0 };
		struct cni_attachment a;
		struct cni_conf c;
		json_t *res = NULL;

		conf_load(&c, confs[i]);
		attachment(&a);
		assert_true(cni_result_build(&c, &a, &res, &e) < 0);
		assert_int_equal(e.code, CNI_ERR_INVALID_CONFIG);
		assert_null(res);
		cni_conf_free(&c);
	}
}

/* --- IP configuration in ---------------------------------------------------------------- */

static void test_ipconf_from_agent(void **state)
{
	struct cni_ipconf ipc = { 0 };
	struct cni_error e = { 0 };
	json_t *resp;

	resp = parse("{\"ok\":true,\"ip\":\"10.244.0.7\",\"prefix_len\":32,"
		     "\"gateway\":\"10.244.0.1\"}");
	assert_int_equal(cni_ipconf_from_agent(resp, &ipc, &e), 0);
	assert_true(ipc.ip_be == ip("10.244.0.7"));
	assert_int_equal(ipc.prefixlen, 32);
	assert_true(ipc.gw_be == ip("10.244.0.1"));
	assert_int_equal(ipc.n_routes, 1);
	assert_true(ipc.routes[0].dst_be == 0 && ipc.routes[0].prefixlen == 0 &&
		    ipc.routes[0].gw_be == ip("10.244.0.1"));
	json_decref(resp);

	static const char *const bad[] = {
		"{\"ok\":true}",
		"{\"ip\":\"10.244.0.7\",\"prefix_len\":32}",
		"{\"ip\":\"10.244.0.7\",\"prefix_len\":33,\"gateway\":\"10.244.0.1\"}",
		"{\"ip\":\"10.244.0.7\",\"prefix_len\":\"32\",\"gateway\":\"10.244.0.1\"}",
		"{\"ip\":\"fd00::7\",\"prefix_len\":32,\"gateway\":\"10.244.0.1\"}",
		"{\"ip\":\"10.244.0.7/32\",\"prefix_len\":32,\"gateway\":\"10.244.0.1\"}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&e, 0, sizeof(e));
		resp = parse(bad[i]);
		if (cni_ipconf_from_agent(resp, &ipc, &e) >= 0 || e.code != CNI_ERR_PLUGIN)
			fail_msg("accepted agent answer %s", bad[i]);
		json_decref(resp);
	}
}

static void test_ipconf_from_ipam(void **state)
{
	struct cni_ipconf ipc = { 0 };
	struct cni_error e = { 0 };
	json_t *res;

	/* host-local 1.0.0 shape, IPv6 first: the IPv4 entry is taken. */
	res = parse("{\"cniVersion\":\"1.0.0\",\"ips\":["
		    "{\"address\":\"fd00::5/64\",\"gateway\":\"fd00::1\"},"
		    "{\"address\":\"10.244.0.200/24\",\"gateway\":\"10.244.0.1\"}],"
		    "\"routes\":[{\"dst\":\"::/0\"},{\"dst\":\"0.0.0.0/0\"},"
		    "{\"dst\":\"172.16.0.0/12\",\"gw\":\"10.244.0.2\"}],"
		    "\"dns\":{\"nameservers\":[\"10.96.0.10\"]}}");
	assert_int_equal(cni_ipconf_from_ipam(res, &ipc, &e), 0);
	assert_true(ipc.ip_be == ip("10.244.0.200"));
	assert_int_equal(ipc.prefixlen, 24);
	assert_true(ipc.gw_be == ip("10.244.0.1"));
	assert_int_equal(ipc.n_routes, 2);
	assert_true(ipc.routes[0].dst_be == 0 && ipc.routes[0].gw_be == ip("10.244.0.1"));
	assert_true(ipc.routes[1].dst_be == ip("172.16.0.0") && ipc.routes[1].prefixlen == 12 &&
		    ipc.routes[1].gw_be == ip("10.244.0.2"));
	assert_non_null(ipc.dns);
	cni_ipconf_reset(&ipc);
	json_decref(res);

	/* No routes: a default route via the gateway. */
	res = parse("{\"ips\":[{\"version\":\"4\",\"address\":\"10.1.0.9/16\","
		    "\"gateway\":\"10.1.0.1\"}],\"dns\":{}}");
	assert_int_equal(cni_ipconf_from_ipam(res, &ipc, &e), 0);
	assert_int_equal(ipc.n_routes, 1);
	assert_true(ipc.routes[0].dst_be == 0 && ipc.routes[0].prefixlen == 0 &&
		    ipc.routes[0].gw_be == ip("10.1.0.1"));
	assert_null(ipc.dns);
	json_decref(res);
}

static void test_ipconf_from_ipam_errors(void **state)
{
	static const struct {
		const char *res, *details;
	} cases[] = {
		{ "{}", "no \"ips\"" },
		{ "{\"ips\":[]}", "no IPv4 address" },
		{ "{\"ips\":[{\"address\":\"fd00::5/64\",\"gateway\":\"fd00::1\"}]}", "no IPv4" },
		{ "{\"ips\":[{\"address\":\"10.0.0.5/24\"}]}", "gateway" },
		{ "{\"ips\":[{\"address\":\"10.0.0.5/24\",\"gateway\":\"10.0.0.1\"}],\"routes\":{}}",
		  "routes" },
		{ "{\"ips\":[{\"address\":\"10.0.0.5/24\",\"gateway\":\"10.0.0.1\"}],"
		  "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"bogus\"}]}", "gw" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cni_ipconf ipc = { 0 };
		struct cni_error e = { 0 };
		json_t *res = parse(cases[i].res);

		if (cni_ipconf_from_ipam(res, &ipc, &e) >= 0 || e.code != CNI_ERR_INVALID_CONFIG)
			fail_msg("accepted IPAM result %s", cases[i].res);
		if (!strstr(e.details, cases[i].details))
			fail_msg("%s: details \"%s\" lack \"%s\"", cases[i].res, e.details,
				 cases[i].details);
		json_decref(res);
	}
}

static void test_ipconf_from_ipam_too_many_routes(void **state)
{
	struct cni_ipconf ipc = { 0 };
	struct cni_error e = { 0 };
	json_t *res = parse("{\"ips\":[{\"address\":\"10.0.0.5/24\",\"gateway\":\"10.0.0.1\"}]}");
	json_t *routes = json_array();

	for (int i = 0; i <= CNI_MAX_ROUTES; i++)
		json_array_append_new(routes, json_pack("{s:s}", "dst", "10.9.0.0/16"));
	json_object_set_new(res, "routes", routes);
	assert_true(cni_ipconf_from_ipam(res, &ipc, &e) < 0);
	assert_non_null(strstr(e.details, "too many routes"));
	json_decref(res);
}

/* --- prevResult lookup (CHECK) ------------------------------------------------------------ */

static void test_prev_result_find(void **state)
{
	json_t *prev = parse(
		"{\"cniVersion\":\"1.1.0\",\"interfaces\":["
		"{\"name\":\"lxc0123456789a\",\"mac\":\"0a:1b:2c:3d:4e:5f\"},"
		"{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:00:01:ff\",\"sandbox\":\"/run/netns/other\"},"
		"{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:00:01:fe\",\"sandbox\":\"/run/netns/pod1\"}],"
		"\"ips\":[{\"address\":\"10.9.9.9/32\",\"interface\":1},"
		"{\"address\":\"fd00::5/64\",\"interface\":2},"
		"{\"address\":\"10.244.0.5/32\",\"gateway\":\"10.244.0.1\",\"interface\":2}]}");
	struct cni_ipconf ipc = { 0 };
	struct cni_error e = { 0 };

	assert_int_equal(cni_prev_result_find(prev, "eth0", "/run/netns/pod1", &ipc, &e), 0);
	assert_true(ipc.ip_be == ip("10.244.0.5"));
	assert_int_equal(ipc.prefixlen, 32);
	assert_true(ipc.gw_be == ip("10.244.0.1"));

	assert_true(cni_prev_result_find(prev, "eth1", "/run/netns/pod1", &ipc, &e) < 0);
	assert_int_equal(e.code, CNI_ERR_PLUGIN);
	assert_non_null(strstr(e.details, "no interface eth1"));

	/* The host veth has no sandbox: never mistaken for the pod side. */
	memset(&e, 0, sizeof(e));
	assert_true(cni_prev_result_find(prev, "lxc0123456789a", NULL, &ipc, &e) < 0);
	json_decref(prev);

	prev = parse("{\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/n\"}],\"ips\":[]}");
	memset(&e, 0, sizeof(e));
	assert_true(cni_prev_result_find(prev, "eth0", "/n", &ipc, &e) < 0);
	assert_non_null(strstr(e.details, "no IPv4 address"));
	json_decref(prev);
}

/* --- error, VERSION, parsers --------------------------------------------------------------- */

static void test_error_json(void **state)
{
	struct cni_error e = { 0 };
	json_t *j;

	assert_int_equal(cni_fail(&e, -ENOENT, CNI_ERR_TRY_AGAIN, "try again later", "agent %s",
				  "gone"), -ENOENT);
	/* The first error wins; later ones (e.g. from unwinding) do not replace it. */
	assert_int_equal(cni_fail(&e, -EIO, CNI_ERR_PLUGIN, "other", "x"), -EIO);
	/* A non-negative err becomes -EIO: callers can always "return cni_fail()". */
	assert_int_equal(cni_fail(NULL, 0, CNI_ERR_PLUGIN, "m", "d"), -EIO);
	j = cni_error_json("1.0.0", &e);
	assert_json("error", j, "{\"cniVersion\":\"1.0.0\",\"code\":11,"
				"\"msg\":\"try again later\",\"details\":\"agent gone\"}");
	json_decref(j);
}

static void test_version_json(void **state)
{
	json_t *j = cni_version_json();

	assert_json("version", j, "{\"cniVersion\":\"1.1.0\","
				  "\"supportedVersions\":[\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
	json_decref(j);
}

static void test_cidr_parse(void **state)
{
	static const struct {
		const char *s, *ip;
		unsigned int plen;
	} cases[] = {
		{ "10.244.0.5/32", "10.244.0.5", 32 },
		{ "0.0.0.0/0", "0.0.0.0", 0 },
		{ "192.168.0.0/16", "192.168.0.0", 16 },
	};
	static const char *const bad[] = {
		"10.0.0.1", "10.0.0.1/", "10.0.0.1/33", "10.0.0.1/-1", "10.0.0.1/1x",
		"10.0.0.1/100", "fd00::1/64", "/24", "", "10.0.0.256/24", "10.0.0/24",
		"10.0.0.1/ 8", " 10.0.0.1/8",
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint32_t be = 0;
		unsigned int plen = 99;
		int err = cni_cidr4_parse(cases[i].s, &be, &plen);

		if (err || be != ip(cases[i].ip) || plen != cases[i].plen)
			fail_msg("\"%s\": err %d plen %u", cases[i].s, err, plen);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint32_t be;
		unsigned int plen;

		if (cni_cidr4_parse(bad[i], &be, &plen) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(cni_cidr4_parse(NULL, NULL, NULL), -EINVAL);
}

static void test_formatters(void **state)
{
	static const uint8_t mac[6] = { 0, 0x0f, 0xa0, 0xff, 0x12, 0x9 };
	char s[18], a[16];

	cni_mac_format(mac, s);
	assert_string_equal(s, "00:0f:a0:ff:12:09");
	cni_ip4_format(ip("255.255.255.255"), a);
	assert_string_equal(a, "255.255.255.255");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_per_version),
		cmocka_unit_test(test_result_extra_routes_and_dns),
		cmocka_unit_test(test_result_merges_prev_result),
		cmocka_unit_test(test_result_prev_result_without_arrays),
		cmocka_unit_test(test_result_bad_prev_result),
		cmocka_unit_test(test_ipconf_from_agent),
		cmocka_unit_test(test_ipconf_from_ipam),
		cmocka_unit_test(test_ipconf_from_ipam_errors),
		cmocka_unit_test(test_ipconf_from_ipam_too_many_routes),
		cmocka_unit_test(test_prev_result_find),
		cmocka_unit_test(test_error_json),
		cmocka_unit_test(test_version_json),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_formatters),
	};

	log_setup(LOG_LVL_ERROR, "test", stderr);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

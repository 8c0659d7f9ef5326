// SPDX-License-Identifier: Apache-2.0
/* Endpoint records: validation, JSON round trip, life-cycle state and the
 * rules it imposes on operations, and the on-disk store. */
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
#include <unistd.h>

#include "../../agent/endpoint.h"
#include "../../agent/endpoint_store.h"
#include "log.h"

static char tmpdir[64];

static int setup_dir(void **state)
{
	strcpy(tmpdir, "/tmp/porin-test-ep-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *full_json =
	"{\"endpoint_id\": 7, \"container_id\": \"0123456789abcdef\", \"ifname\": \"eth0\","
	" \"netns\": \"/var/run/netns/cni-1234\", \"ip\": \"10.244.0.5\","
	" \"host_ifname\": \"lxc01234567\", \"host_ifindex\": 42,"
	" \"host_mac\": \"AA:bb:cc:dd:ee:01\", \"pod_mac\": \"02:00:00:00:00:02\","
	" \"pod_namespace\": \"default\", \"pod_name\": \"web-0\"}";

static json_t *load(const char *text)
{
	json_error_t err;
	json_t *o = json_loads(text, 0, &err);

	assert_non_null(o);
	return o;
}

static struct ep_record sample(const char *cid, const char *ifname, uint32_t id, int ifindex,
			       const char *ip)
{
	struct ep_record r = { .endpoint_id = id, .host_ifindex = ifindex };

	snprintf(r.container_id, sizeof(r.container_id), "%s", cid);
	snprintf(r.ifname, sizeof(r.ifname), "%s", ifname);
	snprintf(r.netns, sizeof(r.netns), "/var/run/netns/%s", cid);
	snprintf(r.host_ifname, sizeof(r.host_ifname), "lxc%d", ifindex);
	assert_int_equal(ep_ipv4_parse(ip, &r.ip_be), 0);
	memcpy(r.host_mac, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(r.pod_mac, "\x02\x00\x00\x00\x00\x02", 6);
	return r;
}

static void assert_record_equal(const struct ep_record *a, const struct ep_record *b)
{
	assert_int_equal(a->endpoint_id, b->endpoint_id);
	assert_string_equal(a->container_id, b->container_id);
	assert_string_equal(a->ifname, b->ifname);
	assert_string_equal(a->netns, b->netns);
	assert_int_equal(a->ip_be, b->ip_be);
	assert_string_equal(a->host_ifname, b->host_ifname);
	assert_int_equal(a->host_ifindex, b->host_ifindex);
	assert_memory_equal(a->host_mac, b->host_mac, 6);
	assert_memory_equal(a->pod_mac, b->pod_mac, 6);
	assert_string_equal(a->pod_namespace, b->pod_namespace);
	assert_string_equal(a->pod_name, b->pod_name);
	assert_int_equal(a->state, b->state);
}

static void test_json_roundtrip(void **state)
{
	struct ep_record r, back;
	const char *field;
	json_t *o = load(full_json), *again;

	assert_int_equal(ep_record_from_json(o, true, &r, &field), 0);
	assert_int_equal(r.endpoint_id, 7);
	assert_string_equal(r.container_id, "0123456789abcdef");
	assert_int_equal(r.host_ifindex, 42);
	assert_memory_equal(r.host_mac, "\xaa\xbb\xcc\xdd\xee\x01", 6);
	assert_int_equal(ntohl(r.ip_be), 0x0af40005);

	again = ep_record_to_json(&r);
	assert_non_null(again);
	/* MACs come back lower case, everything else verbatim. */
	assert_string_equal(json_string_value(json_object_get(again, "host_mac")),
			    "aa:bb:cc:dd:ee:01");
	assert_string_equal(json_string_value(json_object_get(again, "ip")), "10.244.0.5");
	assert_int_equal(ep_record_from_json(again, true, &back, &field), 0);
	assert_record_equal(&r, &back);
	json_decref(again);

	/* API requests carry no endpoint_id: it is ignored when not wanted. */
	json_object_del(o, "endpoint_id");
	assert_int_equal(ep_record_from_json(o, true, &back, &field), -EINVAL);
	assert_string_equal(field, "endpoint_id");
	assert_int_equal(ep_record_from_json(o, false, &back, &field), 0);
	assert_int_equal(back.endpoint_id, 0);

	/* pod_namespace/pod_name are optional. */
	json_object_del(o, "pod_namespace");
	json_object_set_new(o, "pod_name", json_null());
	assert_int_equal(ep_record_from_json(o, false, &back, &field), 0);
	assert_string_equal(back.pod_namespace, "");
	assert_string_equal(back.pod_name, "");
	json_decref(o);
}

static void test_state_json(void **state)
{
	struct ep_record r, back;
	const char *field;
	json_t *o = load(full_json), *again;

	/* Files written before the field existed are active records. */
	assert_int_equal(ep_record_from_json(o, true, &r, &field), 0);
	assert_int_equal(r.state, EP_STATE_ACTIVE);
	again = ep_record_to_json(&r);
	assert_string_equal(json_string_value(json_object_get(again, "state")), "active");
	json_decref(again);

	r.state = EP_STATE_DELETING;
	again = ep_record_to_json(&r);
	assert_string_equal(json_string_value(json_object_get(again, "state")), "deleting");
	assert_int_equal(ep_record_from_json(again, true, &back, &field), 0);
	assert_int_equal(back.state, EP_STATE_DELETING);
	/* An API request cannot set it: endpoint_add always makes an active one. */
	assert_int_equal(ep_record_from_json(again, false, &back, &field), 0);
	assert_int_equal(back.state, EP_STATE_ACTIVE);
	json_decref(again);

	json_object_set_new(o, "state", json_string("gone"));
	assert_int_equal(ep_record_from_json(o, true, &back, &field), -EINVAL);
	assert_string_equal(field, "state");
	json_object_set_new(o, "state", json_integer(1));
	assert_int_equal(ep_record_from_json(o, true, &back, &field), -EINVAL);
	assert_string_equal(field, "state");
	json_decref(o);

	assert_string_equal(ep_state_name(EP_STATE_ACTIVE), "active");
	assert_string_equal(ep_state_name(EP_STATE_DELETING), "deleting");
	assert_int_equal(ep_state_parse(NULL, &r.state), -EINVAL);
}

/* What each operation does to a key with no record, an active record, and
 * one being torn down. */
static void test_op_gate(void **state)
{
	static const struct {
		enum ep_op op;
		int none, active, deleting;
	} cases[] = {
		{ EP_OP_IP_ALLOCATE,	 0, 0, -EAGAIN },
		{ EP_OP_ENDPOINT_ADD,	 0, 0, -EAGAIN },
		{ EP_OP_ENDPOINT_GET,	 0, 0, -ENOENT },
		{ EP_OP_IP_RELEASE,	 0, 0, 1 },
		{ EP_OP_ENDPOINT_DELETE, 0, 0, 1 },
		{ EP_OP_GC,		 0, 0, 1 },
	};
	struct ep_record active = sample("aaaa", "eth0", 1, 10, "10.244.0.2");
	struct ep_record deleting = active;

	deleting.state = EP_STATE_DELETING;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ep_op_gate(NULL, cases[i].op), cases[i].none);
		assert_int_equal(ep_op_gate(&active, cases[i].op), cases[i].active);
		assert_int_equal(ep_op_gate(&deleting, cases[i].op), cases[i].deleting);
	}
}

static void test_json_validation(void **state)
{
	static const struct {
		const char *key;
		const char *json;	/* replacement value; NULL deletes the key */
	} bad[] = {
		{ "endpoint_id", "0" }, { "endpoint_id", "-1" }, { "endpoint_id", "\"7\"" },
		{ "endpoint_id", "4294967296" },
		{ "container_id", NULL }, { "container_id", "\"\"" }, { "container_id", "42" },
		{ "container_id", "\"a/b\"" }, { "container_id", "\"../etc\"" },
		{ "container_id", "\".hidden\"" }, { "container_id", "\"sp ace\"" },
		{ "container_id", "\"-dash\"" },
		{ "ifname", NULL }, { "ifname", "\"\"" }, { "ifname", "\"0123456789abcdef\"" },
		{ "ifname", "\"a/b\"" }, { "ifname", "\".\"" }, { "ifname", "\"..\"" },
		{ "ifname", "\"eth 0\"" }, { "ifname", "\"eth0:1\"" }, { "ifname", "\"eth\\t0\"" },
		{ "ifname", "\"eth\\u00e9\"" },
		{ "netns", NULL }, { "netns", "\"\"" }, { "netns", "\"/x\\ny\"" },
		{ "netns", "\"/x\\\"y\"" }, { "netns", "[]" },
		{ "ip", NULL }, { "ip", "\"10.244.0\"" }, { "ip", "\"10.244.0.5/24\"" },
		{ "ip", "\"fd00::1\"" }, { "ip", "\"10.244.0.256\"" }, { "ip", "167772165" },
		{ "host_ifname", NULL }, { "host_ifname", "\"lxc0123456789abcd\"" },
		{ "host_ifindex", NULL }, { "host_ifindex", "0" }, { "host_ifindex", "-3" },
		{ "host_ifindex", "\"42\"" }, { "host_ifindex", "4.2" },
		{ "host_ifindex", "2147483648" },
		{ "host_mac", NULL }, { "host_mac", "\"aa:bb:cc:dd:ee\"" },
		{ "host_mac", "\"aa:bb:cc:dd:ee:fg\"" }, { "host_mac", "\"aa-bb-cc-dd-ee-ff\"" },
		{ "host_mac", "\"aa:bb:cc:dd:ee:ff:00\"" },
		{ "pod_mac", NULL }, { "pod_mac", "\"\"" },
		{ "pod_namespace", "5" }, { "pod_name", "{}" },
		{ "pod_name", "\"a\\u0000b\"" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *o = load(full_json);
		struct ep_record r;
		const char *field = NULL;

		if (bad[i].json)
			json_object_set_new(o, bad[i].key,
					    json_loads(bad[i].json, JSON_DECODE_ANY |
						       JSON_ALLOW_NUL, NULL));
		else
			json_object_del(o, bad[i].key);
		if (ep_record_from_json(o, true, &r, &field) != -EINVAL)
			fail_msg("%s=%s accepted", bad[i].key,
				 bad[i].json ? bad[i].json : "(none)");
		assert_non_null(field);
		assert_string_equal(field, bad[i].key);
		json_decref(o);
	}

	struct ep_record r;
	const char *field;

	assert_int_equal(ep_record_from_json(NULL, false, &r, &field), -EINVAL);
	json_t *arr = json_array();

	assert_int_equal(ep_record_from_json(arr, false, &r, &field), -EINVAL);
	json_decref(arr);
}

static void test_names(void **state)
{
	char longid[EP_CONTAINER_ID_MAX + 2];

	assert_true(ep_ifname_valid("eth0"));
	assert_true(ep_ifname_valid("net1@x+y_z.w-"));
	assert_true(ep_ifname_valid("0123456789abcde"));
	assert_false(ep_ifname_valid("0123456789abcdef"));
	assert_false(ep_ifname_valid(NULL));
	memset(longid, 'a', sizeof(longid) - 1);
	longid[EP_CONTAINER_ID_MAX] = '\0';
	assert_true(ep_container_id_valid(longid));
	longid[EP_CONTAINER_ID_MAX] = 'a';
	longid[EP_CONTAINER_ID_MAX + 1] = '\0';
	assert_false(ep_container_id_valid(longid));
	assert_false(ep_container_id_valid(NULL));
}

static void test_owner(void **state)
{
	char buf[300], cid[EP_CONTAINER_ID_MAX + 1], ifname[IFNAMSIZ];

	assert_int_equal(ep_owner("abc", "eth0", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "abc/eth0");
	assert_int_equal(ep_owner("abc", "eth0", buf, 5), -ENAMETOOLONG);
	assert_int_equal(ep_owner_split("abc/eth0", cid, ifname), 0);
	assert_string_equal(cid, "abc");
	assert_string_equal(ifname, "eth0");
	assert_int_equal(ep_owner_split("abc", cid, ifname), -EINVAL);
	assert_int_equal(ep_owner_split("a/b/c", cid, ifname), -EINVAL);
	assert_int_equal(ep_owner_split("/eth0", cid, ifname), -EINVAL);
	assert_int_equal(ep_owner_split("abc/", cid, ifname), -EINVAL);
}

static void test_store_persistence(void **state)
{
	char dir[128], path[256];
	struct ep_store *s = NULL, *t = NULL;
	struct ep_record a = sample("aaaa", "eth0", 1, 10, "10.244.0.2");
	struct ep_record b = sample("bbbb", "eth0", 2, 11, "10.244.0.3");
	struct ep_record c = sample("cccc", "net1", 3, 12, "10.244.0.4");

	snprintf(dir, sizeof(dir), "%s/endpoints", tmpdir);
	assert_int_equal(ep_store_open(dir, &s), 0);
	assert_int_equal(ep_store_count(s), 0);
	assert_int_equal(ep_store_free_id(s), 1);
	strcpy(b.pod_namespace, "kube-system");
	strcpy(b.pod_name, "coredns-abc");

	assert_int_equal(ep_store_put(s, &a), 0);
	assert_int_equal(ep_store_put(s, &b), 0);
	c.state = EP_STATE_DELETING;	/* survives a reload, like the rest */
	assert_int_equal(ep_store_put(s, &c), 0);
	assert_int_equal(ep_store_count(s), 3);
	assert_int_equal(ep_store_free_id(s), 4);

	snprintf(path, sizeof(path), "%s/bbbb_eth0.json", dir);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/cccc_net1.json", dir);
	assert_int_equal(access(path, F_OK), 0);

	/* Replace keeps one record per key. */
	a.host_ifindex = 20;
	strcpy(a.host_ifname, "lxc20");
	assert_int_equal(ep_store_put(s, &a), 0);
	assert_int_equal(ep_store_count(s), 3);
	assert_int_equal(ep_store_find(s, "aaaa", "eth0")->host_ifindex, 20);

	/* Remove: file gone, idempotent, id 2 is the lowest free one again. */
	assert_int_equal(ep_store_remove(s, "bbbb", "eth0"), 1);
	assert_int_equal(ep_store_remove(s, "bbbb", "eth0"), 0);
	snprintf(path, sizeof(path), "%s/bbbb_eth0.json", dir);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(ep_store_free_id(s), 2);
	assert_null(ep_store_find(s, "bbbb", "eth0"));
	ep_store_put(s, &b);	/* put it back for the reload below */
	ep_store_free(s);

	/* Junk that loading must skip. */
	FILE *f;

	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	f = fopen(path, "w");
	fputs("hello", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/broken_eth0.json", dir);
	f = fopen(path, "w");
	fputs("{\"endpoint_id\": ", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/.dddd_eth0.json.tmp", dir);
	f = fopen(path, "w");
	fputs("{}", f);
	fclose(f);
	/* A valid record under the wrong file name. */
	snprintf(path, sizeof(path), "%s/renamed.json", dir);
	f = fopen(path, "w");
	fputs(full_json, f);
	fclose(f);

	assert_int_equal(ep_store_open(dir, &t), 0);
	assert_int_equal(ep_store_count(t), 3);
	assert_record_equal(ep_store_find(t, "aaaa", "eth0"), &a);
	assert_record_equal(ep_store_find(t, "bbbb", "eth0"), &b);
	assert_record_equal(ep_store_find(t, "cccc", "net1"), &c);
	assert_null(ep_store_find(t, "0123456789abcdef", "eth0"));
	ep_store_free(t);
	ep_store_free(NULL);
}

static void test_store_conflicts(void **state)
{
	char dir[128];
	struct ep_store *s;
	struct ep_record a = sample("a_b", "c", 1, 10, "10.244.0.2");
	struct ep_record b = sample("a", "b_c", 2, 11, "10.244.0.3");
	struct ep_record d = sample("dddd", "eth0", 1, 12, "10.244.0.4");

	snprintf(dir, sizeof(dir), "%s/conflicts", tmpdir);
	assert_int_equal(ep_store_open(dir, &s), 0);
	assert_int_equal(ep_store_put(s, &a), 0);
	/* Same file name (a_b_c.json) for a different key. */
	assert_int_equal(ep_store_put(s, &b), -EEXIST);
	/* Same endpoint id for a different key. */
	assert_int_equal(ep_store_put(s, &d), -EEXIST);
	d.endpoint_id = 0;
	assert_int_equal(ep_store_put(s, &d), -EINVAL);
	assert_int_equal(ep_store_count(s), 1);
	ep_store_free(s);
}

static void test_mac(void **state)
{
	uint8_t mac[6];
	char buf[18];

	assert_int_equal(ep_mac_parse("0A:1b:2C:3d:4E:5f", mac), 0);
	ep_mac_format(mac, buf);
	assert_string_equal(buf, "0a:1b:2c:3d:4e:5f");
	assert_int_equal(ep_mac_parse(NULL, mac), -EINVAL);
	assert_int_equal(ep_mac_parse("0a:1b:2c:3d:4e:5", mac), -EINVAL);
	assert_int_equal(ep_mac_parse("0a:1b:2c:3d:4e:5f ", mac), -EINVAL);
	assert_int_equal(ep_mac_parse("0a:1b:2c:3d:4e5:f", mac), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_json_validation),
		cmocka_unit_test(test_state_json),
		cmocka_unit_test(test_op_gate),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_store_persistence),
		cmocka_unit_test(test_store_conflicts),
	};

	log_setup(LOG_LVL_ERROR, NULL, stderr);
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

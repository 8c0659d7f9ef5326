// SPDX-License-Identifier: Apache-2.0
/*
 * rtnetlink request builders, checked byte by byte by parsing them back with
 * libmnl: header, family header, and every attribute's presence and value,
 * nested ones included.  Plus argument checks and read-only queries that
 * need no privileges.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "netlink_msg.h"
#include "log.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_ATTR	64

/* Attribute table: each type at most once, payload validated by mnl. */
struct attrs {
	const struct nlattr *tb[MAX_ATTR];
	int count;
};

static int collect_cb(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	uint16_t type = mnl_attr_get_type(attr);

	assert_true(type < MAX_ATTR);
	if (a->tb[type])
		fail_msg("attribute %u appears twice", type);
	a->tb[type] = attr;
	a->count++;
	return MNL_CB_OK;
}

static void parse_top(const struct nlmsghdr *nlh, size_t hdrlen, struct attrs *a)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(mnl_attr_parse(nlh, (unsigned int)hdrlen, collect_cb, a), MNL_CB_OK);
}

static void parse_nested(const struct nlattr *nest, struct attrs *a)
{
	memset(a, 0, sizeof(*a));
	assert_non_null(nest);
	assert_true(nest->nla_type & NLA_F_NESTED);
	assert_int_equal(mnl_attr_parse_nested(nest, collect_cb, a), MNL_CB_OK);
}

static void assert_str_attr(const struct nlattr *attr, const char *want)
{
	assert_non_null(attr);
	assert_int_equal(mnl_attr_validate(attr, MNL_TYPE_NUL_STRING), 0);
	assert_string_equal(mnl_attr_get_str(attr), want);
}

static void assert_u32_attr(const struct nlattr *attr, uint32_t want)
{
	assert_non_null(attr);
	assert_int_equal(mnl_attr_validate(attr, MNL_TYPE_U32), 0);
	assert_int_equal(mnl_attr_get_u32(attr), want);
}

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* The whole message is accounted for: length matches what was written. */
static void assert_header(const struct nlmsghdr *nlh, const char *buf, uint16_t type,
			  uint16_t flags, uint32_t seq)
{
	assert_ptr_equal(nlh, buf);
	assert_int_equal(nlh->nlmsg_type, type);
	assert_int_equal(nlh->nlmsg_flags, flags);
	assert_int_equal(nlh->nlmsg_seq, seq);
	assert_int_equal(nlh->nlmsg_pid, 0);
	assert_true(nlh->nlmsg_len <= NL_MSG_BUF_SIZE);
	assert_int_equal(nlh->nlmsg_len % 4, 0);
}

/* --- links ------------------------------------------------------------------------------ */

static void test_veth_create(void **state)
{
	char buf[NL_MSG_BUF_SIZE];
	struct nlmsghdr *nlh = nl_build_veth_create(buf, 42, "lxcb9e96a39c16", "eth0", 7, 1400);
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh), *pifi;
	struct attrs top, info, data, peer;
	const struct nlattr *pa;

	assert_header(nlh, buf, RTM_NEWLINK,
		      NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 42);
	/* 16 nlh + 16 ifi + IFNAME 20 + MTU 8 + LINKINFO(4 + KIND 12 + DATA(4 +
	 * PEER(4 + 16 ifi + IFNAME 12 + NS_FD 8 + MTU 8))) */
	assert_int_equal(nlh->nlmsg_len, 128);
	assert_int_equal(ifi->ifi_family, AF_UNSPEC);
	assert_int_equal(ifi->ifi_index, 0);
	assert_int_equal(ifi->ifi_flags, 0);
	assert_int_equal(ifi->ifi_change, 0);

	parse_top(nlh, sizeof(*ifi), &top);
	assert_int_equal(top.count, 3);
	assert_str_attr(top.tb[IFLA_IFNAME], "lxcb9e96a39c16");
	assert_u32_attr(top.tb[IFLA_MTU], 1400);
	assert_null(top.tb[IFLA_NET_NS_FD]);	/* the host end stays here */

	parse_nested(top.tb[IFLA_LINKINFO], &info);
	assert_int_equal(info.count, 2);
	assert_str_attr(info.tb[IFLA_INFO_KIND], "veth");
	parse_nested(info.tb[IFLA_INFO_DATA], &data);
	assert_int_equal(data.count, 1);

	/* VETH_INFO_PEER: an ifinfomsg, then the peer's own attributes. */
	pa = data.tb[VETH_INFO_PEER];
	assert_non_null(pa);
	assert_true(mnl_attr_get_payload_len(pa) >= sizeof(*pifi));
	pifi = mnl_attr_get_payload(pa);
	assert_int_equal(pifi->ifi_family, AF_UNSPEC);
	assert_int_equal(pifi->ifi_index, 0);
	assert_int_equal(pifi->ifi_flags, 0);
	memset(&peer, 0, sizeof(peer));
	assert_int_equal(mnl_attr_parse_payload((const char *)pifi + sizeof(*pifi),
						mnl_attr_get_payload_len(pa) - sizeof(*pifi),
						collect_cb, &peer), MNL_CB_OK);
	assert_int_equal(peer.count, 3);
	assert_str_attr(peer.tb[IFLA_IFNAME], "eth0");
	assert_u32_attr(peer.tb[IFLA_NET_NS_FD], 7);
	assert_u32_attr(peer.tb[IFLA_MTU], 1400);
}

static void test_link_create_kinds(void **state)
{
	static const char *const kinds[] = { "dummy", "ifb" };

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		char buf[NL_MSG_BUF_SIZE];
		struct nlmsghdr *nlh = nl_build_link_create(buf, 3, "porin_host", kinds[i]);
		struct attrs top, info;

		assert_header(nlh, buf, RTM_NEWLINK,
			      NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 3);
		parse_top(nlh, sizeof(struct ifinfomsg), &top);
		assert_int_equal(top.count, 2);
		assert_str_attr(top.tb[IFLA_IFNAME], "porin_host");
		parse_nested(top.tb[IFLA_LINKINFO], &info);
		assert_int_equal(info.count, 1);
		assert_str_attr(info.tb[IFLA_INFO_KIND], kinds[i]);
	}
}

static void test_link_by_name(void **state)
{
	static const struct {
		const char *name;
		struct nlmsghdr *(*build)(char *, uint32_t, const char *);
		uint16_t type;
		int want_ext_mask;
	} cases[] = {
		{ "del", nl_build_link_del, RTM_DELLINK, 0 },
		{ "get", nl_build_link_get, RTM_GETLINK, 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[NL_MSG_BUF_SIZE];
		struct nlmsghdr *nlh = cases[i].build(buf, 9, "lxc0123456789a");
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
		struct attrs top;

		assert_header(nlh, buf, cases[i].type, NLM_F_REQUEST | NLM_F_ACK, 9);
		assert_int_equal(ifi->ifi_index, 0);
		parse_top(nlh, sizeof(*ifi), &top);
		assert_int_equal(top.count, 1 + cases[i].want_ext_mask);
		assert_str_attr(top.tb[IFLA_IFNAME], "lxc0123456789a");
		if (cases[i].want_ext_mask)
			assert_u32_attr(top.tb[IFLA_EXT_MASK], RTEXT_FILTER_SKIP_STATS);
	}
}

static void test_link_set_up(void **state)
{
	char buf[NL_MSG_BUF_SIZE];
	struct nlmsghdr *nlh = nl_build_link_set_up(buf, 5, 12);
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	/* No CREATE: this must never make a device. */
	assert_header(nlh, buf, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 5);
	assert_int_equal(nlh->nlmsg_len, NLMSG_HDRLEN + sizeof(*ifi));
	assert_int_equal(ifi->ifi_index, 12);
	assert_int_equal(ifi->ifi_change, IFF_UP);
	assert_int_equal(ifi->ifi_flags, IFF_UP);
}

/* --- addresses and routes --------------------------------------------------------------- */

static void test_addr_add(void **state)
{
	static const struct {
		const char *addr;
		unsigned int plen;
	} cases[] = { { "10.244.0.5", 32 }, { "10.244.0.1", 32 }, { "192.168.7.9", 24 } };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[NL_MSG_BUF_SIZE];
		struct nlmsghdr *nlh = nl_build_addr_add_v4(buf, 77, 9, ip(cases[i].addr),
							    cases[i].plen);
		const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
		struct attrs top;

		assert_header(nlh, buf, RTM_NEWADDR,
			      NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 77);
		assert_int_equal(ifa->ifa_family, AF_INET);
		assert_int_equal(ifa->ifa_prefixlen, cases[i].plen);
		assert_int_equal(ifa->ifa_index, 9);
		assert_int_equal(ifa->ifa_scope, RT_SCOPE_UNIVERSE);
		assert_int_equal(ifa->ifa_flags, 0);
		parse_top(nlh, sizeof(*ifa), &top);
		assert_int_equal(top.count, 2);
		assert_u32_attr(top.tb[IFA_LOCAL], ip(cases[i].addr));
		assert_u32_attr(top.tb[IFA_ADDRESS], ip(cases[i].addr));
	}
}

static void test_route_replace(void **state)
{
	static const struct {
		const char *name, *dst;
		unsigned int plen;
		const char *gw;		/* NULL: scope link */
		int ifindex;
	} cases[] = {
		{ "default via gw", "0.0.0.0", 0, "10.244.0.1", 2 },
		{ "gateway on-link", "10.244.0.1", 32, NULL, 2 },
		{ "host route to pod", "10.244.0.5", 32, NULL, 31 },
		{ "prefix via gw", "172.16.0.0", 12, "10.244.0.1", 2 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[NL_MSG_BUF_SIZE];
		uint32_t gw = cases[i].gw ? ip(cases[i].gw) : 0;
		struct nlmsghdr *nlh = nl_build_route_replace_v4(buf, 8, ip(cases[i].dst),
								 cases[i].plen, gw,
								 cases[i].ifindex);
		const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
		struct attrs top;

		print_message("route case: %s\n", cases[i].name);
		assert_header(nlh, buf, RTM_NEWROUTE,
			      NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, 8);
		assert_int_equal(rtm->rtm_family, AF_INET);
		assert_int_equal(rtm->rtm_dst_len, cases[i].plen);
		assert_int_equal(rtm->rtm_src_len, 0);
		assert_int_equal(rtm->rtm_table, RT_TABLE_MAIN);
		assert_int_equal(rtm->rtm_protocol, RTPROT_STATIC);
		assert_int_equal(rtm->rtm_type, RTN_UNICAST);
		assert_int_equal(rtm->rtm_scope, gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
		parse_top(nlh, sizeof(*rtm), &top);
		assert_int_equal(top.count, (cases[i].plen ? 1 : 0) + (gw ? 1 : 0) + 1);
		if (cases[i].plen)
			assert_u32_attr(top.tb[RTA_DST], ip(cases[i].dst));
		else
			assert_null(top.tb[RTA_DST]);
		if (gw)
			assert_u32_attr(top.tb[RTA_GATEWAY], gw);
		else
			assert_null(top.tb[RTA_GATEWAY]);
		assert_u32_attr(top.tb[RTA_OIF], (uint32_t)cases[i].ifindex);
	}
}

static void test_dumps(void **state)
{
	char buf[NL_MSG_BUF_SIZE];
	struct nlmsghdr *nlh;

	/* Dumps end with NLMSG_DONE; an ACK on top would be a stray message. */
	nlh = nl_build_addr_dump_v4(buf, 11);
	assert_header(nlh, buf, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 11);
	assert_int_equal(((struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_family, AF_INET);
	assert_int_equal(nlh->nlmsg_len, NLMSG_HDRLEN + sizeof(struct ifaddrmsg));

	nlh = nl_build_route_dump_v4(buf, 12);
	assert_header(nlh, buf, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 12);
	assert_int_equal(((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_family, AF_INET);
	assert_int_equal(nlh->nlmsg_len, NLMSG_HDRLEN + sizeof(struct rtmsg));
}

/* --- TC ----------------------------------------------------------------------------------- */

#define INGRESS		TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)
#define EGRESS		TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)

static void test_clsact_add(void **state)
{
	char buf[NL_MSG_BUF_SIZE];
	struct nlmsghdr *nlh = nl_build_clsact_add(buf, 21, 31);
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct attrs top;

	/* What `tc qdisc add dev X clsact` and bpf_tc_hook_create() send. */
	assert_header(nlh, buf, RTM_NEWQDISC,
		      NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 21);
	assert_int_equal(tcm->tcm_family, AF_UNSPEC);
	assert_int_equal(tcm->tcm_ifindex, 31);
	assert_int_equal(tcm->tcm_parent, TC_H_CLSACT);
	assert_int_equal(tcm->tcm_handle, 0xffff0000);
	assert_int_equal(tcm->tcm_info, 0);
	parse_top(nlh, sizeof(*tcm), &top);
	assert_int_equal(top.count, 1);
	assert_str_attr(top.tb[TCA_KIND], "clsact");
}

static void test_tc_bpf_replace(void **state)
{
	static const struct {
		uint32_t parent, want_parent;
		int fd;
		const char *name;
	} cases[] = {
		{ INGRESS, 0xfffffff2, 7, "from_container:[1506]" },
		{ EGRESS, 0xfffffff3, 8, "to_container:[1507]" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[NL_MSG_BUF_SIZE];
		struct nlmsghdr *nlh = nl_build_tc_bpf_replace(buf, 4, 31, cases[i].parent, 1, 1,
							       cases[i].fd, cases[i].name);
		const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
		struct attrs top, opts;

		/* REPLACE without EXCL: attaching again swaps the program in place. */
		assert_header(nlh, buf, RTM_NEWTFILTER,
			      NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, 4);
		assert_int_equal(tcm->tcm_family, AF_UNSPEC);
		assert_int_equal(tcm->tcm_ifindex, 31);
		assert_int_equal(tcm->tcm_parent, cases[i].want_parent);
		assert_int_equal(tcm->tcm_handle, 1);
		/* Priority 1 in the upper half, ETH_P_ALL in network order below. */
		assert_int_equal(tcm->tcm_info, 0x00010300);
		parse_top(nlh, sizeof(*tcm), &top);
		assert_int_equal(top.count, 2);
		assert_str_attr(top.tb[TCA_KIND], "bpf");
		parse_nested(top.tb[TCA_OPTIONS], &opts);
		assert_int_equal(opts.count, 3);
		assert_u32_attr(opts.tb[TCA_BPF_FD], (uint32_t)cases[i].fd);
		assert_str_attr(opts.tb[TCA_BPF_NAME], cases[i].name);
		assert_u32_attr(opts.tb[TCA_BPF_FLAGS], TCA_BPF_FLAG_ACT_DIRECT);
	}
}

static void test_tc_bpf_get(void **state)
{
	char buf[NL_MSG_BUF_SIZE];
	struct nlmsghdr *nlh = nl_build_tc_bpf_get(buf, 6, 31, EGRESS, 1, 1);
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct attrs top;

	assert_header(nlh, buf, RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_ACK, 6);
	assert_int_equal(tcm->tcm_ifindex, 31);
	assert_int_equal(tcm->tcm_parent, 0xfffffff3);
	assert_int_equal(tcm->tcm_handle, 1);
	assert_int_equal(tcm->tcm_info, 0x00010300);
	parse_top(nlh, sizeof(*tcm), &top);
	assert_int_equal(top.count, 1);
	assert_str_attr(top.tb[TCA_KIND], "bpf");
}

static void test_builders_reset_buffer(void **state)
{
	char buf[NL_MSG_BUF_SIZE];
	struct nlmsghdr *nlh;
	struct attrs top;

	/* A big message first, then a small one: nothing of the first leaks. */
	nl_build_veth_create(buf, 1, "lxcaaaaaaaaaaa", "eth0", 3, 1500);
	nlh = nl_build_link_del(buf, 2, "x");
	parse_top(nlh, sizeof(struct ifinfomsg), &top);
	assert_int_equal(top.count, 1);
	for (size_t i = nlh->nlmsg_len; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
}

/* --- the socket side, unprivileged ---------------------------------------------------- */

static void test_invalid_arguments(void **state)
{
	struct nl *nl = NULL;

	assert_int_equal(nl_open(&nl), 0);
	assert_non_null(nl);
	assert_int_equal(nl_veth_create(nl, "", "eth0", 3, 1500), -EINVAL);
	assert_int_equal(nl_veth_create(nl, "lxc0123456789abc", "eth0", 3, 1500), -EINVAL);
	assert_int_equal(nl_veth_create(nl, "lxc1", NULL, 3, 1500), -EINVAL);
	assert_int_equal(nl_veth_create(nl, "lxc1", "eth0", -1, 1500), -EINVAL);
	assert_int_equal(nl_link_del(nl, "0123456789abcdef"), -EINVAL);
	assert_int_equal(nl_link_get(nl, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(nl_link_set_up(nl, 0), -EINVAL);
	assert_int_equal(nl_addr_add_v4(nl, 1, ip("10.0.0.1"), 33), -EINVAL);
	assert_int_equal(nl_addr_add_v4(nl, -1, ip("10.0.0.1"), 32), -EINVAL);
	assert_int_equal(nl_route_replace_v4(nl, 0, 0, ip("10.0.0.1"), 0), -EINVAL);
	assert_int_equal(nl_route_replace_v4(nl, 0, 40, 0, 1), -EINVAL);
	assert_int_equal(nl_dummy_ensure(nl, "", ip("10.0.0.1")), -EINVAL);
	assert_int_equal(nl_clsact_ensure(nl, 0), -EINVAL);
	assert_int_equal(nl_tc_bpf_replace(nl, 0, INGRESS, 1, 1, 3, "x"), -EINVAL);
	assert_int_equal(nl_tc_bpf_replace(nl, 1, INGRESS, 1, 1, -1, "x"), -EINVAL);
	assert_int_equal(nl_tc_bpf_replace(nl, 1, INGRESS, 1, 1, 3, NULL), -EINVAL);
	nl_close(nl);
	nl_close(NULL);
}

static void test_queries(void **state)
{
	uint8_t mac[6] = { 1, 2, 3, 4, 5, 6 };
	struct nl *nl = NULL;
	int ifindex = 0, err;
	uint32_t id = 1;

	assert_int_equal(nl_open(&nl), 0);
	/* Every namespace has lo at ifindex 1, with an all-zero address. */
	assert_int_equal(nl_link_get(nl, "lo", &ifindex, mac), 0);
	assert_int_equal(ifindex, 1);
	for (int i = 0; i < 6; i++)
		assert_int_equal(mac[i], 0);
	assert_int_equal(nl_link_get(nl, "lo", NULL, NULL), 0);
	/* The kernel's answer for a missing name, passed through. */
	assert_int_equal(nl_link_get(nl, "pn-nonexist0", &ifindex, NULL), -ENODEV);
	/* Deleting what is not there is success (DEL is idempotent); without
	 * CAP_NET_ADMIN the kernel refuses before it looks. */
	err = nl_link_del(nl, "pn-nonexist0");
	assert_true(err == 0 || err == -EPERM);
	/* Several requests on one socket: sequence numbers stay in step. */
	for (int i = 0; i < 3; i++) {
		int has = nl_addr_has_v4(nl, 1, ip("127.0.0.1"), 8);

		/* lo may be down (and address-less) in a fresh netns. */
		assert_true(has == 0 || has == 1);
		assert_int_equal(nl_addr_has_v4(nl, 1, ip("127.0.0.2"), 8), 0);
		assert_true(nl_route_has_v4(nl, ip("203.0.113.0"), 24, 0, 1) == 0);
	}
	/* No clsact on lo: no filter, no error.  No such link: -ENODEV. */
	assert_int_equal(nl_tc_bpf_prog_id(nl, 1, INGRESS, 1, 1, &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(nl_tc_bpf_prog_id(nl, 1 << 30, INGRESS, 1, 1, &id), -ENODEV);
	nl_close(nl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_veth_create),
		cmocka_unit_test(test_link_create_kinds),
		cmocka_unit_test(test_link_by_name),
		cmocka_unit_test(test_link_set_up),
		cmocka_unit_test(test_addr_add),
		cmocka_unit_test(test_route_replace),
		cmocka_unit_test(test_dumps),
		cmocka_unit_test(test_clsact_add),
		cmocka_unit_test(test_tc_bpf_replace),
		cmocka_unit_test(test_tc_bpf_get),
		cmocka_unit_test(test_builders_reset_buffer),
		cmocka_unit_test(test_invalid_arguments),
		cmocka_unit_test(test_queries),
	};

	log_setup(LOG_LVL_ERROR, "test", stderr);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

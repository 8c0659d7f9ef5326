// SPDX-License-Identifier: Apache-2.0
/*
 * rtnetlink over libmnl: builders (pure, testable) first, then one
 * request/reply routine that every operation goes through, so acks, extended
 * ACK text and errno conversion live in one place.
 */
#include "netlink.h"
#include "netlink_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "log.h"

/* Dump replies come in skbs of up to 32 KiB; a smaller buffer truncates. */
#define NL_RECV_BUF_SIZE	(32 * 1024)

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	uint32_t seq;
	char rbuf[NL_RECV_BUF_SIZE];
	char wbuf[NL_MSG_BUF_SIZE];
};

/* --- writing messages ----------------------------------------------------
 * Builders start from a zeroed buffer, so padding and every header field
 * not set stays zero. */

static struct nlmsghdr *nl_put_header(char *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, NL_MSG_BUF_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	return nlh;
}

/* --- reading messages --------------------------------------------------- */

/* mnl_attr_parse() callback filling tb[type] for types up to max; it stops
 * at a truncated attribute, and what came before it stands. */
struct nl_attr_table {
	const struct nlattr **tb;
	unsigned int max;
};

static int nl_attr_table_cb(const struct nlattr *attr, void *data)
{
	const struct nl_attr_table *t = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= t->max)
		t->tb[type] = attr;
	return MNL_CB_OK;
}

/* The attributes after @nlh's family header of @hdrlen bytes; -EBADMSG if
 * the message cannot even hold that header. */
static int nl_msg_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb,
			unsigned int max)
{
	struct nl_attr_table t = { .tb = tb, .max = max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_nlmsg_get_payload_len(nlh) < hdrlen)
		return -EBADMSG;
	(void) mnl_attr_parse(nlh, (unsigned int)hdrlen, nl_attr_table_cb, &t);
	return 0;
}

/* The attributes nested in @nest. */
static void nl_nested_attrs(const struct nlattr *nest, const struct nlattr **tb, unsigned int max)
{
	struct nl_attr_table t = { .tb = tb, .max = max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	(void) mnl_attr_parse_nested(nest, nl_attr_table_cb, &t);
}

/* A u32 attribute's value; 0 when absent or not four bytes long. */
static uint32_t nl_attr_u32(const struct nlattr *a)
{
	return a && mnl_attr_validate(a, MNL_TYPE_U32) == 0 ? mnl_attr_get_u32(a) : 0;
}

/* --- builders ---------------------------------------------------------- */

static struct ifinfomsg *nl_put_ifinfo(struct nlmsghdr *nlh, int ifindex)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return ifi;
}

struct nlmsghdr *nl_build_veth_create(char *buf, uint32_t seq, const char *host_name,
				      const char *peer_name, int peer_netns_fd,
				      unsigned int mtu)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWLINK,
					     NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
	struct nlattr *linkinfo, *data, *peer;

	nl_put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host_name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* VETH_INFO_PEER carries a whole ifinfomsg + attributes for the peer:
	 * naming it and placing it in the pod netns here means it never exists
	 * under a temporary name or in the wrong namespace. */
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	nl_put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return nlh;
}

struct nlmsghdr *nl_build_link_create(char *buf, uint32_t seq, const char *name,
				      const char *kind)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWLINK,
					     NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
	struct nlattr *linkinfo;

	nl_put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, linkinfo);
	return nlh;
}

struct nlmsghdr *nl_build_link_del(char *buf, uint32_t seq, const char *name)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_DELLINK, NLM_F_ACK, seq);

	nl_put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

struct nlmsghdr *nl_build_link_get(char *buf, uint32_t seq, const char *name)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_GETLINK, NLM_F_ACK, seq);

	nl_put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* Statistics are most of a link reply and we never read them. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nlh;
}

struct nlmsghdr *nl_build_link_set_up(char *buf, uint32_t seq, int ifindex)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWLINK, NLM_F_ACK, seq);
	struct ifinfomsg *ifi = nl_put_ifinfo(nlh, ifindex);

	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	return nlh;
}

struct nlmsghdr *nl_build_link_set_mtu(char *buf, uint32_t seq, int ifindex, unsigned int mtu)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWLINK, NLM_F_ACK, seq);

	nl_put_ifinfo(nlh, ifindex);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nlh;
}

struct nlmsghdr *nl_build_addr_add_v4(char *buf, uint32_t seq, int ifindex, uint32_t addr_be,
				      unsigned int prefixlen)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWADDR,
					     NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put_u32(nlh, IFA_LOCAL, addr_be);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, addr_be);
	return nlh;
}

struct nlmsghdr *nl_build_route_replace_v4(char *buf, uint32_t seq, uint32_t dst_be,
					   unsigned int prefixlen, uint32_t gw_be, int ifindex)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWROUTE,
					     NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (uint8_t)prefixlen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = gw_be ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (prefixlen)
		mnl_attr_put_u32(nlh, RTA_DST, dst_be);
	if (gw_be)
		mnl_attr_put_u32(nlh, RTA_GATEWAY, gw_be);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	return nlh;
}

struct nlmsghdr *nl_build_addr_dump_v4(char *buf, uint32_t seq)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_GETADDR, NLM_F_DUMP, seq);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	return nlh;
}

struct nlmsghdr *nl_build_route_dump_v4(char *buf, uint32_t seq)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_GETROUTE, NLM_F_DUMP, seq);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	return nlh;
}

/* Filters of every protocol at @prio: tcm_info carries both. */
static struct tcmsg *nl_put_tcmsg(struct nlmsghdr *nlh, int ifindex, uint32_t parent,
				  uint32_t handle, uint16_t prio)
{
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_handle = handle;
	tcm->tcm_info = TC_H_MAKE((uint32_t)prio << 16, htons(ETH_P_ALL));
	return tcm;
}

struct nlmsghdr *nl_build_clsact_add(char *buf, uint32_t seq, int ifindex)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWQDISC,
					     NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = TC_H_CLSACT;
	tcm->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "clsact");
	return nlh;
}

struct nlmsghdr *nl_build_tc_bpf_replace(char *buf, uint32_t seq, int ifindex, uint32_t parent,
					 uint32_t handle, uint16_t prio, int prog_fd,
					 const char *name)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWTFILTER,
					     NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
	struct nlattr *opts;

	nl_put_tcmsg(nlh, ifindex, parent, handle, prio);
	mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put_u32(nlh, TCA_BPF_FD, (uint32_t)prog_fd);
	mnl_attr_put_strz(nlh, TCA_BPF_NAME, name);
	mnl_attr_put_u32(nlh, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
	mnl_attr_nest_end(nlh, opts);
	return nlh;
}

struct nlmsghdr *nl_build_tc_bpf_get(char *buf, uint32_t seq, int ifindex, uint32_t parent,
				     uint32_t handle, uint16_t prio)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_GETTFILTER, NLM_F_ACK, seq);

	nl_put_tcmsg(nlh, ifindex, parent, handle, prio);
	mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
	return nlh;
}

/* --- socket and request/reply ------------------------------------------ */

int nl_open(struct nl **ret)
{
	/* Not calloc(): zeroing the buffers costs a page fault per 4 KiB, and
	 * every byte of them is written before it is read. */
	struct nl *nl = malloc(sizeof(*nl));
	int one = 1, err;

	if (!nl)
		return -ENOMEM;
	nl->seq = 0;
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock) {
		err = -errno;
		goto err_free;
	}
	/* The kernel picks our port id; replies must carry it. */
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto err_close;
	}
	/* Extended ACK: the kernel explains EINVAL & co in words.  CAP_ACK: it
	 * need not echo our whole request back with every error. */
	(void) mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	(void) mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	*ret = nl;
	return 0;
err_close:
	mnl_socket_close(nl->sock);
err_free:
	free(nl);
	return err;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

struct nl_reply {
	const char *what;	/* operation name, for the debug log */
	mnl_cb_t cb;		/* data messages (RTM_NEW*), may be NULL */
	void *data;
	int err;
};

static int nl_extack_cb(const struct nlattr *attr, void *data)
{
	const char **msg = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		*msg = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

/* NLMSG_ERROR: the ack (error 0) or the error, with the extended ACK text
 * that follows it (after our request, unless the kernel capped that). */
static int nl_ctl_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct nl_reply *r = data;
	const char *msg = NULL;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		r->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		size_t off = sizeof(*e);

		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > NLMSG_HDRLEN)
			off += e->msg.nlmsg_len - NLMSG_HDRLEN;
		/* mnl_attr_parse() aligns the offset itself. */
		if (MNL_ALIGN(off) < mnl_nlmsg_get_payload_len(nlh))
			(void) mnl_attr_parse(nlh, (unsigned int)off, nl_extack_cb, &msg);
	}
	r->err = e->error > 0 ? -e->error : e->error;
	if (r->err)
		log_debug("netlink request failed", "op=%s err=%s extack=\"%s\"", r->what,
			  log_errno_name(r->err), msg ? msg : "");
	else if (msg)
		log_debug("netlink warning", "op=%s extack=\"%s\"", r->what, msg);
	return MNL_CB_STOP;
}

/* NLMSG_DONE ends a dump; its payload is an int error. */
static int nl_ctl_done(const struct nlmsghdr *nlh, void *data)
{
	struct nl_reply *r = data;
	int e = 0;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(e))
		memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
	if (e < 0) {
		r->err = e;
		log_debug("netlink dump failed", "op=%s err=%s", r->what, log_errno_name(e));
	}
	return MNL_CB_STOP;
}

static int nl_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_reply *r = data;

	return r->cb ? r->cb(nlh, r->data) : MNL_CB_OK;
}

/* Send the request @nlh and read until its ack, error or dump end, passing
 * data messages to @cb (may be NULL; returns MNL_CB_OK to go on).
 * mnl_cb_run2() checks port id (-ESRCH) and sequence (-EPROTO) and fails an
 * interrupted dump (-EINTR); mnl_socket_recvfrom() a truncated read (-ENOSPC). */
static int nl_talk(struct nl *nl, const struct nlmsghdr *nlh, const char *what, mnl_cb_t cb,
		   void *data)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = nl_ctl_error,
					 [NLMSG_DONE] = nl_ctl_done };
	struct nl_reply r = { .what = what, .cb = cb, .data = data };
	uint32_t seq = nlh->nlmsg_seq;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->rbuf, sizeof(nl->rbuf));
		int ret;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		errno = 0;
		ret = mnl_cb_run2(nl->rbuf, (size_t)n, seq, nl->portid, nl_data_cb, &r, ctl,
				  NLMSG_MIN_TYPE);
		if (ret < 0)
			return r.err ? r.err : (errno ? -errno : -EPROTO);
		if (ret == MNL_CB_STOP)
			return r.err;
	}
}

static inline uint32_t nl_next_seq(struct nl *nl)
{
	return ++nl->seq;
}

static int nl_name_ok(const char *name)
{
	size_t len = name ? strnlen(name, IFNAMSIZ) : 0;

	return len > 0 && len < IFNAMSIZ;
}

/* --- operations -------------------------------------------------------- */

int nl_veth_create(struct nl *nl, const char *host_name, const char *peer_name,
		   int peer_netns_fd, unsigned int mtu)
{
	struct nlmsghdr *nlh;

	if (!nl_name_ok(host_name) || !nl_name_ok(peer_name) || peer_netns_fd < 0)
		return -EINVAL;
	nlh = nl_build_veth_create(nl->wbuf, nl_next_seq(nl), host_name, peer_name,
				   peer_netns_fd, mtu);
	return nl_talk(nl, nlh, "veth_create", NULL, NULL);
}

int nl_link_del(struct nl *nl, const char *name)
{
	struct nlmsghdr *nlh;
	int err;

	if (!nl_name_ok(name))
		return -EINVAL;
	nlh = nl_build_link_del(nl->wbuf, nl_next_seq(nl), name);
	err = nl_talk(nl, nlh, "link_del", NULL, NULL);
	return err == -ENODEV ? 0 : err;
}

struct nl_link_info {
	int ifindex;
	uint8_t mac[6];
	bool have_mac;
};

static int nl_link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nl_link_info *li = data;

	if (nlh->nlmsg_type != RTM_NEWLINK || nl_msg_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX) < 0)
		return MNL_CB_OK;
	li->ifindex = ifi->ifi_index;
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == sizeof(li->mac)) {
		memcpy(li->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), sizeof(li->mac));
		li->have_mac = true;
	}
	return MNL_CB_OK;
}

int nl_link_get(struct nl *nl, const char *name, int *ret_ifindex, uint8_t ret_mac[6])
{
	struct nl_link_info li = { 0 };
	struct nlmsghdr *nlh;
	int err;

	if (!nl_name_ok(name))
		return -EINVAL;
	nlh = nl_build_link_get(nl->wbuf, nl_next_seq(nl), name);
	err = nl_talk(nl, nlh, "link_get", nl_link_cb, &li);
	if (err < 0)
		return err;
	if (li.ifindex <= 0)
		return -ENODEV;
	if (ret_ifindex)
		*ret_ifindex = li.ifindex;
	if (ret_mac) {
		if (!li.have_mac)
			return -EBADMSG;
		memcpy(ret_mac, li.mac, sizeof(li.mac));
	}
	return 0;
}

int nl_link_set_up(struct nl *nl, int ifindex)
{
	if (ifindex <= 0)
		return -EINVAL;
	return nl_talk(nl, nl_build_link_set_up(nl->wbuf, nl_next_seq(nl), ifindex), "link_set_up",
		       NULL, NULL);
}

int nl_link_set_mtu(struct nl *nl, int ifindex, unsigned int mtu)
{
	if (ifindex <= 0 || mtu < 68)
		return -EINVAL;
	return nl_talk(nl, nl_build_link_set_mtu(nl->wbuf, nl_next_seq(nl), ifindex, mtu),
		       "link_set_mtu", NULL, NULL);
}

int nl_addr_add_v4(struct nl *nl, int ifindex, uint32_t addr_be, unsigned int prefixlen)
{
	struct nlmsghdr *nlh;
	int err;

	if (ifindex <= 0 || prefixlen > 32)
		return -EINVAL;
	nlh = nl_build_addr_add_v4(nl->wbuf, nl_next_seq(nl), ifindex, addr_be, prefixlen);
	err = nl_talk(nl, nlh, "addr_add", NULL, NULL);
	return err == -EEXIST ? 0 : err;
}

int nl_route_replace_v4(struct nl *nl, uint32_t dst_be, unsigned int prefixlen,
			uint32_t gw_be, int ifindex)
{
	struct nlmsghdr *nlh;

	if (ifindex <= 0 || prefixlen > 32)
		return -EINVAL;
	nlh = nl_build_route_replace_v4(nl->wbuf, nl_next_seq(nl), dst_be, prefixlen, gw_be,
					ifindex);
	return nl_talk(nl, nlh, "route_replace", NULL, NULL);
}

/*
 * Kernels without CONFIG_DUMMY (or without modules to load it: the test VMs
 * have neither) answer EOPNOTSUPP.  ifb behaves the same for our purpose: a
 * lone device, carrier on when up, that drops whatever is sent out of it; the
 * gateway /32 on it is a local address and nothing is ever routed out of it.
 */
static const char *const nl_dummy_kinds[] = { "dummy", "ifb" };

int nl_dummy_ensure(struct nl *nl, const char *name, uint32_t addr_be)
{
	struct nlmsghdr *nlh;
	int ifindex, err = -EOPNOTSUPP;

	if (!nl_name_ok(name))
		return -EINVAL;
	for (unsigned int i = 0; i < sizeof(nl_dummy_kinds) / sizeof(nl_dummy_kinds[0]); i++) {
		nlh = nl_build_link_create(nl->wbuf, nl_next_seq(nl), name, nl_dummy_kinds[i]);
		err = nl_talk(nl, nlh, "dummy_create", NULL, NULL);
		if (err != -EOPNOTSUPP)
			break;
		log_debug("link kind not available", "kind=%s ifname=%s", nl_dummy_kinds[i],
			  name);
	}
	if (err < 0 && err != -EEXIST)
		return err;
	err = nl_link_get(nl, name, &ifindex, NULL);
	if (err < 0)
		return err;
	err = nl_addr_add_v4(nl, ifindex, addr_be, 32);
	if (err < 0)
		return err;
	return nl_link_set_up(nl, ifindex);
}

/* --- TC: clsact and cls_bpf ---------------------------------------------- */

int nl_clsact_ensure(struct nl *nl, int ifindex)
{
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	err = nl_talk(nl, nl_build_clsact_add(nl->wbuf, nl_next_seq(nl), ifindex), "clsact_add",
		      NULL, NULL);
	return err == -EEXIST ? 0 : err;
}

int nl_tc_bpf_replace(struct nl *nl, int ifindex, uint32_t parent, uint32_t handle,
		      uint16_t prio, int prog_fd, const char *name)
{
	struct nlmsghdr *nlh;

	if (ifindex <= 0 || prog_fd < 0 || !name || strlen(name) >= NL_TC_NAME_MAX)
		return -EINVAL;
	nlh = nl_build_tc_bpf_replace(nl->wbuf, nl_next_seq(nl), ifindex, parent, handle, prio,
				      prog_fd, name);
	return nl_talk(nl, nlh, "tc_bpf_replace", NULL, NULL);
}

static int nl_tc_bpf_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[TCA_MAX + 1], *opts[TCA_BPF_MAX + 1];
	uint32_t *id = data;

	if (nlh->nlmsg_type != RTM_NEWTFILTER ||
	    nl_msg_attrs(nlh, sizeof(struct tcmsg), tb, TCA_MAX) < 0 || !tb[TCA_OPTIONS])
		return MNL_CB_OK;
	nl_nested_attrs(tb[TCA_OPTIONS], opts, TCA_BPF_MAX);
	*id = nl_attr_u32(opts[TCA_BPF_ID]);
	return MNL_CB_OK;
}

int nl_tc_bpf_prog_id(struct nl *nl, int ifindex, uint32_t parent, uint32_t handle,
		      uint16_t prio, uint32_t *ret_id)
{
	uint32_t id = 0;
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	err = nl_talk(nl, nl_build_tc_bpf_get(nl->wbuf, nl_next_seq(nl), ifindex, parent, handle,
					      prio), "tc_bpf_get", nl_tc_bpf_cb, &id);
	/* -ENOENT: no such filter; -EINVAL: the kernel's answer when the link
	 * has no clsact qdisc at all.  Both mean "none". */
	if (err == -ENOENT || err == -EINVAL)
		err = 0;
	if (err == 0)
		*ret_id = id;
	return err;
}

/* --- queries ------------------------------------------------------------ */

struct nl_match {
	int ifindex;
	uint32_t addr_be;	/* address, or route destination */
	unsigned int prefixlen;
	uint32_t gw_be;
	int found;
};

static int nl_addr_match_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFA_MAX + 1];
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct nl_match *m = data;
	const struct nlattr *local;

	if (nlh->nlmsg_type != RTM_NEWADDR || nl_msg_attrs(nlh, sizeof(*ifa), tb, IFA_MAX) < 0)
		return MNL_CB_OK;
	if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != m->ifindex ||
	    ifa->ifa_prefixlen != m->prefixlen)
		return MNL_CB_OK;
	local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (local && mnl_attr_validate(local, MNL_TYPE_U32) == 0 &&
	    mnl_attr_get_u32(local) == m->addr_be)
		m->found = 1;
	return MNL_CB_OK;
}

int nl_addr_has_v4(struct nl *nl, int ifindex, uint32_t addr_be, unsigned int prefixlen)
{
	struct nl_match m = { .ifindex = ifindex, .addr_be = addr_be, .prefixlen = prefixlen };
	int err;

	err = nl_talk(nl, nl_build_addr_dump_v4(nl->wbuf, nl_next_seq(nl)), "addr_dump",
		      nl_addr_match_cb, &m);
	return err < 0 ? err : m.found;
}

static int nl_route_match_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct nl_match *m = data;
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nl_msg_attrs(nlh, sizeof(*rtm), tb, RTA_MAX) < 0)
		return MNL_CB_OK;
	if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len != m->prefixlen)
		return MNL_CB_OK;
	table = tb[RTA_TABLE] ? nl_attr_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (table == RT_TABLE_MAIN && nl_attr_u32(tb[RTA_DST]) == m->addr_be &&
	    nl_attr_u32(tb[RTA_GATEWAY]) == m->gw_be && (int)nl_attr_u32(tb[RTA_OIF]) == m->ifindex)
		m->found = 1;
	return MNL_CB_OK;
}

int nl_route_has_v4(struct nl *nl, uint32_t dst_be, unsigned int prefixlen, uint32_t gw_be,
		    int ifindex)
{
	struct nl_match m = { .ifindex = ifindex, .addr_be = dst_be, .prefixlen = prefixlen,
			      .gw_be = gw_be };
	int err;

	err = nl_talk(nl, nl_build_route_dump_v4(nl->wbuf, nl_next_seq(nl)), "route_dump",
		      nl_route_match_cb, &m);
	return err < 0 ? err : m.found;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * rtnetlink on a plain NETLINK_ROUTE socket: builders (pure, testable) first,
 * then one request/reply routine that every operation goes through, so acks,
 * extended ACK text and errno conversion live in one place.
 *
 * No libmnl: the CNI plugin is linked statically, because it is exec'd for
 * every pod and the dynamic loader was a good part of an ADD, and Debian
 * ships no libmnl.a.  The handful of helpers we used from it are below.
 */
#include "netlink.h"
#include "netlink_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
	int fd;
	uint32_t portid;
	uint32_t seq;
	char rbuf[NL_RECV_BUF_SIZE];
	char wbuf[NL_MSG_BUF_SIZE];
};

/* --- writing messages ----------------------------------------------------
 * Builders start from a zeroed buffer, so padding and every header field
 * not set stays zero. */

static void *nl_tail(struct nlmsghdr *nlh)
{
	return (char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len);
}

static struct nlmsghdr *nl_put_header(char *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

	memset(buf, 0, NL_MSG_BUF_SIZE);
	nlh->nlmsg_len = NLMSG_HDRLEN;
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	return nlh;
}

/* The family header (ifinfomsg, rtmsg, ...) or, in a nest, any fixed struct. */
static void *nl_put_struct(struct nlmsghdr *nlh, size_t len)
{
	void *p = nl_tail(nlh);

	nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLMSG_ALIGN(len);
	return p;
}

static void nl_attr_put(struct nlmsghdr *nlh, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = nl_tail(nlh);

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((char *)a + NLA_HDRLEN, data, len);
	nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void nl_attr_put_u32(struct nlmsghdr *nlh, uint16_t type, uint32_t value)
{
	nl_attr_put(nlh, type, &value, sizeof(value));
}

static void nl_attr_put_strz(struct nlmsghdr *nlh, uint16_t type, const char *s)
{
	nl_attr_put(nlh, type, s, strlen(s) + 1);
}

static struct nlattr *nl_nest_start(struct nlmsghdr *nlh, uint16_t type)
{
	struct nlattr *nest = nl_tail(nlh);

	nest->nla_type = NLA_F_NESTED | type;
	nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_HDRLEN;
	return nest;
}

static void nl_nest_end(struct nlmsghdr *nlh, struct nlattr *nest)
{
	nest->nla_len = (uint16_t)((char *)nl_tail(nlh) - (char *)nest);
}

/* --- reading messages --------------------------------------------------- */

static const void *nl_attr_data(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static size_t nl_attr_len(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

/* A u32 attribute's value; 0 when absent or not four bytes long. */
static uint32_t nl_attr_u32(const struct nlattr *a)
{
	uint32_t v = 0;

	if (a && nl_attr_len(a) == sizeof(v))
		memcpy(&v, nl_attr_data(a), sizeof(v));
	return v;
}

/* A NUL-terminated string attribute, or NULL. */
static const char *nl_attr_str(const struct nlattr *a)
{
	if (!a || !nl_attr_len(a) || ((const char *)nl_attr_data(a))[nl_attr_len(a) - 1])
		return NULL;
	return nl_attr_data(a);
}

/* tb[type] = the attribute of each type up to @max in [data, data + len).  A
 * truncated attribute ends the walk; what came before it stands. */
static void nl_attr_table(const void *data, size_t len, const struct nlattr **tb,
			  unsigned int max)
{
	const char *p = data;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		uint16_t type = a->nla_type & NLA_TYPE_MASK;
		size_t step = NLA_ALIGN(a->nla_len);

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			break;
		if (type <= max)
			tb[type] = a;
		p += step;
		len -= step < len ? step : len;
	}
}

/* The attributes after @nlh's family header of @hdrlen bytes; -EBADMSG if
 * the message cannot even hold that header. */
static int nl_msg_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb,
			unsigned int max)
{
	size_t off = NLMSG_SPACE(hdrlen);

	if (nlh->nlmsg_len < NLMSG_LENGTH(hdrlen))
		return -EBADMSG;
	nl_attr_table((const char *)nlh + off, nlh->nlmsg_len > off ? nlh->nlmsg_len - off : 0,
		      tb, max);
	return 0;
}

/* --- builders ---------------------------------------------------------- */

static struct ifinfomsg *nl_put_ifinfo(struct nlmsghdr *nlh, int ifindex)
{
	struct ifinfomsg *ifi = nl_put_struct(nlh, sizeof(*ifi));

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
	nl_attr_put_strz(nlh, IFLA_IFNAME, host_name);
	nl_attr_put_u32(nlh, IFLA_MTU, mtu);
	linkinfo = nl_nest_start(nlh, IFLA_LINKINFO);
	nl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = nl_nest_start(nlh, IFLA_INFO_DATA);
	/* VETH_INFO_PEER carries a whole ifinfomsg + attributes for the peer:
	 * naming it and placing it in the pod netns here means it never exists
	 * under a temporary name or in the wrong namespace. */
	peer = nl_nest_start(nlh, VETH_INFO_PEER);
	nl_put_ifinfo(nlh, 0);
	nl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
	nl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	nl_attr_put_u32(nlh, IFLA_MTU, mtu);
	nl_nest_end(nlh, peer);
	nl_nest_end(nlh, data);
	nl_nest_end(nlh, linkinfo);
	return nlh;
}

struct nlmsghdr *nl_build_link_create(char *buf, uint32_t seq, const char *name,
				      const char *kind)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWLINK,
					     NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
	struct nlattr *linkinfo;

	nl_put_ifinfo(nlh, 0);
	nl_attr_put_strz(nlh, IFLA_IFNAME, name);
	linkinfo = nl_nest_start(nlh, IFLA_LINKINFO);
	nl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	nl_nest_end(nlh, linkinfo);
	return nlh;
}

struct nlmsghdr *nl_build_link_del(char *buf, uint32_t seq, const char *name)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_DELLINK, NLM_F_ACK, seq);

	nl_put_ifinfo(nlh, 0);
	nl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

struct nlmsghdr *nl_build_link_get(char *buf, uint32_t seq, const char *name)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_GETLINK, NLM_F_ACK, seq);

	nl_put_ifinfo(nlh, 0);
	nl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* Statistics are most of a link reply and we never read them. */
	nl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
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

struct nlmsghdr *nl_build_addr_add_v4(char *buf, uint32_t seq, int ifindex, uint32_t addr_be,
				      unsigned int prefixlen)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWADDR,
					     NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
	struct ifaddrmsg *ifa = nl_put_struct(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	nl_attr_put_u32(nlh, IFA_LOCAL, addr_be);
	nl_attr_put_u32(nlh, IFA_ADDRESS, addr_be);
	return nlh;
}

struct nlmsghdr *nl_build_route_replace_v4(char *buf, uint32_t seq, uint32_t dst_be,
					   unsigned int prefixlen, uint32_t gw_be, int ifindex)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWROUTE,
					     NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
	struct rtmsg *rtm = nl_put_struct(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (uint8_t)prefixlen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = gw_be ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (prefixlen)
		nl_attr_put_u32(nlh, RTA_DST, dst_be);
	if (gw_be)
		nl_attr_put_u32(nlh, RTA_GATEWAY, gw_be);
	nl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	return nlh;
}

struct nlmsghdr *nl_build_addr_dump_v4(char *buf, uint32_t seq)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_GETADDR, NLM_F_DUMP, seq);
	struct ifaddrmsg *ifa = nl_put_struct(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	return nlh;
}

struct nlmsghdr *nl_build_route_dump_v4(char *buf, uint32_t seq)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_GETROUTE, NLM_F_DUMP, seq);
	struct rtmsg *rtm = nl_put_struct(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	return nlh;
}

/* Filters of every protocol at @prio: tcm_info carries both. */
static struct tcmsg *nl_put_tcmsg(struct nlmsghdr *nlh, int ifindex, uint32_t parent,
				  uint32_t handle, uint16_t prio)
{
	struct tcmsg *tcm = nl_put_struct(nlh, sizeof(*tcm));

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
	struct tcmsg *tcm = nl_put_struct(nlh, sizeof(*tcm));

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = TC_H_CLSACT;
	tcm->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
	nl_attr_put_strz(nlh, TCA_KIND, "clsact");
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
	nl_attr_put_strz(nlh, TCA_KIND, "bpf");
	opts = nl_nest_start(nlh, TCA_OPTIONS);
	nl_attr_put_u32(nlh, TCA_BPF_FD, (uint32_t)prog_fd);
	nl_attr_put_strz(nlh, TCA_BPF_NAME, name);
	nl_attr_put_u32(nlh, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
	nl_nest_end(nlh, opts);
	return nlh;
}

struct nlmsghdr *nl_build_tc_bpf_get(char *buf, uint32_t seq, int ifindex, uint32_t parent,
				     uint32_t handle, uint16_t prio)
{
	struct nlmsghdr *nlh = nl_put_header(buf, RTM_GETTFILTER, NLM_F_ACK, seq);

	nl_put_tcmsg(nlh, ifindex, parent, handle, prio);
	nl_attr_put_strz(nlh, TCA_KIND, "bpf");
	return nlh;
}

/* --- socket and request/reply ------------------------------------------ */

int nl_open(struct nl **ret)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t salen = sizeof(sa);
	/* Not calloc(): zeroing the buffers costs a page fault per 4 KiB, and
	 * every byte of them is written before it is read. */
	struct nl *nl = malloc(sizeof(*nl));
	int one = 1, err;

	if (!nl)
		return -ENOMEM;
	nl->seq = 0;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0) {
		err = -errno;
		goto err_free;
	}
	/* The kernel picks our port id; replies must carry it. */
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(nl->fd, (struct sockaddr *)&sa, &salen) < 0) {
		err = -errno;
		goto err_close;
	}
	/* Extended ACK: the kernel explains EINVAL & co in words.  CAP_ACK: it
	 * need not echo our whole request back with every error. */
	(void) setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void) setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = sa.nl_pid;
	*ret = nl;
	return 0;
err_close:
	close(nl->fd);
err_free:
	free(nl);
	return err;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	close(nl->fd);
	free(nl);
}

/* Data messages (RTM_NEW*) of a reply: 0 to go on, or -errno to fail. */
typedef int (*nl_data_cb)(const struct nlmsghdr *nlh, void *data);

/* NLMSG_ERROR: the ack (error 0) or the error, with the extended ACK text
 * that follows it (after our request, unless the kernel capped that). */
static int nl_ack(const struct nlmsghdr *nlh, const char *what)
{
	const struct nlmsgerr *e = NLMSG_DATA(nlh);
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { 0 };
	const char *msg;
	size_t off = sizeof(*e);
	int err;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
		return -EBADMSG;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > NLMSG_HDRLEN)
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	off = NLMSG_LENGTH(NLMSG_ALIGN(off));
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off < nlh->nlmsg_len)
		nl_attr_table((const char *)nlh + off, nlh->nlmsg_len - off, tb, NLMSGERR_ATTR_MAX);
	msg = nl_attr_str(tb[NLMSGERR_ATTR_MSG]);
	err = e->error > 0 ? -e->error : e->error;
	if (err)
		log_debug("netlink request failed", "op=%s err=%s extack=\"%s\"", what,
			  log_errno_name(err), msg ? msg : "");
	else if (msg)
		log_debug("netlink warning", "op=%s extack=\"%s\"", what, msg);
	return err;
}

/* NLMSG_DONE ends a dump; its payload is an int error. */
static int nl_done(const struct nlmsghdr *nlh, const char *what)
{
	int err = 0;

	if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(err)))
		memcpy(&err, NLMSG_DATA(nlh), sizeof(err));
	if (err < 0)
		log_debug("netlink dump failed", "op=%s err=%s", what, log_errno_name(err));
	return err < 0 ? err : 0;
}

/* Send the request @req and read until its ack, error or dump end, passing
 * data messages to @cb (may be NULL). */
static int nl_talk(struct nl *nl, const struct nlmsghdr *req, const char *what, nl_data_cb cb,
		   void *data)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (sendto(nl->fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(nl->fd, nl->rbuf, sizeof(nl->rbuf), MSG_TRUNC);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->rbuf;
		int len = (int)n, err;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if ((size_t)n > sizeof(nl->rbuf))
			return -ENOSPC;	/* truncated: MSG_TRUNC returns the full size */
		for (; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_pid != nl->portid)
				return -ESRCH;
			if (nlh->nlmsg_seq != req->nlmsg_seq)
				return -EPROTO;
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				return -EINTR;	/* the table changed under the dump */
			if (nlh->nlmsg_type == NLMSG_ERROR)
				return nl_ack(nlh, what);
			if (nlh->nlmsg_type == NLMSG_DONE)
				return nl_done(nlh, what);
			if (nlh->nlmsg_type >= NLMSG_MIN_TYPE && cb) {
				err = cb(nlh, data);
				if (err < 0)
					return err;
			}
		}
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
	const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
	struct nl_link_info *li = data;

	if (nlh->nlmsg_type != RTM_NEWLINK || nl_msg_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX) < 0)
		return 0;
	li->ifindex = ifi->ifi_index;
	if (tb[IFLA_ADDRESS] && nl_attr_len(tb[IFLA_ADDRESS]) == sizeof(li->mac)) {
		memcpy(li->mac, nl_attr_data(tb[IFLA_ADDRESS]), sizeof(li->mac));
		li->have_mac = true;
	}
	return 0;
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
		return 0;
	nl_attr_table(nl_attr_data(tb[TCA_OPTIONS]), nl_attr_len(tb[TCA_OPTIONS]), opts,
		      TCA_BPF_MAX);
	*id = nl_attr_u32(opts[TCA_BPF_ID]);
	return 0;
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
	const struct ifaddrmsg *ifa = NLMSG_DATA(nlh);
	struct nl_match *m = data;
	const struct nlattr *local;

	if (nlh->nlmsg_type != RTM_NEWADDR || nl_msg_attrs(nlh, sizeof(*ifa), tb, IFA_MAX) < 0)
		return 0;
	if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != m->ifindex ||
	    ifa->ifa_prefixlen != m->prefixlen)
		return 0;
	local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (local && nl_attr_len(local) == sizeof(uint32_t) && nl_attr_u32(local) == m->addr_be)
		m->found = 1;
	return 0;
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
	const struct rtmsg *rtm = NLMSG_DATA(nlh);
	struct nl_match *m = data;
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nl_msg_attrs(nlh, sizeof(*rtm), tb, RTA_MAX) < 0)
		return 0;
	if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len != m->prefixlen)
		return 0;
	table = tb[RTA_TABLE] ? nl_attr_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (table == RT_TABLE_MAIN && nl_attr_u32(tb[RTA_DST]) == m->addr_be &&
	    nl_attr_u32(tb[RTA_GATEWAY]) == m->gw_be && (int)nl_attr_u32(tb[RTA_OIF]) == m->ifindex)
		m->found = 1;
	return 0;
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

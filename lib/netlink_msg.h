/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtnetlink message builders behind lib/netlink.h, kept apart from sending so
 * unit tests can check the bytes without privileges.  Each builder writes one
 * complete request into @buf (at least NL_MSG_BUF_SIZE bytes), with
 * NLM_F_REQUEST | NLM_F_ACK and sequence number @seq, and returns its header.
 * Callers validate names (interfaces: 1..IFNAMSIZ-1 bytes, TC filters: less
 * than NL_TC_NAME_MAX) before building.
 *
 * Also here: two read-only queries that CNI CHECK needs and that lib/netlink.h
 * does not (yet) offer.
 */
#ifndef PORIN_NETLINK_MSG_H
#define PORIN_NETLINK_MSG_H

#include <stdint.h>

#include <linux/netlink.h>

#include "netlink.h"

#define NL_MSG_BUF_SIZE		1024

/* RTM_NEWLINK, CREATE|EXCL: veth @host_name (MTU @mtu) whose peer
 * @peer_name is born inside @peer_netns_fd with the same MTU. */
struct nlmsghdr *nl_build_veth_create(char *buf, uint32_t seq, const char *host_name,
				      const char *peer_name, int peer_netns_fd,
				      unsigned int mtu);
/* RTM_NEWLINK, CREATE|EXCL: device @name of link kind @kind ("dummy"). */
struct nlmsghdr *nl_build_link_create(char *buf, uint32_t seq, const char *name,
				      const char *kind);
/* RTM_DELLINK by name. */
struct nlmsghdr *nl_build_link_del(char *buf, uint32_t seq, const char *name);
/* RTM_GETLINK by name, statistics skipped. */
struct nlmsghdr *nl_build_link_get(char *buf, uint32_t seq, const char *name);
/* RTM_NEWLINK on @ifindex setting IFF_UP (and changing nothing else). */
struct nlmsghdr *nl_build_link_set_up(char *buf, uint32_t seq, int ifindex);
/* RTM_NEWLINK: set @ifindex's MTU. */
struct nlmsghdr *nl_build_link_set_mtu(char *buf, uint32_t seq, int ifindex, unsigned int mtu);
/* RTM_NEWADDR, CREATE|EXCL: @addr_be/@prefixlen on @ifindex, scope global. */
struct nlmsghdr *nl_build_addr_add_v4(char *buf, uint32_t seq, int ifindex, uint32_t addr_be,
				      unsigned int prefixlen);
/* RTM_NEWROUTE, CREATE|REPLACE, main table, RTPROT_STATIC: @gw_be 0 gives a
 * scope-link route out of @ifindex, otherwise a universe route via @gw_be. */
struct nlmsghdr *nl_build_route_replace_v4(char *buf, uint32_t seq, uint32_t dst_be,
					   unsigned int prefixlen, uint32_t gw_be, int ifindex);
/* RTM_NEWQDISC, CREATE|EXCL: a clsact qdisc on @ifindex. */
struct nlmsghdr *nl_build_clsact_add(char *buf, uint32_t seq, int ifindex);
/* RTM_NEWTFILTER, CREATE|REPLACE: cls_bpf filter @handle, priority @prio, all
 * protocols, on @parent, running @prog_fd in direct-action mode, named @name. */
struct nlmsghdr *nl_build_tc_bpf_replace(char *buf, uint32_t seq, int ifindex, uint32_t parent,
					 uint32_t handle, uint16_t prio, int prog_fd,
					 const char *name);
/* RTM_GETTFILTER of that filter. */
struct nlmsghdr *nl_build_tc_bpf_get(char *buf, uint32_t seq, int ifindex, uint32_t parent,
				     uint32_t handle, uint16_t prio);
/* Dumps (NLM_F_DUMP, no ACK): IPv4 addresses, IPv4 routes. */
struct nlmsghdr *nl_build_addr_dump_v4(char *buf, uint32_t seq);
struct nlmsghdr *nl_build_route_dump_v4(char *buf, uint32_t seq);

/* 1 if @ifindex carries @addr_be/@prefixlen, 0 if not, or -errno. */
int nl_addr_has_v4(struct nl *nl, int ifindex, uint32_t addr_be, unsigned int prefixlen);
/* 1 if the main table holds @dst_be/@prefixlen via @gw_be (0: none) out of
 * @ifindex, 0 if not, or -errno. */
int nl_route_has_v4(struct nl *nl, uint32_t dst_be, unsigned int prefixlen, uint32_t gw_be,
		    int ifindex);

#endif

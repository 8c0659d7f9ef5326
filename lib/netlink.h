/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtnetlink operations porin needs.  One struct nl is one
 * NETLINK_ROUTE socket, bound to the network namespace that was current when
 * nl_open() ran: open one per namespace you work in.
 * Every function returns 0 or -errno (with the kernel's extended-ACK text, if
 * any, logged at debug level).
 */
#ifndef PORIN_NETLINK_H
#define PORIN_NETLINK_H

#include <stdint.h>

struct nl;

int nl_open(struct nl **ret);
void nl_close(struct nl *nl);

/* Create a veth pair: @host_name in the socket's namespace, @peer_name
 * directly inside the namespace @peer_netns_fd (one atomic request), both
 * with @mtu.  -EEXIST if @host_name exists. */
int nl_veth_create(struct nl *nl, const char *host_name, const char *peer_name,
		   int peer_netns_fd, unsigned int mtu);
/* Delete a link by name; 0 when it did not exist (idempotent). */
int nl_link_del(struct nl *nl, const char *name);
/* Look a link up by name: -ENODEV if absent. Either out pointer may be NULL. */
int nl_link_get(struct nl *nl, const char *name, int *ret_ifindex, uint8_t ret_mac[6]);
int nl_link_set_up(struct nl *nl, int ifindex);
int nl_link_set_mtu(struct nl *nl, int ifindex, unsigned int mtu);
/* Add an IPv4 address (network byte order); 0 if it is already there. */
int nl_addr_add_v4(struct nl *nl, int ifindex, uint32_t addr_be, unsigned int prefixlen);
/* Add/replace an IPv4 route: @gw_be 0 means a scope-link route on @ifindex. */
int nl_route_replace_v4(struct nl *nl, uint32_t dst_be, unsigned int prefixlen,
			uint32_t gw_be, int ifindex);
/* Ensure a dummy device @name exists, is up and carries @addr_be/32. */
int nl_dummy_ensure(struct nl *nl, const char *name, uint32_t addr_be);

/* TC.  @parent is a clsact hook: TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS or
 * TC_H_MIN_EGRESS) from <linux/pkt_sched.h>. */
#define NL_TC_NAME_MAX		64
/* Ensure @ifindex has a clsact qdisc; 0 if it had one already. */
int nl_clsact_ensure(struct nl *nl, int ifindex);
/* Attach BPF program @prog_fd as a direct-action cls_bpf filter @handle at
 * priority @prio (every protocol) on @parent, replacing in place the
 * program of such a filter if there is one.  @name is for `tc filter show`. */
int nl_tc_bpf_replace(struct nl *nl, int ifindex, uint32_t parent, uint32_t handle,
		      uint16_t prio, int prog_fd, const char *name);
/* The BPF program id of that filter in *ret_id: 0 when there is no such
 * filter (or no clsact qdisc).  -ENODEV if @ifindex does not exist. */
int nl_tc_bpf_prog_id(struct nl *nl, int ifindex, uint32_t parent, uint32_t handle,
		      uint16_t prio, uint32_t *ret_id);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtnetlink requests multi-node networking needs and lib/netlink.h does not
 * (yet) offer: the external VXLAN device, routes with a preferred source and
 * route deletion.  One short-lived NETLINK_ROUTE socket per call, in the
 * calling thread's network namespace.  All return 0 or -errno.
 * (Candidates for lib/netlink.c once the CNI work there has landed.)
 */
#ifndef PORIN_AGENT_NODE_NL_H
#define PORIN_AGENT_NODE_NL_H

#include <stdint.h>

/* Ensure @name is an external (collect_md) VXLAN device on UDP @port, no
 * learning, NOARP, MTU @mtu, up.  An existing device of another kind or
 * configuration is replaced.  Returns its ifindex in *ret_ifindex. */
int nn_vxlan_ensure(const char *name, uint16_t port, unsigned int mtu, int *ret_ifindex);
/* Delete link @name; 0 if absent. */
int nn_link_del(const char *name);
/* Route @dst/@plen in the main table: via @gw_be (0: none, scope link)
 * out of @ifindex (0: the kernel picks), preferred source @src_be (0: none).
 * Create or replace. */
int nn_route_replace(uint32_t dst_be, unsigned int plen, uint32_t gw_be, int ifindex,
		     uint32_t src_be);
/* Delete the main-table route @dst/@plen; 0 if absent. */
int nn_route_del(uint32_t dst_be, unsigned int plen);

/* Ifindex and MTU of the device carrying local address @ip_be: -ENODEV if
 * no device has it. */
int nn_addr_dev(uint32_t ip_be, int *ret_ifindex, unsigned int *ret_mtu);

/* If rp_filter would be strict on @ifname (max(all, dev) == 1), make it
 * loose (2) on @ifname.  Leaves 0 and 2 alone. */
/* porin is IPv4-only: keep the kernel from sending router solicitations and
 * MLD reports through a device porin owns (they would only be counted
 * drops).  0 when IPv6 is absent. */
int nn_disable_ipv6(const char *ifname);
int nn_rp_filter_loose(const char *ifname);

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Node-wide configuration, as read-only globals the agent sets through the
 * skeleton before load (bpf_lxc__open() → skel->rodata → load).
 *
 * Why rodata and not a config map: both facts are fixed for the life of the
 * loaded programs (the routing mode is a start-up flag; the agent creates
 * PN_VXLAN_DEV before it loads the programs), and every agent start loads
 * fresh programs and re-attaches them (endpoints, the overlay device, the
 * pins the CNI attaches from), so a restart with other values takes effect
 * everywhere at once.  In exchange the verifier sees constants: native mode
 * loads without the tunnel path at all, and the fast path pays no map lookup.
 */
#ifndef PN_LIB_CONFIG_H
#define PN_LIB_CONFIG_H

#include "lib/common.h"

const volatile __u32 pn_cfg_routing = PN_ROUTING_NATIVE;	/* PN_ROUTING_* */
const volatile __u32 pn_cfg_tunnel_ifindex;	/* PN_VXLAN_DEV; 0 = none */

#endif

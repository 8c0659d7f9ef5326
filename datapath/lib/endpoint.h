/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Endpoints (pods) on this node.  The agent writes each endpoint under two
 * keys, its host-side ifindex and its IPv4 address, with the same value.
 */
#ifndef PN_LIB_ENDPOINT_H
#define PN_LIB_ENDPOINT_H

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct pn_endpoint_key);
	__type(value, struct pn_endpoint);
	__uint(max_entries, PN_ENDPOINTS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pn_endpoints SEC(".maps");

/* The pod that owns the host-side veth @ifindex. */
static __always_inline const struct pn_endpoint *endpoint_lookup_ifindex(__u32 ifindex)
{
	struct pn_endpoint_key key = { .kind = PN_EP_KEY_IFINDEX, .value = ifindex };

	return bpf_map_lookup_elem(&pn_endpoints, &key);
}

/* The local pod with address @ip, if @ip is a pod on this node. */
static __always_inline const struct pn_endpoint *endpoint_lookup_ipv4(__be32 ip)
{
	struct pn_endpoint_key key = { .kind = PN_EP_KEY_IPV4, .value = ip };

	return bpf_map_lookup_elem(&pn_endpoints, &key);
}

#endif

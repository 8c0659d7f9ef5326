/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * NetworkPolicy: may a local endpoint have a NEW connection with a peer, in
 * one direction, on one protocol and port?  Only NEW connections ask
 * (lib/conntrack.h passes the rest).
 *
 * Who the peer is, twice over:
 *   pod identity   its pn_endpoint identity if it is a pod on this node, else
 *                  pn_ipcache's (the agent writes local pods, remote pods and
 *                  this node's own addresses, PN_ID_HOST); no entry, or an
 *                  entry without identity: PN_ID_WORLD
 *   CIDR identity  the longest pn_policy_cidrs prefix holding its address
 *                  (ipBlock peers), PN_ID_WORLD if none
 * The connection is allowed iff the endpoint is not isolated in that
 * direction, or it is ingress from the node itself (kubelet probes must
 * reach every pod), or pn_policy allows the endpoint that direction, protocol
 * and port with the pod identity, the CIDR identity or PN_ID_ANY (rules that
 * name no peers).  At most three LPM lookups, whatever the number of policies.
 */
#ifndef PN_LIB_POLICY_H
#define PN_LIB_POLICY_H

#include "lib/common.h"
#include "lib/ipcache.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct pn_policy_key);
	__type(value, struct pn_policy_entry);
	__uint(max_entries, PN_POLICY_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* required for LPM tries */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pn_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct pn_ipcache_key);
	__type(value, __u32);	/* CIDR identity */
	__uint(max_entries, PN_POLICY_CIDRS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pn_policy_cidrs SEC(".maps");

/* 0 means "none yet" (PN_ID_ANY): never let it stand for a peer, where it
 * would read as "any peer". */
static __always_inline __u32 identity_or_world(__u32 id)
{
	return id ? id : PN_ID_WORLD;
}

/* The pod identity of the peer at @addr; @peer_ep if it is a pod here. */
static __always_inline __u32 peer_identity(const struct pn_endpoint *peer_ep, __be32 addr)
{
	const struct pn_ipcache_entry *info;

	if (peer_ep)
		return identity_or_world(peer_ep->identity);
	info = ipcache_lookup(addr);
	return info ? identity_or_world(info->identity) : PN_ID_WORLD;
}

static __always_inline __u32 cidr_identity(__be32 addr)
{
	struct pn_ipcache_key key = { .prefixlen = 32, .ipv4 = addr };
	const __u32 *id;

	id = bpf_map_lookup_elem(&pn_policy_cidrs, &key);
	return id ? identity_or_world(*id) : PN_ID_WORLD;
}

static __always_inline int policy_allows(const struct pn_endpoint *ep, __u32 peer, __u8 dir,
					 __u8 proto, __be16 dport)
{
	struct pn_policy_key key = {
		.prefixlen = PN_POLICY_PLEN_FULL,
		.endpoint_id = ep->endpoint_id,
		.peer_identity = peer,
		.direction = dir,
		.protocol = proto,
		.dport = dport,
	};

	return bpf_map_lookup_elem(&pn_policy, &key) != NULL;
}

/*
 * May endpoint @ep have a NEW connection in direction @dir (PN_DIR_*) with
 * the peer at @peer_addr (@peer_ep if that is a pod on this node), on @proto
 * and @dport (network order; 0 for protocols without ports)?
 * 0, -PN_DROP_IDENTITY_PENDING (the agent does not know yet who @ep is) or
 * -PN_DROP_POLICY_DENIED.  The cheap answers come first: an unpoliced
 * endpoint costs one flag test.
 */
static __always_inline int policy_check(const struct pn_endpoint *ep, __u8 dir,
					const struct pn_endpoint *peer_ep, __be32 peer_addr,
					__u8 proto, __be16 dport)
{
	__u32 isolated = dir == PN_DIR_INGRESS ? PN_EP_F_POLICY_INGRESS : PN_EP_F_POLICY_EGRESS;
	__u32 peer, cidr;

	if (ep->flags & PN_EP_F_IDENTITY_PENDING)
		return -PN_DROP_IDENTITY_PENDING;
	if (!(ep->flags & isolated))
		return 0;
	peer = peer_identity(peer_ep, peer_addr);
	if (dir == PN_DIR_INGRESS && peer == PN_ID_HOST)
		return 0;
	if (policy_allows(ep, peer, dir, proto, dport) ||
	    policy_allows(ep, PN_ID_ANY, dir, proto, dport))
		return 0;
	/* Last: the CIDR lookup is only needed when the others missed. */
	cidr = cidr_identity(peer_addr);
	if (cidr != peer && policy_allows(ep, cidr, dir, proto, dport))
		return 0;
	return -PN_DROP_POLICY_DENIED;
}

#endif

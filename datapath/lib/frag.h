/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPv4 fragments.  Only the first fragment of a datagram carries the L4
 * header; the later ones carry the same (addresses, IP id, protocol) and no
 * ports.  No defragmentation happens before TC, so each fragment is judged
 * on its own: the first like any packet, and when it passes its ports are
 * remembered here, keyed by what the later ones share, so they are judged as
 * the same flow (conntrack then knows it).  Entries are never deleted: the
 * last fragment may overtake a middle one, and the LRU recycles them; a
 * datagram reusing the id overwrites its predecessor's entry with its own
 * first fragment.
 */
#ifndef PN_LIB_FRAG_H
#define PN_LIB_FRAG_H

#include <linux/ip.h>

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct pn_frag_key);
	__type(value, struct pn_frag_ports);
	__uint(max_entries, PN_FRAGS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pn_frags SEC(".maps");

#define IP_F_MF		0x2000	/* more fragments */
#define IP_F_OFFSET	0x1fff	/* fragment offset, in 8-byte units */

#define FRAG_NONE	0	/* a whole datagram */
#define FRAG_FIRST	1	/* offset 0 with MF: has the L4 header */
#define FRAG_LATER	2	/* offset != 0: no L4 header */

static __always_inline int frag_kind(const struct iphdr *ip)
{
	if (!(ip->frag_off & bpf_htons(IP_F_MF | IP_F_OFFSET)))
		return FRAG_NONE;
	return ip->frag_off & bpf_htons(IP_F_OFFSET) ? FRAG_LATER : FRAG_FIRST;
}

static __always_inline void frag_key(struct pn_frag_key *key, const struct iphdr *ip)
{
	__builtin_memset(key, 0, sizeof(*key));	/* hash keys compare the pad byte */
	key->saddr = ip->saddr;
	key->daddr = ip->daddr;
	key->id = ip->id;
	key->protocol = ip->protocol;
}

/* The ports of the datagram a later fragment belongs to, if its first
 * fragment passed here. */
static __always_inline const struct pn_frag_ports *frag_lookup(const struct iphdr *ip)
{
	struct pn_frag_key key;

	frag_key(&key, ip);
	return bpf_map_lookup_elem(&pn_frags, &key);
}

/* A first fragment passed: remember its ports for the rest.  Best effort: if
 * the update fails, the later fragments are judged without ports. */
static __always_inline void frag_record(const struct iphdr *ip, __be16 sport, __be16 dport)
{
	struct pn_frag_ports ports = { .sport = sport, .dport = dport };
	struct pn_frag_key key;

	frag_key(&key, ip);
	bpf_map_update_elem(&pn_frags, &key, &ports, BPF_ANY);
}

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IP → identity and location, longest prefix wins.  The agent writes local
 * pods (/32, PN_IPC_F_LOCAL), other nodes' pod CIDRs and remote pods (with
 * the node IP hosting them as tunnel_endpoint).
 */
#ifndef PN_LIB_IPCACHE_H
#define PN_LIB_IPCACHE_H

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct pn_ipcache_key);
	__type(value, struct pn_ipcache_entry);
	__uint(max_entries, PN_IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* required for LPM tries */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pn_ipcache SEC(".maps");

static __always_inline const struct pn_ipcache_entry *ipcache_lookup(__be32 ip)
{
	struct pn_ipcache_key key = { .prefixlen = 32, .ipv4 = ip };

	return bpf_map_lookup_elem(&pn_ipcache, &key);
}

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IP → identity and location, longest prefix wins.  The agent fills it; no
 * program looks it up yet (policy and remote delivery will), but it is
 * defined here so that it is part of the bpf_lxc skeleton and gets pinned.
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

#endif

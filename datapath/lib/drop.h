/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Drop accounting: every drop of every program ends in pn_drop(), which
 * counts it by (reason, direction) and returns TC_ACT_SHOT.  One place, so a
 * drop can never go uncounted.
 */
#ifndef PN_LIB_DROP_H
#define PN_LIB_DROP_H

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct pn_drop_counter);
	__uint(max_entries, PN_DROP_COUNTERS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pn_drops SEC(".maps");

/* @reason is a positive PN_DROP_*, @dir a PN_DIR_*. */
static __always_inline int pn_drop(struct __sk_buff *ctx, __u32 reason, __u32 dir)
{
	__u32 idx = pn_drop_index(reason, dir);
	struct pn_drop_counter *c;

	/* Per-CPU slot: plain increments, no atomics.  The array bounds-checks
	 * idx, so an out-of-range reason is dropped uncounted, never a crash. */
	c = bpf_map_lookup_elem(&pn_drops, &idx);
	if (c) {
		c->packets++;
		c->bytes += ctx->len;
	}
	return TC_ACT_SHOT;
}

#endif

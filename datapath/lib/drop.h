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

/*
 * An entry point counts its drops in its own direction; inner code that knows
 * better (the ingress check of a local destination, inside from_container)
 * tags the reason with the direction: return drop_dir(-PN_DROP_*, PN_DIR_*).
 * The tag lives above the reason's bits and never reaches the counters.
 */
#define DROP_F_DIR		(1U << 16)	/* a direction follows */
#define DROP_DIR_SHIFT		17
#define DROP_REASON_MASK	0xffffU

static __always_inline int drop_dir(int ret, __u32 dir)
{
	return -(int)((__u32)-ret | DROP_F_DIR | dir << DROP_DIR_SHIFT);
}

/* @reason is a positive PN_DROP_* (perhaps tagged by drop_dir()), @dir a
 * PN_DIR_*. */
static __always_inline int pn_drop(struct __sk_buff *ctx, __u32 reason, __u32 dir)
{
	struct pn_drop_counter *c;
	__u32 idx;

	if (reason & DROP_F_DIR) {
		dir = (reason >> DROP_DIR_SHIFT) & 1;
		reason &= DROP_REASON_MASK;
	}
	idx = pn_drop_index(reason, dir);

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

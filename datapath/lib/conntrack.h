/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking: one pn_ct entry per flow per node, keyed by the tuple
 * of its first packet, written once that packet passed every policy this
 * node enforces for it (abi.h).  Every new flow gets one, policed or not, so
 * a policy applied later does not cut flows it still allows and the replies
 * of flows from unpoliced pods are known.
 *
 * Time is bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC at tick resolution (a
 * few ms), the same clock as bpf_ktime_get_ns() without reading the clock
 * source on every packet; lifetimes are seconds to hours.  User space
 * compares last_seen_ns against clock_gettime(CLOCK_MONOTONIC).
 */
#ifndef PN_LIB_CONNTRACK_H
#define PN_LIB_CONNTRACK_H

#include <linux/in.h>
#include <linux/ip.h>

#include "lib/common.h"
#include "lib/frag.h"
#include "lib/l4.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct pn_ct_key);
	__type(value, struct pn_ct_entry);
	__uint(max_entries, PN_CT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pn_ct SEC(".maps");

#define CT_NEW		0
#define CT_ESTABLISHED	1	/* the packet's own tuple is known */
#define CT_REPLY	2	/* its reversed tuple is */

/*
 * last_seen_ns is rewritten at most once a second per entry, not per packet:
 * the two directions of a busy flow run on different CPUs, and a store per
 * packet would bounce the entry's cache line between them.  Lifetimes are 10 s
 * and up, so an entry may expire up to a second early; nothing else cares.
 */
#define CT_REFRESH_NS	1000000000ULL

static __always_inline __u64 ct_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

static __always_inline void ct_reverse(struct pn_ct_key *rev, const struct pn_ct_key *t)
{
	__builtin_memset(rev, 0, sizeof(*rev));
	rev->saddr = t->daddr;
	rev->daddr = t->saddr;
	rev->sport = t->dport;
	rev->dport = t->sport;
	rev->protocol = t->protocol;
}

/* An entry idle longer than its lifetime counts as absent.  Signed: an entry
 * user space stamped a little ahead of the coarse clock is not ancient. */
static __always_inline int ct_alive(const struct pn_ct_entry *e, __u8 proto, __u64 now)
{
	__u64 life = e->flags & PN_CT_F_CLOSING ? PN_CT_LIFETIME_CLOSING_NS :
			proto == IPPROTO_TCP	 ? PN_CT_LIFETIME_TCP_NS :
						   PN_CT_LIFETIME_OTHER_NS;

	return (__s64)(now - e->last_seen_ns) <= (__s64)life;
}

/* A bare SYN on a closing connection's tuple opens a new connection (a port
 * reused within the closing lifetime): judge it as NEW rather than let it
 * ride on the old one's verdict. */
static __always_inline int ct_reopened(const struct pn_ct_entry *e, __u8 tcp_flags)
{
	return (e->flags & PN_CT_F_CLOSING) &&
	       (tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN;
}

/* Flags and timestamp of a known flow.  Plain stores, written only on change:
 * two CPUs may race and one bit set be lost for a packet; the next packet
 * sets it again. */
static __always_inline void ct_touch(struct pn_ct_entry *e, __u8 tcp_flags, __u32 set, __u64 now)
{
	__u32 flags = e->flags | set;

	if (tcp_flags & (TCP_F_FIN | TCP_F_RST))
		flags |= PN_CT_F_CLOSING;
	if (flags != e->flags)
		e->flags = flags;
	if ((__s64)(now - e->last_seen_ns) >= (__s64)CT_REFRESH_NS)
		e->last_seen_ns = now;
}

/* CT_ESTABLISHED, CT_REPLY or CT_NEW for a packet with tuple @t.  One lookup
 * for the original direction, two for replies. */
static __always_inline int ct_lookup(const struct pn_ct_key *t, __u8 tcp_flags, __u64 now)
{
	struct pn_ct_entry *e;
	struct pn_ct_key rev;

	e = bpf_map_lookup_elem(&pn_ct, t);
	if (e && ct_alive(e, t->protocol, now) && !ct_reopened(e, tcp_flags)) {
		ct_touch(e, tcp_flags, 0, now);
		return CT_ESTABLISHED;
	}
	ct_reverse(&rev, t);
	e = bpf_map_lookup_elem(&pn_ct, &rev);
	if (e && ct_alive(e, t->protocol, now) && !ct_reopened(e, tcp_flags)) {
		ct_touch(e, tcp_flags, PN_CT_F_SEEN_REPLY, now);
		return CT_REPLY;
	}
	return CT_NEW;
}

/* A NEW flow passed: remember it (replacing an expired entry of the tuple).
 * A flow that starts with FIN or RST is closing already.  Best effort: if the
 * update fails, the next packet is judged as NEW again. */
static __always_inline void ct_create(const struct pn_ct_key *t, __u8 tcp_flags, __u64 now)
{
	struct pn_ct_entry e = {
		.last_seen_ns = now,
		.flags = tcp_flags & (TCP_F_FIN | TCP_F_RST) ? PN_CT_F_CLOSING : 0,
	};

	bpf_map_update_elem(&pn_ct, t, &e, BPF_ANY);
}

/* Is there a live entry for @t in either direction?  Read only. */
static __always_inline int ct_known(const struct pn_ct_key *t, __u64 now)
{
	const struct pn_ct_entry *e;
	struct pn_ct_key rev;

	e = bpf_map_lookup_elem(&pn_ct, t);
	if (e && ct_alive(e, t->protocol, now))
		return 1;
	ct_reverse(&rev, t);
	e = bpf_map_lookup_elem(&pn_ct, &rev);
	return e && ct_alive(e, t->protocol, now);
}

/*
 * An ICMP error (destination unreachable, among them path MTU discovery's
 * "fragmentation needed"; time exceeded; parameter problem) belongs to the
 * flow of the packet it quotes (RFC 792: its IPv4 header and at least 8 bytes
 * of data).  It passes when that flow is known, in either direction, without
 * a policy lookup and without becoming a flow of its own: policy judges
 * connections, and these are part of one.  The quoted packet was sent by the
 * error's receiver, so its source must be the error's destination.
 */
static __always_inline int ct_icmp_related(struct __sk_buff *ctx, const struct iphdr *ip,
					   __u64 now)
{
	__u32 off = l4_offset(ip) + L4_MIN_ICMP;
	struct pn_ct_key t = {};
	struct iphdr inner;
	__u8 b[6];

	if (l4_len(ip) < L4_MIN_ICMP + sizeof(inner) + 8 ||
	    bpf_skb_load_bytes(ctx, off, &inner, sizeof(inner)) < 0)
		return 0;
	/* The quote must reach 8 bytes past the quoted header; a quoted
	 * later fragment has no ports to match. */
	if (inner.version != 4 || inner.ihl < 5 || inner.saddr != ip->daddr ||
	    l4_len(ip) < L4_MIN_ICMP + inner.ihl * 4 + 8 || frag_kind(&inner) == FRAG_LATER)
		return 0;
	t.saddr = inner.saddr;
	t.daddr = inner.daddr;
	t.protocol = inner.protocol;
	off += inner.ihl * 4;
	if (l4_has_ports(inner.protocol)) {
		if (bpf_skb_load_bytes(ctx, off, b, 4) < 0)
			return 0;
		__builtin_memcpy(&t.sport, b, 4);
	} else if (inner.protocol == IPPROTO_ICMP) {
		if (bpf_skb_load_bytes(ctx, off, b, 6) < 0)
			return 0;
		if (b[0] == ICMP_ECHO)
			__builtin_memcpy(&t.sport, &b[4], 2);
		else if (b[0] == ICMP_ECHOREPLY)
			__builtin_memcpy(&t.dport, &b[4], 2);
	}
	return ct_known(&t, now);
}

#endif

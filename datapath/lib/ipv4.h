/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef PN_LIB_IPV4_H
#define PN_LIB_IPV4_H

#include <linux/if_ether.h>
#include <linux/ip.h>

#include "lib/common.h"

/*
 * Point *eth and *ip at a validated IPv4 header: version 4, ihl >= 5, and a
 * total length that covers the header and fits in the frame (trailing
 * Ethernet padding is fine).  Only the fixed 20 bytes are made directly
 * accessible; options are never read.
 */
static __always_inline int ipv4_parse(struct __sk_buff *ctx, struct ethhdr **eth,
				      struct iphdr **ip)
{
	void *data, *data_end;
	__u32 tot_len;

	if (pn_pull(ctx, &data, &data_end, ETH_HLEN + sizeof(struct iphdr)) < 0)
		return -PN_DROP_INVALID_PACKET;
	*eth = data;
	*ip = data + ETH_HLEN;
	if ((*ip)->version != 4 || (*ip)->ihl < 5)
		return -PN_DROP_INVALID_PACKET;
	tot_len = bpf_ntohs((*ip)->tot_len);
	if (tot_len < (*ip)->ihl * 4U || ETH_HLEN + tot_len > ctx->len)
		return -PN_DROP_INVALID_PACKET;
	return 0;
}

/*
 * Decrement the TTL as a router must, fixing the header checksum
 * incrementally.  The checksum covers TTL as the high byte of the 16-bit
 * word (ttl << 8 | protocol); the protocol byte is the same in both words and
 * cancels out, so passing just the TTL halves is exact.
 * Invalidates all packet pointers (bpf_l3_csum_replace may move the data):
 * callers must not touch the packet through old pointers afterwards.
 */
static __always_inline int ipv4_dec_ttl(struct __sk_buff *ctx, struct iphdr *ip)
{
	__u8 ttl = ip->ttl;

	ip->ttl = ttl - 1;
	if (bpf_l3_csum_replace(ctx, ETH_HLEN + __builtin_offsetof(struct iphdr, check),
				bpf_htons(ttl << 8), bpf_htons((__u8)(ttl - 1) << 8), 2) < 0)
		return -PN_DROP_CSUM_FAILED;
	return 0;
}

#endif

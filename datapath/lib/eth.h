/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef PN_LIB_ETH_H
#define PN_LIB_ETH_H

#include <linux/if_ether.h>

#include "lib/common.h"

/* The EtherType in the frame itself (rather than skb->protocol, which only
 * reflects what the stack guessed on the way in).  Network byte order. */
static __always_inline int eth_proto(struct __sk_buff *ctx, __be16 *proto)
{
	void *data, *data_end;
	struct ethhdr *eth;

	if (pn_pull(ctx, &data, &data_end, ETH_HLEN) < 0)
		return -PN_DROP_INVALID_PACKET;
	eth = data;
	*proto = eth->h_proto;
	return 0;
}

static __always_inline void eth_set_macs(struct ethhdr *eth, const __u8 *src, const __u8 *dst)
{
	__builtin_memcpy(eth->h_source, src, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
}

#endif

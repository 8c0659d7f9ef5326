/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * VXLAN encapsulation through the external (collect_md) device PN_VXLAN_DEV:
 * the program attaches the outer header's parameters to the skb as tunnel
 * metadata and the device's xmit builds the outer IPv4/UDP/VXLAN headers.
 */
#ifndef PN_LIB_TUNNEL_H
#define PN_LIB_TUNNEL_H

#include "lib/common.h"
#include "lib/config.h"

/* Tunnel metadata towards node @remote_be.  The outer UDP checksum is left
 * zero (RFC 7348 allows it over IPv4; the inner packet carries its own). */
static __always_inline int tunnel_set_key(struct __sk_buff *ctx, __be32 remote_be)
{
	struct bpf_tunnel_key key = {
		.remote_ipv4 = bpf_ntohl(remote_be),	/* the helper wants host order */
		.tunnel_id = PN_VXLAN_VNI,
		.tunnel_ttl = PN_VXLAN_TTL,
	};

	if (bpf_skb_set_tunnel_key(ctx, &key, sizeof(key), BPF_F_ZERO_CSUM_TX) < 0)
		return -PN_DROP_TUNNEL_KEY_FAILED;
	return 0;
}

/* Send the frame to node @remote_be: metadata, then out of the VXLAN device.
 * The inner Ethernet header stays as the pod sent it; the receiving node's
 * from_overlay rewrites it for the destination pod. */
static __always_inline int tunnel_redirect(struct __sk_buff *ctx, __be32 remote_be)
{
	int ret;

	if (!pn_cfg_tunnel_ifindex)
		return -PN_DROP_NO_TUNNEL_DEV;
	ret = tunnel_set_key(ctx, remote_be);
	if (ret < 0)
		return ret;
	if (bpf_redirect(pn_cfg_tunnel_ifindex, 0) != TC_ACT_REDIRECT)
		return -PN_DROP_REDIRECT_FAILED;
	return TC_ACT_REDIRECT;
}

#endif

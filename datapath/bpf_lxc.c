// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Programs on the host-side veth of every pod, shared by all endpoints:
 *   from_container  clsact ingress: packets the pod sends
 *   to_container    clsact egress:  packets the host stack sends to the pod
 * Per-pod facts come from pn_endpoints; nothing here is per-pod compiled.
 *
 * Inner functions return a TC_ACT_* verdict (>= 0) or -PN_DROP_* (< 0); the
 * entry points turn the latter into a counted drop at their single exit.
 */
#include "lib/common.h"
#include "lib/arp.h"
#include "lib/drop.h"
#include "lib/endpoint.h"
#include "lib/eth.h"
#include "lib/ipcache.h"
#include "lib/ipv4.h"

/* An IPv4 packet from pod @ep: pod-to-pod on this node is switched here,
 * everything else goes to the host stack to be routed. */
static __always_inline int lxc_ipv4_egress(struct __sk_buff *ctx, const struct pn_endpoint *ep)
{
	const struct pn_endpoint *dst;
	struct ethhdr *eth;
	struct iphdr *ip;
	int ret;

	ret = ipv4_parse(ctx, &eth, &ip);
	if (ret < 0)
		return ret;
	if (ip->saddr != ep->ipv4)
		return -PN_DROP_SPOOFED_SOURCE;

	dst = endpoint_lookup_ipv4(ip->daddr);
	if (!dst)
		return TC_ACT_OK;
	/* Expiring: the stack sends the ICMP time exceeded we would not. */
	if (ip->ttl <= 1)
		return TC_ACT_OK;

	/* We route: a hop from the pod's gateway (dst's host veth) to dst. */
	eth_set_macs(eth, dst->host_mac, dst->pod_mac);
	ret = ipv4_dec_ttl(ctx, ip);	/* last packet access: pointers are stale after it */
	if (ret < 0)
		return ret;

	/* Straight into the peer (dst's eth0, in its netns), skipping the host
	 * stack and the backlog queue.  Valid from clsact ingress only. */
	if (bpf_redirect_peer(dst->ifindex, 0) != TC_ACT_REDIRECT)
		return -PN_DROP_REDIRECT_FAILED;
	return TC_ACT_REDIRECT;
}

static __always_inline int lxc_egress(struct __sk_buff *ctx, const struct pn_endpoint *ep)
{
	__be16 proto;
	int ret;

	ret = eth_proto(ctx, &proto);
	if (ret < 0)
		return ret;
	switch (proto) {
	case bpf_htons(ETH_P_IP):
		return lxc_ipv4_egress(ctx, ep);
	case bpf_htons(ETH_P_ARP):
		return arp_from_pod(ctx, ep);
	default:
		return -PN_DROP_UNSUPPORTED_L3;	/* porin is IPv4-only */
	}
}

SEC("tc")
int from_container(struct __sk_buff *ctx)
{
	const struct pn_endpoint *ep;
	int ret;

	ep = endpoint_lookup_ifindex(ctx->ifindex);
	if (!ep) {
		ret = -PN_DROP_NO_ENDPOINT;
		goto out;
	}
	ret = lxc_egress(ctx, ep);
out:
	if (ret < 0)
		return pn_drop(ctx, -ret, PN_DIR_EGRESS);
	return ret;
}

SEC("tc")
int to_container(struct __sk_buff *ctx)
{
	__be16 proto;
	int ret;

	/* Not ours (yet, or any more): never break a link we do not know. */
	if (!endpoint_lookup_ifindex(ctx->ifindex))
		return TC_ACT_OK;

	ret = eth_proto(ctx, &proto);
	if (ret < 0)
		goto out;
	if (proto == bpf_htons(ETH_P_IP) || proto == bpf_htons(ETH_P_ARP))
		ret = TC_ACT_OK;	/* ingress policy goes here */
	else
		ret = -PN_DROP_UNSUPPORTED_L3;
out:
	if (ret < 0)
		return pn_drop(ctx, -ret, PN_DIR_INGRESS);
	return ret;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

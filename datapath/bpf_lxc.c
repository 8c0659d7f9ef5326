// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Programs on the host-side veth of every pod, shared by all endpoints:
 *   from_container  clsact ingress: packets the pod sends
 *   to_container    clsact egress:  packets the host stack sends to the pod
 * and, on the node's VXLAN device (VXLAN routing mode):
 *   from_overlay    clsact ingress: decapsulated packets from other nodes
 *   to_overlay      clsact egress:  packets the host stack routes into the
 *                   tunnel (node to remote pod, ICMP errors): metadata only
 * Per-pod facts come from pn_endpoints; nothing here is per-pod compiled.
 * The overlay programs live in this object rather than a bpf_overlay.c of
 * their own because they share the local-delivery code, the maps and the
 * rodata configuration: one skeleton, one load, one set of pins.
 *
 * Inner functions return a TC_ACT_* verdict (>= 0) or -PN_DROP_* (< 0); the
 * entry points turn the latter into a counted drop at their single exit.
 *
 * NetworkPolicy: egress is enforced on the source's node, ingress on the
 * destination's, both statefully.  Every IPv4 packet for or from a pod goes
 * through lxc_conntrack(); a packet of a known flow (or a reply to one) costs
 * one or two conntrack lookups, and only a NEW flow is judged by policy:
 *   from_container  the source pod's egress and, when the destination is a
 *                   pod on this node, the destination's ingress
 *   to_container    the destination pod's ingress (traffic from the node
 *                   itself, native routing from other nodes, the world)
 *   from_overlay    the destination pod's ingress
 *   to_overlay      nothing: the node's own egress is not policed
 * Non-IPv4 never bypasses it: pods and the programs speak IPv4 and ARP only
 * and everything else is dropped (unsupported-l3, overlay-not-ipv4).
 */
#include <linux/if_packet.h>

#include "lib/common.h"
#include "lib/arp.h"
#include "lib/config.h"
#include "lib/conntrack.h"
#include "lib/drop.h"
#include "lib/endpoint.h"
#include "lib/eth.h"
#include "lib/flow.h"
#include "lib/frag.h"
#include "lib/ipcache.h"
#include "lib/ipv4.h"
#include "lib/policy.h"
#include "lib/tunnel.h"

/*
 * The checks this node owes a NEW flow from @src to @dst (each a pod on this
 * node, or NULL): @src's egress, then @dst's ingress.  A denial becomes
 * @denied (policy-denied, or fragment-unknown-flow for a fragment judged
 * without ports) and carries the direction of the check that failed, whatever
 * program ran it.
 */
static __always_inline int lxc_policy(const struct flow *f, const struct pn_endpoint *src,
				      const struct pn_endpoint *dst, int denied)
{
	__be16 dport = flow_policy_dport(f);
	__u8 proto = f->tuple.protocol;
	int ret;

	if (src) {
		ret = policy_check(src, PN_DIR_EGRESS, dst, f->tuple.daddr, proto, dport);
		if (ret == -PN_DROP_POLICY_DENIED)
			ret = denied;
		if (ret < 0)
			return drop_dir(ret, PN_DIR_EGRESS);
	}
	if (dst) {
		ret = policy_check(dst, PN_DIR_INGRESS, src, f->tuple.saddr, proto, dport);
		if (ret == -PN_DROP_POLICY_DENIED)
			ret = denied;
		if (ret < 0)
			return drop_dir(ret, PN_DIR_INGRESS);
	}
	return 0;
}

/* A flow conntrack does not know.  ICMP errors of known flows pass as part
 * of them; other ICMP errors are judged but never become flows (they start
 * nothing a reply could belong to).  Anything else that policy allows becomes
 * a conntrack entry. */
static __always_inline int lxc_new_flow(struct __sk_buff *ctx, const struct iphdr *ip,
					const struct flow *f, const struct pn_endpoint *src,
					const struct pn_endpoint *dst, __u64 now)
{
	int ret;

	if (f->tuple.protocol == IPPROTO_ICMP && l4_icmp_is_error(f->l4.icmp_type)) {
		if (ct_icmp_related(ctx, ip, now))
			return 0;
		return lxc_policy(f, src, dst, -PN_DROP_POLICY_DENIED);
	}
	ret = lxc_policy(f, src, dst, -PN_DROP_POLICY_DENIED);
	if (ret < 0)
		return ret;
	ct_create(&f->tuple, f->l4.tcp_flags, now);
	return 0;
}

/*
 * Conntrack and policy for the IPv4 packet @ip from @src to @dst (pods on
 * this node, or NULL).  0: forward it.  Does not touch the packet, so the
 * caller's packet pointers stay valid.
 *
 * A later fragment whose first fragment never passed here has no ports:
 * conntrack cannot place it, so it is judged by policy with port 0, which
 * only rules needing no port allow (flow_policy_dport()), and it never
 * creates an entry.  A first fragment that passes, by conntrack or policy,
 * leaves its ports for the rest of its datagram (lib/frag.h).
 */
static __always_inline int lxc_conntrack(struct __sk_buff *ctx, const struct iphdr *ip,
					 const struct pn_endpoint *src,
					 const struct pn_endpoint *dst)
{
	struct flow f;
	__u64 now;
	int ret;

	ret = flow_parse(ctx, ip, &f);
	if (ret < 0)
		return ret;
	if (f.no_ports)
		return lxc_policy(&f, src, dst, -PN_DROP_FRAGMENT_UNKNOWN);

	now = ct_now();
	if (ct_lookup(&f.tuple, f.l4.tcp_flags, now) == CT_NEW) {
		ret = lxc_new_flow(ctx, ip, &f, src, dst, now);
		if (ret < 0)
			return ret;
	}
	if (f.frag == FRAG_FIRST)
		frag_record(ip, f.tuple.sport, f.tuple.dport);
	return 0;
}

/*
 * Deliver an IPv4 packet to local pod @dst, as one routed hop: from dst's
 * gateway (its host veth) to dst, TTL - 1, straight into dst's netns.  Used
 * by pod-to-pod on this node and by packets from other nodes.
 */
static __always_inline int local_deliver(struct __sk_buff *ctx, struct ethhdr *eth,
					 struct iphdr *ip, const struct pn_endpoint *dst)
{
	int ret;

	/* Expiring: the stack sends the ICMP time exceeded we would not. */
	if (ip->ttl <= 1)
		return TC_ACT_OK;
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

/* A destination that is not a pod on this node: through the tunnel when
 * the ipcache places it on another node and we run VXLAN; otherwise the
 * host stack routes it (native routing, the node itself, the outside). */
static __always_inline int lxc_ipv4_remote(struct __sk_buff *ctx, __be32 daddr)
{
	const struct pn_ipcache_entry *info;

	if (pn_cfg_routing != PN_ROUTING_VXLAN)
		return TC_ACT_OK;
	info = ipcache_lookup(daddr);
	if (!info || !info->tunnel_endpoint || (info->flags & PN_IPC_F_LOCAL))
		return TC_ACT_OK;
	return tunnel_redirect(ctx, info->tunnel_endpoint);
}

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
	ret = lxc_conntrack(ctx, ip, ep, dst);
	if (ret < 0)
		return ret;
	if (!dst)
		return lxc_ipv4_remote(ctx, ip->daddr);
	return local_deliver(ctx, eth, ip, dst);
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

/* An IPv4 packet the host stack sends to pod @ep: from the node itself, from
 * another node (native routing), from the world (replies, un-masqueraded).
 * Only @ep's ingress is ours to judge: a sender on another node had its egress
 * judged there, and a pod of this node in from_container (which judged @ep's
 * ingress too, so the flow is known here). */
static __always_inline int lxc_ipv4_ingress(struct __sk_buff *ctx, const struct pn_endpoint *ep)
{
	struct ethhdr *eth;
	struct iphdr *ip;
	int ret;

	ret = ipv4_parse(ctx, &eth, &ip);
	if (ret < 0)
		return ret;
	ret = lxc_conntrack(ctx, ip, NULL, ep);
	if (ret < 0)
		return ret;
	return TC_ACT_OK;
}

SEC("tc")
int to_container(struct __sk_buff *ctx)
{
	const struct pn_endpoint *ep;
	__be16 proto;
	int ret;

	/* Not ours (yet, or any more): never break a link we do not know. */
	ep = endpoint_lookup_ifindex(ctx->ifindex);
	if (!ep)
		return TC_ACT_OK;

	ret = eth_proto(ctx, &proto);
	if (ret < 0)
		goto out;
	if (proto == bpf_htons(ETH_P_IP))
		ret = lxc_ipv4_ingress(ctx, ep);
	else if (proto == bpf_htons(ETH_P_ARP))
		ret = TC_ACT_OK;
	else
		ret = -PN_DROP_UNSUPPORTED_L3;	/* nothing but IPv4 reaches a pod unjudged */
out:
	if (ret < 0)
		return pn_drop(ctx, -ret, PN_DIR_INGRESS);
	return ret;
}

/* The IPv4 packet inside the tunnel, both ways: porin tunnels nothing else. */
static __always_inline int overlay_ipv4_parse(struct __sk_buff *ctx, struct ethhdr **eth,
					      struct iphdr **ip)
{
	__be16 proto;
	int ret;

	ret = eth_proto(ctx, &proto);
	if (ret < 0)
		return ret;
	if (proto != bpf_htons(ETH_P_IP))
		return -PN_DROP_OVERLAY_NOT_IPV4;
	return ipv4_parse(ctx, eth, ip);
}

/*
 * A packet another node sent through the tunnel, decapsulated.  A local pod
 * gets it straight into its netns; anything else (this node's gateway
 * address, a pod that is gone) goes to the stack.  The inner destination MAC
 * is the sender's idea (a pod's gateway MAC, or the remote VXLAN device's),
 * never ours, so the stack would discard the frame as PACKET_OTHERHOST:
 * mark it for this host first.
 */
SEC("tc")
int from_overlay(struct __sk_buff *ctx)
{
	const struct pn_endpoint *dst;
	struct ethhdr *eth;
	struct iphdr *ip;
	int ret;

	ret = overlay_ipv4_parse(ctx, &eth, &ip);
	if (ret < 0)
		goto out;
	dst = endpoint_lookup_ipv4(ip->daddr);
	if (dst && ip->ttl > 1) {
		/* The sender's node judged its egress; dst's ingress is ours. */
		ret = lxc_conntrack(ctx, ip, NULL, dst);
		if (ret < 0)
			goto out;
		ret = local_deliver(ctx, eth, ip, dst);
		goto out;
	}
	bpf_skb_change_type(ctx, PACKET_HOST);
	ret = TC_ACT_OK;
out:
	if (ret < 0)
		return pn_drop(ctx, -ret, PN_DIR_INGRESS);
	return ret;
}

/*
 * The host stack routed a packet into the tunnel device (a route "remote pod
 * CIDR dev porin_vxlan" that node_upsert installs): the node itself talking
 * to a remote pod, or an ICMP error for one.  Give it the tunnel metadata the
 * device needs; without an ipcache entry the device would drop it anyway.
 * Packets from_container redirected here already carry the same metadata.
 */
SEC("tc")
int to_overlay(struct __sk_buff *ctx)
{
	const struct pn_ipcache_entry *info;
	struct ethhdr *eth;
	struct iphdr *ip;
	int ret;

	ret = overlay_ipv4_parse(ctx, &eth, &ip);
	if (ret < 0)
		goto out;
	info = ipcache_lookup(ip->daddr);
	if (!info || !info->tunnel_endpoint || (info->flags & PN_IPC_F_LOCAL)) {
		ret = -PN_DROP_NO_TUNNEL_ENDPOINT;	/* nowhere to send it */
		goto out;
	}
	ret = tunnel_set_key(ctx, info->tunnel_endpoint);
	if (ret == 0)
		ret = TC_ACT_OK;
out:
	if (ret < 0)
		return pn_drop(ctx, -ret, PN_DIR_EGRESS);
	return ret;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

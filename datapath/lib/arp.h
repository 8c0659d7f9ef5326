/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ARP responder for the pod's side of its veth.  A pod has a /32 address and
 * a default route through a gateway IP; whatever address it asks for, the
 * answer is the host-side veth's MAC.  Answering here keeps proxy_arp and
 * similar per-link sysctls off the host.
 */
#ifndef PN_LIB_ARP_H
#define PN_LIB_ARP_H

#include <linux/if_ether.h>

#include "lib/common.h"

/*
 * The wire format (RFC 826) for IPv4 over Ethernet, defined here because
 * <linux/if_arp.h> drags in glibc's <sys/socket.h> (through <linux/if.h>),
 * which does not build under -target bpf.  The addresses sit at odd
 * offsets, hence packed (clang emits byte accesses for it).
 */
#define ARPHRD_ETHER	1
#define ARPOP_REQUEST	1
#define ARPOP_REPLY	2

struct arp_eth_ipv4 {
	__be16 hrd;		/* ARPHRD_ETHER */
	__be16 pro;		/* ETH_P_IP */
	__u8 hln;		/* ETH_ALEN */
	__u8 pln;		/* 4 */
	__be16 op;		/* ARPOP_* */
	__u8 sha[ETH_ALEN];
	__be32 spa;
	__u8 tha[ETH_ALEN];
	__be32 tpa;
} __attribute__((packed));

/*
 * Handle an ARP frame sent by pod @ep: reply to requests in place and send
 * the reply back to the pod; hand the pod's own announcements and replies to
 * the host stack (the host learns the pod's MAC from them).
 */
static __always_inline int arp_from_pod(struct __sk_buff *ctx, const struct pn_endpoint *ep)
{
	struct arp_eth_ipv4 *arp;
	void *data, *data_end;
	struct ethhdr *eth;
	__be32 spa, tpa;

	if (pn_pull(ctx, &data, &data_end, ETH_HLEN + sizeof(*arp)) < 0)
		return -PN_DROP_ARP_INVALID;
	eth = data;
	arp = data + ETH_HLEN;
	if (arp->hrd != bpf_htons(ARPHRD_ETHER) || arp->pro != bpf_htons(ETH_P_IP) ||
	    arp->hln != ETH_ALEN || arp->pln != 4)
		return -PN_DROP_ARP_INVALID;

	spa = arp->spa;
	tpa = arp->tpa;
	/* A pod speaks only for its own address; 0.0.0.0 is an RFC 5227 probe.
	 * Checked for replies too, so a pod cannot poison the host's cache. */
	if (spa != ep->ipv4 && spa != 0)
		return -PN_DROP_ARP_SPOOFED;
	if (arp->op == bpf_htons(ARPOP_REPLY))
		return TC_ACT_OK;
	if (arp->op != bpf_htons(ARPOP_REQUEST))
		return -PN_DROP_ARP_INVALID;
	/* Gratuitous ARP or duplicate-address probe for its own address. */
	if (tpa == ep->ipv4)
		return TC_ACT_OK;

	/* Turn the request into the reply, addressed like the kernel's own
	 * (arp_process()): to the requester's sha, and to spa 0.0.0.0 for a
	 * probe. */
	arp->op = bpf_htons(ARPOP_REPLY);
	__builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
	__builtin_memcpy(arp->sha, ep->host_mac, ETH_ALEN);
	arp->spa = tpa;
	arp->tpa = spa;
	__builtin_memcpy(eth->h_dest, arp->tha, ETH_ALEN);
	__builtin_memcpy(eth->h_source, ep->host_mac, ETH_ALEN);

	/* From clsact ingress, redirect to the same veth's egress: back to the pod. */
	if (bpf_redirect(ctx->ifindex, 0) != TC_ACT_REDIRECT)
		return -PN_DROP_REDIRECT_FAILED;
	return TC_ACT_REDIRECT;
}

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The transport part of a flow: the ports (or what stands for them) that
 * conntrack keys on and policy matches, read from the L4 header of an IPv4
 * packet whose L4 header is present (not a later fragment: lib/frag.h).
 *
 *   TCP, UDP, SCTP  source and destination port (SCTP's common header starts
 *                   with them, like UDP's)
 *   ICMP echo       request: sport = identifier, dport = 0; reply: sport = 0,
 *                   dport = identifier, so a reply's reversed tuple is its
 *                   request's (abi.h, conntrack)
 *   anything else   ports 0
 *
 * Read with bpf_skb_load_bytes(): the L4 header sits behind a variable-length
 * IPv4 header and may lie outside the linear area; the helper copes with
 * both, needs no bounds proof and, unlike a pull, keeps the caller's packet
 * pointers valid.
 */
#ifndef PN_LIB_L4_H
#define PN_LIB_L4_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>

#include "lib/common.h"

#define TCP_F_FIN	0x01
#define TCP_F_SYN	0x02
#define TCP_F_RST	0x04
#define TCP_F_ACK	0x10

#define ICMP_ECHOREPLY		0
#define ICMP_DEST_UNREACH	3
#define ICMP_ECHO		8
#define ICMP_TIME_EXCEEDED	11
#define ICMP_PARAMETERPROB	12

/* The smallest valid header of each protocol: anything shorter is not a
 * packet of that protocol, and a first fragment that does not even carry it
 * (RFC 1858's tiny fragments) cannot be judged. */
#define L4_MIN_TCP	20
#define L4_MIN_UDP	8
#define L4_MIN_SCTP	12
#define L4_MIN_ICMP	8

struct l4_info {
	__be16 sport;
	__be16 dport;
	__u8 tcp_flags;		/* TCP_F_*; 0 for other protocols */
	__u8 icmp_type;		/* ICMP only */
	__u8 pad[2];
};

/* Does policy know ports for @proto?  NetworkPolicy ports exist only for
 * these three; other protocols are matched with port 0 (abi.h). */
static __always_inline int l4_has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

/* Offset of the L4 header in the frame and the bytes the IPv4 packet holds
 * after its header (ipv4_parse() checked tot_len >= ihl * 4). */
static __always_inline __u32 l4_offset(const struct iphdr *ip)
{
	return ETH_HLEN + ip->ihl * 4;
}

static __always_inline __u32 l4_len(const struct iphdr *ip)
{
	return bpf_ntohs(ip->tot_len) - ip->ihl * 4;
}

/* The L4 bytes we read: ports (TCP, UDP, SCTP: the first 4), type and echo
 * identifier (ICMP: the first 6), and TCP's flags (byte 13). */
#define L4_PEEK_TCP	14
#define L4_PEEK		8

/*
 * Fill @l4 from the L4 header of @ip's packet (whose header must be present:
 * not a later fragment).  A packet too short for its protocol's header is
 * invalid.
 */
static __always_inline int l4_parse(struct __sk_buff *ctx, const struct iphdr *ip,
				    struct l4_info *l4)
{
	__u32 off = l4_offset(ip), len = l4_len(ip), min;
	/* Aligned: the verifier checks the alignment of stack reads. */
	__u8 buf[L4_PEEK_TCP] __attribute__((aligned(4))) = {};
	__u8 proto = ip->protocol;
	void *data, *data_end;
	const __u8 *b;

	__builtin_memset(l4, 0, sizeof(*l4));
	switch (proto) {
	case IPPROTO_TCP:
		min = L4_MIN_TCP;
		break;
	case IPPROTO_UDP:
		min = L4_MIN_UDP;
		break;
	case IPPROTO_SCTP:
		min = L4_MIN_SCTP;
		break;
	case IPPROTO_ICMP:
		min = L4_MIN_ICMP;
		break;
	default:
		return 0;	/* no ports */
	}
	if (len < min)
		return -PN_DROP_INVALID_PACKET;

	/*
	 * Read in place when the bytes are in the linear area, as a pod's
	 * headers are: a packet pointer at a variable (ihl-bounded) offset,
	 * proved against data_end.  Otherwise copy them out: the helper
	 * reaches paged data and, unlike a pull, keeps the caller's packet
	 * pointers valid.  Every protocol's minimum header holds the bytes it
	 * reads (L4_PEEK <= 8 <= min), so the copy cannot fail.
	 */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	b = data + (off & 0xff);	/* off <= ETH_HLEN + 60: the mask is the bound */
	if (proto == IPPROTO_TCP) {
		if ((void *)b + L4_PEEK_TCP > data_end) {
			if (bpf_skb_load_bytes(ctx, off, buf, L4_PEEK_TCP) < 0)
				return -PN_DROP_INVALID_PACKET;
			b = buf;
		}
	} else if ((void *)b + L4_PEEK > data_end) {
		if (bpf_skb_load_bytes(ctx, off, buf, L4_PEEK) < 0)
			return -PN_DROP_INVALID_PACKET;
		b = buf;
	}

	if (proto == IPPROTO_ICMP) {
		/* type, code, checksum, identifier (echo) */
		l4->icmp_type = b[0];
		if (b[0] == ICMP_ECHO)
			l4->sport = *(const __be16 *)&b[4];
		else if (b[0] == ICMP_ECHOREPLY)
			l4->dport = *(const __be16 *)&b[4];
		return 0;
	}
	/* Word loads, not bytes: unaligned packet reads are fine where BPF
	 * runs on x86 and arm64 (the verifier checks alignment only on
	 * architectures without efficient unaligned access). */
	l4->sport = *(const __be16 *)&b[0];
	l4->dport = *(const __be16 *)&b[2];
	if (proto == IPPROTO_TCP)
		l4->tcp_flags = b[13];
	return 0;
}

/* ICMP errors quote the header of the packet that caused them: they belong
 * to that packet's flow rather than starting one (lib/conntrack.h). */
static __always_inline int l4_icmp_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * bpf_lxc: load the real skeleton (unpinned), seed two endpoints and run
 * packet fixtures through from_container/to_container with
 * bpf_prog_test_run_opts, asserting the verdict, the exact output bytes and
 * the drop counters.  Also attaches the programs to a veth through
 * lib/tc_attach.c, by fd and from pins on a private bpffs.
 *
 * Needs root.  Everything happens in a private network and mount namespace
 * created at start-up, so nothing outlives the process and /sys/fs/bpf is
 * never touched.
 */
#include "bpf_fixture.h"
#include "tc_attach.h"

/* --- the node: two pods, a and b, and a veth porin knows nothing about --- */
static struct pod pod_a = {
	.host_if = "lxca", .peer_if = "peera", .ip = "10.244.0.5",
	.pod_mac = { 0x0a, 0x58, 0x0a, 0xf4, 0x00, 0x05 },
	.host_mac = { 0x0e, 0x00, 0x00, 0x00, 0x00, 0x0a },
};
static struct pod pod_b = {
	.host_if = "lxcb", .peer_if = "peerb", .ip = "10.244.0.6",
	.pod_mac = { 0x0a, 0x58, 0x0a, 0xf4, 0x00, 0x06 },
	.host_mac = { 0x0e, 0x00, 0x00, 0x00, 0x00, 0x0b },
};
static struct pod stranger = { .host_if = "lxcc", .peer_if = "peerc", .ip = "10.244.0.7" };

#define GATEWAY		"10.244.0.1"
#define REMOTE		"10.244.1.7"	/* a pod on another node */
#define SPOOFED		"10.244.0.250"
/* Another node, VXLAN mode: its pod CIDR is in the ipcache. */
#define TUN_CIDR	"10.244.2.0"
#define TUN_POD		"10.244.2.9"
#define TUN_NODE	"172.31.0.12"

static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero_mac[ETH_ALEN];

static char bpffs[64];		/* private bpffs for the pinned-attach test */

/* --- packet builders ------------------------------------------------------ */
/* IPv4 + 8 bytes of UDP header + 4 bytes of payload (UDP checksum 0). */
static void put_ipv4_udp(struct pkt *p, const char *src, const char *dst, uint8_t ttl)
{
	static const uint8_t udp[12] = { 0x30, 0x39, 0x23, 0x82, 0x00, 0x0c, 0x00, 0x00,
					 'p', 'o', 'r', 'i' };
	struct iphdr ip = {
		.version = 4,
		.ihl = 5,
		.tot_len = htons(sizeof(ip) + sizeof(udp)),
		.id = htons(0x1234),
		.frag_off = htons(0x4000),	/* DF */
		.ttl = ttl,
		.protocol = IPPROTO_UDP,
		.saddr = ip4(src),
		.daddr = ip4(dst),
	};

	ip.check = csum(&ip, sizeof(ip));
	put(p, &ip, sizeof(ip));
	put(p, udp, sizeof(udp));
}

static void put_arp(struct pkt *p, uint16_t op, const uint8_t *sha, const char *spa,
		    const uint8_t *tha, const char *tpa)
{
	uint8_t h[8] = { 0x00, 0x01, 0x08, 0x00, 6, 4, op >> 8, op & 0xff };
	uint32_t a;

	put(p, h, sizeof(h));
	put(p, sha, ETH_ALEN);
	a = ip4(spa);
	put(p, &a, 4);
	put(p, tha, ETH_ALEN);
	a = ip4(tpa);
	put(p, &a, 4);
}

/* What pod a's stack would send: to its gateway MAC, from its own. */
static void from_a(struct pkt *p, uint16_t proto)
{
	put_eth(p, pod_a.host_mac, pod_a.pod_mac, proto);
}

/* --- fixtures ------------------------------------------------------------- */
/*
 * build() fills the input and, for redirected packets, the exact expected
 * output; want.len == 0 means "the output must equal the input" (checked for
 * every non-drop verdict).  want_drop is the one counter that must move.
 */
struct fixture {
	const char *name;
	enum prog prog;
	const struct pod *dev;
	void (*build)(struct pkt *in, struct pkt *want);
	int want_ret;
	uint32_t want_drop;	/* PN_DROP_*, 0 for none */
};

static void a_to_b(struct pkt *in, struct pkt *want)
{
	from_a(in, ETH_P_IP);
	put_ipv4_udp(in, pod_a.ip, pod_b.ip, 64);
	/* One routed hop: from b's gateway MAC to b, TTL 63, fresh checksum. */
	put_eth(want, pod_b.pod_mac, pod_b.host_mac, ETH_P_IP);
	put_ipv4_udp(want, pod_a.ip, pod_b.ip, 63);
}

/* Minimum-size frame: the IPv4 packet is followed by Ethernet padding. */
static void a_to_b_padded(struct pkt *in, struct pkt *want)
{
	static const uint8_t pad[60 - 14 - 32];

	a_to_b(in, want);
	put(in, pad, sizeof(pad));
	put(want, pad, sizeof(pad));
}

static void a_to_b_ttl1(struct pkt *in, struct pkt *want)
{
	from_a(in, ETH_P_IP);
	put_ipv4_udp(in, pod_a.ip, pod_b.ip, 1);
}

static void a_to_remote(struct pkt *in, struct pkt *want)
{
	from_a(in, ETH_P_IP);
	put_ipv4_udp(in, pod_a.ip, REMOTE, 64);
}

/* To a pod on another node: into the tunnel, frame unchanged (the metadata
 * set by bpf_skb_set_tunnel_key is not part of test_run's output). */
static void a_to_tunnel_pod(struct pkt *in, struct pkt *want)
{
	from_a(in, ETH_P_IP);
	put_ipv4_udp(in, pod_a.ip, TUN_POD, 64);
}

/* Decapsulated at this node: a packet from a remote pod to b (inner MACs as
 * the remote pod sent them). */
static const uint8_t remote_pod_mac[ETH_ALEN] = { 0x0a, 0x58, 0x0a, 0xf4, 0x02, 0x09 };
static const uint8_t remote_gw_mac[ETH_ALEN] = { 0x0e, 0x00, 0x00, 0x00, 0x02, 0x09 };

static void overlay_to_b(struct pkt *in, struct pkt *want)
{
	put_eth(in, remote_gw_mac, remote_pod_mac, ETH_P_IP);
	put_ipv4_udp(in, TUN_POD, pod_b.ip, 64);
	put_eth(want, pod_b.pod_mac, pod_b.host_mac, ETH_P_IP);
	put_ipv4_udp(want, TUN_POD, pod_b.ip, 63);
}

static void overlay_to_b_ttl1(struct pkt *in, struct pkt *want)
{
	put_eth(in, remote_gw_mac, remote_pod_mac, ETH_P_IP);
	put_ipv4_udp(in, TUN_POD, pod_b.ip, 1);
}

static void overlay_to_gateway(struct pkt *in, struct pkt *want)
{
	put_eth(in, remote_gw_mac, remote_pod_mac, ETH_P_IP);
	put_ipv4_udp(in, TUN_POD, GATEWAY, 64);
}

static void overlay_ipv6(struct pkt *in, struct pkt *want)
{
	static const uint8_t ip6[40] = { 0x60, 0, 0, 0, 0, 0, 59, 64 };

	put_eth(in, remote_gw_mac, remote_pod_mac, ETH_P_IPV6);
	put(in, ip6, sizeof(ip6));
}

static void overlay_truncated(struct pkt *in, struct pkt *want)
{
	put_eth(in, remote_gw_mac, remote_pod_mac, ETH_P_IP);
	put_ipv4_udp(in, TUN_POD, pod_b.ip, 64);
	in->b[ETH_HLEN + 3] += 1;	/* tot_len beyond the frame */
}

/* The node's stack to a remote pod, routed into the tunnel device. */
static void host_to_tunnel_pod(struct pkt *in, struct pkt *want)
{
	put_eth(in, remote_gw_mac, remote_gw_mac, ETH_P_IP);
	put_ipv4_udp(in, GATEWAY, TUN_POD, 64);
}

static void host_to_nowhere(struct pkt *in, struct pkt *want)
{
	put_eth(in, remote_gw_mac, remote_gw_mac, ETH_P_IP);
	put_ipv4_udp(in, GATEWAY, "10.99.0.1", 64);
}

static void a_to_gateway(struct pkt *in, struct pkt *want)
{
	from_a(in, ETH_P_IP);
	put_ipv4_udp(in, pod_a.ip, GATEWAY, 64);
}

static void a_spoofed_to_b(struct pkt *in, struct pkt *want)
{
	from_a(in, ETH_P_IP);
	put_ipv4_udp(in, SPOOFED, pod_b.ip, 64);
}

static void a_as_b_to_remote(struct pkt *in, struct pkt *want)
{
	from_a(in, ETH_P_IP);
	put_ipv4_udp(in, pod_b.ip, REMOTE, 64);
}

/*
 * Cut right after the IPv4 header.  (Shorter cuts cannot be tested: since
 * 6.x, test_run itself refuses an IPv4 frame with less than a full header,
 * -EINVAL.  The pull-failure path is covered by "arp truncated".)
 */
static void a_truncated_ipv4(struct pkt *in, struct pkt *want)
{
	struct pkt full = { 0 };

	put_ipv4_udp(&full, pod_a.ip, pod_b.ip, 64);
	from_a(in, ETH_P_IP);
	put(in, full.b, sizeof(struct iphdr));
}

static void a_ipv4_ihl4(struct pkt *in, struct pkt *want)
{
	from_a(in, ETH_P_IP);
	put_ipv4_udp(in, pod_a.ip, pod_b.ip, 64);
	in->b[ETH_HLEN] = 0x44;
}

/* Options (ihl 15: 60 bytes) beyond tot_len (32). */
static void a_ipv4_ihl15(struct pkt *in, struct pkt *want)
{
	from_a(in, ETH_P_IP);
	put_ipv4_udp(in, pod_a.ip, pod_b.ip, 64);
	in->b[ETH_HLEN] = 0x4f;
}

/* tot_len claims one byte more than the frame carries. */
static void a_ipv4_long_totlen(struct pkt *in, struct pkt *want)
{
	from_a(in, ETH_P_IP);
	put_ipv4_udp(in, pod_a.ip, pod_b.ip, 64);
	in->b[ETH_HLEN + 3] += 1;
}

static void a_ipv6(struct pkt *in, struct pkt *want)
{
	static const uint8_t ip6[40] = { 0x60, 0, 0, 0, 0, 0, 59, 64 };	/* no next header */

	from_a(in, ETH_P_IPV6);
	put(in, ip6, sizeof(ip6));
}

static void arp_who_has_gateway(struct pkt *in, struct pkt *want)
{
	put_eth(in, bcast, pod_a.pod_mac, ETH_P_ARP);
	put_arp(in, 1, pod_a.pod_mac, pod_a.ip, zero_mac, GATEWAY);
	/* "GATEWAY is at a's host MAC", to a. */
	put_eth(want, pod_a.pod_mac, pod_a.host_mac, ETH_P_ARP);
	put_arp(want, 2, pod_a.host_mac, GATEWAY, pod_a.pod_mac, pod_a.ip);
}

/* RFC 5227 probe for another address: answered, to sender 0.0.0.0. */
static void arp_probe_other(struct pkt *in, struct pkt *want)
{
	put_eth(in, bcast, pod_a.pod_mac, ETH_P_ARP);
	put_arp(in, 1, pod_a.pod_mac, "0.0.0.0", zero_mac, pod_b.ip);
	put_eth(want, pod_a.pod_mac, pod_a.host_mac, ETH_P_ARP);
	put_arp(want, 2, pod_a.host_mac, pod_b.ip, pod_a.pod_mac, "0.0.0.0");
}

static void arp_probe_own(struct pkt *in, struct pkt *want)
{
	put_eth(in, bcast, pod_a.pod_mac, ETH_P_ARP);
	put_arp(in, 1, pod_a.pod_mac, "0.0.0.0", zero_mac, pod_a.ip);
}

static void arp_gratuitous(struct pkt *in, struct pkt *want)
{
	put_eth(in, bcast, pod_a.pod_mac, ETH_P_ARP);
	put_arp(in, 1, pod_a.pod_mac, pod_a.ip, zero_mac, pod_a.ip);
}

/* a answers the host's "who has a?" */
static void arp_reply_to_host(struct pkt *in, struct pkt *want)
{
	put_eth(in, pod_a.host_mac, pod_a.pod_mac, ETH_P_ARP);
	put_arp(in, 2, pod_a.pod_mac, pod_a.ip, pod_a.host_mac, GATEWAY);
}

static void arp_spoofed_request(struct pkt *in, struct pkt *want)
{
	put_eth(in, bcast, pod_a.pod_mac, ETH_P_ARP);
	put_arp(in, 1, pod_a.pod_mac, pod_b.ip, zero_mac, GATEWAY);
}

static void arp_spoofed_reply(struct pkt *in, struct pkt *want)
{
	put_eth(in, pod_a.host_mac, pod_a.pod_mac, ETH_P_ARP);
	put_arp(in, 2, pod_a.pod_mac, pod_b.ip, pod_a.host_mac, GATEWAY);
}

static void arp_truncated(struct pkt *in, struct pkt *want)
{
	arp_who_has_gateway(in, want);
	in->len -= 4;
}

static void arp_bad_hlen(struct pkt *in, struct pkt *want)
{
	arp_who_has_gateway(in, want);
	in->b[ETH_HLEN + 4] = 8;
}

static void arp_bad_op(struct pkt *in, struct pkt *want)
{
	arp_who_has_gateway(in, want);
	in->b[ETH_HLEN + 7] = 3;	/* RARP request */
}

/* Host → a: what the stack sends out of a's veth. */
static void host_to_a(struct pkt *in, struct pkt *want)
{
	put_eth(in, pod_a.pod_mac, pod_a.host_mac, ETH_P_IP);
	put_ipv4_udp(in, GATEWAY, pod_a.ip, 64);
}

static void host_arp_to_a(struct pkt *in, struct pkt *want)
{
	put_eth(in, bcast, pod_a.host_mac, ETH_P_ARP);
	put_arp(in, 1, pod_a.host_mac, GATEWAY, zero_mac, pod_a.ip);
}

static void host_ipv6_to_a(struct pkt *in, struct pkt *want)
{
	static const uint8_t ip6[40] = { 0x60, 0, 0, 0, 0, 0, 59, 255 };

	put_eth(in, pod_a.pod_mac, pod_a.host_mac, ETH_P_IPV6);
	put(in, ip6, sizeof(ip6));
}

static const struct fixture fixtures[] = {
	/* from_container: IPv4 */
	{ "ipv4 a->b local: redirect_peer, MACs, TTL-1, csum", FROM_CONTAINER, &pod_a, a_to_b,
	  TC_ACT_REDIRECT, 0 },
	{ "ipv4 a->b with Ethernet padding", FROM_CONTAINER, &pod_a, a_to_b_padded,
	  TC_ACT_REDIRECT, 0 },
	{ "ipv4 a->b TTL 1: to the stack, unchanged", FROM_CONTAINER, &pod_a, a_to_b_ttl1,
	  TC_ACT_OK, 0 },
	{ "ipv4 a->remote: to the stack, unchanged", FROM_CONTAINER, &pod_a, a_to_remote,
	  TC_ACT_OK, 0 },
	{ "ipv4 a->gateway: to the stack, unchanged", FROM_CONTAINER, &pod_a, a_to_gateway,
	  TC_ACT_OK, 0 },
	{ "ipv4 a->pod on another node: tunnel redirect", FROM_CONTAINER, &pod_a,
	  a_to_tunnel_pod, TC_ACT_REDIRECT, 0 },
	{ "ipv4 spoofed source", FROM_CONTAINER, &pod_a, a_spoofed_to_b,
	  TC_ACT_SHOT, PN_DROP_SPOOFED_SOURCE },
	{ "ipv4 a claiming b's address", FROM_CONTAINER, &pod_a, a_as_b_to_remote,
	  TC_ACT_SHOT, PN_DROP_SPOOFED_SOURCE },
	{ "ipv4 from unknown veth", FROM_CONTAINER, &stranger, a_to_b,
	  TC_ACT_SHOT, PN_DROP_NO_ENDPOINT },
	{ "ipv4 truncated after the header", FROM_CONTAINER, &pod_a, a_truncated_ipv4,
	  TC_ACT_SHOT, PN_DROP_INVALID_PACKET },
	{ "ipv4 ihl 15 beyond tot_len", FROM_CONTAINER, &pod_a, a_ipv4_ihl15,
	  TC_ACT_SHOT, PN_DROP_INVALID_PACKET },
	{ "ipv4 ihl 4", FROM_CONTAINER, &pod_a, a_ipv4_ihl4,
	  TC_ACT_SHOT, PN_DROP_INVALID_PACKET },
	{ "ipv4 tot_len beyond frame", FROM_CONTAINER, &pod_a, a_ipv4_long_totlen,
	  TC_ACT_SHOT, PN_DROP_INVALID_PACKET },
	{ "ipv6 from pod", FROM_CONTAINER, &pod_a, a_ipv6,
	  TC_ACT_SHOT, PN_DROP_UNSUPPORTED_L3 },
	/* from_container: ARP */
	{ "arp who-has gateway: reply to pod", FROM_CONTAINER, &pod_a, arp_who_has_gateway,
	  TC_ACT_REDIRECT, 0 },
	{ "arp probe for another address: reply", FROM_CONTAINER, &pod_a, arp_probe_other,
	  TC_ACT_REDIRECT, 0 },
	{ "arp probe for own address: to the stack", FROM_CONTAINER, &pod_a, arp_probe_own,
	  TC_ACT_OK, 0 },
	{ "arp gratuitous: to the stack", FROM_CONTAINER, &pod_a, arp_gratuitous,
	  TC_ACT_OK, 0 },
	{ "arp reply from pod: to the stack", FROM_CONTAINER, &pod_a, arp_reply_to_host,
	  TC_ACT_OK, 0 },
	{ "arp request with spoofed sender", FROM_CONTAINER, &pod_a, arp_spoofed_request,
	  TC_ACT_SHOT, PN_DROP_ARP_SPOOFED },
	{ "arp reply with spoofed sender", FROM_CONTAINER, &pod_a, arp_spoofed_reply,
	  TC_ACT_SHOT, PN_DROP_ARP_SPOOFED },
	{ "arp truncated", FROM_CONTAINER, &pod_a, arp_truncated,
	  TC_ACT_SHOT, PN_DROP_ARP_INVALID },
	{ "arp hardware length 8", FROM_CONTAINER, &pod_a, arp_bad_hlen,
	  TC_ACT_SHOT, PN_DROP_ARP_INVALID },
	{ "arp opcode 3", FROM_CONTAINER, &pod_a, arp_bad_op,
	  TC_ACT_SHOT, PN_DROP_ARP_INVALID },
	/* to_container */
	{ "to pod: ipv4 passes", TO_CONTAINER, &pod_a, host_to_a, TC_ACT_OK, 0 },
	{ "to pod: arp passes", TO_CONTAINER, &pod_a, host_arp_to_a, TC_ACT_OK, 0 },
	{ "to pod: ipv6 dropped", TO_CONTAINER, &pod_a, host_ipv6_to_a,
	  TC_ACT_SHOT, PN_DROP_UNSUPPORTED_L3 },
	{ "to unknown veth: anything passes", TO_CONTAINER, &stranger, host_ipv6_to_a,
	  TC_ACT_OK, 0 },
	/* from_overlay / to_overlay (dev unused: the tunnel device) */
	{ "overlay remote->b: redirect_peer, MACs, TTL-1, csum", FROM_OVERLAY, NULL,
	  overlay_to_b, TC_ACT_REDIRECT, 0 },
	{ "overlay remote->b TTL 1: to the stack", FROM_OVERLAY, NULL, overlay_to_b_ttl1,
	  TC_ACT_OK, 0 },
	{ "overlay remote->gateway: to the stack", FROM_OVERLAY, NULL, overlay_to_gateway,
	  TC_ACT_OK, 0 },
	{ "overlay ipv6 dropped", FROM_OVERLAY, NULL, overlay_ipv6,
	  TC_ACT_SHOT, PN_DROP_OVERLAY_NOT_IPV4 },
	{ "overlay tot_len beyond frame dropped", FROM_OVERLAY, NULL, overlay_truncated,
	  TC_ACT_SHOT, PN_DROP_INVALID_PACKET },
	{ "to overlay: host -> remote pod gets metadata", TO_OVERLAY, NULL, host_to_tunnel_pod,
	  TC_ACT_OK, 0 },
	{ "to overlay: no tunnel endpoint dropped", TO_OVERLAY, NULL, host_to_nowhere,
	  TC_ACT_SHOT, PN_DROP_NO_TUNNEL_ENDPOINT },
};

/* --- checks --------------------------------------------------------------- */
static void hexdump(const char *tag, const uint8_t *b, size_t len, const uint8_t *other,
		    size_t other_len)
{
	fprintf(stderr, "%s (%zu bytes):", tag, len);
	for (size_t i = 0; i < len; i++) {
		bool diff = i >= other_len || b[i] != other[i];

		fprintf(stderr, "%s%s%02x%s", i % 16 ? "" : "\n  ", diff ? "[" : " ", b[i],
			diff ? "]" : " ");
	}
	fputc('\n', stderr);
}

static void assert_pkt_eq(const uint8_t *want, size_t want_len, const uint8_t *got,
			  size_t got_len)
{
	if (want_len == got_len && memcmp(want, got, want_len) == 0)
		return;
	hexdump("want", want, want_len, got, got_len);
	hexdump("got ", got, got_len, want, want_len);
	fail_msg("packet differs ([xx] marks differing bytes)");
}

static int drops_reset(void **state)
{
	drops_clear();
	return 0;
}

static void run_fixture(void **state)
{
	const struct fixture *f = *state;
	uint32_t dir = f->prog == FROM_CONTAINER || f->prog == TO_OVERLAY ? PN_DIR_EGRESS :
									  PN_DIR_INGRESS;
	struct pkt in = { 0 }, want = { 0 };
	struct run_result r;

	f->build(&in, &want);
	r = prog_run(f->prog, f->dev ? f->dev->ifindex : env.tun_ifindex, &in, 1);
	assert_int_equal(r.retval, f->want_ret);

	if (f->want_ret != TC_ACT_SHOT) {
		if (want.len)
			assert_pkt_eq(want.b, want.len, r.out.b, r.out.len);
		else
			assert_pkt_eq(in.b, in.len, r.out.b, r.out.len);
	}

	/* Exactly the expected counter moved, by this one packet. */
	for (uint32_t idx = 0; idx < PN_DROP_COUNTERS_MAX; idx++) {
		struct pn_drop_counter c = drops_sum(idx);
		bool expected = f->want_drop && idx == pn_drop_index(f->want_drop, dir);

		if (!expected && (c.packets || c.bytes))
			fail_msg("unexpected drops at reason %u dir %u: %llu packets",
				 idx / PN_DIR_MAX, idx % PN_DIR_MAX, (unsigned long long)c.packets);
		if (expected) {
			assert_int_equal(c.packets, 1);
			assert_int_equal(c.bytes, in.len);
		}
	}
}

/* --- the skeleton matches the ABI ----------------------------------------- */
static void test_maps_match_abi(void **state)
{
	struct bpf_map *ep = env.skel->maps.pn_endpoints;
	struct bpf_map *ipc = env.skel->maps.pn_ipcache;
	struct bpf_map *drops = env.skel->maps.pn_drops;

	assert_int_equal(bpf_map__type(ep), BPF_MAP_TYPE_HASH);
	assert_int_equal(bpf_map__max_entries(ep), PN_ENDPOINTS_MAX);
	assert_int_equal(bpf_map__key_size(ep), sizeof(struct pn_endpoint_key));
	assert_int_equal(bpf_map__value_size(ep), sizeof(struct pn_endpoint));

	assert_int_equal(bpf_map__type(ipc), BPF_MAP_TYPE_LPM_TRIE);
	assert_int_equal(bpf_map__max_entries(ipc), PN_IPCACHE_MAX);
	assert_int_equal(bpf_map__map_flags(ipc), BPF_F_NO_PREALLOC);
	assert_int_equal(bpf_map__key_size(ipc), sizeof(struct pn_ipcache_key));
	assert_int_equal(bpf_map__value_size(ipc), sizeof(struct pn_ipcache_entry));

	assert_int_equal(bpf_map__type(drops), BPF_MAP_TYPE_PERCPU_ARRAY);
	assert_int_equal(bpf_map__max_entries(drops), PN_DROP_COUNTERS_MAX);
	assert_int_equal(bpf_map__value_size(drops), sizeof(struct pn_drop_counter));
}

/* The tunnel redirect goes to the device the agent named in rodata. */
static void test_tunnel_config(void **state)
{
	assert_int_equal(env.skel->rodata->pn_cfg_routing, PN_ROUTING_VXLAN);
	assert_int_equal(env.skel->rodata->pn_cfg_tunnel_ifindex, env.tun_ifindex);
	assert_true(env.tun_ifindex > 0);
}

/* --- cost ------------------------------------------------------------------ */
/*
 * What from_container costs per packet, as test_run's in-kernel average over
 * repeats (duration, ns).  Not an assertion, a measurement printed with the
 * test results, so a change's cost shows in every run; PN_BENCH_RUNS scales it
 * (default 200000 program runs per case, e.g. 1000000 for a report).
 *   a->b      the same-node pod-to-pod path (MAC rewrite, TTL, redirect_peer):
 *             the program decrements the TTL in the shared buffer, so each
 *             call is TTL 255 and 254 repeats, all forwarded
 *   a->remote to the stack, unchanged: the repeats all take one path
 * Both are the same flow again and again: after the first packet, an
 * established one.
 */
static double cost_ns(void (*build)(struct pkt *in, uint8_t ttl), uint32_t repeat, long runs,
		      int want_ret)
{
	double total = 0;
	long done = 0;

	while (done < runs) {
		struct pkt in = { 0 };
		struct run_result r;

		build(&in, 255);
		r = prog_run(FROM_CONTAINER, pod_a.ifindex, &in, repeat);
		assert_int_equal(r.retval, want_ret);
		total += (double)r.duration * repeat;
		done += repeat;
	}
	return total / done;
}

static void cost_a_to_b(struct pkt *in, uint8_t ttl)
{
	from_a(in, ETH_P_IP);
	put_ipv4_udp(in, pod_a.ip, pod_b.ip, ttl);
}

static void cost_a_to_remote(struct pkt *in, uint8_t ttl)
{
	from_a(in, ETH_P_IP);
	put_ipv4_udp(in, pod_a.ip, REMOTE, ttl);
}

static void test_cost_from_container(void **state)
{
	const char *env_runs = getenv("PN_BENCH_RUNS");
	long runs = env_runs ? atol(env_runs) : 200000;

	printf("cost: from_container a->b (local, redirect_peer): %.1f ns/run\n",
	       cost_ns(cost_a_to_b, 254, runs, TC_ACT_REDIRECT));
	printf("cost: from_container a->remote (to the stack): %.1f ns/run\n",
	       cost_ns(cost_a_to_remote, runs > 1000000 ? 1000000 : (uint32_t)runs, runs,
		       TC_ACT_OK));
}

/* --- lib/tc_attach.c ------------------------------------------------------ */
static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

static uint32_t attached_id(int ifindex, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PN_TC_HANDLE, .priority = PN_TC_PRIORITY);

	assert_int_equal(bpf_tc_query(&hook, &opts), 0);
	return opts.prog_id;
}

static void test_tc_attach_fds(void **state)
{
	int from = prog_fd(FROM_CONTAINER), to = prog_fd(TO_CONTAINER);
	int ifindex = pod_b.ifindex;

	assert_int_equal(tc_endpoint_attached(ifindex), 0);	/* no clsact yet */
	assert_int_equal(tc_attach_endpoint_fds(ifindex, from, to), 0);
	assert_int_equal(tc_endpoint_attached(ifindex), 1);
	assert_int_equal(attached_id(ifindex, BPF_TC_INGRESS), prog_id(from));
	assert_int_equal(attached_id(ifindex, BPF_TC_EGRESS), prog_id(to));

	/* Attaching again replaces in place (swapped, to see it happen). */
	assert_int_equal(tc_attach_endpoint_fds(ifindex, to, from), 0);
	assert_int_equal(attached_id(ifindex, BPF_TC_INGRESS), prog_id(to));
	assert_int_equal(attached_id(ifindex, BPF_TC_EGRESS), prog_id(from));

	assert_int_equal(tc_endpoint_attached(1 << 30), -ENODEV);
	assert_int_equal(tc_attach_endpoint_fds(1 << 30, from, to), -ENODEV);
}

static void test_tc_attach_pinned(void **state)
{
	char path[128];
	int ifindex = pod_a.ifindex;

	assert_int_equal(tc_attach_endpoint(ifindex, "/nonexistent/porin"), -ENOENT);
	assert_int_equal(tc_endpoint_attached(ifindex), 0);

	snprintf(path, sizeof(path), "%s/%s", bpffs, PN_PIN_PROG_FROM_CONTAINER);
	assert_int_equal(bpf_program__pin(env.skel->progs.from_container, path), 0);
	snprintf(path, sizeof(path), "%s/%s", bpffs, PN_PIN_PROG_TO_CONTAINER);
	assert_int_equal(bpf_program__pin(env.skel->progs.to_container, path), 0);

	assert_int_equal(tc_attach_endpoint(ifindex, bpffs), 0);
	assert_int_equal(tc_endpoint_attached(ifindex), 1);
	assert_int_equal(attached_id(ifindex, BPF_TC_INGRESS), prog_id(prog_fd(FROM_CONTAINER)));
	assert_int_equal(attached_id(ifindex, BPF_TC_EGRESS), prog_id(prog_fd(TO_CONTAINER)));
}

/* --- setup ------------------------------------------------------------------ */
static int endpoint_seed(const struct pod *p)
{
	struct pn_endpoint ep = pod_endpoint(p);

	ep.endpoint_id = p->ifindex;
	return endpoint_write(&ep);
}

static int group_setup(void **state)
{
	struct pod *const pods[] = { &pod_a, &pod_b, &stranger };
	struct pn_ipcache_key k = { .prefixlen = 24, .ipv4 = ip4(TUN_CIDR) };
	struct pn_ipcache_entry e = { .tunnel_endpoint = ip4(TUN_NODE),
				      .flags = PN_IPC_F_NODE_CIDR };

	if (node_setup("test_lxc", pods, ARRAY_SIZE(pods)) < 0)
		return -1;
	snprintf(bpffs, sizeof(bpffs), "/tmp/porin-test-bpffs.XXXXXX");
	if (!mkdtemp(bpffs) || mount("bpffs", bpffs, "bpf", 0, NULL) < 0) {
		perror("bpffs");
		return -1;
	}
	if (endpoint_seed(&pod_a) < 0 || endpoint_seed(&pod_b) < 0)
		return -1;
	if (bpf_map__update_elem(env.skel->maps.pn_ipcache, &k, sizeof(k), &e, sizeof(e),
				 BPF_ANY) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	node_teardown();
	if (bpffs[0]) {
		umount2(bpffs, MNT_DETACH);
		rmdir(bpffs);
	}
	return 0;
}

int main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(fixtures) + 5];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_maps_match_abi);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tunnel_config);
	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++)
		tests[n++] = (struct CMUnitTest){ fixtures[i].name, run_fixture, drops_reset,
						  NULL, (void *)&fixtures[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_cost_from_container);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tc_attach_fds);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tc_attach_pinned);
	return _cmocka_run_group_tests("bpf_lxc", tests, n, group_setup, group_teardown);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * NetworkPolicy in bpf_lxc: conntrack, policy lookups, fragments, identities.
 * Loads the real skeleton (unpinned), seeds endpoints, the ipcache, policy
 * and CIDR entries exactly as the agent will, runs crafted packets through
 * from_container, to_container and from_overlay with bpf_prog_test_run_opts
 * and asserts the verdict, the drop counters by reason and direction, and
 * the conntrack and fragment maps.
 *
 * SCTP: this kernel has no SCTP sockets, so the crafted SCTP packets here
 * are the proof that SCTP ports are enforced.
 *
 * Needs root.  Runs in a private network and mount namespace.
 */
#include <time.h>

#include "bpf_fixture.h"

/* --- the node ---------------------------------------------------------------- */
static struct pod pod_a = {
	.host_if = "lxca", .peer_if = "peera", .ip = "10.244.0.5",
	.endpoint_id = 11, .identity = 1000,
	.pod_mac = { 0x0a, 0x58, 0x0a, 0xf4, 0x00, 0x05 },
	.host_mac = { 0x0e, 0x00, 0x00, 0x00, 0x00, 0x0a },
};
static struct pod pod_b = {
	.host_if = "lxcb", .peer_if = "peerb", .ip = "10.244.0.6",
	.endpoint_id = 12, .identity = 1001,
	.pod_mac = { 0x0a, 0x58, 0x0a, 0xf4, 0x00, 0x06 },
	.host_mac = { 0x0e, 0x00, 0x00, 0x00, 0x00, 0x0b },
};

#define GATEWAY		"10.244.0.1"	/* this node, PN_ID_HOST */
#define NODE_IP		"172.31.0.11"	/* this node, PN_ID_HOST */
#define REMOTE_POD	"10.244.2.9"	/* a pod on another node (VXLAN) */
#define REMOTE_NODE	"172.31.0.12"
#define REMOTE_CIDR	"10.244.2.0"	/* its node's pod CIDR, no identity */
#define OTHER_POD	"10.244.2.10"	/* in that CIDR, no ipcache /32 */
#define WORLD_IP	"8.8.8.8"
#define WORLD_CIDR	"8.8.0.0"	/* /16, an ipBlock */
#define WORLD_IP2	"9.9.9.9"	/* in no ipBlock */
#define ROUTER		"192.0.2.1"	/* somewhere on the path: ICMP errors */

#define ID_REMOTE	2000
#define ID_CIDR		(PN_ID_CIDR_MIN + 1)

#define NSEC		1000000000ULL

/* --- packets ----------------------------------------------------------------- */
/* What a test packet is: its tuple, TCP flags, and fragment fields. */
struct spec {
	const char *src, *dst;
	uint8_t proto;		/* IPPROTO_* */
	uint16_t sport, dport;	/* host order; ICMP: dport is the type, sport the id */
	uint8_t tcp_flags;
	uint16_t ip_id;
	uint16_t frag;		/* host-order frag_off: IP_MF | offset (8-byte units) */
	uint16_t l4_len;	/* L4 bytes to emit; 0: the protocol's default */
};

#define IP_MF		0x2000
#define TCP_FIN		0x01
#define TCP_SYN		0x02
#define TCP_RST		0x04
#define TCP_ACK		0x10

static void put_be16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

/*
 * The L4 header (and a little payload) of @s into @l4; returns its length.
 * A later fragment gets payload bytes only.
 */
static size_t build_l4(const struct spec *s, uint8_t *l4)
{
	size_t len;

	memset(l4, 0xab, 64);
	if (s->frag & 0x1fff)
		return s->l4_len ? s->l4_len : 24;	/* no header in a later fragment */
	switch (s->proto) {
	case IPPROTO_TCP:
		put_be16(l4, s->sport);
		put_be16(l4 + 2, s->dport);
		memset(l4 + 4, 0, 16);
		l4[12] = 5 << 4;	/* data offset */
		l4[13] = s->tcp_flags;
		len = 24;
		break;
	case IPPROTO_UDP:
		put_be16(l4, s->sport);
		put_be16(l4 + 2, s->dport);
		put_be16(l4 + 4, 12);
		put_be16(l4 + 6, 0);
		len = 12;
		break;
	case IPPROTO_SCTP:
		/* Common header (ports, verification tag, CRC32c) and a DATA
		 * chunk header: enough to look like what a stack sends. */
		put_be16(l4, s->sport);
		put_be16(l4 + 2, s->dport);
		memset(l4 + 4, 0x11, 8);
		l4[12] = 0;		/* DATA */
		l4[13] = 3;
		put_be16(l4 + 14, 20);
		len = 32;
		break;
	case IPPROTO_ICMP:
		l4[0] = s->dport;	/* type */
		l4[1] = 0;
		put_be16(l4 + 2, 0);
		put_be16(l4 + 4, s->sport);	/* identifier */
		put_be16(l4 + 6, 1);		/* sequence */
		len = 16;
		break;
	default:
		len = 8;
	}
	return s->l4_len ? s->l4_len : len;
}

static void put_ipv4(struct pkt *p, const struct spec *s, const uint8_t *l4, size_t l4_len)
{
	struct iphdr ip = {
		.version = 4,
		.ihl = 5,
		.tot_len = htons(sizeof(ip) + l4_len),
		.id = htons(s->ip_id ? s->ip_id : 0x1234),
		.frag_off = htons(s->frag ? s->frag : 0x4000),	/* DF unless a fragment */
		.ttl = 64,
		.protocol = s->proto,
		.saddr = ip4(s->src),
		.daddr = ip4(s->dst),
	};

	ip.check = csum(&ip, sizeof(ip));
	put(p, &ip, sizeof(ip));
	put(p, l4, l4_len);
}

static const uint8_t remote_mac[ETH_ALEN] = { 0x0a, 0x58, 0x0a, 0xf4, 0x02, 0x09 };

/* The frame @s as it arrives at @prog on @dev's veth (or the tunnel). */
static void build(struct pkt *p, enum prog prog, const struct pod *dev, const struct spec *s)
{
	uint8_t l4[64];
	size_t l4_len = build_l4(s, l4);

	p->len = 0;
	switch (prog) {
	case FROM_CONTAINER:
		put_eth(p, dev->host_mac, dev->pod_mac, ETH_P_IP);
		break;
	case TO_CONTAINER:
		put_eth(p, dev->pod_mac, dev->host_mac, ETH_P_IP);
		break;
	default:
		put_eth(p, remote_mac, remote_mac, ETH_P_IP);
	}
	put_ipv4(p, s, l4, l4_len);
}

/* --- running ------------------------------------------------------------------ */
static int run_frame(enum prog prog, const struct pod *dev, const struct pkt *p)
{
	return (int)prog_run(prog, dev ? dev->ifindex : env.tun_ifindex, p, 1).retval;
}

/* Run @s through @prog on @dev's veth (NULL: the tunnel device). */
static int run(enum prog prog, const struct pod *dev, struct spec s)
{
	struct pkt p;

	build(&p, prog, dev, &s);
	return run_frame(prog, dev, &p);
}

/* --- maps --------------------------------------------------------------------- */
static void map_clear(struct bpf_map *m)
{
	uint8_t key[64];
	size_t ks = bpf_map__key_size(m);

	assert_true(ks <= sizeof(key));
	while (bpf_map__get_next_key(m, NULL, key, ks) == 0)
		assert_int_equal(bpf_map__delete_elem(m, key, ks, 0), 0);
}

static void ep_set(const struct pod *p, uint32_t flags)
{
	struct pn_endpoint ep = pod_endpoint(p);

	ep.endpoint_id = p->endpoint_id;
	ep.identity = flags & PN_EP_F_IDENTITY_PENDING ? PN_ID_ANY : p->identity;
	ep.flags = flags;
	assert_int_equal(endpoint_write(&ep), 0);
}

static void ipcache_set(const char *ip, uint32_t plen, uint32_t identity, const char *tunnel,
			uint32_t flags)
{
	struct pn_ipcache_key k = { .prefixlen = plen, .ipv4 = ip4(ip) };
	struct pn_ipcache_entry e = {
		.identity = identity,
		.tunnel_endpoint = tunnel ? ip4(tunnel) : 0,
		.flags = flags,
	};

	assert_int_equal(bpf_map__update_elem(env.skel->maps.pn_ipcache, &k, sizeof(k), &e,
					      sizeof(e), BPF_ANY), 0);
}

static void cidr_set(const char *ip, uint32_t plen, uint32_t identity)
{
	struct pn_ipcache_key k = { .prefixlen = plen, .ipv4 = ip4(ip) };

	assert_int_equal(bpf_map__update_elem(env.skel->maps.pn_policy_cidrs, &k, sizeof(k),
					      &identity, sizeof(identity), BPF_ANY), 0);
}

static struct pn_policy_key pkey(const struct pod *ep, uint32_t peer, uint8_t dir, uint8_t proto,
				 uint16_t port, uint32_t plen)
{
	struct pn_policy_key k = {
		.prefixlen = plen,
		.endpoint_id = ep->endpoint_id,
		.peer_identity = peer,
		.direction = dir,
		.protocol = proto,
		.dport = htons(port),
	};

	return k;
}

/* Allow @ep, direction @dir, peer @peer on @proto/@port; @plen as abi.h. */
static void allow(const struct pod *ep, uint32_t peer, uint8_t dir, uint8_t proto, uint16_t port,
		  uint32_t plen)
{
	struct pn_policy_key k = pkey(ep, peer, dir, proto, port, plen);
	struct pn_policy_entry e = { .rule_ref = 7 };

	assert_int_equal(bpf_map__update_elem(env.skel->maps.pn_policy, &k, sizeof(k), &e,
					      sizeof(e), BPF_ANY), 0);
}

static void disallow(const struct pod *ep, uint32_t peer, uint8_t dir, uint8_t proto,
		     uint16_t port, uint32_t plen)
{
	struct pn_policy_key k = pkey(ep, peer, dir, proto, port, plen);

	assert_int_equal(bpf_map__delete_elem(env.skel->maps.pn_policy, &k, sizeof(k), 0), 0);
}

static struct pn_ct_key ct_key(struct spec s)
{
	struct pn_ct_key k = {
		.saddr = ip4(s.src),
		.daddr = ip4(s.dst),
		.sport = htons(s.sport),
		.dport = htons(s.dport),
		.protocol = s.proto,
	};

	if (s.proto == IPPROTO_ICMP) {	/* abi.h: echo identifiers as ports */
		k.sport = s.dport == 8 ? htons(s.sport) : 0;
		k.dport = s.dport == 0 ? htons(s.sport) : 0;
	}
	return k;
}

/* The conntrack entry for @s's tuple as it is (not reversed); false if none. */
static bool ct_get(struct spec s, struct pn_ct_entry *e)
{
	struct pn_ct_key k = ct_key(s);

	return bpf_map__lookup_elem(env.skel->maps.pn_ct, &k, sizeof(k), e, sizeof(*e), 0) == 0;
}

static void ct_put(struct spec s, uint64_t last_seen, uint32_t flags)
{
	struct pn_ct_key k = ct_key(s);
	struct pn_ct_entry e = { .last_seen_ns = last_seen, .flags = flags };

	assert_int_equal(bpf_map__update_elem(env.skel->maps.pn_ct, &k, sizeof(k), &e, sizeof(e),
					      BPF_ANY), 0);
}

static size_t map_count(struct bpf_map *m)
{
	uint8_t key[64], next[64];
	size_t ks = bpf_map__key_size(m), n = 0;
	void *prev = NULL;

	while (bpf_map__get_next_key(m, prev, next, ks) == 0) {
		memcpy(key, next, ks);
		prev = key;
		n++;
	}
	return n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

static uint64_t drops_get(uint32_t reason, uint32_t dir)
{
	return drops_sum(pn_drop_index(reason, dir)).packets;
}

/* Exactly @n drops were counted since the last check, all of them as
 * @reason in @dir (n == 0: none at all); the counters start again at 0. */
static void assert_drops(uint32_t reason, uint32_t dir, uint64_t n)
{
	for (uint32_t r = 0; r < PN_DROP_MAX; r++)
		for (uint32_t d = 0; d < PN_DIR_MAX; d++) {
			uint64_t got = drops_get(r, d), want = r == reason && d == dir ? n : 0;

			if (got != want)
				fail_msg("drops reason %u dir %u: %llu, want %llu", r, d,
					 (unsigned long long)got, (unsigned long long)want);
		}
	drops_clear();
}

/* Every test starts from a node where nothing is policed and nothing known. */
static int reset(void **state)
{
	drops_clear();
	map_clear(env.skel->maps.pn_ct);
	map_clear(env.skel->maps.pn_frags);
	map_clear(env.skel->maps.pn_policy);
	map_clear(env.skel->maps.pn_policy_cidrs);
	cidr_set(WORLD_CIDR, 16, ID_CIDR);
	ep_set(&pod_a, 0);
	ep_set(&pod_b, 0);
	return 0;
}

/* --- specs used throughout ------------------------------------------------------ */
#define UDP(s, d, sp, dp)	((struct spec){ .src = (s), .dst = (d), .proto = IPPROTO_UDP, \
						.sport = (sp), .dport = (dp) })
#define TCP(s, d, sp, dp, fl)	((struct spec){ .src = (s), .dst = (d), .proto = IPPROTO_TCP, \
						.sport = (sp), .dport = (dp), .tcp_flags = (fl) })
#define SCTP(s, d, sp, dp)	((struct spec){ .src = (s), .dst = (d), .proto = IPPROTO_SCTP, \
						.sport = (sp), .dport = (dp) })
#define PING(s, d, id)		((struct spec){ .src = (s), .dst = (d), \
						.proto = IPPROTO_ICMP, .sport = (id), .dport = 8 })
#define PONG(s, d, id)		((struct spec){ .src = (s), .dst = (d), \
						.proto = IPPROTO_ICMP, .sport = (id), .dport = 0 })

static struct spec reversed(struct spec s)
{
	const char *a = s.src;
	uint16_t p = s.sport;

	s.src = s.dst;
	s.dst = a;
	if (s.proto != IPPROTO_ICMP) {
		s.sport = s.dport;
		s.dport = p;
	}
	return s;
}

/* --- the skeleton matches the ABI ---------------------------------------------- */
static void test_maps_match_abi(void **state)
{
	struct bpf_map *pol = env.skel->maps.pn_policy;
	struct bpf_map *cidrs = env.skel->maps.pn_policy_cidrs;
	struct bpf_map *ct = env.skel->maps.pn_ct;
	struct bpf_map *frags = env.skel->maps.pn_frags;

	assert_int_equal(bpf_map__type(pol), BPF_MAP_TYPE_LPM_TRIE);
	assert_int_equal(bpf_map__max_entries(pol), PN_POLICY_MAX);
	assert_int_equal(bpf_map__map_flags(pol), BPF_F_NO_PREALLOC);
	assert_int_equal(bpf_map__key_size(pol), sizeof(struct pn_policy_key));
	assert_int_equal(bpf_map__value_size(pol), sizeof(struct pn_policy_entry));

	assert_int_equal(bpf_map__type(cidrs), BPF_MAP_TYPE_LPM_TRIE);
	assert_int_equal(bpf_map__max_entries(cidrs), PN_POLICY_CIDRS_MAX);
	assert_int_equal(bpf_map__map_flags(cidrs), BPF_F_NO_PREALLOC);
	assert_int_equal(bpf_map__key_size(cidrs), sizeof(struct pn_ipcache_key));
	assert_int_equal(bpf_map__value_size(cidrs), sizeof(uint32_t));

	assert_int_equal(bpf_map__type(ct), BPF_MAP_TYPE_LRU_HASH);
	assert_int_equal(bpf_map__max_entries(ct), PN_CT_MAX);
	assert_int_equal(bpf_map__key_size(ct), sizeof(struct pn_ct_key));
	assert_int_equal(bpf_map__value_size(ct), sizeof(struct pn_ct_entry));

	assert_int_equal(bpf_map__type(frags), BPF_MAP_TYPE_LRU_HASH);
	assert_int_equal(bpf_map__max_entries(frags), PN_FRAGS_MAX);
	assert_int_equal(bpf_map__key_size(frags), sizeof(struct pn_frag_key));
	assert_int_equal(bpf_map__value_size(frags), sizeof(struct pn_frag_ports));
}

/* --- unpoliced ------------------------------------------------------------------ */
/* No flags, no entries: everything passes as before, and every new flow
 * still gets its conntrack entry. */
static void test_unpoliced_passes_with_ct(void **state)
{
	struct spec ab = UDP(pod_a.ip, pod_b.ip, 40000, 9090);
	struct spec aw = TCP(pod_a.ip, WORLD_IP, 40001, 443, TCP_SYN);
	struct spec ar = TCP(pod_a.ip, REMOTE_POD, 40002, 80, TCP_SYN);
	struct spec hb = TCP(GATEWAY, pod_b.ip, 40003, 8080, TCP_SYN);
	struct spec ob = UDP(REMOTE_POD, pod_b.ip, 40004, 53);
	uint64_t t0 = now_ns();
	struct pn_ct_entry e;

	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_REDIRECT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, aw), TC_ACT_OK);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ar), TC_ACT_REDIRECT);	/* tunnel */
	assert_int_equal(run(TO_CONTAINER, &pod_b, hb), TC_ACT_OK);
	assert_int_equal(run(FROM_OVERLAY, NULL, ob), TC_ACT_REDIRECT);
	assert_drops(0, 0, 0);

	assert_true(ct_get(ab, &e));
	assert_int_equal(e.flags, 0);
	/* The coarse clock lags CLOCK_MONOTONIC by up to a tick. */
	assert_true(e.last_seen_ns + NSEC / 10 >= t0 && e.last_seen_ns <= now_ns());
	assert_true(ct_get(aw, &e));
	assert_true(ct_get(ar, &e));
	assert_true(ct_get(hb, &e));
	assert_true(ct_get(ob, &e));
	assert_int_equal(map_count(env.skel->maps.pn_ct), 5);

	/* The reply is known as one: SEEN_REPLY, no second entry. */
	struct spec ba = reversed(ab);

	assert_int_equal(run(FROM_CONTAINER, &pod_b, ba), TC_ACT_REDIRECT);
	assert_true(ct_get(ab, &e));
	assert_int_equal(e.flags, PN_CT_F_SEEN_REPLY);
	assert_false(ct_get(ba, &e));
	assert_int_equal(map_count(env.skel->maps.pn_ct), 5);
}

/* --- egress ---------------------------------------------------------------------- */
static void test_egress_isolated_no_entries_denies(void **state)
{
	struct spec ab = UDP(pod_a.ip, pod_b.ip, 40000, 9090);
	struct spec aw = TCP(pod_a.ip, WORLD_IP, 40001, 443, TCP_SYN);

	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_SHOT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, aw), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 2);
	assert_int_equal(map_count(env.skel->maps.pn_ct), 0);
	/* Not ingress: a still receives from the node. */
	assert_int_equal(run(TO_CONTAINER, &pod_a, TCP(WORLD_IP, pod_a.ip, 1, 2, TCP_SYN)),
			 TC_ACT_OK);
}

static void test_allow_by_pod_identity(void **state)
{
	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS);
	allow(&pod_a, pod_b.identity, PN_DIR_EGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);
	allow(&pod_a, ID_REMOTE, PN_DIR_EGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);

	assert_int_equal(run(FROM_CONTAINER, &pod_a, TCP(pod_a.ip, pod_b.ip, 1000, 80, TCP_SYN)),
			 TC_ACT_REDIRECT);
	/* A remote pod, by its ipcache identity. */
	assert_int_equal(run(FROM_CONTAINER, &pod_a,
			     TCP(pod_a.ip, REMOTE_POD, 1000, 80, TCP_SYN)), TC_ACT_REDIRECT);
	assert_drops(0, 0, 0);
	/* Same port, peers with other identities: a pod in the remote CIDR
	 * without an identity of its own (world), the world. */
	assert_int_equal(run(FROM_CONTAINER, &pod_a, TCP(pod_a.ip, OTHER_POD, 1000, 80, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, TCP(pod_a.ip, WORLD_IP, 1000, 80, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 2);
}

static void test_allow_by_cidr_identity(void **state)
{
	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS);
	allow(&pod_a, ID_CIDR, PN_DIR_EGRESS, IPPROTO_TCP, 443, PN_POLICY_PLEN_FULL);

	assert_int_equal(run(FROM_CONTAINER, &pod_a,
			     TCP(pod_a.ip, WORLD_IP, 1000, 443, TCP_SYN)), TC_ACT_OK);
	assert_int_equal(run(FROM_CONTAINER, &pod_a,
			     TCP(pod_a.ip, "8.8.4.4", 1000, 443, TCP_SYN)), TC_ACT_OK);
	assert_drops(0, 0, 0);
	assert_int_equal(run(FROM_CONTAINER, &pod_a,
			     TCP(pod_a.ip, WORLD_IP2, 1000, 443, TCP_SYN)), TC_ACT_SHOT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a,
			     TCP(pod_a.ip, WORLD_IP, 1000, 444, TCP_SYN)), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 2);
}

static void test_allow_by_any(void **state)
{
	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS);
	allow(&pod_a, PN_ID_ANY, PN_DIR_EGRESS, IPPROTO_UDP, 53, PN_POLICY_PLEN_FULL);

	assert_int_equal(run(FROM_CONTAINER, &pod_a, UDP(pod_a.ip, WORLD_IP, 1000, 53)),
			 TC_ACT_OK);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, UDP(pod_a.ip, pod_b.ip, 1000, 53)),
			 TC_ACT_REDIRECT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, UDP(pod_a.ip, GATEWAY, 1000, 53)),
			 TC_ACT_OK);
	assert_drops(0, 0, 0);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, TCP(pod_a.ip, WORLD_IP, 1000, 53, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 1);
}

/* A range 8080-8087 is one prefix: 13 bits of the port. */
static void test_ports_exact_range_wrong(void **state)
{
	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS);
	allow(&pod_a, pod_b.identity, PN_DIR_EGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);
	allow(&pod_a, pod_b.identity, PN_DIR_EGRESS, IPPROTO_UDP, 8080, PN_POLICY_PLEN_PROTO + 13);

	assert_int_equal(run(FROM_CONTAINER, &pod_a, TCP(pod_a.ip, pod_b.ip, 1, 80, TCP_SYN)),
			 TC_ACT_REDIRECT);
	for (uint16_t port = 8080; port <= 8087; port++)
		assert_int_equal(run(FROM_CONTAINER, &pod_a, UDP(pod_a.ip, pod_b.ip, 1, port)),
				 TC_ACT_REDIRECT);
	assert_drops(0, 0, 0);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, TCP(pod_a.ip, pod_b.ip, 1, 81, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, UDP(pod_a.ip, pod_b.ip, 1, 8079)),
			 TC_ACT_SHOT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, UDP(pod_a.ip, pod_b.ip, 1, 8088)),
			 TC_ACT_SHOT);
	/* The port belongs to its protocol: UDP 80 and TCP 8080 are not allowed. */
	assert_int_equal(run(FROM_CONTAINER, &pod_a, UDP(pod_a.ip, pod_b.ip, 1, 80)),
			 TC_ACT_SHOT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, TCP(pod_a.ip, pod_b.ip, 1, 8080, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 5);
}

/* Rules with ports are TCP/UDP/SCTP only; a rule without ports allows every
 * protocol, ICMP too. */
static void test_protocol_wildcard_and_icmp(void **state)
{
	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS);
	allow(&pod_a, pod_b.identity, PN_DIR_EGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);
	allow(&pod_a, pod_b.identity, PN_DIR_EGRESS, IPPROTO_UDP, 0, PN_POLICY_PLEN_PROTO);

	assert_int_equal(run(FROM_CONTAINER, &pod_a, PING(pod_a.ip, pod_b.ip, 7)), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 1);
	/* Any UDP port with the protocol-wide entry. */
	assert_int_equal(run(FROM_CONTAINER, &pod_a, UDP(pod_a.ip, pod_b.ip, 1, 12345)),
			 TC_ACT_REDIRECT);

	allow(&pod_a, ID_REMOTE, PN_DIR_EGRESS, 0, 0, PN_POLICY_PLEN_ANY_PROTO);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, PING(pod_a.ip, REMOTE_POD, 7)),
			 TC_ACT_REDIRECT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a,
			     TCP(pod_a.ip, REMOTE_POD, 1, 2222, TCP_SYN)), TC_ACT_REDIRECT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, SCTP(pod_a.ip, REMOTE_POD, 1, 9)),
			 TC_ACT_REDIRECT);
	/* Another protocol without ports (GRE, 47). */
	struct spec gre = { .src = pod_a.ip, .dst = REMOTE_POD, .proto = 47 };

	assert_int_equal(run(FROM_CONTAINER, &pod_a, gre), TC_ACT_REDIRECT);
	gre.dst = pod_b.ip;
	assert_int_equal(run(FROM_CONTAINER, &pod_a, gre), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 1);

	/* The echo request's conntrack tuple: identifier as source port. */
	struct pn_ct_entry e;

	assert_true(ct_get(PING(pod_a.ip, REMOTE_POD, 7), &e));
}

/* --- ingress ------------------------------------------------------------------- */
/* Pod to pod on one node: from_container judges the destination's ingress
 * too, and counts its denial as ingress. */
static void test_ingress_local_destination_in_from_container(void **state)
{
	struct spec ab = TCP(pod_a.ip, pod_b.ip, 1000, 80, TCP_SYN);

	ep_set(&pod_b, PN_EP_F_POLICY_INGRESS);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_INGRESS, 1);
	assert_false(ct_get(ab, &(struct pn_ct_entry){ 0 }));

	allow(&pod_b, pod_a.identity, PN_DIR_INGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_REDIRECT);
	assert_true(ct_get(ab, &(struct pn_ct_entry){ 0 }));
	/* Both ends isolated: both must allow. */
	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS);
	ab.sport = 1001;
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 1);
	allow(&pod_a, pod_b.identity, PN_DIR_EGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_REDIRECT);
	/* An ipBlock holding a's address allows it in by CIDR identity. */
	ep_set(&pod_a, 0);
	cidr_set("10.244.0.0", 24, ID_CIDR);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, UDP(pod_a.ip, pod_b.ip, 1, 53)), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_INGRESS, 1);
	allow(&pod_b, ID_CIDR, PN_DIR_INGRESS, IPPROTO_UDP, 53, PN_POLICY_PLEN_FULL);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, UDP(pod_a.ip, pod_b.ip, 2, 53)),
			 TC_ACT_REDIRECT);
	assert_drops(0, 0, 0);
}

/* to_container: the node itself (kubelet probes) always gets in; others need
 * an entry. */
static void test_ingress_to_container_host_always_allowed(void **state)
{
	ep_set(&pod_b, PN_EP_F_POLICY_INGRESS);
	assert_int_equal(run(TO_CONTAINER, &pod_b, TCP(GATEWAY, pod_b.ip, 1, 8080, TCP_SYN)),
			 TC_ACT_OK);
	assert_int_equal(run(TO_CONTAINER, &pod_b, TCP(NODE_IP, pod_b.ip, 1, 8080, TCP_SYN)),
			 TC_ACT_OK);
	assert_int_equal(run(TO_CONTAINER, &pod_b, PING(NODE_IP, pod_b.ip, 3)), TC_ACT_OK);
	assert_drops(0, 0, 0);
	/* The world and remote pods (native routing) do not. */
	assert_int_equal(run(TO_CONTAINER, &pod_b, TCP(WORLD_IP, pod_b.ip, 1, 8080, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_int_equal(run(TO_CONTAINER, &pod_b, TCP(REMOTE_POD, pod_b.ip, 1, 8080, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_INGRESS, 2);
	allow(&pod_b, ID_REMOTE, PN_DIR_INGRESS, IPPROTO_TCP, 8080, PN_POLICY_PLEN_FULL);
	assert_int_equal(run(TO_CONTAINER, &pod_b, TCP(REMOTE_POD, pod_b.ip, 1, 8080, TCP_SYN)),
			 TC_ACT_OK);
	/* Ingress isolation is not egress: HOST is not special for egress. */
	ep_set(&pod_b, PN_EP_F_POLICY_EGRESS);
	assert_int_equal(run(FROM_CONTAINER, &pod_b, TCP(pod_b.ip, NODE_IP, 2, 10250, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 1);
}

static void test_ingress_from_overlay(void **state)
{
	struct spec rb = TCP(REMOTE_POD, pod_b.ip, 5000, 80, TCP_SYN);

	ep_set(&pod_b, PN_EP_F_POLICY_INGRESS);
	assert_int_equal(run(FROM_OVERLAY, NULL, rb), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_INGRESS, 1);
	allow(&pod_b, ID_REMOTE, PN_DIR_INGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);
	assert_int_equal(run(FROM_OVERLAY, NULL, rb), TC_ACT_REDIRECT);
	assert_true(ct_get(rb, &(struct pn_ct_entry){ 0 }));
	/* The reply leaves b through from_container, b egress isolated. */
	ep_set(&pod_b, PN_EP_F_POLICY_INGRESS | PN_EP_F_POLICY_EGRESS);
	assert_int_equal(run(FROM_CONTAINER, &pod_b, reversed(rb)), TC_ACT_REDIRECT);
	/* Packets for the node itself are not ours to judge. */
	assert_int_equal(run(FROM_OVERLAY, NULL, TCP(REMOTE_POD, GATEWAY, 1, 22, TCP_SYN)),
			 TC_ACT_OK);
	assert_drops(0, 0, 0);
}

/* --- state ------------------------------------------------------------------------- */
/* a may open connections to b; b's egress and a's ingress are isolated with
 * nothing allowed, yet b's replies reach a. */
static void test_reply_passes_against_isolated_reverse(void **state)
{
	struct spec ab = TCP(pod_a.ip, pod_b.ip, 40000, 80, TCP_SYN);
	struct spec ba = reversed(ab);
	struct pn_ct_entry e;

	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS | PN_EP_F_POLICY_INGRESS);
	ep_set(&pod_b, PN_EP_F_POLICY_EGRESS | PN_EP_F_POLICY_INGRESS);
	allow(&pod_a, pod_b.identity, PN_DIR_EGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);
	allow(&pod_b, pod_a.identity, PN_DIR_INGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);

	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_REDIRECT);
	ba.tcp_flags = TCP_SYN | TCP_ACK;
	assert_int_equal(run(FROM_CONTAINER, &pod_b, ba), TC_ACT_REDIRECT);
	ab.tcp_flags = TCP_ACK;
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_REDIRECT);
	assert_drops(0, 0, 0);
	assert_true(ct_get(ab, &e));
	assert_int_equal(e.flags, PN_CT_F_SEEN_REPLY);

	/* b opening its own connection to a is still denied, in both places
	 * that isolate it (b's egress judged first). */
	struct spec new_ba = TCP(pod_b.ip, pod_a.ip, 80, 40001, TCP_SYN);

	assert_int_equal(run(FROM_CONTAINER, &pod_b, new_ba), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 1);

	/* Same for a flow to the world: the reply comes back through
	 * to_container. */
	allow(&pod_a, PN_ID_ANY, PN_DIR_EGRESS, IPPROTO_UDP, 53, PN_POLICY_PLEN_FULL);
	struct spec aw = UDP(pod_a.ip, WORLD_IP, 5353, 53);

	assert_int_equal(run(FROM_CONTAINER, &pod_a, aw), TC_ACT_OK);
	assert_int_equal(run(TO_CONTAINER, &pod_a, reversed(aw)), TC_ACT_OK);
	assert_int_equal(run(TO_CONTAINER, &pod_a, UDP(WORLD_IP, pod_a.ip, 53, 5354)),
			 TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_INGRESS, 1);
}

/* Ping: the echo reply's reversed tuple is the request's. */
static void test_icmp_echo_reply_is_a_reply(void **state)
{
	ep_set(&pod_b, PN_EP_F_POLICY_EGRESS | PN_EP_F_POLICY_INGRESS);
	allow(&pod_b, pod_a.identity, PN_DIR_INGRESS, 0, 0, PN_POLICY_PLEN_ANY_PROTO);

	assert_int_equal(run(FROM_CONTAINER, &pod_a, PING(pod_a.ip, pod_b.ip, 0x77)),
			 TC_ACT_REDIRECT);
	assert_int_equal(run(FROM_CONTAINER, &pod_b, PONG(pod_b.ip, pod_a.ip, 0x77)),
			 TC_ACT_REDIRECT);
	assert_drops(0, 0, 0);
	/* Another identifier is another flow: an unsolicited reply is NEW. */
	assert_int_equal(run(FROM_CONTAINER, &pod_b, PONG(pod_b.ip, pod_a.ip, 0x78)),
			 TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 1);
}

/* A policy change does not cut the flows it was asked about earlier. */
static void test_established_survives_policy_delete(void **state)
{
	struct spec ab = TCP(pod_a.ip, pod_b.ip, 40000, 80, TCP_SYN);

	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS);
	allow(&pod_a, pod_b.identity, PN_DIR_EGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_REDIRECT);
	disallow(&pod_a, pod_b.identity, PN_DIR_EGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);

	ab.tcp_flags = TCP_ACK;
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_REDIRECT);
	assert_drops(0, 0, 0);
	ab.sport = 40001;	/* a new connection is judged by the new policy */
	ab.tcp_flags = TCP_SYN;
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 1);

	/* Likewise a flow that began before a was isolated at all. */
	struct spec early = UDP(pod_a.ip, WORLD_IP, 7000, 7000);

	ep_set(&pod_a, 0);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, early), TC_ACT_OK);
	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, early), TC_ACT_OK);
	assert_drops(0, 0, 0);
}

/* Entries idle beyond their lifetime count as absent. */
static void test_expired_ct_is_new(void **state)
{
	struct spec udp = UDP(pod_a.ip, WORLD_IP, 6000, 6000);
	struct spec tcp = TCP(pod_a.ip, WORLD_IP, 6001, 6001, TCP_ACK);
	struct spec fin = TCP(pod_a.ip, WORLD_IP, 6002, 6002, TCP_ACK);
	uint64_t now = now_ns();
	struct pn_ct_entry e;

	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS);
	/* UDP idle past 60 s: NEW, denied.  Also as a reply. */
	ct_put(udp, now - PN_CT_LIFETIME_OTHER_NS - 5 * NSEC, 0);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, udp), TC_ACT_SHOT);
	ct_put(reversed(udp), now - PN_CT_LIFETIME_OTHER_NS - 5 * NSEC, 0);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, udp), TC_ACT_SHOT);
	/* The same age is young for TCP (6 h). */
	ct_put(tcp, now - PN_CT_LIFETIME_OTHER_NS - 5 * NSEC, 0);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, tcp), TC_ACT_OK);
	/* ... and last_seen moved forward. */
	assert_true(ct_get(tcp, &e));
	assert_true(e.last_seen_ns + NSEC >= now);
	/* A closing TCP connection lives 10 s. */
	ct_put(fin, now - PN_CT_LIFETIME_CLOSING_NS - 5 * NSEC, PN_CT_F_CLOSING);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, fin), TC_ACT_SHOT);
	ct_put(fin, now - PN_CT_LIFETIME_CLOSING_NS + 5 * NSEC, PN_CT_F_CLOSING);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, fin), TC_ACT_OK);
	/* A UDP entry within its lifetime passes. */
	ct_put(udp, now - 30 * NSEC, 0);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, udp), TC_ACT_OK);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 3);

	/* An expired entry of an unpoliced pod is simply replaced. */
	ep_set(&pod_a, 0);
	ct_put(udp, now - PN_CT_LIFETIME_OTHER_NS - 5 * NSEC, PN_CT_F_SEEN_REPLY);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, udp), TC_ACT_OK);
	assert_true(ct_get(udp, &e));
	assert_int_equal(e.flags, 0);
	assert_true(e.last_seen_ns + NSEC >= now);
}

/* FIN and RST shorten the entry's life; a bare SYN on a closing tuple is a
 * new connection, judged again. */
static void test_tcp_closing(void **state)
{
	struct spec ab = TCP(pod_a.ip, pod_b.ip, 40000, 80, TCP_SYN);
	struct spec ba = reversed(ab);
	struct pn_ct_entry e;

	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS);
	allow(&pod_a, pod_b.identity, PN_DIR_EGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_REDIRECT);
	assert_true(ct_get(ab, &e));
	assert_int_equal(e.flags, 0);
	ba.tcp_flags = TCP_FIN | TCP_ACK;
	assert_int_equal(run(FROM_CONTAINER, &pod_b, ba), TC_ACT_REDIRECT);
	assert_true(ct_get(ab, &e));
	assert_int_equal(e.flags, PN_CT_F_SEEN_REPLY | PN_CT_F_CLOSING);
	ab.tcp_flags = TCP_ACK;
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_REDIRECT);

	disallow(&pod_a, pod_b.identity, PN_DIR_EGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);
	ab.tcp_flags = TCP_SYN;
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS, 1);

	/* A connection that starts with RST is closing from the start. */
	struct spec rst = TCP(pod_a.ip, WORLD_IP, 1, 2, TCP_RST);

	ep_set(&pod_a, 0);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, rst), TC_ACT_OK);
	assert_true(ct_get(rst, &e));
	assert_int_equal(e.flags, PN_CT_F_CLOSING);
}

/* --- SCTP ------------------------------------------------------------------------ */
static void test_sctp_ports(void **state)
{
	ep_set(&pod_b, PN_EP_F_POLICY_INGRESS);
	allow(&pod_b, pod_a.identity, PN_DIR_INGRESS, IPPROTO_SCTP, 80, PN_POLICY_PLEN_FULL);
	allow(&pod_b, ID_REMOTE, PN_DIR_INGRESS, IPPROTO_TCP, 80, PN_POLICY_PLEN_FULL);

	struct spec ab = SCTP(pod_a.ip, pod_b.ip, 5000, 80);

	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_REDIRECT);
	assert_true(ct_get(ab, &(struct pn_ct_entry){ 0 }));
	/* The association's replies. */
	assert_int_equal(run(FROM_CONTAINER, &pod_b, reversed(ab)), TC_ACT_REDIRECT);
	assert_drops(0, 0, 0);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, SCTP(pod_a.ip, pod_b.ip, 5000, 81)),
			 TC_ACT_SHOT);
	/* A TCP entry on 80 says nothing about SCTP 80. */
	assert_int_equal(run(FROM_OVERLAY, NULL, SCTP(REMOTE_POD, pod_b.ip, 5000, 80)),
			 TC_ACT_SHOT);
	assert_int_equal(run(FROM_OVERLAY, NULL, TCP(REMOTE_POD, pod_b.ip, 5000, 80, TCP_SYN)),
			 TC_ACT_REDIRECT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_INGRESS, 2);
	/* A range of SCTP ports: 9008-9023 is 12 bits of prefix. */
	allow(&pod_b, pod_a.identity, PN_DIR_INGRESS, IPPROTO_SCTP, 9008,
	      PN_POLICY_PLEN_PROTO + 12);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, SCTP(pod_a.ip, pod_b.ip, 5000, 9015)),
			 TC_ACT_REDIRECT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, SCTP(pod_a.ip, pod_b.ip, 5000, 9023)),
			 TC_ACT_REDIRECT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, SCTP(pod_a.ip, pod_b.ip, 5000, 9024)),
			 TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_INGRESS, 1);
}

/* --- fragments -------------------------------------------------------------------- */
/* A 4000-byte UDP datagram: first fragment with the header, then two more. */
static struct spec frag(struct spec s, uint16_t id, uint16_t frag_off)
{
	s.ip_id = id;
	s.frag = frag_off;
	return s;
}

static bool frag_get(struct spec s, uint16_t id, struct pn_frag_ports *ports)
{
	struct pn_frag_key k = {
		.saddr = ip4(s.src), .daddr = ip4(s.dst), .id = htons(id), .protocol = s.proto,
	};

	return bpf_map__lookup_elem(env.skel->maps.pn_frags, &k, sizeof(k), ports,
				    sizeof(*ports), 0) == 0;
}

static void test_fragments_follow_their_first(void **state)
{
	struct spec ab = UDP(pod_a.ip, pod_b.ip, 5000, 9000);
	struct pn_frag_ports ports;

	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS);
	allow(&pod_a, pod_b.identity, PN_DIR_EGRESS, IPPROTO_UDP, 9000, PN_POLICY_PLEN_FULL);

	assert_int_equal(run(FROM_CONTAINER, &pod_a, frag(ab, 0x4242, IP_MF)), TC_ACT_REDIRECT);
	assert_true(frag_get(ab, 0x4242, &ports));
	assert_int_equal(ports.sport, htons(5000));
	assert_int_equal(ports.dport, htons(9000));
	assert_int_equal(run(FROM_CONTAINER, &pod_a, frag(ab, 0x4242, IP_MF | 185)),
			 TC_ACT_REDIRECT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, frag(ab, 0x4242, 370)), TC_ACT_REDIRECT);
	assert_drops(0, 0, 0);
	assert_int_equal(map_count(env.skel->maps.pn_ct), 1);

	/* A denied first fragment leaves nothing for the rest to follow. */
	struct spec denied = UDP(pod_a.ip, pod_b.ip, 5000, 9001);

	assert_int_equal(run(FROM_CONTAINER, &pod_a, frag(denied, 0x4343, IP_MF)), TC_ACT_SHOT);
	assert_false(frag_get(denied, 0x4343, &ports));
	assert_int_equal(run(FROM_CONTAINER, &pod_a, frag(denied, 0x4343, 185)), TC_ACT_SHOT);
	assert_int_equal(drops_get(PN_DROP_POLICY_DENIED, PN_DIR_EGRESS), 1);
	assert_int_equal(drops_get(PN_DROP_FRAGMENT_UNKNOWN, PN_DIR_EGRESS), 1);

	/* Replies in fragments (a large UDP answer) follow conntrack. */
	ep_set(&pod_b, PN_EP_F_POLICY_EGRESS);
	assert_int_equal(run(FROM_CONTAINER, &pod_b, frag(reversed(ab), 0x5151, IP_MF)),
			 TC_ACT_REDIRECT);
	assert_int_equal(run(FROM_CONTAINER, &pod_b, frag(reversed(ab), 0x5151, 185)),
			 TC_ACT_REDIRECT);
	/* A first fragment too short for its UDP header is invalid. */
	struct spec tiny = frag(ab, 0x6161, IP_MF);

	tiny.l4_len = 4;
	assert_int_equal(run(FROM_CONTAINER, &pod_a, tiny), TC_ACT_SHOT);
	assert_int_equal(drops_get(PN_DROP_INVALID_PACKET, PN_DIR_EGRESS), 1);
}

/* A later fragment whose first never passed here: only rules that need no
 * port can allow it, and it never creates a conntrack entry. */
static void test_fragment_unknown_flow(void **state)
{
	struct spec ab = UDP(pod_a.ip, pod_b.ip, 5000, 9000);
	struct spec later = frag(ab, 0x7000, 185);

	ep_set(&pod_b, PN_EP_F_POLICY_INGRESS);
	allow(&pod_b, pod_a.identity, PN_DIR_INGRESS, IPPROTO_UDP, 9000, PN_POLICY_PLEN_FULL);
	/* 32768-65535: one prefix, a range as the compiler emits them (never
	 * holding port 0, which NetworkPolicy ports cannot name). */
	allow(&pod_b, pod_a.identity, PN_DIR_INGRESS, IPPROTO_UDP, 32768, PN_POLICY_PLEN_PROTO + 1);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, later), TC_ACT_SHOT);
	assert_drops(PN_DROP_FRAGMENT_UNKNOWN, PN_DIR_INGRESS, 1);
	/* Same through to_container and from_overlay. */
	allow(&pod_b, ID_REMOTE, PN_DIR_INGRESS, IPPROTO_UDP, 9000, PN_POLICY_PLEN_FULL);
	struct spec remote_later = frag(UDP(REMOTE_POD, pod_b.ip, 1, 9000), 9, 185);

	assert_int_equal(run(FROM_OVERLAY, NULL, remote_later), TC_ACT_SHOT);
	assert_int_equal(run(TO_CONTAINER, &pod_b, remote_later), TC_ACT_SHOT);
	assert_drops(PN_DROP_FRAGMENT_UNKNOWN, PN_DIR_INGRESS, 2);

	/* A rule without ports lets it through... */
	allow(&pod_b, pod_a.identity, PN_DIR_INGRESS, 0, 0, PN_POLICY_PLEN_ANY_PROTO);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, later), TC_ACT_REDIRECT);
	/* ... as does one for the whole protocol (any port is its port). */
	allow(&pod_b, ID_REMOTE, PN_DIR_INGRESS, IPPROTO_UDP, 0, PN_POLICY_PLEN_PROTO);
	assert_int_equal(run(FROM_OVERLAY, NULL, remote_later), TC_ACT_REDIRECT);
	/* ... but a TCP one does not. */
	allow(&pod_b, PN_ID_ANY, PN_DIR_INGRESS, IPPROTO_TCP, 0, PN_POLICY_PLEN_PROTO);
	assert_int_equal(run(TO_CONTAINER, &pod_b, frag(UDP(WORLD_IP, pod_b.ip, 1, 9000), 9, 185)),
			 TC_ACT_SHOT);
	assert_drops(PN_DROP_FRAGMENT_UNKNOWN, PN_DIR_INGRESS, 1);
	/* None of them made a flow. */
	assert_int_equal(map_count(env.skel->maps.pn_ct), 0);
	assert_int_equal(map_count(env.skel->maps.pn_frags), 0);
}

/* Unpoliced pods: fragments flow whatever their order, as before. */
static void test_fragments_unpoliced(void **state)
{
	struct spec ab = UDP(pod_a.ip, pod_b.ip, 5000, 9000);

	assert_int_equal(run(FROM_CONTAINER, &pod_a, frag(ab, 0x100, 370)), TC_ACT_REDIRECT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, frag(ab, 0x100, IP_MF)), TC_ACT_REDIRECT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, frag(ab, 0x100, IP_MF | 185)),
			 TC_ACT_REDIRECT);
	assert_int_equal(run(TO_CONTAINER, &pod_b, frag(UDP(WORLD_IP, pod_b.ip, 1, 2), 7, 185)),
			 TC_ACT_OK);
	assert_int_equal(run(FROM_OVERLAY, NULL, frag(UDP(REMOTE_POD, pod_b.ip, 1, 2), 7, 185)),
			 TC_ACT_REDIRECT);
	assert_drops(0, 0, 0);
	assert_int_equal(map_count(env.skel->maps.pn_ct), 1);
}

/* --- identities ---------------------------------------------------------------------- */
static void test_identity_pending(void **state)
{
	struct spec ab = UDP(pod_a.ip, pod_b.ip, 5000, 9000);

	/* The source pending: its NEW connections go nowhere. */
	ep_set(&pod_a, PN_EP_F_IDENTITY_PENDING);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_SHOT);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, UDP(pod_a.ip, WORLD_IP, 1, 53)),
			 TC_ACT_SHOT);
	assert_drops(PN_DROP_IDENTITY_PENDING, PN_DIR_EGRESS, 2);
	/* Nobody gets in either, not even the node. */
	assert_int_equal(run(FROM_CONTAINER, &pod_b, reversed(ab)), TC_ACT_SHOT);
	assert_int_equal(run(TO_CONTAINER, &pod_a, TCP(GATEWAY, pod_a.ip, 1, 80, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_int_equal(run(FROM_OVERLAY, NULL, TCP(REMOTE_POD, pod_a.ip, 1, 80, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_drops(PN_DROP_IDENTITY_PENDING, PN_DIR_INGRESS, 3);
	assert_int_equal(map_count(env.skel->maps.pn_ct), 0);

	/* Once known, the pod works; if the agent ever marked it pending
	 * again, its established connections would not be cut. */
	ep_set(&pod_a, 0);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_REDIRECT);
	ep_set(&pod_a, PN_EP_F_IDENTITY_PENDING);
	assert_int_equal(run(FROM_CONTAINER, &pod_a, ab), TC_ACT_REDIRECT);
	assert_int_equal(run(FROM_CONTAINER, &pod_b, reversed(ab)), TC_ACT_REDIRECT);
	assert_drops(0, 0, 0);
}

/* Non-IPv4 never reaches the policy and never bypasses it. */
static void test_ipv6_from_policed_pod_dropped(void **state)
{
	static const uint8_t ip6[40] = { 0x60, 0, 0, 0, 0, 8, 17, 64 };
	struct pkt p = { 0 };

	ep_set(&pod_a, PN_EP_F_POLICY_EGRESS | PN_EP_F_POLICY_INGRESS);
	put_eth(&p, pod_a.host_mac, pod_a.pod_mac, ETH_P_IPV6);
	put(&p, ip6, sizeof(ip6));
	put(&p, "\x13\x88\x23\x28\x00\x08\x00\x00", 8);
	assert_int_equal(run_frame(FROM_CONTAINER, &pod_a, &p), TC_ACT_SHOT);
	assert_drops(PN_DROP_UNSUPPORTED_L3, PN_DIR_EGRESS, 1);

	p.len = 0;
	put_eth(&p, pod_a.pod_mac, pod_a.host_mac, ETH_P_IPV6);
	put(&p, ip6, sizeof(ip6));
	put(&p, "\x13\x88\x23\x28\x00\x08\x00\x00", 8);
	assert_int_equal(run_frame(TO_CONTAINER, &pod_a, &p), TC_ACT_SHOT);
	assert_drops(PN_DROP_UNSUPPORTED_L3, PN_DIR_INGRESS, 1);
}

/* Truncated L4 headers cannot be judged: invalid. */
static void test_truncated_l4_invalid(void **state)
{
	struct spec s = TCP(pod_a.ip, pod_b.ip, 1, 80, TCP_SYN);

	s.l4_len = 12;
	assert_int_equal(run(FROM_CONTAINER, &pod_a, s), TC_ACT_SHOT);
	s = UDP(pod_a.ip, pod_b.ip, 1, 80);
	s.l4_len = 6;
	assert_int_equal(run(FROM_CONTAINER, &pod_a, s), TC_ACT_SHOT);
	assert_drops(PN_DROP_INVALID_PACKET, PN_DIR_EGRESS, 2);
	/* The smallest valid UDP datagram (the frame ends with its header). */
	s.l4_len = 8;
	assert_int_equal(run(FROM_CONTAINER, &pod_a, s), TC_ACT_REDIRECT);
	assert_drops(0, 0, 0);
}

/* --- ICMP errors ------------------------------------------------------------------- */
/*
 * An ICMP error from @from to @to (on pod a's veth) quoting the packet
 * @quoted.  Type 3 code 4: fragmentation needed (path MTU discovery).
 */
static void build_icmp_error(struct pkt *p, const char *from, const char *to, struct spec quoted)
{
	uint8_t inner_l4[64], l4[128];
	struct pkt inner = { 0 };
	size_t n = build_l4(&quoted, inner_l4);
	struct spec outer = { .src = from, .dst = to, .proto = IPPROTO_ICMP };

	put_ipv4(&inner, &quoted, inner_l4, n);
	memset(l4, 0, 8);
	l4[0] = 3;
	l4[1] = 4;
	put_be16(l4 + 6, 1400);	/* next-hop MTU */
	memcpy(l4 + 8, inner.b, 28);	/* header + 8 bytes, as routers quote */
	p->len = 0;
	put_eth(p, pod_a.pod_mac, pod_a.host_mac, ETH_P_IP);
	put_ipv4(p, &outer, l4, 8 + 28);
}

static void test_icmp_error_related(void **state)
{
	struct spec aw = TCP(pod_a.ip, WORLD_IP, 40000, 443, TCP_SYN);
	struct spec other = TCP(pod_a.ip, WORLD_IP, 40001, 443, TCP_SYN);
	struct pkt p;

	assert_int_equal(run(FROM_CONTAINER, &pod_a, aw), TC_ACT_OK);
	ep_set(&pod_a, PN_EP_F_POLICY_INGRESS);
	size_t before = map_count(env.skel->maps.pn_ct);

	build_icmp_error(&p, ROUTER, pod_a.ip, aw);
	assert_int_equal(run_frame(TO_CONTAINER, &pod_a, &p), TC_ACT_OK);
	assert_drops(0, 0, 0);
	/* About a flow nobody knows: judged as NEW ICMP, denied. */
	build_icmp_error(&p, ROUTER, pod_a.ip, other);
	assert_int_equal(run_frame(TO_CONTAINER, &pod_a, &p), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_INGRESS, 1);
	/* The quoted packet must be one a sent: an "error" quoting the flow's
	 * other direction, as if the world had sent it, is not a's. */
	build_icmp_error(&p, ROUTER, pod_a.ip, reversed(aw));
	assert_int_equal(run_frame(TO_CONTAINER, &pod_a, &p), TC_ACT_SHOT);
	assert_drops(PN_DROP_POLICY_DENIED, PN_DIR_INGRESS, 1);
	/* Errors never become flows. */
	assert_int_equal(map_count(env.skel->maps.pn_ct), before);
	/* A reply's error (the flow's other direction) is related too: a
	 * world client's connection to a, a's reply bouncing. */
	struct spec wa = TCP(WORLD_IP2, pod_a.ip, 5555, 8443, TCP_SYN);

	allow(&pod_a, PN_ID_ANY, PN_DIR_INGRESS, IPPROTO_TCP, 8443, PN_POLICY_PLEN_FULL);
	assert_int_equal(run(TO_CONTAINER, &pod_a, wa), TC_ACT_OK);
	build_icmp_error(&p, ROUTER, pod_a.ip, reversed(wa));
	assert_int_equal(run_frame(TO_CONTAINER, &pod_a, &p), TC_ACT_OK);
	assert_drops(0, 0, 0);
}

/* --- setup -------------------------------------------------------------------------- */
static int group_setup(void **state)
{
	struct pod *const pods[] = { &pod_a, &pod_b };

	if (node_setup("test_policy", pods, ARRAY_SIZE(pods)) < 0)
		return -1;
	/* What the agent writes: local pods, this node's addresses (HOST),
	 * another node's pod CIDR and one of its pods, an ipBlock. */
	ipcache_set(pod_a.ip, 32, pod_a.identity, NULL, PN_IPC_F_LOCAL);
	ipcache_set(pod_b.ip, 32, pod_b.identity, NULL, PN_IPC_F_LOCAL);
	ipcache_set(GATEWAY, 32, PN_ID_HOST, NULL, 0);
	ipcache_set(NODE_IP, 32, PN_ID_HOST, NULL, 0);
	ipcache_set(REMOTE_CIDR, 24, 0, REMOTE_NODE, PN_IPC_F_NODE_CIDR);
	ipcache_set(REMOTE_POD, 32, ID_REMOTE, REMOTE_NODE, PN_IPC_F_REMOTE_POD);
	return 0;
}

static int group_teardown(void **state)
{
	node_teardown();
	return 0;
}

#define T(fn) cmocka_unit_test_setup(fn, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_match_abi),
		T(test_unpoliced_passes_with_ct),
		T(test_egress_isolated_no_entries_denies),
		T(test_allow_by_pod_identity),
		T(test_allow_by_cidr_identity),
		T(test_allow_by_any),
		T(test_ports_exact_range_wrong),
		T(test_protocol_wildcard_and_icmp),
		T(test_ingress_local_destination_in_from_container),
		T(test_ingress_to_container_host_always_allowed),
		T(test_ingress_from_overlay),
		T(test_reply_passes_against_isolated_reverse),
		T(test_icmp_echo_reply_is_a_reply),
		T(test_established_survives_policy_delete),
		T(test_expired_ct_is_new),
		T(test_tcp_closing),
		T(test_sctp_ports),
		T(test_fragments_follow_their_first),
		T(test_fragment_unknown_flow),
		T(test_fragments_unpoliced),
		T(test_identity_pending),
		T(test_ipv6_from_policed_pod_dropped),
		T(test_truncated_l4_invalid),
		T(test_icmp_error_related),
	};

	return cmocka_run_group_tests_name("bpf_lxc policy", tests, group_setup, group_teardown);
}

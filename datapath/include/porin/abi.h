/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel/user contract of porin: every map key and value, pin name and
 * drop reason that both the BPF programs and user space use is defined here,
 * and only here.
 *
 * Rules (see STYLE.md): fixed-width types only, explicit zeroed padding (hash
 * keys compare padding bytes), byte order in the type, and a size assertion on
 * every key and value so a change that breaks pinned maps fails the build.
 */
#ifndef PORIN_ABI_H
#define PORIN_ABI_H

#include <linux/types.h>

/* --- pins under the agent's bpffs root (default /sys/fs/bpf/porin) ------- */
#define PN_DEFAULT_BPF_ROOT		"/sys/fs/bpf/porin"
#define PN_PIN_PROG_FROM_CONTAINER	"prog_from_container"
#define PN_PIN_PROG_TO_CONTAINER	"prog_to_container"
#define PN_PIN_PROG_FROM_OVERLAY	"prog_from_overlay"
#define PN_PIN_PROG_TO_OVERLAY		"prog_to_overlay"
/*
 * Objects of datapath/bpf_lxc.c (skeleton "bpf_lxc"), pinned by their own
 * names under the root (LIBBPF_PIN_BY_NAME for maps):
 *   maps   pn_endpoints  HASH          struct pn_endpoint_key → struct pn_endpoint
 *          pn_ipcache    LPM_TRIE      struct pn_ipcache_key  → struct pn_ipcache_entry
 *          pn_drops      PERCPU_ARRAY  pn_drop_index()        → struct pn_drop_counter
 *          pn_policy     LPM_TRIE      struct pn_policy_key   → struct pn_policy_entry
 *          pn_policy_cidrs LPM_TRIE    struct pn_ipcache_key  → __u32 CIDR identity
 *          pn_ct         LRU_HASH      struct pn_ct_key       → struct pn_ct_entry
 *          pn_frags      LRU_HASH      struct pn_frag_key     → struct pn_frag_ports
 *   progs  from_container  SEC("tc"), clsact ingress of the host-side veth
 *          to_container    SEC("tc"), clsact egress of the host-side veth
 *          from_overlay    SEC("tc"), clsact ingress of PN_VXLAN_DEV (VXLAN mode)
 *          to_overlay      SEC("tc"), clsact egress of PN_VXLAN_DEV (VXLAN mode)
 *   rodata pn_cfg_routing  PN_ROUTING_*; pn_cfg_tunnel_ifindex  ifindex of
 *          PN_VXLAN_DEV (0: none).  Set by the agent before load (node-wide,
 *          fixed for the life of the loaded programs).
 */

/* --- multi-node ------------------------------------------------------------ */
#define PN_ROUTING_NATIVE	0	/* remote pod CIDRs are kernel routes via node IPs */
#define PN_ROUTING_VXLAN	1	/* remote pods through PN_VXLAN_DEV */

#define PN_VXLAN_DEV		"porin_vxlan"	/* external (collect_md) VXLAN device */
#define PN_VXLAN_PORT		8472		/* UDP, the Linux/flannel/Cilium default */
#define PN_VXLAN_VNI		2		/* one fixed VNI: no multi-tenancy here */
#define PN_VXLAN_TTL		64
#define PN_VXLAN_OVERHEAD	50		/* outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 */

/* TC priority/handle porin uses on every pod's host-side veth, so a
 * re-attach replaces our filter in place and never stacks a second one. */
#define PN_TC_PRIORITY			1
#define PN_TC_HANDLE			1

/* --- endpoint map: ifindex or IPv4 → endpoint ---------------------------- */
/*
 * One hash map answers both questions the datapath asks: "which pod owns the
 * veth this packet arrived on" (by host ifindex, for anti-spoofing) and "is the
 * destination a pod on this node" (by IPv4, for local delivery).  The agent
 * writes both keys for every endpoint with the same value.
 */
#define PN_EP_KEY_IFINDEX	1
#define PN_EP_KEY_IPV4		2

struct pn_endpoint_key {
	__u32 kind;		/* PN_EP_KEY_* */
	__u32 value;		/* host ifindex (host order) or IPv4 (__be32 bits) */
};
_Static_assert(sizeof(struct pn_endpoint_key) == 8, "pn_endpoint_key size");

/*
 * Isolation, per direction: with the flag set, a NEW connection in that
 * direction passes only if pn_policy holds an entry allowing it (default
 * deny); without it everything passes.  IDENTITY_PENDING: the agent has not
 * yet learnt who the pod is (its Pod object), so every NEW connection in
 * either direction is dropped ("identity-pending") until it has.
 */
#define PN_EP_F_POLICY_INGRESS		(1U << 0)
#define PN_EP_F_POLICY_EGRESS		(1U << 1)
#define PN_EP_F_IDENTITY_PENDING	(1U << 2)

struct pn_endpoint {
	__be32 ipv4;		/* the pod's address */
	__u32 ifindex;		/* host-side veth ifindex */
	__u32 endpoint_id;	/* agent-assigned, stable for the endpoint's life */
	__u32 identity;		/* security identity, PN_ID_* (PN_ID_ANY: none yet) */
	__u8 pod_mac[6];	/* MAC of the pod-side interface */
	__u8 host_mac[6];	/* MAC of the host-side veth: the pod's gateway MAC */
	__u32 flags;		/* PN_EP_F_* */
	__u32 pad;
};
_Static_assert(sizeof(struct pn_endpoint) == 36, "pn_endpoint size");

#define PN_ENDPOINTS_MAX	(2 * 4096)	/* two keys per endpoint */

/* --- ipcache: LPM prefix → identity and location ------------------------- */
struct pn_ipcache_key {
	__u32 prefixlen;	/* LPM trie: bits that follow, i.e. 0..32 */
	__be32 ipv4;
};
_Static_assert(sizeof(struct pn_ipcache_key) == 8, "pn_ipcache_key size");

#define PN_IPC_F_LOCAL		(1U << 0)	/* a pod on this node */
#define PN_IPC_F_NODE_CIDR	(1U << 1)	/* another node's pod CIDR (node_upsert) */
#define PN_IPC_F_REMOTE_POD	(1U << 2)	/* a pod on another node (remote_pod_upsert) */
#define PN_IPC_F_HOST		(1U << 3)	/* this node's own address (identity PN_ID_HOST) */

struct pn_ipcache_entry {
	__u32 identity;
	__be32 tunnel_endpoint;	/* node IP hosting the prefix; 0 when local */
	__u32 flags;		/* PN_IPC_F_* */
	__u32 pad;
};
_Static_assert(sizeof(struct pn_ipcache_entry) == 16, "pn_ipcache_entry size");

#define PN_IPCACHE_MAX		65536

/* --- identities ----------------------------------------------------------- */
/*
 * Node-local numbers (never on the wire): each agent interns every label set
 * it sees (namespace, its labels, the pod's labels, its named ports) to a
 * number from PN_ID_POD_MIN, and every CIDR that an ipBlock names to one
 * from PN_ID_CIDR_MIN.  Below PN_ID_POD_MIN are reserved ones.
 */
#define PN_ID_ANY	0		/* in pn_policy keys: a rule with no peers */
#define PN_ID_HOST	1		/* this node's own addresses: always allowed in */
#define PN_ID_WORLD	2		/* no pod, and no ipBlock CIDR holds it */
#define PN_ID_POD_MIN	256
#define PN_ID_CIDR_MIN	(1U << 24)

/* --- policy: LPM (endpoint, peer identity, direction, protocol, port) ----- */
/*
 * One entry allows NEW connections of one local endpoint, in one direction,
 * with one peer identity, on one protocol and a port prefix (an endPort range
 * is a handful of prefixes).  Longest-prefix match gives the wildcards:
 *   prefixlen PN_POLICY_PLEN_ANY_PROTO  any protocol, any port (rule without ports)
 *   prefixlen PN_POLICY_PLEN_PROTO      one protocol, any port
 *   prefixlen PN_POLICY_PLEN_PROTO + n  one protocol, ports sharing the first n bits
 * The datapath asks at most three keys per NEW connection and direction:
 * the peer's pod identity (pn_ipcache), its CIDR identity (pn_policy_cidrs)
 * and PN_ID_ANY, whatever the number of policies.  The entry is an allow;
 * its value only says which rule made it, for humans.
 */
struct pn_policy_key {
	__u32 prefixlen;	/* bits of what follows that must match */
	__u32 endpoint_id;	/* host order; compared whole */
	__u32 peer_identity;	/* host order; compared whole */
	__u8 direction;		/* PN_DIR_* */
	__u8 protocol;		/* IPPROTO_TCP, _UDP, _SCTP; anything with PLEN_ANY_PROTO */
	__be16 dport;		/* destination port, network order (LPM compares MSB first) */
};
_Static_assert(sizeof(struct pn_policy_key) == 16, "pn_policy_key size");

#define PN_POLICY_PLEN_ANY_PROTO	72	/* endpoint_id + peer_identity + direction */
#define PN_POLICY_PLEN_PROTO		80	/* ... + protocol */
#define PN_POLICY_PLEN_FULL		96	/* ... + dport */

struct pn_policy_entry {
	__u32 rule_ref;		/* agent's reference of the rule that allowed it (0: none) */
	__u32 pad;
};
_Static_assert(sizeof(struct pn_policy_entry) == 8, "pn_policy_entry size");

#define PN_POLICY_MAX		(1U << 20)
#define PN_POLICY_CIDRS_MAX	16384

/* --- conntrack ------------------------------------------------------------ */
/*
 * One entry per connection per node, keyed by the tuple of its first packet
 * (the original direction) and written once that packet has passed every
 * policy this node enforces for it.  A packet whose own tuple is found is
 * "established"; one whose reversed tuple is found is a reply.  Both pass
 * without a policy lookup.  ICMP echo: the identifier is the source "port"
 * of a request and the destination "port" of its reply, so a reply's
 * reversed tuple is its request's.  Ports are 0 for protocols without them.
 */
struct pn_ct_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 protocol;
	__u8 pad[3];
};
_Static_assert(sizeof(struct pn_ct_key) == 16, "pn_ct_key size");

#define PN_CT_F_SEEN_REPLY	(1U << 0)	/* a reply has passed */
#define PN_CT_F_CLOSING		(1U << 1)	/* TCP FIN or RST seen: short lifetime */

struct pn_ct_entry {
	__u64 last_seen_ns;	/* bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC, tick resolution) */
	__u32 flags;		/* PN_CT_F_* */
	__u32 pad;
};
_Static_assert(sizeof(struct pn_ct_entry) == 16, "pn_ct_entry size");

#define PN_CT_MAX		131072
/* An entry idle longer than this is gone (LRU eviction does the rest). */
#define PN_CT_LIFETIME_TCP_NS		(6ULL * 3600 * 1000000000)
#define PN_CT_LIFETIME_CLOSING_NS	(10ULL * 1000000000)
#define PN_CT_LIFETIME_OTHER_NS		(60ULL * 1000000000)

/* --- IPv4 fragments -------------------------------------------------------- */
/*
 * Only the first fragment carries the ports.  When it passes, its ports are
 * remembered under (addresses, IP id, protocol) so the later fragments are
 * judged as the same connection; a later fragment whose first was never seen
 * is judged with no ports, which no port rule allows.
 */
struct pn_frag_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id;
	__u8 protocol;
	__u8 pad;
};
_Static_assert(sizeof(struct pn_frag_key) == 12, "pn_frag_key size");

struct pn_frag_ports {
	__be16 sport;
	__be16 dport;
};
_Static_assert(sizeof(struct pn_frag_ports) == 4, "pn_frag_ports size");

#define PN_FRAGS_MAX		8192

/* --- drop reasons ---------------------------------------------------------- */
/*
 * X(name, value, text): one list generates the enum used by the programs and
 * the name table user space prints, so they cannot drift.  Values are
 * positive; programs return them negated (TC_ACT_* verdicts are >= 0).
 */
#define PN_DROP_REASONS(X)						\
	X(PN_DROP_INVALID_PACKET,	1, "invalid-packet")		\
	X(PN_DROP_NO_ENDPOINT,		2, "no-endpoint")		\
	X(PN_DROP_SPOOFED_SOURCE,	3, "spoofed-source")		\
	X(PN_DROP_UNSUPPORTED_L3,	4, "unsupported-l3")		\
	X(PN_DROP_ARP_INVALID,		5, "arp-invalid")		\
	X(PN_DROP_ARP_SPOOFED,		6, "arp-spoofed")		\
	X(PN_DROP_REDIRECT_FAILED,	7, "redirect-failed")		\
	X(PN_DROP_CSUM_FAILED,		8, "checksum-update-failed")	\
	X(PN_DROP_NO_TUNNEL_DEV,	9, "no-tunnel-device")		\
	X(PN_DROP_TUNNEL_KEY_FAILED,	10, "tunnel-key-failed")	\
	X(PN_DROP_OVERLAY_NOT_IPV4,	11, "overlay-not-ipv4")	\
	X(PN_DROP_NO_TUNNEL_ENDPOINT,	12, "no-tunnel-endpoint")	\
	X(PN_DROP_POLICY_DENIED,	13, "policy-denied")		\
	X(PN_DROP_IDENTITY_PENDING,	14, "identity-pending")	\
	X(PN_DROP_FRAGMENT_UNKNOWN,	15, "fragment-unknown-flow")

enum pn_drop_reason {
#define PN_DROP_ENUM(name, value, text) name = value,
	PN_DROP_REASONS(PN_DROP_ENUM)
#undef PN_DROP_ENUM
	PN_DROP_MAX = 32,	/* array size of the counter map's reason axis */
};

/* Direction, from the pod's point of view. */
#define PN_DIR_EGRESS	0	/* leaving the pod (from-container) */
#define PN_DIR_INGRESS	1	/* entering the pod (to-container, from-overlay) */
#define PN_DIR_MAX	2

/* Per-CPU array indexed by pn_drop_index(reason, dir). */
static inline __u32 pn_drop_index(__u32 reason, __u32 dir)
{
	return reason * PN_DIR_MAX + dir;
}
#define PN_DROP_COUNTERS_MAX	(PN_DROP_MAX * PN_DIR_MAX)

struct pn_drop_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct pn_drop_counter) == 16, "pn_drop_counter size");

#endif /* PORIN_ABI_H */

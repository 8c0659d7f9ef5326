/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the bpf_lxc tests share: a node in a private network and mount
 * namespace with one veth per pod and a VXLAN device, the real skeleton
 * loaded unpinned, packet building, test_run, and the drop counters.
 *
 * Header-only (each tests/bpf/test_*.c is its own binary), so everything is
 * static inline and the node state, env, is per test binary.
 */
#ifndef PORIN_TESTS_BPF_FIXTURE_H
#define PORIN_TESTS_BPF_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "bpf_lxc.skel.h"
#include "porin/abi.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define TUN_DEV		"pvx0"		/* external VXLAN device of the test netns */

/* --- the node ------------------------------------------------------------- */
struct pod {
	const char *host_if;	/* host side of the veth pair */
	const char *peer_if;
	const char *ip;
	uint32_t endpoint_id;
	uint32_t identity;
	uint8_t pod_mac[ETH_ALEN];
	uint8_t host_mac[ETH_ALEN];
	int ifindex;		/* of host_if, filled in at setup */
};

static struct {
	struct bpf_lxc *skel;
	int tun_ifindex;
} env;

enum prog { FROM_CONTAINER, TO_CONTAINER, FROM_OVERLAY, TO_OVERLAY };

static inline int prog_fd(enum prog prog)
{
	switch (prog) {
	case FROM_CONTAINER: return bpf_program__fd(env.skel->progs.from_container);
	case TO_CONTAINER: return bpf_program__fd(env.skel->progs.to_container);
	case FROM_OVERLAY: return bpf_program__fd(env.skel->progs.from_overlay);
	default: return bpf_program__fd(env.skel->progs.to_overlay);
	}
}

/* --- packets -------------------------------------------------------------- */
struct pkt {
	uint8_t b[256];
	size_t len;
};

static inline uint32_t ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		abort();
	return a.s_addr;
}

static inline void put(struct pkt *p, const void *data, size_t len)
{
	assert_true(p->len + len <= sizeof(p->b));
	memcpy(p->b + p->len, data, len);
	p->len += len;
}

static inline void put_eth(struct pkt *p, const uint8_t *dst, const uint8_t *src, uint16_t proto)
{
	struct ethhdr eth;

	memcpy(eth.h_dest, dst, ETH_ALEN);
	memcpy(eth.h_source, src, ETH_ALEN);
	eth.h_proto = htons(proto);
	put(p, &eth, sizeof(eth));
}

/* Full (not incremental) RFC 1071 sum: an independent check of the
 * datapath's incremental update. */
static inline uint16_t csum(const void *data, size_t len)
{
	const uint8_t *b = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/* --- running -------------------------------------------------------------- */
struct run_result {
	uint32_t retval;	/* TC_ACT_* */
	uint32_t duration;	/* ns, test_run's average over the repeats */
	struct pkt out;		/* the frame as the program left it */
};

/* Run @in through @prog @repeat times, as arriving on @ifindex. */
static inline struct run_result prog_run(enum prog prog, int ifindex, const struct pkt *in,
					 uint32_t repeat)
{
	struct __sk_buff skb = { .ifindex = ifindex };
	struct run_result r = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->b, .data_size_in = in->len,
		    .data_out = r.out.b, .data_size_out = sizeof(r.out.b), .ctx_in = &skb,
		    .ctx_size_in = sizeof(skb), .repeat = repeat);

	assert_int_equal(bpf_prog_test_run_opts(prog_fd(prog), &opts), 0);
	r.retval = opts.retval;
	r.duration = opts.duration;
	r.out.len = opts.data_size_out;
	return r;
}

/* --- maps ----------------------------------------------------------------- */
/* @p's endpoint with what the pod itself defines; the caller adds the
 * endpoint id, identity and flags. */
static inline struct pn_endpoint pod_endpoint(const struct pod *p)
{
	struct pn_endpoint ep = { .ipv4 = ip4(p->ip), .ifindex = p->ifindex };

	memcpy(ep.pod_mac, p->pod_mac, ETH_ALEN);
	memcpy(ep.host_mac, p->host_mac, ETH_ALEN);
	return ep;
}

/* Under both its keys, as the agent writes it; -errno on failure. */
static inline int endpoint_write(const struct pn_endpoint *ep)
{
	struct pn_endpoint_key k_if = { .kind = PN_EP_KEY_IFINDEX, .value = ep->ifindex };
	struct pn_endpoint_key k_ip = { .kind = PN_EP_KEY_IPV4, .value = ep->ipv4 };
	struct bpf_map *m = env.skel->maps.pn_endpoints;

	if (bpf_map__update_elem(m, &k_if, sizeof(k_if), ep, sizeof(*ep), BPF_ANY) < 0 ||
	    bpf_map__update_elem(m, &k_ip, sizeof(k_ip), ep, sizeof(*ep), BPF_ANY) < 0)
		return -errno;
	return 0;
}

/* The per-CPU drop counter at @idx (pn_drop_index()), summed over CPUs. */
static inline struct pn_drop_counter drops_sum(uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pn_drop_counter sum = { 0 }, *v;

	assert_true(ncpu > 0);
	v = calloc(ncpu, sizeof(*v));
	assert_non_null(v);
	assert_int_equal(bpf_map__lookup_elem(env.skel->maps.pn_drops, &idx, sizeof(idx), v,
					      ncpu * sizeof(*v), 0), 0);
	for (int i = 0; i < ncpu; i++) {
		sum.packets += v[i].packets;
		sum.bytes += v[i].bytes;
	}
	free(v);
	return sum;
}

static inline void drops_clear(void)
{
	int ncpu = libbpf_num_possible_cpus();
	void *zero = calloc(ncpu, sizeof(struct pn_drop_counter));

	assert_non_null(zero);
	for (uint32_t idx = 0; idx < PN_DROP_COUNTERS_MAX; idx++)
		assert_int_equal(bpf_map__update_elem(env.skel->maps.pn_drops, &idx, sizeof(idx),
						      zero, ncpu * sizeof(struct pn_drop_counter),
						      BPF_ANY), 0);
	free(zero);
}

/* --- setup ---------------------------------------------------------------- */
static inline int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* Expected kernel complaints ("Parent Qdisc doesn't exists") are noise;
	 * verifier logs on a failed load are not. */
	if (level != LIBBPF_WARN || strstr(fmt, "Kernel error message"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static inline int sh(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/*
 * Build the node for test binary @name: a private netns and private mounts
 * (both go away with the process), a veth per pod in @pods, the VXLAN
 * device, and bpf_lxc loaded in VXLAN mode with no map pinned.  0 or -1.
 */
static inline int node_setup(const char *name, struct pod *const *pods, size_t n)
{
	struct bpf_map *map;

	libbpf_set_print(libbpf_quiet);
	if (geteuid() != 0) {
		fprintf(stderr, "%s: needs root (bpf, netns)\n", name);
		return -1;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		perror("unshare/mount");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (sh("ip link add %s type veth peer name %s", pods[i]->host_if,
		       pods[i]->peer_if) != 0)
			return -1;
		pods[i]->ifindex = if_nametoindex(pods[i]->host_if);
		if (!pods[i]->ifindex)
			return -1;
	}
	if (sh("ip link add " TUN_DEV " type vxlan external dstport %d", PN_VXLAN_PORT) != 0)
		return -1;
	env.tun_ifindex = (int)if_nametoindex(TUN_DEV);
	if (!env.tun_ifindex)
		return -1;

	env.skel = bpf_lxc__open();
	if (!env.skel)
		return -1;
	env.skel->rodata->pn_cfg_routing = PN_ROUTING_VXLAN;
	env.skel->rodata->pn_cfg_tunnel_ifindex = (uint32_t)env.tun_ifindex;
	/* Never pin: the tests own these maps, not /sys/fs/bpf. */
	bpf_object__for_each_map(map, env.skel->obj)
		if (bpf_map__set_pin_path(map, NULL) < 0)
			return -1;
	if (bpf_lxc__load(env.skel) < 0) {	/* the verifier's verdict */
		fprintf(stderr, "%s: bpf_lxc__load failed\n", name);
		return -1;
	}
	return 0;
}

static inline void node_teardown(void)
{
	bpf_lxc__destroy(env.skel);
}

#endif /* PORIN_TESTS_BPF_FIXTURE_H */

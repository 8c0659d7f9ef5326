/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's view of the datapath: load bpf_lxc, adopt its pinned maps, pin
 * its programs, and read/write map entries.  dp.c is the only file that
 * includes the generated skeleton; everything else goes through this API.
 * All functions return 0 (or a count) or -errno.
 */
#ifndef PORIN_AGENT_DP_H
#define PORIN_AGENT_DP_H

#include <stddef.h>
#include <stdint.h>

#include "porin/abi.h"

struct dp;

/* Node-wide datapath configuration, fixed for the life of a load (rodata). */
struct dp_config {
	uint32_t routing;		/* PN_ROUTING_* */
	uint32_t tunnel_ifindex;	/* PN_VXLAN_DEV in VXLAN mode, else 0 */
};

/*
 * Open and load datapath/bpf_lxc.c with maps pinned by name under @bpf_root:
 * maps already pinned there are reused (never recreated, so running pods keep
 * their state across an agent restart; a pinned map whose definition no
 * longer matches fails the load instead of being replaced).  Then pin the
 * programs under @bpf_root/PN_PIN_PROG_*, replacing older pins atomically.
 */
int dp_open(const char *bpf_root, const struct dp_config *cfg, struct dp **ret);
/* Close our fds.  Pins, map contents and attached programs stay. */
void dp_close(struct dp *dp);

void dp_prog_fds(const struct dp *dp, int *ret_from_container, int *ret_to_container);
/* The programs for PN_VXLAN_DEV's clsact ingress and egress. */
void dp_overlay_prog_fds(const struct dp *dp, int *ret_from_overlay, int *ret_to_overlay);

/* pn_endpoints: write @ep under {IFINDEX, ep->ifindex} and {IPV4, ep->ipv4}. */
int dp_endpoint_upsert(struct dp *dp, const struct pn_endpoint *ep);
/* The endpoint on host veth @ifindex; -ENOENT. */
int dp_endpoint_lookup(struct dp *dp, uint32_t ifindex, struct pn_endpoint *ret);
/* Delete one key; 0 if it was not there. */
int dp_endpoint_delete(struct dp *dp, uint32_t kind, uint32_t value);
/* All keys of pn_endpoints, in a malloc'd array the caller frees. */
int dp_endpoint_keys(struct dp *dp, struct pn_endpoint_key **ret_keys, size_t *ret_n);

int dp_ipcache_upsert(struct dp *dp, uint32_t ip_be, uint32_t prefix_len,
		      const struct pn_ipcache_entry *entry);
int dp_ipcache_delete(struct dp *dp, uint32_t ip_be, uint32_t prefix_len);
/* Longest-prefix match for @ip_be (as the datapath sees it); -ENOENT. */
int dp_ipcache_lookup(struct dp *dp, uint32_t ip_be, struct pn_ipcache_entry *ret);
/* All ipcache entries (keys and values), malloc'd arrays the caller frees. */
int dp_ipcache_entries(struct dp *dp, struct pn_ipcache_key **ret_keys,
		       struct pn_ipcache_entry **ret_vals, size_t *ret_n);

/* pn_policy (abi.h): one allow entry; delete returns 0 if it was not there. */
int dp_policy_update(struct dp *dp, const struct pn_policy_key *k, const struct pn_policy_entry *v);
int dp_policy_delete(struct dp *dp, const struct pn_policy_key *k);
int dp_policy_keys(struct dp *dp, struct pn_policy_key **ret_keys, size_t *ret_n);

/* pn_policy_cidrs: ipBlock prefix → CIDR identity. */
int dp_policy_cidr_upsert(struct dp *dp, uint32_t ip_be, uint32_t prefix_len, uint32_t identity);
int dp_policy_cidr_delete(struct dp *dp, uint32_t ip_be, uint32_t prefix_len);
int dp_policy_cidr_keys(struct dp *dp, struct pn_ipcache_key **ret_keys, size_t *ret_n);

/* Delete every pn_ct entry with @ip_be at either end: a pod's address is
 * about to be handed out again, and its successor must not inherit its
 * connections.  Returns how many went. */
int dp_ct_forget_addr(struct dp *dp, uint32_t ip_be);

struct dp_drop_stat {
	uint32_t reason;	/* PN_DROP_* value */
	uint32_t dir;		/* PN_DIR_* */
	uint64_t packets;
	uint64_t bytes;
};

/* Sum pn_drops over CPUs; fills up to @max non-zero counters, returns how
 * many. */
int dp_drops_read(struct dp *dp, struct dp_drop_stat *out, size_t max);

#endif

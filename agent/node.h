/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rest of the cluster, as the datapath needs it: other nodes (their
 * underlay IP and pod CIDR) and pods running on them.  Whoever learns about
 * them — the Kubernetes watcher, or the local API in standalone mode — calls
 * these; they program routes/tunnel state and the ipcache, and are
 * idempotent (upsert twice = once; deleting what is gone = 0).
 *
 * Only the agent's main thread calls them.  All return 0 or -errno.
 */
#ifndef PORIN_AGENT_NODE_H
#define PORIN_AGENT_NODE_H

#include <stddef.h>
#include <stdint.h>

struct agent;

#define NODE_NAME_MAX	253	/* a Kubernetes object name */

struct node_info {
	char name[NODE_NAME_MAX + 1];
	uint32_t ip_be;		/* underlay (InternalIP) address */
	uint32_t pod_cidr_be;	/* network address of its pod CIDR; 0 = none yet */
	uint8_t pod_prefix_len;
};

/* Another node: reach its pod CIDR through the tunnel or a native route,
 * and record the CIDR in the ipcache with that node as tunnel endpoint.
 * Called with this node's own name it is a no-op. */
int node_upsert(struct agent *a, const struct node_info *n);
int node_delete(struct agent *a, const char *name);

/* A pod on another node: ipcache /32 → its node (and, later, identity). */
int remote_pod_upsert(struct agent *a, uint32_t pod_ip_be, uint32_t node_ip_be,
		      uint32_t identity);
int remote_pod_delete(struct agent *a, uint32_t pod_ip_be);

/* --- this node ------------------------------------------------------------- */
/*
 * Start-up, in this order: node_init() parses the multi-node configuration
 * (-EINVAL with a log line when it is wrong), computes the MTUs and, in
 * VXLAN mode, creates PN_VXLAN_DEV; node_dp_config() then tells dp_open()
 * the routing mode and the device; node_start() (after dp_open and the
 * endpoint reconcile) attaches the overlay programs, installs masquerade and
 * replays the nodes persisted under <state_dir>/nodes.  node_fini() frees
 * memory only: devices, routes, ipcache entries and the nft table stay, so
 * cross-node traffic flows while the agent restarts.
 */
struct dp_config;
int node_init(struct agent *a);
void node_dp_config(const struct agent *a, struct dp_config *cfg);
int node_start(struct agent *a);
void node_fini(struct agent *a);

/* Set (or change) this node's underlay IP: the Kubernetes watcher calls it
 * with the Node's InternalIP.  Re-derives an automatic underlay MTU for new
 * pods (running pods keep theirs). */
int node_self_set(struct agent *a, uint32_t ip_be);

const char *node_self_name(const struct agent *a);
uint32_t node_self_ip(const struct agent *a);	/* 0: unknown */
const char *node_routing_name(const struct agent *a);	/* "vxlan" | "native" */
unsigned int node_underlay_mtu(const struct agent *a);
/* The MTU pods on this node must use: underlay - 50 (VXLAN) or underlay. */
unsigned int node_pod_mtu(const struct agent *a);

/* "a.b.c.d/len", a network address (no host bits), len 0..32.  -EINVAL. */
int node_cidr_parse(const char *s, uint32_t *ret_net_be, uint8_t *ret_plen);
/* Kubernetes object name rules, which also keep it a safe file name. */
int node_name_valid(const char *name);

/* Known other nodes, for listing: 0..count-1. */
size_t node_count(const struct agent *a);
const struct node_info *node_at(const struct agent *a, size_t i);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct agent: all of porin-agent's state, passed explicitly (no globals).
 * Standalone mode fills it from the command line; a Kubernetes watcher will
 * hang its own state here later and drive the same agent_* operations.
 */
#ifndef PORIN_AGENT_AGENT_H
#define PORIN_AGENT_AGENT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define AGENT_DEFAULT_STATE_DIR	"/var/run/porin"
/* Dummy device carrying the pods' gateway address (pod CIDR network + 1)/32. */
#define AGENT_HOST_DEV		"porin_host"
struct ipam;
struct ep_store;
struct dp;
struct api_server;
struct loop;
struct reaper;
struct node_state;
struct k8s_sync;
struct netpol;

struct agent_config {
	const char *pod_cidr;		/* NULL with an API: from this node's Node */
	const char *bpf_root;
	const char *state_dir;
	const char *socket_path;
	const char *node_name;		/* --node-name, $NODE_NAME, else the hostname */
	const char *kubeconfig;		/* --kubeconfig: Kubernetes mode */
	bool in_cluster;		/* --in-cluster or $KUBERNETES_SERVICE_HOST */
	/* multi-node (node.h) */
	const char *node_ip;		/* --node-ip: underlay address; NULL: not known yet */
	const char *routing;		/* --routing vxlan (default) | native */
	const char *cluster_cidr;	/* --cluster-cidr: never masqueraded (10.244.0.0/16) */
	unsigned int underlay_mtu;	/* --underlay-mtu; 0: of node_ip's device, else 1500 */
};

struct agent {
	struct agent_config cfg;
	char ipam_dir[PATH_MAX];	/* <state_dir>/ipam */
	char endpoint_dir[PATH_MAX];	/* <state_dir>/endpoints */
	int lock_fd;			/* flock on <state_dir>/agent.lock */
	int bpf_lock_fd;		/* flock on the bpf root directory */
	struct ipam *ipam;
	struct ep_store *eps;
	struct dp *dp;
	struct api_server *api;
	struct loop *loop;
	struct reaper *reaper;		/* deletes host veths in the background */
	struct node_state *node;	/* this node and the others (node.c) */
	struct k8s_sync *k8s;		/* NULL in standalone mode */
	struct netpol *netpol;		/* NetworkPolicy (netpol.h); NULL in standalone mode */
	uint32_t node_ip_be;		/* this node's InternalIP; 0 until known */
	bool ready;			/* start-up finished, serving */
};

#endif

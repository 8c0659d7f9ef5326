/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent against a kube-apiserver: reflectors (agent/k8s/watch.h) for
 * Nodes, Pods, Namespaces, Services, EndpointSlices and NetworkPolicies,
 * all on the agent's one event loop, turned into node.h calls.
 *
 *   this node's Node    → its InternalIP (a->node_ip_be) and, when no
 *                         --pod-cidr was given, IPAM's pod CIDR: the agent
 *                         waits for spec.podCIDR before its datapath starts
 *   other Nodes         → node_upsert / node_delete
 *   Pods on other nodes → remote_pod_upsert / remote_pod_delete (pod IP →
 *                         that node's InternalIP); hostNetwork and finished
 *                         pods excluded
 *   Pods of this node   → kept for porinctl (the CNI made their endpoints)
 *   Namespaces          → labels kept, for NetworkPolicy later
 *   Services, EndpointSlices, NetworkPolicies → cached (compact forms,
 *                         k8s/objects.h) and counted; no consumer yet
 *
 * Nothing reaches the datapath before it is up (a->ready); then the caches
 * are replayed, and after the first complete sync remote ipcache entries no
 * pod backs (left by an earlier run) are removed.
 */
#ifndef PORIN_AGENT_K8S_SYNC_H
#define PORIN_AGENT_K8S_SYNC_H

#include <stdbool.h>

#include <jansson.h>

struct agent;
struct k8s_sync;

struct k8s_sync_opts {
	const char *kubeconfig;		/* NULL: in-cluster service account */
	const char *node_name;		/* this node's Node object */
	/* The pod CIDR arrived from the Node (only when a->cfg.pod_cidr was
	 * NULL): start the datapath.  A negative return stops the agent. */
	int (*on_pod_cidr)(struct agent *a, const char *cidr);
};

int k8s_sync_new(struct agent *a, const struct k8s_sync_opts *o, struct k8s_sync **ret);
/* Load the credentials and start watching; a bad or unreadable config is
 * logged and retried, never fatal. */
int k8s_sync_start(struct k8s_sync *s);
void k8s_sync_free(struct k8s_sync *s);

/* Local API answers (lib/api.h: k8s_status, pods), added to @out. */
int k8s_sync_status_json(const struct k8s_sync *s, json_t *out);
int k8s_sync_pods_json(const struct k8s_sync *s, json_t *out);

/* Why the agent is not ready yet, or NULL. */
const char *k8s_sync_waiting_for(const struct k8s_sync *s);

#endif

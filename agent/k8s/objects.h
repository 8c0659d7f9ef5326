/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compact forms of the Kubernetes objects the agent reads.  A decoder keeps
 * only the fields the agent uses (a pod's JSON is several KiB, its compact
 * form a few hundred bytes), so 10,000 pods fit the agent's memory budget.
 * Every compact object starts with struct k8s_meta: the cache and the
 * reflector handle them through it alone.
 */
#ifndef PORIN_K8S_OBJECTS_H
#define PORIN_K8S_OBJECTS_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct k8s_meta {
	char *ns;	/* NULL for cluster-scoped kinds */
	char *name;
	char *rv;	/* resourceVersion: opaque, compared for equality only */
};

struct k8s_kind {
	const char *name;	/* "pods" */
	const char *path;	/* "/api/v1/pods" */
	/* -EBADMSG when a field the agent needs is missing or malformed. */
	int (*decode)(const json_t *obj, struct k8s_meta **ret);
	void (*free)(struct k8s_meta *m);
};

extern const struct k8s_kind k8s_kind_pod, k8s_kind_node, k8s_kind_namespace;

/* "k\0v\0k\0v\0": one allocation for all of an object's labels. */
struct k8s_labels {
	uint32_t n;
	char *kv;
};

const char *k8s_labels_get(const struct k8s_labels *l, const char *key);

struct k8s_ip {
	uint8_t family;	/* AF_INET, AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

enum k8s_proto { K8S_PROTO_TCP, K8S_PROTO_UDP, K8S_PROTO_SCTP };

enum k8s_pod_phase {
	K8S_POD_UNKNOWN, K8S_POD_PENDING, K8S_POD_RUNNING, K8S_POD_SUCCEEDED, K8S_POD_FAILED
};

struct k8s_port {
	char *name;	/* NULL if unnamed */
	uint16_t port;
	uint8_t proto;	/* enum k8s_proto */
};

#define K8S_MAX_IPS 2	/* one per family */

struct k8s_pod {
	struct k8s_meta meta;
	char *uid;
	char *node;	/* NULL until scheduled */
	struct k8s_labels labels;
	struct k8s_port *ports;
	uint16_t n_ports;
	uint8_t n_ips;
	uint8_t phase;	/* enum k8s_pod_phase */
	bool host_network;
	struct k8s_ip ips[K8S_MAX_IPS];
};

struct k8s_cidr {
	struct k8s_ip ip;
	uint8_t len;
};

struct k8s_node {
	struct k8s_meta meta;
	uint8_t n_cidrs;
	bool has_internal_ip;
	struct k8s_cidr cidrs[K8S_MAX_IPS];
	struct k8s_ip internal_ip;
};

struct k8s_namespace {
	struct k8s_meta meta;
	struct k8s_labels labels;
};

int k8s_meta_decode(const json_t *obj, struct k8s_meta *m);
void k8s_meta_clear(struct k8s_meta *m);

int k8s_ip_parse(const char *s, struct k8s_ip *ret);
int k8s_cidr_parse(const char *s, struct k8s_cidr *ret);
/* Text form into @buf (INET6_ADDRSTRLEN). */
const char *k8s_ip_str(const struct k8s_ip *ip, char *buf);
const char *k8s_pod_phase_str(enum k8s_pod_phase p);
const char *k8s_proto_str(enum k8s_proto p);

#endif

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
extern const struct k8s_kind k8s_kind_service, k8s_kind_endpointslice, k8s_kind_netpol;

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

enum k8s_svc_type {
	K8S_SVC_CLUSTER_IP, K8S_SVC_NODE_PORT, K8S_SVC_LOAD_BALANCER, K8S_SVC_EXTERNAL_NAME
};

struct k8s_svc_port {
	char *name;		/* NULL if unnamed */
	char *target_name;	/* targetPort given by name, else NULL */
	uint16_t port;
	uint16_t target_port;	/* 0 when target_name is set; defaults to port */
	uint16_t node_port;	/* 0: none */
	uint8_t proto;		/* enum k8s_proto */
};

struct k8s_service {
	struct k8s_meta meta;
	struct k8s_labels selector;	/* spec.selector, packed like labels */
	struct k8s_svc_port *ports;
	uint16_t n_ports;
	uint8_t type;		/* enum k8s_svc_type */
	/* The IPv4 one of spec.clusterIPs (at most one per family); INADDR_ANY
	 * when headless ("None"), ExternalName or IPv6-only. */
	struct in_addr cluster_ip;
};

enum k8s_addr_type { K8S_ADDR_IPV4, K8S_ADDR_IPV6, K8S_ADDR_FQDN, K8S_ADDR_OTHER };

#define K8S_EP_READY		0x1	/* conditions: ready nil counts as true */
#define K8S_EP_SERVING		0x2	/* nil: same as ready */
#define K8S_EP_TERMINATING	0x4	/* nil: false */

struct k8s_endpoint {
	struct in_addr addr;	/* one entry per address of the slice's endpoint */
	uint8_t flags;		/* K8S_EP_* */
	char *node;		/* nodeName, NULL if unset */
};

struct k8s_endpointslice {
	struct k8s_meta meta;
	char *service;		/* label kubernetes.io/service-name, NULL if none */
	uint8_t addr_type;	/* enum k8s_addr_type; only IPv4 slices keep
				 * ports and endpoints, the others are counted */
	uint16_t n_ports;
	uint32_t n_endpoints;
	struct k8s_port *ports;	/* port 0: all ports (nil in the API) */
	struct k8s_endpoint *endpoints;
};

/* The policy compiler (a later issue) parses @spec: until then a policy is
 * kept as its spec, serialized compactly (json_dumps JSON_COMPACT), which is
 * smaller than a decoded tree and needs no schema here. */
struct k8s_netpol {
	struct k8s_meta meta;
	char *spec;
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

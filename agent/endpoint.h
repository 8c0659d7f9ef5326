/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An endpoint record: what the agent knows about one pod interface, as the
 * CNI plugin registered it.  Validation and the JSON form (the same object
 * on the local API and on disk, see lib/api.h) live here; the store that
 * keeps records in memory and on disk is endpoint_store.h.
 */
#ifndef PORIN_AGENT_ENDPOINT_H
#define PORIN_AGENT_ENDPOINT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* Runtimes use 64 hex chars; 200 keeps <id>_<ifname>.json under NAME_MAX. */
#define EP_CONTAINER_ID_MAX	200
#define EP_NETNS_MAX		1024
#define EP_K8S_NAME_MAX		253	/* DNS subdomain */

struct ep_record {
	uint32_t endpoint_id;			/* 1.., lowest unused at first add */
	char container_id[EP_CONTAINER_ID_MAX + 1];
	char ifname[IFNAMSIZ];			/* inside the pod */
	char netns[EP_NETNS_MAX];
	uint32_t ip_be;				/* network byte order */
	char host_ifname[IFNAMSIZ];
	int host_ifindex;
	uint8_t host_mac[6];
	uint8_t pod_mac[6];
	char pod_namespace[EP_K8S_NAME_MAX + 1];	/* "" when unknown */
	char pod_name[EP_K8S_NAME_MAX + 1];
};

/* Field checks, shared with the API handlers, matching the CNI spec:
 * container_id: 1..EP_CONTAINER_ID_MAX of [A-Za-z0-9_.-], alphanumeric first
 * (it ends up in file names).  ifname: 1..15 printable ASCII characters
 * without '/', ':' or space, not "." or "..". */
bool ep_container_id_valid(const char *s);
bool ep_ifname_valid(const char *s);

int ep_mac_parse(const char *s, uint8_t ret_mac[6]);
void ep_mac_format(const uint8_t mac[6], char buf[18]);
int ep_ipv4_parse(const char *s, uint32_t *ret_be);

/*
 * Decode and validate a record from its JSON object.  @with_id: require
 * "endpoint_id" (stored records) or ignore it (API requests, where the agent
 * assigns it).  On -EINVAL *ret_field names the offending field.
 */
int ep_record_from_json(const json_t *obj, bool with_id, struct ep_record *ret,
			const char **ret_field);
/* New reference, or NULL on allocation failure. */
json_t *ep_record_to_json(const struct ep_record *rec);

/* The owner string IPAM uses for this interface: "container_id/ifname". */
int ep_owner(const char *container_id, const char *ifname, char *buf, size_t size);
/* Split an owner string back; -EINVAL if it is not one of ours. */
int ep_owner_split(const char *owner, char container_id[EP_CONTAINER_ID_MAX + 1],
		   char ifname[IFNAMSIZ]);

#endif

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

/*
 * Life cycle of a record.  ACTIVE from endpoint_add; DELETING from
 * endpoint_delete until the host veth is really gone: its map entries are
 * already removed, its IP is still held (so no new pod can get the address
 * while the old veth and its host route exist), and the record file says
 * "deleting" so a restarted agent resumes the teardown.
 */
enum ep_state {
	EP_STATE_ACTIVE,
	EP_STATE_DELETING,
};

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
	enum ep_state state;
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
 * "endpoint_id" and read an optional "state" (stored records; absent means
 * "active", as in files older than the field) or ignore both (API requests,
 * where the agent assigns them).  On -EINVAL *ret_field names the offending
 * field.
 */
int ep_record_from_json(const json_t *obj, bool with_id, struct ep_record *ret,
			const char **ret_field);
/* New reference, or NULL on allocation failure.  Carries "state". */
json_t *ep_record_to_json(const struct ep_record *rec);

/* "active" / "deleting", and back (-EINVAL for anything else). */
const char *ep_state_name(enum ep_state state);
int ep_state_parse(const char *s, enum ep_state *ret);

/*
 * What an operation on an attachment may do, given the record of its key
 * (NULL: none).  Pure, so the rules live in one place and are unit-tested:
 *   0        proceed as usual (no record, or an active one);
 *   1        nothing to do, answer ok at once (delete/gc/ip_release of an
 *            attachment already being torn down: it is going anyway);
 *   -EAGAIN  not now: the previous attachment is still being torn down
 *            (ip_allocate, endpoint_add; the CNI maps it to code 11);
 *   -ENOENT  as if there were no record (endpoint_get).
 */
enum ep_op {
	EP_OP_IP_ALLOCATE,
	EP_OP_IP_RELEASE,
	EP_OP_ENDPOINT_ADD,
	EP_OP_ENDPOINT_GET,
	EP_OP_ENDPOINT_DELETE,
	EP_OP_GC,
};

int ep_op_gate(const struct ep_record *rec, enum ep_op op);

/* The owner string IPAM uses for this interface: "container_id/ifname". */
int ep_owner(const char *container_id, const char *ifname, char *buf, size_t size);
/* Split an owner string back; -EINVAL if it is not one of ours. */
int ep_owner_split(const char *owner, char container_id[EP_CONTAINER_ID_MAX + 1],
		   char ifname[IFNAMSIZ]);

#endif

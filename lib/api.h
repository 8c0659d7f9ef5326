/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's local API, spoken over a unix stream socket that only root may
 * open (socket mode 0600 in a 0700 directory).  Users: the CNI plugin and
 * porinctl.
 *
 * Framing: one request per connection.  The client writes one JSON object
 * followed by '\n'; the agent answers with one JSON object followed by '\n'
 * and closes.  Requests carry "op"; answers carry "ok".  A failed request is
 *   {"ok": false, "errno": <positive errno>, "error": "<text>"}
 *
 * Operations (fields other than "op"/"ok"):
 *   status           → ready(bool) pod_cidr gateway endpoints ips_allocated
 *                      ips_free bpf_root
 *   ip_allocate      container_id ifname
 *                    → ip prefix_len gateway
 *                    Idempotent: the same (container_id, ifname) gets the same IP.
 *                    ENOSPC when the pod CIDR is exhausted.
 *   ip_release       container_id ifname          (idempotent)
 *   endpoint_add     container_id ifname netns ip host_ifname host_ifindex
 *                    host_mac pod_mac [pod_namespace pod_name]
 *                    → endpoint (the stored record, with endpoint_id)
 *                    Writes the datapath maps before answering.  Idempotent:
 *                    the same key replaces the earlier record.
 *   endpoint_get     container_id ifname → endpoint     (ENOENT if unknown)
 *   endpoint_delete  container_id ifname
 *                    → [host_ifname] of the removed endpoint, if there was one
 *                    Removes map entries and releases the IP (also an IP that
 *                    was allocated without an endpoint).  Idempotent.
 *   endpoint_list    → endpoints: [endpoint, ...]
 *   gc               valid: [{container_id, ifname}, ...]
 *                    → removed: [{container_id, ifname, host_ifname}, ...]
 *                    Removes every endpoint and IP allocation not in "valid".
 *   drops            → drops: [{reason, direction, packets, bytes}, ...]
 *                    (only non-zero counters)
 *
 * An endpoint object: endpoint_id container_id ifname netns ip host_ifname
 * host_ifindex host_mac pod_mac pod_namespace pod_name.  MACs are
 * "aa:bb:cc:dd:ee:ff", IPs dotted quads without prefix.
 */
#ifndef PORIN_API_H
#define PORIN_API_H

#include <jansson.h>

#define API_DEFAULT_SOCKET	"/var/run/porin/porin.sock"
#define API_MAX_MESSAGE		(4 << 20)	/* bytes; a larger request is refused */
#define API_TIMEOUT_MS		5000

/*
 * Send @req and wait for the answer.  Returns 0 and the answer in *ret_resp
 * when the agent said ok; -errno from the answer when it said no (then
 * *ret_resp still holds the answer, for its "error" text); or -errno of the
 * transport: -ENOENT/-ECONNREFUSED when no agent listens, -ETIMEDOUT, -EPROTO
 * for a malformed answer (then *ret_resp is NULL).  The caller owns *ret_resp.
 */
int api_call(const char *socket_path, json_t *req, json_t **ret_resp);

/* The "error" text of a failed answer, or a generic one. */
const char *api_error_text(const json_t *resp);

/* True for transport errors meaning "no agent is listening". */
static inline int api_agent_unreachable(int err)
{
	return err == -2 /* ENOENT */ || err == -111 /* ECONNREFUSED */ ||
	       err == -110 /* ETIMEDOUT */;
}

#endif

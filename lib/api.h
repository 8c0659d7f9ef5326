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
 *   status           → ready(bool) pod_cidr gateway endpoints deleting
 *                      ips_allocated ips_free bpf_root
 *                    endpoints: active ones; deleting: endpoints whose
 *                    teardown (see endpoint_delete) has not finished.  0
 *                    deleting means every deleted veth is gone and its IP
 *                    released (tests and benchmarks wait for that).
 *   ip_allocate      container_id ifname
 *                    → ip prefix_len gateway mtu
 *                    Idempotent: the same (container_id, ifname) gets the same IP.
 *                    ENOSPC when the pod CIDR is exhausted; EAGAIN while the
 *                    key's previous endpoint is being torn down (the CNI
 *                    plugin reports "try again later", code 11).
 *   ip_release       container_id ifname          (idempotent)
 *                    EBUSY while an active endpoint holds the key; ok (no-op)
 *                    while it is being torn down: its IP goes with its veth.
 *   endpoint_add     container_id ifname netns ip host_ifname host_ifindex
 *                    host_mac pod_mac [pod_namespace pod_name]
 *                    → endpoint (the stored record, with endpoint_id)
 *                    Writes the datapath maps before answering.  Idempotent:
 *                    the same key replaces the earlier record.  EAGAIN while
 *                    the key's previous endpoint, or the endpoint that held
 *                    "ip", is being torn down.
 *   endpoint_get     container_id ifname → endpoint
 *                    ENOENT if unknown or being torn down.
 *   endpoint_delete  container_id ifname
 *                    → [host_ifname pending(true)]
 *                    With an endpoint: removes its map entries (nothing is
 *                    redirected to the pod any more), persists its record as
 *                    "deleting", queues host_ifname for the agent's
 *                    background worker and answers with host_ifname and
 *                    "pending": true.  The veth is then the agent's to delete
 *                    (by name, and only while it has the recorded ifindex);
 *                    when it is gone the agent releases the IP and drops the
 *                    record, so the IP is never reusable while the old veth
 *                    and its host route exist.  A teardown survives an agent
 *                    restart.  Idempotent: while it runs, endpoint_delete
 *                    answers the same at once.
 *                    Without an endpoint: releases the key's IP (one
 *                    allocated by an ADD that died before endpoint_add) and
 *                    answers without host_ifname; any veth is the caller's.
 *   endpoint_list    → endpoints: [endpoint, ...]
 *                    Also those being torn down ("state": "deleting").
 *   gc               valid: [{container_id, ifname}, ...]
 *                    → removed: [{container_id, ifname, host_ifname}, ...]
 *                    Removes every endpoint and IP allocation not in "valid":
 *                    endpoints as endpoint_delete does (listed with their
 *                    host_ifname), IP-only allocations at once.  Endpoints
 *                    already being torn down are skipped and not listed.
 *   drops            → drops: [{reason, direction, packets, bytes}, ...]
 *                    (only non-zero counters)
 *   k8s_status       → connected(bool) server config config_error node_name
 *                      node_ip pod_cidr_source("node"|"flag") waiting_for
 *                      remote_pods remote_errors
 *                      resources: [{resource synced state objects
 *                        resource_version lists relists reconnects failures
 *                        events}, ...]: nodes pods namespaces services
 *                        endpointslices networkpolicies
 *                    EOPNOTSUPP when the agent runs without Kubernetes.
 *   pods             → pods: [{namespace name node ip local(bool)
 *                      host_network(bool) phase ipcache(bool) [labels]}, ...]
 *                    Every pod the agent watches; ipcache: a remote entry
 *                    for it is written.  EOPNOTSUPP without Kubernetes.
 *   policy_trace     from to port [protocol]
 *                    → trace: {verdict("allowed"|"denied"),
 *                        egress: side, ingress: side}
 *                      side: {isolated(bool) policies(["ns/name", ...]: those
 *                        selecting that end for that direction)
 *                        allowed_by("ns/name ingress rule 0"|null) reason}
 *                    Would a NEW connection from "from" to "to" pass, and
 *                    why: egress is the policy of "from", ingress that of
 *                    "to".  Each is "ns/name" of a pod the agent watches or
 *                    an IPv4 address (a pod's IP stands for that pod, any
 *                    other is not a pod: no policy of its own).  protocol:
 *                    "TCP" (absent), "UDP" or "SCTP" with port 1-65535, or
 *                    "ICMP" with port 0 or none; case-insensitive.  The
 *                    policy compiler's pol_trace() on the agent's caches,
 *                    which looks the connection up as the datapath does.
 *                    ENOENT for an unknown pod, EINVAL for a malformed
 *                    field, EOPNOTSUPP without Kubernetes.
 *   policy_status    → synced(bool) identities policies cidrs endpoints
 *                      endpoints_isolated endpoints_pending policy_entries
 *                      flushes compiles last_flush_us max_flush_us
 *                      map_errors policy_errors last_policy_error
 *                    NetworkPolicy state (agent/netpol.h); porinctl prints
 *                    whatever keys come.  EOPNOTSUPP without Kubernetes.
 *
 * With Kubernetes and no --pod-cidr, the agent answers before it knows its
 * pod CIDR: status then says ready=false and waiting_for (no pod_cidr, no
 * counts), k8s_status, pods, policy_trace and policy_status answer, every
 * other op fails with EAGAIN ("try again later").
 *
 *
 * Multi-node (agent/node.h).  The Kubernetes watcher drives the same calls;
 * these ops let tests and hosts without Kubernetes do it:
 *   node_upsert      name ip [pod_cidr]
 *                    Another node: its underlay IP and pod CIDR ("" or
 *                    absent: none yet).  Writes the ipcache entry pod_cidr →
 *                    tunnel endpoint ip and, VXLAN mode, the route
 *                    "pod_cidr dev porin_vxlan src <gateway>" or, native
 *                    mode, "pod_cidr via ip".  Idempotent; a changed ip or
 *                    pod_cidr replaces the old state (remote pods follow a
 *                    changed ip).  Our own name: no-op.  EADDRINUSE when
 *                    pod_cidr overlaps ours or another node's.  Persisted
 *                    under <state_dir>/nodes and replayed at start.
 *   node_delete      name               (idempotent)
 *                    Removes exactly what node_upsert added, and the
 *                    remote-pod /32s pointing at that node's ip.
 *   node_list        → nodes: [{name, ip, pod_cidr}, ...]
 *   remote_pod_upsert ip node_ip        ipcache ip/32 → tunnel endpoint node_ip
 *                    EEXIST when ip is a pod on this node.
 *   remote_pod_delete ip                (idempotent; never a local pod's entry)
 *   ipcache_list     → ipcache: [{prefix, identity, tunnel_endpoint ("" for
 *                    none), flags: ["local"|"node-cidr"|"remote-pod", ...]}, ...]
 * status also answers node_name node_ip (null if unknown) routing
 * ("vxlan"|"native") underlay_mtu mtu nodes; ip_allocate also answers mtu:
 * the MTU pods on this node must have (underlay - 50 in VXLAN mode, the
 * underlay's in native mode), for the CNI plugin to use when its network
 * config sets no "mtu".
 *
 * An endpoint object: endpoint_id container_id ifname netns ip host_ifname
 * host_ifindex host_mac pod_mac pod_namespace pod_name state.  MACs are
 * "aa:bb:cc:dd:ee:ff", IPs dotted quads without prefix; state is "active" or
 * "deleting" (ignored in endpoint_add).
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

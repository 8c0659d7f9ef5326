/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NetworkPolicy in the agent: keeps the policy compiler's database
 * (policy/policy.h) in step with the Kubernetes objects and the datapath
 * maps in step with the compiler's output.
 *
 *   every Pod (all nodes)   → a label-set identity (pol_identity_get); the
 *                             ipcache carries it for the pod's IP
 *   every NetworkPolicy     → pol_policy_set / pol_policy_del
 *   ipBlock CIDRs           → pn_policy_cidrs
 *   every local endpoint    → its identity and isolation flags in
 *                             pn_endpoints, its compiled entries in pn_policy
 *
 * Events only change memory and mark what they affect; netpol_flush() (the
 * event loop calls it after each batch of events) recompiles the affected
 * endpoints and writes the difference, make-before-break: new entries and
 * CIDRs first, then endpoint flags and identities, then removals.  Nothing is
 * written before the pods, namespaces and policies have been listed once
 * (netpol_synced): a restarted agent leaves the pinned maps as they are
 * until it knows the whole picture, and a new endpoint is created
 * IDENTITY_PENDING (denies everything) until then.
 *
 * Only the agent's main thread calls these.
 */
#ifndef PORIN_AGENT_NETPOL_H
#define PORIN_AGENT_NETPOL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "policy.h"

struct agent;
struct ep_record;
struct k8s_pod;
struct k8s_labels;
struct k8s_netpol;
struct netpol;

int netpol_new(struct agent *a, struct netpol **ret);
void netpol_free(struct netpol *np);	/* NULL-safe; leaves the maps alone */

/* --- from the Kubernetes watch --------------------------------------------- */
/* A pod was added or changed (@ns_labels: its namespace's, NULL if that is
 * not known yet).  Returns the pod's identity, 0 if it has none (hostNetwork,
 * finished). */
uint32_t netpol_pod_set(struct netpol *np, const struct k8s_pod *p,
			const struct k8s_labels *ns_labels);
void netpol_pod_del(struct netpol *np, const char *ns, const char *name);
/* The pod's current identity, 0 if none. */
uint32_t netpol_pod_identity(const struct netpol *np, const char *ns, const char *name);
/* A policy that cannot be enforced as written keeps its previous version
 * (logged, counted in netpol_status_json). */
void netpol_policy_set(struct netpol *np, const struct k8s_netpol *p);
void netpol_policy_del(struct netpol *np, const char *ns, const char *name);
/* Pods, namespaces and policies have all been listed: flushes may write. */
void netpol_synced(struct netpol *np);

/* --- local endpoints (agent_ops.c) ------------------------------------------ */
/*
 * The identity and PN_EP_F_* flags to write for endpoint @rec now.  A new
 * endpoint's policy entries are compiled and written before this returns, so
 * its first packet already obeys them; a pod the agent does not know yet gets
 * PN_EP_F_IDENTITY_PENDING.  An endpoint without Kubernetes pod name, or an
 * agent without the Kubernetes API, gets no policy at all (flags 0).
 */
void netpol_endpoint_state(struct netpol *np, const struct ep_record *rec,
			   uint32_t *ret_identity, uint32_t *ret_flags);
/* The endpoint is gone: remove its pn_policy entries. */
void netpol_endpoint_gone(struct netpol *np, uint32_t endpoint_id);

/* Recompile what changed and write the difference; cheap when nothing did. */
void netpol_flush(struct netpol *np);

/* --- for humans ------------------------------------------------------------- */
/* lib/api.h policy_trace: @from/@to are "ns/name" or an IPv4 address. */
int netpol_trace_json(struct netpol *np, const char *from, const char *to, uint8_t proto,
		      uint16_t port, json_t *out, char *err, size_t errlen);
/* Counters and sizes, added to @out. */
int netpol_status_json(const struct netpol *np, json_t *out);

/* --- shared with porinctl's offline trace ------------------------------------ */
/*
 * The policy subject of pod @p.  @ports_buf must hold p->n_ports entries;
 * the subject points into @p, @ns_labels and @ports_buf.  False for pods
 * policy ignores: hostNetwork ones (they are the node) and finished ones.
 */
bool netpol_subject_of(const struct k8s_pod *p, const struct k8s_labels *ns_labels,
		       struct pol_named_port *ports_buf, struct pol_subject *ret);

#endif

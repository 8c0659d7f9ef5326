/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NetworkPolicy compiler: a pure library (no I/O, no kernel, no agent)
 * shared by porin-agent and porinctl's offline trace.
 *
 *   subjects    who a pod is for policy: namespace, its labels, the pod's
 *               labels and named container ports
 *   identities  each distinct subject interned to a node-local number
 *               (abi.h PN_ID_POD_MIN..), refcounted by the pods holding it
 *   cidrs       every ipBlock CIDR and except of every policy interned to a
 *               CIDR identity (PN_ID_CIDR_MIN..); the longest prefix holding
 *               an address is its CIDR identity, PN_ID_WORLD if none
 *   policies    parsed networking.k8s.io/v1 NetworkPolicy specs
 *   compile     (policies, identities, cidrs, one endpoint's subject) →
 *               isolation per direction + the sorted pn_policy entries that
 *               the datapath looks up (abi.h), each with the rule that made it
 *   trace       the verdict for one connection, explained, computed by
 *               compiling both ends and looking the connection up in the
 *               entries exactly as the datapath does
 *
 * All objects belong to one struct pol_db; it is not thread-safe.  Strings
 * passed in are copied unless said otherwise.  Errors are negative errno;
 * parse errors also write a message into the caller's buffer.
 */
#ifndef PORIN_POLICY_H
#define PORIN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "porin/abi.h"

/* Labels packed as "k\0v\0k\0v\0", n pairs (agent/k8s/objects.h's
 * struct k8s_labels has the same layout).  Not owned. */
struct pol_labels {
	uint32_t n;
	const char *kv;
};

/* A named container port; proto is IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP. */
struct pol_named_port {
	const char *name;
	uint16_t port;
	uint8_t proto;
};

/* Who a pod is, for policy.  Not owned: the library copies what it keeps. */
struct pol_subject {
	const char *ns;
	struct pol_labels labels;	/* the pod's */
	struct pol_labels ns_labels;	/* its namespace's (empty if unknown) */
	const struct pol_named_port *ports;	/* unnamed ports may be omitted */
	uint32_t n_ports;
};

struct pol_db;

int pol_db_new(struct pol_db **ret);
void pol_db_free(struct pol_db *db);	/* NULL-safe */

/* --- identities ------------------------------------------------------------ */
/*
 * The identity of @s, created on first use; each call takes a reference that
 * pol_identity_put() drops (the number is freed with its last reference and
 * not reused soon).  *ret_new tells whether the identity did not exist before
 * (the agent then has endpoints' policy to recompute; an existing identity
 * needs only the ipcache update).
 */
int pol_identity_get(struct pol_db *db, const struct pol_subject *s, uint32_t *ret_id,
		     bool *ret_new);
/* Returns true when this dropped the last reference (identity gone). */
bool pol_identity_put(struct pol_db *db, uint32_t id);
/* The subject behind a live identity, or NULL; valid until it is put. */
const struct pol_subject *pol_identity_subject(const struct pol_db *db, uint32_t id);
size_t pol_identity_count(const struct pol_db *db);

/* --- policies -------------------------------------------------------------- */
/*
 * Add or replace the policy @ns/@name from its spec (the "spec" object of a
 * networking.k8s.io/v1 NetworkPolicy).  A spec that cannot be enforced as
 * written (bad selector operator, bad CIDR, port out of range…) is rejected
 * with -EINVAL and a message, and the previous version, if any, stays.
 */
int pol_policy_set(struct pol_db *db, const char *ns, const char *name, const json_t *spec,
		   char *err, size_t errlen);
/* -ENOENT if there was none. */
int pol_policy_del(struct pol_db *db, const char *ns, const char *name);
size_t pol_policy_count(const struct pol_db *db);

/* --- CIDR identities ------------------------------------------------------- */
/* The prefixes every ipBlock of every policy names, with their identities:
 * exactly what pn_policy_cidrs must hold (plus nothing else). */
struct pol_cidr {
	uint32_t addr_be;	/* network order, host bits zero */
	uint8_t len;
	uint32_t identity;
};
/* Calls @fn for each; stops at and returns the first non-zero result. */
int pol_cidr_foreach(const struct pol_db *db, int (*fn)(void *data, const struct pol_cidr *c),
		     void *data);
/* The CIDR identity of @addr_be: its longest prefix, else PN_ID_WORLD. */
uint32_t pol_cidr_identity(const struct pol_db *db, uint32_t addr_be);

/* --- compile ---------------------------------------------------------------- */
struct pol_entry {
	struct pn_policy_key key;	/* endpoint_id as given to pol_compile */
	uint32_t rule_ref;		/* pol_rule_describe() names it */
};

struct pol_compiled {
	bool isolated_ingress;		/* → PN_EP_F_POLICY_INGRESS */
	bool isolated_egress;		/* → PN_EP_F_POLICY_EGRESS */
	struct pol_entry *entries;	/* sorted by key (pol_entry_cmp), no duplicates */
	size_t n_entries;
};

/*
 * Everything the datapath needs for one local endpoint whose subject is @s.
 * Ingress named ports resolve against @s's ports; egress named ports against
 * each peer identity's.  Deterministic: the same inputs give the same
 * entries in the same order, so the agent can diff two results.
 */
int pol_compile(struct pol_db *db, const struct pol_subject *s, uint32_t endpoint_id,
		struct pol_compiled *ret);
void pol_compiled_clear(struct pol_compiled *c);
/* Orders keys by endpoint_id, direction, peer_identity, protocol, dport (as a
 * number) and prefixlen; 0 means the same map key (rule_ref not compared). */
int pol_entry_cmp(const struct pol_entry *a, const struct pol_entry *b);

/* "ns/name ingress rule 0" into @buf; false if @ref names no live rule. */
bool pol_rule_describe(const struct pol_db *db, uint32_t rule_ref, char *buf, size_t len);

/* --- trace ------------------------------------------------------------------ */
struct pol_trace_end {
	const struct pol_subject *subject;	/* NULL: not a pod (an address only) */
	uint32_t addr_be;
	bool host;		/* subject NULL: this node itself (peer PN_ID_HOST) */
};

/*
 * Would a NEW connection from @from to @to on @proto/@port pass?  Fills
 * @out (a JSON object) with the verdict and why: for each side, the
 * policies that select it, whether it is isolated, and the rule that allowed
 * the connection or "no rule allows it".  Same code path as pol_compile.
 * Ingress from a @from with .host set is allowed, as in the datapath.
 * Shape (stable; the agent and porinctl print it):
 *   {"verdict":"allowed"|"denied",
 *    "egress":{"isolated":bool,"policies":["ns/name",...],
 *              "allowed_by":"ns/name egress rule 0"|null,"reason":"..."},
 *    "ingress":{...}}
 */
int pol_trace(struct pol_db *db, const struct pol_trace_end *from, const struct pol_trace_end *to,
	      uint8_t proto, uint16_t port, json_t *out);

#endif

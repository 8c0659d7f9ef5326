/* SPDX-License-Identifier: Apache-2.0 */
/*
 * porinctl's offline policy trace: a cluster's Pods, Namespaces and
 * NetworkPolicies as `kubectl get ... -o json` prints them, fed to the same
 * policy compiler (policy/policy.h) and the same pod subjects
 * (netpol_subject_of) as the agent.  No I/O and no logging: the caller reads
 * the files and reports the warnings.
 *
 *   trace_snapshot_new()
 *   trace_snapshot_add()     once per document: a List (mixed kinds, or a
 *                            PodList…) or a single object
 *   trace_snapshot_build()   once, after the last add
 *   trace_snapshot_trace() / trace_snapshot_trace_all()
 *
 * Manifests are accepted too: an object without metadata.namespace is in
 * "default", a missing resourceVersion or uid is made up.  Every namespace
 * carries kubernetes.io/metadata.name as the API server sets it; a pod whose
 * namespace is not in the snapshot gets that label only (and a warning).
 */
#ifndef PORIN_AGENT_TRACE_SNAPSHOT_H
#define PORIN_AGENT_TRACE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct trace_snapshot;

/* Something skipped or assumed; @msg is one line without a newline. */
typedef void trace_warn_fn(void *ctx, const char *msg);

int trace_snapshot_new(struct trace_snapshot **ret);
void trace_snapshot_free(struct trace_snapshot *s);	/* NULL-safe */

/*
 * Take the Pods, Namespaces and NetworkPolicies of @doc; other kinds are
 * skipped silently, objects that do not decode with a warning.  A later
 * object of the same kind, namespace and name replaces an earlier one.
 * -EBADMSG when @doc is not a Kubernetes object or List; -EBUSY after build.
 */
int trace_snapshot_add(struct trace_snapshot *s, const json_t *doc, trace_warn_fn *warn,
		       void *ctx);

/*
 * Compile: every policy into the database (one that cannot be enforced is
 * skipped with a warning, as the agent keeps running without it), every
 * pod's identity interned.  Errors only for lack of memory.
 */
int trace_snapshot_build(struct trace_snapshot *s, trace_warn_fn *warn, void *ctx);

size_t trace_snapshot_pod_count(const struct trace_snapshot *s);
size_t trace_snapshot_policy_count(const struct trace_snapshot *s);	/* accepted ones */

/*
 * pol_trace() of one connection into the object @out.  @from/@to are
 * "ns/name" or an IPv4 address (a pod's IP stands for that pod; any other
 * address is not a pod).  A hostNetwork pod is its node's address: the
 * node itself to a pod on the same node (spec.nodeName).  -EINVAL for a
 * malformed end, -ENOENT for an unknown or finished pod, with a message in
 * @err; -EINVAL before build.
 * @ret_from/@ret_to (may be NULL) get the ends' display names, "ns/name"
 * for pods, else the address as given.
 */
int trace_snapshot_trace(struct trace_snapshot *s, const char *from, const char *to,
			 uint8_t proto, uint16_t port, json_t *out, const char **ret_from,
			 const char **ret_to, char *err, size_t errlen);

/*
 * Every ordered pair of distinct pods that have an IPv4 address and a
 * policy subject, sorted by namespace and name: pol_trace() objects with
 * "from" and "to" ("ns/name") added, appended to the array @out.
 */
int trace_snapshot_trace_all(struct trace_snapshot *s, uint8_t proto, uint16_t port,
			     json_t *out);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the agent does, independent of who asks (local API today, Kubernetes
 * watchers later).  Each operation keeps three things in step: IPAM, the
 * endpoint store (memory + disk) and the datapath maps; on failure it undoes
 * its own steps in reverse order.  Return 0/positive or -errno; @e (may be
 * NULL) receives a human-readable reason for the caller to report.
 *
 * Not thread-safe by design: the agent is single-threaded and handles one
 * request at a time, so concurrent CNI ADDs are serialised by construction.
 */
#ifndef PORIN_AGENT_AGENT_OPS_H
#define PORIN_AGENT_AGENT_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "endpoint.h"

struct agent_err {
	char msg[256];
};

/* Open IPAM (from cfg.pod_cidr) and load persisted IPAM and endpoint state.
 * No kernel side effects. */
int agent_state_open(struct agent *a);
void agent_state_close(struct agent *a);

/*
 * After dp_open(): make IPAM agree with the endpoint records, rewrite every
 * endpoint's map entries, drop local map entries no record backs, and
 * re-attach the freshly loaded programs to every veth that still exists.
 */
int agent_reconcile(struct agent *a);

int agent_ip_allocate(struct agent *a, const char *container_id, const char *ifname,
		      uint32_t *ret_ip_be, struct agent_err *e);
/* -EBUSY while an endpoint is registered for the key (use endpoint delete). */
int agent_ip_release(struct agent *a, const char *container_id, const char *ifname,
		     struct agent_err *e);

/* @rec from the API (endpoint_id ignored); on success rec->endpoint_id is set. */
int agent_endpoint_add(struct agent *a, struct ep_record *rec, struct agent_err *e);
/* 1 and *ret_host_ifname when an endpoint was removed, 0 when there was none.
 * Releases the key's IP either way. */
int agent_endpoint_delete(struct agent *a, const char *container_id, const char *ifname,
			  char ret_host_ifname[IFNAMSIZ], struct agent_err *e);

struct agent_key {
	char container_id[EP_CONTAINER_ID_MAX + 1];
	char ifname[IFNAMSIZ];
};

/* Called for each removed attachment; @host_ifname NULL for an IP-only one. */
typedef int (*agent_gc_fn)(void *ctx, const char *container_id, const char *ifname,
			   const char *host_ifname);

/* Remove every endpoint and IP allocation whose key is not in @valid.  Items
 * that fail to go are logged and kept for the next run. */
int agent_gc(struct agent *a, const struct agent_key *valid, size_t n_valid,
	     agent_gc_fn removed, void *ctx);

#endif

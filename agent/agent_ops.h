/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the agent does, independent of who asks (local API today, Kubernetes
 * watchers later).  Each operation keeps three things in step: IPAM, the
 * endpoint store (memory + disk) and the datapath maps; on failure it undoes
 * its own steps in reverse order.  Return 0/positive or -errno; @e (may be
 * NULL) receives a human-readable reason for the caller to report.
 *
 * Not thread-safe by design: every operation here runs on the agent's main
 * thread, one request at a time, so concurrent CNI ADDs are serialised by
 * construction.  The one other thread, the reaper's worker (reaper.h), only
 * deletes links; it never touches IPAM, the store or the maps, and hands its
 * results back to agent_reaper_collect() on this thread.
 *
 * Deleting an endpoint is two steps.  endpoint_delete removes its map entries
 * (traffic stops being redirected to it at once), marks its record DELETING
 * on disk and queues its host veth for the reaper, then answers.  When the
 * veth is gone, agent_reaper_collect() releases the IP and drops the record:
 * the address is free for a new pod only once the old veth and its host
 * route are.  While a key is DELETING, ep_op_gate() (endpoint.h) decides what
 * other operations on it do.
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
 * active endpoint's map entries, drop local map entries no active record
 * backs (so those of DELETING records go too), and re-attach the freshly
 * loaded programs to every active endpoint's veth that still exists.
 */
int agent_reconcile(struct agent *a);

/* After a->reaper is up: queue the veth of every record a previous run left
 * DELETING (a veth already gone just finishes the teardown). */
void agent_reaper_resume(struct agent *a);
/* On the reaper's eventfd: finish each collected job (release the IP, drop
 * the record), or queue it again with a back-off when the delete failed. */
void agent_reaper_collect(struct agent *a);
/* Records in DELETING. */
size_t agent_deleting_count(const struct agent *a);

/* -EAGAIN while the key's previous endpoint is being torn down. */
int agent_ip_allocate(struct agent *a, const char *container_id, const char *ifname,
		      uint32_t *ret_ip_be, struct agent_err *e);
/* -EBUSY while an active endpoint is registered for the key (use endpoint
 * delete); 0 while it is DELETING (its IP goes when its veth does). */
int agent_ip_release(struct agent *a, const char *container_id, const char *ifname,
		     struct agent_err *e);

/* @rec from the API (endpoint_id ignored); on success rec->endpoint_id is set.
 * -EAGAIN while the key's previous endpoint, or the one holding the IP, is
 * being torn down. */
int agent_endpoint_add(struct agent *a, struct ep_record *rec, struct agent_err *e);

/* Rewrite the map entries of active endpoint @endpoint_id with this
 * identity and these PN_EP_F_* flags (netpol.c, when they change). */
int agent_endpoint_policy_write(struct agent *a, uint32_t endpoint_id, uint32_t identity,
				uint32_t flags);

enum {
	AGENT_DEL_NONE,		/* no endpoint: the key's IP (if any) was released */
	AGENT_DEL_PENDING,	/* endpoint DELETING: its veth is the reaper's now */
};
/* AGENT_DEL_PENDING and *ret_host_ifname when the key has an endpoint (also
 * when it was DELETING already: idempotent), AGENT_DEL_NONE when not. */
int agent_endpoint_delete(struct agent *a, const char *container_id, const char *ifname,
			  char ret_host_ifname[IFNAMSIZ], struct agent_err *e);

struct agent_key {
	char container_id[EP_CONTAINER_ID_MAX + 1];
	char ifname[IFNAMSIZ];
};

/* Called for each removed attachment; @host_ifname NULL for an IP-only one. */
typedef int (*agent_gc_fn)(void *ctx, const char *container_id, const char *ifname,
			   const char *host_ifname);

/* Remove every endpoint and IP allocation whose key is not in @valid:
 * endpoints as endpoint_delete does (DELETING, veth to the reaper), IP-only
 * allocations at once.  Endpoints already DELETING are skipped (going
 * anyway; not reported).  Items that fail to go are logged and kept for the
 * next run. */
int agent_gc(struct agent *a, const struct agent_key *valid, size_t n_valid,
	     agent_gc_fn removed, void *ctx);

#endif

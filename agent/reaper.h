/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reaper: deletes pods' host veths off the local API's critical path.
 *
 * Deleting a veth blocks the caller for 15-30 ms in the kernel
 * (unregister_netdevice waits for RCU grace periods), almost all of it
 * off-CPU.  endpoint_delete answers at once and hands the link to this
 * module: one worker thread with its own rtnetlink socket, a queue (mutex +
 * condvar), and an eventfd in the agent's epoll loop through which finished
 * jobs come back.
 *
 * Threading rule: the worker touches only the jobs in its queue and its own
 * netlink socket.  Agent state (IPAM, the endpoint store, the maps) belongs to
 * the main thread alone, which acts on a job after it collects it.
 *
 * A job deletes the link by name, but only while the name still has the
 * recorded ifindex: a link that is gone (-ENODEV), or a new link that took the
 * name, means the old one is gone, which is success.
 */
#ifndef PORIN_AGENT_REAPER_H
#define PORIN_AGENT_REAPER_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "endpoint.h"

struct reaper;

struct reaper_job {
	/* Set by the submitter.  The key says whose veth it is (the reaper
	 * does not read it); the link is host_ifname, if it has host_ifindex. */
	char container_id[EP_CONTAINER_ID_MAX + 1];
	char ifname[IFNAMSIZ];
	char host_ifname[IFNAMSIZ];
	int host_ifindex;
	unsigned int delay_ms;	/* start no earlier than this after submission */
	unsigned int attempt;	/* the submitter's retry count, carried along */

	/* Set by the reaper; times are CLOCK_MONOTONIC (reaper_now_ns()). */
	uint64_t first_submit_ns;	/* the first submission (kept on resubmit) */
	uint64_t submit_ns;	/* this submission */
	uint64_t start_ns, end_ns;	/* the netlink work */
	int err;		/* 0: the link is gone now; or -errno of the delete */
	bool found;		/* the link (with that ifindex) was there to delete */

	struct reaper_job *next;	/* queue link, owned by whoever holds the job */
};

/* Start the worker.  Its rtnetlink socket lives in the caller's network
 * namespace. */
int reaper_new(struct reaper **ret);
/* Let the job in progress finish (one netlink request at most), then stop
 * the worker.  Idempotent.  Queued jobs stay queued; finished ones can still
 * be collected. */
void reaper_stop(struct reaper *r);
/* reaper_stop(), then free every job still held.  NULL-safe. */
void reaper_free(struct reaper *r);

/* Readable (EPOLLIN) when finished jobs wait to be collected. */
int reaper_fd(const struct reaper *r);

/* Queue @job (malloc'd; the reaper owns it until it is collected).  Cannot
 * fail, so a caller allocates the job before it commits to the deletion. */
void reaper_submit(struct reaper *r, struct reaper_job *job);

/* The finished jobs, oldest first, linked through ->next (ownership passes
 * to the caller, who frees or resubmits each); NULL when there are none.
 * Resets the eventfd first, so a job finishing meanwhile wakes the loop
 * again. */
struct reaper_job *reaper_collect(struct reaper *r);

/* Jobs queued or in progress (not counting finished, uncollected ones). */
unsigned int reaper_pending(struct reaper *r);

uint64_t reaper_now_ns(void);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A reflector: keeps a local cache of one resource type in step with the
 * apiserver and tells the agent what changed.
 *
 *   LIST (paginated, limit + continue) -> diff against the cache -> SYNCED
 *   WATCH from the list's resourceVersion, with bookmarks
 *     clean end (timeoutSeconds)        -> WATCH again from the last RV
 *     transport error (apiserver gone)  -> backoff, WATCH from the last RV
 *     410 Gone (RV compacted away)      -> LIST again
 *     any other failure                 -> backoff, LIST again
 *
 * Resuming from the last RV is exact: the apiserver either replays every
 * change since it or answers 410, and after a 410 the relist's diff turns
 * whatever happened meanwhile into adds, updates and deletes.  Nothing is
 * lost across an apiserver restart or an etcd compaction.
 */
#ifndef PORIN_K8S_WATCH_H
#define PORIN_K8S_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objects.h"

struct k8s_client;
struct k8s_reflector;

/* Objects passed to handlers are the cache's: valid only during the call. */
struct k8s_handlers {
	void (*on_add)(void *data, const struct k8s_meta *m);
	void (*on_update)(void *data, const struct k8s_meta *old, const struct k8s_meta *m);
	void (*on_delete)(void *data, const struct k8s_meta *m);
	/* After every complete LIST (first sync and each relist). */
	void (*on_synced)(void *data, size_t n);
};

struct k8s_reflector_opts {
	struct k8s_client *client;	/* NULL only in tests that feed data by hand */
	const struct k8s_kind *kind;
	const struct k8s_handlers *handlers;
	void *data;
	const char *field_selector;	/* e.g. "spec.nodeName=n1"; NULL: all */
	unsigned page_limit;		/* 0: 500 */
	uint32_t backoff_min_ms, backoff_max_ms;	/* 0: 200 ms, 30 s */
	uint32_t watch_timeout_min_s, watch_timeout_max_s; /* 0: 300 s, 600 s */
	uint32_t seed;			/* jitter; 0: from the clock and pid */
};

int k8s_reflector_new(const struct k8s_reflector_opts *o, struct k8s_reflector **ret);
void k8s_reflector_free(struct k8s_reflector *r);
/* Begin the first LIST; everything after runs from k8s_client_dispatch(). */
int k8s_reflector_start(struct k8s_reflector *r);

const struct k8s_meta *k8s_reflector_get(const struct k8s_reflector *r, const char *ns,
					 const char *name);
size_t k8s_reflector_count(const struct k8s_reflector *r);
bool k8s_reflector_synced(const struct k8s_reflector *r);

/* Counters for operators (porinctl k8s status). */
struct k8s_reflector_stats {
	const char *state;	/* idle, listing, watching, backoff */
	uint64_t lists;		/* complete LISTs: the first sync, then each relist */
	uint64_t watches;	/* watch requests started */
	uint64_t reconnects;	/* watches resumed after a broken connection */
	uint64_t failures;	/* failed requests, each retried after a backoff */
	uint64_t events;	/* watch events received */
};

void k8s_reflector_stats(const struct k8s_reflector *r, struct k8s_reflector_stats *ret);
/* Every cached object, in no particular order; @fn must not change the cache. */
void k8s_reflector_foreach(const struct k8s_reflector *r,
			   void (*fn)(void *data, struct k8s_meta *m), void *data);

/* --- the steps, exposed for unit tests ----------------------------------- */

enum k8s_next {
	K8S_NEXT_REWATCH,		/* watch again from the last RV, now */
	K8S_NEXT_RELIST,		/* list again, now */
	K8S_NEXT_BACKOFF_REWATCH,	/* after a backoff delay */
	K8S_NEXT_BACKOFF_RELIST,
};

/* What follows a finished watch request: @err from the transport (or the
 * stream handler: -ESTALE after a 410 ERROR event), @status the HTTP status. */
enum k8s_next k8s_watch_next(int err, long status);

void k8s_reflector_list_begin(struct k8s_reflector *r);
/* One LIST page: apply its items, return its continue token (NULL: last
 * page) in *ret_cont, to free. */
int k8s_reflector_list_page(struct k8s_reflector *r, const char *body, size_t len,
			    char **ret_cont);
/* The list is complete: objects it did not contain are deleted. */
void k8s_reflector_list_end(struct k8s_reflector *r);
/* One watch event line; -ESTALE when it says 410 Gone. */
int k8s_reflector_watch_line(struct k8s_reflector *r, const char *line, size_t len);
const char *k8s_reflector_rv(const struct k8s_reflector *r);

#endif

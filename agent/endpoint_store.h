/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The endpoint records, in memory and on disk: one JSON file per endpoint,
 * <dir>/<container_id>_<ifname>.json, replaced atomically.  Records are keyed
 * by (container_id, ifname).  The store writes its file before it changes
 * memory, so memory never claims more than the disk.
 */
#ifndef PORIN_AGENT_ENDPOINT_STORE_H
#define PORIN_AGENT_ENDPOINT_STORE_H

#include <stddef.h>

#include "endpoint.h"

#define EP_STORE_MAX		4096	/* matches PN_ENDPOINTS_MAX / 2 keys per endpoint */

struct ep_store;

/* Create @dir if needed and load every record in it.  Records that do not
 * parse are logged and left on disk. */
int ep_store_open(const char *dir, struct ep_store **ret);
void ep_store_free(struct ep_store *store);

size_t ep_store_count(const struct ep_store *store);
/* Records in no particular order; pointers are valid until the next change. */
const struct ep_record *ep_store_at(const struct ep_store *store, size_t i);
const struct ep_record *ep_store_find(const struct ep_store *store, const char *container_id,
				      const char *ifname);

/* Lowest endpoint id no record uses. */
uint32_t ep_store_free_id(const struct ep_store *store);

/*
 * Insert or replace the record with @rec's key, after persisting it.
 * @rec->endpoint_id must be set.  -EEXIST when another record has the same
 * endpoint id or would share its file name; -ENOSPC past EP_STORE_MAX.
 */
int ep_store_put(struct ep_store *store, const struct ep_record *rec);

/* Remove the file, then the record: 1 removed, 0 there was none. */
int ep_store_remove(struct ep_store *store, const char *container_id, const char *ifname);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reflector's store: compact objects keyed by namespace/name, in an
 * open-addressing hash table (linear probing, backward-shift deletion, so no
 * tombstones accumulate under churn).  16 bytes a slot, load at most 1/2.
 * Each entry carries the generation of the LIST that last saw it, which is
 * how a relist finds the objects that vanished.
 */
#ifndef PORIN_K8S_CACHE_H
#define PORIN_K8S_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct k8s_meta;
struct k8s_cache;

int k8s_cache_new(struct k8s_cache **ret);
/* Frees the objects too, through @free_obj. */
void k8s_cache_free(struct k8s_cache *c, void (*free_obj)(struct k8s_meta *m));

struct k8s_meta *k8s_cache_get(const struct k8s_cache *c, const char *ns, const char *name);
/* Insert or replace; the replaced object (or NULL) goes to *ret_old. */
int k8s_cache_put(struct k8s_cache *c, struct k8s_meta *m, uint32_t gen,
		  struct k8s_meta **ret_old);
/* Unlink and return the object, or NULL. */
struct k8s_meta *k8s_cache_del(struct k8s_cache *c, const char *ns, const char *name);
size_t k8s_cache_count(const struct k8s_cache *c);

/* Unlink every object whose generation is not @gen and hand it to @fn. */
void k8s_cache_sweep(struct k8s_cache *c, uint32_t gen,
		     void (*fn)(void *data, struct k8s_meta *m), void *data);

void k8s_cache_foreach(const struct k8s_cache *c, void (*fn)(void *data, struct k8s_meta *m),
		       void *data);

#endif

// SPDX-License-Identifier: Apache-2.0
#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"

struct slot {
	struct k8s_meta *m;	/* NULL: empty */
	uint32_t hash;
	uint32_t gen;
};

struct k8s_cache {
	struct slot *slots;
	size_t cap;	/* a power of two */
	size_t n;
};

static uint32_t key_hash(const char *ns, const char *name)
{
	uint32_t h = 2166136261u;

	for (const char *p = ns ? ns : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

static int key_eq(const struct k8s_meta *m, const char *ns, const char *name)
{
	return !strcmp(m->name, name) && !strcmp(m->ns ? m->ns : "", ns ? ns : "");
}

int k8s_cache_new(struct k8s_cache **ret)
{
	struct k8s_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->cap = 64;
	c->slots = calloc(c->cap, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

void k8s_cache_free(struct k8s_cache *c, void (*free_obj)(struct k8s_meta *m))
{
	if (!c)
		return;
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i].m && free_obj)
			free_obj(c->slots[i].m);
	free(c->slots);
	free(c);
}

static size_t find(const struct k8s_cache *c, uint32_t h, const char *ns, const char *name)
{
	size_t i = h & (c->cap - 1);

	while (c->slots[i].m &&
	       (c->slots[i].hash != h || !key_eq(c->slots[i].m, ns, name)))
		i = (i + 1) & (c->cap - 1);
	return i;
}

struct k8s_meta *k8s_cache_get(const struct k8s_cache *c, const char *ns, const char *name)
{
	return c->slots[find(c, key_hash(ns, name), ns, name)].m;
}

static int grow(struct k8s_cache *c)
{
	struct slot *old = c->slots;
	size_t old_cap = c->cap;

	c->slots = calloc(old_cap * 2, sizeof(*c->slots));
	if (!c->slots) {
		c->slots = old;
		return -ENOMEM;
	}
	c->cap = old_cap * 2;
	for (size_t i = 0; i < old_cap; i++) {
		size_t j;

		if (!old[i].m)
			continue;
		j = old[i].hash & (c->cap - 1);
		while (c->slots[j].m)
			j = (j + 1) & (c->cap - 1);
		c->slots[j] = old[i];
	}
	free(old);
	return 0;
}

int k8s_cache_put(struct k8s_cache *c, struct k8s_meta *m, uint32_t gen,
		  struct k8s_meta **ret_old)
{
	uint32_t h = key_hash(m->ns, m->name);
	size_t i;
	int err;

	if ((c->n + 1) * 2 > c->cap) {
		err = grow(c);
		if (err < 0)
			return err;
	}
	i = find(c, h, m->ns, m->name);
	*ret_old = c->slots[i].m;
	if (!c->slots[i].m)
		c->n++;
	c->slots[i] = (struct slot){ .m = m, .hash = h, .gen = gen };
	return 0;
}

/* Close the hole at @i by shifting later members of its probe run back. */
static void remove_at(struct k8s_cache *c, size_t i)
{
	size_t mask = c->cap - 1, j = i;

	c->slots[i].m = NULL;
	c->n--;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!c->slots[j].m)
			return;
		home = c->slots[j].hash & mask;
		/* Movable unless its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		c->slots[i] = c->slots[j];
		c->slots[j].m = NULL;
		i = j;
	}
}

struct k8s_meta *k8s_cache_del(struct k8s_cache *c, const char *ns, const char *name)
{
	size_t i = find(c, key_hash(ns, name), ns, name);
	struct k8s_meta *m = c->slots[i].m;

	if (m)
		remove_at(c, i);
	return m;
}

size_t k8s_cache_count(const struct k8s_cache *c)
{
	return c->n;
}

void k8s_cache_sweep(struct k8s_cache *c, uint32_t gen,
		     void (*fn)(void *data, struct k8s_meta *m), void *data)
{
	/* Backward shifts only ever move an entry into the slot being looked
	 * at, so re-examine a slot after removing from it. */
	for (size_t i = 0; i < c->cap;) {
		struct k8s_meta *m = c->slots[i].m;

		if (m && c->slots[i].gen != gen) {
			remove_at(c, i);
			fn(data, m);
			continue;
		}
		i++;
	}
}

void k8s_cache_foreach(const struct k8s_cache *c, void (*fn)(void *data, struct k8s_meta *m),
		       void *data)
{
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i].m)
			fn(data, c->slots[i].m);
}

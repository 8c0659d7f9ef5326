// SPDX-License-Identifier: Apache-2.0
/* Small helpers of the policy compiler: hash tables, hashing, arrays. */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int htab_resize(struct pol_htab *t, uint32_t buckets)
{
	struct pol_hnode **b = calloc(buckets, sizeof(*b));

	if (!b)
		return -ENOMEM;
	if (t->b) {
		for (uint32_t i = 0; i <= t->mask; i++) {
			struct pol_hnode *n = t->b[i], *next;

			for (; n; n = next) {
				next = n->next;
				n->next = b[n->hash & (buckets - 1)];
				b[n->hash & (buckets - 1)] = n;
			}
		}
		free(t->b);
	}
	t->b = b;
	t->mask = buckets - 1;
	return 0;
}

int pol_htab_add(struct pol_htab *t, struct pol_hnode *n, uint32_t hash)
{
	int err;

	/* Load factor 1: chains stay short and the table small. */
	if (!t->b || t->n > t->mask) {
		err = htab_resize(t, t->b ? 2 * (t->mask + 1) : 16);
		if (err < 0)
			return err;
	}
	n->hash = hash;
	n->next = t->b[hash & t->mask];
	t->b[hash & t->mask] = n;
	t->n++;
	return 0;
}

void pol_htab_del(struct pol_htab *t, struct pol_hnode *n)
{
	struct pol_hnode **pp = &t->b[n->hash & t->mask];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			t->n--;
			return;
		}
	}
}

void pol_htab_free(struct pol_htab *t)
{
	free(t->b);
	memset(t, 0, sizeof(*t));
}

uint32_t pol_hash_bytes(uint32_t h, const void *p, size_t len)
{
	const uint8_t *c = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ c[i]) * 16777619U;
	return h;
}

int pol_grow(void **arr, uint32_t *cap, uint32_t need, size_t size)
{
	uint32_t n = *cap ? *cap : 4;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > UINT32_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	p = realloc(*arr, (size_t)n * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

void pol_errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

const char *pol_labels_get(const struct pol_labels *l, const char *key)
{
	const char *p = l->kv;

	for (uint32_t i = 0; i < l->n; i++) {
		const char *v = p + strlen(p) + 1;

		if (!strcmp(p, key))
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
}

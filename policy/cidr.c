// SPDX-License-Identifier: Apache-2.0
/*
 * CIDR identities.  Every IPv4 prefix that an ipBlock names (cidr or except)
 * is interned to a number from PN_ID_CIDR_MIN, refcounted by the policies
 * naming it.  An address's CIDR identity is its longest such prefix, else
 * PN_ID_WORLD.
 *
 * 0.0.0.0/0 is a prefix like the others, with a number of its own, and
 * PN_ID_WORLD never appears in an entry.  Letting PN_ID_WORLD stand for
 * "the region of 0.0.0.0/0" would be wrong: the datapath also uses
 * PN_ID_WORLD as the *pod* identity of every address that is not a pod, so
 * an entry for it would let every such address through, excepts included.
 *
 * Because every cidr and except is itself in the set, "the prefix P of
 * identity C lies inside the cidr and inside no except" decides exactly
 * whether all the addresses whose CIDR identity is C are allowed.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

static uint32_t prefix_hash(uint32_t addr_be, uint8_t len)
{
	return pol_hash_u32(addr_be ^ pol_hash_u32(len));
}

static struct pol_cidrent *cidr_find(const struct pol_db *db, uint32_t addr_be, uint8_t len)
{
	uint32_t h = prefix_hash(addr_be, len);

	for (struct pol_hnode *n = pol_htab_chain(&db->cidrs, h); n; n = n->next) {
		struct pol_cidrent *c = pol_container_of(n, struct pol_cidrent, by_prefix);

		if (c->addr_be == addr_be && c->len == len)
			return c;
	}
	return NULL;
}

static bool cidr_id_live(const struct pol_db *db, uint32_t id)
{
	uint32_t h = pol_hash_u32(id);

	for (struct pol_hnode *n = pol_htab_chain(&db->cidr_ids, h); n; n = n->next)
		if (pol_container_of(n, struct pol_cidrent, by_id)->id == id)
			return true;
	return false;
}

int pol_cidr_get(struct pol_db *db, uint32_t addr_be, uint8_t len, struct pol_cidrent **ret)
{
	struct pol_cidrent *c;
	uint32_t tries;
	int err;

	if (len > 32 || (addr_be & ~pol_mask_be(len)))
		return -EINVAL;
	c = cidr_find(db, addr_be, len);
	if (c) {
		c->refs++;
		*ret = c;
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->addr_be = addr_be;
	c->len = len;
	c->refs = 1;
	/* Like pod identities: monotonic, wrapping, skipping live numbers. */
	for (tries = 0; tries <= UINT32_MAX - PN_ID_CIDR_MIN; tries++) {
		c->id = db->next_cidr_id;
		db->next_cidr_id = c->id == UINT32_MAX ? PN_ID_CIDR_MIN : c->id + 1;
		if (!cidr_id_live(db, c->id))
			break;
	}
	err = pol_htab_add(&db->cidrs, &c->by_prefix, prefix_hash(addr_be, len));
	if (err < 0)
		goto err_free;
	err = pol_htab_add(&db->cidr_ids, &c->by_id, pol_hash_u32(c->id));
	if (err < 0)
		goto err_prefix;
	db->n_cidrs_by_len[len]++;
	db->cidr_gen++;
	*ret = c;
	return 0;
err_prefix:
	pol_htab_del(&db->cidrs, &c->by_prefix);
err_free:
	free(c);
	return err;
}

void pol_cidr_put(struct pol_db *db, struct pol_cidrent *c)
{
	if (!c || --c->refs)
		return;
	pol_htab_del(&db->cidrs, &c->by_prefix);
	pol_htab_del(&db->cidr_ids, &c->by_id);
	db->n_cidrs_by_len[c->len]--;
	db->cidr_gen++;
	free(c);
}

uint32_t pol_cidr_identity(const struct pol_db *db, uint32_t addr_be)
{
	for (int len = 32; len >= 0; len--) {
		const struct pol_cidrent *c;

		if (!db->n_cidrs_by_len[len])
			continue;
		c = cidr_find(db, addr_be & pol_mask_be(len), len);
		if (c)
			return c->id;
	}
	return PN_ID_WORLD;
}

static int cidr_cmp(const void *pa, const void *pb)
{
	const struct pol_cidr *a = pa, *b = pb;
	uint32_t x = ntohl(a->addr_be), y = ntohl(b->addr_be);

	if (x != y)
		return x < y ? -1 : 1;
	return a->len < b->len ? -1 : a->len > b->len;
}

int pol_cidr_foreach(const struct pol_db *db, int (*fn)(void *data, const struct pol_cidr *c),
		     void *data)
{
	struct pol_cidr *all;
	uint32_t n = 0;
	int ret = 0;

	if (!db->cidrs.n)
		return 0;
	all = calloc(db->cidrs.n, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (uint32_t b = 0; b <= db->cidrs.mask; b++) {
		for (struct pol_hnode *n_ = db->cidrs.b[b]; n_; n_ = n_->next) {
			const struct pol_cidrent *c =
				pol_container_of(n_, struct pol_cidrent, by_prefix);

			all[n++] = (struct pol_cidr){ c->addr_be, c->len, c->id };
		}
	}
	/* In address order, so callers see the same sequence every time. */
	qsort(all, n, sizeof(*all), cidr_cmp);
	for (uint32_t i = 0; i < n && !ret; i++)
		ret = fn(data, &all[i]);
	free(all);
	return ret;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int pol_ipblock_ids(struct pol_db *db, struct pol_ipblock *b, const uint32_t **ret_ids,
		    uint32_t *ret_n)
{
	uint32_t n = 0, *ids;

	if (b->cache_gen == db->cidr_gen)
		goto out;
	ids = calloc(db->cidrs.n + 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	if (!b->ipv6) {
		for (uint32_t k = 0; db->cidrs.b && k <= db->cidrs.mask; k++) {
			for (struct pol_hnode *h = db->cidrs.b[k]; h; h = h->next) {
				const struct pol_cidrent *c =
					pol_container_of(h, struct pol_cidrent, by_prefix);
				bool in = pol_prefix_within(c->addr_be, c->len, b->cidr.addr_be,
							    b->cidr.len);

				for (uint32_t e = 0; in && e < b->n_except; e++)
					if (pol_prefix_within(c->addr_be, c->len,
							      b->except[e].addr_be,
							      b->except[e].len))
						in = false;
				if (in)
					ids[n++] = c->id;
			}
		}
	}
	if (n)
		qsort(ids, n, sizeof(*ids), u32_cmp);
	free(b->ids);
	b->ids = ids;
	b->n_ids = n;
	b->cache_gen = db->cidr_gen;
out:
	*ret_ids = b->ids;
	*ret_n = b->n_ids;
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Namespaces, identities and the peer selector cache.
 *
 * An identity is a subject in canonical form: its labels and its
 * namespace's labels sorted by key, its named ports sorted, everything in
 * one blob that is also the interning key.  Each peer selector of every
 * policy (podSelector / namespaceSelector / both, with the namespace for a
 * podSelector alone) is shared by all the peers that spell it the same way
 * and keeps the ascending list of the live identities it matches.  The list
 * is updated when an identity comes or goes (a podSelector-only selector is
 * consulted only for identities of its namespace), so compiling reads
 * ready-made lists instead of matching every identity against every peer.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

/* --- namespaces ------------------------------------------------------------- */
struct pol_nsb *pol_nsb_find(const struct pol_db *db, const char *name)
{
	uint32_t h = pol_hash_str(POL_HASH_SEED, name);

	for (struct pol_hnode *n = pol_htab_chain(&db->nsbs, h); n; n = n->next) {
		struct pol_nsb *b = pol_container_of(n, struct pol_nsb, node);

		if (n->hash == h && !strcmp(b->name, name))
			return b;
	}
	return NULL;
}

int pol_nsb_get(struct pol_db *db, const char *name, struct pol_nsb **ret)
{
	struct pol_nsb *b = pol_nsb_find(db, name);
	int err;

	if (b) {
		*ret = b;
		return 0;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->name = strdup(name);
	if (!b->name) {
		free(b);
		return -ENOMEM;
	}
	err = pol_htab_add(&db->nsbs, &b->node, pol_hash_str(POL_HASH_SEED, name));
	if (err < 0) {
		free(b->name);
		free(b);
		return err;
	}
	*ret = b;
	return 0;
}

void pol_nsb_maybe_free(struct pol_db *db, struct pol_nsb *b)
{
	if (b->n_idents || b->n_policies || b->pod_sels)
		return;
	pol_htab_del(&db->nsbs, &b->node);
	free(b->idents);
	free(b->name);
	free(b);
}

/* --- selector cache ----------------------------------------------------------- */
static bool selc_match(const struct pol_selc *c, const struct pol_ident *i)
{
	switch (c->kind) {
	case POL_SELC_POD:
		return i->nsb == c->nsb && pol_sel_match(&c->pod, &i->subj.labels);
	case POL_SELC_NS:
		return pol_sel_match(&c->ns, &i->subj.ns_labels);
	case POL_SELC_NS_POD:
		return pol_sel_match(&c->ns, &i->subj.ns_labels) &&
		       pol_sel_match(&c->pod, &i->subj.labels);
	}
	return false;
}

/* Index of the first element >= @id. */
static uint32_t ids_lower_bound(const uint32_t *ids, uint32_t n, uint32_t id)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int selc_ids_insert(struct pol_selc *c, uint32_t id)
{
	uint32_t pos;
	int err;

	/* Numbers are handed out ascending: appending is the usual case. */
	if (!c->n_ids || c->ids[c->n_ids - 1] < id)
		pos = c->n_ids;
	else
		pos = ids_lower_bound(c->ids, c->n_ids, id);
	if (pos < c->n_ids && c->ids[pos] == id)
		return 0;
	err = pol_grow((void **)&c->ids, &c->cap_ids, c->n_ids + 1, sizeof(*c->ids));
	if (err < 0)
		return err;
	memmove(&c->ids[pos + 1], &c->ids[pos], (c->n_ids - pos) * sizeof(*c->ids));
	c->ids[pos] = id;
	c->n_ids++;
	return 0;
}

static void selc_ids_remove(struct pol_selc *c, uint32_t id)
{
	uint32_t pos = ids_lower_bound(c->ids, c->n_ids, id);

	if (pos == c->n_ids || c->ids[pos] != id)
		return;
	memmove(&c->ids[pos], &c->ids[pos + 1], (c->n_ids - pos - 1) * sizeof(*c->ids));
	c->n_ids--;
}

static uint32_t selc_hash(uint8_t kind, const struct pol_nsb *nsb, const struct pol_sel *pod,
			  const struct pol_sel *ns)
{
	uint32_t h = pol_hash_bytes(POL_HASH_SEED, &kind, 1);

	if (nsb)
		h = pol_hash_str(h, nsb->name);
	h = pol_hash_bytes(h, pod->text, pod->textlen);
	h = pol_hash_bytes(h, &pod->textlen, sizeof(pod->textlen));
	return pol_hash_bytes(h, ns->text, ns->textlen);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Matches @c against every live identity in its scope. */
static int selc_fill(struct pol_db *db, struct pol_selc *c)
{
	if (c->kind == POL_SELC_POD) {
		for (uint32_t i = 0; i < c->nsb->n_idents; i++) {
			const struct pol_ident *id = c->nsb->idents[i];

			if (!pol_sel_match(&c->pod, &id->subj.labels))
				continue;
			if (pol_grow((void **)&c->ids, &c->cap_ids, c->n_ids + 1,
				     sizeof(*c->ids)) < 0)
				return -ENOMEM;
			c->ids[c->n_ids++] = id->id;
		}
	} else if (db->idents.b) {
		for (uint32_t b = 0; b <= db->idents.mask; b++) {
			for (struct pol_hnode *n = db->idents.b[b]; n; n = n->next) {
				const struct pol_ident *id =
					pol_container_of(n, struct pol_ident, by_id);

				if (!selc_match(c, id))
					continue;
				if (pol_grow((void **)&c->ids, &c->cap_ids, c->n_ids + 1,
					     sizeof(*c->ids)) < 0)
					return -ENOMEM;
				c->ids[c->n_ids++] = id->id;
			}
		}
	}
	if (c->n_ids)
		qsort(c->ids, c->n_ids, sizeof(*c->ids), u32_cmp);
	return 0;
}

int pol_selc_get(struct pol_db *db, uint8_t kind, struct pol_nsb *nsb, struct pol_sel *pod,
		 struct pol_sel *ns, struct pol_selc **ret)
{
	struct pol_selc *c;
	uint32_t h;
	int err;

	if (kind != POL_SELC_POD)
		nsb = NULL;
	h = selc_hash(kind, nsb, pod, ns);
	for (struct pol_hnode *n = pol_htab_chain(&db->selcs, h); n; n = n->next) {
		c = pol_container_of(n, struct pol_selc, node);
		if (n->hash == h && c->kind == kind && c->nsb == nsb &&
		    pol_sel_equal(&c->pod, pod) && pol_sel_equal(&c->ns, ns)) {
			c->refs++;
			pol_sel_clear(pod);
			pol_sel_clear(ns);
			*ret = c;
			return 0;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		err = -ENOMEM;
		goto err_sels;
	}
	c->kind = kind;
	c->nsb = nsb;
	c->pod = *pod;
	c->ns = *ns;
	memset(pod, 0, sizeof(*pod));
	memset(ns, 0, sizeof(*ns));
	c->refs = 1;
	err = selc_fill(db, c);
	if (err < 0)
		goto err_free;
	err = pol_htab_add(&db->selcs, &c->node, h);
	if (err < 0)
		goto err_free;
	c->next = kind == POL_SELC_POD ? nsb->pod_sels : db->ns_sels;
	if (c->next)
		c->next->prev = c;
	if (kind == POL_SELC_POD)
		nsb->pod_sels = c;
	else
		db->ns_sels = c;
	*ret = c;
	return 0;
err_free:
	pol_sel_clear(&c->pod);
	pol_sel_clear(&c->ns);
	free(c->ids);
	free(c);
	return err;
err_sels:
	pol_sel_clear(pod);
	pol_sel_clear(ns);
	return err;
}

void pol_selc_put(struct pol_db *db, struct pol_selc *c)
{
	if (!c || --c->refs)
		return;
	pol_htab_del(&db->selcs, &c->node);
	if (c->prev)
		c->prev->next = c->next;
	else if (c->kind == POL_SELC_POD)
		c->nsb->pod_sels = c->next;
	else
		db->ns_sels = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pol_sel_clear(&c->pod);
	pol_sel_clear(&c->ns);
	free(c->ids);
	free(c);
}

/* --- identities ----------------------------------------------------------------- */
const struct pol_ident *pol_ident_find(const struct pol_db *db, uint32_t id)
{
	uint32_t h = pol_hash_u32(id);

	for (struct pol_hnode *n = pol_htab_chain(&db->idents, h); n; n = n->next) {
		const struct pol_ident *i = pol_container_of(n, struct pol_ident, by_id);

		if (i->id == id)
			return i;
	}
	return NULL;
}

struct kv {
	const char *k, *v;
};

static int kv_cmp(const void *pa, const void *pb)
{
	const struct kv *a = pa, *b = pb;
	int r = strcmp(a->k, b->k);

	return r ? r : strcmp(a->v, b->v);
}

static int port_cmp(const void *pa, const void *pb)
{
	const struct pol_named_port *a = pa, *b = pb;
	int r = strcmp(a->name, b->name);

	if (r)
		return r;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return a->port < b->port ? -1 : a->port > b->port;
}

/* Size of @l's packed pairs, its pairs into @kv (sorted); -EINVAL if malformed. */
static int labels_sorted(const struct pol_labels *l, struct kv *kv, size_t *ret_len)
{
	const char *p = l->kv;
	size_t len = 0;

	if (l->n && !p)
		return -EINVAL;
	for (uint32_t i = 0; i < l->n; i++) {
		kv[i].k = p;
		p += strlen(p) + 1;
		kv[i].v = p;
		p += strlen(p) + 1;
	}
	len = p - l->kv;
	if (l->n)
		qsort(kv, l->n, sizeof(*kv), kv_cmp);
	*ret_len = len;
	return 0;
}

static char *put_u32(char *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
	return p + sizeof(v);
}

static char *put_kv(char *p, const struct kv *kv, uint32_t n)
{
	p = put_u32(p, n);
	for (uint32_t i = 0; i < n; i++) {
		p = stpcpy(p, kv[i].k) + 1;
		p = stpcpy(p, kv[i].v) + 1;
	}
	return p;
}

/* The canonical form of @s.  @ports gets its named ports, sorted and unique. */
static int subject_blob(const struct pol_subject *s, char **ret, size_t *ret_len,
			struct pol_named_port *ports, uint32_t *ret_n_ports)
{
	struct kv *kv = calloc((size_t)s->labels.n + s->ns_labels.n + 1, sizeof(*kv));
	size_t len, llen, nlen, plen = 0;
	uint32_t np = 0, m;
	char *blob, *p;
	int err;

	if (!kv)
		return -ENOMEM;
	err = labels_sorted(&s->labels, kv, &llen);
	if (err < 0)
		goto out;
	err = labels_sorted(&s->ns_labels, kv + s->labels.n, &nlen);
	if (err < 0)
		goto out;
	for (uint32_t i = 0; i < s->n_ports; i++) {
		if (!s->ports[i].name || !*s->ports[i].name)
			continue;	/* only names matter to policy */
		ports[np++] = s->ports[i];
	}
	if (np)
		qsort(ports, np, sizeof(*ports), port_cmp);
	m = 0;
	for (uint32_t i = 0; i < np; i++) {
		if (m && !port_cmp(&ports[m - 1], &ports[i]))
			continue;
		ports[m++] = ports[i];
		plen += strlen(ports[i].name) + 1 + 1 + 2;
	}
	np = m;
	len = strlen(s->ns) + 1 + 3 * sizeof(uint32_t) + llen + nlen + plen;
	err = -ENOMEM;
	blob = malloc(len);
	if (!blob)
		goto out;
	p = stpcpy(blob, s->ns) + 1;
	p = put_kv(p, kv, s->labels.n);
	p = put_kv(p, kv + s->labels.n, s->ns_labels.n);
	p = put_u32(p, np);
	for (uint32_t i = 0; i < np; i++) {
		p = stpcpy(p, ports[i].name) + 1;
		*p++ = (char)ports[i].proto;
		memcpy(p, &ports[i].port, 2);
		p += 2;
	}
	*ret = blob;
	*ret_len = len;
	*ret_n_ports = np;
	err = 0;
out:
	free(kv);
	return err;
}

static const char *get_labels(const char *p, struct pol_labels *l)
{
	memcpy(&l->n, p, sizeof(uint32_t));
	p += sizeof(uint32_t);
	l->kv = p;
	for (uint32_t i = 0; i < 2 * l->n; i++)
		p += strlen(p) + 1;
	return p;
}

/* A new identity for the canonical @blob (the subject's views point into it). */
static struct pol_ident *ident_new(const char *blob, size_t len, uint32_t n_ports)
{
	struct pol_named_port *ports;
	struct pol_ident *i;
	const char *p;
	char *b;

	i = calloc(1, sizeof(*i) + n_ports * sizeof(*ports) + len);
	if (!i)
		return NULL;
	ports = (struct pol_named_port *)(i + 1);
	b = (char *)(ports + n_ports);
	memcpy(b, blob, len);
	i->bloblen = len;
	i->subj.ns = b;
	p = get_labels(b + strlen(b) + 1, &i->subj.labels);
	p = get_labels(p, &i->subj.ns_labels);
	p += sizeof(uint32_t);
	for (uint32_t k = 0; k < n_ports; k++) {
		ports[k].name = p;
		p += strlen(p) + 1;
		ports[k].proto = (uint8_t)*p++;
		memcpy(&ports[k].port, p, 2);
		p += 2;
	}
	i->subj.ports = ports;
	i->subj.n_ports = n_ports;
	return i;
}

static int ident_alloc_id(struct pol_db *db, uint32_t *ret)
{
	/* Monotonic with wrap-around, skipping live numbers: a freed number
	 * comes back only after ~16M others, long after stale map entries
	 * naming it are gone. */
	for (uint32_t tries = 0; tries < PN_ID_CIDR_MIN - PN_ID_POD_MIN; tries++) {
		uint32_t id = db->next_id;

		db->next_id = id + 1 >= PN_ID_CIDR_MIN ? PN_ID_POD_MIN : id + 1;
		if (!pol_ident_find(db, id)) {
			*ret = id;
			return 0;
		}
	}
	return -ENOSPC;
}

static void ident_unlink_selcs(struct pol_db *db, struct pol_ident *i)
{
	for (struct pol_selc *c = db->ns_sels; c; c = c->next)
		selc_ids_remove(c, i->id);
	for (struct pol_selc *c = i->nsb->pod_sels; c; c = c->next)
		selc_ids_remove(c, i->id);
}

static int ident_link_selcs(struct pol_db *db, struct pol_ident *i)
{
	for (struct pol_selc *c = db->ns_sels; c; c = c->next)
		if (selc_match(c, i) && selc_ids_insert(c, i->id) < 0)
			return -ENOMEM;
	for (struct pol_selc *c = i->nsb->pod_sels; c; c = c->next)
		if (selc_match(c, i) && selc_ids_insert(c, i->id) < 0)
			return -ENOMEM;
	return 0;
}

int pol_identity_get(struct pol_db *db, const struct pol_subject *s, uint32_t *ret_id,
		     bool *ret_new)
{
	struct pol_named_port *ports;
	struct pol_ident *i = NULL;
	uint32_t n_ports, h;
	size_t len;
	char *blob;
	int err;

	if (!s || !s->ns || (s->n_ports && !s->ports))
		return -EINVAL;
	ports = calloc(s->n_ports + 1, sizeof(*ports));
	if (!ports)
		return -ENOMEM;
	err = subject_blob(s, &blob, &len, ports, &n_ports);
	free(ports);
	if (err < 0)
		return err;
	h = pol_hash_bytes(POL_HASH_SEED, blob, len);
	for (struct pol_hnode *n = pol_htab_chain(&db->subjects, h); n; n = n->next) {
		struct pol_ident *c = pol_container_of(n, struct pol_ident, by_subj);

		if (n->hash == h && c->bloblen == len && !memcmp(pol_ident_blob(c), blob, len)) {
			i = c;
			break;
		}
	}
	if (i) {
		free(blob);
		if (i->refs == UINT32_MAX)
			return -EOVERFLOW;
		i->refs++;
		*ret_id = i->id;
		if (ret_new)
			*ret_new = false;
		return 0;
	}

	err = -ENOMEM;
	i = ident_new(blob, len, n_ports);
	free(blob);
	if (!i)
		return err;
	i->refs = 1;
	err = ident_alloc_id(db, &i->id);
	if (err < 0)
		goto err_free;
	err = pol_nsb_get(db, i->subj.ns, &i->nsb);
	if (err < 0)
		goto err_free;
	err = pol_grow((void **)&i->nsb->idents, &i->nsb->cap_idents, i->nsb->n_idents + 1,
		       sizeof(*i->nsb->idents));
	if (err < 0)
		goto err_nsb;
	err = pol_htab_add(&db->idents, &i->by_id, pol_hash_u32(i->id));
	if (err < 0)
		goto err_nsb;
	err = pol_htab_add(&db->subjects, &i->by_subj, h);
	if (err < 0)
		goto err_by_id;
	err = ident_link_selcs(db, i);
	if (err < 0)
		goto err_selcs;
	i->ns_idx = i->nsb->n_idents;
	i->nsb->idents[i->nsb->n_idents++] = i;
	*ret_id = i->id;
	if (ret_new)
		*ret_new = true;
	return 0;
err_selcs:
	ident_unlink_selcs(db, i);
	pol_htab_del(&db->subjects, &i->by_subj);
err_by_id:
	pol_htab_del(&db->idents, &i->by_id);
err_nsb:
	pol_nsb_maybe_free(db, i->nsb);
err_free:
	free(i);
	return err;
}

static void ident_destroy(struct pol_db *db, struct pol_ident *i)
{
	struct pol_nsb *b = i->nsb;

	ident_unlink_selcs(db, i);
	pol_htab_del(&db->idents, &i->by_id);
	pol_htab_del(&db->subjects, &i->by_subj);
	b->idents[i->ns_idx] = b->idents[--b->n_idents];
	b->idents[i->ns_idx]->ns_idx = i->ns_idx;
	free(i);
	pol_nsb_maybe_free(db, b);
}

bool pol_identity_put(struct pol_db *db, uint32_t id)
{
	struct pol_ident *i = (struct pol_ident *)pol_ident_find(db, id);

	if (!i || --i->refs)
		return false;
	ident_destroy(db, i);
	return true;
}

const struct pol_subject *pol_identity_subject(const struct pol_db *db, uint32_t id)
{
	const struct pol_ident *i = pol_ident_find(db, id);

	return i ? &i->subj : NULL;
}

size_t pol_identity_count(const struct pol_db *db)
{
	return db->idents.n;
}

/* --- the database ------------------------------------------------------------------ */
int pol_db_new(struct pol_db **ret)
{
	struct pol_db *db = calloc(1, sizeof(*db));

	if (!db)
		return -ENOMEM;
	db->next_id = PN_ID_POD_MIN;
	db->next_cidr_id = PN_ID_CIDR_MIN;
	db->next_no = 1;
	db->cidr_gen = 1;	/* ipBlock caches start at 0: stale */
	*ret = db;
	return 0;
}

void pol_db_free(struct pol_db *db)
{
	if (!db)
		return;
	/* Policies first: they hold the selectors and CIDRs.  Deleting never
	 * resizes a table, so emptying bucket after bucket visits each once. */
	for (uint32_t b = 0; db->policies.b && b <= db->policies.mask; b++) {
		while (db->policies.b[b]) {
			struct pol_policy *p =
				pol_container_of(db->policies.b[b], struct pol_policy, by_name);

			(void) pol_policy_del(db, p->nsb->name, p->name);
		}
	}
	for (uint32_t b = 0; db->idents.b && b <= db->idents.mask; b++)
		while (db->idents.b[b])
			ident_destroy(db, pol_container_of(db->idents.b[b], struct pol_ident,
							   by_id));
	pol_htab_free(&db->nsbs);
	pol_htab_free(&db->idents);
	pol_htab_free(&db->subjects);
	pol_htab_free(&db->selcs);
	pol_htab_free(&db->cidrs);
	pol_htab_free(&db->cidr_ids);
	pol_htab_free(&db->policies);
	pol_htab_free(&db->policy_nos);
	free(db);
}

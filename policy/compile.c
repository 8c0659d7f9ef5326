// SPDX-License-Identifier: Apache-2.0
/*
 * Compiling the policies that select one endpoint into pn_policy entries,
 * and tracing a connection through those same entries.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * While compiling, an entry is one 64-bit number whose order is
 * pol_entry_cmp()'s (the endpoint is the same for all):
 *   bit 61 direction | 60..29 peer | 28..21 protocol | 20..5 port | 4..0 plen - 72
 * so sorting hundreds of thousands of them is a radix sort, not qsort().
 */
struct rec {
	uint64_t key;
	uint32_t ref;
	uint32_t pad;
};

struct rvec {
	struct rec *r;
	uint32_t n, cap;
};

struct cctx {
	struct pol_db *db;
	const struct pol_subject *s;
	struct rvec v;
};

static int push(struct cctx *c, uint32_t peer, uint8_t dir, uint8_t proto, uint16_t port,
		uint32_t plen, uint32_t ref)
{
	uint64_t k = (uint64_t)dir << 61 | (uint64_t)peer << 29 |
		     (uint64_t)(plen - PN_POLICY_PLEN_ANY_PROTO);

	/* Bits past the prefix are zero: the kernel ignores them, but the
	 * agent diffs entries byte for byte. */
	if (plen >= PN_POLICY_PLEN_PROTO)
		k |= (uint64_t)proto << 21;
	if (plen > PN_POLICY_PLEN_PROTO)
		k |= (uint64_t)(port & (uint16_t)(0xffffU << (PN_POLICY_PLEN_FULL - plen))) << 5;
	if (c->v.n == c->v.cap &&
	    pol_grow((void **)&c->v.r, &c->v.cap, c->v.n + 1, sizeof(*c->v.r)) < 0)
		return -ENOMEM;
	c->v.r[c->v.n++] = (struct rec){ .key = k, .ref = ref };
	return 0;
}

static void rec_to_entry(uint64_t k, uint32_t ep, uint32_t ref, struct pol_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = (k & 31) + PN_POLICY_PLEN_ANY_PROTO;
	e->key.endpoint_id = ep;
	e->key.peer_identity = (uint32_t)(k >> 29);
	e->key.direction = (k >> 61) & 1;
	e->key.protocol = (k >> 21) & 0xff;
	e->key.dport = htons((k >> 5) & 0xffff);
	e->rule_ref = ref;
}

static int rec_cmp(const void *pa, const void *pb)
{
	const struct rec *a = pa, *b = pb;

	return a->key < b->key ? -1 : a->key > b->key;
}

#define RADIX_BITS	11
#define RADIX_PASSES	6	/* 66 bits >= 62 */

/* Sorts @r by key: LSD radix, stable, passes over equal digits skipped. */
static int rec_sort(struct rec *r, uint32_t n)
{
	static const uint32_t buckets = 1U << RADIX_BITS;
	struct rec *tmp, *src = r, *dst;
	uint32_t *count;

	if (n < 512) {
		if (n)
			qsort(r, n, sizeof(*r), rec_cmp);
		return 0;
	}
	tmp = malloc((size_t)n * sizeof(*tmp));
	count = malloc(buckets * sizeof(*count));
	if (!tmp || !count) {
		free(tmp);
		free(count);
		return -ENOMEM;
	}
	dst = tmp;
	for (unsigned p = 0; p < RADIX_PASSES; p++) {
		unsigned shift = p * RADIX_BITS;
		uint32_t sum = 0;

		memset(count, 0, buckets * sizeof(*count));
		for (uint32_t i = 0; i < n; i++)
			count[(src[i].key >> shift) & (buckets - 1)]++;
		if (count[(src[0].key >> shift) & (buckets - 1)] == n)
			continue;	/* one digit everywhere: already in order */
		for (uint32_t b = 0; b < buckets; b++) {
			uint32_t c = count[b];

			count[b] = sum;
			sum += c;
		}
		for (uint32_t i = 0; i < n; i++)
			dst[count[(src[i].key >> shift) & (buckets - 1)]++] = src[i];
		dst = src;
		src = src == r ? tmp : r;
	}
	if (src != r)
		memcpy(r, src, (size_t)n * sizeof(*r));
	free(tmp);
	free(count);
	return 0;
}

struct pblock {
	uint16_t port;
	uint8_t plen;
};

/*
 * [lo, hi] as the fewest aligned power-of-two blocks, each one LPM prefix of
 * PLEN_PROTO + (16 - k) bits for a block of 2^k ports.  At most 30 blocks
 * (1-65535 takes 16).
 */
static uint32_t port_blocks(uint16_t lo_, uint16_t hi, struct pblock *out)
{
	uint32_t lo = lo_, n = 0;

	while (lo <= hi) {
		unsigned k = 0;

		while (k < 16 && !(lo & ((2U << k) - 1)) && lo + (2U << k) - 1 <= hi)
			k++;
		out[n].port = lo;
		out[n].plen = PN_POLICY_PLEN_FULL - k;
		n++;
		lo += 1U << k;
	}
	return n;
}

struct seg {
	const uint32_t *ids;
	uint32_t n;
};

static bool pod_identity(uint32_t id)
{
	return id >= PN_ID_POD_MIN && id < PN_ID_CIDR_MIN;
}

/* Egress to pod identity @id on the port it names @pp->name, if it does. */
static int emit_named(struct cctx *c, const struct pol_ident *id, const struct pol_port *pp,
		      uint8_t dir, uint32_t ref)
{
	int err = 0;

	for (uint32_t q = 0; id && q < id->subj.n_ports && !err; q++) {
		const struct pol_named_port *np = &id->subj.ports[q];

		if (strcmp(np->name, pp->name) || np->proto != pp->proto)
			continue;
		err = push(c, id->id, dir, pp->proto, np->port, PN_POLICY_PLEN_FULL, ref);
	}
	return err;
}

/* ... for every live pod identity (pol_ident.by_id is its first member). */
static int emit_named_every_pod(struct cctx *c, const struct pol_port *pp, uint8_t dir,
				uint32_t ref)
{
	const struct pol_htab *t = &c->db->idents;
	int err = 0;

	for (uint32_t b = 0; t->b && b <= t->mask && !err; b++)
		for (const struct pol_hnode *n = t->b[b]; n && !err; n = n->next)
			err = emit_named(c, (const struct pol_ident *)n, pp, dir, ref);
	return err;
}

static int emit_rule(struct cctx *c, struct pol_rule *r, uint8_t dir, uint32_t ref)
{
	static const uint32_t any = PN_ID_ANY;
	struct seg *segs;
	uint32_t n_segs = 0;
	int err = 0;

	segs = calloc(r->n_peers + 1, sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	if (!r->n_peers)
		segs[n_segs++] = (struct seg){ &any, 1 };
	for (uint32_t i = 0; i < r->n_peers; i++) {
		struct pol_peer *p = &r->peers[i];

		if (p->sel) {
			segs[n_segs++] = (struct seg){ p->sel->ids, p->sel->n_ids };
			continue;
		}
		err = pol_ipblock_ids(c->db, p->ipb, &segs[n_segs].ids, &segs[n_segs].n);
		if (err < 0)
			goto out;
		n_segs++;
	}

	if (!r->n_ports) {
		for (uint32_t s = 0; s < n_segs; s++)
			for (uint32_t i = 0; i < segs[s].n && !err; i++)
				err = push(c, segs[s].ids[i], dir, 0, 0,
					   PN_POLICY_PLEN_ANY_PROTO, ref);
		goto out;
	}
	for (uint32_t k = 0; k < r->n_ports && !err; k++) {
		const struct pol_port *pp = &r->ports[k];
		struct pblock b[32];
		uint32_t nb;

		if (!pp->name) {
			if (!pp->port) {
				b[0] = (struct pblock){ 0, PN_POLICY_PLEN_PROTO };
				nb = 1;
			} else {
				nb = port_blocks(pp->port, pp->end, b);
			}
			for (uint32_t s = 0; s < n_segs; s++)
				for (uint32_t i = 0; i < segs[s].n; i++)
					for (uint32_t j = 0; j < nb && !err; j++)
						err = push(c, segs[s].ids[i], dir, pp->proto,
							   b[j].port, b[j].plen, ref);
			continue;
		}
		if (dir == PN_DIR_INGRESS) {
			/* The name means what the endpoint itself calls it. */
			for (uint32_t q = 0; q < c->s->n_ports; q++) {
				const struct pol_named_port *np = &c->s->ports[q];

				if (!np->name || strcmp(np->name, pp->name) ||
				    np->proto != pp->proto)
					continue;
				for (uint32_t s = 0; s < n_segs; s++)
					for (uint32_t i = 0; i < segs[s].n && !err; i++)
						err = push(c, segs[s].ids[i], dir, pp->proto,
							   np->port, PN_POLICY_PLEN_FULL, ref);
			}
			continue;
		}
		/* Egress: what each peer calls it.  A rule without peers means
		 * every pod that has the name (upstream's "egress on a named
		 * port"); addresses (ipBlock) have no names: nothing to allow. */
		for (uint32_t s = 0; s < n_segs && !err; s++) {
			if (segs[s].ids == &any) {
				err = emit_named_every_pod(c, pp, dir, ref);
				continue;
			}
			for (uint32_t i = 0; i < segs[s].n && !err; i++) {
				if (pod_identity(segs[s].ids[i]))
					err = emit_named(c, pol_ident_find(c->db, segs[s].ids[i]),
							 pp, dir, ref);
			}
		}
	}
out:
	free(segs);
	return err;
}

int pol_entry_cmp(const struct pol_entry *a, const struct pol_entry *b)
{
	const struct pn_policy_key *x = &a->key, *y = &b->key;

	if (x->endpoint_id != y->endpoint_id)
		return x->endpoint_id < y->endpoint_id ? -1 : 1;
	if (x->direction != y->direction)
		return x->direction < y->direction ? -1 : 1;
	if (x->peer_identity != y->peer_identity)
		return x->peer_identity < y->peer_identity ? -1 : 1;
	if (x->protocol != y->protocol)
		return x->protocol < y->protocol ? -1 : 1;
	if (x->dport != y->dport)
		return ntohs(x->dport) < ntohs(y->dport) ? -1 : 1;
	if (x->prefixlen != y->prefixlen)
		return x->prefixlen < y->prefixlen ? -1 : 1;
	return 0;
}

/* The policies selecting @s, for pol_trace(). */
struct selected {
	const struct pol_policy **p;
	uint32_t n, cap;
};

static int compile(struct pol_db *db, const struct pol_subject *s, uint32_t ep,
		   struct pol_compiled *ret, struct selected *sel)
{
	struct cctx c = { .db = db, .s = s };
	struct pol_compiled out = { 0 };
	const struct pol_nsb *nsb;
	uint32_t n = 0;
	int err = 0;

	if (!s || !s->ns || (s->labels.n && !s->labels.kv) || (s->n_ports && !s->ports))
		return -EINVAL;
	nsb = pol_nsb_find(db, s->ns);
	for (struct pol_policy *p = nsb ? nsb->policies : NULL; p && !err; p = p->next) {
		if (!pol_sel_match(&p->subject, &s->labels))
			continue;
		if (sel) {
			err = pol_grow((void **)&sel->p, &sel->cap, sel->n + 1, sizeof(*sel->p));
			if (err < 0)
				break;
			sel->p[sel->n++] = p;
		}
		out.isolated_ingress |= !!(p->types & POL_DIR_BIT(PN_DIR_INGRESS));
		out.isolated_egress |= !!(p->types & POL_DIR_BIT(PN_DIR_EGRESS));
		for (unsigned d = 0; d < PN_DIR_MAX; d++)
			for (uint32_t i = 0; i < p->n_rules[d] && !err; i++)
				err = emit_rule(&c, &p->rules[d][i], d, pol_rule_ref(p->no, d, i));
	}
	if (err >= 0)
		err = rec_sort(c.v.r, c.v.n);
	if (err < 0)
		goto out;
	/* Same key from several rules (or peers): one entry, the lowest
	 * rule_ref, so the result depends only on the inputs. */
	for (uint32_t i = 0; i < c.v.n; i++) {
		if (n && c.v.r[n - 1].key == c.v.r[i].key) {
			if (c.v.r[i].ref < c.v.r[n - 1].ref)
				c.v.r[n - 1].ref = c.v.r[i].ref;
			continue;
		}
		c.v.r[n++] = c.v.r[i];
	}
	if (n) {
		out.entries = calloc(n, sizeof(*out.entries));
		if (!out.entries) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		rec_to_entry(c.v.r[i].key, ep, c.v.r[i].ref, &out.entries[i]);
	out.n_entries = n;
	*ret = out;
out:
	free(c.v.r);
	return err;
}

int pol_compile(struct pol_db *db, const struct pol_subject *s, uint32_t endpoint_id,
		struct pol_compiled *ret)
{
	return compile(db, s, endpoint_id, ret, NULL);
}

void pol_compiled_clear(struct pol_compiled *c)
{
	if (!c)
		return;
	free(c->entries);
	memset(c, 0, sizeof(*c));
}

static const char *dir_name(unsigned dir)
{
	return dir == PN_DIR_INGRESS ? "ingress" : "egress";
}

bool pol_rule_describe(const struct pol_db *db, uint32_t rule_ref, char *buf, size_t len)
{
	uint32_t no = rule_ref >> (POL_REF_IDX_BITS + 1);
	unsigned dir = (rule_ref >> POL_REF_IDX_BITS) & 1;
	uint32_t idx = rule_ref & (POL_REF_MAX_RULES - 1);
	const struct pol_policy *p = pol_policy_by_no(db, no);

	if (!p || idx >= p->n_rules[dir])
		return false;
	snprintf(buf, len, "%s/%s %s rule %u", p->nsb->name, p->name, dir_name(dir), idx);
	return true;
}

/* --- trace -------------------------------------------------------------------------- */
/* The kernel LPM trie's match: the first e->prefixlen bits of the data after
 * the prefixlen field, most significant bit of each byte first. */
static bool lpm_match(const struct pn_policy_key *e, const struct pn_policy_key *k)
{
	const uint8_t *a = (const uint8_t *)e + sizeof(e->prefixlen);
	const uint8_t *b = (const uint8_t *)k + sizeof(k->prefixlen);
	uint32_t bits = e->prefixlen;

	if (bits > k->prefixlen)
		return false;
	for (uint32_t i = 0; bits; i++) {
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);

		if ((a[i] ^ b[i]) & m)
			return false;
		bits -= bits >= 8 ? 8 : bits;
	}
	return true;
}

static const struct pol_entry *lpm_lookup(const struct pol_compiled *c,
					  const struct pn_policy_key *k)
{
	const struct pol_entry *best = NULL;

	for (size_t i = 0; i < c->n_entries; i++)
		if (lpm_match(&c->entries[i].key, k) &&
		    (!best || c->entries[i].key.prefixlen > best->key.prefixlen))
			best = &c->entries[i];
	return best;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *policy_names(const struct selected *sel, unsigned dir)
{
	json_t *arr = json_array();
	char **names = calloc(sel->n + 1, sizeof(*names));
	uint32_t n = 0;
	bool ok = arr && names;

	for (uint32_t i = 0; ok && i < sel->n; i++) {
		if (!(sel->p[i]->types & POL_DIR_BIT(dir)))
			continue;
		ok = asprintf(&names[n], "%s/%s", sel->p[i]->nsb->name, sel->p[i]->name) >= 0;
		if (ok)
			n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), str_cmp);
	for (uint32_t i = 0; ok && i < n; i++)
		ok = !json_array_append_new(arr, json_string(names[i]));
	for (uint32_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!ok) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

struct trace_side {
	const struct pol_subject *subject;	/* the end whose policy decides */
	unsigned dir;
	uint32_t peers[3];			/* pod, PN_ID_ANY, CIDR identity */
	bool peer_is_host;
	uint8_t proto;
	uint16_t port;
};

static int trace_side(struct pol_db *db, const struct trace_side *t, bool *allowed, json_t *out)
{
	struct selected sel = { 0 };
	struct pol_compiled c = { 0 };
	const struct pol_entry *hit = NULL;
	char why[512] = "not isolated", by[400] = "";
	bool isolated = false;
	json_t *names = NULL;
	int err = 0;

	*allowed = true;
	if (t->subject) {
		err = compile(db, t->subject, UINT32_MAX - t->dir, &c, &sel);
		if (err < 0)
			return err;
		isolated = t->dir == PN_DIR_INGRESS ? c.isolated_ingress : c.isolated_egress;
	}
	if (isolated && t->peer_is_host) {
		snprintf(why, sizeof(why), "from the node itself: always allowed");
	} else if (isolated) {
		for (unsigned i = 0; i < 3 && !hit; i++) {
			struct pn_policy_key k = {
				.prefixlen = PN_POLICY_PLEN_FULL,
				.endpoint_id = UINT32_MAX - t->dir,
				.peer_identity = t->peers[i],
				.direction = t->dir,
				.protocol = t->proto,
				.dport = htons(t->port),
			};

			hit = lpm_lookup(&c, &k);
		}
		if (hit) {
			if (!pol_rule_describe(db, hit->rule_ref, by, sizeof(by)))
				snprintf(by, sizeof(by), "rule %u", hit->rule_ref);
			snprintf(why, sizeof(why), "allowed by %s", by);
		} else {
			*allowed = false;
			snprintf(why, sizeof(why), "no rule allows it");
		}
	}
	names = policy_names(&sel, t->dir);
	if (!names || json_object_set_new(out, "isolated", json_boolean(isolated)) ||
	    json_object_set_new(out, "policies", names) ||
	    json_object_set_new(out, "allowed_by", *by ? json_string(by) : json_null()) ||
	    json_object_set_new(out, "reason", json_string(why)))
		err = -ENOMEM;
	pol_compiled_clear(&c);
	free(sel.p);
	return err;
}

/* The identity of one end: interned (with a reference) for a pod. */
static int end_identity(struct pol_db *db, const struct pol_trace_end *e, uint32_t *ret)
{
	if (e->subject)
		return pol_identity_get(db, e->subject, ret, NULL);
	*ret = e->host ? PN_ID_HOST : PN_ID_WORLD;
	return 0;
}

int pol_trace(struct pol_db *db, const struct pol_trace_end *from, const struct pol_trace_end *to,
	      uint8_t proto, uint16_t port, json_t *out)
{
	struct trace_side eg = { .subject = from->subject, .dir = PN_DIR_EGRESS,
				 .proto = proto, .port = port };
	struct trace_side in = { .subject = to->subject, .dir = PN_DIR_INGRESS,
				 .proto = proto, .port = port };
	json_t *jeg = json_object(), *jin = json_object();
	uint32_t from_id, to_id;
	bool eg_ok, in_ok;
	int err;

	if (!jeg || !jin || !from || !to || !json_is_object(out)) {
		err = jeg && jin ? -EINVAL : -ENOMEM;
		goto err_json;
	}
	err = end_identity(db, from, &from_id);
	if (err < 0)
		goto err_json;
	err = end_identity(db, to, &to_id);
	if (err < 0)
		goto err_from;
	/* The three keys the datapath asks for the peer of each side, in its
	 * order (datapath/lib/policy.h), so allowed_by names the entry that
	 * the datapath would hit. */
	eg.peers[0] = to_id;
	eg.peers[1] = PN_ID_ANY;
	eg.peers[2] = pol_cidr_identity(db, to->addr_be);
	in.peers[0] = from_id;
	in.peers[1] = PN_ID_ANY;
	in.peers[2] = pol_cidr_identity(db, from->addr_be);
	in.peer_is_host = from_id == PN_ID_HOST;

	err = trace_side(db, &eg, &eg_ok, jeg);
	if (err >= 0)
		err = trace_side(db, &in, &in_ok, jin);
	if (err >= 0 &&
	    (json_object_set_new(out, "verdict",
				 json_string(eg_ok && in_ok ? "allowed" : "denied")) ||
	     json_object_set(out, "egress", jeg) || json_object_set(out, "ingress", jin)))
		err = -ENOMEM;

	if (to->subject)
		pol_identity_put(db, to_id);
err_from:
	if (from->subject)
		pol_identity_put(db, from_id);
err_json:
	json_decref(jeg);
	json_decref(jin);
	return err < 0 ? err : 0;
}

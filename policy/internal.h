/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy compiler's private structures, shared by the .c files of policy/ only.
 *
 *   pol_db ─┬─ namespaces (pol_nsb, by name): the identities living there,
 *           │  the policies written there, the pod-only peer selectors
 *           │  (their scope is that namespace)
 *           ├─ identities (pol_ident, by number and by canonical subject)
 *           ├─ peer selectors (pol_selc, by canonical text), each with the
 *           │  sorted list of live identities it matches, kept up to date
 *           │  as identities come and go
 *           ├─ CIDRs (pol_cidrent, by prefix and by number)
 *           └─ policies (pol_policy, by ns/name and by number)
 */
#ifndef PORIN_POLICY_INTERNAL_H
#define PORIN_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>

#include "policy.h"

#define POL_DIR_BIT(dir)	(1U << (dir))

/* --- hash tables: intrusive, chained, power-of-two buckets ----------------- */
struct pol_hnode {
	struct pol_hnode *next;
	uint32_t hash;
};

struct pol_htab {
	struct pol_hnode **b;
	uint32_t mask;		/* buckets - 1 (b == NULL: no buckets yet) */
	uint32_t n;
};

int pol_htab_add(struct pol_htab *t, struct pol_hnode *n, uint32_t hash);
void pol_htab_del(struct pol_htab *t, struct pol_hnode *n);
/* The first node of @hash's chain (check ->hash, follow ->next). */
static inline struct pol_hnode *pol_htab_chain(const struct pol_htab *t, uint32_t hash)
{
	return t->b ? t->b[hash & t->mask] : NULL;
}
void pol_htab_free(struct pol_htab *t);

uint32_t pol_hash_bytes(uint32_t h, const void *p, size_t len);
static inline uint32_t pol_hash_str(uint32_t h, const char *s)
{
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619U;
	return (h ^ 0xffU) * 16777619U;	/* the terminator, so "a"+"b" != "ab"+"" */
}
#define POL_HASH_SEED	2166136261U
static inline uint32_t pol_hash_u32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	return x ^ (x >> 16);
}

#define pol_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Grow *@arr (elements of @size) to hold @need; -ENOMEM. */
int pol_grow(void **arr, uint32_t *cap, uint32_t need, size_t size);

void pol_errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* --- labels and selectors -------------------------------------------------- */
const char *pol_labels_get(const struct pol_labels *l, const char *key);

enum { POL_OP_IN = 1, POL_OP_NOT_IN, POL_OP_EXISTS, POL_OP_DOES_NOT_EXIST };

struct pol_req {
	const char *key;
	const char *vals;	/* n_vals strings, "v\0v\0", sorted, unique */
	uint32_t n_vals;
	uint8_t op;		/* POL_OP_*; matchLabels k: v is In [v] */
};

/* A parsed label selector: its requirements sorted and deduplicated, every
 * string in @text, whose bytes are also its canonical form (two selectors
 * with the same requirements have the same text). */
struct pol_sel {
	struct pol_req *reqs;
	char *text;
	uint32_t n_reqs;
	uint32_t textlen;
};

int pol_sel_parse(const json_t *j, const char *path, struct pol_sel *ret, char *err, size_t errlen);
bool pol_sel_match(const struct pol_sel *s, const struct pol_labels *l);
void pol_sel_clear(struct pol_sel *s);
static inline bool pol_sel_equal(const struct pol_sel *a, const struct pol_sel *b)
{
	return a->textlen == b->textlen && (!a->textlen || !memcmp(a->text, b->text, a->textlen));
}

/* --- namespaces ------------------------------------------------------------- */
struct pol_ident;
struct pol_policy;
struct pol_selc;

struct pol_nsb {
	struct pol_hnode node;
	char *name;
	struct pol_ident **idents;	/* unordered; pol_ident.ns_idx is the slot */
	uint32_t n_idents, cap_idents;
	uint32_t n_policies;
	struct pol_policy *policies;	/* list through pol_policy.prev/next */
	struct pol_selc *pod_sels;	/* POL_SELC_POD peers of this namespace's policies */
};

struct pol_nsb *pol_nsb_find(const struct pol_db *db, const char *name);
int pol_nsb_get(struct pol_db *db, const char *name, struct pol_nsb **ret);
/* Frees @nsb if nothing lives in it any more. */
void pol_nsb_maybe_free(struct pol_db *db, struct pol_nsb *nsb);

/* --- identities ------------------------------------------------------------- */
struct pol_ident {
	struct pol_hnode by_id;
	struct pol_hnode by_subj;
	struct pol_nsb *nsb;
	uint32_t ns_idx;
	uint32_t id;
	uint32_t refs;
	uint32_t bloblen;
	struct pol_subject subj;	/* points into blob; ports are sorted, named only */
	/* struct pol_named_port ports[subj.n_ports]; then char blob[bloblen] */
};

static inline const char *pol_ident_blob(const struct pol_ident *i)
{
	return (const char *)i->subj.ports + i->subj.n_ports * sizeof(struct pol_named_port);
}

const struct pol_ident *pol_ident_find(const struct pol_db *db, uint32_t id);

/* --- peer selectors, cached --------------------------------------------------- */
enum {
	POL_SELC_POD = 1,	/* podSelector only: pods of the policy's namespace */
	POL_SELC_NS,		/* namespaceSelector only: all pods of those namespaces */
	POL_SELC_NS_POD,	/* both, ANDed */
};

struct pol_selc {
	struct pol_hnode node;
	struct pol_selc *prev, *next;	/* nsb->pod_sels (POD) or db->ns_sels */
	struct pol_nsb *nsb;		/* POD: its scope */
	struct pol_sel pod, ns;
	uint32_t *ids;			/* live identities matching, ascending */
	uint32_t n_ids, cap_ids;
	uint32_t refs;			/* peers of live policies naming it */
	uint8_t kind;			/* POL_SELC_* */
};

/* Takes over @pod and @ns (cleared in the caller's copy either way). */
int pol_selc_get(struct pol_db *db, uint8_t kind, struct pol_nsb *nsb, struct pol_sel *pod,
		 struct pol_sel *ns, struct pol_selc **ret);
void pol_selc_put(struct pol_db *db, struct pol_selc *c);

/* --- CIDRs ------------------------------------------------------------------- */
struct pol_cidrent {
	struct pol_hnode by_prefix;
	struct pol_hnode by_id;
	uint32_t addr_be;
	uint32_t id;
	uint32_t refs;
	uint8_t len;
};

/* 0.0.0.0/0 included: see cidr.c for why it is not PN_ID_WORLD. */
int pol_cidr_get(struct pol_db *db, uint32_t addr_be, uint8_t len, struct pol_cidrent **ret);
void pol_cidr_put(struct pol_db *db, struct pol_cidrent *c);

static inline uint32_t pol_mask_be(uint8_t len)
{
	return len ? htonl(~0U << (32 - len)) : 0;
}

/* Is the prefix (a, alen) inside the prefix (b, blen)? */
static inline bool pol_prefix_within(uint32_t a_be, uint8_t alen, uint32_t b_be, uint8_t blen)
{
	return alen >= blen && (a_be & pol_mask_be(blen)) == b_be;
}

/* --- policies ------------------------------------------------------------------ */
struct pol_prefix {
	uint32_t addr_be;
	uint8_t len;
	struct pol_cidrent *ent;
};

struct pol_ipblock {
	struct pol_prefix cidr;
	struct pol_prefix *except;
	uint32_t n_except;
	bool ipv6;			/* accepted, matches nothing (IPv4-only datapath) */
	/* The CIDR identities this block allows, ascending, valid while
	 * cache_gen == db->cidr_gen. */
	uint32_t *ids;
	uint32_t n_ids;
	uint64_t cache_gen;
};

struct pol_peer {
	struct pol_selc *sel;		/* one of these two */
	struct pol_ipblock *ipb;
};

struct pol_port {
	char *name;		/* named port, or NULL */
	uint16_t port;		/* 0 with name NULL: all ports of proto */
	uint16_t end;		/* last port of the range (== port when single) */
	uint8_t proto;
};

struct pol_rule {
	struct pol_peer *peers;	/* none: every peer (PN_ID_ANY) */
	struct pol_port *ports;	/* none: every protocol and port */
	uint32_t n_peers;
	uint32_t n_ports;
};

/* rule_ref = number << 12 | direction << 11 | rule index */
#define POL_REF_IDX_BITS	11
#define POL_REF_MAX_RULES	(1U << POL_REF_IDX_BITS)
#define POL_REF_NO_MAX		((1U << 20) - 1)

static inline uint32_t pol_rule_ref(uint32_t no, unsigned dir, uint32_t idx)
{
	return no << (POL_REF_IDX_BITS + 1) | dir << POL_REF_IDX_BITS | idx;
}

struct pol_policy {
	struct pol_hnode by_name;
	struct pol_hnode by_no;
	struct pol_policy *prev, *next;	/* in nsb->policies */
	struct pol_nsb *nsb;
	char *name;
	uint32_t no;			/* 1..POL_REF_NO_MAX, kept across replacements */
	uint8_t types;			/* POL_DIR_BIT(PN_DIR_*) of effective policyTypes */
	struct pol_sel subject;		/* spec.podSelector */
	struct pol_rule *rules[PN_DIR_MAX];
	uint32_t n_rules[PN_DIR_MAX];
};

/* Parses @spec into a new policy of @nsb (not linked anywhere yet), holding
 * references on the selectors and CIDRs it names. */
int pol_policy_parse(struct pol_db *db, struct pol_nsb *nsb, const json_t *spec,
		     struct pol_policy **ret, char *err, size_t errlen);
/* Drops the references and frees; the caller has unlinked it. */
void pol_policy_destroy(struct pol_db *db, struct pol_policy *p);
const struct pol_policy *pol_policy_by_no(const struct pol_db *db, uint32_t no);

/* The CIDR identities @b allows, refreshed if the CIDR set changed. */
int pol_ipblock_ids(struct pol_db *db, struct pol_ipblock *b, const uint32_t **ret_ids,
		    uint32_t *ret_n);

/* --- the database ------------------------------------------------------------- */
struct pol_db {
	struct pol_htab nsbs;		/* pol_nsb.node, by name */
	struct pol_htab idents;		/* pol_ident.by_id */
	struct pol_htab subjects;	/* pol_ident.by_subj */
	struct pol_htab selcs;		/* pol_selc.node */
	struct pol_selc *ns_sels;	/* NS and NS_POD selectors */
	struct pol_htab cidrs;		/* pol_cidrent.by_prefix */
	struct pol_htab cidr_ids;	/* pol_cidrent.by_id */
	struct pol_htab policies;	/* pol_policy.by_name */
	struct pol_htab policy_nos;	/* pol_policy.by_no */
	uint32_t next_id;		/* next pod identity to try */
	uint32_t next_cidr_id;
	uint32_t next_no;		/* next policy number to try */
	uint32_t n_cidrs_by_len[33];
	uint64_t cidr_gen;		/* bumped when the CIDR set changes */
};

#endif

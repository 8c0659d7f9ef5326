/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the policy compiler's unit tests (test_policy*.c). */
#ifndef TEST_POLICY_UTIL_H
#define TEST_POLICY_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* JSON written with single quotes, for readable specs. */
static inline json_t *tj(const char *s)
{
	char *d = strdup(s);
	json_error_t e;
	json_t *j;

	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(d, 0, &e);
	if (!j)
		fail_msg("bad test JSON: %s: %s", e.text, d);
	free(d);
	return j;
}

/* Sets ns/name from a single-quoted spec; asserts it is accepted. */
static inline void tset(struct pol_db *db, const char *ns, const char *name, const char *spec)
{
	char err[256] = "";
	json_t *j = tj(spec);
	int r = pol_policy_set(db, ns, name, j, err, sizeof(err));

	if (r < 0)
		fail_msg("%s/%s rejected (%d): %s", ns, name, r, err);
	json_decref(j);
}

/* pol_policy_set's result for a spec; its message into @err. */
static inline int tset_err(struct pol_db *db, const char *ns, const char *name, const char *spec,
			   char *err, size_t len)
{
	json_t *j = tj(spec);
	int r;

	err[0] = '\0';
	r = pol_policy_set(db, ns, name, j, err, len);
	json_decref(j);
	return r;
}

/* A subject from "k=v,k=v" labels and "name:port/proto,…" ports. */
struct tsubj {
	struct pol_subject s;
	char kv[1024], nkv[1024], names[8][32];
	struct pol_named_port ports[8];
};

static inline void tlabels(const char *spec, char *kv, struct pol_labels *l)
{
	char *copy = strdup(spec ? spec : ""), *save = NULL, *p = kv;

	l->n = 0;
	l->kv = kv;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');

		assert_non_null(eq);
		*eq = '\0';
		p = stpcpy(p, t) + 1;
		p = stpcpy(p, eq + 1) + 1;
		l->n++;
	}
	free(copy);
}

static inline const struct pol_subject *tsubj(struct tsubj *t, const char *ns, const char *labels,
					       const char *ns_labels, const char *ports)
{
	char *copy = strdup(ports ? ports : ""), *save = NULL;

	memset(t, 0, sizeof(*t));
	t->s.ns = ns;
	tlabels(labels, t->kv, &t->s.labels);
	tlabels(ns_labels, t->nkv, &t->s.ns_labels);
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		struct pol_named_port *np = &t->ports[t->s.n_ports];
		char proto[8];
		unsigned port;

		char *colon = strchr(p, ':');

		assert_non_null(colon);	/* ":80/tcp" is an unnamed port */
		*colon = '\0';
		snprintf(t->names[t->s.n_ports], sizeof(t->names[0]), "%s", p);
		assert_int_equal(sscanf(colon + 1, "%u/%7s", &port, proto), 2);
		np->name = t->names[t->s.n_ports];
		np->port = port;
		np->proto = !strcmp(proto, "udp") ? IPPROTO_UDP :
			    !strcmp(proto, "sctp") ? IPPROTO_SCTP : IPPROTO_TCP;
		t->s.n_ports++;
	}
	t->s.ports = t->ports;
	free(copy);
	return &t->s;
}

/* Interns a subject; returns its identity. */
static inline uint32_t tident(struct pol_db *db, const char *ns, const char *labels,
			      const char *ns_labels, const char *ports)
{
	struct tsubj t;
	uint32_t id;

	assert_int_equal(pol_identity_get(db, tsubj(&t, ns, labels, ns_labels, ports), &id, NULL),
			 0);
	return id;
}

static inline uint32_t tip(const char *s)
{
	uint32_t a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* One expected entry; rule is what pol_rule_describe() says. */
struct texp {
	uint32_t peer;
	uint8_t dir;
	uint8_t proto;
	uint16_t port;		/* host order, already masked to the prefix */
	uint32_t plen;
	const char *rule;
};

#define IN PN_DIR_INGRESS
#define EG PN_DIR_EGRESS
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define SCTP IPPROTO_SCTP
#define ANYP PN_POLICY_PLEN_ANY_PROTO
#define PROTO PN_POLICY_PLEN_PROTO
#define FULL PN_POLICY_PLEN_FULL

static inline void tdump(const struct pol_db *db, const char *what, const struct pol_entry *e,
			 size_t n)
{
	print_message("%s: %zu entries\n", what, n);
	for (size_t i = 0; i < n; i++) {
		char rule[128] = "?";

		pol_rule_describe(db, e[i].rule_ref, rule, sizeof(rule));
		print_message("  ep %u peer %u dir %u proto %u port %u plen %u  %s\n",
			      e[i].key.endpoint_id, e[i].key.peer_identity, e[i].key.direction,
			      e[i].key.protocol, ntohs(e[i].key.dport), e[i].key.prefixlen, rule);
	}
}

static inline int tentry_qcmp(const void *a, const void *b)
{
	return pol_entry_cmp(a, b);
}

/* The compiled entries are exactly @exp (any order), byte for byte, each made
 * by the rule @exp names. */
static inline void tcheck(const struct pol_db *db, const struct pol_compiled *c, uint32_t ep,
			  const struct texp *exp, size_t n)
{
	struct pol_entry *want = calloc(n + 1, sizeof(*want));
	bool ok = c->n_entries == n;

	for (size_t i = 0; i < n; i++) {
		struct pn_policy_key *k = &want[i].key;

		k->prefixlen = exp[i].plen;
		k->endpoint_id = ep;
		k->peer_identity = exp[i].peer;
		k->direction = exp[i].dir;
		k->protocol = exp[i].proto;
		k->dport = htons(exp[i].port);
		want[i].rule_ref = i;	/* to find exp[i] after sorting */
	}
	qsort(want, n, sizeof(*want), tentry_qcmp);
	for (size_t i = 0; ok && i < n; i++) {
		char rule[128] = "";

		ok = !memcmp(&want[i].key, &c->entries[i].key, sizeof(want[i].key)) &&
		     pol_rule_describe(db, c->entries[i].rule_ref, rule, sizeof(rule)) &&
		     !strcmp(rule, exp[want[i].rule_ref].rule);
	}
	if (!ok) {
		for (size_t i = 0; i < n; i++) {
			size_t x = want[i].rule_ref;

			print_message("want ep %u peer %u dir %u proto %u port %u plen %u  %s\n", ep,
				      exp[x].peer, exp[x].dir, exp[x].proto, exp[x].port,
				      exp[x].plen, exp[x].rule);
		}
		tdump(db, "got", c->entries, c->n_entries);
	}
	free(want);
	assert_true(ok);
}

/* Compiles @s as endpoint 7 and checks isolation and entries. */
static inline void tcompile(struct pol_db *db, const struct pol_subject *s, bool iso_in,
			    bool iso_eg, const struct texp *exp, size_t n)
{
	struct pol_compiled c;

	assert_int_equal(pol_compile(db, s, 7, &c), 0);
	assert_int_equal(c.isolated_ingress, iso_in);
	assert_int_equal(c.isolated_egress, iso_eg);
	tcheck(db, &c, 7, exp, n);
	pol_compiled_clear(&c);
}

static inline int tdb_setup(void **state)
{
	struct pol_db *db;

	if (pol_db_new(&db) < 0)
		return -1;
	*state = db;
	return 0;
}

static inline int tdb_teardown(void **state)
{
	pol_db_free(*state);
	return 0;
}

#endif

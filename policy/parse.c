// SPDX-License-Identifier: Apache-2.0
/*
 * networking.k8s.io/v1 NetworkPolicy specs: parsing, validation, and the
 * policy table.  What the API server would refuse is refused here too
 * (-EINVAL and a message naming the field), so that a policy is either
 * enforced as written or not at all.
 */
#include "internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

struct pctx {
	struct pol_db *db;
	struct pol_policy *p;
	char *err;
	size_t errlen;
};

/* --- CIDRs ----------------------------------------------------------------------- */
struct addr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t a[16];		/* host bits cleared */
	uint8_t len;
};

static int cidr_parse(const char *s, struct addr *ret)
{
	char buf[INET6_ADDRSTRLEN + 1], *end;
	const char *slash = s ? strchr(s, '/') : NULL;
	unsigned long len;
	size_t alen;

	if (!slash || (alen = slash - s) >= sizeof(buf) || !slash[1] || slash[1] == '+' ||
	    slash[1] == '-' || slash[1] == ' ')
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, buf, ret->a) == 1)
		ret->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, ret->a) == 1)
		ret->family = AF_INET6;
	else
		return -EINVAL;
	len = strtoul(slash + 1, &end, 10);
	if (*end || len > (ret->family == AF_INET ? 32U : 128U))
		return -EINVAL;
	ret->len = len;
	/* "10.1.2.3/8" means 10.0.0.0/8, as the API server reads it */
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = len > 8 * i ? len - 8 * i : 0;

		if (keep < 8)
			ret->a[i] &= (uint8_t)(0xff00 >> keep);
	}
	return 0;
}

/* @a lies inside @b and is narrower. */
static bool addr_strictly_within(const struct addr *a, const struct addr *b)
{
	if (a->family != b->family || a->len <= b->len)
		return false;
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = b->len > 8 * i ? b->len - 8 * i : 0;
		uint8_t m = keep >= 8 ? 0xff : (uint8_t)(0xff00 >> keep);

		if ((a->a[i] & m) != b->a[i])
			return false;
	}
	return true;
}

static int prefix_take(struct pctx *c, const struct addr *a, struct pol_prefix *ret)
{
	memcpy(&ret->addr_be, a->a, 4);
	ret->len = a->len;
	ret->ent = NULL;
	return pol_cidr_get(c->db, ret->addr_be, a->len, &ret->ent);
}

static void ipblock_free(struct pol_db *db, struct pol_ipblock *b)
{
	if (!b)
		return;
	pol_cidr_put(db, b->cidr.ent);
	for (uint32_t i = 0; i < b->n_except; i++)
		pol_cidr_put(db, b->except[i].ent);
	free(b->except);
	free(b->ids);
	free(b);
}

static int ipblock_parse(struct pctx *c, const json_t *j, const char *path,
			 struct pol_ipblock **ret)
{
	const json_t *ex = json_object_get(j, "except"), *e;
	const char *s = json_string_value(json_object_get(j, "cidr"));
	struct pol_ipblock *b;
	struct addr cidr, a;
	size_t i;
	int err;

	if (!json_is_object(j)) {
		pol_errf(c->err, c->errlen, "%s: not an object", path);
		return -EINVAL;
	}
	if (cidr_parse(s, &cidr) < 0) {
		pol_errf(c->err, c->errlen, "%s.cidr: \"%s\" is not a CIDR", path, s ? s : "");
		return -EINVAL;
	}
	if (ex && !json_is_null(ex) && !json_is_array(ex)) {
		pol_errf(c->err, c->errlen, "%s.except: not a list", path);
		return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->ipv6 = cidr.family == AF_INET6;
	if (!b->ipv6) {
		err = prefix_take(c, &cidr, &b->cidr);
		if (err < 0)
			goto err;
	}
	if (json_array_size(ex) && !b->ipv6) {
		b->except = calloc(json_array_size(ex), sizeof(*b->except));
		if (!b->except) {
			err = -ENOMEM;
			goto err;
		}
	}
	json_array_foreach(ex, i, e) {
		s = json_string_value(e);
		err = -EINVAL;
		if (cidr_parse(s, &a) < 0) {
			pol_errf(c->err, c->errlen, "%s.except[%zu]: \"%s\" is not a CIDR", path, i,
				 s ? s : "");
			goto err;
		}
		if (!addr_strictly_within(&a, &cidr)) {
			pol_errf(c->err, c->errlen,
				 "%s.except[%zu]: %s is not strictly inside the cidr", path, i, s);
			goto err;
		}
		if (b->ipv6)
			continue;
		err = prefix_take(c, &a, &b->except[b->n_except]);
		if (err < 0)
			goto err;
		b->n_except++;
	}
	*ret = b;
	return 0;
err:
	ipblock_free(c->db, b);
	return err;
}

/* --- peers and ports ---------------------------------------------------------------- */
static const json_t *opt(const json_t *j, const char *key)
{
	const json_t *v = json_object_get(j, key);

	return json_is_null(v) ? NULL : v;
}

static int peer_parse(struct pctx *c, const json_t *j, const char *path, struct pol_peer *ret)
{
	const json_t *ipb = opt(j, "ipBlock"), *ps = opt(j, "podSelector");
	const json_t *nss = opt(j, "namespaceSelector");
	struct pol_sel pod = { 0 }, ns = { 0 };
	char sub[192];
	uint8_t kind;
	int err;

	if (!json_is_object(j)) {
		pol_errf(c->err, c->errlen, "%s: not an object", path);
		return -EINVAL;
	}
	if (ipb && (ps || nss)) {
		pol_errf(c->err, c->errlen, "%s: ipBlock cannot be combined with a selector", path);
		return -EINVAL;
	}
	if (ipb) {
		snprintf(sub, sizeof(sub), "%s.ipBlock", path);
		return ipblock_parse(c, ipb, sub, &ret->ipb);
	}
	if (!ps && !nss) {
		pol_errf(c->err, c->errlen,
			 "%s: needs a podSelector, a namespaceSelector or an ipBlock", path);
		return -EINVAL;
	}
	if (ps) {
		snprintf(sub, sizeof(sub), "%s.podSelector", path);
		err = pol_sel_parse(ps, sub, &pod, c->err, c->errlen);
		if (err < 0)
			return err;
	}
	if (nss) {
		snprintf(sub, sizeof(sub), "%s.namespaceSelector", path);
		err = pol_sel_parse(nss, sub, &ns, c->err, c->errlen);
		if (err < 0) {
			pol_sel_clear(&pod);
			return err;
		}
	}
	kind = ps && nss ? POL_SELC_NS_POD : nss ? POL_SELC_NS : POL_SELC_POD;
	return pol_selc_get(c->db, kind, c->p->nsb, &pod, &ns, &ret->sel);
}

/* An IANA service name, as a container port name must be. */
static bool port_name_valid(const char *s)
{
	size_t len = strlen(s);
	bool letter = false;

	if (!len || len > 15 || s[0] == '-' || s[len - 1] == '-' || strstr(s, "--"))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		else if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return false;
	}
	return letter;
}

static int port_parse(struct pctx *c, const json_t *j, const char *path, struct pol_port *ret)
{
	const json_t *proto = opt(j, "protocol"), *port = opt(j, "port"), *end = opt(j, "endPort");
	const char *ps = json_string_value(proto);

	if (!json_is_object(j)) {
		pol_errf(c->err, c->errlen, "%s: not an object", path);
		return -EINVAL;
	}
	if (!proto)
		ret->proto = IPPROTO_TCP;
	else if (ps && !strcmp(ps, "TCP"))
		ret->proto = IPPROTO_TCP;
	else if (ps && !strcmp(ps, "UDP"))
		ret->proto = IPPROTO_UDP;
	else if (ps && !strcmp(ps, "SCTP"))
		ret->proto = IPPROTO_SCTP;
	else {
		pol_errf(c->err, c->errlen, "%s.protocol: not TCP, UDP or SCTP", path);
		return -EINVAL;
	}
	if (json_is_integer(port)) {
		json_int_t v = json_integer_value(port);

		if (v < 1 || v > 65535) {
			pol_errf(c->err, c->errlen, "%s.port: %lld is not in 1-65535", path,
				 (long long)v);
			return -EINVAL;
		}
		ret->port = ret->end = v;
	} else if (json_is_string(port)) {
		if (!port_name_valid(json_string_value(port))) {
			pol_errf(c->err, c->errlen, "%s.port: \"%s\" is not a port name", path,
				 json_string_value(port));
			return -EINVAL;
		}
		ret->name = strdup(json_string_value(port));
		if (!ret->name)
			return -ENOMEM;
	} else if (port) {
		pol_errf(c->err, c->errlen, "%s.port: neither a number nor a name", path);
		return -EINVAL;
	}
	if (!end)
		return 0;
	if (!json_is_integer(port)) {
		pol_errf(c->err, c->errlen, "%s.endPort: needs a numeric port", path);
		return -EINVAL;
	}
	if (!json_is_integer(end) || json_integer_value(end) < ret->port ||
	    json_integer_value(end) > 65535) {
		pol_errf(c->err, c->errlen, "%s.endPort: not a number in %u-65535", path,
			 ret->port);
		return -EINVAL;
	}
	ret->end = json_integer_value(end);
	return 0;
}

/* --- rules and policies ---------------------------------------------------------------- */
static void rule_clear(struct pol_db *db, struct pol_rule *r)
{
	for (uint32_t i = 0; i < r->n_peers; i++) {
		pol_selc_put(db, r->peers[i].sel);
		ipblock_free(db, r->peers[i].ipb);
	}
	for (uint32_t i = 0; i < r->n_ports; i++)
		free(r->ports[i].name);
	free(r->peers);
	free(r->ports);
	memset(r, 0, sizeof(*r));
}

static const json_t *opt_list(struct pctx *c, const json_t *j, const char *key, const char *path,
			      int *err)
{
	const json_t *v = opt(j, key);

	*err = 0;
	if (v && !json_is_array(v)) {
		pol_errf(c->err, c->errlen, "%s.%s: not a list", path, key);
		*err = -EINVAL;
	}
	return v;
}

static int rule_parse(struct pctx *c, unsigned dir, const json_t *j, const char *path,
		      struct pol_rule *r)
{
	const char *pkey = dir == PN_DIR_INGRESS ? "from" : "to";
	const json_t *peers, *ports, *v;
	char sub[128];
	size_t i;
	int err;

	if (!json_is_object(j)) {
		pol_errf(c->err, c->errlen, "%s: not an object", path);
		return -EINVAL;
	}
	peers = opt_list(c, j, pkey, path, &err);
	if (err < 0)
		return err;
	ports = opt_list(c, j, "ports", path, &err);
	if (err < 0)
		return err;
	r->peers = calloc(json_array_size(peers) + 1, sizeof(*r->peers));
	r->ports = calloc(json_array_size(ports) + 1, sizeof(*r->ports));
	if (!r->peers || !r->ports)
		return -ENOMEM;
	json_array_foreach(peers, i, v) {
		snprintf(sub, sizeof(sub), "%s.%s[%zu]", path, pkey, i);
		err = peer_parse(c, v, sub, &r->peers[r->n_peers]);
		if (err < 0)
			return err;
		r->n_peers++;
	}
	json_array_foreach(ports, i, v) {
		snprintf(sub, sizeof(sub), "%s.ports[%zu]", path, i);
		err = port_parse(c, v, sub, &r->ports[r->n_ports]);
		r->n_ports++;	/* cleared by rule_clear() either way */
		if (err < 0)
			return err;
	}
	return 0;
}

void pol_policy_destroy(struct pol_db *db, struct pol_policy *p)
{
	if (!p)
		return;
	for (unsigned d = 0; d < PN_DIR_MAX; d++) {
		for (uint32_t i = 0; i < p->n_rules[d]; i++)
			rule_clear(db, &p->rules[d][i]);
		free(p->rules[d]);
	}
	pol_sel_clear(&p->subject);
	free(p->name);
	free(p);
}

static int types_parse(struct pctx *c, const json_t *spec)
{
	const json_t *types = opt(spec, "policyTypes"), *v;
	size_t i;

	if (types && !json_is_array(types)) {
		pol_errf(c->err, c->errlen, "spec.policyTypes: not a list");
		return -EINVAL;
	}
	/* Omitted (or empty, which the API server defaults the same way):
	 * Ingress always, Egress when there are egress rules. */
	if (!json_array_size(types)) {
		c->p->types = POL_DIR_BIT(PN_DIR_INGRESS);
		if (json_array_size(opt(spec, "egress")))
			c->p->types |= POL_DIR_BIT(PN_DIR_EGRESS);
		return 0;
	}
	json_array_foreach(types, i, v) {
		const char *s = json_string_value(v);

		if (s && !strcmp(s, "Ingress"))
			c->p->types |= POL_DIR_BIT(PN_DIR_INGRESS);
		else if (s && !strcmp(s, "Egress"))
			c->p->types |= POL_DIR_BIT(PN_DIR_EGRESS);
		else {
			pol_errf(c->err, c->errlen, "spec.policyTypes[%zu]: not Ingress or Egress",
				 i);
			return -EINVAL;
		}
	}
	return 0;
}

int pol_policy_parse(struct pol_db *db, struct pol_nsb *nsb, const json_t *spec,
		     struct pol_policy **ret, char *err, size_t errlen)
{
	static const char *const keys[PN_DIR_MAX] = {
		[PN_DIR_EGRESS] = "egress",
		[PN_DIR_INGRESS] = "ingress",
	};
	struct pctx c = { .db = db, .err = err, .errlen = errlen };
	const json_t *ps = opt(spec, "podSelector");
	struct pol_policy *p;
	int err_;

	if (!json_is_object(spec)) {
		pol_errf(err, errlen, "spec: not an object");
		return -EINVAL;
	}
	if (!ps) {
		pol_errf(err, errlen, "spec.podSelector: required ({} selects every pod)");
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->nsb = nsb;
	c.p = p;
	err_ = pol_sel_parse(ps, "spec.podSelector", &p->subject, err, errlen);
	if (err_ < 0)
		goto err;
	err_ = types_parse(&c, spec);
	if (err_ < 0)
		goto err;
	for (unsigned d = 0; d < PN_DIR_MAX; d++) {
		const json_t *rules = opt_list(&c, spec, keys[d], "spec", &err_), *r;
		size_t i;

		if (err_ < 0)
			goto err;
		if (json_array_size(rules) > POL_REF_MAX_RULES) {
			pol_errf(err, errlen, "spec.%s: more than %u rules", keys[d],
				 POL_REF_MAX_RULES);
			err_ = -EINVAL;
			goto err;
		}
		p->rules[d] = calloc(json_array_size(rules) + 1, sizeof(*p->rules[d]));
		if (!p->rules[d]) {
			err_ = -ENOMEM;
			goto err;
		}
		json_array_foreach(rules, i, r) {
			char path[64];

			snprintf(path, sizeof(path), "spec.%s[%zu]", keys[d], i);
			err_ = rule_parse(&c, d, r, path, &p->rules[d][i]);
			p->n_rules[d]++;
			if (err_ < 0)
				goto err;
		}
		/* Validated, but rules of a direction the policy does not
		 * govern never apply: hold no selectors for them. */
		if (!(p->types & POL_DIR_BIT(d))) {
			for (uint32_t k = 0; k < p->n_rules[d]; k++)
				rule_clear(db, &p->rules[d][k]);
			p->n_rules[d] = 0;
		}
	}
	*ret = p;
	return 0;
err:
	pol_policy_destroy(db, p);
	return err_;
}

/* --- the policy table ---------------------------------------------------------------- */
static uint32_t name_hash(const char *ns, const char *name)
{
	return pol_hash_str(pol_hash_str(POL_HASH_SEED, ns), name);
}

static struct pol_policy *policy_find(const struct pol_db *db, const char *ns, const char *name)
{
	uint32_t h = name_hash(ns, name);

	for (struct pol_hnode *n = pol_htab_chain(&db->policies, h); n; n = n->next) {
		struct pol_policy *p = pol_container_of(n, struct pol_policy, by_name);

		if (n->hash == h && !strcmp(p->name, name) && !strcmp(p->nsb->name, ns))
			return p;
	}
	return NULL;
}

const struct pol_policy *pol_policy_by_no(const struct pol_db *db, uint32_t no)
{
	uint32_t h = pol_hash_u32(no);

	for (struct pol_hnode *n = pol_htab_chain(&db->policy_nos, h); n; n = n->next) {
		const struct pol_policy *p = pol_container_of(n, struct pol_policy, by_no);

		if (p->no == no)
			return p;
	}
	return NULL;
}

static int policy_alloc_no(struct pol_db *db, uint32_t *ret)
{
	for (uint32_t tries = 0; tries < POL_REF_NO_MAX; tries++) {
		uint32_t no = db->next_no;

		db->next_no = no == POL_REF_NO_MAX ? 1 : no + 1;
		if (!pol_policy_by_no(db, no)) {
			*ret = no;
			return 0;
		}
	}
	return -ENOSPC;
}

static int policy_link(struct pol_db *db, struct pol_policy *p)
{
	int err = pol_htab_add(&db->policies, &p->by_name, name_hash(p->nsb->name, p->name));

	if (err < 0)
		return err;
	err = pol_htab_add(&db->policy_nos, &p->by_no, pol_hash_u32(p->no));
	if (err < 0) {
		pol_htab_del(&db->policies, &p->by_name);
		return err;
	}
	p->prev = NULL;
	p->next = p->nsb->policies;
	if (p->next)
		p->next->prev = p;
	p->nsb->policies = p;
	p->nsb->n_policies++;
	return 0;
}

static void policy_unlink(struct pol_db *db, struct pol_policy *p)
{
	pol_htab_del(&db->policies, &p->by_name);
	pol_htab_del(&db->policy_nos, &p->by_no);
	if (p->prev)
		p->prev->next = p->next;
	else
		p->nsb->policies = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->nsb->n_policies--;
}

int pol_policy_set(struct pol_db *db, const char *ns, const char *name, const json_t *spec,
		   char *err, size_t errlen)
{
	struct pol_policy *p, *old;
	struct pol_nsb *nsb;
	int err_;

	if (!ns || !*ns || !name || !*name) {
		pol_errf(err, errlen, "namespace and name are required");
		return -EINVAL;
	}
	err_ = pol_nsb_get(db, ns, &nsb);
	if (err_ < 0)
		return err_;
	err_ = pol_policy_parse(db, nsb, spec, &p, err, errlen);
	if (err_ < 0)
		goto err_nsb;
	err_ = -ENOMEM;
	p->name = strdup(name);
	if (!p->name)
		goto err_policy;
	old = policy_find(db, ns, name);
	/* A replacement keeps the number, so unchanged rules keep their
	 * rule_ref and the agent's diff leaves their entries alone. */
	if (old)
		p->no = old->no;
	else if ((err_ = policy_alloc_no(db, &p->no)) < 0)
		goto err_policy;
	err_ = policy_link(db, p);
	if (err_ < 0)
		goto err_policy;
	if (old) {
		policy_unlink(db, old);
		pol_policy_destroy(db, old);
	}
	return 0;
err_policy:
	pol_policy_destroy(db, p);
err_nsb:
	pol_nsb_maybe_free(db, nsb);
	return err_;
}

int pol_policy_del(struct pol_db *db, const char *ns, const char *name)
{
	struct pol_policy *p = ns && name ? policy_find(db, ns, name) : NULL;
	struct pol_nsb *nsb;

	if (!p)
		return -ENOENT;
	nsb = p->nsb;
	policy_unlink(db, p);
	pol_policy_destroy(db, p);
	pol_nsb_maybe_free(db, nsb);
	return 0;
}

size_t pol_policy_count(const struct pol_db *db)
{
	return db->policies.n;
}

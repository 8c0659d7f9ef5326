// SPDX-License-Identifier: Apache-2.0
/* NetworkPolicy in the agent: Kubernetes objects → compiler → maps (netpol.h). */
#include "netpol.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "agent_ops.h"
#include "dp.h"
#include "endpoint.h"
#include "endpoint_store.h"
#include "ipam.h"
#include "k8s/cache.h"
#include "k8s/objects.h"
#include "log.h"

/* Every pod the policy knows about, on any node: its identity. */
struct np_pod {
	struct k8s_meta meta;	/* ns/name: own copies */
	uint32_t identity;	/* 0: none (hostNetwork, finished) */
	uint32_t ip_be;		/* status.podIP, 0 until set: for trace */
};

/* A local endpoint, and what the maps hold for it. */
struct np_endpoint {
	uint32_t endpoint_id;
	char ns[EP_K8S_NAME_MAX + 1];
	char name[EP_K8S_NAME_MAX + 1];
	uint32_t ip_be;
	uint32_t identity;		/* as written to pn_endpoints */
	uint32_t flags;			/* as written to pn_endpoints */
	struct pol_entry *entries;	/* as written to pn_policy, sorted */
	size_t n_entries;
	bool dirty;
	/* during a flush (ep_make .. ep_break): what it is becoming */
	bool pending;
	uint32_t next_identity, next_flags;
	struct pol_compiled next;
};

struct np_cidr {
	uint32_t addr_be;
	uint8_t len;
	uint32_t identity;
};

struct netpol {
	struct agent *a;
	struct pol_db *db;
	struct k8s_cache *pods;
	struct np_endpoint *eps;
	size_t n_eps, cap_eps;
	struct np_cidr *cidrs;		/* what pn_policy_cidrs holds */
	size_t n_cidrs;
	uint32_t host_ips_be[2];	/* written to the ipcache as PN_ID_HOST */
	bool synced;			/* pods, namespaces, policies listed */
	bool adopted;			/* what a previous run left in the maps is known */
	bool dirty_all, cidrs_dirty;
	bool peers_changed;		/* identities came or went: isolated endpoints */
	/* counters, for porinctl */
	uint64_t flushes, compiles, entries_added, entries_removed, map_errors;
	uint64_t policy_errors;
	uint64_t last_flush_us, max_flush_us;
	char last_policy_error[256];
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void np_pod_free(struct k8s_meta *m)
{
	if (!m)
		return;
	free(m->ns);
	free(m->name);
	free(m);
}

int netpol_new(struct agent *a, struct netpol **ret)
{
	struct netpol *np = calloc(1, sizeof(*np));
	int err;

	if (!np)
		return -ENOMEM;
	np->a = a;
	err = pol_db_new(&np->db);
	if (err == 0)
		err = k8s_cache_new(&np->pods);
	if (err < 0) {
		netpol_free(np);
		return err;
	}
	*ret = np;
	return 0;
}

void netpol_free(struct netpol *np)
{
	if (!np)
		return;
	for (size_t i = 0; i < np->n_eps; i++) {
		free(np->eps[i].entries);
		pol_compiled_clear(&np->eps[i].next);
	}
	free(np->eps);
	free(np->cidrs);
	if (np->pods)
		k8s_cache_free(np->pods, np_pod_free);
	pol_db_free(np->db);
	free(np);
}

static struct np_endpoint *ep_find(struct netpol *np, uint32_t endpoint_id)
{
	for (size_t i = 0; i < np->n_eps; i++)
		if (np->eps[i].endpoint_id == endpoint_id)
			return &np->eps[i];
	return NULL;
}

/* Local endpoints of pod @ns/@name must be recompiled. */
static void eps_of_pod_dirty(struct netpol *np, const char *ns, const char *name)
{
	for (size_t i = 0; i < np->n_eps; i++)
		if (!strcmp(np->eps[i].ns, ns) && !strcmp(np->eps[i].name, name))
			np->eps[i].dirty = true;
}

/* --- pods → identities ------------------------------------------------------ */

static uint32_t pod_ip4(const struct k8s_pod *p)
{
	for (int i = 0; i < p->n_ips; i++)
		if (p->ips[i].family == AF_INET)
			return p->ips[i].v4.s_addr;
	return 0;
}

/* Drop a reference; a vanished identity may still be named in entries. */
static void identity_put(struct netpol *np, uint32_t id)
{
	if (id && pol_identity_put(np->db, id))
		np->peers_changed = true;
}

uint32_t netpol_pod_set(struct netpol *np, const struct k8s_pod *p,
			const struct k8s_labels *ns_labels)
{
	struct pol_named_port ports[p->n_ports ? p->n_ports : 1];
	struct k8s_meta *old = NULL;
	struct pol_subject subject;
	struct np_pod *pod;
	uint32_t id = 0;
	bool created = false;
	int err;

	pod = (struct np_pod *)k8s_cache_get(np->pods, p->meta.ns, p->meta.name);
	if (netpol_subject_of(p, ns_labels, ports, &subject)) {
		err = pol_identity_get(np->db, &subject, &id, &created);
		if (err < 0) {
			log_warn("cannot intern a pod's identity", "pod=%s/%s err=%s",
				 p->meta.ns, p->meta.name, log_errno_name(err));
			id = 0;
		}
	}
	if (created)
		np->peers_changed = true;	/* a new peer for the selectors that match it */
	if (!pod) {
		pod = calloc(1, sizeof(*pod));
		if (!pod || !(pod->meta.ns = strdup(p->meta.ns ? p->meta.ns : "")) ||
		    !(pod->meta.name = strdup(p->meta.name)) ||
		    k8s_cache_put(np->pods, &pod->meta, 0, &old) < 0) {
			np_pod_free(pod ? &pod->meta : NULL);
			identity_put(np, id);
			log_warn("out of memory tracking a pod for policy", "pod=%s/%s",
				 p->meta.ns, p->meta.name);
			return 0;
		}
	}
	pod->ip_be = pod_ip4(p);
	if (pod->identity == id) {
		identity_put(np, id);	/* the extra reference of this call */
		return id;
	}
	identity_put(np, pod->identity);
	pod->identity = id;
	eps_of_pod_dirty(np, pod->meta.ns, pod->meta.name);
	return id;
}

void netpol_pod_del(struct netpol *np, const char *ns, const char *name)
{
	struct np_pod *pod = (struct np_pod *)k8s_cache_del(np->pods, ns, name);

	if (!pod)
		return;
	identity_put(np, pod->identity);
	eps_of_pod_dirty(np, pod->meta.ns, pod->meta.name);
	np_pod_free(&pod->meta);
}

uint32_t netpol_pod_identity(const struct netpol *np, const char *ns, const char *name)
{
	const struct np_pod *pod = (const struct np_pod *)k8s_cache_get(np->pods, ns, name);

	return pod ? pod->identity : 0;
}

/* --- policies ----------------------------------------------------------------- */

static void eps_of_ns_dirty(struct netpol *np, const char *ns)
{
	for (size_t i = 0; i < np->n_eps; i++)
		if (!strcmp(np->eps[i].ns, ns))
			np->eps[i].dirty = true;
}

void netpol_policy_set(struct netpol *np, const struct k8s_netpol *p)
{
	const char *ns = p->meta.ns ? p->meta.ns : "";
	char err[200] = "";
	json_error_t jerr;
	json_t *spec;
	int ret;

	spec = json_loads(p->spec ? p->spec : "{}", 0, &jerr);
	if (!spec) {
		snprintf(err, sizeof(err), "spec: %s", jerr.text);
		ret = -EINVAL;
	} else {
		ret = pol_policy_set(np->db, ns, p->meta.name, spec, err, sizeof(err));
		json_decref(spec);
	}
	if (ret < 0) {
		np->policy_errors++;
		snprintf(np->last_policy_error, sizeof(np->last_policy_error), "%s/%s: %s", ns,
			 p->meta.name, err);
		log_warn("NetworkPolicy not enforced as written; its previous version stays",
			 "policy=%s/%s err=\"%s\"", ns, p->meta.name, err);
		return;
	}
	eps_of_ns_dirty(np, ns);
	np->cidrs_dirty = true;
}

void netpol_policy_del(struct netpol *np, const char *ns, const char *name)
{
	if (pol_policy_del(np->db, ns ? ns : "", name) < 0)
		return;
	eps_of_ns_dirty(np, ns ? ns : "");
	np->cidrs_dirty = true;
}

void netpol_synced(struct netpol *np)
{
	if (!np->synced)
		log_info("policy inputs listed: enforcing", "identities=%zu policies=%zu",
			 pol_identity_count(np->db), pol_policy_count(np->db));
	np->synced = true;
	np->dirty_all = true;
	np->cidrs_dirty = true;
}

/* --- the maps --------------------------------------------------------------------- */

static void map_error(struct netpol *np, const char *what, int err)
{
	np->map_errors++;
	log_warn("policy map write failed", "what=%s err=%s", what, log_errno_name(err));
}

/* The CIDRs the compiler names, collected by pol_cidr_foreach(). */
struct cidr_walk {
	struct np_cidr *want;
	size_t n, cap;
};

static int cidr_collect(void *data, const struct pol_cidr *c)
{
	struct cidr_walk *w = data;

	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		struct np_cidr *grown = realloc(w->want, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		w->want = grown;
		w->cap = cap;
	}
	w->want[w->n++] = (struct np_cidr){ c->addr_be, c->len, c->identity };
	return 0;
}

static bool cidr_in(const struct np_cidr *set, size_t n, const struct np_cidr *c, bool same_id)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].addr_be == c->addr_be && set[i].len == c->len &&
		    (!same_id || set[i].identity == c->identity))
			return true;
	return false;
}

/* The CIDRs the compiler names now, into @w; false when they are exactly
 * what the map holds (a policy change that left the ipBlocks alone). */
static bool cidrs_changed(struct netpol *np, struct cidr_walk *w)
{
	int err = pol_cidr_foreach(np->db, cidr_collect, w);

	if (err < 0) {
		map_error(np, "cidr list", err);
		w->n = 0;
		return false;	/* keep what the map holds */
	}
	if (w->n != np->n_cidrs)
		return true;
	for (size_t i = 0; i < w->n; i++)
		if (!cidr_in(np->cidrs, np->n_cidrs, &w->want[i], true))
			return true;
	return false;
}

static void cidrs_add(struct netpol *np, struct cidr_walk *w)
{
	int err;

	for (size_t i = 0; i < w->n; i++) {
		if (cidr_in(np->cidrs, np->n_cidrs, &w->want[i], true))
			continue;
		err = dp_policy_cidr_upsert(np->a->dp, w->want[i].addr_be, w->want[i].len,
					    w->want[i].identity);
		if (err < 0)
			map_error(np, "cidr upsert", err);
	}
}

static void cidrs_remove(struct netpol *np, struct cidr_walk *w)
{
	for (size_t i = 0; i < np->n_cidrs; i++) {
		int err;

		if (cidr_in(w->want, w->n, &np->cidrs[i], false))
			continue;
		err = dp_policy_cidr_delete(np->a->dp, np->cidrs[i].addr_be, np->cidrs[i].len);
		if (err < 0)
			map_error(np, "cidr delete", err);
	}
	free(np->cidrs);
	np->cidrs = w->want;
	np->n_cidrs = w->n;
	w->want = NULL;
}

/* Entries of @b missing from @a (both sorted), by key; calls @fn on each. */
static void entries_missing(struct netpol *np, const struct pol_entry *a, size_t na,
			    const struct pol_entry *b, size_t nb,
			    void (*fn)(struct netpol *np, const struct pol_entry *e))
{
	size_t i = 0;

	for (size_t j = 0; j < nb; j++) {
		while (i < na && pol_entry_cmp(&a[i], &b[j]) < 0)
			i++;
		if (i < na && pol_entry_cmp(&a[i], &b[j]) == 0)
			continue;
		fn(np, &b[j]);
	}
}

static void entry_add(struct netpol *np, const struct pol_entry *e)
{
	struct pn_policy_entry v = { .rule_ref = e->rule_ref };
	int err = dp_policy_update(np->a->dp, &e->key, &v);

	if (err < 0)
		map_error(np, "policy upsert", err);
	else
		np->entries_added++;
}

static void entry_remove(struct netpol *np, const struct pol_entry *e)
{
	int err = dp_policy_delete(np->a->dp, &e->key);

	if (err < 0)
		map_error(np, "policy delete", err);
	else
		np->entries_removed++;
}

/* What endpoint @ep should be now: identity, flags and entries. */
static void ep_desired(struct netpol *np, const struct np_endpoint *ep, uint32_t *ret_id,
		       uint32_t *ret_flags, struct pol_compiled *ret)
{
	const struct np_pod *pod;
	const struct pol_subject *s;
	int err;

	memset(ret, 0, sizeof(*ret));
	pod = (const struct np_pod *)k8s_cache_get(np->pods, ep->ns, ep->name);
	*ret_id = pod ? pod->identity : 0;
	s = *ret_id ? pol_identity_subject(np->db, *ret_id) : NULL;
	if (!s) {
		*ret_id = 0;
		*ret_flags = PN_EP_F_IDENTITY_PENDING;	/* who is it?  Deny until known. */
		return;
	}
	np->compiles++;
	err = pol_compile(np->db, s, ep->endpoint_id, ret);
	if (err < 0) {
		/* Keep what the maps hold rather than open the pod up. */
		map_error(np, "compile", err);
		pol_compiled_clear(ret);
		*ret_id = ep->identity;
		*ret_flags = ep->flags;
		ret->entries = malloc((ep->n_entries ? ep->n_entries : 1) * sizeof(*ret->entries));
		if (ret->entries) {
			memcpy(ret->entries, ep->entries, ep->n_entries * sizeof(*ret->entries));
			ret->n_entries = ep->n_entries;
		}
		return;
	}
	*ret_flags = (ret->isolated_ingress ? PN_EP_F_POLICY_INGRESS : 0) |
		     (ret->isolated_egress ? PN_EP_F_POLICY_EGRESS : 0);
}

/*
 * Bring one endpoint's maps to what it should be, make-before-break, in
 * three steps so a flush can put the CIDR map changes between them:
 *   make    compile; write the new entries (nothing uses them yet if they
 *           name a CIDR identity not yet in pn_policy_cidrs)
 *   switch  identity and flags (isolation starts with its allows in place
 *           and ends before they go)
 *   break   delete the entries no longer wanted
 * Between make and break the new result waits in ep->next.
 */
static void ep_make(struct netpol *np, struct np_endpoint *ep)
{
	ep->dirty = false;
	ep_desired(np, ep, &ep->next_identity, &ep->next_flags, &ep->next);
	entries_missing(np, ep->entries, ep->n_entries, ep->next.entries, ep->next.n_entries,
			entry_add);
	ep->pending = true;
}

/* @write_endpoint: rewrite pn_endpoints/pn_ipcache when identity or flags
 * change (false while the caller is about to write them itself). */
static void ep_switch(struct netpol *np, struct np_endpoint *ep, bool write_endpoint)
{
	int err;

	if (write_endpoint && (ep->next_identity != ep->identity || ep->next_flags != ep->flags)) {
		err = agent_endpoint_policy_write(np->a, ep->endpoint_id, ep->next_identity,
						  ep->next_flags);
		if (err < 0)
			map_error(np, "endpoint", err);
	}
	ep->identity = ep->next_identity;
	ep->flags = ep->next_flags;
}

static void ep_break(struct netpol *np, struct np_endpoint *ep)
{
	entries_missing(np, ep->next.entries, ep->next.n_entries, ep->entries, ep->n_entries,
			entry_remove);
	free(ep->entries);
	ep->entries = ep->next.entries;
	ep->n_entries = ep->next.n_entries;
	memset(&ep->next, 0, sizeof(ep->next));
	ep->pending = false;
}

/* This node's own addresses are PN_ID_HOST: always allowed in (kubelet). */
static void host_ips_sync(struct netpol *np)
{
	uint32_t want[2] = { np->a->node_ip_be,
			     np->a->ipam ? htonl(ipam_gateway(np->a->ipam)) : 0 };
	struct pn_ipcache_entry e = { .identity = PN_ID_HOST, .flags = PN_IPC_F_HOST };

	for (int i = 0; i < 2; i++) {
		int err;

		if (want[i] == np->host_ips_be[i])
			continue;
		if (np->host_ips_be[i] && np->host_ips_be[i] != want[1 - i])
			dp_ipcache_delete(np->a->dp, np->host_ips_be[i], 32);
		if (want[i]) {
			err = dp_ipcache_upsert(np->a->dp, want[i], 32, &e);
			if (err < 0) {
				map_error(np, "host ipcache", err);
				continue;
			}
		}
		np->host_ips_be[i] = want[i];
	}
}

/*
 * First flush after a (re)start: learn what an earlier run left in
 * pn_policy and pn_policy_cidrs, so the first sync writes only the
 * difference and removes entries of endpoints that are gone.
 */
static int key_cmp(const void *a, const void *b)
{
	return pol_entry_cmp(a, b);
}

static void adopt(struct netpol *np)
{
	struct pn_ipcache_key *ckeys = NULL;
	struct pn_policy_key *keys = NULL;
	struct pol_entry *all = NULL;
	size_t n = 0, nc = 0;
	int err;

	np->adopted = true;
	err = dp_policy_keys(np->a->dp, &keys, &n);
	if (err < 0) {
		map_error(np, "policy dump", err);
		return;
	}
	all = calloc(n ? n : 1, sizeof(*all));
	if (!all) {
		free(keys);
		return;
	}
	for (size_t i = 0; i < n; i++)
		all[i].key = keys[i];
	free(keys);
	qsort(all, n, sizeof(*all), key_cmp);
	for (size_t i = 0; i < n;) {
		struct np_endpoint *ep = ep_find(np, all[i].key.endpoint_id);
		size_t j = i;

		while (j < n && all[j].key.endpoint_id == all[i].key.endpoint_id)
			j++;
		if (!ep) {
			for (size_t k = i; k < j; k++)
				entry_remove(np, &all[k]);
		} else if (!ep->entries) {
			ep->entries = malloc((j - i) * sizeof(*all));
			if (ep->entries) {
				memcpy(ep->entries, all + i, (j - i) * sizeof(*all));
				ep->n_entries = j - i;
			}
		}
		i = j;
	}
	free(all);
	if (dp_policy_cidr_keys(np->a->dp, &ckeys, &nc) == 0) {
		np->cidrs = calloc(nc ? nc : 1, sizeof(*np->cidrs));
		for (size_t i = 0; np->cidrs && i < nc; i++)
			np->cidrs[i] = (struct np_cidr){ ckeys[i].ipv4, (uint8_t)ckeys[i].prefixlen, 0 };
		np->n_cidrs = np->cidrs ? nc : 0;
		free(ckeys);
	}
}

static bool compile_ready(const struct netpol *np)
{
	return np->synced && np->a->ready && np->a->dp;
}

void netpol_flush(struct netpol *np)
{
	struct cidr_walk w = { 0 };
	uint64_t t0, dt;
	bool cidrs, any;

	if (!np || !compile_ready(np))
		return;
	cidrs = np->cidrs_dirty;
	any = np->dirty_all || np->peers_changed || cidrs;
	if (!np->adopted)
		adopt(np);
	host_ips_sync(np);
	for (size_t i = 0; !any && i < np->n_eps; i++)
		any = np->eps[i].dirty;
	if (!any)
		return;
	t0 = now_us();
	/* A new ipBlock prefix carves a region with an identity of its own out
	 * of the prefixes around it: everyone's peers changed. */
	cidrs = cidrs && cidrs_changed(np, &w);
	if (cidrs)
		np->peers_changed = true;
	/* Peers only matter to an endpoint that policy isolates: the others
	 * hold no entries, and a new peer does not change who selects them. */
	for (size_t i = 0; i < np->n_eps; i++) {
		struct np_endpoint *ep = &np->eps[i];
		bool isolated = ep->flags & (PN_EP_F_POLICY_INGRESS | PN_EP_F_POLICY_EGRESS);

		if (np->dirty_all || ep->dirty || (np->peers_changed && isolated))
			ep_make(np, ep);
	}
	/* Entries for a new CIDR identity exist before any address maps to
	 * it, and a CIDR leaves the map before the entries naming it. */
	if (cidrs)
		cidrs_add(np, &w);
	for (size_t i = 0; i < np->n_eps; i++)
		if (np->eps[i].pending)
			ep_switch(np, &np->eps[i], true);
	if (cidrs)
		cidrs_remove(np, &w);
	for (size_t i = 0; i < np->n_eps; i++)
		if (np->eps[i].pending)
			ep_break(np, &np->eps[i]);
	free(w.want);
	np->dirty_all = np->cidrs_dirty = np->peers_changed = false;
	dt = now_us() - t0;
	np->flushes++;
	np->last_flush_us = dt;
	if (dt > np->max_flush_us)
		np->max_flush_us = dt;
	log_debug("policy flushed", "us=%llu endpoints=%zu", (unsigned long long)dt, np->n_eps);
}

/* --- local endpoints ----------------------------------------------------------- */

static struct np_endpoint *ep_register(struct netpol *np, const struct ep_record *rec)
{
	struct np_endpoint *ep = ep_find(np, rec->endpoint_id);

	if (!ep) {
		if (np->n_eps == np->cap_eps) {
			size_t cap = np->cap_eps ? 2 * np->cap_eps : 16;
			struct np_endpoint *grown = realloc(np->eps, cap * sizeof(*grown));

			if (!grown)
				return NULL;
			np->eps = grown;
			np->cap_eps = cap;
		}
		ep = &np->eps[np->n_eps++];
		memset(ep, 0, sizeof(*ep));
		ep->endpoint_id = rec->endpoint_id;
	}
	snprintf(ep->ns, sizeof(ep->ns), "%s", rec->pod_namespace);
	snprintf(ep->name, sizeof(ep->name), "%s", rec->pod_name);
	ep->ip_be = rec->ip_be;
	return ep;
}

void netpol_endpoint_state(struct netpol *np, const struct ep_record *rec,
			   uint32_t *ret_identity, uint32_t *ret_flags)
{
	struct pn_endpoint cur;
	struct np_endpoint *ep;
	bool known;

	*ret_identity = 0;
	*ret_flags = 0;
	if (!np || !rec->pod_namespace[0] || !rec->pod_name[0])
		return;		/* not a Kubernetes pod: no policy applies */
	known = ep_find(np, rec->endpoint_id) != NULL;
	ep = ep_register(np, rec);
	if (!ep) {
		*ret_flags = PN_EP_F_IDENTITY_PENDING;	/* out of memory: fail closed */
		return;
	}
	if (compile_ready(np)) {
		if (!np->adopted)
			adopt(np);
		/* Entries now; the caller writes the endpoint. */
		ep_make(np, ep);
		ep_switch(np, ep, false);
		ep_break(np, ep);
	} else if (!known && dp_endpoint_lookup(np->a->dp, rec->host_ifindex, &cur) == 0 &&
		   cur.endpoint_id == rec->endpoint_id) {
		/* A restart: until the Kubernetes objects are listed, the
		 * endpoint keeps what the previous run gave it. */
		ep->identity = cur.identity;
		ep->flags = cur.flags;
		ep->dirty = true;
	} else if (!known) {
		ep->identity = 0;
		ep->flags = PN_EP_F_IDENTITY_PENDING;
		ep->dirty = true;
	}
	*ret_identity = ep->identity;
	*ret_flags = ep->flags;
}

void netpol_endpoint_gone(struct netpol *np, uint32_t endpoint_id)
{
	struct np_endpoint *ep;

	if (!np || !(ep = ep_find(np, endpoint_id)))
		return;
	for (size_t i = 0; np->a->dp && i < ep->n_entries; i++)
		entry_remove(np, &ep->entries[i]);
	free(ep->entries);
	pol_compiled_clear(&ep->next);
	*ep = np->eps[--np->n_eps];
}

/* --- for humans -------------------------------------------------------------------- */

struct ip_find {
	uint32_t ip_be;
	const struct np_pod *found;
};

static void pod_by_ip(void *data, struct k8s_meta *m)
{
	struct ip_find *f = data;
	const struct np_pod *p = (const struct np_pod *)m;

	if (!f->found && p->ip_be == f->ip_be && p->identity)
		f->found = p;
}

static int trace_end(struct netpol *np, const char *what, struct pol_trace_end *ret, char *err,
		     size_t errlen)
{
	const struct np_pod *pod = NULL;
	struct in_addr addr;
	char ns[EP_K8S_NAME_MAX + 1];
	const char *slash = strchr(what, '/');

	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, what, &addr) == 1) {
		struct ip_find f = { .ip_be = addr.s_addr };

		k8s_cache_foreach(np->pods, pod_by_ip, &f);
		ret->addr_be = addr.s_addr;
		pod = f.found;
	} else if (slash && (size_t)(slash - what) < sizeof(ns)) {
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - what), what);
		pod = (const struct np_pod *)k8s_cache_get(np->pods, ns, slash + 1);
		if (!pod || !pod->identity) {
			snprintf(err, errlen, "no pod %s that policy applies to", what);
			return -ENOENT;
		}
		ret->addr_be = pod->ip_be;
		for (size_t i = 0; !ret->addr_be && i < np->n_eps; i++)
			if (!strcmp(np->eps[i].ns, ns) && !strcmp(np->eps[i].name, slash + 1))
				ret->addr_be = np->eps[i].ip_be;
	} else {
		snprintf(err, errlen, "\"%s\" is neither NAMESPACE/POD nor an IPv4 address", what);
		return -EINVAL;
	}
	if (pod)
		ret->subject = pol_identity_subject(np->db, pod->identity);
	/* This node's own addresses are PN_ID_HOST in the datapath too. */
	ret->host = !ret->subject && ret->addr_be &&
		    (ret->addr_be == np->host_ips_be[0] || ret->addr_be == np->host_ips_be[1]);
	return 0;
}

int netpol_trace_json(struct netpol *np, const char *from, const char *to, uint8_t proto,
		      uint16_t port, json_t *out, char *err, size_t errlen)
{
	struct pol_trace_end f, t;
	int ret;

	ret = trace_end(np, from, &f, err, errlen);
	if (ret == 0)
		ret = trace_end(np, to, &t, err, errlen);
	if (ret < 0)
		return ret;
	ret = pol_trace(np->db, &f, &t, proto, port, out);
	if (ret < 0)
		snprintf(err, errlen, "trace failed: %s", strerror(-ret));
	return ret;
}

int netpol_status_json(const struct netpol *np, json_t *out)
{
	size_t entries = 0, isolated = 0, pending = 0;

	for (size_t i = 0; i < np->n_eps; i++) {
		entries += np->eps[i].n_entries;
		if (np->eps[i].flags & (PN_EP_F_POLICY_INGRESS | PN_EP_F_POLICY_EGRESS))
			isolated++;
		if (np->eps[i].flags & PN_EP_F_IDENTITY_PENDING)
			pending++;
	}
	return json_object_update_new(out, json_pack(
		"{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
		"synced", np->synced,
		"identities", (json_int_t)pol_identity_count(np->db),
		"policies", (json_int_t)pol_policy_count(np->db),
		"cidrs", (json_int_t)np->n_cidrs,
		"endpoints", (json_int_t)np->n_eps,
		"endpoints_isolated", (json_int_t)isolated,
		"endpoints_pending", (json_int_t)pending,
		"policy_entries", (json_int_t)entries,
		"flushes", (json_int_t)np->flushes,
		"compiles", (json_int_t)np->compiles,
		"last_flush_us", (json_int_t)np->last_flush_us,
		"max_flush_us", (json_int_t)np->max_flush_us,
		"map_errors", (json_int_t)np->map_errors,
		"policy_errors", (json_int_t)np->policy_errors,
		"last_policy_error", np->last_policy_error));
}

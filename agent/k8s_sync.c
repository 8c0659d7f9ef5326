// SPDX-License-Identifier: Apache-2.0
#include "k8s_sync.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "agent.h"
#include "dp.h"
#include "ipam.h"
#include "k8s/cache.h"
#include "k8s/client.h"
#include "k8s/kubeconfig.h"
#include "k8s/watch.h"
#include "log.h"
#include "netpol.h"
#include "loop.h"
#include "node.h"

#define CONFIG_RETRY_MIN_MS	1000
#define CONFIG_RETRY_MAX_MS	60000
#define WAIT_LOG_MS		10000	/* "still waiting for the pod CIDR" */

/*
 * A remote pod's ipcache entry as written: keyed by the pod IP (dotted quad
 * as the cache's name), with the pod that owns it.  Two pods can claim one
 * IP for a moment (one deleted, its IP reused on another node, events in
 * either order): an entry is only deleted by its owner.
 */
struct remote {
	struct k8s_meta meta;	/* ns NULL, name "10.244.1.5", rv NULL */
	uint32_t node_ip_be;
	uint32_t identity;
	char *owner;		/* "namespace/name" */
};

struct k8s_sync {
	struct agent *a;
	char *kubeconfig;
	char node_name[NODE_NAME_MAX + 1];
	int (*on_pod_cidr)(struct agent *a, const char *cidr);

	struct k8s_config *cfg;
	struct k8s_client *client;
	int retry_fd;			/* timerfd: config load retries */
	uint32_t retry_ms;
	char config_error[160];

	/* The resources watched.  Services and EndpointSlices are only
	 * cached (counted in k8s status) until their consumers land. */
	struct k8s_reflector *nodes, *pods, *namespaces;
	struct k8s_reflector *services, *endpointslices, *netpols;

	struct k8s_cache *remotes;	/* struct remote, what is in the ipcache */
	bool replayed;			/* caches replayed into the datapath */
	bool gc_done;			/* stale remote ipcache entries removed */
	char pod_cidr[INET_ADDRSTRLEN + 4];	/* from the Node, when it is the source */
	char node_cidr_seen[INET_ADDRSTRLEN + 4];	/* last spec.podCIDR logged */
	bool self_seen;
	struct k8s_timer wait_timer;
	uint64_t wait_since_ms;
	uint64_t remote_errors;
};

static const char *ip4_str(uint32_t ip_be, char buf[INET_ADDRSTRLEN])
{
	struct in_addr in = { .s_addr = ip_be };

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

static bool waiting_cidr(const struct k8s_sync *s)
{
	return !s->a->ready && !s->a->cfg.pod_cidr;
}

/* --- remote pods ------------------------------------------------------------ */

static void remote_free(struct k8s_meta *m)
{
	struct remote *r = (struct remote *)m;

	if (!r)
		return;
	free(r->meta.name);
	free(r->owner);
	free(r);
}

static uint32_t pod_ip4(const struct k8s_pod *p)
{
	for (int i = 0; p && i < p->n_ips; i++)
		if (p->ips[i].family == AF_INET)
			return p->ips[i].v4.s_addr;
	return 0;
}

static uint32_t node_ip4(const struct k8s_node *n)
{
	return n && n->has_internal_ip && n->internal_ip.family == AF_INET ?
	       n->internal_ip.v4.s_addr : 0;
}

static bool is_self(const struct k8s_sync *s, const char *node)
{
	return node && !strcmp(node, s->node_name);
}

/* The ipcache entry @p should have: its IP and its node's, or false. */
static bool pod_desired(const struct k8s_sync *s, const struct k8s_pod *p, uint32_t *ret_ip,
			uint32_t *ret_node_ip)
{
	const struct k8s_node *n;

	if (!p || !p->node || is_self(s, p->node) || p->host_network)
		return false;
	/* A finished pod's IP may already belong to a new one. */
	if (p->phase == K8S_POD_SUCCEEDED || p->phase == K8S_POD_FAILED)
		return false;
	*ret_ip = pod_ip4(p);
	n = (const struct k8s_node *)k8s_reflector_get(s->nodes, NULL, p->node);
	*ret_node_ip = node_ip4(n);
	return *ret_ip && *ret_node_ip;
}

static void owner_key(const struct k8s_pod *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", p->meta.ns ? p->meta.ns : "", p->meta.name);
}

static void remote_drop(struct k8s_sync *s, uint32_t ip_be, const char *owner)
{
	char name[INET_ADDRSTRLEN];
	struct remote *r;
	int err;

	ip4_str(ip_be, name);
	r = (struct remote *)k8s_cache_get(s->remotes, NULL, name);
	if (!r || strcmp(r->owner, owner))
		return;
	err = remote_pod_delete(s->a, ip_be);
	if (err < 0) {
		s->remote_errors++;
		log_warn("cannot remove remote pod from the ipcache", "pod=%s ip=%s err=%s",
			 owner, name, log_errno_name(err));
		return;
	}
	remote_free(k8s_cache_del(s->remotes, NULL, name));
	log_debug("remote pod removed", "pod=%s ip=%s", owner, name);
}

static void remote_set(struct k8s_sync *s, uint32_t ip_be, uint32_t node_ip_be,
		       uint32_t identity, const char *owner)
{
	char name[INET_ADDRSTRLEN], nip[INET_ADDRSTRLEN];
	struct k8s_meta *old = NULL;
	struct remote *r;
	int err;

	ip4_str(ip_be, name);
	r = (struct remote *)k8s_cache_get(s->remotes, NULL, name);
	if (r && r->node_ip_be == node_ip_be && r->identity == identity && !strcmp(r->owner, owner))
		return;
	err = remote_pod_upsert(s->a, ip_be, node_ip_be, identity);
	if (err < 0) {
		s->remote_errors++;
		log_warn("cannot write remote pod to the ipcache", "pod=%s ip=%s node_ip=%s err=%s",
			 owner, name, ip4_str(node_ip_be, nip), log_errno_name(err));
		return;
	}
	if (r) {
		char *o = strdup(owner);

		if (o) {
			free(r->owner);
			r->owner = o;
		}
		r->node_ip_be = node_ip_be;
		r->identity = identity;
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r)
		r->identity = identity;
	if (!r || !(r->meta.name = strdup(name)) || !(r->owner = strdup(owner)) ||
	    k8s_cache_put(s->remotes, &r->meta, 0, &old) < 0) {
		/* The entry is written; only our record of it is missing, so
		 * the next sync rewrites it.  Nothing else to undo. */
		remote_free(&r->meta);
		log_warn("out of memory recording a remote pod", "pod=%s ip=%s", owner, name);
		return;
	}
	log_debug("remote pod", "pod=%s ip=%s node_ip=%s", owner, name, ip4_str(node_ip_be, nip));
}

/* Bring the ipcache in line for one pod: @old its previous version (or
 * NULL), @p the current one (NULL: deleted). */
static void pod_sync(struct k8s_sync *s, const struct k8s_pod *old, const struct k8s_pod *p)
{
	const struct k8s_pod *any = p ? p : old;
	uint32_t ip = 0, node_ip = 0, old_ip = pod_ip4(old), cur_ip = pod_ip4(p);
	char owner[NODE_NAME_MAX * 2 + 2];
	bool want;

	if (!s->a->ready || !any)
		return;
	owner_key(any, owner, sizeof(owner));
	want = pod_desired(s, p, &ip, &node_ip);
	if (old_ip && (!want || old_ip != ip))
		remote_drop(s, old_ip, owner);
	if (cur_ip && cur_ip != old_ip && (!want || cur_ip != ip))
		remote_drop(s, cur_ip, owner);
	if (want)
		remote_set(s, ip, node_ip,
			   netpol_pod_identity(s->a->netpol, any->meta.ns ? any->meta.ns : "",
					       any->meta.name), owner);
}

static void pod_sync_each(void *data, struct k8s_meta *m)
{
	pod_sync(data, NULL, (const struct k8s_pod *)m);
}

struct node_rescan {
	struct k8s_sync *s;
	const char *node;
};

static void pod_rescan_one(void *data, struct k8s_meta *m)
{
	struct node_rescan *nr = data;
	const struct k8s_pod *p = (const struct k8s_pod *)m;

	if (p->node && !strcmp(p->node, nr->node))
		pod_sync(nr->s, p, p);
}

/* A node's IP changed, appeared or went: its pods' entries follow. */
static void pods_of_node_rescan(struct k8s_sync *s, const char *node)
{
	struct node_rescan nr = { .s = s, .node = node };

	if (s->pods)
		k8s_reflector_foreach(s->pods, pod_rescan_one, &nr);
}

/*
 * Entries a previous run wrote for pods deleted while it was down: after
 * the first complete sync, drop remote /32 entries (tunnel endpoint set, not
 * local) that no pod backs.  Node IPs are left alone: they are node.c's.
 */
struct gc_ctx {
	struct k8s_sync *s;
	uint32_t ip_be;
	bool is_node;
};

static void node_ip_match(void *data, struct k8s_meta *m)
{
	struct gc_ctx *g = data;

	if (node_ip4((const struct k8s_node *)m) == g->ip_be)
		g->is_node = true;
}

static void remote_gc(struct k8s_sync *s)
{
	struct pn_ipcache_entry *vals = NULL;
	struct pn_ipcache_key *keys = NULL;
	size_t n = 0, removed = 0;
	int err;

	if (s->gc_done || !s->a->ready || !k8s_reflector_synced(s->nodes) ||
	    !k8s_reflector_synced(s->pods))
		return;
	s->gc_done = true;
	err = dp_ipcache_entries(s->a->dp, &keys, &vals, &n);
	if (err < 0) {
		log_warn("cannot read the ipcache for cleanup", "err=%s", log_errno_name(err));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char name[INET_ADDRSTRLEN];
		struct gc_ctx g = { .s = s, .ip_be = keys[i].ipv4 };

		if (keys[i].prefixlen != 32 || (vals[i].flags & PN_IPC_F_LOCAL) ||
		    !vals[i].tunnel_endpoint)
			continue;
		if (k8s_cache_get(s->remotes, NULL, ip4_str(keys[i].ipv4, name)))
			continue;
		k8s_reflector_foreach(s->nodes, node_ip_match, &g);
		if (g.is_node)
			continue;
		err = remote_pod_delete(s->a, keys[i].ipv4);
		if (err < 0)
			log_warn("cannot remove stale remote pod", "ip=%s err=%s", name,
				 log_errno_name(err));
		else
			removed++;
	}
	free(keys);
	free(vals);
	log_info("k8s remote pods in sync", "remote_pods=%zu stale_removed=%zu",
		 k8s_cache_count(s->remotes), removed);
}

/* --- nodes ------------------------------------------------------------------ */

static bool node_info_of(const struct k8s_node *n, struct node_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->name, sizeof(ret->name), "%s", n->meta.name);
	ret->ip_be = node_ip4(n);
	for (int i = 0; i < n->n_cidrs; i++) {
		if (n->cidrs[i].ip.family == AF_INET) {
			ret->pod_cidr_be = n->cidrs[i].ip.v4.s_addr;
			ret->pod_prefix_len = n->cidrs[i].len;
			break;
		}
	}
	return ret->ip_be != 0;
}

static void other_node_sync(struct k8s_sync *s, const struct k8s_node *old,
			    const struct k8s_node *n)
{
	struct node_info oi, ni;
	bool had = old && node_info_of(old, &oi), has = n && node_info_of(n, &ni);
	const char *name = n ? n->meta.name : old->meta.name;
	int err;

	if (!s->a->ready)
		return;
	if (has && (!had || oi.ip_be != ni.ip_be || oi.pod_cidr_be != ni.pod_cidr_be ||
		    oi.pod_prefix_len != ni.pod_prefix_len)) {
		err = node_upsert(s->a, &ni);
		if (err < 0)
			log_warn("cannot program node", "node=%s err=%s", name,
				 log_errno_name(err));
	} else if (had && !has) {
		err = node_delete(s->a, name);
		if (err < 0)
			log_warn("cannot remove node", "node=%s err=%s", name, log_errno_name(err));
	}
	if ((had ? oi.ip_be : 0) != (has ? ni.ip_be : 0))
		pods_of_node_rescan(s, name);
}

static void wait_log(void *data);

static int take_pod_cidr(struct k8s_sync *s, const char *cidr)
{
	int err;

	snprintf(s->pod_cidr, sizeof(s->pod_cidr), "%s", cidr);
	log_info("pod CIDR from this node's Node object", "node=%s pod_cidr=%s waited_ms=%llu",
		 s->node_name, cidr, (unsigned long long)(k8s_now_ms() - s->wait_since_ms));
	k8s_timer_cancel(s->client, &s->wait_timer);
	err = s->on_pod_cidr(s->a, s->pod_cidr);
	if (err < 0) {
		log_error("cannot start the datapath with the Node's pod CIDR", "pod_cidr=%s err=%s",
			  cidr, log_errno_name(err));
		loop_quit(s->a->loop, err);
	}
	return err;
}

static void replay(struct k8s_sync *s);

static void self_node_sync(struct k8s_sync *s, const struct k8s_node *n)
{
	char ip[INET_ADDRSTRLEN], cidr[INET_ADDRSTRLEN + 4] = "";
	uint32_t ip_be = n ? node_ip4(n) : 0;

	s->self_seen = n != NULL;
	if (!n)
		return;
	if (ip_be && ip_be != s->a->node_ip_be) {
		log_info("this node's InternalIP", "node=%s node_ip=%s", s->node_name,
			 ip4_str(ip_be, ip));
		s->a->node_ip_be = ip_be;
	}
	for (int i = 0; i < n->n_cidrs; i++) {
		if (n->cidrs[i].ip.family == AF_INET) {
			snprintf(cidr, sizeof(cidr), "%s/%u", k8s_ip_str(&n->cidrs[i].ip, ip),
				 n->cidrs[i].len);
			break;
		}
	}
	if (!cidr[0])
		return;
	if (waiting_cidr(s)) {
		if (take_pod_cidr(s, cidr) == 0)
			replay(s);
		snprintf(s->node_cidr_seen, sizeof(s->node_cidr_seen), "%s", cidr);
		return;
	}
	if (!strcmp(cidr, s->node_cidr_seen))
		return;
	snprintf(s->node_cidr_seen, sizeof(s->node_cidr_seen), "%s", cidr);
	if (!s->a->cfg.pod_cidr || !strcmp(cidr, s->a->cfg.pod_cidr))
		return;
	if (s->a->ipam && ipam_used(s->a->ipam))
		log_error("the Node's pod CIDR changed while pods use the old one; keeping it",
			  "node=%s pod_cidr=%s node_pod_cidr=%s ips_allocated=%zu", s->node_name,
			  s->a->cfg.pod_cidr, cidr, ipam_used(s->a->ipam));
	else
		log_warn("the Node's pod CIDR differs from the one in use; keeping it until the "
			 "agent restarts", "node=%s pod_cidr=%s node_pod_cidr=%s", s->node_name,
			 s->a->cfg.pod_cidr, cidr);
}

static void node_add(void *data, const struct k8s_meta *m)
{
	struct k8s_sync *s = data;
	const struct k8s_node *n = (const struct k8s_node *)m;

	if (is_self(s, m->name))
		self_node_sync(s, n);
	else
		other_node_sync(s, NULL, n);
}

static void node_update(void *data, const struct k8s_meta *old, const struct k8s_meta *m)
{
	struct k8s_sync *s = data;

	if (is_self(s, m->name))
		self_node_sync(s, (const struct k8s_node *)m);
	else
		other_node_sync(s, (const struct k8s_node *)old, (const struct k8s_node *)m);
}

static void node_del(void *data, const struct k8s_meta *m)
{
	struct k8s_sync *s = data;

	if (is_self(s, m->name)) {
		log_warn("this node's Node object was deleted", "node=%s", s->node_name);
		s->self_seen = false;
		return;
	}
	other_node_sync(s, (const struct k8s_node *)m, NULL);
}

static void node_synced(void *data, size_t n)
{
	struct k8s_sync *s = data;

	if (!k8s_reflector_get(s->nodes, NULL, s->node_name))
		log_warn("no Node object for this node yet", "node=%s nodes=%zu", s->node_name, n);
	remote_gc(s);
}

/* --- pods and namespaces ----------------------------------------------------- */

/* The identity of @p, before its ipcache entry is written with it. */
static void pod_identity(struct k8s_sync *s, const struct k8s_pod *p)
{
	const struct k8s_namespace *ns;

	ns = (const struct k8s_namespace *)k8s_reflector_get(s->namespaces, NULL,
							      p->meta.ns ? p->meta.ns : "");
	netpol_pod_set(s->a->netpol, p, ns ? &ns->labels : NULL);
}

static void pod_add(void *data, const struct k8s_meta *m)
{
	pod_identity(data, (const struct k8s_pod *)m);
	pod_sync(data, NULL, (const struct k8s_pod *)m);
}

static void pod_update(void *data, const struct k8s_meta *old, const struct k8s_meta *m)
{
	pod_identity(data, (const struct k8s_pod *)m);
	pod_sync(data, (const struct k8s_pod *)old, (const struct k8s_pod *)m);
}

static void pod_del(void *data, const struct k8s_meta *m)
{
	struct k8s_sync *s = data;

	pod_sync(s, (const struct k8s_pod *)m, NULL);
	netpol_pod_del(s->a->netpol, m->ns ? m->ns : "", m->name);
}

/* NetworkPolicy may write once pods, namespaces and policies are all known. */
static void policy_inputs_synced(struct k8s_sync *s)
{
	if (s->pods && s->namespaces && s->netpols && k8s_reflector_synced(s->pods) &&
	    k8s_reflector_synced(s->namespaces) && k8s_reflector_synced(s->netpols))
		netpol_synced(s->a->netpol);
}

static void pod_synced(void *data, size_t n)
{
	struct k8s_sync *s = data;

	policy_inputs_synced(s);

	/* After a relist too: retries entries whose write failed. */
	if (s->a->ready)
		k8s_reflector_foreach(s->pods, pod_sync_each, s);
	remote_gc(s);
	/* A LIST of thousands of pods leaves the heap full of freed page
	 * buffers and JSON trees between the compact objects that stay:
	 * give those pages back (a restarted agent held 40 MB, not 23). */
	malloc_trim(0);
}

/* Namespaces: their labels are part of their pods' identities. */
struct ns_pods {
	struct k8s_sync *s;
	const char *ns;
};

static void ns_pod_resync(void *data, struct k8s_meta *m)
{
	struct ns_pods *np = data;
	const struct k8s_pod *p = (const struct k8s_pod *)m;

	if (p->meta.ns && !strcmp(p->meta.ns, np->ns)) {
		pod_identity(np->s, p);
		pod_sync(np->s, p, p);
	}
}

static bool labels_equal(const struct k8s_labels *a, const struct k8s_labels *b)
{
	const char *pa = a->kv, *pb = b->kv;

	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < 2 * a->n; i++) {
		if (strcmp(pa, pb))
			return false;
		pa += strlen(pa) + 1;
		pb += strlen(pb) + 1;
	}
	return true;
}

static void ns_changed(struct k8s_sync *s, const struct k8s_namespace *old,
		       const struct k8s_namespace *ns)
{
	struct ns_pods np = { .s = s, .ns = ns->meta.name };

	if (old && labels_equal(&old->labels, &ns->labels))
		return;
	if (s->pods)
		k8s_reflector_foreach(s->pods, ns_pod_resync, &np);
}

static void ns_add(void *data, const struct k8s_meta *m)
{
	ns_changed(data, NULL, (const struct k8s_namespace *)m);
}

static void ns_update(void *data, const struct k8s_meta *old, const struct k8s_meta *m)
{
	ns_changed(data, (const struct k8s_namespace *)old, (const struct k8s_namespace *)m);
}

static void ns_synced(void *data, size_t n)
{
	policy_inputs_synced(data);
}

static const struct k8s_handlers ns_handlers = {
	.on_add = ns_add, .on_update = ns_update, .on_synced = ns_synced,
};

/* NetworkPolicies: into the compiler. */
static void netpol_add(void *data, const struct k8s_meta *m)
{
	struct k8s_sync *s = data;

	netpol_policy_set(s->a->netpol, (const struct k8s_netpol *)m);
}

static void netpol_update(void *data, const struct k8s_meta *old, const struct k8s_meta *m)
{
	netpol_add(data, m);
}

static void netpol_del(void *data, const struct k8s_meta *m)
{
	struct k8s_sync *s = data;

	netpol_policy_del(s->a->netpol, m->ns, m->name);
}

static void netpol_list_synced(void *data, size_t n)
{
	policy_inputs_synced(data);
}

static const struct k8s_handlers netpol_handlers = {
	.on_add = netpol_add, .on_update = netpol_update, .on_delete = netpol_del,
	.on_synced = netpol_list_synced,
};

/* Services and EndpointSlices: only cached for now. */
static const struct k8s_handlers cache_only_handlers = { 0 };

static const struct k8s_handlers node_handlers = {
	.on_add = node_add, .on_update = node_update, .on_delete = node_del,
	.on_synced = node_synced,
};

static const struct k8s_handlers pod_handlers = {
	.on_add = pod_add, .on_update = pod_update, .on_delete = pod_del,
	.on_synced = pod_synced,
};

static void other_node_replay(void *data, struct k8s_meta *m)
{
	struct k8s_sync *s = data;

	if (!is_self(s, m->name))
		other_node_sync(s, NULL, (const struct k8s_node *)m);
}

/* The datapath just came up: program what the caches already hold. */
static void replay(struct k8s_sync *s)
{
	if (!s->a->ready || s->replayed)
		return;
	s->replayed = true;
	k8s_reflector_foreach(s->nodes, other_node_replay, s);
	k8s_reflector_foreach(s->pods, pod_sync_each, s);
	remote_gc(s);
}

/* --- start-up ---------------------------------------------------------------- */

static void wait_log(void *data)
{
	struct k8s_sync *s = data;
	const char *why;

	if (!waiting_cidr(s))
		return;
	if (!k8s_reflector_synced(s->nodes))
		why = "the apiserver has not answered yet";
	else if (!s->self_seen)
		why = "no Node object with this name";
	else
		why = "the Node has no spec.podCIDR yet";
	log_warn("still waiting for this node's pod CIDR; CNI requests are refused until then",
		 "node=%s waited_s=%llu reason=\"%s\"", s->node_name,
		 (unsigned long long)((k8s_now_ms() - s->wait_since_ms) / 1000), why);
	k8s_timer_arm(s->client, &s->wait_timer, WAIT_LOG_MS);
}

static int on_client(void *data, int fd, uint32_t events)
{
	struct k8s_sync *s = data;
	int err = k8s_client_dispatch(s->client);

	if (err < 0)
		log_warn("k8s client dispatch failed", "err=%s", log_errno_name(err));
	return 0;
}

static int reflector(struct k8s_sync *s, const struct k8s_kind *kind,
		     const struct k8s_handlers *h, struct k8s_reflector **ret)
{
	struct k8s_reflector_opts o = {
		.client = s->client, .kind = kind, .handlers = h, .data = s,
	};
	int err;

	err = k8s_reflector_new(&o, ret);
	if (err < 0)
		return err;
	return k8s_reflector_start(*ret);
}

static int connect_api(struct k8s_sync *s)
{
	struct k8s_client_opts co = { .user_agent = "porin-agent" };
	int err;

	err = s->kubeconfig ? k8s_config_from_kubeconfig(s->kubeconfig, &s->cfg) :
			      k8s_config_in_cluster(NULL, &s->cfg);
	if (err < 0) {
		snprintf(s->config_error, sizeof(s->config_error), "cannot load %s: %s",
			 s->kubeconfig ? s->kubeconfig : "in-cluster config", strerror(-err));
		return err;
	}
	co.config = s->cfg;
	err = k8s_client_new(&co, &s->client);
	if (err < 0) {
		snprintf(s->config_error, sizeof(s->config_error), "cannot create client: %s",
			 strerror(-err));
		goto err_cfg;
	}
	err = loop_add(s->a->loop, k8s_client_fd(s->client), EPOLLIN, on_client, s);
	if (err < 0)
		goto err_client;
	s->config_error[0] = '\0';
	s->wait_timer.fn = wait_log;
	s->wait_timer.data = s;
	/* Nodes first: a pod's entry needs its node's IP. */
	err = reflector(s, &k8s_kind_node, &node_handlers, &s->nodes);
	if (!err)
		err = reflector(s, &k8s_kind_pod, &pod_handlers, &s->pods);
	if (!err)
		err = reflector(s, &k8s_kind_namespace, &ns_handlers, &s->namespaces);
	if (!err)
		err = reflector(s, &k8s_kind_service, &cache_only_handlers, &s->services);
	if (!err)
		err = reflector(s, &k8s_kind_endpointslice, &cache_only_handlers,
				&s->endpointslices);
	if (!err)
		err = reflector(s, &k8s_kind_netpol, &netpol_handlers, &s->netpols);
	if (err < 0)
		return err;	/* out of memory: fatal, the caller stops */
	log_info("k8s watching", "server=%s node=%s resources=nodes,pods,namespaces,"
		 "services,endpointslices,networkpolicies",
		 s->cfg->server, s->node_name);
	if (waiting_cidr(s))
		k8s_timer_arm(s->client, &s->wait_timer, WAIT_LOG_MS);
	return 0;

err_client:
	k8s_client_free(s->client);
	s->client = NULL;
err_cfg:
	k8s_config_free(s->cfg);
	s->cfg = NULL;
	return err;
}

static void retry_arm(struct k8s_sync *s)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = s->retry_ms / 1000;
	its.it_value.tv_nsec = (long)(s->retry_ms % 1000) * 1000000;
	timerfd_settime(s->retry_fd, 0, &its, NULL);
}

static int try_connect(struct k8s_sync *s)
{
	int err = connect_api(s);

	if (err == -ENOMEM)
		return err;
	if (err < 0) {
		log_error("cannot use the Kubernetes credentials; retrying", "%s%s retry_ms=%u "
			  "err=%s", s->kubeconfig ? "kubeconfig=" : "mode=in-cluster",
			  s->kubeconfig ? s->kubeconfig : "", s->retry_ms, log_errno_name(err));
		retry_arm(s);
		s->retry_ms = s->retry_ms * 2 > CONFIG_RETRY_MAX_MS ? CONFIG_RETRY_MAX_MS :
			      s->retry_ms * 2;
	}
	return 0;
}

static int on_retry(void *data, int fd, uint32_t events)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0)
		return 0;
	return try_connect(data);
}

int k8s_sync_new(struct agent *a, const struct k8s_sync_opts *o, struct k8s_sync **ret)
{
	struct k8s_sync *s;
	int err;

	if (!o->node_name || !o->node_name[0] || strlen(o->node_name) > NODE_NAME_MAX ||
	    !o->on_pod_cidr)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->a = a;
	s->retry_fd = -1;
	s->on_pod_cidr = o->on_pod_cidr;
	s->retry_ms = CONFIG_RETRY_MIN_MS;
	strcpy(s->node_name, o->node_name);
	if (o->kubeconfig && !(s->kubeconfig = strdup(o->kubeconfig))) {
		err = -ENOMEM;
		goto err_free;
	}
	err = k8s_cache_new(&s->remotes);
	if (err < 0)
		goto err_free;
	*ret = s;
	return 0;
err_free:
	free(s->kubeconfig);
	free(s);
	return err;
}

int k8s_sync_start(struct k8s_sync *s)
{
	int err;

	s->wait_since_ms = k8s_now_ms();
	s->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->retry_fd < 0)
		return -errno;
	err = loop_add(s->a->loop, s->retry_fd, EPOLLIN, on_retry, s);
	if (err < 0)
		return err;
	if (waiting_cidr(s))
		log_info("waiting for this node's pod CIDR (spec.podCIDR of its Node)",
			 "node=%s", s->node_name);
	return try_connect(s);
}

void k8s_sync_free(struct k8s_sync *s)
{
	if (!s)
		return;
	k8s_reflector_free(s->netpols);
	k8s_reflector_free(s->endpointslices);
	k8s_reflector_free(s->services);
	k8s_reflector_free(s->namespaces);
	k8s_reflector_free(s->pods);
	k8s_reflector_free(s->nodes);
	if (s->client)
		k8s_timer_cancel(s->client, &s->wait_timer);
	k8s_client_free(s->client);
	k8s_config_free(s->cfg);
	k8s_cache_free(s->remotes, remote_free);
	if (s->retry_fd >= 0)
		close(s->retry_fd);
	free(s->kubeconfig);
	free(s);
}

const char *k8s_sync_waiting_for(const struct k8s_sync *s)
{
	if (!s || !waiting_cidr(s))
		return NULL;
	if (s->config_error[0])
		return "Kubernetes credentials";
	if (!s->nodes || !k8s_reflector_synced(s->nodes))
		return "the apiserver";
	if (!s->self_seen)
		return "this node's Node object";
	return "the pod CIDR of this node's Node object";
}

/* --- local API ------------------------------------------------------------- */

static json_t *reflector_json(const char *name, const struct k8s_reflector *r)
{
	struct k8s_reflector_stats st = { .state = "idle" };

	if (r)
		k8s_reflector_stats(r, &st);
	return json_pack("{s:s, s:b, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:I}",
			 "resource", name,
			 "synced", r && k8s_reflector_synced(r),
			 "state", st.state,
			 "objects", (json_int_t)(r ? k8s_reflector_count(r) : 0),
			 "resource_version", r && k8s_reflector_rv(r) ? k8s_reflector_rv(r) : "",
			 "lists", (json_int_t)st.lists,
			 "relists", (json_int_t)(st.lists ? st.lists - 1 : 0),
			 "reconnects", (json_int_t)st.reconnects,
			 "failures", (json_int_t)st.failures,
			 "events", (json_int_t)st.events);
}

static bool reflector_up(const struct k8s_reflector *r)
{
	struct k8s_reflector_stats st;

	if (!r)
		return false;
	k8s_reflector_stats(r, &st);
	return !strcmp(st.state, "watching");
}

int k8s_sync_status_json(const struct k8s_sync *s, json_t *out)
{
	const struct { const char *name; const struct k8s_reflector *r; } rs[] = {
		{ "nodes", s->nodes }, { "pods", s->pods }, { "namespaces", s->namespaces },
		{ "services", s->services }, { "endpointslices", s->endpointslices },
		{ "networkpolicies", s->netpols },
	};
	char ip[INET_ADDRSTRLEN] = "";
	const char *waiting = k8s_sync_waiting_for(s);
	json_t *list = json_array();
	bool connected = s->client != NULL;

	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		connected = connected && reflector_up(rs[i].r);
		if (json_array_append_new(list, reflector_json(rs[i].name, rs[i].r))) {
			json_decref(list);
			return -ENOMEM;
		}
	}
	if (s->a->node_ip_be)
		ip4_str(s->a->node_ip_be, ip);
	if (json_object_set_new(out, "resources", list) ||
	    json_object_set_new(out, "connected", json_boolean(connected)) ||
	    json_object_set_new(out, "server", json_string(s->cfg ? s->cfg->server : "")) ||
	    json_object_set_new(out, "config", json_string(s->kubeconfig ? s->kubeconfig :
							   "in-cluster")) ||
	    json_object_set_new(out, "config_error", json_string(s->config_error)) ||
	    json_object_set_new(out, "node_name", json_string(s->node_name)) ||
	    json_object_set_new(out, "node_ip", json_string(ip)) ||
	    json_object_set_new(out, "pod_cidr_source",
				json_string(s->pod_cidr[0] || waiting_cidr(s) ? "node" : "flag")) ||
	    json_object_set_new(out, "waiting_for", waiting ? json_string(waiting) : json_null()) ||
	    json_object_set_new(out, "remote_pods",
				json_integer((json_int_t)k8s_cache_count(s->remotes))) ||
	    json_object_set_new(out, "remote_errors", json_integer((json_int_t)s->remote_errors)))
		return -ENOMEM;
	return 0;
}

struct pods_ctx {
	const struct k8s_sync *s;
	json_t *list;
	int err;
};

static void pod_json(void *data, struct k8s_meta *m)
{
	struct pods_ctx *c = data;
	const struct k8s_pod *p = (const struct k8s_pod *)m;
	char ip[INET6_ADDRSTRLEN] = "", name[INET_ADDRSTRLEN];
	char owner[NODE_NAME_MAX * 2 + 2];
	const struct remote *r;
	json_t *o;

	if (c->err)
		return;
	if (p->n_ips)
		k8s_ip_str(&p->ips[0], ip);
	owner_key(p, owner, sizeof(owner));
	r = pod_ip4(p) ? (const struct remote *)k8s_cache_get(c->s->remotes, NULL,
								  ip4_str(pod_ip4(p), name)) : NULL;
	o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:b}",
		      "namespace", p->meta.ns ? p->meta.ns : "", "name", p->meta.name,
		      "node", p->node ? p->node : "", "ip", ip,
		      "local", is_self(c->s, p->node), "host_network", p->host_network,
		      "phase", k8s_pod_phase_str(p->phase),
		      "ipcache", r && !strcmp(r->owner, owner));
	if (o && p->labels.n) {
		json_t *labels = json_object();
		const char *k = p->labels.kv;

		for (uint32_t i = 0; labels && i < p->labels.n; i++) {
			const char *v = k + strlen(k) + 1;

			json_object_set_new(labels, k, json_string(v));
			k = v + strlen(v) + 1;
		}
		json_object_set_new(o, "labels", labels);
	}
	if (!o || json_array_append_new(c->list, o))
		c->err = -ENOMEM;
}

int k8s_sync_pods_json(const struct k8s_sync *s, json_t *out)
{
	struct pods_ctx c = { .s = s, .list = json_array() };

	if (!c.list)
		return -ENOMEM;
	if (s->pods)
		k8s_reflector_foreach(s->pods, pod_json, &c);
	if (c.err || json_object_set_new(out, "pods", c.list))
		return -ENOMEM;
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
#include "trace_snapshot.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/objects.h"
#include "netpol.h"
#include "policy.h"

#define NS_NAME_LABEL	"kubernetes.io/metadata.name"

struct snap_pod {
	struct k8s_pod *pod;
	char *name;			/* "ns/name" */
	uint32_t addr_be;		/* its IPv4 address, 0 if none */
	bool has_subject;		/* false: hostNetwork or finished */
	struct pol_subject subject;	/* points into pod, its namespace, ports */
	struct pol_named_port *ports;
};

struct snap_policy {
	char *ns;
	char *name;
	json_t *spec;
};

struct trace_snapshot {
	struct pol_db *db;
	struct snap_pod *pods;
	size_t n_pods, cap_pods;
	struct k8s_namespace **nss;	/* pointers: subjects point into them */
	size_t n_nss, cap_nss;
	struct snap_policy *pols;
	size_t n_pols, cap_pols;
	size_t n_accepted;
	bool built;
};

static void warnf(trace_warn_fn *warn, void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void warnf(trace_warn_fn *warn, void *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(ctx, msg);
}

/* Room for one more element in a growing array. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

int trace_snapshot_new(struct trace_snapshot **ret)
{
	struct trace_snapshot *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	err = pol_db_new(&s->db);
	if (err < 0) {
		free(s);
		return err;
	}
	*ret = s;
	return 0;
}

static void pod_clear(struct snap_pod *p)
{
	k8s_kind_pod.free(&p->pod->meta);
	free(p->name);
	free(p->ports);
}

void trace_snapshot_free(struct trace_snapshot *s)
{
	if (!s)
		return;
	pol_db_free(s->db);
	for (size_t i = 0; i < s->n_pods; i++)
		pod_clear(&s->pods[i]);
	free(s->pods);
	for (size_t i = 0; i < s->n_nss; i++)
		k8s_kind_namespace.free(&s->nss[i]->meta);
	free(s->nss);
	for (size_t i = 0; i < s->n_pols; i++) {
		free(s->pols[i].ns);
		free(s->pols[i].name);
		json_decref(s->pols[i].spec);
	}
	free(s->pols);
	free(s);
}

/* --- loading ------------------------------------------------------------------ */

static const char *md_str(const json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(json_object_get(obj, "metadata"), key));

	return v && *v ? v : NULL;
}

/*
 * @obj with the metadata the decoders require of objects read from the API
 * server, made up when it is a manifest: namespace "default" (namespaced
 * kinds), a resourceVersion, a uid.  A new reference; NULL without memory.
 */
static json_t *with_server_metadata(const json_t *obj, bool namespaced)
{
	json_t *md = json_object_get(obj, "metadata"), *copy, *mdc;
	bool no_ns = namespaced && !md_str(obj, "namespace");

	if (!json_is_object(md) || (!no_ns && md_str(obj, "resourceVersion") && md_str(obj, "uid")))
		return json_incref((json_t *)obj);
	copy = json_copy((json_t *)obj);	/* shallow: only metadata changes */
	mdc = json_copy(md);
	if (!copy || !mdc) {
		json_decref(copy);
		json_decref(mdc);
		return NULL;
	}
	if (json_object_set_new(copy, "metadata", mdc) < 0) {
		json_decref(copy);
		return NULL;
	}
	if ((no_ns && json_object_set_new(mdc, "namespace", json_string("default")) < 0) ||
	    (!md_str(obj, "resourceVersion") &&
	     json_object_set_new(mdc, "resourceVersion", json_string("0")) < 0) ||
	    (!md_str(obj, "uid") && json_object_set_new(mdc, "uid", json_string("offline")) < 0)) {
		json_decref(copy);
		return NULL;
	}
	return copy;
}

/* Decode @obj with @kind, after with_server_metadata(). */
static int decode(const struct k8s_kind *kind, const json_t *obj, bool namespaced,
		  struct k8s_meta **ret)
{
	json_t *o = with_server_metadata(obj, namespaced);
	int err;

	if (!o)
		return -ENOMEM;
	err = kind->decode(o, ret);
	json_decref(o);
	return err;
}

static void warn_skip(trace_warn_fn *warn, void *ctx, const char *kind, const json_t *obj,
		      int err)
{
	const char *ns = md_str(obj, "namespace"), *name = md_str(obj, "name");

	warnf(warn, ctx, "skipping %s %s%s%s: cannot decode it (%s)", kind, ns ? ns : "",
	      ns ? "/" : "", name ? name : "(no name)", strerror(-err));
}

/* Add "k\0v\0" to packed labels. */
static int labels_append(struct k8s_labels *l, const char *k, const char *v)
{
	size_t len = 0, add = strlen(k) + strlen(v) + 2;
	char *kv;

	for (uint32_t i = 0; i < 2 * l->n; i++)
		len += strlen(l->kv + len) + 1;
	kv = realloc(l->kv, len + add);
	if (!kv)
		return -ENOMEM;
	strcpy(stpcpy(kv + len, k) + 1, v);
	l->kv = kv;
	l->n++;
	return 0;
}

static int put_namespace(struct trace_snapshot *s, struct k8s_namespace *ns)
{
	int err;

	if (!k8s_labels_get(&ns->labels, NS_NAME_LABEL)) {
		err = labels_append(&ns->labels, NS_NAME_LABEL, ns->meta.name);
		if (err < 0)
			return err;
	}
	for (size_t i = 0; i < s->n_nss; i++) {
		if (!strcmp(s->nss[i]->meta.name, ns->meta.name)) {
			k8s_kind_namespace.free(&s->nss[i]->meta);
			s->nss[i] = ns;
			return 0;
		}
	}
	err = grow((void **)&s->nss, &s->cap_nss, s->n_nss, sizeof(*s->nss));
	if (err < 0)
		return err;
	s->nss[s->n_nss++] = ns;
	return 0;
}

static int add_namespace(struct trace_snapshot *s, const json_t *obj, trace_warn_fn *warn,
			 void *ctx)
{
	struct k8s_meta *m;
	int err;

	err = decode(&k8s_kind_namespace, obj, false, &m);
	if (err == -EBADMSG) {
		warn_skip(warn, ctx, "Namespace", obj, err);
		return 0;
	}
	if (err < 0)
		return err;
	err = put_namespace(s, (struct k8s_namespace *)m);
	if (err < 0)
		k8s_kind_namespace.free(m);
	return err;
}

static int add_pod(struct trace_snapshot *s, const json_t *obj, trace_warn_fn *warn, void *ctx)
{
	struct snap_pod p = { 0 };
	struct k8s_meta *m;
	int err;

	err = decode(&k8s_kind_pod, obj, true, &m);
	if (err == -EBADMSG) {
		warn_skip(warn, ctx, "Pod", obj, err);
		return 0;
	}
	if (err < 0)
		return err;
	p.pod = (struct k8s_pod *)m;
	if (asprintf(&p.name, "%s/%s", m->ns, m->name) < 0) {
		p.name = NULL;
		err = -ENOMEM;
		goto err;
	}
	for (uint8_t i = 0; i < p.pod->n_ips; i++) {
		if (p.pod->ips[i].family == AF_INET) {
			p.addr_be = p.pod->ips[i].v4.s_addr;
			break;
		}
	}
	for (size_t i = 0; i < s->n_pods; i++) {
		if (!strcmp(s->pods[i].name, p.name)) {
			pod_clear(&s->pods[i]);
			s->pods[i] = p;
			return 0;
		}
	}
	err = grow((void **)&s->pods, &s->cap_pods, s->n_pods, sizeof(*s->pods));
	if (err < 0)
		goto err;
	s->pods[s->n_pods++] = p;
	return 0;
err:
	pod_clear(&p);
	return err;
}

static int add_policy(struct trace_snapshot *s, const json_t *obj, trace_warn_fn *warn,
		      void *ctx)
{
	struct snap_policy p = { 0 };
	struct k8s_netpol *np;
	struct k8s_meta *m;
	int err;

	err = decode(&k8s_kind_netpol, obj, true, &m);
	if (err == -EBADMSG) {
		warn_skip(warn, ctx, "NetworkPolicy", obj, err);
		return 0;
	}
	if (err < 0)
		return err;
	/* Through the decoder's compact spec, as the agent gets it. */
	np = (struct k8s_netpol *)m;
	p.ns = strdup(m->ns);
	p.name = strdup(m->name);
	p.spec = json_loads(np->spec, 0, NULL);
	k8s_kind_netpol.free(m);
	err = -ENOMEM;
	if (!p.ns || !p.name || !p.spec)
		goto err;
	for (size_t i = 0; i < s->n_pols; i++) {
		if (!strcmp(s->pols[i].ns, p.ns) && !strcmp(s->pols[i].name, p.name)) {
			free(s->pols[i].ns);
			free(s->pols[i].name);
			json_decref(s->pols[i].spec);
			s->pols[i] = p;
			return 0;
		}
	}
	err = grow((void **)&s->pols, &s->cap_pols, s->n_pols, sizeof(*s->pols));
	if (err < 0)
		goto err;
	s->pols[s->n_pols++] = p;
	return 0;
err:
	free(p.ns);
	free(p.name);
	json_decref(p.spec);
	return err;
}

static int add_object(struct trace_snapshot *s, const json_t *obj, const char *kind,
		      trace_warn_fn *warn, void *ctx)
{
	if (!kind)
		return 0;
	if (!strcmp(kind, "Pod"))
		return add_pod(s, obj, warn, ctx);
	if (!strcmp(kind, "Namespace"))
		return add_namespace(s, obj, warn, ctx);
	if (!strcmp(kind, "NetworkPolicy"))
		return add_policy(s, obj, warn, ctx);
	return 0;	/* Services, Deployments…: not our business */
}

int trace_snapshot_add(struct trace_snapshot *s, const json_t *doc, trace_warn_fn *warn,
		       void *ctx)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const json_t *items = json_object_get(doc, "items"), *item;
	char item_kind[64] = "";
	size_t i, len;
	int err;

	if (s->built)
		return -EBUSY;
	if (!json_is_object(doc))
		return -EBADMSG;
	if (!json_is_array(items)) {
		if (!kind)
			return -EBADMSG;
		return add_object(s, doc, kind, warn, ctx);
	}
	/* "List" (kubectl) holds kinds of its own; "PodList" (the API) implies it. */
	len = kind ? strlen(kind) : 0;
	if (len > 4 && len - 4 < sizeof(item_kind) && !strcmp(kind + len - 4, "List"))
		snprintf(item_kind, sizeof(item_kind), "%.*s", (int)(len - 4), kind);
	json_array_foreach(items, i, item) {
		const char *k = json_string_value(json_object_get(item, "kind"));

		if (!json_is_object(item)) {
			warnf(warn, ctx, "skipping items[%zu]: not an object", i);
			continue;
		}
		err = add_object(s, item, k ? k : item_kind[0] ? item_kind : NULL, warn, ctx);
		if (err < 0)
			return err;
	}
	return 0;
}

/* --- build ---------------------------------------------------------------------- */

static int pod_cmp(const void *a, const void *b)
{
	const struct k8s_meta *x = &((const struct snap_pod *)a)->pod->meta;
	const struct k8s_meta *y = &((const struct snap_pod *)b)->pod->meta;
	int c = strcmp(x->ns, y->ns);

	return c ? c : strcmp(x->name, y->name);
}

static struct k8s_namespace *ns_find(const struct trace_snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->n_nss; i++)
		if (!strcmp(s->nss[i]->meta.name, name))
			return s->nss[i];
	return NULL;
}

/* A namespace the snapshot lacks: with the one label the API server sets. */
static int ns_made_up(struct trace_snapshot *s, const char *name, struct k8s_namespace **ret)
{
	struct k8s_namespace *ns = calloc(1, sizeof(*ns));
	int err;

	if (!ns)
		return -ENOMEM;
	ns->meta.name = strdup(name);
	if (!ns->meta.name) {
		k8s_kind_namespace.free(&ns->meta);
		return -ENOMEM;
	}
	err = put_namespace(s, ns);
	if (err < 0) {
		k8s_kind_namespace.free(&ns->meta);
		return err;
	}
	*ret = ns;
	return 0;
}

static int build_pod(struct trace_snapshot *s, struct snap_pod *p, trace_warn_fn *warn,
		     void *ctx)
{
	struct k8s_namespace *ns = ns_find(s, p->pod->meta.ns);
	uint32_t id;
	bool is_new;
	int err;

	if (!ns) {
		warnf(warn, ctx, "namespace %s is not in the snapshot: its pods get only the "
		      "label " NS_NAME_LABEL "=%s", p->pod->meta.ns, p->pod->meta.ns);
		err = ns_made_up(s, p->pod->meta.ns, &ns);
		if (err < 0)
			return err;
	}
	p->ports = calloc(p->pod->n_ports ? p->pod->n_ports : 1, sizeof(*p->ports));
	if (!p->ports)
		return -ENOMEM;
	p->has_subject = netpol_subject_of(p->pod, &ns->labels, p->ports, &p->subject);
	if (!p->has_subject)
		return 0;
	/* Peers' identities must exist for pol_compile to name them. */
	return pol_identity_get(s->db, &p->subject, &id, &is_new);
}

int trace_snapshot_build(struct trace_snapshot *s, trace_warn_fn *warn, void *ctx)
{
	char msg[256];
	int err;

	if (s->built)
		return -EBUSY;
	if (s->n_pods)
		qsort(s->pods, s->n_pods, sizeof(*s->pods), pod_cmp);
	for (size_t i = 0; i < s->n_pols; i++) {
		struct snap_policy *p = &s->pols[i];

		msg[0] = '\0';
		err = pol_policy_set(s->db, p->ns, p->name, p->spec, msg, sizeof(msg));
		if (err == -EINVAL) {
			warnf(warn, ctx, "NetworkPolicy %s/%s is not enforced: %s", p->ns, p->name,
			      msg[0] ? msg : "invalid spec");
			continue;
		}
		if (err < 0)
			return err;
		s->n_accepted++;
	}
	for (size_t i = 0; i < s->n_pods; i++) {
		err = build_pod(s, &s->pods[i], warn, ctx);
		if (err < 0)
			return err;
	}
	s->built = true;
	return 0;
}

size_t trace_snapshot_pod_count(const struct trace_snapshot *s)
{
	return s->n_pods;
}

size_t trace_snapshot_policy_count(const struct trace_snapshot *s)
{
	return s->n_accepted;
}

/* --- trace ---------------------------------------------------------------------- */

/* The pod holding @addr_be; one with a subject first (a finished pod's IP
 * may have been reused), else a hostNetwork or a finished one. */
static const struct snap_pod *pod_by_addr(const struct trace_snapshot *s, uint32_t addr_be)
{
	const struct snap_pod *found = NULL;

	for (size_t i = 0; i < s->n_pods; i++) {
		if (s->pods[i].addr_be != addr_be)
			continue;
		if (s->pods[i].has_subject)
			return &s->pods[i];
		found = found ? found : &s->pods[i];
	}
	return found;
}

static const struct snap_pod *pod_by_name(const struct trace_snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->n_pods; i++)
		if (!strcmp(s->pods[i].name, name))
			return &s->pods[i];
	return NULL;
}

static int resolve(const struct trace_snapshot *s, const char *spec, struct pol_trace_end *end,
		   const struct snap_pod **ret_pod, const char **ret_name, char *err, size_t errlen)
{
	const struct snap_pod *p;
	const char *slash;
	struct in_addr in;

	if (inet_pton(AF_INET, spec, &in) == 1) {
		p = pod_by_addr(s, in.s_addr);
		if (p && !p->has_subject && !p->pod->host_network)
			p = NULL;	/* only finished pods had it: just an address */
		*end = (struct pol_trace_end){
			.subject = p && p->has_subject ? &p->subject : NULL,
			.addr_be = in.s_addr,
		};
		*ret_pod = p;
		*ret_name = p ? p->name : spec;
		return 0;
	}
	slash = strchr(spec, '/');
	if (!slash || slash == spec || !slash[1] || strchr(slash + 1, '/')) {
		snprintf(err, errlen, "'%s': want NS/POD or an IPv4 address", spec);
		return -EINVAL;
	}
	p = pod_by_name(s, spec);
	if (!p) {
		snprintf(err, errlen, "no pod %s in the snapshot", spec);
		return -ENOENT;
	}
	if (!p->has_subject && !p->pod->host_network) {
		snprintf(err, errlen, "pod %s has finished (%s): policy ignores it", spec,
			 k8s_pod_phase_str(p->pod->phase));
		return -ENOENT;
	}
	/* A hostNetwork pod is its node: an address, not a policy subject. */
	*end = (struct pol_trace_end){
		.subject = p->has_subject ? &p->subject : NULL,
		.addr_be = p->addr_be,
	};
	*ret_pod = p;
	*ret_name = p->name;
	return 0;
}

/* @h is a hostNetwork pod on @peer's node: to @peer it is the node itself. */
static bool host_of(const struct snap_pod *h, const struct snap_pod *peer)
{
	return h && peer && h->pod->host_network && h->pod->node && peer->pod->node &&
	       !strcmp(h->pod->node, peer->pod->node);
}

int trace_snapshot_trace(struct trace_snapshot *s, const char *from, const char *to,
			 uint8_t proto, uint16_t port, json_t *out, const char **ret_from,
			 const char **ret_to, char *err, size_t errlen)
{
	const struct snap_pod *pa, *pb;
	struct pol_trace_end a, b;
	const char *na, *nb;
	int ret;

	if (!s->built) {
		snprintf(err, errlen, "the snapshot is not built");
		return -EINVAL;
	}
	ret = resolve(s, from, &a, &pa, &na, err, errlen);
	if (ret < 0)
		return ret;
	ret = resolve(s, to, &b, &pb, &nb, err, errlen);
	if (ret < 0)
		return ret;
	a.host = host_of(pa, pb);
	b.host = host_of(pb, pa);
	ret = pol_trace(s->db, &a, &b, proto, port, out);
	if (ret < 0) {
		snprintf(err, errlen, "policy trace failed: %s", strerror(-ret));
		return ret;
	}
	if (ret_from)
		*ret_from = na;
	if (ret_to)
		*ret_to = nb;
	return 0;
}

static bool traceable(const struct snap_pod *p)
{
	return p->has_subject && p->addr_be;
}

int trace_snapshot_trace_all(struct trace_snapshot *s, uint8_t proto, uint16_t port,
			     json_t *out)
{
	int err;

	if (!s->built)
		return -EINVAL;
	for (size_t i = 0; i < s->n_pods; i++) {
		const struct snap_pod *a = &s->pods[i];
		struct pol_trace_end from = { .subject = &a->subject, .addr_be = a->addr_be };

		if (!traceable(a))
			continue;
		for (size_t j = 0; j < s->n_pods; j++) {
			const struct snap_pod *b = &s->pods[j];
			struct pol_trace_end to = { .subject = &b->subject, .addr_be = b->addr_be };
			json_t *t;

			if (i == j || !traceable(b))
				continue;
			t = json_object();
			if (!t)
				return -ENOMEM;
			err = pol_trace(s->db, &from, &to, proto, port, t);
			if (err < 0) {
				json_decref(t);
				return err;
			}
			if (json_object_set_new(t, "from", json_string(a->name)) < 0 ||
			    json_object_set_new(t, "to", json_string(b->name)) < 0) {
				json_decref(t);
				return -ENOMEM;
			}
			if (json_array_append_new(out, t) < 0)	/* frees t */
				return -ENOMEM;
		}
	}
	return 0;
}

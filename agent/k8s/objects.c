// SPDX-License-Identifier: Apache-2.0
#include "objects.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *jstr(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : NULL;
}

static int dup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int k8s_meta_decode(const json_t *obj, struct k8s_meta *m)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *name = jstr(md, "name"), *rv = jstr(md, "resourceVersion");

	memset(m, 0, sizeof(*m));
	if (!name || !rv)
		return -EBADMSG;
	if (dup_opt(jstr(md, "namespace"), &m->ns) < 0 || dup_opt(name, &m->name) < 0 ||
	    dup_opt(rv, &m->rv) < 0) {
		k8s_meta_clear(m);
		return -ENOMEM;
	}
	return 0;
}

void k8s_meta_clear(struct k8s_meta *m)
{
	free(m->ns);
	free(m->name);
	free(m->rv);
	memset(m, 0, sizeof(*m));
}

/* A {"k":"v"} object (labels, a selector) packed into @l. */
static int labels_pack(const json_t *labels, struct k8s_labels *l)
{
	const char *k;
	json_t *v;
	size_t len = 0;
	char *p;

	l->n = 0;
	l->kv = NULL;
	json_object_foreach((json_t *)labels, k, v) {
		if (!json_is_string(v))
			return -EBADMSG;
		len += strlen(k) + json_string_length(v) + 2;
		l->n++;
	}
	if (!l->n)
		return 0;
	l->kv = p = malloc(len);
	if (!p)
		return -ENOMEM;
	json_object_foreach((json_t *)labels, k, v) {
		p = stpcpy(p, k) + 1;
		p = stpcpy(p, json_string_value(v)) + 1;
	}
	return 0;
}

static int labels_decode(const json_t *obj, struct k8s_labels *l)
{
	return labels_pack(json_object_get(json_object_get(obj, "metadata"), "labels"), l);
}

/* "TCP" when absent; -1 when unknown. */
static int proto_parse(const char *proto)
{
	return !proto || !strcmp(proto, "TCP") ? K8S_PROTO_TCP :
	       !strcmp(proto, "UDP")		? K8S_PROTO_UDP :
	       !strcmp(proto, "SCTP")		? K8S_PROTO_SCTP :
						  -1;
}

const char *k8s_labels_get(const struct k8s_labels *l, const char *key)
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

int k8s_ip_parse(const char *s, struct k8s_ip *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, s, &ret->v4) == 1)
		ret->family = AF_INET;
	else if (inet_pton(AF_INET6, s, &ret->v6) == 1)
		ret->family = AF_INET6;
	else
		return -EBADMSG;
	return 0;
}

int k8s_cidr_parse(const char *s, struct k8s_cidr *ret)
{
	char buf[INET6_ADDRSTRLEN + 4], *slash, *end;
	unsigned long len;

	if (strlen(s) >= sizeof(buf))
		return -EBADMSG;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EBADMSG;
	*slash = '\0';
	if (k8s_ip_parse(buf, &ret->ip) < 0)
		return -EBADMSG;
	len = strtoul(slash + 1, &end, 10);
	if (*end || end == slash + 1 || len > (ret->ip.family == AF_INET ? 32u : 128u))
		return -EBADMSG;
	ret->len = len;
	return 0;
}

const char *k8s_ip_str(const struct k8s_ip *ip, char *buf)
{
	if (!inet_ntop(ip->family, &ip->v6, buf, INET6_ADDRSTRLEN))
		strcpy(buf, "?");
	return buf;
}

const char *k8s_pod_phase_str(enum k8s_pod_phase p)
{
	static const char *const names[] = { "Unknown", "Pending", "Running", "Succeeded",
					     "Failed" };

	return p < sizeof(names) / sizeof(names[0]) ? names[p] : "Unknown";
}

const char *k8s_proto_str(enum k8s_proto p)
{
	return p == K8S_PROTO_UDP ? "UDP" : p == K8S_PROTO_SCTP ? "SCTP" : "TCP";
}

/* --- pods ---------------------------------------------------------------- */

static void pod_free(struct k8s_meta *m)
{
	struct k8s_pod *p = (struct k8s_pod *)m;

	if (!p)
		return;
	k8s_meta_clear(&p->meta);
	free(p->uid);
	free(p->node);
	free(p->labels.kv);
	for (uint16_t i = 0; i < p->n_ports; i++)
		free(p->ports[i].name);
	free(p->ports);
	free(p);
}

static int pod_phase(const char *s)
{
	static const char *const names[] = { "Unknown", "Pending", "Running", "Succeeded",
					     "Failed" };

	for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return i;
	return K8S_POD_UNKNOWN;
}

/* status.podIPs (dual stack) or, from older servers, status.podIP. */
static int pod_ips(struct k8s_pod *p, const json_t *status)
{
	const json_t *ips = json_object_get(status, "podIPs"), *e;
	const char *one = jstr(status, "podIP");
	size_t i;

	json_array_foreach(ips, i, e) {
		if (p->n_ips == K8S_MAX_IPS)
			break;
		if (k8s_ip_parse(jstr(e, "ip") ?: "", &p->ips[p->n_ips]) < 0)
			return -EBADMSG;
		p->n_ips++;
	}
	if (!p->n_ips && one) {
		if (k8s_ip_parse(one, &p->ips[0]) < 0)
			return -EBADMSG;
		p->n_ips = 1;
	}
	return 0;
}

static int pod_ports(struct k8s_pod *p, const json_t *spec)
{
	const json_t *ctrs = json_object_get(spec, "containers"), *c, *port;
	size_t i, j, n = 0;

	json_array_foreach(ctrs, i, c)
		n += json_array_size(json_object_get(c, "ports"));
	if (!n)
		return 0;
	if (n > UINT16_MAX)
		return -EBADMSG;
	p->ports = calloc(n, sizeof(*p->ports));
	if (!p->ports)
		return -ENOMEM;
	json_array_foreach(ctrs, i, c) {
		json_array_foreach(json_object_get(c, "ports"), j, port) {
			struct k8s_port *kp = &p->ports[p->n_ports];
			json_int_t num = json_integer_value(json_object_get(port, "containerPort"));
			const char *proto = jstr(port, "protocol");

			if (num < 1 || num > 65535)
				return -EBADMSG;
			kp->port = num;
			kp->proto = !proto || !strcmp(proto, "TCP") ? K8S_PROTO_TCP :
				    !strcmp(proto, "UDP")		? K8S_PROTO_UDP :
				    !strcmp(proto, "SCTP")		? K8S_PROTO_SCTP :
									  0xff;
			if (kp->proto == 0xff)
				return -EBADMSG;
			p->n_ports++;	/* counted before the name: pod_free frees it */
			if (dup_opt(jstr(port, "name"), &kp->name) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int pod_decode(const json_t *obj, struct k8s_meta **ret)
{
	const json_t *md = json_object_get(obj, "metadata");
	const json_t *spec = json_object_get(obj, "spec");
	const json_t *status = json_object_get(obj, "status");
	struct k8s_pod *p;
	int err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	err = k8s_meta_decode(obj, &p->meta);
	if (err < 0)
		goto err;
	if (!p->meta.ns || !jstr(md, "uid")) {
		err = -EBADMSG;
		goto err;
	}
	if (dup_opt(jstr(md, "uid"), &p->uid) < 0 || dup_opt(jstr(spec, "nodeName"), &p->node) < 0) {
		err = -ENOMEM;
		goto err;
	}
	err = labels_decode(obj, &p->labels);
	if (err < 0)
		goto err;
	p->host_network = json_is_true(json_object_get(spec, "hostNetwork"));
	p->phase = pod_phase(jstr(status, "phase"));
	err = pod_ips(p, status);
	if (err < 0)
		goto err;
	err = pod_ports(p, spec);
	if (err < 0)
		goto err;
	*ret = &p->meta;
	return 0;
err:
	pod_free(&p->meta);
	return err;
}

const struct k8s_kind k8s_kind_pod = {
	.name = "pods",
	.path = "/api/v1/pods",
	.decode = pod_decode,
	.free = pod_free,
};

/* --- nodes --------------------------------------------------------------- */

static void node_free(struct k8s_meta *m)
{
	struct k8s_node *n = (struct k8s_node *)m;

	if (!n)
		return;
	k8s_meta_clear(&n->meta);
	free(n);
}

static int node_decode(const json_t *obj, struct k8s_meta **ret)
{
	const json_t *spec = json_object_get(obj, "spec"), *cidrs, *a;
	const json_t *addrs = json_object_get(json_object_get(obj, "status"), "addresses");
	const char *one;
	struct k8s_node *n;
	size_t i;
	int err;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	err = k8s_meta_decode(obj, &n->meta);
	if (err < 0)
		goto err;
	err = -EBADMSG;
	cidrs = json_object_get(spec, "podCIDRs");
	json_array_foreach(cidrs, i, a) {
		if (n->n_cidrs == K8S_MAX_IPS)
			break;
		if (k8s_cidr_parse(json_string_value(a) ?: "", &n->cidrs[n->n_cidrs]) < 0)
			goto err;
		n->n_cidrs++;
	}
	one = jstr(spec, "podCIDR");
	if (!n->n_cidrs && one) {
		if (k8s_cidr_parse(one, &n->cidrs[0]) < 0)
			goto err;
		n->n_cidrs = 1;
	}
	json_array_foreach(addrs, i, a) {
		const char *type = jstr(a, "type");

		if (!type || strcmp(type, "InternalIP"))
			continue;
		if (k8s_ip_parse(jstr(a, "address") ?: "", &n->internal_ip) < 0)
			goto err;
		n->has_internal_ip = true;
		break;	/* the first one: kubelet lists the primary first */
	}
	*ret = &n->meta;
	return 0;
err:
	node_free(&n->meta);
	return err;
}

const struct k8s_kind k8s_kind_node = {
	.name = "nodes",
	.path = "/api/v1/nodes",
	.decode = node_decode,
	.free = node_free,
};

/* --- namespaces ---------------------------------------------------------- */

static void ns_free(struct k8s_meta *m)
{
	struct k8s_namespace *ns = (struct k8s_namespace *)m;

	if (!ns)
		return;
	k8s_meta_clear(&ns->meta);
	free(ns->labels.kv);
	free(ns);
}

static int ns_decode(const json_t *obj, struct k8s_meta **ret)
{
	struct k8s_namespace *ns;
	int err;

	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	err = k8s_meta_decode(obj, &ns->meta);
	if (err < 0)
		goto err;
	err = labels_decode(obj, &ns->labels);
	if (err < 0)
		goto err;
	*ret = &ns->meta;
	return 0;
err:
	ns_free(&ns->meta);
	return err;
}

const struct k8s_kind k8s_kind_namespace = {
	.name = "namespaces",
	.path = "/api/v1/namespaces",
	.decode = ns_decode,
	.free = ns_free,
};

/* --- services ------------------------------------------------------------ */

static void svc_free(struct k8s_meta *m)
{
	struct k8s_service *sv = (struct k8s_service *)m;

	if (!sv)
		return;
	k8s_meta_clear(&sv->meta);
	free(sv->selector.kv);
	for (uint16_t i = 0; i < sv->n_ports; i++) {
		free(sv->ports[i].name);
		free(sv->ports[i].target_name);
	}
	free(sv->ports);
	free(sv);
}

static int svc_type(const char *s)
{
	return !s || !strcmp(s, "ClusterIP") ? K8S_SVC_CLUSTER_IP :
	       !strcmp(s, "NodePort")	     ? K8S_SVC_NODE_PORT :
	       !strcmp(s, "LoadBalancer")   ? K8S_SVC_LOAD_BALANCER :
	       !strcmp(s, "ExternalName")   ? K8S_SVC_EXTERNAL_NAME :
					      -1;
}

/* One of spec.clusterIPs (or the older spec.clusterIP): the IPv4 one kept. */
static int svc_ip(struct k8s_service *sv, const char *s)
{
	struct k8s_ip ip;

	if (!s || !strcmp(s, "None"))
		return 0;
	if (k8s_ip_parse(s, &ip) < 0)
		return -EBADMSG;
	if (ip.family == AF_INET && !sv->cluster_ip.s_addr)
		sv->cluster_ip = ip.v4;
	return 0;
}

static int svc_ports(struct k8s_service *sv, const json_t *spec)
{
	const json_t *ports = json_object_get(spec, "ports"), *port;
	size_t i, n = json_array_size(ports);

	if (!n)
		return 0;
	if (n > UINT16_MAX)
		return -EBADMSG;
	sv->ports = calloc(n, sizeof(*sv->ports));
	if (!sv->ports)
		return -ENOMEM;
	json_array_foreach(ports, i, port) {
		struct k8s_svc_port *sp = &sv->ports[sv->n_ports];
		json_int_t num = json_integer_value(json_object_get(port, "port"));
		json_int_t np = json_integer_value(json_object_get(port, "nodePort"));
		const json_t *tp = json_object_get(port, "targetPort");
		int proto = proto_parse(jstr(port, "protocol"));

		if (num < 1 || num > 65535 || np < 0 || np > 65535 || proto < 0)
			return -EBADMSG;
		sp->port = num;
		sp->node_port = np;
		sp->proto = proto;
		sp->target_port = num;	/* the default */
		if (json_is_integer(tp)) {
			if (json_integer_value(tp) < 1 || json_integer_value(tp) > 65535)
				return -EBADMSG;
			sp->target_port = json_integer_value(tp);
		} else if (tp && !json_is_string(tp)) {
			return -EBADMSG;
		}
		sv->n_ports++;	/* counted before the names: svc_free frees them */
		if (dup_opt(jstr(port, "name"), &sp->name) < 0)
			return -ENOMEM;
		if (json_is_string(tp) && json_string_length(tp)) {
			sp->target_port = 0;
			if (dup_opt(json_string_value(tp), &sp->target_name) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int svc_decode(const json_t *obj, struct k8s_meta **ret)
{
	const json_t *spec = json_object_get(obj, "spec"), *ips, *a;
	const json_t *sel = json_object_get(spec, "selector");
	struct k8s_service *sv;
	size_t i;
	int err, type;

	sv = calloc(1, sizeof(*sv));
	if (!sv)
		return -ENOMEM;
	err = k8s_meta_decode(obj, &sv->meta);
	if (err < 0)
		goto err;
	err = -EBADMSG;
	type = svc_type(jstr(spec, "type"));
	if (!sv->meta.ns || type < 0 || (sel && !json_is_object(sel)))
		goto err;
	sv->type = type;
	ips = json_object_get(spec, "clusterIPs");
	json_array_foreach(ips, i, a) {
		if (!json_is_string(a) || svc_ip(sv, json_string_value(a)) < 0)
			goto err;
	}
	if (!json_array_size(ips) && svc_ip(sv, jstr(spec, "clusterIP")) < 0)
		goto err;
	err = labels_pack(sel, &sv->selector);
	if (err < 0)
		goto err;
	err = svc_ports(sv, spec);
	if (err < 0)
		goto err;
	*ret = &sv->meta;
	return 0;
err:
	svc_free(&sv->meta);
	return err;
}

const struct k8s_kind k8s_kind_service = {
	.name = "services",
	.path = "/api/v1/services",
	.decode = svc_decode,
	.free = svc_free,
};

/* --- endpointslices ------------------------------------------------------- */

static void eps_free(struct k8s_meta *m)
{
	struct k8s_endpointslice *e = (struct k8s_endpointslice *)m;

	if (!e)
		return;
	k8s_meta_clear(&e->meta);
	free(e->service);
	for (uint16_t i = 0; i < e->n_ports; i++)
		free(e->ports[i].name);
	free(e->ports);
	for (uint32_t i = 0; i < e->n_endpoints; i++)
		free(e->endpoints[i].node);
	free(e->endpoints);
	free(e);
}

static int addr_type(const char *s)
{
	return !s			? -1 :
	       !strcmp(s, "IPv4") ? K8S_ADDR_IPV4 :
	       !strcmp(s, "IPv6") ? K8S_ADDR_IPV6 :
	       !strcmp(s, "FQDN") ? K8S_ADDR_FQDN :
				    K8S_ADDR_OTHER;
}

static int eps_ports(struct k8s_endpointslice *e, const json_t *ports)
{
	const json_t *port;
	size_t i, n = json_array_size(ports);

	if (!n)
		return 0;
	if (n > UINT16_MAX)
		return -EBADMSG;
	e->ports = calloc(n, sizeof(*e->ports));
	if (!e->ports)
		return -ENOMEM;
	json_array_foreach(ports, i, port) {
		struct k8s_port *kp = &e->ports[e->n_ports];
		const json_t *num = json_object_get(port, "port");
		int proto = proto_parse(jstr(port, "protocol"));

		if (proto < 0 || (num && !json_is_null(num) &&
				  (!json_is_integer(num) || json_integer_value(num) < 1 ||
				   json_integer_value(num) > 65535)))
			return -EBADMSG;
		kp->port = json_integer_value(num);
		kp->proto = proto;
		e->n_ports++;
		if (dup_opt(jstr(port, "name"), &kp->name) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* A nil condition is @dflt. */
static bool cond(const json_t *conds, const char *key, bool dflt)
{
	const json_t *v = json_object_get(conds, key);

	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static int eps_endpoints(struct k8s_endpointslice *e, const json_t *eps)
{
	const json_t *ep, *a;
	size_t i, j, n = 0;

	json_array_foreach(eps, i, ep)
		n += json_array_size(json_object_get(ep, "addresses"));
	if (!n)
		return 0;
	if (n > UINT32_MAX)
		return -EBADMSG;
	e->endpoints = calloc(n, sizeof(*e->endpoints));
	if (!e->endpoints)
		return -ENOMEM;
	json_array_foreach(eps, i, ep) {
		const json_t *conds = json_object_get(ep, "conditions");
		bool ready = cond(conds, "ready", true);
		uint8_t flags = (ready ? K8S_EP_READY : 0) |
				(cond(conds, "serving", ready) ? K8S_EP_SERVING : 0) |
				(cond(conds, "terminating", false) ? K8S_EP_TERMINATING : 0);

		json_array_foreach(json_object_get(ep, "addresses"), j, a) {
			struct k8s_endpoint *ke = &e->endpoints[e->n_endpoints];

			if (inet_pton(AF_INET, json_string_value(a) ?: "", &ke->addr) != 1)
				return -EBADMSG;
			ke->flags = flags;
			e->n_endpoints++;
			if (dup_opt(jstr(ep, "nodeName"), &ke->node) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int eps_decode(const json_t *obj, struct k8s_meta **ret)
{
	const json_t *md = json_object_get(obj, "metadata");
	struct k8s_endpointslice *e;
	int err, type;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	err = k8s_meta_decode(obj, &e->meta);
	if (err < 0)
		goto err;
	err = -EBADMSG;
	type = addr_type(jstr(obj, "addressType"));
	if (!e->meta.ns || type < 0)
		goto err;
	e->addr_type = type;
	if (dup_opt(jstr(json_object_get(md, "labels"), "kubernetes.io/service-name"),
		    &e->service) < 0) {
		err = -ENOMEM;
		goto err;
	}
	if (type == K8S_ADDR_IPV4) {
		err = eps_ports(e, json_object_get(obj, "ports"));
		if (err < 0)
			goto err;
		err = eps_endpoints(e, json_object_get(obj, "endpoints"));
		if (err < 0)
			goto err;
	}
	*ret = &e->meta;
	return 0;
err:
	eps_free(&e->meta);
	return err;
}

const struct k8s_kind k8s_kind_endpointslice = {
	.name = "endpointslices",
	.path = "/apis/discovery.k8s.io/v1/endpointslices",
	.decode = eps_decode,
	.free = eps_free,
};

/* --- networkpolicies ------------------------------------------------------ */

static void netpol_free(struct k8s_meta *m)
{
	struct k8s_netpol *np = (struct k8s_netpol *)m;

	if (!np)
		return;
	k8s_meta_clear(&np->meta);
	free(np->spec);
	free(np);
}

/* The spec is kept serialized, unparsed: the policy compiler (a later issue)
 * parses it. */
static int netpol_decode(const json_t *obj, struct k8s_meta **ret)
{
	const json_t *spec = json_object_get(obj, "spec");
	struct k8s_netpol *np;
	int err;

	np = calloc(1, sizeof(*np));
	if (!np)
		return -ENOMEM;
	err = k8s_meta_decode(obj, &np->meta);
	if (err < 0)
		goto err;
	err = -EBADMSG;
	if (!np->meta.ns || !json_is_object(spec))
		goto err;
	np->spec = json_dumps(spec, JSON_COMPACT);
	if (!np->spec) {
		err = -ENOMEM;
		goto err;
	}
	*ret = &np->meta;
	return 0;
err:
	netpol_free(&np->meta);
	return err;
}

const struct k8s_kind k8s_kind_netpol = {
	.name = "networkpolicies",
	.path = "/apis/networking.k8s.io/v1/networkpolicies",
	.decode = netpol_decode,
	.free = netpol_free,
};

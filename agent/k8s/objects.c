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

static int labels_decode(const json_t *obj, struct k8s_labels *l)
{
	const json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
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

// SPDX-License-Identifier: Apache-2.0
#include "api_handlers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent.h"
#include "agent_ops.h"
#include "api_server.h"
#include "dp.h"
#include "endpoint_store.h"
#include "ipam.h"
#include "k8s_sync.h"
#include "log.h"
#include "netpol.h"
#include "node.h"

/* State of one request while it is handled. */
struct req {
	struct agent *a;
	const json_t *in;
	json_t *out;		/* the ok answer being built */
	struct agent_err err;
	char logkv[512];	/* key=value pairs for the request log line */
};

static int invalid(struct req *r, const char *field)
{
	snprintf(r->err.msg, sizeof(r->err.msg), "invalid or missing field: %s", field);
	return -EINVAL;
}

static void logkv_add(struct req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logkv_add(struct req *r, const char *fmt, ...)
{
	size_t len = strlen(r->logkv);
	va_list ap;

	if (len >= sizeof(r->logkv) - 1)
		return;
	if (len)
		r->logkv[len++] = ' ';
	va_start(ap, fmt);
	vsnprintf(r->logkv + len, sizeof(r->logkv) - len, fmt, ap);
	va_end(ap);
}

static const char *ip_str(uint32_t ip_be, char buf[INET_ADDRSTRLEN])
{
	struct in_addr in = { .s_addr = ip_be };

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

/* Out of memory while building an answer. */
static int set(struct req *r, const char *key, json_t *v)
{
	return json_object_set_new(r->out, key, v) < 0 ? -ENOMEM : 0;
}

/* The (container_id, ifname) key most operations take. */
static int get_key(struct req *r, const json_t *obj, struct agent_key *k)
{
	const char *cid = json_string_value(json_object_get(obj, "container_id"));
	const char *ifn = json_string_value(json_object_get(obj, "ifname"));

	if (!ep_container_id_valid(cid))
		return invalid(r, "container_id");
	if (!ep_ifname_valid(ifn))
		return invalid(r, "ifname");
	strcpy(k->container_id, cid);
	strcpy(k->ifname, ifn);
	return 0;
}

const char *api_drop_reason_name(unsigned int reason)
{
	switch (reason) {
#define PN_DROP_NAME(name, value, text) case value: return text;
	PN_DROP_REASONS(PN_DROP_NAME)
#undef PN_DROP_NAME
	}
	return NULL;
}

/* --- operations ------------------------------------------------------------ */

/* Multi-node facts of the status answer. */
static int status_node(struct req *r)
{
	struct agent *a = r->a;
	char ip[INET_ADDRSTRLEN];

	if (!a->node)
		return 0;
	return set(r, "node_name", json_string(node_self_name(a))) ||
	       set(r, "node_ip", node_self_ip(a) ? json_string(ip_str(node_self_ip(a), ip)) :
						     json_null()) ||
	       set(r, "routing", json_string(node_routing_name(a))) ||
	       set(r, "underlay_mtu", json_integer(node_underlay_mtu(a))) ||
	       set(r, "mtu", json_integer(node_pod_mtu(a))) ||
	       set(r, "nodes", json_integer((json_int_t)node_count(a)));
}

static int op_status(struct req *r)
{
	struct agent *a = r->a;
	char gw[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN];
	char cidr[INET_ADDRSTRLEN + 4];
	size_t deleting;

	if (!a->ipam) {	/* Kubernetes mode, waiting for the Node's pod CIDR */
		const char *w = k8s_sync_waiting_for(a->k8s);

		if (set(r, "ready", json_false()) ||
		    set(r, "waiting_for", json_string(w ? w : "start-up")) ||
		    set(r, "bpf_root", json_string(a->cfg.bpf_root)))
			return -ENOMEM;
		return 0;
	}
	ip_str(htonl(ipam_network(a->ipam)), net);
	snprintf(cidr, sizeof(cidr), "%s/%u", net, ipam_prefix_len(a->ipam));
	ip_str(htonl(ipam_gateway(a->ipam)), gw);
	deleting = agent_deleting_count(a);
	if (set(r, "ready", json_boolean(a->ready)) ||
	    set(r, "pod_cidr", json_string(cidr)) ||
	    set(r, "gateway", json_string(gw)) ||
	    set(r, "endpoints", json_integer((json_int_t)(ep_store_count(a->eps) - deleting))) ||
	    set(r, "deleting", json_integer((json_int_t)deleting)) ||
	    set(r, "ips_allocated", json_integer((json_int_t)ipam_used(a->ipam))) ||
	    set(r, "ips_free",
		json_integer((json_int_t)(ipam_capacity(a->ipam) - ipam_used(a->ipam)))) ||
	    set(r, "bpf_root", json_string(a->cfg.bpf_root)) ||
	    status_node(r))
		return -ENOMEM;
	return 0;
}

static int op_ip_allocate(struct req *r)
{
	char ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	struct agent_key k;
	uint32_t ip_be;
	int err;

	err = get_key(r, r->in, &k);
	if (err < 0)
		return err;
	logkv_add(r, "container_id=%s ifname=%s", k.container_id, k.ifname);
	err = agent_ip_allocate(r->a, k.container_id, k.ifname, &ip_be, &r->err);
	if (err < 0)
		return err;
	ip_str(ip_be, ip);
	ip_str(htonl(ipam_gateway(r->a->ipam)), gw);
	logkv_add(r, "ip=%s new=%s", ip, err ? "true" : "false");
	if (set(r, "ip", json_string(ip)) ||
	    set(r, "prefix_len", json_integer(ipam_prefix_len(r->a->ipam))) ||
	    set(r, "gateway", json_string(gw)) ||
	    set(r, "mtu", json_integer(node_pod_mtu(r->a))))
		return -ENOMEM;
	return 0;
}

static int op_ip_release(struct req *r)
{
	struct agent_key k;
	int err;

	err = get_key(r, r->in, &k);
	if (err < 0)
		return err;
	logkv_add(r, "container_id=%s ifname=%s", k.container_id, k.ifname);
	err = agent_ip_release(r->a, k.container_id, k.ifname, &r->err);
	if (err < 0)
		return err;
	logkv_add(r, "released=%s", err ? "true" : "false");
	return 0;
}

static int op_endpoint_add(struct req *r)
{
	char ip[INET_ADDRSTRLEN];
	struct ep_record rec;
	const char *field;
	int err;

	err = ep_record_from_json(r->in, false, &rec, &field);
	if (err < 0)
		return invalid(r, field);
	logkv_add(r, "container_id=%s ifname=%s ip=%s host_ifname=%s host_ifindex=%d",
		  rec.container_id, rec.ifname, ip_str(rec.ip_be, ip), rec.host_ifname,
		  rec.host_ifindex);
	if (rec.pod_name[0])
		logkv_add(r, "pod=%s/%s", rec.pod_namespace, rec.pod_name);
	err = agent_endpoint_add(r->a, &rec, &r->err);
	if (err < 0)
		return err;
	logkv_add(r, "endpoint_id=%u", rec.endpoint_id);
	return set(r, "endpoint", ep_record_to_json(&rec));
}

static int op_endpoint_get(struct req *r)
{
	const struct ep_record *rec;
	struct agent_key k;
	int err;

	err = get_key(r, r->in, &k);
	if (err < 0)
		return err;
	rec = ep_store_find(r->a->eps, k.container_id, k.ifname);
	if (!rec || ep_op_gate(rec, EP_OP_ENDPOINT_GET) < 0) {
		snprintf(r->err.msg, sizeof(r->err.msg), rec ? "endpoint %s/%s is being deleted" :
			 "no endpoint for %s/%s", k.container_id, k.ifname);
		return -ENOENT;
	}
	return set(r, "endpoint", ep_record_to_json(rec));
}

static int op_endpoint_delete(struct req *r)
{
	char host[IFNAMSIZ];
	struct agent_key k;
	int err;

	err = get_key(r, r->in, &k);
	if (err < 0)
		return err;
	logkv_add(r, "container_id=%s ifname=%s", k.container_id, k.ifname);
	err = agent_endpoint_delete(r->a, k.container_id, k.ifname, host, &r->err);
	if (err < 0)
		return err;
	if (err == AGENT_DEL_NONE) {
		logkv_add(r, "removed=false");
		return 0;
	}
	logkv_add(r, "removed=true host_ifname=%s", host);
	/* "pending": the veth is the agent's to delete now, not the caller's. */
	if (set(r, "host_ifname", json_string(host)) || set(r, "pending", json_true()))
		return -ENOMEM;
	return 0;
}

static int op_endpoint_list(struct req *r)
{
	json_t *list = json_array();

	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < ep_store_count(r->a->eps); i++) {
		if (json_array_append_new(list, ep_record_to_json(ep_store_at(r->a->eps, i)))) {
			json_decref(list);
			return -ENOMEM;
		}
	}
	return set(r, "endpoints", list);
}

static int gc_removed(void *ctx, const char *container_id, const char *ifname,
		      const char *host_ifname)
{
	json_t *list = ctx, *o;

	o = json_pack("{s:s, s:s}", "container_id", container_id, "ifname", ifname);
	if (!o)
		return -ENOMEM;
	if (host_ifname && json_object_set_new(o, "host_ifname", json_string(host_ifname))) {
		json_decref(o);
		return -ENOMEM;
	}
	return json_array_append_new(list, o) ? -ENOMEM : 0;
}

static int op_gc(struct req *r)
{
	const json_t *valid = json_object_get(r->in, "valid"), *item;
	struct agent_key *keys;
	json_t *removed;
	size_t i, n;
	int err;

	if (!json_is_array(valid))
		return invalid(r, "valid");
	n = json_array_size(valid);
	keys = calloc(n ? n : 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	json_array_foreach(valid, i, item) {
		if (!json_is_object(item)) {
			free(keys);
			return invalid(r, "valid");
		}
		err = get_key(r, item, &keys[i]);
		if (err < 0) {
			free(keys);
			snprintf(r->err.msg, sizeof(r->err.msg),
				 "invalid or missing field: valid[%zu]", i);
			return err;
		}
	}
	removed = json_array();
	if (!removed) {
		free(keys);
		return -ENOMEM;
	}
	err = agent_gc(r->a, keys, n, gc_removed, removed);
	free(keys);
	logkv_add(r, "valid=%zu removed=%zu", n, json_array_size(removed));
	if (err < 0) {
		json_decref(removed);
		return err;
	}
	return set(r, "removed", removed);
}

static int op_drops(struct req *r)
{
	struct dp_drop_stat stats[PN_DROP_COUNTERS_MAX];
	json_t *list;
	int n;

	n = dp_drops_read(r->a->dp, stats, PN_DROP_COUNTERS_MAX);
	if (n < 0) {
		snprintf(r->err.msg, sizeof(r->err.msg), "cannot read drop counters: %s",
			 strerror(-n));
		return n;
	}
	list = json_array();
	if (!list)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const char *name = api_drop_reason_name(stats[i].reason);
		char unknown[32];
		json_t *o;

		if (!name) {
			snprintf(unknown, sizeof(unknown), "unknown-%u", stats[i].reason);
			name = unknown;
		}
		o = json_pack("{s:s, s:s, s:I, s:I}", "reason", name,
			      "direction", stats[i].dir == PN_DIR_EGRESS ? "egress" : "ingress",
			      "packets", (json_int_t)stats[i].packets,
			      "bytes", (json_int_t)stats[i].bytes);
		if (!o || json_array_append_new(list, o)) {
			json_decref(list);
			return -ENOMEM;
		}
	}
	return set(r, "drops", list);
}

static int op_k8s_status(struct req *r)
{
	if (!r->a->k8s) {
		snprintf(r->err.msg, sizeof(r->err.msg), "the agent runs without Kubernetes");
		return -EOPNOTSUPP;
	}
	return k8s_sync_status_json(r->a->k8s, r->out);
}

static int op_pods(struct req *r)
{
	if (!r->a->k8s) {
		snprintf(r->err.msg, sizeof(r->err.msg), "the agent runs without Kubernetes");
		return -EOPNOTSUPP;
	}
	return k8s_sync_pods_json(r->a->k8s, r->out);
}

/* --- NetworkPolicy -------------------------------------------------------- */

static int no_netpol(struct req *r)
{
	snprintf(r->err.msg, sizeof(r->err.msg), "NetworkPolicy needs the Kubernetes API");
	return -EOPNOTSUPP;
}

/* "TCP" (also when absent), "udp", "SCTP", "ICMP" → IPPROTO_*; -1 if unknown. */
static int proto_of(const char *name)
{
	if (!name || !strcasecmp(name, "TCP"))
		return IPPROTO_TCP;
	if (!strcasecmp(name, "UDP"))
		return IPPROTO_UDP;
	if (!strcasecmp(name, "SCTP"))
		return IPPROTO_SCTP;
	if (!strcasecmp(name, "ICMP"))
		return IPPROTO_ICMP;
	return -1;
}

static int op_policy_trace(struct req *r)
{
	const char *from = json_string_value(json_object_get(r->in, "from"));
	const char *to = json_string_value(json_object_get(r->in, "to"));
	const json_t *port = json_object_get(r->in, "port");
	int proto = proto_of(json_string_value(json_object_get(r->in, "protocol")));
	json_int_t num = json_integer_value(port);
	json_t *trace;
	int err;

	if (!r->a->netpol)
		return no_netpol(r);
	if (!from || !from[0])
		return invalid(r, "from");
	if (!to || !to[0])
		return invalid(r, "to");
	if (proto < 0 || (json_object_get(r->in, "protocol") &&
			  !json_is_string(json_object_get(r->in, "protocol"))))
		return invalid(r, "protocol");
	/* ICMP has no ports: 0 (or absent) only; the others 1-65535. */
	if (proto == IPPROTO_ICMP ? (port && (!json_is_integer(port) || num != 0)) :
				    (!json_is_integer(port) || num < 1 || num > 65535))
		return invalid(r, "port");
	trace = json_object();
	if (!trace)
		return -ENOMEM;
	err = netpol_trace_json(r->a->netpol, from, to, proto, num, trace, r->err.msg,
				sizeof(r->err.msg));
	if (err < 0) {
		json_decref(trace);
		return err;
	}
	return set(r, "trace", trace);
}

static int op_policy_status(struct req *r)
{
	if (!r->a->netpol)
		return no_netpol(r);
	return netpol_status_json(r->a->netpol, r->out);
}

/* --- other nodes (standalone mode; the Kubernetes watcher calls node.h) --- */

static const char *node_err(int err)
{
	switch (err) {
	case -EADDRINUSE: return "pod_cidr overlaps this node's or another node's pod CIDR";
	case -EEXIST: return "the address is a pod on this node";
	default: return NULL;
	}
}

static int op_node_upsert(struct req *r)
{
	const char *name = json_string_value(json_object_get(r->in, "name"));
	const char *ip = json_string_value(json_object_get(r->in, "ip"));
	const char *cidr = json_string_value(json_object_get(r->in, "pod_cidr"));
	struct node_info n = { 0 };
	struct in_addr in;
	int err;

	if (!node_name_valid(name))
		return invalid(r, "name");
	if (!ip || inet_pton(AF_INET, ip, &in) != 1 || !in.s_addr)
		return invalid(r, "ip");
	if (cidr && cidr[0] && node_cidr_parse(cidr, &n.pod_cidr_be, &n.pod_prefix_len) < 0)
		return invalid(r, "pod_cidr");
	strcpy(n.name, name);
	n.ip_be = in.s_addr;
	logkv_add(r, "name=%s ip=%s pod_cidr=%s", name, ip, cidr ? cidr : "");
	err = node_upsert(r->a, &n);
	if (err < 0 && node_err(err))
		snprintf(r->err.msg, sizeof(r->err.msg), "%s", node_err(err));
	return err;
}

static int op_node_delete(struct req *r)
{
	const char *name = json_string_value(json_object_get(r->in, "name"));

	if (!node_name_valid(name))
		return invalid(r, "name");
	logkv_add(r, "name=%s", name);
	return node_delete(r->a, name);
}

static int op_node_list(struct req *r)
{
	json_t *list = json_array();

	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < node_count(r->a); i++) {
		const struct node_info *n = node_at(r->a, i);
		char ip[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN], cidr[INET_ADDRSTRLEN + 4] = "";
		json_t *o;

		if (n->pod_cidr_be || n->pod_prefix_len)
			snprintf(cidr, sizeof(cidr), "%s/%u", ip_str(n->pod_cidr_be, net),
				 n->pod_prefix_len);
		o = json_pack("{s:s, s:s, s:s}", "name", n->name, "ip", ip_str(n->ip_be, ip),
			      "pod_cidr", cidr);
		if (!o || json_array_append_new(list, o)) {
			json_decref(list);
			return -ENOMEM;
		}
	}
	return set(r, "nodes", list);
}

static int get_ip(struct req *r, const char *field, uint32_t *ret_be)
{
	const char *s = json_string_value(json_object_get(r->in, field));
	struct in_addr in;

	if (!s || inet_pton(AF_INET, s, &in) != 1 || !in.s_addr)
		return invalid(r, field);
	*ret_be = in.s_addr;
	return 0;
}

static int op_remote_pod_upsert(struct req *r)
{
	uint32_t ip, node_ip;
	int err;

	if (get_ip(r, "ip", &ip) < 0 || get_ip(r, "node_ip", &node_ip) < 0)
		return -EINVAL;
	logkv_add(r, "ip=%s node_ip=%s", json_string_value(json_object_get(r->in, "ip")),
		  json_string_value(json_object_get(r->in, "node_ip")));
	err = remote_pod_upsert(r->a, ip, node_ip, PN_ID_ANY);
	if (err < 0 && node_err(err))
		snprintf(r->err.msg, sizeof(r->err.msg), "%s", node_err(err));
	return err;
}

static int op_remote_pod_delete(struct req *r)
{
	uint32_t ip;

	if (get_ip(r, "ip", &ip) < 0)
		return -EINVAL;
	logkv_add(r, "ip=%s", json_string_value(json_object_get(r->in, "ip")));
	return remote_pod_delete(r->a, ip);
}

static int op_ipcache_list(struct req *r)
{
	struct pn_ipcache_key *keys;
	struct pn_ipcache_entry *vals;
	json_t *list;
	size_t n;
	int err;

	err = dp_ipcache_entries(r->a->dp, &keys, &vals, &n);
	if (err < 0)
		return err;
	list = json_array();
	for (size_t i = 0; list && i < n; i++) {
		char ip[INET_ADDRSTRLEN], tun[INET_ADDRSTRLEN], prefix[INET_ADDRSTRLEN + 4];
		json_t *flags = json_array(), *o;

		snprintf(prefix, sizeof(prefix), "%s/%u", ip_str(keys[i].ipv4, ip),
			 keys[i].prefixlen);
		if (flags && (vals[i].flags & PN_IPC_F_LOCAL))
			json_array_append_new(flags, json_string("local"));
		if (flags && (vals[i].flags & PN_IPC_F_NODE_CIDR))
			json_array_append_new(flags, json_string("node-cidr"));
		if (flags && (vals[i].flags & PN_IPC_F_REMOTE_POD))
			json_array_append_new(flags, json_string("remote-pod"));
		if (flags && (vals[i].flags & PN_IPC_F_HOST))
			json_array_append_new(flags, json_string("host"));
		o = json_pack("{s:s, s:I, s:s, s:o*}", "prefix", prefix, "identity",
			      (json_int_t)vals[i].identity, "tunnel_endpoint",
			      vals[i].tunnel_endpoint ? ip_str(vals[i].tunnel_endpoint, tun) : "",
			      "flags", flags);
		if (!o || json_array_append_new(list, o)) {
			json_decref(list);
			list = NULL;
		}
	}
	free(keys);
	free(vals);
	if (!list)
		return -ENOMEM;
	return set(r, "ipcache", list);
}

static const struct {
	const char *name;
	int (*fn)(struct req *r);
	bool mutating;		/* logged at info */
} ops[] = {
	{ "status",		op_status,		false },
	{ "node_upsert",	op_node_upsert,		true },
	{ "node_delete",	op_node_delete,		true },
	{ "node_list",		op_node_list,		false },
	{ "remote_pod_upsert",	op_remote_pod_upsert,	true },
	{ "remote_pod_delete",	op_remote_pod_delete,	true },
	{ "ipcache_list",	op_ipcache_list,	false },
	{ "ip_allocate",	op_ip_allocate,		true },
	{ "ip_release",		op_ip_release,		true },
	{ "endpoint_add",	op_endpoint_add,	true },
	{ "endpoint_get",	op_endpoint_get,	false },
	{ "endpoint_delete",	op_endpoint_delete,	true },
	{ "endpoint_list",	op_endpoint_list,	false },
	{ "gc",			op_gc,			true },
	{ "drops",		op_drops,		false },
	{ "k8s_status",		op_k8s_status,		false },
	{ "pods",		op_pods,		false },
	{ "policy_trace",	op_policy_trace,	false },
	{ "policy_status",	op_policy_status,	false },
};

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

/* logfmt-safe copy of an error text. */
static void quote_safe(char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || *s == '\n')
			*s = '\'';
}

json_t *api_handle(void *ctx, const json_t *in)
{
	struct req r = { .a = ctx, .in = in };
	const char *op = json_string_value(json_object_get(in, "op"));
	long start = now_us();
	size_t i;
	int err;

	for (i = 0; op && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op, ops[i].name) == 0)
			break;
	if (!op || i == sizeof(ops) / sizeof(ops[0])) {
		log_debug("api request with an unknown op", "op=%s", op ? "(unknown)" : "(none)");
		return api_error(-EINVAL, op ? "unknown op" : "invalid or missing field: op");
	}

	/* Kubernetes mode before the pod CIDR is known: no IPAM, no maps; what
	 * reads only the Kubernetes caches answers. */
	if (!r.a->ready && ops[i].fn != op_status && ops[i].fn != op_k8s_status &&
	    ops[i].fn != op_pods && ops[i].fn != op_policy_trace &&
	    ops[i].fn != op_policy_status)
		return api_error(-EAGAIN, "agent not ready: waiting for this node's pod CIDR; "
				 "try again later");
	r.out = json_pack("{s:b}", "ok", 1);
	if (!r.out)
		return NULL;
	err = ops[i].fn(&r);
	if (err < 0) {
		json_decref(r.out);
		r.out = NULL;
		if (!r.err.msg[0])
			snprintf(r.err.msg, sizeof(r.err.msg), "%s", strerror(-err));
		quote_safe(r.err.msg);
		log_msg(ops[i].mutating ? LOG_LVL_WARN : LOG_LVL_DEBUG, "api request failed",
			"op=%s %s%serr=%s error=\"%s\" took_us=%ld", op, r.logkv,
			r.logkv[0] ? " " : "", log_errno_name(err), r.err.msg, now_us() - start);
		return api_error(err, r.err.msg);
	}
	if (ops[i].mutating)
		log_info("api request", "op=%s %s%stook_us=%ld", op, r.logkv,
			 r.logkv[0] ? " " : "", now_us() - start);
	else
		log_debug("api request", "op=%s took_us=%ld", op, now_us() - start);
	return r.out;
}

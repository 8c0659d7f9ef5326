// SPDX-License-Identifier: Apache-2.0
/* The reflector's pure parts: framing, decoders, cache, relist diff, the
 * 410 state machine and backoff.  No network. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/k8s/backoff.h"
#include "../../agent/k8s/cache.h"
#include "../../agent/k8s/linebuf.h"
#include "../../agent/k8s/objects.h"
#include "../../agent/k8s/watch.h"
#include "log.h"

/* --- framing --------------------------------------------------------------- */

struct lines {
	char got[256];
	int n;
};

static int collect(void *arg, const char *line, size_t len)
{
	struct lines *l = arg;

	snprintf(l->got + strlen(l->got), sizeof(l->got) - strlen(l->got), "[%.*s]", (int)len,
		 line);
	l->n++;
	return 0;
}

static void test_lines_split_anywhere(void **state)
{
	static const char stream[] = "{\"a\":1}\n{\"bb\":2}\r\n\n{\"ccc\":3}\n{\"tail";
	size_t n = strlen(stream);

	/* Every way of cutting the stream in three gives the same lines. */
	for (size_t i = 0; i <= n; i++) {
		for (size_t j = i; j <= n; j++) {
			struct k8s_linebuf lb = { 0 };
			struct lines l = { 0 };

			assert_int_equal(k8s_linebuf_feed(&lb, stream, i, collect, &l), 0);
			assert_int_equal(k8s_linebuf_feed(&lb, stream + i, j - i, collect, &l), 0);
			assert_int_equal(k8s_linebuf_feed(&lb, stream + j, n - j, collect, &l), 0);
			assert_string_equal(l.got, "[{\"a\":1}][{\"bb\":2}][{\"ccc\":3}]");
			assert_int_equal(lb.len, strlen("{\"tail"));
			k8s_linebuf_release(&lb);
		}
	}
}

static void test_lines_byte_by_byte_and_limit(void **state)
{
	struct k8s_linebuf lb = { .max = 8 };
	struct lines l = { 0 };
	const char *s = "1234567\nabc\n";

	for (const char *p = s; *p; p++)
		assert_int_equal(k8s_linebuf_feed(&lb, p, 1, collect, &l), 0);
	assert_string_equal(l.got, "[1234567][abc]");
	assert_int_equal(k8s_linebuf_feed(&lb, "0123456789", 10, collect, &l), -EMSGSIZE);
	k8s_linebuf_reset(&lb);
	assert_int_equal(k8s_linebuf_feed(&lb, "ok\n", 3, collect, &l), 0);
	assert_string_equal(l.got, "[1234567][abc][ok]");
	k8s_linebuf_release(&lb);
}

/* --- decoders -------------------------------------------------------------- */

static struct k8s_meta *decode(const struct k8s_kind *k, const char *text, int *err)
{
	struct k8s_meta *m = NULL;
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	*err = k->decode(j, &m);
	json_decref(j);
	return m;
}

static const char pod_json[] =
	"{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"shop\",\"uid\":\"u-1\","
	"\"resourceVersion\":\"42\",\"labels\":{\"app\":\"web\",\"tier\":\"front\"},"
	"\"managedFields\":[{\"manager\":\"kubectl\"}]},"
	"\"spec\":{\"nodeName\":\"n1\",\"containers\":["
	"{\"name\":\"a\",\"image\":\"x\",\"ports\":[{\"name\":\"http\",\"containerPort\":8080},"
	"{\"containerPort\":53,\"protocol\":\"UDP\"}]},"
	"{\"name\":\"b\",\"ports\":[{\"name\":\"s\",\"containerPort\":9,\"protocol\":\"SCTP\"}]}]},"
	"\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.1.5\","
	"\"podIPs\":[{\"ip\":\"10.244.1.5\"},{\"ip\":\"fd00::5\"}]}}";

static void test_decode_pod(void **state)
{
	struct k8s_pod *p;
	char ip[INET6_ADDRSTRLEN];
	int err;

	p = (struct k8s_pod *)decode(&k8s_kind_pod, pod_json, &err);
	assert_int_equal(err, 0);
	assert_string_equal(p->meta.ns, "shop");
	assert_string_equal(p->meta.name, "web-1");
	assert_string_equal(p->meta.rv, "42");
	assert_string_equal(p->uid, "u-1");
	assert_string_equal(p->node, "n1");
	assert_int_equal(p->phase, K8S_POD_RUNNING);
	assert_false(p->host_network);
	assert_int_equal(p->n_ips, 2);
	assert_string_equal(k8s_ip_str(&p->ips[0], ip), "10.244.1.5");
	assert_string_equal(k8s_ip_str(&p->ips[1], ip), "fd00::5");
	assert_int_equal(p->labels.n, 2);
	assert_string_equal(k8s_labels_get(&p->labels, "tier"), "front");
	assert_null(k8s_labels_get(&p->labels, "nope"));
	assert_int_equal(p->n_ports, 3);
	assert_string_equal(p->ports[0].name, "http");
	assert_int_equal(p->ports[0].port, 8080);
	assert_int_equal(p->ports[0].proto, K8S_PROTO_TCP);
	assert_null(p->ports[1].name);
	assert_int_equal(p->ports[1].proto, K8S_PROTO_UDP);
	assert_int_equal(p->ports[2].proto, K8S_PROTO_SCTP);
	k8s_kind_pod.free(&p->meta);

	/* Unscheduled, host network, only the old single podIP field. */
	p = (struct k8s_pod *)decode(&k8s_kind_pod,
				     "{\"metadata\":{\"name\":\"h\",\"namespace\":\"d\","
				     "\"uid\":\"u\",\"resourceVersion\":\"1\"},"
				     "\"spec\":{\"hostNetwork\":true},"
				     "\"status\":{\"podIP\":\"192.168.0.9\"}}",
				     &err);
	assert_int_equal(err, 0);
	assert_null(p->node);
	assert_true(p->host_network);
	assert_int_equal(p->phase, K8S_POD_UNKNOWN);
	assert_int_equal(p->n_ips, 1);
	assert_int_equal(p->n_ports, 0);
	assert_int_equal(p->labels.n, 0);
	k8s_kind_pod.free(&p->meta);
}

static void test_decode_pod_bad(void **state)
{
	static const char *bad[] = {
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"resourceVersion\":\"1\"}}",
		"{\"metadata\":{\"namespace\":\"d\",\"uid\":\"u\",\"resourceVersion\":\"1\"}}",
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"uid\":\"u\"}}",
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"uid\":\"u\",\"resourceVersion\":"
		"\"1\"},\"status\":{\"podIP\":\"not-an-ip\"}}",
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"uid\":\"u\",\"resourceVersion\":"
		"\"1\"},\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":70000}]}]}}",
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"uid\":\"u\",\"resourceVersion\":"
		"\"1\"},\"spec\":{\"containers\":[{\"ports\":[{\"name\":\"n\",\"containerPort\":1},"
		"{\"containerPort\":2,\"protocol\":\"ICMP\"}]}]}}",
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"uid\":\"u\",\"resourceVersion\":"
		"\"1\",\"labels\":{\"k\":1}}}",
	};
	int err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct k8s_meta *m = decode(&k8s_kind_pod, bad[i], &err);

		if (err != -EBADMSG)
			fail_msg("case %zu: got %d", i, err);
		assert_null(m);
	}
}

static void test_decode_node_and_namespace(void **state)
{
	struct k8s_namespace *ns;
	struct k8s_node *n;
	char ip[INET6_ADDRSTRLEN];
	int err;

	n = (struct k8s_node *)decode(
		&k8s_kind_node,
		"{\"metadata\":{\"name\":\"n1\",\"resourceVersion\":\"7\"},"
		"\"spec\":{\"podCIDR\":\"10.244.1.0/24\",\"podCIDRs\":[\"10.244.1.0/24\","
		"\"fd00:1::/64\"]},\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":"
		"\"n1\"},{\"type\":\"InternalIP\",\"address\":\"192.168.1.10\"},"
		"{\"type\":\"InternalIP\",\"address\":\"fd00::10\"}]}}",
		&err);
	assert_int_equal(err, 0);
	assert_null(n->meta.ns);
	assert_string_equal(n->meta.name, "n1");
	assert_int_equal(n->n_cidrs, 2);
	assert_string_equal(k8s_ip_str(&n->cidrs[0].ip, ip), "10.244.1.0");
	assert_int_equal(n->cidrs[0].len, 24);
	assert_int_equal(n->cidrs[1].len, 64);
	assert_true(n->has_internal_ip);
	assert_string_equal(k8s_ip_str(&n->internal_ip, ip), "192.168.1.10");
	k8s_kind_node.free(&n->meta);

	/* Fresh node: no CIDR yet, no addresses. */
	n = (struct k8s_node *)decode(&k8s_kind_node,
				      "{\"metadata\":{\"name\":\"n2\",\"resourceVersion\":\"8\"}}",
				      &err);
	assert_int_equal(err, 0);
	assert_int_equal(n->n_cidrs, 0);
	assert_false(n->has_internal_ip);
	k8s_kind_node.free(&n->meta);

	assert_null(decode(&k8s_kind_node,
			   "{\"metadata\":{\"name\":\"n\",\"resourceVersion\":\"8\"},"
			   "\"spec\":{\"podCIDR\":\"10.0.0.0/33\"}}",
			   &err));
	assert_int_equal(err, -EBADMSG);

	ns = (struct k8s_namespace *)decode(&k8s_kind_namespace,
					    "{\"metadata\":{\"name\":\"prod\",\"resourceVersion\":"
					    "\"3\",\"labels\":{\"team\":\"net\"}}}",
					    &err);
	assert_int_equal(err, 0);
	assert_string_equal(ns->meta.name, "prod");
	assert_string_equal(k8s_labels_get(&ns->labels, "team"), "net");
	k8s_kind_namespace.free(&ns->meta);
}

static void test_decode_service(void **state)
{
	struct k8s_service *sv;
	char ip[INET6_ADDRSTRLEN];
	int err;

	sv = (struct k8s_service *)decode(
		&k8s_kind_service,
		"{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\",\"resourceVersion\":\"5\","
		"\"annotations\":{\"big\":\"xxxxxxxx\"}},"
		"\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.10\","
		"\"clusterIPs\":[\"fd00:96::a\",\"10.96.0.10\"],\"selector\":{\"app\":\"web\"},"
		"\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,\"nodePort\":30080},"
		"{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\",\"targetPort\":\"dns\"},"
		"{\"port\":9,\"protocol\":\"SCTP\"}]}}",
		&err);
	assert_int_equal(err, 0);
	assert_string_equal(sv->meta.ns, "shop");
	assert_string_equal(sv->meta.name, "web");
	assert_int_equal(sv->type, K8S_SVC_NODE_PORT);
	assert_string_equal(inet_ntop(AF_INET, &sv->cluster_ip, ip, sizeof(ip)), "10.96.0.10");
	assert_int_equal(sv->selector.n, 1);
	assert_string_equal(k8s_labels_get(&sv->selector, "app"), "web");
	assert_int_equal(sv->n_ports, 3);
	assert_string_equal(sv->ports[0].name, "http");
	assert_int_equal(sv->ports[0].port, 80);
	assert_int_equal(sv->ports[0].target_port, 8080);
	assert_null(sv->ports[0].target_name);
	assert_int_equal(sv->ports[0].node_port, 30080);
	assert_int_equal(sv->ports[0].proto, K8S_PROTO_TCP);
	assert_int_equal(sv->ports[1].proto, K8S_PROTO_UDP);
	assert_int_equal(sv->ports[1].target_port, 0);
	assert_string_equal(sv->ports[1].target_name, "dns");
	assert_null(sv->ports[2].name);
	assert_int_equal(sv->ports[2].target_port, 9);	/* defaults to port */
	assert_int_equal(sv->ports[2].node_port, 0);
	assert_int_equal(sv->ports[2].proto, K8S_PROTO_SCTP);
	k8s_kind_service.free(&sv->meta);

	/* Headless, no selector, no ports, no type. */
	sv = (struct k8s_service *)decode(&k8s_kind_service,
					  "{\"metadata\":{\"name\":\"h\",\"namespace\":\"d\","
					  "\"resourceVersion\":\"1\"},\"spec\":{\"clusterIP\":\"None\"}}",
					  &err);
	assert_int_equal(err, 0);
	assert_int_equal(sv->type, K8S_SVC_CLUSTER_IP);
	assert_int_equal(sv->cluster_ip.s_addr, 0);
	assert_int_equal(sv->selector.n, 0);
	assert_int_equal(sv->n_ports, 0);
	k8s_kind_service.free(&sv->meta);

	/* IPv6-only: kept, without a cluster IP. */
	sv = (struct k8s_service *)decode(&k8s_kind_service,
					  "{\"metadata\":{\"name\":\"v6\",\"namespace\":\"d\","
					  "\"resourceVersion\":\"1\"},\"spec\":{\"clusterIP\":\"fd00::1\","
					  "\"clusterIPs\":[\"fd00::1\"],\"ports\":[{\"port\":1}]}}",
					  &err);
	assert_int_equal(err, 0);
	assert_int_equal(sv->cluster_ip.s_addr, 0);
	assert_int_equal(sv->n_ports, 1);
	k8s_kind_service.free(&sv->meta);
}

static void test_decode_service_bad(void **state)
{
	static const char *bad[] = {
		/* no namespace */
		"{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"},\"spec\":{}}",
		/* no resourceVersion */
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{}}",
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"resourceVersion\":\"1\"},"
		"\"spec\":{\"type\":\"Weird\"}}",
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"resourceVersion\":\"1\"},"
		"\"spec\":{\"clusterIPs\":[\"not-an-ip\"]}}",
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"resourceVersion\":\"1\"},"
		"\"spec\":{\"ports\":[{\"name\":\"x\",\"port\":80},{\"port\":0}]}}",
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"resourceVersion\":\"1\"},"
		"\"spec\":{\"ports\":[{\"port\":80,\"protocol\":\"ICMP\"}]}}",
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"resourceVersion\":\"1\"},"
		"\"spec\":{\"ports\":[{\"name\":\"x\",\"port\":80,\"targetPort\":70000}]}}",
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"resourceVersion\":\"1\"},"
		"\"spec\":{\"selector\":{\"app\":1}}}",
	};
	int err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct k8s_meta *m = decode(&k8s_kind_service, bad[i], &err);

		if (err != -EBADMSG)
			fail_msg("case %zu: got %d", i, err);
		assert_null(m);
	}
}

static void test_decode_endpointslice(void **state)
{
	struct k8s_endpointslice *e;
	char ip[INET_ADDRSTRLEN];
	int err;

	e = (struct k8s_endpointslice *)decode(
		&k8s_kind_endpointslice,
		"{\"metadata\":{\"name\":\"web-abc\",\"namespace\":\"shop\",\"resourceVersion\":\"9\","
		"\"labels\":{\"kubernetes.io/service-name\":\"web\",\"x\":\"y\"}},"
		"\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080,"
		"\"protocol\":\"TCP\"},{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}],"
		"\"endpoints\":[{\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":true,"
		"\"serving\":true,\"terminating\":false},\"nodeName\":\"n1\","
		"\"targetRef\":{\"kind\":\"Pod\",\"name\":\"web-1\"}},"
		"{\"addresses\":[\"10.244.2.7\"],\"conditions\":{\"ready\":false,\"serving\":true,"
		"\"terminating\":true},\"nodeName\":\"n2\"},"
		"{\"addresses\":[\"10.244.3.9\"],\"conditions\":{}}]}",
		&err);
	assert_int_equal(err, 0);
	assert_string_equal(e->meta.ns, "shop");
	assert_string_equal(e->meta.name, "web-abc");
	assert_string_equal(e->service, "web");
	assert_int_equal(e->addr_type, K8S_ADDR_IPV4);
	assert_int_equal(e->n_ports, 2);
	assert_string_equal(e->ports[0].name, "http");
	assert_int_equal(e->ports[0].port, 8080);
	assert_int_equal(e->ports[1].proto, K8S_PROTO_UDP);
	assert_int_equal(e->n_endpoints, 3);
	assert_string_equal(inet_ntop(AF_INET, &e->endpoints[0].addr, ip, sizeof(ip)),
			    "10.244.1.5");
	assert_int_equal(e->endpoints[0].flags, K8S_EP_READY | K8S_EP_SERVING);
	assert_string_equal(e->endpoints[0].node, "n1");
	assert_int_equal(e->endpoints[1].flags, K8S_EP_SERVING | K8S_EP_TERMINATING);
	assert_string_equal(e->endpoints[1].node, "n2");
	/* nil conditions: ready, serving as ready, not terminating. */
	assert_int_equal(e->endpoints[2].flags, K8S_EP_READY | K8S_EP_SERVING);
	assert_null(e->endpoints[2].node);
	k8s_kind_endpointslice.free(&e->meta);

	/* No owning service, no endpoints yet, a nil port. */
	e = (struct k8s_endpointslice *)decode(
		&k8s_kind_endpointslice,
		"{\"metadata\":{\"name\":\"s\",\"namespace\":\"d\",\"resourceVersion\":\"1\"},"
		"\"addressType\":\"IPv4\",\"ports\":[{\"port\":null}],\"endpoints\":null}",
		&err);
	assert_int_equal(err, 0);
	assert_null(e->service);
	assert_int_equal(e->n_ports, 1);
	assert_int_equal(e->ports[0].port, 0);
	assert_int_equal(e->n_endpoints, 0);
	k8s_kind_endpointslice.free(&e->meta);

	/* IPv6 (and FQDN): counted, contents ignored. */
	e = (struct k8s_endpointslice *)decode(
		&k8s_kind_endpointslice,
		"{\"metadata\":{\"name\":\"s6\",\"namespace\":\"d\",\"resourceVersion\":\"1\","
		"\"labels\":{\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"IPv6\","
		"\"ports\":[{\"port\":80}],\"endpoints\":[{\"addresses\":[\"fd00::5\"]}]}",
		&err);
	assert_int_equal(err, 0);
	assert_int_equal(e->addr_type, K8S_ADDR_IPV6);
	assert_string_equal(e->service, "web");
	assert_int_equal(e->n_ports, 0);
	assert_int_equal(e->n_endpoints, 0);
	k8s_kind_endpointslice.free(&e->meta);

	static const char *bad[] = {
		/* no addressType */
		"{\"metadata\":{\"name\":\"s\",\"namespace\":\"d\",\"resourceVersion\":\"1\"}}",
		/* no namespace */
		"{\"metadata\":{\"name\":\"s\",\"resourceVersion\":\"1\"},\"addressType\":\"IPv4\"}",
		"{\"metadata\":{\"name\":\"s\",\"namespace\":\"d\",\"resourceVersion\":\"1\"},"
		"\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],"
		"\"nodeName\":\"n\"},{\"addresses\":[\"fd00::1\"]}]}",
		"{\"metadata\":{\"name\":\"s\",\"namespace\":\"d\",\"resourceVersion\":\"1\"},"
		"\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"a\",\"port\":1},{\"port\":70000}]}",
		"{\"metadata\":{\"name\":\"s\",\"namespace\":\"d\",\"resourceVersion\":\"1\"},"
		"\"addressType\":\"IPv4\",\"ports\":[{\"port\":1,\"protocol\":\"ICMP\"}]}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct k8s_meta *m = decode(&k8s_kind_endpointslice, bad[i], &err);

		if (err != -EBADMSG)
			fail_msg("case %zu: got %d", i, err);
		assert_null(m);
	}
}

static void test_decode_netpol(void **state)
{
	struct k8s_netpol *np;
	int err;

	np = (struct k8s_netpol *)decode(
		&k8s_kind_netpol,
		"{\"metadata\":{\"name\":\"deny\",\"namespace\":\"shop\",\"resourceVersion\":\"4\","
		"\"managedFields\":[{\"manager\":\"kubectl\"}]},"
		"\"spec\":{ \"podSelector\" : {\"matchLabels\":{\"app\":\"web\"}},"
		"\"policyTypes\":[\"Ingress\"]},\"status\":{}}",
		&err);
	assert_int_equal(err, 0);
	assert_string_equal(np->meta.ns, "shop");
	assert_string_equal(np->meta.name, "deny");
	assert_string_equal(np->spec, "{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},"
				      "\"policyTypes\":[\"Ingress\"]}");
	k8s_kind_netpol.free(&np->meta);

	assert_null(decode(&k8s_kind_netpol,
			   "{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\",\"resourceVersion\":"
			   "\"1\"}}",
			   &err));
	assert_int_equal(err, -EBADMSG);
	assert_null(decode(&k8s_kind_netpol,
			   "{\"metadata\":{\"name\":\"p\",\"resourceVersion\":\"1\"},\"spec\":{}}",
			   &err));
	assert_int_equal(err, -EBADMSG);
	assert_null(decode(&k8s_kind_netpol,
			   "{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\",\"resourceVersion\":"
			   "\"1\"},\"spec\":[]}",
			   &err));
	assert_int_equal(err, -EBADMSG);
}

/* --- cache ----------------------------------------------------------------- */

static struct k8s_meta *mk(const char *ns, const char *name, const char *rv)
{
	struct k8s_meta *m = calloc(1, sizeof(*m));

	m->ns = ns ? strdup(ns) : NULL;
	m->name = strdup(name);
	m->rv = strdup(rv);
	return m;
}

static void mfree(struct k8s_meta *m)
{
	k8s_meta_clear(m);
	free(m);
}

static void count_cb(void *data, struct k8s_meta *m)
{
	(*(int *)data)++;
	mfree(m);
}

static void test_cache_churn(void **state)
{
	enum { N = 3000 };
	static char present[N];
	struct k8s_cache *c;
	struct k8s_meta *old;
	uint32_t rng = 1;
	char name[16];
	size_t n = 0;
	int swept = 0;

	assert_int_equal(k8s_cache_new(&c), 0);
	/* Random inserts and deletes, checked against a plain array: the
	 * backward-shift deletion must never lose an entry. */
	for (int i = 0; i < 40000; i++) {
		int k;

		rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
		k = rng % N;
		snprintf(name, sizeof(name), "p%d", k);
		if (rng & 0x10000) {
			assert_int_equal(k8s_cache_put(c, mk("ns", name, "1"), k & 1, &old), 0);
			if (old)
				mfree(old);
			else
				n++;
			present[k] = 1;
		} else {
			old = k8s_cache_del(c, "ns", name);
			assert_int_equal(!!old, present[k]);
			if (old) {
				mfree(old);
				n--;
			}
			present[k] = 0;
		}
	}
	assert_int_equal(k8s_cache_count(c), n);
	for (int k = 0; k < N; k++) {
		snprintf(name, sizeof(name), "p%d", k);
		assert_int_equal(!!k8s_cache_get(c, "ns", name), present[k]);
	}
	/* Same name, other namespace, and cluster-scoped: distinct keys. */
	assert_null(k8s_cache_get(c, "other", "p1"));
	assert_null(k8s_cache_get(c, NULL, "p1"));
	/* Sweep the odd generation: only even keys remain. */
	k8s_cache_sweep(c, 0, count_cb, &swept);
	for (int k = 0; k < N; k++) {
		snprintf(name, sizeof(name), "p%d", k);
		assert_int_equal(!!k8s_cache_get(c, "ns", name), present[k] && !(k & 1));
	}
	assert_int_equal(k8s_cache_count(c) + swept, n);
	k8s_cache_free(c, mfree);
	k8s_cache_free(NULL, NULL);
}

/* --- reflector: relist diff and watch events ------------------------------- */

struct log {
	char buf[1024];
};

static void logf_(struct log *l, const char *fmt, ...)
{
	size_t n = strlen(l->buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->buf + n, sizeof(l->buf) - n, fmt, ap);
	va_end(ap);
}

static void on_add(void *d, const struct k8s_meta *m)
{
	logf_(d, "A:%s@%s ", m->name, m->rv);
}

static void on_update(void *d, const struct k8s_meta *old, const struct k8s_meta *m)
{
	logf_(d, "U:%s@%s>%s ", m->name, old->rv, m->rv);
}

static void on_delete(void *d, const struct k8s_meta *m)
{
	logf_(d, "D:%s ", m->name);
}

static void on_synced(void *d, size_t n)
{
	logf_(d, "S:%zu ", n);
}

static const struct k8s_handlers handlers = {
	.on_add = on_add, .on_update = on_update, .on_delete = on_delete, .on_synced = on_synced,
};

#define NSOBJ(name, rv) "{\"metadata\":{\"name\":\"" name "\",\"resourceVersion\":\"" rv "\"}}"

static struct k8s_reflector *reflector(struct log *l)
{
	struct k8s_reflector_opts o = {
		.kind = &k8s_kind_namespace, .handlers = &handlers, .data = l, .seed = 1,
	};
	struct k8s_reflector *r;

	memset(l, 0, sizeof(*l));
	assert_int_equal(k8s_reflector_new(&o, &r), 0);
	return r;
}

static void page(struct k8s_reflector *r, const char *body, const char *want_cont)
{
	char *cont = NULL;

	assert_int_equal(k8s_reflector_list_page(r, body, strlen(body), &cont), 0);
	if (want_cont)
		assert_string_equal(cont, want_cont);
	else
		assert_null(cont);
	free(cont);
}

static void test_relist_diff(void **state)
{
	struct log l;
	struct k8s_reflector *r = reflector(&l);

	k8s_reflector_list_begin(r);
	page(r, "{\"metadata\":{\"resourceVersion\":\"10\",\"continue\":\"tok\"},\"items\":["
		NSOBJ("a", "1") "," NSOBJ("b", "2") "]}", "tok");
	page(r, "{\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[" NSOBJ("c", "3") "]}",
	     NULL);
	k8s_reflector_list_end(r);
	assert_string_equal(l.buf, "A:a@1 A:b@2 A:c@3 S:3 ");
	assert_string_equal(k8s_reflector_rv(r), "10");
	assert_true(k8s_reflector_synced(r));

	/* While we were away: b changed, c vanished, d appeared, a is as it
	 * was (no event for it). */
	l.buf[0] = '\0';
	k8s_reflector_list_begin(r);
	page(r, "{\"metadata\":{\"resourceVersion\":\"20\"},\"items\":[" NSOBJ("a", "1") ","
		NSOBJ("b", "5") "," NSOBJ("d", "6") "]}", NULL);
	k8s_reflector_list_end(r);
	assert_string_equal(l.buf, "U:b@2>5 A:d@6 D:c S:3 ");
	assert_non_null(k8s_reflector_get(r, NULL, "d"));
	assert_null(k8s_reflector_get(r, NULL, "c"));

	/* An empty list deletes everything; a bad page changes nothing. */
	l.buf[0] = '\0';
	k8s_reflector_list_begin(r);
	assert_int_equal(k8s_reflector_list_page(r, "{\"items\":[", 10, &(char *){ NULL }),
			 -EBADMSG);
	page(r, "{\"metadata\":{\"resourceVersion\":\"30\"},\"items\":[]}", NULL);
	k8s_reflector_list_end(r);
	assert_int_equal(k8s_reflector_count(r), 0);
	assert_int_equal(strlen(l.buf), strlen("D:a D:b D:d S:0 "));
	k8s_reflector_free(r);
}

static int line(struct k8s_reflector *r, const char *s)
{
	return k8s_reflector_watch_line(r, s, strlen(s));
}

static void test_watch_events(void **state)
{
	struct log l;
	struct k8s_reflector *r = reflector(&l);

	k8s_reflector_list_begin(r);
	page(r, "{\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[" NSOBJ("a", "1") "]}", NULL);
	k8s_reflector_list_end(r);
	l.buf[0] = '\0';

	assert_int_equal(line(r, "{\"type\":\"ADDED\",\"object\":" NSOBJ("b", "11") "}"), 0);
	assert_int_equal(line(r, "{\"type\":\"MODIFIED\",\"object\":" NSOBJ("b", "12") "}"), 0);
	assert_int_equal(line(r, "{\"type\":\"DELETED\",\"object\":" NSOBJ("a", "13") "}"), 0);
	/* A delete of something never seen is no event. */
	assert_int_equal(line(r, "{\"type\":\"DELETED\",\"object\":" NSOBJ("zz", "14") "}"), 0);
	assert_string_equal(l.buf, "A:b@11 U:b@11>12 D:a ");
	assert_string_equal(k8s_reflector_rv(r), "14");

	/* Bookmarks move the resume point and nothing else. */
	assert_int_equal(line(r, "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Namespace\","
				 "\"metadata\":{\"resourceVersion\":\"99\"}}}"),
			 0);
	assert_string_equal(k8s_reflector_rv(r), "99");
	assert_string_equal(l.buf, "A:b@11 U:b@11>12 D:a ");

	/* 410 Gone asks for a relist; other errors and garbage do not. */
	assert_int_equal(line(r, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
				 "\"reason\":\"Expired\",\"message\":\"too old resource version\"}}"),
			 -ESTALE);
	assert_int_equal(line(r, "{\"type\":\"ERROR\",\"object\":{\"code\":500}}"), -EREMOTEIO);
	assert_int_equal(line(r, "{\"type\":\"ADDED\""), -EBADMSG);
	assert_int_equal(line(r, "{\"object\":{}}"), -EBADMSG);
	k8s_reflector_free(r);
	k8s_reflector_free(NULL);
}

static void test_watch_next(void **state)
{
	static const struct {
		int err;
		long status;
		enum k8s_next want;
	} cases[] = {
		{ 0, 200, K8S_NEXT_REWATCH },		/* timeoutSeconds reached */
		{ -ESTALE, 200, K8S_NEXT_RELIST },	/* ERROR 410 in the stream */
		{ 0, 410, K8S_NEXT_RELIST },		/* 410 as the HTTP status */
		{ -ECONNREFUSED, 0, K8S_NEXT_BACKOFF_REWATCH },	/* apiserver down */
		{ -EIO, 200, K8S_NEXT_BACKOFF_REWATCH },	/* stream cut */
		{ -ETIMEDOUT, 200, K8S_NEXT_BACKOFF_REWATCH },
		{ -EPROTO, 0, K8S_NEXT_BACKOFF_REWATCH },	/* TLS */
		{ 0, 503, K8S_NEXT_BACKOFF_REWATCH },		/* starting up */
		{ 0, 429, K8S_NEXT_BACKOFF_REWATCH },
		{ 0, 403, K8S_NEXT_BACKOFF_RELIST },
		{ 0, 401, K8S_NEXT_BACKOFF_RELIST },
		{ -EBADMSG, 200, K8S_NEXT_BACKOFF_RELIST },	/* garbage in the stream */
		{ -EREMOTEIO, 200, K8S_NEXT_BACKOFF_RELIST },	/* ERROR 500 */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (k8s_watch_next(cases[i].err, cases[i].status) != cases[i].want)
			fail_msg("case %zu: err=%d status=%ld", i, cases[i].err, cases[i].status);
}

static void test_backoff_bounds(void **state)
{
	struct k8s_backoff b = { .rng = 7 };
	uint32_t d, prev_floor = 0;

	for (int i = 0; i < 1000; i++) {
		uint32_t floor = b.cur_ms < 200 ? 200 : b.cur_ms;

		d = k8s_backoff_next(&b);
		assert_in_range(d, 200, 30000);
		assert_true(d >= floor || d == 30000);
		assert_true(floor >= prev_floor);	/* never shrinks on its own */
		prev_floor = floor;
	}
	assert_int_equal(b.cur_ms, 30000);
	k8s_backoff_reset(&b);
	d = k8s_backoff_next(&b);
	assert_in_range(d, 200, 300);

	/* Jitter: two agents starting together do not retry in lockstep. */
	struct k8s_backoff x = { .rng = 1 }, y = { .rng = 2 };
	int same = 0;

	for (int i = 0; i < 8; i++)
		same += k8s_backoff_next(&x) == k8s_backoff_next(&y);
	assert_true(same < 8);

	struct k8s_backoff small = { .min_ms = 10, .max_ms = 15, .rng = 3 };

	for (int i = 0; i < 20; i++)
		assert_in_range(k8s_backoff_next(&small), 10, 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_split_anywhere),
		cmocka_unit_test(test_lines_byte_by_byte_and_limit),
		cmocka_unit_test(test_decode_pod),
		cmocka_unit_test(test_decode_pod_bad),
		cmocka_unit_test(test_decode_node_and_namespace),
		cmocka_unit_test(test_decode_service),
		cmocka_unit_test(test_decode_service_bad),
		cmocka_unit_test(test_decode_endpointslice),
		cmocka_unit_test(test_decode_netpol),
		cmocka_unit_test(test_cache_churn),
		cmocka_unit_test(test_relist_diff),
		cmocka_unit_test(test_watch_events),
		cmocka_unit_test(test_watch_next),
		cmocka_unit_test(test_backoff_bounds),
	};

	log_setup(LOG_LVL_ERROR + 1, "test", stderr);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

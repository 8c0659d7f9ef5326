// SPDX-License-Identifier: Apache-2.0
/*
 * CNI JSON shapes: the ADD result for each version we speak, its merge into a
 * prevResult, the error and VERSION objects, and reading IP configuration out
 * of an agent answer, a delegated IPAM result or a prevResult.
 */
#include "cni.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- small parsers and formatters ------------------------------------------- */

int cni_ip4_parse(const char *s, uint32_t *ret_be)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ret_be = a.s_addr;
	return 0;
}

int cni_cidr4_parse(const char *s, uint32_t *ret_be, unsigned int *ret_prefixlen)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = s ? strchr(s, '/') : NULL;
	unsigned int plen = 0;
	size_t n;

	if (!slash || (size_t)(slash - s) >= sizeof(ip) || !slash[1] || strlen(slash + 1) > 2)
		return -EINVAL;
	for (const char *p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		plen = plen * 10 + (unsigned int)(*p - '0');
	}
	if (plen > 32)
		return -EINVAL;
	n = (size_t)(slash - s);
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (cni_ip4_parse(ip, ret_be) < 0)
		return -EINVAL;
	*ret_prefixlen = plen;
	return 0;
}

void cni_ip4_format(uint32_t be, char ret[16])
{
	struct in_addr a = { .s_addr = be };

	inet_ntop(AF_INET, &a, ret, INET_ADDRSTRLEN);
}

static json_t *cidr4_json(uint32_t be, unsigned int prefixlen)
{
	char ip[INET_ADDRSTRLEN];

	cni_ip4_format(be, ip);
	return json_sprintf("%s/%u", ip, prefixlen);
}

static json_t *ip4_json(uint32_t be)
{
	char ip[INET_ADDRSTRLEN];

	cni_ip4_format(be, ip);
	return json_string(ip);
}

void cni_mac_format(const uint8_t mac[6], char ret[18])
{
	snprintf(ret, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

const char *cni_logfmt_escape(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; s && *s && n + 2 < size; s++) {
		if (*s == '"' || *s == '\\')
			buf[n++] = '\\';
		buf[n++] = *s == '\n' ? ' ' : *s;
	}
	buf[n] = '\0';
	return buf;
}

static json_t *mac_json(const uint8_t mac[6])
{
	char s[18];

	cni_mac_format(mac, s);
	return json_string(s);
}

/* --- IP configuration in ------------------------------------------------------ */

void cni_ipconf_reset(struct cni_ipconf *ip)
{
	json_decref(ip->dns);
	memset(ip, 0, sizeof(*ip));
}

static void ipconf_default_route(struct cni_ipconf *ip)
{
	ip->routes[0] = (struct cni_route4){ .dst_be = 0, .prefixlen = 0, .gw_be = ip->gw_be };
	ip->n_routes = 1;
}

int cni_ipconf_from_agent(const json_t *resp, struct cni_ipconf *ret, struct cni_error *e)
{
	const json_t *plen = json_object_get(resp, "prefix_len");
	struct cni_ipconf ip = { 0 };

	if (cni_ip4_parse(json_string_value(json_object_get(resp, "ip")), &ip.ip_be) < 0 ||
	    cni_ip4_parse(json_string_value(json_object_get(resp, "gateway")), &ip.gw_be) < 0 ||
	    !json_is_integer(plen) || json_integer_value(plen) < 0 ||
	    json_integer_value(plen) > 32)
		return cni_fail(e, -EPROTO, CNI_ERR_PLUGIN, "bad answer from porin-agent",
				"ip_allocate: missing or malformed ip, prefix_len or gateway");
	ip.prefixlen = (unsigned int)json_integer_value(plen);
	/* Older agents send no "mtu": 0 keeps the config's. */
	if (json_integer_value(json_object_get(resp, "mtu")) >= 68 &&
	    json_integer_value(json_object_get(resp, "mtu")) <= 65535)
		ip.mtu = (unsigned int)json_integer_value(json_object_get(resp, "mtu"));
	ipconf_default_route(&ip);
	*ret = ip;
	return 0;
}

static int ipam_invalid(struct cni_error *e, const char *what)
{
	return cni_fail(e, -EBADMSG, CNI_ERR_INVALID_CONFIG, "invalid network config",
			"delegated IPAM result: %s", what);
}

int cni_ipconf_from_ipam(const json_t *res, struct cni_ipconf *ret, struct cni_error *e)
{
	const json_t *ips = json_object_get(res, "ips"), *routes = json_object_get(res, "routes");
	const json_t *dns = json_object_get(res, "dns"), *item;
	struct cni_ipconf ip = { 0 };
	bool found = false;
	size_t i;

	if (!json_is_array(ips))
		return ipam_invalid(e, "no \"ips\"");
	json_array_foreach(ips, i, item) {
		const char *gw = json_string_value(json_object_get(item, "gateway"));

		/* porin's datapath is IPv4-only: take the first IPv4 address. */
		if (cni_cidr4_parse(json_string_value(json_object_get(item, "address")),
				    &ip.ip_be, &ip.prefixlen) < 0)
			continue;
		if (!gw || cni_ip4_parse(gw, &ip.gw_be) < 0)
			return ipam_invalid(e, "the IPv4 address has no IPv4 gateway");
		found = true;
		break;
	}
	if (!found)
		return ipam_invalid(e, "no IPv4 address");

	if (routes && !json_is_array(routes))
		return ipam_invalid(e, "\"routes\" is not an array");
	json_array_foreach(routes, i, item) {
		const char *gw = json_string_value(json_object_get(item, "gw"));
		struct cni_route4 r = { .gw_be = ip.gw_be };

		if (cni_cidr4_parse(json_string_value(json_object_get(item, "dst")), &r.dst_be,
				    &r.prefixlen) < 0)
			continue;	/* IPv6 or garbage: not ours to install */
		if (gw && cni_ip4_parse(gw, &r.gw_be) < 0)
			return ipam_invalid(e, "a route's \"gw\" is not an IPv4 address");
		if (ip.n_routes == CNI_MAX_ROUTES)
			return ipam_invalid(e, "too many routes");
		ip.routes[ip.n_routes++] = r;
	}
	/* No routes from IPAM: the pod still needs its way out. */
	if (!ip.n_routes)
		ipconf_default_route(&ip);
	if (json_is_object(dns) && json_object_size(dns))
		ip.dns = json_deep_copy(dns);
	*ret = ip;
	return 0;
}

/* --- the ADD result ------------------------------------------------------------ */

static int result_array(json_t *result, const char *key, json_t **ret, struct cni_error *e)
{
	json_t *a = json_object_get(result, key);

	if (!a) {
		a = json_array();
		if (!a || json_object_set_new(result, key, a) < 0)
			return cni_fail(e, -ENOMEM, CNI_ERR_PLUGIN, "out of memory", "result");
	} else if (!json_is_array(a)) {
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "invalid network config",
				"prevResult: \"%s\" is not an array", key);
	}
	*ret = a;
	return 0;
}

int cni_result_build(const struct cni_conf *c, const struct cni_attachment *a, json_t **ret,
		     struct cni_error *e)
{
	json_t *result, *ifaces, *ips, *routes, *host, *pod, *ipj, *dns;
	json_int_t pod_index;
	int err;

	/* Chained after another plugin: keep what it reported, append ours. */
	result = c->prev_result ? json_deep_copy(c->prev_result) : json_object();
	if (!result)
		return cni_fail(e, -ENOMEM, CNI_ERR_PLUGIN, "out of memory", "result");
	if (json_object_set_new(result, "cniVersion", json_string(c->cni_version)) < 0)
		goto err_nomem;
	err = result_array(result, "interfaces", &ifaces, e);
	if (!err)
		err = result_array(result, "ips", &ips, e);
	if (!err)
		err = result_array(result, "routes", &routes, e);
	if (err < 0)
		goto err_free;
	pod_index = (json_int_t)json_array_size(ifaces) + 1;

	host = json_pack("{s:s, s:o}", "name", a->host_ifname, "mac", mac_json(a->host_mac));
	pod = json_pack("{s:s, s:o, s:s}", "name", a->ifname, "mac", mac_json(a->pod_mac),
			"sandbox", a->sandbox);
	if (pod && c->version >= CNI_V110 &&
	    json_object_set_new(pod, "mtu", json_integer(a->mtu)) < 0) {
		json_decref(pod);
		pod = NULL;
	}
	/* porin always configures a /32 (routes go via the gateway), whatever
	 * prefix the IPAM reported; the result says what is configured. */
	if (c->version == CNI_V040)
		ipj = json_pack("{s:s, s:o, s:o, s:I}", "version", "4",
				"address", cidr4_json(a->ip.ip_be, 32),
				"gateway", ip4_json(a->ip.gw_be), "interface", pod_index);
	else
		ipj = json_pack("{s:o, s:o, s:I}", "address", cidr4_json(a->ip.ip_be, 32),
				"gateway", ip4_json(a->ip.gw_be), "interface", pod_index);
	/* The *_new() calls take their argument's reference even on failure. */
	if (json_array_append_new(ifaces, host) < 0 || json_array_append_new(ifaces, pod) < 0 ||
	    json_array_append_new(ips, ipj) < 0)
		goto err_nomem;

	for (unsigned int i = 0; i < a->ip.n_routes; i++) {
		const struct cni_route4 *r = &a->ip.routes[i];

		if (json_array_append_new(routes, json_pack("{s:o, s:o}",
				"dst", cidr4_json(r->dst_be, r->prefixlen),
				"gw", ip4_json(r->gw_be))) < 0)
			goto err_nomem;
	}

	dns = json_object_get(result, "dns");
	if ((!json_is_object(dns) || !json_object_size(dns)) &&
	    json_object_set_new(result, "dns", a->ip.dns ? json_deep_copy(a->ip.dns) :
							   json_object()) < 0)
		goto err_nomem;
	*ret = result;
	return 0;
err_nomem:
	err = cni_fail(e, -ENOMEM, CNI_ERR_PLUGIN, "out of memory", "result");
err_free:
	json_decref(result);
	return err;
}

/* --- prevResult (CHECK) ---------------------------------------------------------- */

int cni_prev_result_find(const json_t *prev, const char *ifname, const char *sandbox,
			 struct cni_ipconf *ret, struct cni_error *e)
{
	const json_t *ifaces = json_object_get(prev, "interfaces");
	const json_t *ips = json_object_get(prev, "ips"), *item;
	json_int_t idx = -1;
	size_t i;

	json_array_foreach(ifaces, i, item) {
		const char *name = json_string_value(json_object_get(item, "name"));
		const char *sb = json_string_value(json_object_get(item, "sandbox"));

		if (name && strcmp(name, ifname) == 0 && sb && (!sandbox || !strcmp(sb, sandbox))) {
			idx = (json_int_t)i;
			break;
		}
	}
	if (idx < 0)
		return cni_fail(e, -ENOENT, CNI_ERR_PLUGIN, "check failed",
				"prevResult has no interface %s in %s", ifname,
				sandbox ? sandbox : "the sandbox");
	json_array_foreach(ips, i, item) {
		const json_t *iface = json_object_get(item, "interface");
		struct cni_ipconf ip = { 0 };

		if (!json_is_integer(iface) || json_integer_value(iface) != idx)
			continue;
		if (cni_cidr4_parse(json_string_value(json_object_get(item, "address")),
				    &ip.ip_be, &ip.prefixlen) < 0)
			continue;
		(void) cni_ip4_parse(json_string_value(json_object_get(item, "gateway")),
				     &ip.gw_be);
		*ret = ip;
		return 0;
	}
	return cni_fail(e, -ENOENT, CNI_ERR_PLUGIN, "check failed",
			"prevResult has no IPv4 address on interface %s", ifname);
}

/* --- error and VERSION ----------------------------------------------------------- */

json_t *cni_error_json(const char *version, const struct cni_error *e)
{
	return json_pack("{s:s, s:i, s:s, s:s}", "cniVersion", version ? version :
			 CNI_VERSION_LATEST, "code", e->code ? e->code : CNI_ERR_PLUGIN,
			 "msg", e->msg[0] ? e->msg : "porin failed", "details", e->details);
}

json_t *cni_version_json(void)
{
	return json_pack("{s:s, s:[sss]}", "cniVersion", CNI_VERSION_LATEST,
			 "supportedVersions", "0.4.0", "1.0.0", "1.1.0");
}

// SPDX-License-Identifier: Apache-2.0
/*
 * CNI CHECK: is the attachment that prevResult describes still whole?  Host
 * veth with porin's TC filters, pod interface with its address and routes,
 * the agent's endpoint record, and the delegated IPAM's own CHECK.
 */
#include "cni.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "netlink.h"
#include "netlink_msg.h"
#include "tc_attach.h"

static int check_fail(struct cni_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int check_fail(struct cni_error *e, const char *fmt, ...)
{
	char details[sizeof(e->details)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(details, sizeof(details), fmt, ap);
	va_end(ap);
	return cni_fail(e, -ENOENT, CNI_ERR_PLUGIN, "check failed", "%s", details);
}

static int pod_nl_open(void *arg)
{
	return nl_open(arg);
}

/* A prevResult route 0.0.0.0/0 via our gateway: ADD installed it. */
static bool prev_has_default_via(const json_t *prev, uint32_t gw_be)
{
	const json_t *r;
	size_t i;

	json_array_foreach(json_object_get(prev, "routes"), i, r) {
		uint32_t dst, gw;
		unsigned int plen;

		if (cni_cidr4_parse(json_string_value(json_object_get(r, "dst")), &dst, &plen) == 0 &&
		    plen == 0 && cni_ip4_parse(json_string_value(json_object_get(r, "gw")), &gw) == 0 &&
		    gw == gw_be)
			return true;
	}
	return false;
}

static int check_pod(const struct cni_env *env, const struct cni_conf *c,
		     const struct cni_ipconf *want, struct cni_error *e)
{
	struct cni_netns ns = { -1, -1 };
	struct nl *nl = NULL;
	int ifindex, err;

	err = cni_netns_open(env->netns, &ns);
	if (err < 0)
		return cni_fail(e, err, CNI_ERR_PLUGIN, "check failed",
				"cannot open CNI_NETNS %s: %s", env->netns, log_errno_name(err));
	err = cni_netns_run(&ns, pod_nl_open, &nl);
	if (err < 0) {
		cni_fail(e, err, CNI_ERR_PLUGIN, "check failed", "netlink in %s: %s", env->netns,
			 log_errno_name(err));
		goto out;
	}
	err = nl_link_get(nl, env->ifname, &ifindex, NULL);
	if (err < 0) {
		check_fail(e, "interface %s is missing in %s", env->ifname, env->netns);
		goto out;
	}
	err = nl_addr_has_v4(nl, ifindex, want->ip_be, want->prefixlen);
	if (err <= 0) {
		err = check_fail(e, "%s lacks its address (from prevResult) in %s", env->ifname,
				 env->netns);
		goto out;
	}
	err = 0;
	if (!want->gw_be)
		goto out;
	err = nl_route_has_v4(nl, want->gw_be, 32, 0, ifindex);
	if (err > 0 && prev_has_default_via(c->prev_result, want->gw_be))
		err = nl_route_has_v4(nl, 0, 0, want->gw_be, ifindex);
	if (err <= 0)
		err = check_fail(e, "%s: a route via the gateway is missing in %s", env->ifname,
				 env->netns);
	else
		err = 0;
out:
	nl_close(nl);
	cni_netns_close(&ns);
	return err;
}

static int check_host(const char *host, int *ret_ifindex, struct cni_error *e)
{
	struct nl *nl;
	int err;

	err = nl_open(&nl);
	if (err < 0)
		return cni_fail(e, err, CNI_ERR_PLUGIN, "check failed", "netlink socket: %s",
				log_errno_name(err));
	err = nl_link_get(nl, host, ret_ifindex, NULL);
	nl_close(nl);
	if (err < 0)
		return check_fail(e, "host veth %s is missing", host);
	if (tc_endpoint_attached(*ret_ifindex) != 1)
		return check_fail(e, "porin's TC programs are not attached to %s", host);
	return 0;
}

static int check_agent(const struct cni_env *env, const struct cni_conf *c,
		       const struct cni_ipconf *want, const char *host, int host_ifindex,
		       struct cni_error *e)
{
	const char *ep_ip, *ep_host;
	char want_ip[16];
	json_t *ep;
	uint32_t ip = 0;
	int err;

	err = cni_agent_endpoint_get(c, env, &ep, e);
	if (err == -ENOENT)
		return check_fail(e, "porin-agent has no endpoint for %s/%s", env->container_id,
				  env->ifname);
	if (err < 0)
		return err;
	ep_ip = json_string_value(json_object_get(ep, "ip"));
	ep_host = json_string_value(json_object_get(ep, "host_ifname"));
	cni_ip4_format(want->ip_be, want_ip);
	if (cni_ip4_parse(ep_ip, &ip) < 0 || ip != want->ip_be)
		err = check_fail(e, "porin-agent's endpoint has IP %s, prevResult says %s",
				 ep_ip ? ep_ip : "none", want_ip);
	else if (!ep_host || strcmp(ep_host, host) != 0 ||
		 json_integer_value(json_object_get(ep, "host_ifindex")) != host_ifindex)
		err = check_fail(e, "porin-agent's endpoint names host veth %s, not %s",
				 ep_host ? ep_host : "none", host);
	json_decref(ep);
	return err;
}

int cni_cmd_check(const struct cni_env *env, const struct cni_conf *c, struct cni_error *e)
{
	struct cni_ipconf want = { 0 };
	char host[IFNAMSIZ];
	int host_ifindex, err;

	err = cni_prev_result_find(c->prev_result, env->ifname, env->netns, &want, e);
	if (err < 0)
		return err;
	cni_host_ifname(env->container_id, env->ifname, host);
	err = check_host(host, &host_ifindex, e);
	if (!err)
		err = check_pod(env, c, &want, e);
	if (!err)
		err = check_agent(env, c, &want, host, host_ifindex, e);
	if (!err && c->ipam_type)
		err = cni_ipam_exec(env, c, CNI_CMD_CHECK, NULL, e);
	return err;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Typed calls of the agent's local API (lib/api.h).  The mapping of failures
 * to CNI codes lives here: no agent listening, or a broken conversation, is
 * "try again later" (11) so the runtime retries; a refusal is porin's own
 * error (100) carrying the agent's text.
 */
#include "cni.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"

/* Send @req (stolen).  A refusal with errno @tolerate is returned as is,
 * without recording an error. */
static int agent_call(const struct cni_conf *c, json_t *req, json_t **ret_resp, int tolerate,
		      struct cni_error *e)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	char opname[32];
	json_t *resp = NULL;
	int err;

	if (!req)
		return cni_fail(e, -ENOMEM, CNI_ERR_PLUGIN, "out of memory", "agent request");
	snprintf(opname, sizeof(opname), "%s", op ? op : "?");
	err = api_call(c->agent_socket, req, &resp);
	json_decref(req);
	if (err < 0 && !resp)
		return cni_fail(e, err, CNI_ERR_TRY_AGAIN, "try again later",
				"porin-agent not reachable at %s (%s: %s)", c->agent_socket, opname,
				api_agent_unreachable(err) ? "no agent listening" :
				log_errno_name(err));
	if (err < 0) {
		if (err != tolerate) {
			bool busy = err == -EAGAIN || err == -EBUSY;

			cni_fail(e, err, busy ? CNI_ERR_TRY_AGAIN : CNI_ERR_PLUGIN,
				 busy ? "try again later" : "porin-agent refused the request",
				 "%s: %s (%s)", opname, api_error_text(resp), log_errno_name(err));
		}
		json_decref(resp);
		return err;
	}
	if (ret_resp)
		*ret_resp = resp;
	else
		json_decref(resp);
	return 0;
}

int cni_agent_ip_allocate(const struct cni_conf *c, const struct cni_env *env,
			  struct cni_ipconf *ret, struct cni_error *e)
{
	json_t *resp;
	int err;

	err = agent_call(c, json_pack("{s:s, s:s, s:s}", "op", "ip_allocate",
				      "container_id", env->container_id, "ifname", env->ifname),
			 &resp, 0, e);
	if (err < 0)
		return err;
	err = cni_ipconf_from_agent(resp, ret, e);
	json_decref(resp);
	if (err < 0)
		/* Allocated but unusable: hand it back (best effort). */
		(void) agent_call(c, json_pack("{s:s, s:s, s:s}", "op", "ip_release",
					       "container_id", env->container_id,
					       "ifname", env->ifname), NULL, 0, NULL);
	return err;
}

int cni_agent_ip_release(const struct cni_conf *c, const struct cni_env *env,
			 struct cni_error *e)
{
	return agent_call(c, json_pack("{s:s, s:s, s:s}", "op", "ip_release",
				       "container_id", env->container_id, "ifname", env->ifname),
			  NULL, 0, e);
}

int cni_agent_endpoint_add(const struct cni_conf *c, const struct cni_env *env,
			   const struct cni_attachment *a, struct cni_error *e)
{
	char ip[16], host_mac[18], pod_mac[18];
	json_t *req;

	cni_ip4_format(a->ip.ip_be, ip);
	cni_mac_format(a->host_mac, host_mac);
	cni_mac_format(a->pod_mac, pod_mac);
	req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}", "op", "endpoint_add",
			"container_id", env->container_id, "ifname", env->ifname,
			"netns", a->sandbox, "ip", ip, "host_ifname", a->host_ifname,
			"host_ifindex", a->host_ifindex, "host_mac", host_mac, "pod_mac", pod_mac);
	if (req && env->pod_namespace[0])
		json_object_set_new(req, "pod_namespace", json_string(env->pod_namespace));
	if (req && env->pod_name[0])
		json_object_set_new(req, "pod_name", json_string(env->pod_name));
	return agent_call(c, req, NULL, 0, e);
}

/* 1 when the agent answered "pending" (it deletes the recorded veth itself,
 * in the background), else 0; or -errno. */
int cni_agent_endpoint_delete(const struct cni_conf *c, const char *container_id,
			      const char *ifname, char ret_host_ifname[IFNAMSIZ],
			      struct cni_error *e)
{
	const char *host;
	json_t *resp;
	int err, pending;

	ret_host_ifname[0] = '\0';
	err = agent_call(c, json_pack("{s:s, s:s, s:s}", "op", "endpoint_delete",
				      "container_id", container_id, "ifname", ifname),
			 &resp, 0, e);
	if (err < 0)
		return err;
	host = json_string_value(json_object_get(resp, "host_ifname"));
	if (host && cni_ifname_valid(host))
		snprintf(ret_host_ifname, IFNAMSIZ, "%s", host);
	pending = json_is_true(json_object_get(resp, "pending")) && ret_host_ifname[0];
	json_decref(resp);
	return pending;
}

int cni_agent_endpoint_get(const struct cni_conf *c, const struct cni_env *env,
			   json_t **ret_endpoint, struct cni_error *e)
{
	json_t *resp, *ep;
	int err;

	err = agent_call(c, json_pack("{s:s, s:s, s:s}", "op", "endpoint_get",
				      "container_id", env->container_id, "ifname", env->ifname),
			 &resp, -ENOENT, e);
	if (err < 0)
		return err;
	ep = json_object_get(resp, "endpoint");
	if (!json_is_object(ep)) {
		json_decref(resp);
		return cni_fail(e, -EPROTO, CNI_ERR_PLUGIN, "bad answer from porin-agent",
				"endpoint_get: no endpoint object");
	}
	*ret_endpoint = json_incref(ep);
	json_decref(resp);
	return 0;
}

int cni_agent_status(const struct cni_conf *c, bool *ret_ready, struct cni_error *e)
{
	json_t *resp;
	int err;

	err = agent_call(c, json_pack("{s:s}", "op", "status"), &resp, 0, e);
	if (err < 0)
		return err;
	*ret_ready = json_is_true(json_object_get(resp, "ready"));
	json_decref(resp);
	return 0;
}

int cni_agent_gc(const struct cni_conf *c, json_t *valid, json_t **ret_removed,
		 struct cni_error *e)
{
	json_t *resp, *removed;
	int err;

	err = agent_call(c, json_pack("{s:s, s:o}", "op", "gc", "valid", valid), &resp, 0, e);
	if (err < 0)
		return err;
	removed = json_object_get(resp, "removed");
	*ret_removed = json_is_array(removed) ? json_incref(removed) : json_array();
	json_decref(resp);
	return 0;
}

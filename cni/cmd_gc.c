// SPDX-License-Identifier: Apache-2.0
/*
 * CNI GC (1.1.0): the runtime lists the attachments that are still valid;
 * the agent drops every other endpoint and IP, and tells us which host veths
 * belonged to them, which we delete.  The delegated IPAM gets GC as well.
 */
#include "cni.h"

#include <errno.h>
#include <string.h>

#include "netlink.h"

/* The runtime's {containerID, ifname} → the agent's {container_id, ifname}. */
static json_t *gc_valid_list(const struct cni_conf *c)
{
	json_t *valid = json_array();
	const json_t *item;
	size_t i;

	json_array_foreach(c->valid_attachments, i, item) {
		if (!valid || json_array_append_new(valid, json_pack("{s:O, s:O}",
				"container_id", json_object_get(item, "containerID"),
				"ifname", json_object_get(item, "ifname"))) < 0) {
			json_decref(valid);
			return NULL;
		}
	}
	return valid;
}

static void gc_delete_veths(const json_t *removed)
{
	const json_t *item;
	struct nl *nl;
	size_t i;
	int err;

	if (!json_array_size(removed))
		return;
	err = nl_open(&nl);
	if (err < 0) {
		log_warn("gc: no netlink socket", "err=%s", log_errno_name(err));
		return;
	}
	json_array_foreach(removed, i, item) {
		const char *host = json_string_value(json_object_get(item, "host_ifname"));
		const char *cid = json_string_value(json_object_get(item, "container_id"));
		const char *ifname = json_string_value(json_object_get(item, "ifname"));
		char name[IFNAMSIZ];

		/* An IP without an endpoint has no recorded veth; the name is
		 * deterministic, so a leftover of a killed ADD is found too. */
		if (host && cni_ifname_valid(host))
			snprintf(name, sizeof(name), "%s", host);
		else if (cid && ifname)
			cni_host_ifname(cid, ifname, name);
		else
			continue;
		err = nl_link_del(nl, name);
		if (err < 0)
			log_warn("gc: veth delete failed", "ifname=%s err=%s", name,
				 log_errno_name(err));
		else
			log_info("gc: attachment removed", "container=%.12s ifname=%s host_ifname=%s",
				 cid ? cid : "", ifname ? ifname : "", name);
	}
	nl_close(nl);
}

int cni_cmd_gc(const struct cni_env *env, const struct cni_conf *c, struct cni_error *e)
{
	json_t *valid, *removed = NULL;
	int err;

	valid = gc_valid_list(c);
	if (!valid)
		return cni_fail(e, -ENOMEM, CNI_ERR_PLUGIN, "out of memory", "gc");
	err = cni_agent_gc(c, valid, &removed, e);
	if (err < 0)
		return err;
	gc_delete_veths(removed);
	json_decref(removed);
	/* A plugin older than 1.1.0 has no GC to forward to. */
	if (!c->ipam_type || !cni_ipam_speaks_v110(env, c))
		return 0;
	return cni_ipam_exec(env, c, CNI_CMD_GC, NULL, e);
}

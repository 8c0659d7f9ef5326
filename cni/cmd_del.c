// SPDX-License-Identifier: Apache-2.0
/*
 * CNI DEL: undo ADD, and succeed when there is nothing (left) to undo.  The
 * pod netns is not needed (CNI_NETNS may be empty or already gone): deleting
 * the host end of the veth takes the pod end with it, wherever it is.
 */
#include "cni.h"

#include <errno.h>
#include <string.h>

#include "netlink.h"

int cni_cmd_del(const struct cni_env *env, const struct cni_conf *c, struct cni_error *e)
{
	char host[IFNAMSIZ], recorded[IFNAMSIZ];
	struct nl *nl;
	int err;

	cni_host_ifname(env->container_id, env->ifname, host);
	err = nl_open(&nl);
	if (err < 0)
		return cni_fail(e, err, CNI_ERR_PLUGIN, "failed to tear down the pod network",
				"netlink socket: %s", log_errno_name(err));
	err = nl_link_del(nl, host);
	if (err < 0) {
		cni_fail(e, err, CNI_ERR_PLUGIN, "failed to tear down the pod network",
			 "delete %s: %s", host, log_errno_name(err));
		goto out;
	}
	/* Removes the map entries and releases the agent's IP; a no-op when
	 * the agent never heard of this attachment. */
	err = cni_agent_endpoint_delete(c, env->container_id, env->ifname, recorded, e);
	if (err < 0)
		goto out;
	if (recorded[0] && strcmp(recorded, host) != 0) {
		err = nl_link_del(nl, recorded);
		if (err < 0) {
			cni_fail(e, err, CNI_ERR_PLUGIN, "failed to tear down the pod network",
				 "delete %s: %s", recorded, log_errno_name(err));
			goto out;
		}
	}
	if (c->ipam_type) {
		err = cni_ipam_exec(env, c, CNI_CMD_DEL, NULL, e);
		if (err < 0)
			goto out;
	}
	log_info("pod detached", "container=%.12s ifname=%s host_ifname=%s", env->container_id,
		 env->ifname, host);
out:
	nl_close(nl);
	return err;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * CNI DEL: undo ADD, and succeed when there is nothing (left) to undo.  The
 * pod netns is not needed (CNI_NETNS may be empty or already gone): deleting
 * the host end of the veth takes the pod end with it, wherever it is.
 *
 * The veth is the agent's to delete.  Deleting one blocks the caller for
 * ~20 ms in the kernel (RCU grace periods in unregister_netdevice), so
 * endpoint_delete removes the pod's map entries at once, queues the veth for
 * the agent's background worker and answers "pending"; the agent releases
 * the IP only once the veth is gone.  DEL deletes a veth itself only when
 * the agent did not take one: no endpoint was recorded (an ADD that died
 * before registering it, or a repeated DEL: then the look-up is all it
 * costs), or the agent failed or cannot be reached.  Then DEL fails with the
 * agent's error (11 when unreachable) and the runtime's retry lets the agent
 * catch up.
 */
#include "cni.h"

#include <errno.h>
#include <string.h>

#include "netlink.h"

/* Delete the links named @a and @b (either may be NULL or ""); gone already
 * is fine.  Records the first failure in @e. */
static int links_delete(const char *a, const char *b, struct cni_error *e)
{
	const char *names[] = { a, b };
	struct nl *nl;
	int err;

	err = nl_open(&nl);
	if (err < 0)
		return cni_fail(e, err, CNI_ERR_PLUGIN, "failed to tear down the pod network",
				"netlink socket: %s", log_errno_name(err));
	for (size_t i = 0; i < 2; i++) {
		if (!names[i] || !names[i][0])
			continue;
		err = nl_link_del(nl, names[i]);
		if (err < 0) {
			cni_fail(e, err, CNI_ERR_PLUGIN, "failed to tear down the pod network",
				 "delete %s: %s", names[i], log_errno_name(err));
			break;
		}
	}
	nl_close(nl);
	return err;
}

int cni_cmd_del(const struct cni_env *env, const struct cni_conf *c, struct cni_error *e)
{
	char host[IFNAMSIZ], recorded[IFNAMSIZ];
	int err, pending;

	cni_host_ifname(env->container_id, env->ifname, host);
	pending = cni_agent_endpoint_delete(c, env->container_id, env->ifname, recorded, e);
	if (pending < 0) {
		/* The pod is going regardless: take its veth now, as before the
		 * agent had a worker; the agent's error (first) is reported. */
		(void) links_delete(host, NULL, e);
		return pending;
	}
	if (!pending)
		err = links_delete(host, strcmp(recorded, host) != 0 ? recorded : NULL, e);
	else if (strcmp(recorded, host) != 0)
		err = links_delete(host, NULL, e);	/* the agent has the recorded one */
	else
		err = 0;
	if (err < 0)
		return err;
	if (c->ipam_type) {
		err = cni_ipam_exec(env, c, CNI_CMD_DEL, NULL, e);
		if (err < 0)
			return err;
	}
	log_info("pod detached", "container=%.12s ifname=%s host_ifname=%s veth=%s",
		 env->container_id, env->ifname, pending ? recorded : host,
		 pending ? "agent" : "deleted");
	return 0;
}

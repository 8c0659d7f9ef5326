// SPDX-License-Identifier: Apache-2.0
/*
 * CNI STATUS (1.1.0): ready for ADD when the agent answers and says ready,
 * and the delegated IPAM (if any) agrees.  Otherwise code 50.
 */
#include "cni.h"

#include <errno.h>

int cni_cmd_status(const struct cni_env *env, const struct cni_conf *c, struct cni_error *e)
{
	struct cni_error why = { 0 };
	bool ready = false;
	int err;

	err = cni_agent_status(c, &ready, &why);
	if (err < 0)
		return cni_fail(e, err, CNI_ERR_NOT_AVAILABLE, "plugin not available", "%s",
				why.details);
	if (!ready)
		return cni_fail(e, -EAGAIN, CNI_ERR_NOT_AVAILABLE, "plugin not available",
				"porin-agent at %s is not ready", c->agent_socket);
	/* A plugin older than 1.1.0 has no STATUS to forward to. */
	if (!c->ipam_type || !cni_ipam_speaks_v110(env, c))
		return 0;
	return cni_ipam_exec(env, c, CNI_CMD_STATUS, NULL, e);
}

// SPDX-License-Identifier: Apache-2.0
#include "porinctl_common.h"

#include <stdio.h>
#include <string.h>

#include "api.h"

static int call(const char *socket_path, json_t *req, json_t **ret_resp)
{
	const char *op;
	json_t *resp = NULL;
	int err;

	if (!req) {
		fprintf(stderr, "porinctl: out of memory\n");
		return PORINCTL_EXIT_FAIL;
	}
	err = api_call(socket_path, req, &resp);
	op = json_string_value(json_object_get(req, "op"));
	if (err < 0 && !resp) {
		if (api_agent_unreachable(err))
			fprintf(stderr, "porinctl: cannot reach porin-agent at %s: %s "
				"(is the agent running?)\n", socket_path, strerror(-err));
		else
			fprintf(stderr, "porinctl: request to %s failed: %s\n", socket_path,
				strerror(-err));
		return PORINCTL_EXIT_FAIL;
	}
	if (err < 0) {
		fprintf(stderr, "porinctl: agent refused %s: %s\n", op ? op : "the request",
			api_error_text(resp));
		json_decref(resp);
		return PORINCTL_EXIT_FAIL;
	}
	*ret_resp = resp;
	return PORINCTL_EXIT_OK;
}

int porinctl_call(const char *socket_path, json_t *req, json_t **ret_resp)
{
	int ret = call(socket_path, req, ret_resp);

	json_decref(req);	/* NULL-safe */
	return ret;
}

void porinctl_print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

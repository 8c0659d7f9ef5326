// SPDX-License-Identifier: Apache-2.0
/*
 * porin CNI plugin entry: read CNI_COMMAND and the stdin config, dispatch to
 * the verb, print exactly one JSON object (result or error) on stdout.
 * Everything else goes to stderr in logfmt.
 */
#include "cni.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "growbuf.h"

#define CNI_STDIN_MAX	API_MAX_MESSAGE

extern char **environ;

static int print_json(json_t *j)
{
	int err = 0;

	if (!j || json_dumpf(j, stdout, JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) == EOF)
		err = -EIO;
	json_decref(j);
	return err;
}

static int run(const struct cni_env *env, const struct cni_conf *c, struct cni_error *e)
{
	json_t *result = NULL;
	int err;

	switch (env->cmd) {
	case CNI_CMD_ADD:
		err = cni_cmd_add(env, c, &result, e);
		if (err < 0)
			return err;
		/* If stdout is gone the runtime sees the exit code and DELs. */
		err = print_json(result);
		if (err < 0)
			return cni_fail(e, err, CNI_ERR_IO, "I/O error", "cannot write the result");
		return 0;
	case CNI_CMD_DEL:
		return cni_cmd_del(env, c, e);
	case CNI_CMD_CHECK:
		return cni_cmd_check(env, c, e);
	case CNI_CMD_STATUS:
		return cni_cmd_status(env, c, e);
	case CNI_CMD_GC:
		return cni_cmd_gc(env, c, e);
	default:
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "invalid environment variables",
				"unsupported CNI_COMMAND");
	}
}

int main(void)
{
	static char stderr_buf[4096];
	const char *cmd_name = getenv("CNI_COMMAND");
	struct cni_error e = { 0 };
	char quoted[2 * sizeof(e.msg)], quoted2[2 * sizeof(e.details)];
	struct cni_conf c = { 0 };
	struct cni_env env;
	enum cni_command cmd = CNI_CMD_NONE;
	char *in = NULL;
	size_t in_len = 0;
	int err;

	/* One write per log line: unbuffered stderr costs a syscall per
	 * character in log.c's fputc loop, and lines from concurrent plugins
	 * sharing the runtime's log would interleave. */
	setvbuf(stderr, stderr_buf, _IOLBF, sizeof(stderr_buf));
	/* A runtime that stops reading must not kill us mid-unwind: EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	log_setup(LOG_LVL_INFO, "porin", stderr);

	/* VERSION needs no config: answer without reading stdin. */
	if (cmd_name && strcmp(cmd_name, "VERSION") == 0)
		return print_json(cni_version_json()) < 0 ? 1 : 0;

	err = growbuf_read_fd(STDIN_FILENO, CNI_STDIN_MAX, &in, &in_len);
	if (err < 0) {
		cni_fail(&e, err, CNI_ERR_IO, "I/O error", "reading stdin: %s", log_errno_name(err));
		goto fail;
	}
	if (!cmd_name || !*cmd_name) {
		err = cni_fail(&e, -EINVAL, CNI_ERR_INVALID_ENV, "invalid environment variables",
			       "CNI_COMMAND is not set");
		goto fail;
	}
	if (cni_command_parse(cmd_name, &cmd) < 0) {
		err = cni_fail(&e, -EINVAL, CNI_ERR_INVALID_ENV, "invalid environment variables",
			       "unknown CNI_COMMAND \"%.32s\"", cmd_name);
		goto fail;
	}
	err = cni_conf_parse(&c, in, in_len, cmd, &e);
	if (err < 0)
		goto fail;
	if (c.log_level_set)
		log_setup(c.log_level, "porin", stderr);
	err = cni_env_parse(&env, environ, &e);
	if (err < 0)
		goto fail;
	err = run(&env, &c, &e);
	if (err < 0)
		goto fail;
	cni_conf_free(&c);
	free(in);
	return 0;
fail:
	if (!e.code)
		cni_fail(&e, err, CNI_ERR_PLUGIN, "porin failed", "%s", log_errno_name(err));
	log_warn("CNI request failed",
		 "command=%s container=%.12s code=%d msg=\"%s\" details=\"%s\"",
		 cmd_name ? cmd_name : "", getenv("CNI_CONTAINERID") ?: "", e.code,
		 cni_logfmt_escape(e.msg, quoted, sizeof(quoted)),
		 cni_logfmt_escape(e.details, quoted2, sizeof(quoted2)));
	print_json(cni_error_json(c.cni_version ? c.cni_version : cni_error_version(in, in_len),
				  &e));
	cni_conf_free(&c);
	free(in);
	return 1;
}

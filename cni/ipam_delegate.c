// SPDX-License-Identifier: Apache-2.0
/*
 * Delegated IPAM: exec ipam.type from CNI_PATH the way a runtime execs us
 * (same environment with CNI_COMMAND set, our config on stdin) and read its
 * result or error from its stdout.  stdin is a memfd, so a large config can
 * never deadlock against a plugin that writes before it reads.
 */
#include "cni.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "growbuf.h"

#define IPAM_OUTPUT_MAX		(1 << 20)

extern char **environ;

static int ipam_find(const char *cni_path, const char *type, char ret[PATH_MAX])
{
	const char *p = cni_path;

	while (p && *p) {
		const char *end = strchrnul(p, ':');
		int n = snprintf(ret, PATH_MAX, "%.*s/%s", (int)(end - p), p, type);

		if (end > p && n < PATH_MAX && access(ret, X_OK) == 0)
			return 0;
		p = *end ? end + 1 : end;
	}
	return -ENOENT;
}

/* Our environment with CNI_COMMAND replaced; the strings are borrowed. */
static char **ipam_envp(char *cmd_var)
{
	size_t n = 0, j = 0;
	char **envp;

	while (environ && environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "CNI_COMMAND=", strlen("CNI_COMMAND=")) != 0)
			envp[j++] = environ[i];
	}
	envp[j++] = cmd_var;
	envp[j] = NULL;
	return envp;
}

/* The stdin we hand on.  Plugins that predate 1.1.0 (Debian's host-local
 * speaks up to 1.0.0) refuse a 1.1.0 config, and ADD/DEL/CHECK look the same
 * in 1.0.0, so those go out as 1.0.0. */
static int ipam_stdin(const struct cni_conf *c, enum cni_command cmd)
{
	bool downgrade = c->version == CNI_V110 &&
			 (cmd == CNI_CMD_ADD || cmd == CNI_CMD_DEL || cmd == CNI_CMD_CHECK);
	json_t *conf = json_copy(c->root);
	char *data = NULL;
	size_t len, off = 0;
	int fd = -1, err;

	if (!conf)
		return -ENOMEM;
	if (downgrade && json_object_set_new(conf, "cniVersion", json_string("1.0.0")) < 0) {
		err = -ENOMEM;
		goto out;
	}
	data = json_dumps(conf, JSON_COMPACT);
	if (!data) {
		err = -ENOMEM;
		goto out;
	}
	fd = memfd_create("porin-ipam-stdin", MFD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	len = strlen(data);
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	err = lseek(fd, 0, SEEK_SET) < 0 ? -errno : fd;
out:
	if (err < 0 && fd >= 0)
		close(fd);
	free(data);
	json_decref(conf);
	return err;
}

/* Run @path; its stdout in *ret_out, its wait status in *ret_status. */
static int ipam_spawn(const char *path, int stdin_fd, char *cmd_var, char **ret_out,
		      size_t *ret_len, int *ret_status)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dfl;
	char *argv[] = { (char *)path, NULL };
	char **envp;
	int pipefd[2], err, rd;
	pid_t pid;

	envp = ipam_envp(cmd_var);
	if (!envp)
		return -ENOMEM;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		err = -errno;
		goto err_envp;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, stdin_fd, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	/* main() ignores SIGPIPE; the plugin gets the default back. */
	posix_spawnattr_init(&attr);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	err = -posix_spawn(&pid, path, &fa, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (err < 0)
		goto err_pipe;
	rd = growbuf_read_fd(pipefd[0], IPAM_OUTPUT_MAX, ret_out, ret_len);
	close(pipefd[0]);
	while (waitpid(pid, ret_status, 0) < 0) {
		if (errno != EINTR) {
			err = -errno;
			if (rd == 0)
				free(*ret_out);
			goto err_envp;
		}
	}
	free(envp);
	return rd;
err_pipe:
	close(pipefd[0]);
err_envp:
	free(envp);
	return err;
}

int cni_ipam_exec(const struct cni_env *env, const struct cni_conf *c, enum cni_command cmd,
		  json_t **ret_result, struct cni_error *e)
{
	const char *type = c->ipam_type;
	char path[PATH_MAX], cmd_var[32], *out = NULL;
	json_t *res = NULL;
	size_t len = 0;
	int in_fd, status, err;

	if (ipam_find(env->cni_path, type, path) < 0)
		return cni_fail(e, -ENOENT, CNI_ERR_INVALID_CONFIG, "invalid network config",
				"IPAM plugin \"%s\" not found in CNI_PATH \"%s\"", type,
				env->cni_path ? env->cni_path : "");
	in_fd = ipam_stdin(c, cmd);
	if (in_fd < 0)
		return cni_fail(e, in_fd, CNI_ERR_IO, "I/O error", "IPAM %s stdin: %s", type,
				log_errno_name(in_fd));
	snprintf(cmd_var, sizeof(cmd_var), "CNI_COMMAND=%s", cni_command_name(cmd));
	err = ipam_spawn(path, in_fd, cmd_var, &out, &len, &status);
	close(in_fd);
	if (err < 0)
		return cni_fail(e, err, CNI_ERR_IO, "I/O error", "exec IPAM %s: %s", path,
				log_errno_name(err));

	if (len)
		res = json_loadb(out, len, 0, NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		const json_t *code = json_object_get(res, "code");
		const char *msg = json_string_value(json_object_get(res, "msg"));
		const char *details = json_string_value(json_object_get(res, "details"));

		/* Pass the plugin's own verdict through: its code may be 11. */
		err = cni_fail(e, -EIO, json_integer_value(code) > 0 ?
				(int)json_integer_value(code) : CNI_ERR_PLUGIN,
				msg ? msg : "delegated IPAM failed",
				"IPAM %s %s: %s", type, cni_command_name(cmd),
				details && *details ? details :
				WIFEXITED(status) ? "non-zero exit" : "killed by a signal");
		goto out;
	}
	if (cmd == CNI_CMD_ADD || cmd == CNI_CMD_VERSION) {
		if (!json_is_object(res)) {
			err = cni_fail(e, -EBADMSG, CNI_ERR_PLUGIN, "delegated IPAM failed",
				       "IPAM %s %s printed no JSON result", type,
				       cni_command_name(cmd));
			goto out;
		}
		*ret_result = res;
		res = NULL;
	}
	err = 0;
out:
	json_decref(res);
	free(out);
	return err;
}

bool cni_ipam_speaks_v110(const struct cni_env *env, const struct cni_conf *c)
{
	struct cni_error ignored = { 0 };
	const json_t *v;
	json_t *info = NULL;
	bool yes = false;
	size_t i;

	if (cni_ipam_exec(env, c, CNI_CMD_VERSION, &info, &ignored) < 0)
		return false;
	json_array_foreach(json_object_get(info, "supportedVersions"), i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), "1.1.0") == 0)
			yes = true;
	}
	json_decref(info);
	return yes;
}

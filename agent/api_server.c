// SPDX-License-Identifier: Apache-2.0
#include "api_server.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "fsutil.h"
#include "growbuf.h"
#include "log.h"

/* Connections served per wakeup before the loop looks at other fds
 * (signals) again. */
#define ACCEPT_BATCH	64

struct api_server {
	int fd;
	char *path;
	api_handler_fn fn;
	void *ctx;
};

json_t *api_error(int err, const char *text)
{
	return json_pack("{s:b, s:i, s:s}", "ok", 0, "errno", -err,
			 "error", text ? text : strerror(-err));
}

static int parent_dir_ensure(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (!slash || slash == path)
		return 0;
	if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;	/* existing: leave its mode */
	return fs_mkdir_p(dir, 0700);
}

/* Remove a leftover socket from an agent that died, never a live one. */
static int stale_socket_remove(const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, err;

	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	if (err == 0)
		return -EADDRINUSE;
	if (unlink(addr->sun_path) < 0 && errno != ENOENT)
		return -errno;
	log_info("removed stale socket", "socket=%s", addr->sun_path);
	return 0;
}

int api_server_open(const char *path, api_handler_fn fn, void *ctx, struct api_server **ret)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct api_server *srv;
	mode_t old_umask;
	int err;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->fd = -1;
	srv->fn = fn;
	srv->ctx = ctx;
	srv->path = strdup(path);
	if (!srv->path) {
		err = -ENOMEM;
		goto err_free;
	}
	err = parent_dir_ensure(path);
	if (err < 0)
		goto err_free;
	err = stale_socket_remove(&addr);
	if (err < 0)
		goto err_free;

	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->fd < 0) {
		err = -errno;
		goto err_free;
	}
	/* No window in which the socket exists with a wider mode. */
	old_umask = umask(0177);
	err = bind(srv->fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (err < 0) {
		err = -errno;
		goto err_close;
	}
	if (chmod(path, 0600) < 0 || listen(srv->fd, API_SERVER_BACKLOG) < 0) {
		err = -errno;
		goto err_unlink;
	}
	*ret = srv;
	return 0;

err_unlink:
	unlink(path);
err_close:
	close(srv->fd);
err_free:
	free(srv->path);
	free(srv);
	return err;
}

void api_server_close(struct api_server *srv)
{
	if (!srv)
		return;
	close(srv->fd);
	unlink(srv->path);
	free(srv->path);
	free(srv);
}

int api_server_fd(const struct api_server *srv)
{
	return srv->fd;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Read one '\n'-terminated (or EOF-terminated) request. */
static int read_request(int fd, char **ret_buf, size_t *ret_len)
{
	long deadline = now_ms() + API_SERVER_IO_TIMEOUT_MS;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nl;
	int err;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		err = growbuf_reserve(&buf, &cap, len, 1, API_MAX_MESSAGE);
		if (err < 0)
			goto fail;
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			goto fail;
		}
		if (n == 0)
			break;
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			len = (size_t)(nl - buf);
			break;
		}
		/* SO_RCVTIMEO bounds each recv(); this bounds the whole request
		 * against a client that dribbles bytes. */
		if (now_ms() > deadline) {
			err = -ETIMEDOUT;
			goto fail;
		}
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
fail:
	free(buf);
	return err;
}

static void send_answer(int fd, json_t *resp)
{
	char *text = json_dumps(resp, JSON_COMPACT);
	static const char oom[] = "{\"ok\":false,\"errno\":12,\"error\":\"out of memory\"}\n";
	size_t len, off = 0;

	if (!text) {
		(void)send(fd, oom, sizeof(oom) - 1, MSG_NOSIGNAL);
		return;
	}
	len = strlen(text);
	text[len] = '\n';	/* replaces the NUL; we send by length */
	len++;
	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_debug("cannot send answer", "err=%s", log_errno_name(-errno));
			break;
		}
		off += (size_t)n;
	}
	free(text);
}

static void serve(struct api_server *srv, int fd)
{
	struct timeval tv = {
		.tv_sec = API_SERVER_IO_TIMEOUT_MS / 1000,
		.tv_usec = (API_SERVER_IO_TIMEOUT_MS % 1000) * 1000,
	};
	json_t *req = NULL, *resp = NULL;
	json_error_t jerr;
	size_t len = 0;
	char *buf = NULL;
	int err;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		log_warn("cannot set socket timeouts", "err=%s", log_errno_name(-errno));
		return;
	}
	err = read_request(fd, &buf, &len);
	if (err == -EMSGSIZE) {
		resp = api_error(err, "request too large");
		goto answer;
	}
	if (err < 0) {
		log_debug("dropping connection", "err=%s", log_errno_name(err));
		return;
	}
	req = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!json_is_object(req)) {
		char text[256];

		snprintf(text, sizeof(text), "request is not a JSON object%s%s",
			 req ? "" : ": ", req ? "" : jerr.text);
		resp = api_error(-EINVAL, text);
		goto answer;
	}
	resp = srv->fn(srv->ctx, req);
answer:
	if (resp)
		send_answer(fd, resp);
	else
		send_answer(fd, NULL);
	json_decref(resp);
	json_decref(req);
}

int api_server_on_ready(void *data, int fd, uint32_t events)
{
	struct api_server *srv = data;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept failed", "err=%s", log_errno_name(-errno));
			break;
		}
		serve(srv, cfd);
		close(cfd);
	}
	return 0;
}

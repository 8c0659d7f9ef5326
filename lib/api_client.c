// SPDX-License-Identifier: Apache-2.0
#include "api.h"
#include "growbuf.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

_Static_assert(ENOENT == 2 && ECONNREFUSED == 111 && ETIMEDOUT == 110,
	       "api_agent_unreachable() hard-codes these errno values");

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long left = deadline - now_ms();
	int n;

	if (left <= 0)
		return -ETIMEDOUT;
	n = poll(&p, 1, (int)left);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int write_all(int fd, const char *buf, size_t len, long deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int err = wait_fd(fd, POLLOUT, deadline);

			if (err < 0)
				return err;
			continue;
		}
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until '\n' or EOF; returns the NUL-terminated line in *ret. */
static int read_line(int fd, char **ret, long deadline)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int err;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		/* Room to read into, and for the final NUL. */
		err = growbuf_reserve(&buf, &cap, len, 2, API_MAX_MESSAGE);
		if (err < 0)
			goto fail;
		err = wait_fd(fd, POLLIN, deadline);
		if (err < 0)
			goto fail;
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			err = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - n, '\n', (size_t)n))
			break;
	}
	buf[len] = '\0';
	*ret = buf;
	return 0;
fail:
	free(buf);
	return err;
}

int api_call(const char *socket_path, json_t *req, json_t **ret_resp)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	long deadline = now_ms() + API_TIMEOUT_MS;
	json_error_t jerr;
	char *out = NULL, *line = NULL;
	json_t *resp;
	int fd, err;

	*ret_resp = NULL;
	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, socket_path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A full listen backlog answers EAGAIN on unix sockets: wait and retry. */
	while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		struct timespec pause = { .tv_nsec = 2 * 1000 * 1000 };

		if (errno != EAGAIN && errno != EINTR) {
			err = -errno;
			goto out;
		}
		if (now_ms() >= deadline) {
			err = -ETIMEDOUT;
			goto out;
		}
		nanosleep(&pause, NULL);
	}

	out = json_dumps(req, JSON_COMPACT);
	if (!out) {
		err = -ENOMEM;
		goto out;
	}
	err = write_all(fd, out, strlen(out), deadline);
	if (!err)
		err = write_all(fd, "\n", 1, deadline);
	if (err < 0)
		goto out;

	err = read_line(fd, &line, deadline);
	if (err < 0)
		goto out;
	resp = json_loads(line, 0, &jerr);
	if (!json_is_object(resp)) {
		json_decref(resp);
		err = -EPROTO;
		goto out;
	}
	*ret_resp = resp;
	if (json_is_true(json_object_get(resp, "ok"))) {
		err = 0;
	} else {
		json_int_t e = json_integer_value(json_object_get(resp, "errno"));

		err = e > 0 ? -(int)e : -EIO;
	}
out:
	free(out);
	free(line);
	close(fd);
	return err;
}

const char *api_error_text(const json_t *resp)
{
	const char *s = json_string_value(json_object_get(resp, "error"));

	return s ? s : "agent refused the request";
}

// SPDX-License-Identifier: Apache-2.0
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define LOOP_SOURCES_MAX	16

struct loop_source {
	int fd;
	loop_fn fn;
	void *data;
};

struct loop {
	int epfd;
	bool quit;
	int code;
	int n;
	struct loop_source src[LOOP_SOURCES_MAX];
	void (*after_batch)(void *data);
	void *after_batch_data;
};

int loop_new(struct loop **ret)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int err = -errno;

		free(loop);
		return err;
	}
	*ret = loop;
	return 0;
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	close(loop->epfd);
	free(loop);
}

int loop_add(struct loop *loop, int fd, uint32_t events, loop_fn fn, void *data)
{
	struct epoll_event ev = { .events = events };
	struct loop_source *s;

	if (loop->n == LOOP_SOURCES_MAX)
		return -ENOSPC;
	s = &loop->src[loop->n];
	s->fd = fd;
	s->fn = fn;
	s->data = data;
	ev.data.ptr = s;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	loop->n++;
	return 0;
}

void loop_set_after_batch(struct loop *loop, void (*fn)(void *data), void *data)
{
	loop->after_batch = fn;
	loop->after_batch_data = data;
}

void loop_quit(struct loop *loop, int code)
{
	loop->quit = true;
	loop->code = code;
}

int loop_run(struct loop *loop)
{
	struct epoll_event evs[LOOP_SOURCES_MAX];

	while (!loop->quit) {
		int n = epoll_wait(loop->epfd, evs, LOOP_SOURCES_MAX, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n && !loop->quit; i++) {
			struct loop_source *s = evs[i].data.ptr;
			int err = s->fn(s->data, s->fd, evs[i].events);

			if (err < 0)
				return err;
		}
		if (loop->after_batch && !loop->quit)
			loop->after_batch(loop->after_batch_data);
	}
	return loop->code;
}

int loop_signalfd(const int *signals, int n, int *ret_fd)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	for (int i = 0; i < n; i++)
		sigaddset(&mask, signals[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

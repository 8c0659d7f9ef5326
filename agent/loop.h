/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's one event loop: epoll over a handful of fds (listening socket,
 * signalfd; later the Kubernetes watch connections, timers, ring buffers).
 */
#ifndef PORIN_AGENT_LOOP_H
#define PORIN_AGENT_LOOP_H

#include <stdint.h>

struct loop;

/* Called when @fd is ready; a negative return stops the loop with it. */
typedef int (*loop_fn)(void *data, int fd, uint32_t events);

int loop_new(struct loop **ret);
void loop_free(struct loop *loop);

/* Watch @fd for @events (EPOLLIN ...).  The loop does not own @fd. */
int loop_add(struct loop *loop, int fd, uint32_t events, loop_fn fn, void *data);

/* Call @fn after each batch of ready fds has been handled: work that many
 * events make dirty (policy recompilation) is done once per batch. */
void loop_set_after_batch(struct loop *loop, void (*fn)(void *data), void *data);

/* Run until loop_quit() or a handler fails: returns the quit code or the
 * handler's error. */
int loop_run(struct loop *loop);
void loop_quit(struct loop *loop, int code);

/* A signalfd for @signals (blocked in the calling thread first).  The
 * caller closes it. */
int loop_signalfd(const int *signals, int n, int *ret_fd);

#endif

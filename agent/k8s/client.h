/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP requests to the Kubernetes API over one libcurl multi handle, driven
 * by the caller's event loop.  The client owns a private epoll set holding
 * libcurl's sockets and one timerfd; the caller watches the single fd from
 * k8s_client_fd() for EPOLLIN (it nests in any epoll loop) and calls
 * k8s_client_dispatch() when it is readable.  No threads.
 *
 * Also a minimal timer facility on the same timerfd, for retry backoff.
 */
#ifndef PORIN_K8S_CLIENT_H
#define PORIN_K8S_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct k8s_config;
struct k8s_client;
struct k8s_req;

struct k8s_client_opts {
	struct k8s_config *config;	/* borrowed; must outlive the client */
	const char *user_agent;		/* NULL: "porin-agent" */
};

int k8s_client_new(const struct k8s_client_opts *o, struct k8s_client **ret);
void k8s_client_free(struct k8s_client *c);	/* cancels what is in flight */

int k8s_client_fd(const struct k8s_client *c);
/* Run whatever is ready; never blocks. */
int k8s_client_dispatch(struct k8s_client *c);

struct k8s_req_opts {
	const char *path;	/* "/api/v1/pods?limit=500" */
	/* Body bytes as they arrive, with the HTTP status; a negative return
	 * aborts the request (on_done then gets that error). */
	int (*on_data)(void *data, long status, const char *buf, size_t len);
	/* The end: err is 0 or -errno (transport; @msg says what libcurl
	 * saw), status the HTTP status (0 if none).  The request is freed
	 * right after on_done returns. */
	void (*on_done)(void *data, int err, long status, const char *msg);
	void *data;
	long timeout_s;		/* whole request; 0: none */
	/* Fail the request when no byte arrives for this long (0: never).
	 * For LISTs, not watches (quiet by design): libcurl 7.88's HTTP/2
	 * code can leave a stream's last bytes in its own buffer with the
	 * socket silent (see docs/architecture.md), and a retry beats
	 * waiting for timeout_s. */
	long stall_s;
};

int k8s_req_start(struct k8s_client *c, const struct k8s_req_opts *o, struct k8s_req **ret);
/* Stop and free @r without calling on_done.  Not from inside on_data. */
void k8s_req_cancel(struct k8s_req *r);

struct k8s_timer {
	void (*fn)(void *data);
	void *data;
	uint64_t due_ms;	/* CLOCK_MONOTONIC; 0: not armed */
	struct k8s_timer *next;
};

void k8s_timer_arm(struct k8s_client *c, struct k8s_timer *t, uint64_t delay_ms);
void k8s_timer_cancel(struct k8s_client *c, struct k8s_timer *t);

uint64_t k8s_now_ms(void);

#endif

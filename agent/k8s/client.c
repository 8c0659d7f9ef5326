// SPDX-License-Identifier: Apache-2.0
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "kubeconfig.h"
#include "log.h"

/* epoll data for the timerfd; every other entry is a libcurl socket's fd. */
#define TIMER_TAG UINT64_MAX

struct k8s_client {
	CURLM *multi;
	int epfd;
	int tfd;
	struct k8s_config *cfg;
	char *user_agent;
	uint64_t curl_due_ms;		/* libcurl's own timeout; 0: none */
	struct k8s_timer *timers;
	struct k8s_req *reqs;
};

struct k8s_req {
	struct k8s_client *c;
	CURL *easy;
	struct curl_slist *hdrs;
	struct k8s_req_opts o;
	int abort_err;
	char errbuf[CURL_ERROR_SIZE];
	struct k8s_req *prev, *next;
};

uint64_t k8s_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One timerfd serves libcurl and every k8s_timer: arm it for the earliest. */
static void rearm(struct k8s_client *c)
{
	struct itimerspec its = { 0 };
	uint64_t due = c->curl_due_ms;

	for (struct k8s_timer *t = c->timers; t; t = t->next)
		if (!due || t->due_ms < due)
			due = t->due_ms;
	if (due) {
		its.it_value.tv_sec = due / 1000;
		its.it_value.tv_nsec = (due % 1000) * 1000000;
	}
	/* A deadline in the past fires at once; zero disarms. */
	timerfd_settime(c->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

void k8s_timer_cancel(struct k8s_client *c, struct k8s_timer *t)
{
	for (struct k8s_timer **pp = &c->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->next = NULL;
	t->due_ms = 0;
	rearm(c);
}

void k8s_timer_arm(struct k8s_client *c, struct k8s_timer *t, uint64_t delay_ms)
{
	k8s_timer_cancel(c, t);
	t->due_ms = k8s_now_ms() + delay_ms;
	t->next = c->timers;
	c->timers = t;
	rearm(c);
}

static int on_curl_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct k8s_client *c = userp;
	struct epoll_event ev = { .data.u64 = (uint64_t)s };

	if (what == CURL_POLL_REMOVE) {
		/* libcurl may have closed it already: nothing to undo then. */
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev) < 0 &&
	    (errno != ENOENT || epoll_ctl(c->epfd, EPOLL_CTL_ADD, s, &ev) < 0)) {
		log_debug("epoll_ctl failed", "component=k8s fd=%d err=%s", s,
			  log_errno_name(-errno));
		return -1;
	}
	return 0;
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct k8s_client *c = userp;

	/* Not socket_action from here (libcurl forbids it): let the timerfd
	 * fire, at once for a zero timeout. */
	c->curl_due_ms = timeout_ms < 0 ? 0 : k8s_now_ms() + timeout_ms;
	if (c->curl_due_ms == 0 && timeout_ms >= 0)
		c->curl_due_ms = 1;
	rearm(c);
	return 0;
}

int k8s_client_new(const struct k8s_client_opts *o, struct k8s_client **ret)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TIMER_TAG };
	struct k8s_client *c;
	int err;

	if (!o->config)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = o->config;
	c->user_agent = strdup(o->user_agent ? o->user_agent : "porin-agent");
	if (!c->user_agent) {
		err = -ENOMEM;
		goto err_free;
	}
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		err = -errno;
		goto err_free;
	}
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->tfd < 0) {
		err = -errno;
		goto err_epoll;
	}
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->tfd, &ev) < 0) {
		err = -errno;
		goto err_tfd;
	}
	c->multi = curl_multi_init();
	if (!c->multi) {
		err = -ENOMEM;
		goto err_tfd;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	/* One connection per request, no HTTP/2 multiplexing: with libcurl
	 * 7.88 a pods LIST sharing a connection with other reflectors' streams
	 * stalled, its last bytes left in curl's buffer and the socket silent
	 * (seen twice in the policy scale benchmark's restarts).  Six
	 * long-lived connections per agent are a small price. */
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	*ret = c;
	return 0;
err_tfd:
	close(c->tfd);
err_epoll:
	close(c->epfd);
err_free:
	free(c->user_agent);
	free(c);
	return err;
}

static void req_free(struct k8s_req *r)
{
	struct k8s_client *c = r->c;

	curl_multi_remove_handle(c->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	free(r);
}

void k8s_req_cancel(struct k8s_req *r)
{
	if (r)
		req_free(r);
}

void k8s_client_free(struct k8s_client *c)
{
	if (!c)
		return;
	while (c->reqs)
		req_free(c->reqs);
	curl_multi_cleanup(c->multi);
	close(c->tfd);
	close(c->epfd);
	free(c->user_agent);
	free(c);
}

int k8s_client_fd(const struct k8s_client *c)
{
	return c->epfd;
}

static size_t on_write(char *buf, size_t size, size_t n, void *userp)
{
	struct k8s_req *r = userp;
	long status = 0;
	int err;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	err = r->o.on_data(r->o.data, status, buf, size * n);
	if (err < 0) {
		r->abort_err = err;
		return 0;	/* anything short of size*n aborts the transfer */
	}
	return size * n;
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return -EPROTO;
	default:
		return -EIO;
	}
}

int k8s_req_start(struct k8s_client *c, const struct k8s_req_opts *o, struct k8s_req **ret)
{
	struct k8s_config *cfg = c->cfg;
	struct curl_blob blob;
	struct k8s_req *r;
	const char *token;
	char *url = NULL, *auth = NULL;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->c = c;
	r->o = *o;
	r->easy = curl_easy_init();
	if (!r->easy) {
		free(r);
		return -ENOMEM;
	}
	err = k8s_config_token(cfg, &token);
	if (err < 0)
		goto err_easy;
	if (asprintf(&url, "%s%s", cfg->server, o->path) < 0) {
		url = NULL;
		err = -ENOMEM;
		goto err_easy;
	}
	r->hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (token) {
		if (asprintf(&auth, "Authorization: Bearer %s", token) < 0) {
			auth = NULL;
			err = -ENOMEM;
			goto err_easy;
		}
		r->hdrs = curl_slist_append(r->hdrs, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	if (!r->hdrs) {
		err = -ENOMEM;
		goto err_easy;
	}
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT, o->timeout_s);
	if (o->stall_s > 0) {
		curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_TIME, o->stall_s);
	}
	/* A silently dead peer would otherwise hold a watch open forever. */
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPINTVL, 10L);
	/* Always verified; these are libcurl's defaults, stated so no one
	 * wonders. */
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	/* The config outlives every request: libcurl need not copy. */
	if (cfg->ca.data) {
		blob = (struct curl_blob){ cfg->ca.data, cfg->ca.len, CURL_BLOB_NOCOPY };
		curl_easy_setopt(r->easy, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (cfg->cert.data) {
		blob = (struct curl_blob){ cfg->cert.data, cfg->cert.len, CURL_BLOB_NOCOPY };
		curl_easy_setopt(r->easy, CURLOPT_SSLCERT_BLOB, &blob);
		curl_easy_setopt(r->easy, CURLOPT_SSLCERTTYPE, "PEM");
		blob = (struct curl_blob){ cfg->key.data, cfg->key.len, CURL_BLOB_NOCOPY };
		curl_easy_setopt(r->easy, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(r->easy, CURLOPT_SSLKEYTYPE, "PEM");
	}
	free(url);
	if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
		err = -ENOMEM;
		goto err_easy;
	}
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	if (ret)
		*ret = r;
	return 0;
err_easy:
	free(url);
	curl_slist_free_all(r->hdrs);
	curl_easy_cleanup(r->easy);
	free(r);
	return err;
}

static void run_timers(struct k8s_client *c)
{
	uint64_t now = k8s_now_ms();
	int running;

	if (c->curl_due_ms && c->curl_due_ms <= now) {
		c->curl_due_ms = 0;
		curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	/* A callback may arm or cancel timers: rescan after each. */
	for (;;) {
		struct k8s_timer *t;

		for (t = c->timers; t; t = t->next)
			if (t->due_ms <= now)
				break;
		if (!t)
			break;
		k8s_timer_cancel(c, t);
		t->fn(t->data);
	}
}

static void reap(struct k8s_client *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left))) {
		struct k8s_req *r;
		long status = 0;
		int err;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		err = r->abort_err ? r->abort_err : curl_errno(m->data.result);
		if (err && !r->abort_err && !r->errbuf[0])
			snprintf(r->errbuf, sizeof(r->errbuf), "%s",
				 curl_easy_strerror(m->data.result));
		/* Off the multi before on_done, which may start the next one. */
		curl_multi_remove_handle(c->multi, r->easy);
		r->o.on_done(r->o.data, err, status, r->errbuf);
		req_free(r);
	}
}

int k8s_client_dispatch(struct k8s_client *c)
{
	struct epoll_event evs[16];
	int n, running;

	n = epoll_wait(c->epfd, evs, 16, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint64_t v;

		if (evs[i].data.u64 == TIMER_TAG) {
			if (read(c->tfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return -errno;
			run_timers(c);
		} else {
			int flags = 0;

			if (evs[i].events & EPOLLIN)
				flags |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				flags |= CURL_CSELECT_ERR;
			curl_multi_socket_action(c->multi, (curl_socket_t)evs[i].data.u64, flags,
						 &running);
		}
		reap(c);
	}
	rearm(c);
	return 0;
}

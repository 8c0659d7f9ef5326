// SPDX-License-Identifier: Apache-2.0
#include "reaper.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "netlink.h"

struct reaper {
	struct nl *nl;		/* the worker's alone */
	int efd;		/* eventfd: finished jobs wait in ->done */
	pthread_t thread;
	bool running;		/* the thread was started and not joined (main thread only) */

	/* Under ->lock: */
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* work was queued, or stop was asked */
	struct reaper_job *todo, *todo_tail;
	struct reaper_job *done, *done_tail;
	unsigned int busy;	/* jobs in ->todo plus the one in progress */
	bool stop;
};

uint64_t reaper_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t ready_at(const struct reaper_job *job)
{
	return job->submit_ns + (uint64_t)job->delay_ms * 1000000ULL;
}

/* Delete job->host_ifname if it still is the recorded link. */
static void job_run(struct reaper *r, struct reaper_job *job)
{
	int ifindex = 0, err;

	job->found = false;
	job->start_ns = reaper_now_ns();
	err = nl_link_get(r->nl, job->host_ifname, &ifindex, NULL);
	if (err == -ENODEV || (err == 0 && ifindex != job->host_ifindex)) {
		err = 0;	/* gone (another link may carry the name now) */
	} else if (err == 0) {
		job->found = true;
		/* 0 also when it vanished since the look-up. */
		err = nl_link_del(r->nl, job->host_ifname);
	}
	job->err = err;
	job->end_ns = reaper_now_ns();
}

/* The first job that may start now, unlinked from ->todo; or NULL and in
 * *ret_wait_ns the earliest time one may (0: none queued).  Under ->lock. */
static struct reaper_job *take_ready(struct reaper *r, uint64_t *ret_wait_ns)
{
	struct reaper_job *prev = NULL, *job;
	uint64_t now = reaper_now_ns(), earliest = 0;

	for (job = r->todo; job; prev = job, job = job->next) {
		uint64_t at = ready_at(job);

		if (at <= now) {
			if (prev)
				prev->next = job->next;
			else
				r->todo = job->next;
			if (r->todo_tail == job)
				r->todo_tail = prev;
			job->next = NULL;
			return job;
		}
		if (!earliest || at < earliest)
			earliest = at;
	}
	*ret_wait_ns = earliest;
	return NULL;
}

static void *worker_main(void *arg)
{
	struct reaper *r = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		struct reaper_job *job;
		uint64_t wait_ns;

		job = take_ready(r, &wait_ns);
		if (!job) {
			struct timespec ts;

			if (!wait_ns) {
				pthread_cond_wait(&r->wake, &r->lock);
				continue;
			}
			ts.tv_sec = (time_t)(wait_ns / 1000000000ULL);
			ts.tv_nsec = (long)(wait_ns % 1000000000ULL);
			pthread_cond_timedwait(&r->wake, &r->lock, &ts);
			continue;
		}
		pthread_mutex_unlock(&r->lock);

		job_run(r, job);

		pthread_mutex_lock(&r->lock);
		if (r->done_tail)
			r->done_tail->next = job;
		else
			r->done = job;
		r->done_tail = job;
		r->busy--;
		/* Cannot fail short of a counter overflow (2^64 - 1 jobs). */
		(void) !write(r->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int reaper_new(struct reaper **ret)
{
	struct reaper *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	sigset_t all, old;
	int err;

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	/* Timed waits on the monotonic clock, like the jobs' times. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		err = -errno;
		goto err_free;
	}
	err = nl_open(&r->nl);
	if (err < 0)
		goto err_free;
	/* Signals are the main thread's (signalfd): none may land here. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&r->thread, NULL, worker_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err < 0)
		goto err_free;
	r->running = true;
	*ret = r;
	return 0;

err_free:
	reaper_free(r);
	return err;
}

void reaper_stop(struct reaper *r)
{
	if (!r || !r->running)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	r->running = false;
}

static void jobs_free(struct reaper_job *job)
{
	while (job) {
		struct reaper_job *next = job->next;

		free(job);
		job = next;
	}
}

void reaper_free(struct reaper *r)
{
	if (!r)
		return;
	reaper_stop(r);
	jobs_free(r->todo);
	jobs_free(r->done);
	nl_close(r->nl);
	if (r->efd >= 0)
		close(r->efd);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int reaper_fd(const struct reaper *r)
{
	return r->efd;
}

void reaper_submit(struct reaper *r, struct reaper_job *job)
{
	job->next = NULL;
	job->err = 0;
	job->found = false;
	job->submit_ns = reaper_now_ns();
	job->start_ns = job->end_ns = 0;
	if (!job->first_submit_ns)
		job->first_submit_ns = job->submit_ns;
	pthread_mutex_lock(&r->lock);
	if (r->todo_tail)
		r->todo_tail->next = job;
	else
		r->todo = job;
	r->todo_tail = job;
	r->busy++;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

struct reaper_job *reaper_collect(struct reaper *r)
{
	struct reaper_job *list;
	uint64_t n;

	(void) !read(r->efd, &n, sizeof(n));	/* EAGAIN when already reset */
	pthread_mutex_lock(&r->lock);
	list = r->done;
	r->done = r->done_tail = NULL;
	pthread_mutex_unlock(&r->lock);
	return list;
}

unsigned int reaper_pending(struct reaper *r)
{
	unsigned int n;

	pthread_mutex_lock(&r->lock);
	n = r->busy;
	pthread_mutex_unlock(&r->lock);
	return n;
}

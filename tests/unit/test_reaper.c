// SPDX-License-Identifier: Apache-2.0
/*
 * The reaper's queue, worker and eventfd, without privileges: links that do
 * not exist, and the loopback device, which no one may delete (EPERM without
 * CAP_NET_ADMIN, EOPNOTSUPP with it: loopback has no rtnl_link_ops), so the
 * test can never remove a link.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/reaper.h"
#include "log.h"

static struct reaper_job *job_new(const char *cid, const char *host, int ifindex,
				  unsigned int delay_ms)
{
	struct reaper_job *job = calloc(1, sizeof(*job));

	assert_non_null(job);
	snprintf(job->container_id, sizeof(job->container_id), "%s", cid);
	snprintf(job->ifname, sizeof(job->ifname), "eth0");
	snprintf(job->host_ifname, sizeof(job->host_ifname), "%s", host);
	job->host_ifindex = ifindex;
	job->delay_ms = delay_ms;
	return job;
}

/* Collect @n finished jobs (waiting on the eventfd, 5 s at most) into @out,
 * in the order they finished. */
static void collect(struct reaper *r, struct reaper_job **out, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = reaper_fd(r), .events = POLLIN };
		struct reaper_job *job;

		assert_int_equal(poll(&pfd, 1, 5000), 1);
		for (job = reaper_collect(r); job; job = job->next) {
			assert_true(got < n);
			out[got++] = job;
		}
	}
	/* Nothing more, and the eventfd was reset. */
	assert_null(reaper_collect(r));
	{
		struct pollfd pfd = { .fd = reaper_fd(r), .events = POLLIN };

		assert_int_equal(poll(&pfd, 1, 0), 0);
	}
}

static void test_gone_is_success(void **state)
{
	struct reaper *r;
	struct reaper_job *done[2];

	assert_int_equal(reaper_new(&r), 0);
	/* No such link. */
	reaper_submit(r, job_new("c1", "pn-nosuch0", 4242, 0));
	/* lo, but not with the recorded ifindex: the recorded link is gone,
	 * and the one carrying the name now is left alone. */
	reaper_submit(r, job_new("c2", "lo", (int)if_nametoindex("lo") + 1000, 0));
	collect(r, done, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(done[i]->err, 0);
		assert_false(done[i]->found);
		assert_true(done[i]->submit_ns <= done[i]->start_ns);
		assert_true(done[i]->start_ns <= done[i]->end_ns);
		assert_int_equal(done[i]->first_submit_ns, done[i]->submit_ns);
	}
	assert_string_equal(done[0]->container_id, "c1");	/* first in, first out */
	assert_string_equal(done[1]->container_id, "c2");
	assert_int_equal(if_nametoindex("lo"), done[1]->host_ifindex - 1000);
	free(done[0]);
	free(done[1]);
	assert_int_equal(reaper_pending(r), 0);
	reaper_free(r);
}

static void test_failure_is_reported(void **state)
{
	struct reaper *r;
	struct reaper_job *done;
	unsigned int lo = if_nametoindex("lo");

	assert_int_equal(reaper_new(&r), 0);
	reaper_submit(r, job_new("c1", "lo", (int)lo, 0));
	collect(r, &done, 1);
	assert_true(done->found);
	assert_true(done->err == -EPERM || done->err == -EOPNOTSUPP);
	assert_int_equal(if_nametoindex("lo"), lo);

	/* Resubmitted (as the agent retries): the first submission is kept. */
	{
		uint64_t first = done->first_submit_ns;

		done->attempt = 1;
		reaper_submit(r, done);
		collect(r, &done, 1);
		assert_int_equal(done->first_submit_ns, first);
		assert_true(done->submit_ns > first);
		assert_int_equal(done->attempt, 1);
		assert_true(done->err < 0);
	}
	free(done);
	reaper_free(r);
}

/* A delayed job waits; one queued after it without delay goes first. */
static void test_delay(void **state)
{
	struct reaper *r;
	struct reaper_job *done[2];

	assert_int_equal(reaper_new(&r), 0);
	reaper_submit(r, job_new("late", "pn-nosuch1", 1, 150));
	reaper_submit(r, job_new("now", "pn-nosuch2", 1, 0));
	collect(r, done, 2);
	assert_string_equal(done[0]->container_id, "now");
	assert_string_equal(done[1]->container_id, "late");
	assert_true(done[1]->start_ns - done[1]->submit_ns >= 150ULL * 1000000);
	free(done[0]);
	free(done[1]);
	reaper_free(r);
}

/* Stopping does not wait for the queue; what is queued stays queued. */
static void test_stop_leaves_the_queue(void **state)
{
	struct reaper *r;
	uint64_t t0;

	assert_int_equal(reaper_new(&r), 0);
	reaper_submit(r, job_new("c1", "pn-nosuch3", 1, 60000));
	reaper_submit(r, job_new("c2", "pn-nosuch4", 1, 60000));
	assert_int_equal(reaper_pending(r), 2);
	t0 = reaper_now_ns();
	reaper_stop(r);
	reaper_stop(r);		/* idempotent */
	assert_true(reaper_now_ns() - t0 < 1000ULL * 1000000);
	assert_int_equal(reaper_pending(r), 2);
	assert_null(reaper_collect(r));
	reaper_free(r);		/* frees the queued jobs */
	reaper_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gone_is_success),
		cmocka_unit_test(test_failure_is_reported),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_stop_leaves_the_queue),
	};

	log_setup(LOG_LVL_ERROR, NULL, stderr);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

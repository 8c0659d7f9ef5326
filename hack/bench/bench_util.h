/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_util.h: what the benchmark helpers (hack/bench/NAME.c) share.  Each
 * helper is built from its one .c file (Makefile, lib.sh, policy_lib.sh), so
 * everything here is static inline.
 */
#ifndef PORIN_BENCH_UTIL_H
#define PORIN_BENCH_UTIL_H

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

/* CLOCK_MONOTONIC in ns: the clock the benchmark scripts' own timings read. */
static inline long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* qsort() comparator for long long samples. */
static inline int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile @p of @n sorted ns samples @v, in µs. */
static inline double pct_us(const long long *v, size_t n, double p)
{
	size_t rank = (size_t)(p / 100.0 * n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1] / 1000.0;
}

/* Best effort: a 1-byte ping-pong must not wait for Nagle. */
static inline void set_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

#endif /* PORIN_BENCH_UTIL_H */

// SPDX-License-Identifier: Apache-2.0
/*
 * tcp_rr: TCP request/response and connect latency between two pods.
 *
 *   tcp_rr -s [-p PORT]                       echo server, until killed
 *   tcp_rr -c ADDR [-p PORT] [-n N] [-w W] [-C M]
 *
 * The client opens one connection (TCP_NODELAY on both ends), sends W warm-up
 * then N timed 1-byte ping-pongs, then M times connect()+close() one new
 * connection at a time.  It prints one line of key=value pairs, in µs:
 *   rr_p50_us rr_p99_us rr_mean_us rr_n [cc_p50_us cc_p99_us cc_per_s cc_n]
 * Percentiles are nearest-rank over the timed samples.  Exit 0 on success.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define DEFAULT_PORT	7777
#define CONNECT_WAIT_MS	5000	/* the server may still be starting */

static int serve(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct epoll_event ev, evs[64];
	int lfd, ep, one = 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0) {
		perror("tcp_rr: listen");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = lfd };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		perror("tcp_rr: epoll");
		return 1;
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		if (n < 0 && errno != EINTR) {
			perror("tcp_rr: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			char buf[4096];
			ssize_t r;

			if (fd == lfd) {
				int c;

				while ((c = accept4(lfd, NULL, NULL,
						    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					set_nodelay(c);
					ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = c };
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0)
						close(c);
				}
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r > 0) {
				/* Echo; a short write of a 1-byte ping cannot happen. */
				if (write(fd, buf, r) != r)
					close(fd);
			} else if (r == 0 || errno != EAGAIN) {
				close(fd);	/* also leaves the epoll set */
			}
		}
	}
}

static int dial(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int ping(int fd)
{
	char c = 'x';

	if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1)
		return -1;
	return 0;
}

static int client(const char *addr, int port, long n, long warm, long conns)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	long long *v, deadline, t0;
	int fd;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "tcp_rr: bad address %s\n", addr);
		return 2;
	}
	deadline = now_ns() + CONNECT_WAIT_MS * 1000000LL;
	while ((fd = dial(&sa)) == -ECONNREFUSED && now_ns() < deadline)
		usleep(20000);
	if (fd < 0) {
		fprintf(stderr, "tcp_rr: connect %s:%d: %s\n", addr, port, strerror(-fd));
		return 1;
	}
	set_nodelay(fd);

	v = calloc(n > conns ? n : conns, sizeof(*v));
	if (!v)
		return 1;
	for (long i = 0; i < warm; i++) {
		if (ping(fd) < 0)
			goto io_err;
	}
	for (long i = 0; i < n; i++) {
		t0 = now_ns();
		if (ping(fd) < 0)
			goto io_err;
		v[i] = now_ns() - t0;
	}
	close(fd);

	long long sum = 0;

	for (long i = 0; i < n; i++)
		sum += v[i];
	qsort(v, n, sizeof(*v), cmp_ll);
	printf("rr_p50_us=%.1f rr_p99_us=%.1f rr_mean_us=%.1f rr_n=%ld", pct_us(v, n, 50),
	       pct_us(v, n, 99), sum / 1000.0 / n, n);

	if (conns > 0) {
		long long start = now_ns();

		for (long i = 0; i < conns; i++) {
			t0 = now_ns();
			fd = dial(&sa);
			if (fd < 0) {
				fprintf(stderr, "\ntcp_rr: connect #%ld: %s\n", i, strerror(-fd));
				return 1;
			}
			close(fd);
			v[i] = now_ns() - t0;
		}
		double secs = (now_ns() - start) / 1e9;

		qsort(v, conns, sizeof(*v), cmp_ll);
		printf(" cc_p50_us=%.1f cc_p99_us=%.1f cc_per_s=%.0f cc_n=%ld", pct_us(v, conns, 50),
		       pct_us(v, conns, 99), conns / secs, conns);
	}
	printf("\n");
	free(v);
	return 0;
io_err:
	perror("\ntcp_rr: ping");
	return 1;
}

int main(int argc, char **argv)
{
	long n = 20000, warm = 1000, conns = 0;
	const char *addr = NULL;
	int port = DEFAULT_PORT, server = 0, opt;

	while ((opt = getopt(argc, argv, "sc:p:n:w:C:")) != -1) {
		switch (opt) {
		case 's':
			server = 1;
			break;
		case 'c':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'w':
			warm = atol(optarg);
			break;
		case 'C':
			conns = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (server)
		return serve(port);
	if (addr && n > 0 && warm >= 0 && conns >= 0)
		return client(addr, port, n, warm, conns);
usage:
	fprintf(stderr, "usage: tcp_rr -s [-p PORT] | -c ADDR [-p PORT] [-n N] [-w WARMUP] [-C CONNS]\n");
	return 2;
}

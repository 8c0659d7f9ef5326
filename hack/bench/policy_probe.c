// SPDX-License-Identifier: Apache-2.0
/*
 * policy_probe: UDP probes on a new 5-tuple every interval, for the
 * NetworkPolicy update latency benchmark (hack/bench/policy_latency.sh).
 *
 *   policy_probe -s [-p PORT] [-n NPORTS]
 *       echo server on UDP PORT .. PORT+NPORTS-1, until killed
 *   policy_probe -c ADDR [-p PORT] [-n NPORTS] [-i INTERVAL_US] [-t TIMEOUT_MS]
 *                [-b SPORT_BASE] [-r SPORT_RANGE]
 *       every INTERVAL_US (default 1000) one 16-byte datagram from a socket of
 *       its own, bound to the next source port of SPORT_BASE ..
 *       SPORT_BASE+SPORT_RANGE-1 and sent to the next destination port, so no
 *       two probes share a 5-tuple until SPORT_RANGE * NPORTS probes have
 *       gone (400,000 by default: 400 s at 1 kHz), and conntrack never lets a
 *       probe through on an earlier probe's entry.  For each probe, in
 *       sequence order, one line once its fate is known:
 *           SEQ SEND_NS ECHOED RTT_NS
 *       SEND_NS is CLOCK_MONOTONIC just before sendto() (the clock the
 *       benchmark's API client reads, so the two compare directly); ECHOED
 *       is 1 if the echo came back within TIMEOUT_MS (default 100), else 0
 *       (RTT_NS 0).  Until SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_PORTS	64
#define RING		8192	/* outstanding probes: TIMEOUT_MS / INTERVAL_US must fit */

struct probe_msg {
	uint64_t seq;
	uint64_t send_ns;
};

struct slot {
	uint64_t seq;
	uint64_t send_ns;
	uint64_t rtt_ns;
	int fd;			/* -1 once resolved */
	int echoed;
	int used;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int serve(int port, int nports)
{
	struct epoll_event ev, evs[MAX_PORTS];
	int ep, one = 1;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("policy_probe: epoll_create1");
		return 1;
	}
	for (int i = 0; i < nports; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port + i) };
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "policy_probe: bind UDP %d: %s\n", port + i, strerror(errno));
			return 1;
		}
		ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = fd };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			perror("policy_probe: epoll_ctl");
			return 1;
		}
	}
	while (!stop) {
		int n = epoll_wait(ep, evs, MAX_PORTS, -1);

		if (n < 0 && errno != EINTR) {
			perror("policy_probe: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct sockaddr_in peer;
			socklen_t plen;
			char buf[2048];
			ssize_t r;

			for (;;) {
				plen = sizeof(peer);
				r = recvfrom(evs[i].data.fd, buf, sizeof(buf), 0,
					     (struct sockaddr *)&peer, &plen);
				if (r < 0)
					break;
				(void)sendto(evs[i].data.fd, buf, r, 0, (struct sockaddr *)&peer, plen);
			}
		}
	}
	return 0;
}

/* Print and release every resolved probe at the head of the ring, in order;
 * a probe older than @timeout_ns is resolved as lost. */
static void drain(struct slot *ring, uint64_t *head, uint64_t next, uint64_t now,
		  uint64_t timeout_ns, int ep)
{
	while (*head < next) {
		struct slot *s = &ring[*head % RING];

		if (s->fd >= 0) {
			if (now - s->send_ns < timeout_ns)
				break;
			epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
			close(s->fd);
			s->fd = -1;
			s->echoed = 0;
		}
		printf("%llu %llu %d %llu\n", (unsigned long long)s->seq,
		       (unsigned long long)s->send_ns, s->echoed, (unsigned long long)s->rtt_ns);
		s->used = 0;
		(*head)++;
	}
	fflush(stdout);
}

static int client(const char *addr, int port, int nports, long interval_us, long timeout_ms,
		  int sport_base, int sport_range)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	uint64_t timeout_ns = (uint64_t)timeout_ms * 1000000ULL, head = 0, next = 0;
	struct itimerspec its = { 0 };
	struct epoll_event ev, evs[256];
	struct slot *ring;
	int ep, tfd;

	if (inet_pton(AF_INET, addr, &dst.sin_addr) != 1) {
		fprintf(stderr, "policy_probe: bad address %s\n", addr);
		return 2;
	}
	if ((uint64_t)timeout_ms * 1000 / interval_us + 16 >= RING) {
		fprintf(stderr, "policy_probe: TIMEOUT_MS / INTERVAL_US too large\n");
		return 2;
	}
	ring = calloc(RING, sizeof(*ring));
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!ring || ep < 0 || tfd < 0) {
		perror("policy_probe: setup");
		return 1;
	}
	its.it_interval.tv_nsec = interval_us * 1000;
	its.it_value.tv_nsec = interval_us * 1000;
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = UINT64_MAX };
	if (timerfd_settime(tfd, 0, &its, NULL) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0) {
		perror("policy_probe: timerfd");
		return 1;
	}
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	while (!stop) {
		int n = epoll_wait(ep, evs, 256, 10);

		if (n < 0 && errno != EINTR) {
			perror("policy_probe: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == UINT64_MAX) {
				struct sockaddr_in src = { .sin_family = AF_INET };
				struct probe_msg m;
				struct slot *s;
				uint64_t ticks;
				int fd;

				/* One probe per wake-up, however many ticks were missed. */
				if (read(tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
					continue;
				s = &ring[next % RING];
				if (s->used)
					continue;	/* ring full: cannot happen with the check above */
				*s = (struct slot){ .seq = next, .fd = -1, .used = 1, .send_ns = now_ns() };
				src.sin_port = htons(sport_base + next % sport_range);
				dst.sin_port = htons(port + (next / sport_range) % nports);
				next++;
				fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
				if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
				    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
					/* e.g. the source port is taken: this probe is lost */
					fprintf(stderr, "policy_probe: probe %llu socket: %s\n",
						(unsigned long long)s->seq, strerror(errno));
					if (fd >= 0)
						close(fd);
					continue;
				}
				ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = s->seq };
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
					close(fd);
					continue;
				}
				s->fd = fd;
				m.seq = s->seq;
				m.send_ns = s->send_ns = now_ns();
				if (send(fd, &m, sizeof(m), 0) != sizeof(m)) {
					/* e.g. EPERM from a drop on the way out: lost */
					epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
					close(fd);
					s->fd = -1;
				}
			} else {
				struct slot *s = &ring[tag % RING];
				struct probe_msg m;
				ssize_t r;

				if (!s->used || s->seq != tag || s->fd < 0)
					continue;
				r = recv(s->fd, &m, sizeof(m), 0);
				if (r < 0 && errno == EAGAIN)
					continue;
				if (r == sizeof(m) && m.seq == tag) {
					s->echoed = 1;
					s->rtt_ns = now_ns() - s->send_ns;
				}
				/* else ECONNREFUSED (ICMP) or garbage: not an echo */
				epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
				close(s->fd);
				s->fd = -1;
			}
		}
		drain(ring, &head, next, now_ns(), timeout_ns, ep);
	}
	drain(ring, &head, next, UINT64_MAX / 2, 0, ep);
	return 0;
}

int main(int argc, char **argv)
{
	long interval_us = 1000, timeout_ms = 100;
	int port = 9400, nports = 8, sport_base = 20000, sport_range = 40000, server = 0, opt;
	const char *addr = NULL;
	struct sigaction sa = { .sa_handler = on_signal };

	while ((opt = getopt(argc, argv, "sc:p:n:i:t:b:r:")) != -1) {
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
			nports = atoi(optarg);
			break;
		case 'i':
			interval_us = atol(optarg);
			break;
		case 't':
			timeout_ms = atol(optarg);
			break;
		case 'b':
			sport_base = atoi(optarg);
			break;
		case 'r':
			sport_range = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (port < 1 || nports < 1 || nports > MAX_PORTS || port + nports > 65536 ||
	    interval_us < 50 || interval_us >= 1000000 || timeout_ms < 1 || sport_base < 1 ||
	    sport_range < 1 || sport_base + sport_range > 65536)
		goto usage;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (server)
		return serve(port, nports);
	if (addr)
		return client(addr, port, nports, interval_us, timeout_ms, sport_base, sport_range);
usage:
	fprintf(stderr, "usage: policy_probe -s [-p PORT] [-n NPORTS]\n"
		"       policy_probe -c ADDR [-p PORT] [-n NPORTS] [-i INTERVAL_US] [-t TIMEOUT_MS]"
		" [-b SPORT_BASE] [-r SPORT_RANGE]\n");
	return 2;
}

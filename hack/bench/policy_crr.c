// SPDX-License-Identifier: Apache-2.0
/*
 * policy_crr: the cost of a NEW TCP connection, for policy_packet.sh.
 *
 *   policy_crr -c ADDR [-p PORT] [-n N] [-w WARMUP]
 *
 * N times, one at a time: connect() to ADDR:PORT (an echo server such as
 * `tcp_rr -s`), write 1 byte, read the echo, close().  Each connection is a
 * new flow, so the datapath judges its SYN by policy (only NEW flows are);
 * the rest of its packets ride on conntrack.  Prints one line, in µs:
 *   crr_p50_us crr_p99_us crr_mean_us crr_per_s crr_n
 * Percentiles are nearest-rank.  WARMUP (default 100) untimed connections
 * first.  The caller should widen the client's ephemeral port range and
 * allow TIME_WAIT reuse (net.ipv4.ip_local_port_range, tcp_tw_reuse), since
 * every connection leaves a TIME_WAIT socket on the client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

/* One connection: connect, 1-byte ping-pong, close.  0 or -errno. */
static int crr(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0;
	char c = 'x';

	if (fd < 0)
		return -errno;
	set_nodelay(fd);
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || write(fd, &c, 1) != 1)
		err = -errno;
	else if (read(fd, &c, 1) != 1)
		err = -EPIPE;
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(7777) };
	long n = 2000, warm = 100, i;
	const char *addr = NULL;
	long long *v, t0, start, sum = 0;
	int opt, err;

	while ((opt = getopt(argc, argv, "c:p:n:w:")) != -1) {
		switch (opt) {
		case 'c':
			addr = optarg;
			break;
		case 'p':
			sa.sin_port = htons(atoi(optarg));
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'w':
			warm = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (!addr || n < 1 || warm < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		goto usage;
	v = calloc(n, sizeof(*v));
	if (!v)
		return 1;
	for (i = 0; i < warm; i++) {
		err = crr(&sa);
		if (err < 0) {
			fprintf(stderr, "policy_crr: warm-up connection %ld: %s\n", i, strerror(-err));
			return 1;
		}
	}
	start = now_ns();
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		err = crr(&sa);
		if (err < 0) {
			fprintf(stderr, "policy_crr: connection %ld: %s\n", i, strerror(-err));
			return 1;
		}
		v[i] = now_ns() - t0;
		sum += v[i];
	}
	double secs = (now_ns() - start) / 1e9;

	qsort(v, n, sizeof(*v), cmp_ll);
	printf("crr_p50_us=%.1f crr_p99_us=%.1f crr_mean_us=%.1f crr_per_s=%.0f crr_n=%ld\n",
	       pct_us(v, n, 50), pct_us(v, n, 99), sum / 1000.0 / n, n / secs, n);
	free(v);
	return 0;
usage:
	fprintf(stderr, "usage: policy_crr -c ADDR [-p PORT] [-n N] [-w WARMUP]\n");
	return 2;
}

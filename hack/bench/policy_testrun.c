// SPDX-License-Identifier: Apache-2.0
/*
 * policy_testrun: what from_container costs per packet with and without
 * policy, through BPF_PROG_TEST_RUN on the live pinned program (its real
 * maps: endpoints, ipcache, pn_policy with everything the agent compiled,
 * conntrack), for policy_packet.sh.  Run it in the node's netns: the test
 * run takes the packet's ingress device from ctx ifindex in the caller's
 * netns.
 *
 *   policy_testrun -P PROG_PIN -i IFINDEX -s SRC -d DST -p DPORT -m MODE
 *                  [-n CALLS] [-r REPEAT] [-b SPORT_BASE]
 *
 * IFINDEX is the source pod's host-side veth; SRC/DST the two pods.
 * MODE:
 *   new   CALLS test runs of one packet each (repeat 1): a TCP SYN from
 *         SPORT_BASE + k, so every run is a NEW flow that conntrack does not
 *         know, judged by policy (and then remembered: ct entry created)
 *   est   one SYN to create the flow, then CALLS runs of REPEAT repeats of a
 *         1-byte ACK|PSH segment of that flow: conntrack finds it, no policy
 *   deny  CALLS runs of REPEAT repeats of a SYN that policy denies (the
 *         caller picks a DPORT no rule allows): every repeat does the whole
 *         NEW path, all lookups, then the drop
 * Prints one line: mode, calls, ns per packet (median over calls of the
 * kernel's per-call average) and the program's return values seen.
 * The repeats of one call run on the same buffer and a forwarded packet's
 * TTL drops by one each time, so REPEAT is at most 254 (TTL starts at 255).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct pkt {
	uint8_t eth[14];
	uint8_t ip[20];
	uint8_t tcp[20];
	uint8_t payload[1];
} __attribute__((packed));

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static uint16_t csum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void build(struct pkt *p, size_t *len, uint32_t src, uint32_t dst, uint16_t sport,
		  uint16_t dport, uint8_t flags, int payload)
{
	static const uint8_t eth[14] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
					 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00 };
	uint16_t tot = 20 + 20 + (payload ? 1 : 0), c;

	memset(p, 0, sizeof(*p));
	memcpy(p->eth, eth, sizeof(eth));
	p->ip[0] = 0x45;
	p->ip[2] = tot >> 8;
	p->ip[3] = tot & 0xff;
	p->ip[6] = 0x40;	/* DF */
	p->ip[8] = 255;		/* TTL */
	p->ip[9] = 6;		/* TCP */
	memcpy(&p->ip[12], &src, 4);
	memcpy(&p->ip[16], &dst, 4);
	c = csum16(p->ip, 20);
	p->ip[10] = c >> 8;
	p->ip[11] = c & 0xff;
	p->tcp[0] = sport >> 8;
	p->tcp[1] = sport & 0xff;
	p->tcp[2] = dport >> 8;
	p->tcp[3] = dport & 0xff;
	p->tcp[7] = 1;		/* seq */
	p->tcp[11] = flags & 0x10 ? 1 : 0;	/* ack */
	p->tcp[12] = 5 << 4;
	p->tcp[13] = flags;
	p->tcp[14] = 0xff;	/* window */
	p->payload[0] = 'x';
	*len = 14 + tot;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* One test run; *ret_duration is the kernel's average over @repeat (ns). */
static int run(int prog_fd, struct pkt *p, size_t len, uint32_t ifindex, uint32_t repeat,
	       uint32_t *ret_duration, uint32_t *ret_retval)
{
	struct __sk_buff ctx = { .ifindex = ifindex };
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = prog_fd;
	attr.test.data_in = (uint64_t)(uintptr_t)p;
	attr.test.data_size_in = len;
	attr.test.ctx_in = (uint64_t)(uintptr_t)&ctx;
	attr.test.ctx_size_in = sizeof(ctx);
	attr.test.repeat = repeat;
	if (sys_bpf(BPF_PROG_TEST_RUN, &attr) < 0)
		return -errno;
	*ret_duration = attr.test.duration;
	*ret_retval = attr.test.retval;
	return 0;
}

int main(int argc, char **argv)
{
	const char *pin = NULL, *mode = NULL;
	uint32_t ifindex = 0, src = 0, dst = 0, repeat = 200, *d, rv, seen[8];
	long calls = 2000;
	int dport = 0, sport_base = 20000, opt, fd, nseen = 0, err;
	union bpf_attr attr;
	struct pkt p;
	size_t len;

	while ((opt = getopt(argc, argv, "P:i:s:d:p:m:n:r:b:")) != -1) {
		switch (opt) {
		case 'P':
			pin = optarg;
			break;
		case 'i':
			ifindex = (uint32_t)atoi(optarg);
			break;
		case 's':
			if (inet_pton(AF_INET, optarg, &src) != 1)
				goto usage;
			break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &dst) != 1)
				goto usage;
			break;
		case 'p':
			dport = atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			calls = atol(optarg);
			break;
		case 'r':
			repeat = (uint32_t)atoi(optarg);
			break;
		case 'b':
			sport_base = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (!pin || !mode || !ifindex || !src || !dst || dport < 1 || dport > 65535 ||
	    calls < 1 || repeat < 1 || repeat > 254 || sport_base < 1 ||
	    sport_base + calls > 65535 || (strcmp(mode, "new") && strcmp(mode, "est") &&
					  strcmp(mode, "deny")))
		goto usage;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uint64_t)(uintptr_t)pin;
	fd = sys_bpf(BPF_OBJ_GET, &attr);
	if (fd < 0) {
		fprintf(stderr, "policy_testrun: %s: %s\n", pin, strerror(errno));
		return 1;
	}
	d = calloc(calls, sizeof(*d));
	if (!d)
		return 1;
	if (!strcmp(mode, "est")) {
		uint32_t dur;

		build(&p, &len, src, dst, sport_base, dport, 0x02, 0);	/* SYN: the flow */
		err = run(fd, &p, len, ifindex, 1, &dur, &rv);
		if (err < 0)
			goto fail;
	}
	for (long k = 0; k < calls; k++) {
		uint32_t r = repeat;

		if (!strcmp(mode, "new")) {
			build(&p, &len, src, dst, sport_base + k, dport, 0x02, 0);
			r = 1;
		} else if (!strcmp(mode, "est")) {
			build(&p, &len, src, dst, sport_base, dport, 0x18, 1);
		} else {
			build(&p, &len, src, dst, sport_base, dport, 0x02, 0);
		}
		err = run(fd, &p, len, ifindex, r, &d[k], &rv);
		if (err < 0)
			goto fail;
		int known = 0;

		for (int i = 0; i < nseen; i++)
			known |= seen[i] == rv;
		if (!known && nseen < 8)
			seen[nseen++] = rv;
	}
	qsort(d, calls, sizeof(*d), cmp_u32);
	printf("mode=%s calls=%ld repeat=%u ns_p50=%u ns_p10=%u ns_p90=%u retval=", mode, calls,
	       !strcmp(mode, "new") ? 1 : repeat, d[calls / 2], d[calls / 10], d[calls * 9 / 10]);
	for (int i = 0; i < nseen; i++)
		printf("%s%d", i ? "," : "", (int)seen[i]);
	printf("\n");
	return 0;
fail:
	fprintf(stderr, "policy_testrun: BPF_PROG_TEST_RUN: %s\n", strerror(-err));
	return 1;
usage:
	fprintf(stderr, "usage: policy_testrun -P PROG_PIN -i IFINDEX -s SRC -d DST -p DPORT "
		"-m new|est|deny [-n CALLS] [-r REPEAT] [-b SPORT_BASE]\n");
	return 2;
}

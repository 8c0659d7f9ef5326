// SPDX-License-Identifier: Apache-2.0
/*
 * Test driver for agent/k8s: follow one resource type and print one line
 * per event on stdout (flushed), diagnostics on stderr.
 *
 *   k8s_watch_probe --kubeconfig F [--resource pods|nodes|namespaces]
 *                   [--for SECONDS] [--watch-timeout SECONDS]
 *
 *   ADD default/p1 rv=123 node=n1 ip=10.244.0.5 phase=Running labels=app=x
 *   UPDATE default/p1 rv=130 ...
 *   DELETE default/p1 rv=130
 *   SYNCED 3
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../../agent/k8s/client.h"
#include "../../agent/k8s/kubeconfig.h"
#include "../../agent/k8s/watch.h"
#include "log.h"

static void print_labels(const struct k8s_labels *l)
{
	const char *p = l->kv;

	printf(" labels=");
	for (uint32_t i = 0; i < l->n; i++) {
		const char *v = p + strlen(p) + 1;

		printf("%s%s=%s", i ? "," : "", p, v);
		p = v + strlen(v) + 1;
	}
}

static void print_obj(const char *verb, const struct k8s_kind *kind, const struct k8s_meta *m)
{
	char ip[INET6_ADDRSTRLEN];

	printf("%s %s%s%s rv=%s", verb, m->ns ? m->ns : "", m->ns ? "/" : "", m->name, m->rv);
	if (kind == &k8s_kind_pod) {
		const struct k8s_pod *p = (const void *)m;

		printf(" uid=%s node=%s phase=%s host_network=%d", p->uid, p->node ? p->node : "-",
		       k8s_pod_phase_str(p->phase), p->host_network);
		for (int i = 0; i < p->n_ips; i++)
			printf(" ip=%s", k8s_ip_str(&p->ips[i], ip));
		for (int i = 0; i < p->n_ports; i++)
			printf(" port=%s/%u/%s", p->ports[i].name ? p->ports[i].name : "-",
			       p->ports[i].port, k8s_proto_str(p->ports[i].proto));
		print_labels(&p->labels);
	} else if (kind == &k8s_kind_node) {
		const struct k8s_node *n = (const void *)m;

		for (int i = 0; i < n->n_cidrs; i++)
			printf(" cidr=%s/%u", k8s_ip_str(&n->cidrs[i].ip, ip), n->cidrs[i].len);
		if (n->has_internal_ip)
			printf(" internal_ip=%s", k8s_ip_str(&n->internal_ip, ip));
	} else if (kind == &k8s_kind_namespace) {
		print_labels(&((const struct k8s_namespace *)m)->labels);
	}
	printf("\n");
	fflush(stdout);
}

struct probe {
	const struct k8s_kind *kind;
};

static void on_add(void *data, const struct k8s_meta *m)
{
	print_obj("ADD", ((struct probe *)data)->kind, m);
}

static void on_update(void *data, const struct k8s_meta *old, const struct k8s_meta *m)
{
	print_obj("UPDATE", ((struct probe *)data)->kind, m);
}

static void on_delete(void *data, const struct k8s_meta *m)
{
	print_obj("DELETE", ((struct probe *)data)->kind, m);
}

static void on_synced(void *data, size_t n)
{
	printf("SYNCED %zu\n", n);
	fflush(stdout);
}

static const struct k8s_handlers handlers = {
	.on_add = on_add, .on_update = on_update, .on_delete = on_delete, .on_synced = on_synced,
};

static int usage(void)
{
	fprintf(stderr, "usage: k8s_watch_probe --kubeconfig FILE [--resource pods|nodes|namespaces]"
			" [--for SECONDS] [--watch-timeout SECONDS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "resource", required_argument, NULL, 'r' },
		{ "for", required_argument, NULL, 'f' },
		{ "watch-timeout", required_argument, NULL, 'w' },
		{ "log-level", required_argument, NULL, 'l' },
		{},
	};
	const char *kubeconfig = NULL, *resource = "pods";
	struct k8s_reflector_opts ro = { .handlers = &handlers };
	struct probe probe = { 0 };
	struct k8s_reflector *r = NULL;
	struct k8s_client *c = NULL;
	struct k8s_config *cfg = NULL;
	enum log_level level = LOG_LVL_INFO;
	struct pollfd pfd[2];
	uint64_t deadline = 0;
	sigset_t sigs;
	int opt, err, sfd;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			kubeconfig = optarg;
			break;
		case 'r':
			resource = optarg;
			break;
		case 'f':
			deadline = strtoull(optarg, NULL, 10) * 1000;
			break;
		case 'w':
			ro.watch_timeout_min_s = ro.watch_timeout_max_s = atoi(optarg);
			break;
		case 'l':
			if (log_level_parse(optarg, &level) < 0)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (!kubeconfig)
		return usage();
	log_setup(level, "k8s_watch_probe", stderr);
	if (!strcmp(resource, "pods"))
		probe.kind = &k8s_kind_pod;
	else if (!strcmp(resource, "nodes"))
		probe.kind = &k8s_kind_node;
	else if (!strcmp(resource, "namespaces"))
		probe.kind = &k8s_kind_namespace;
	else
		return usage();

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0)
		return 1;

	err = k8s_config_from_kubeconfig(kubeconfig, &cfg);
	if (err < 0)
		goto out;
	err = k8s_client_new(&(struct k8s_client_opts){ .config = cfg,
							 .user_agent = "porin-k8s-probe" },
			     &c);
	if (err < 0)
		goto out;
	ro.client = c;
	ro.kind = probe.kind;
	ro.data = &probe;
	err = k8s_reflector_new(&ro, &r);
	if (err < 0)
		goto out;
	err = k8s_reflector_start(r);
	if (err < 0)
		goto out;
	if (deadline)
		deadline += k8s_now_ms();

	pfd[0] = (struct pollfd){ .fd = k8s_client_fd(c), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		int timeout = -1;

		if (deadline) {
			uint64_t now = k8s_now_ms();

			if (now >= deadline)
				break;
			timeout = deadline - now;
		}
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents) {
			err = k8s_client_dispatch(c);
			if (err < 0)
				break;
		}
	}
out:
	if (err < 0)
		log_error("probe failed", "err=%s", log_errno_name(err));
	k8s_reflector_free(r);
	k8s_client_free(c);
	k8s_config_free(cfg);
	close(sfd);
	return err < 0 ? 1 : 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * porin-agent: one per node.  Standalone mode (no Kubernetes): IPAM for the
 * given pod CIDR, endpoint registry, datapath maps and the local API.
 *
 * Start-up order matters for running pods: nothing here flushes state.
 * Pinned maps are adopted, endpoint records are replayed into them, and the
 * fresh programs replace the old ones on live veths atomically.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent.h"
#include "agent_ops.h"
#include "api.h"
#include "api_handlers.h"
#include "api_server.h"
#include "dp.h"
#include "endpoint_store.h"
#include "fsutil.h"
#include "host.h"
#include "ipam.h"
#include "log.h"
#include "loop.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: porin-agent --pod-cidr CIDR [options]\n"
		"  --pod-cidr CIDR       IPv4 pod CIDR of this node, /16../30 (required)\n"
		"  --bpf-root DIR        bpffs directory for pins (default %s)\n"
		"  --state-dir DIR       endpoint and IPAM state (default %s)\n"
		"  --socket PATH         local API socket (default %s)\n"
		"  --log-level LEVEL     debug|info|warn|error (default info)\n",
		PN_DEFAULT_BPF_ROOT, AGENT_DEFAULT_STATE_DIR, API_DEFAULT_SOCKET);
}

/* 0, or 2 for a usage error (already reported). */
static int parse_args(int argc, char **argv, struct agent_config *cfg, enum log_level *level)
{
	static const struct option longopts[] = {
		{ "pod-cidr", required_argument, NULL, 'c' },
		{ "bpf-root", required_argument, NULL, 'b' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	*cfg = (struct agent_config) {
		.bpf_root = PN_DEFAULT_BPF_ROOT,
		.state_dir = AGENT_DEFAULT_STATE_DIR,
		.socket_path = API_DEFAULT_SOCKET,
	};
	*level = LOG_LVL_INFO;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfg->pod_cidr = optarg;
			break;
		case 'b':
			cfg->bpf_root = optarg;
			break;
		case 's':
			cfg->state_dir = optarg;
			break;
		case 'S':
			cfg->socket_path = optarg;
			break;
		case 'l':
			if (log_level_parse(optarg, level) < 0) {
				fprintf(stderr, "porin-agent: invalid --log-level '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "porin-agent: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!cfg->pod_cidr) {
		fprintf(stderr, "porin-agent: --pod-cidr is required\n");
		usage(stderr);
		return 2;
	}
	if (cfg->bpf_root[0] != '/') {
		fprintf(stderr, "porin-agent: --bpf-root must be an absolute path\n");
		return 2;
	}
	if (!cfg->state_dir[0] || !cfg->socket_path[0]) {
		fprintf(stderr, "porin-agent: empty --state-dir or --socket\n");
		return 2;
	}
	return 0;
}

/* One agent per state directory: a second one would fight over the maps. */
static int state_lock(struct agent *a)
{
	char path[PATH_MAX];
	int err, n;

	err = fs_mkdir_p(a->cfg.state_dir, 0700);
	if (err < 0) {
		log_error("cannot create state dir", "state_dir=%s err=%s", a->cfg.state_dir,
			  log_errno_name(err));
		return err;
	}
	n = snprintf(path, sizeof(path), "%s/agent.lock", a->cfg.state_dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (a->lock_fd < 0) {
		err = -errno;
		log_error("cannot open state lock", "path=%s err=%s", path, log_errno_name(err));
		return err;
	}
	if (flock(a->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		log_error("another porin-agent is using this state dir", "state_dir=%s err=%s",
			  a->cfg.state_dir, log_errno_name(err));
		return err;
	}
	return 0;
}

/*
 * Two agents on one bpf root would undo each other (each prunes map entries
 * the other's records back), even with different state dirs: lock it too.
 */
static int bpf_root_lock(struct agent *a)
{
	int err;

	a->bpf_lock_fd = open(a->cfg.bpf_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->bpf_lock_fd < 0) {
		err = -errno;
		log_error("cannot open bpf root", "bpf_root=%s err=%s", a->cfg.bpf_root,
			  log_errno_name(err));
		return err;
	}
	if (flock(a->bpf_lock_fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		log_error("another porin-agent is using this bpf root", "bpf_root=%s err=%s",
			  a->cfg.bpf_root, log_errno_name(err));
		return err;
	}
	return 0;
}

static int on_signal(void *data, int fd, uint32_t events)
{
	struct agent *a = data;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		log_info("shutting down; pins, maps and attached programs stay",
			 "signal=%s", strsignal((int)si.ssi_signo));
		loop_quit(a->loop, 0);
	}
	return 0;
}

static int agent_start(struct agent *a)
{
	char gw[INET_ADDRSTRLEN];
	uint32_t gw_be;
	int err;

	err = state_lock(a);
	if (err < 0)
		return err;
	err = agent_state_open(a);
	if (err == -EINVAL) {
		log_error("invalid pod CIDR: want an IPv4 network address, /16 to /30",
			  "pod_cidr=%s", a->cfg.pod_cidr);
		return err;
	}
	if (err < 0) {
		log_error("cannot load state", "state_dir=%s err=%s", a->cfg.state_dir,
			  log_errno_name(err));
		return err;
	}
	log_info("loaded state", "state_dir=%s endpoints=%zu ips_allocated=%zu",
		 a->cfg.state_dir, ep_store_count(a->eps), ipam_used(a->ipam));

	err = host_bpffs_ensure(a->cfg.bpf_root);
	if (err < 0)
		return err;
	err = bpf_root_lock(a);
	if (err < 0)
		return err;
	err = host_ip_forward_enable();
	if (err < 0)
		return err;
	err = dp_open(a->cfg.bpf_root, &a->dp);
	if (err < 0)
		return err;
	err = agent_reconcile(a);
	if (err < 0)
		return err;

	gw_be = htonl(ipam_gateway(a->ipam));
	err = host_gateway_ensure(AGENT_HOST_DEV, gw_be);
	if (err < 0)
		return err;

	err = api_server_open(a->cfg.socket_path, api_handle, a, &a->api);
	if (err < 0) {
		log_error(err == -EADDRINUSE ? "another agent is listening on the socket" :
			  "cannot listen on the API socket", "socket=%s err=%s",
			  a->cfg.socket_path, log_errno_name(err));
		return err;
	}
	err = loop_add(a->loop, api_server_fd(a->api), EPOLLIN, api_server_on_ready, a->api);
	if (err < 0)
		return err;

	a->ready = true;
	inet_ntop(AF_INET, &gw_be, gw, sizeof(gw));
	log_info("agent ready", "pod_cidr=%s gateway=%s bpf_root=%s state_dir=%s socket=%s "
		 "endpoints=%zu ips_allocated=%zu", a->cfg.pod_cidr, gw, a->cfg.bpf_root,
		 a->cfg.state_dir, a->cfg.socket_path, ep_store_count(a->eps),
		 ipam_used(a->ipam));
	return 0;
}

static void agent_stop(struct agent *a)
{
	api_server_close(a->api);	/* closes and unlinks the socket */
	a->api = NULL;
	dp_close(a->dp);		/* pins and map contents stay */
	a->dp = NULL;
	agent_state_close(a);
	if (a->bpf_lock_fd >= 0)
		close(a->bpf_lock_fd);
	a->bpf_lock_fd = -1;
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	a->lock_fd = -1;
}

int main(int argc, char **argv)
{
	static const int signals[] = { SIGINT, SIGTERM };
	struct agent a = { .lock_fd = -1, .bpf_lock_fd = -1 };
	enum log_level level;
	int err, sfd = -1;

	err = parse_args(argc, argv, &a.cfg, &level);
	if (err)
		return err;
	log_setup(level, NULL, stderr);
	log_route_libbpf();
	signal(SIGPIPE, SIG_IGN);

	err = loop_new(&a.loop);
	if (err < 0)
		goto out;
	err = loop_signalfd(signals, 2, &sfd);
	if (!err)
		err = loop_add(a.loop, sfd, EPOLLIN, on_signal, &a);
	if (err < 0) {
		log_error("cannot set up signal handling", "err=%s", log_errno_name(err));
		goto out;
	}
	err = agent_start(&a);
	if (err < 0)
		goto out;
	err = loop_run(a.loop);
	if (err < 0)
		log_error("event loop failed", "err=%s", log_errno_name(err));
out:
	agent_stop(&a);
	if (sfd >= 0)
		close(sfd);
	loop_free(a.loop);
	if (err < 0)
		log_error("porin-agent exiting", "err=%s", log_errno_name(err));
	return err < 0 ? 1 : 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * porin-agent: one per node.  Standalone mode (no Kubernetes): IPAM for the
 * given pod CIDR, endpoint registry, datapath maps and the local API.  With
 * --kubeconfig/--in-cluster it also watches the apiserver (k8s_sync.h) and
 * may take its pod CIDR from its Node.
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
#include "k8s_sync.h"
#include "log.h"
#include "netpol.h"
#include "loop.h"
#include "node.h"
#include "reaper.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: porin-agent [--pod-cidr CIDR] [--kubeconfig FILE | --in-cluster] [options]\n"
		"  --pod-cidr CIDR       IPv4 pod CIDR of this node, /16../30 (required without\n"
		"                        Kubernetes; with it: spec.podCIDR of this node's Node)\n"
		"  --kubeconfig FILE     watch the Kubernetes API with these credentials\n"
		"  --in-cluster          ... with the pod's service account (the default when\n"
		"                        KUBERNETES_SERVICE_HOST is set)\n"
		"  --node-name NAME      this node's Node object (default $NODE_NAME, else the\n"
		"                        hostname)\n"
		"  --node-ip IP          this node's underlay address (Kubernetes: the Node's\n"
		"                        InternalIP)\n"
		"  --routing MODE        vxlan (default) or native: how pods on other nodes\n"
		"                        are reached\n"
		"  --cluster-cidr CIDR   all pod CIDRs; traffic to it is never masqueraded\n"
		"                        (default 10.244.0.0/16)\n"
		"  --underlay-mtu N      MTU of the node network (default: of the device with\n"
		"                        --node-ip, else 1500); pods get N-50 (vxlan) or N\n"
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
		{ "kubeconfig", required_argument, NULL, 'K' },
		{ "in-cluster", no_argument, NULL, 'I' },
		{ "node-name", required_argument, NULL, 'N' },
		{ "node-ip", required_argument, NULL, 'P' },
		{ "routing", required_argument, NULL, 'R' },
		{ "cluster-cidr", required_argument, NULL, 'C' },
		{ "underlay-mtu", required_argument, NULL, 'M' },
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
		case 'K':
			cfg->kubeconfig = optarg;
			break;
		case 'I':
			cfg->in_cluster = true;
			break;
		case 'N':
			cfg->node_name = optarg;
			break;
		case 'P':
			cfg->node_ip = optarg;
			break;
		case 'R':
			cfg->routing = optarg;
			break;
		case 'C':
			cfg->cluster_cidr = optarg;
			break;
		case 'M': {
			char *end;
			unsigned long mtu = strtoul(optarg, &end, 10);

			if (!*optarg || *end || mtu < 626 || mtu > 65535) {
				fprintf(stderr, "porin-agent: invalid --underlay-mtu '%s'\n", optarg);
				return 2;
			}
			cfg->underlay_mtu = (unsigned int)mtu;
			break;
		}
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
	if (!cfg->kubeconfig && getenv("KUBERNETES_SERVICE_HOST"))
		cfg->in_cluster = true;
	if (cfg->kubeconfig && cfg->in_cluster && !getenv("KUBERNETES_SERVICE_HOST")) {
		fprintf(stderr, "porin-agent: --kubeconfig and --in-cluster exclude each other\n");
		return 2;
	}
	if (cfg->kubeconfig)
		cfg->in_cluster = false;
	if (!cfg->node_name)
		cfg->node_name = getenv("NODE_NAME");
	if (!cfg->pod_cidr && !cfg->kubeconfig && !cfg->in_cluster) {
		fprintf(stderr, "porin-agent: --pod-cidr is required without --kubeconfig\n");
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

static int on_reaper(void *data, int fd, uint32_t events)
{
	agent_reaper_collect(data);
	return 0;
}

/* The local API; in Kubernetes mode it answers status (ready=false) while
 * the agent waits for its pod CIDR. */
static int api_start(struct agent *a)
{
	int err;

	err = api_server_open(a->cfg.socket_path, api_handle, a, &a->api);
	if (err < 0) {
		log_error(err == -EADDRINUSE ? "another agent is listening on the socket" :
			  "cannot listen on the API socket", "socket=%s err=%s",
			  a->cfg.socket_path, log_errno_name(err));
		return err;
	}
	return loop_add(a->loop, api_server_fd(a->api), EPOLLIN, api_server_on_ready, a->api);
}

/* IPAM, endpoints and the datapath, once the pod CIDR is known. */
static int datapath_start(struct agent *a)
{
	struct dp_config dcfg;
	char gw[INET_ADDRSTRLEN];
	uint32_t gw_be;
	int err;

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
	log_info("loaded state", "state_dir=%s endpoints=%zu deleting=%zu ips_allocated=%zu",
		 a->cfg.state_dir, ep_store_count(a->eps) - agent_deleting_count(a),
		 agent_deleting_count(a), ipam_used(a->ipam));

	err = host_bpffs_ensure(a->cfg.bpf_root);
	if (err < 0)
		return err;
	err = bpf_root_lock(a);
	if (err < 0)
		return err;
	err = host_ip_forward_enable();
	if (err < 0)
		return err;
	/* Before dp_open: the programs are loaded knowing the VXLAN device. */
	err = node_init(a);
	if (err < 0)
		return err;
	node_dp_config(a, &dcfg);
	err = dp_open(a->cfg.bpf_root, &dcfg, &a->dp);
	if (err < 0)
		return err;
	err = agent_reconcile(a);
	if (err < 0)
		return err;

	gw_be = htonl(ipam_gateway(a->ipam));
	err = host_gateway_ensure(AGENT_HOST_DEV, gw_be);
	if (err < 0)
		return err;
	/* After the gateway address: routes to other nodes use it as source. */
	err = node_start(a);
	if (err < 0)
		return err;

	/* Before the API: endpoint_delete hands veths to it. */
	err = reaper_new(&a->reaper);
	if (err < 0) {
		log_error("cannot start the veth reaper", "err=%s", log_errno_name(err));
		return err;
	}
	err = loop_add(a->loop, reaper_fd(a->reaper), EPOLLIN, on_reaper, a);
	if (err < 0)
		return err;
	agent_reaper_resume(a);

	if (!a->api) {
		err = api_start(a);
		if (err < 0)
			return err;
	}

	a->ready = true;
	inet_ntop(AF_INET, &gw_be, gw, sizeof(gw));
	log_info("agent ready", "pod_cidr=%s gateway=%s bpf_root=%s state_dir=%s socket=%s "
		 "endpoints=%zu deleting=%zu ips_allocated=%zu", a->cfg.pod_cidr, gw,
		 a->cfg.bpf_root, a->cfg.state_dir, a->cfg.socket_path,
		 ep_store_count(a->eps) - agent_deleting_count(a), agent_deleting_count(a),
		 ipam_used(a->ipam));
	return 0;
}

static int on_pod_cidr(struct agent *a, const char *cidr)
{
	a->cfg.pod_cidr = cidr;
	return datapath_start(a);
}

/* After each batch of events: recompile the policy they affected. */
static void flush_policy(void *data)
{
	struct agent *a = data;

	netpol_flush(a->netpol);
}

/*
 * Standalone: everything at once.  Kubernetes mode without --pod-cidr: the
 * local API first (status says not ready), then the watches; the datapath
 * starts when this node's Node has a pod CIDR (k8s_sync.h).
 */
static int agent_start(struct agent *a)
{
	static char host[NODE_NAME_MAX + 1];	/* cfg.node_name points here */
	struct k8s_sync_opts ko = { .kubeconfig = a->cfg.kubeconfig, .on_pod_cidr = on_pod_cidr };
	int err;

	err = state_lock(a);
	if (err < 0)
		return err;
	if (!a->cfg.kubeconfig && !a->cfg.in_cluster)
		return datapath_start(a);
	ko.node_name = a->cfg.node_name;
	if (!ko.node_name) {
		if (gethostname(host, sizeof(host)) < 0)
			return -errno;
		host[sizeof(host) - 1] = '\0';
		ko.node_name = a->cfg.node_name = host;
	}
	err = netpol_new(a, &a->netpol);
	if (err < 0)
		return err;
	loop_set_after_batch(a->loop, flush_policy, a);
	err = k8s_sync_new(a, &ko, &a->k8s);
	if (err < 0) {
		log_error("cannot set up the Kubernetes watcher", "node=%s err=%s", ko.node_name,
			  log_errno_name(err));
		return err;
	}
	err = a->cfg.pod_cidr ? datapath_start(a) : api_start(a);
	if (err < 0)
		return err;
	return k8s_sync_start(a->k8s);
}

/*
 * Teardowns still queued stay DELETING on disk and the next start resumes
 * them; the worker only finishes the link it is deleting (one netlink
 * request), so SIGTERM is not held up by a long queue.
 */
static void reaper_shutdown(struct agent *a)
{
	unsigned int left;

	if (!a->reaper)
		return;
	reaper_stop(a->reaper);
	agent_reaper_collect(a);	/* finish what the worker did finish */
	left = reaper_pending(a->reaper);
	if (left)
		log_info("endpoint teardowns left for the next start", "deleting=%u", left);
	reaper_free(a->reaper);
	a->reaper = NULL;
}

static void agent_stop(struct agent *a)
{
	k8s_sync_free(a->k8s);
	a->k8s = NULL;
	netpol_free(a->netpol);
	a->netpol = NULL;
	api_server_close(a->api);	/* closes and unlinks the socket */
	a->api = NULL;
	reaper_shutdown(a);
	dp_close(a->dp);		/* pins and map contents stay */
	a->dp = NULL;
	node_fini(a);			/* devices, routes, nft table stay */
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

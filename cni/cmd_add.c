// SPDX-License-Identifier: Apache-2.0
/*
 * CNI ADD: IP ∥ veth (peer born in the pod netns under its final name) → pod
 * side (IPv6 off, /32, routes via the gateway) → TC programs on the host end
 * → endpoint registered with the agent → host end up with its /32 route.
 *
 * The host end comes up last, after the TC programs are attached and the
 * agent has written the endpoint's map entries: the first packet the pod can
 * send already meets its policy and its endpoint record.  Any failure unwinds
 * everything done so far, in reverse, so a failed ADD leaves nothing behind.
 */
#include "cni.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "netlink.h"
#include "tc_attach.h"

/* Every network namespace's loopback device has ifindex 1. */
#define LOOPBACK_IFINDEX	1

struct add {
	const struct cni_env *env;
	const struct cni_conf *c;
	struct cni_error *e;
	struct cni_netns ns;
	struct nl *host_nl;	/* opened in our (the node's) namespace */
	struct nl *pod_nl;	/* opened inside the pod's namespace */
	struct cni_attachment a;
};

static int setup_fail(struct add *x, int err, const char *step)
{
	return cni_fail(x->e, err, CNI_ERR_PLUGIN, "failed to set up the pod network",
			"%s (container %.64s, %s): %s", step, x->env->container_id, x->env->ifname,
			log_errno_name(err));
}

static int pod_nl_open(void *arg)
{
	struct add *x = arg;

	return nl_open(&x->pod_nl);
}

/* /proc/sys/net resolves in the opener's netns: call it in the right one. */
static int disable_ipv6(const char *ifname)
{
	char path[96];
	int err;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	err = cni_sysctl_write(path, "1");
	return err == -ENOENT ? 0 : err;	/* no IPv6 in this kernel */
}

static int pod_disable_ipv6(void *arg)
{
	struct add *x = arg;

	return disable_ipv6(x->env->ifname);
}

/* Namespaces, netlink sockets, and the refusal to clobber an interface. */
static int add_open(struct add *x)
{
	int err;

	err = cni_netns_open(x->env->netns, &x->ns);
	if (err == -ENOENT || err == -EINVAL || err == -ENOTDIR)
		return cni_fail(x->e, err, CNI_ERR_INVALID_ENV, "invalid environment variables",
				"CNI_NETNS %s is not a network namespace (%s)", x->env->netns,
				log_errno_name(err));
	if (err < 0)
		return cni_fail(x->e, err, CNI_ERR_IO, "I/O error", "open CNI_NETNS %s: %s",
				x->env->netns, log_errno_name(err));
	err = cni_netns_run(&x->ns, pod_nl_open, x);
	if (err < 0)
		return setup_fail(x, err, "netlink socket in the pod netns");
	err = nl_open(&x->host_nl);
	if (err < 0)
		return setup_fail(x, err, "netlink socket");
	err = nl_link_get(x->pod_nl, x->env->ifname, NULL, NULL);
	if (err == 0)
		return cni_fail(x->e, -EEXIST, CNI_ERR_PLUGIN, "interface already exists",
				"%s already exists in %s", x->env->ifname, x->env->netns);
	if (err != -ENODEV)
		return setup_fail(x, err, "look up the pod interface");
	return 0;
}

static void add_close(struct add *x)
{
	nl_close(x->pod_nl);
	nl_close(x->host_nl);
	cni_netns_close(&x->ns);
	cni_ipconf_reset(&x->a.ip);
}

/* Unwind helpers: best effort, logged, never overwrite the first error. */
static void add_ip_release(struct add *x)
{
	struct cni_error scratch = { 0 };
	char quoted[2 * sizeof(scratch.details)];
	int err;

	if (x->c->ipam_type)
		err = cni_ipam_exec(x->env, x->c, CNI_CMD_DEL, NULL, &scratch);
	else
		err = cni_agent_ip_release(x->c, x->env, &scratch);
	if (err < 0)
		log_warn("unwind: IP release failed",
			 "container=%s ifname=%s err=%s details=\"%s\"", x->env->container_id,
			 x->env->ifname, log_errno_name(err),
			 cni_logfmt_escape(scratch.details, quoted, sizeof(quoted)));
}

static void add_endpoint_delete(struct add *x)
{
	struct cni_error scratch = { 0 };
	char host[IFNAMSIZ], quoted[2 * sizeof(scratch.details)];
	int err;

	err = cni_agent_endpoint_delete(x->c, x->env->container_id, x->env->ifname, host,
					&scratch);
	if (err < 0)
		log_warn("unwind: endpoint delete failed",
			 "container=%s ifname=%s err=%s details=\"%s\"", x->env->container_id,
			 x->env->ifname, log_errno_name(err),
			 cni_logfmt_escape(scratch.details, quoted, sizeof(quoted)));
}

static void add_veth_delete(struct add *x)
{
	int err = nl_link_del(x->host_nl, x->a.host_ifname);

	if (err < 0)
		log_warn("unwind: veth delete failed", "ifname=%s err=%s", x->a.host_ifname,
			 log_errno_name(err));
}

static int add_ip_acquire(struct add *x, struct cni_error *e)
{
	json_t *res = NULL;
	int err;

	if (!x->c->ipam_type)
		return cni_agent_ip_allocate(x->c, x->env, &x->a.ip, e);
	err = cni_ipam_exec(x->env, x->c, CNI_CMD_ADD, &res, e);
	if (err < 0)
		return err;
	err = cni_ipconf_from_ipam(res, &x->a.ip, e);
	json_decref(res);
	if (err < 0)
		add_ip_release(x);	/* the plugin did allocate */
	return err;
}

/*
 * Step 1 (the IP) and step 2 (the veth) do not depend on each other, and each
 * is a wait: an agent round trip or a delegated plugin's exec, and the kernel
 * registering two devices.  The IP is fetched on a second thread while this
 * one creates the veth.  That thread touches only x->a.ip and its own error,
 * and lives while this one does no setns(), so it and anything it execs stay
 * in the node's namespace.
 */
struct ip_job {
	struct add *x;
	struct cni_error e;
	int err;
	pthread_t tid;
	bool threaded;
};

static void *ip_job_main(void *arg)
{
	struct ip_job *j = arg;

	j->err = add_ip_acquire(j->x, &j->e);
	return NULL;
}

static void ip_job_start(struct ip_job *j, struct add *x)
{
	memset(j, 0, sizeof(*j));
	j->x = x;
	j->threaded = pthread_create(&j->tid, NULL, ip_job_main, j) == 0;
	if (!j->threaded)
		ip_job_main(j);		/* no thread to be had: in turn, then */
}

/* The IP step's result.  Its error is the one reported, even when the veth
 * failed too: it is step 1. */
static int ip_job_finish(struct ip_job *j)
{
	if (j->threaded)
		pthread_join(j->tid, NULL);
	if (j->err < 0)
		*j->x->e = j->e;
	return j->err;
}

static int add_veth_create(struct add *x)
{
	struct cni_attachment *a = &x->a;
	int err;

	err = nl_veth_create(x->host_nl, a->host_ifname, a->ifname, x->ns.pod_fd, a->mtu);
	if (err == -EEXIST) {
		/* The pod side is absent (checked), so a host end by our
		 * deterministic name is a leftover of this same attachment. */
		log_warn("deleting stale host veth", "ifname=%s container=%s", a->host_ifname,
			 x->env->container_id);
		err = nl_link_del(x->host_nl, a->host_ifname);
		if (err == 0)
			err = nl_veth_create(x->host_nl, a->host_ifname, a->ifname, x->ns.pod_fd,
					     a->mtu);
	}
	if (err < 0)
		return setup_fail(x, err, "create veth");
	err = nl_link_get(x->host_nl, a->host_ifname, &a->host_ifindex, a->host_mac);
	if (err < 0)
		goto err_veth;
	err = nl_link_get(x->pod_nl, a->ifname, &a->pod_ifindex, a->pod_mac);
	if (err < 0)
		goto err_veth;
	return 0;
err_veth:
	add_veth_delete(x);
	return setup_fail(x, err, "look up the new veth");
}

/*
 * The agent knows the MTU pods need (the underlay's, less the VXLAN header in
 * overlay mode); an explicit "mtu" in the config wins.  The veth was created
 * while the IP (and with it this MTU) was still on its way, so fix both ends
 * now, before either is up.
 */
static int add_mtu_adopt(struct add *x)
{
	struct cni_attachment *a = &x->a;
	int err;

	if (x->c->mtu_set || !a->ip.mtu || a->ip.mtu == a->mtu)
		return 0;
	err = nl_link_set_mtu(x->host_nl, a->host_ifindex, a->ip.mtu);
	if (err < 0)
		return setup_fail(x, err, "set the host veth MTU");
	err = nl_link_set_mtu(x->pod_nl, a->pod_ifindex, a->ip.mtu);
	if (err < 0)
		return setup_fail(x, err, "set the pod interface MTU");
	a->mtu = a->ip.mtu;
	return 0;
}

static int add_pod_side(struct add *x)
{
	const struct cni_attachment *a = &x->a;
	int err;

	err = cni_netns_run(&x->ns, pod_disable_ipv6, x);
	if (err < 0)
		return setup_fail(x, err, "disable IPv6 on the pod interface");
	err = nl_link_set_up(x->pod_nl, LOOPBACK_IFINDEX);
	if (err < 0)
		return setup_fail(x, err, "set lo up");
	err = nl_addr_add_v4(x->pod_nl, a->pod_ifindex, a->ip.ip_be, 32);
	if (err < 0)
		return setup_fail(x, err, "add the pod address");
	err = nl_link_set_up(x->pod_nl, a->pod_ifindex);
	if (err < 0)
		return setup_fail(x, err, "set the pod interface up");
	/* The gateway is on-link through the veth; everything else goes via it. */
	err = nl_route_replace_v4(x->pod_nl, a->ip.gw_be, 32, 0, a->pod_ifindex);
	if (err < 0)
		return setup_fail(x, err, "add the route to the gateway");
	for (unsigned int i = 0; i < a->ip.n_routes; i++) {
		const struct cni_route4 *r = &a->ip.routes[i];

		err = nl_route_replace_v4(x->pod_nl, r->dst_be, r->prefixlen, r->gw_be,
					  a->pod_ifindex);
		if (err < 0)
			return setup_fail(x, err, "add a pod route");
	}
	return 0;
}

static int add_tc_attach(struct add *x)
{
	int err = tc_attach_endpoint_nl(x->host_nl, x->a.host_ifindex, x->c->bpf_root);

	if (err == -ENOENT)
		return cni_fail(x->e, err, CNI_ERR_TRY_AGAIN, "try again later",
				"porin's TC programs are not pinned under %s: is porin-agent running?",
				x->c->bpf_root);
	if (err < 0)
		return setup_fail(x, err, "attach TC programs to the host veth");
	return 0;
}

static int add_host_side(struct add *x)
{
	int err;

	/* The datapath is IPv4-only; without this the host end would also
	 * spend its bring-up on link-local addresses, DAD and MLD. */
	err = disable_ipv6(x->a.host_ifname);
	if (err < 0)
		return setup_fail(x, err, "disable IPv6 on the host veth");
	err = nl_link_set_up(x->host_nl, x->a.host_ifindex);
	if (err < 0)
		return setup_fail(x, err, "set the host veth up");
	err = nl_route_replace_v4(x->host_nl, x->a.ip.ip_be, 32, 0, x->a.host_ifindex);
	if (err < 0)
		return setup_fail(x, err, "add the host route to the pod");
	return 0;
}

int cni_cmd_add(const struct cni_env *env, const struct cni_conf *c, json_t **ret_result,
		struct cni_error *e)
{
	struct add x = { .env = env, .c = c, .e = e, .ns = { -1, -1 } };
	struct ip_job job;
	char ip[16];
	int err, ip_err;

	cni_host_ifname(env->container_id, env->ifname, x.a.host_ifname);
	snprintf(x.a.ifname, sizeof(x.a.ifname), "%s", env->ifname);
	x.a.sandbox = env->netns;
	x.a.mtu = c->mtu;

	err = add_open(&x);
	if (err < 0)
		goto out;
	ip_job_start(&job, &x);
	err = add_veth_create(&x);
	ip_err = ip_job_finish(&job);
	if (ip_err < 0) {
		if (err == 0)
			add_veth_delete(&x);
		err = ip_err;
		goto out;
	}
	if (err < 0)
		goto err_ip;
	err = add_mtu_adopt(&x);
	if (err < 0)
		goto err_veth;
	err = add_pod_side(&x);
	if (err < 0)
		goto err_veth;
	err = add_tc_attach(&x);
	if (err < 0)
		goto err_veth;
	err = cni_agent_endpoint_add(c, env, &x.a, e);
	if (err < 0)
		goto err_endpoint;
	err = add_host_side(&x);
	if (err < 0)
		goto err_endpoint;
	err = cni_result_build(c, &x.a, ret_result, e);
	if (err < 0)
		goto err_endpoint;

	cni_ip4_format(x.a.ip.ip_be, ip);
	log_info("pod attached", "container=%.12s ifname=%s host_ifname=%s ip=%s pod=%s/%s",
		 env->container_id, env->ifname, x.a.host_ifname, ip, env->pod_namespace,
		 env->pod_name);
	goto out;

err_endpoint:
	add_endpoint_delete(&x);
err_veth:
	add_veth_delete(&x);
err_ip:
	add_ip_release(&x);
out:
	add_close(&x);
	return err;
}

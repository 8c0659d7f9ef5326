// SPDX-License-Identifier: Apache-2.0
/*
 * Multi-node networking (node.h).  What node_upsert() writes for another
 * node N (pod CIDR C, underlay IP I):
 *   both modes  ipcache C → {tunnel_endpoint I, PN_IPC_F_NODE_CIDR}
 *   VXLAN       route C dev porin_vxlan src <our gateway>: the node's own
 *               traffic to N's pods (and ICMP errors for them) goes into the
 *               tunnel, where to_overlay adds the metadata; pods' traffic
 *               never sees it (from_container redirects before routing)
 *   native      route C via I: the kernel forwards pods' packets to N
 * Known nodes are kept in a small array and in <state_dir>/nodes/<name>.json,
 * so a restarted agent knows what it installed (and can delete it) before
 * any watcher speaks again.
 */
#include "node.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/pkt_sched.h>

#include "agent.h"
#include "dp.h"
#include "fsutil.h"
#include "ipam.h"
#include "log.h"
#include "masq.h"
#include "netlink.h"
#include "node_nl.h"
#include "porin/abi.h"

#define NODE_DEFAULT_CLUSTER_CIDR	"10.244.0.0/16"
#define NODE_DEFAULT_MTU		1500

struct node_state {
	char self_name[NODE_NAME_MAX + 1];
	uint32_t self_ip_be;
	uint32_t routing;		/* PN_ROUTING_* */
	uint32_t cluster_be;
	uint8_t cluster_plen;
	unsigned int underlay_mtu;
	bool mtu_explicit;
	int tunnel_ifindex;		/* VXLAN mode */
	char dir[PATH_MAX];		/* <state_dir>/nodes */
	struct node_info *nodes;
	size_t n, cap;
};

static const char *ipstr(uint32_t ip_be, char buf[INET_ADDRSTRLEN])
{
	struct in_addr in = { .s_addr = ip_be };

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

int node_cidr_parse(const char *s, uint32_t *ret_net_be, uint8_t *ret_plen)
{
	char buf[INET_ADDRSTRLEN + 4], *slash, *end;
	struct in_addr in;
	unsigned long plen;
	uint32_t mask;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	errno = 0;
	plen = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || errno || plen > 32 || inet_pton(AF_INET, buf, &in) != 1)
		return -EINVAL;
	mask = plen ? htonl(~0U << (32 - plen)) : 0;
	if (in.s_addr & ~mask)
		return -EINVAL;
	*ret_net_be = in.s_addr;
	*ret_plen = (uint8_t)plen;
	return 0;
}

int node_name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > NODE_NAME_MAX || !isalnum((unsigned char)name[0]))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
		    name[i] != '-' && name[i] != '.')
			return 0;
	return 1;
}

/* --- accessors ------------------------------------------------------------- */

const char *node_self_name(const struct agent *a) { return a->node->self_name; }
uint32_t node_self_ip(const struct agent *a) { return a->node->self_ip_be; }
unsigned int node_underlay_mtu(const struct agent *a) { return a->node->underlay_mtu; }
size_t node_count(const struct agent *a) { return a->node ? a->node->n : 0; }
const struct node_info *node_at(const struct agent *a, size_t i) { return &a->node->nodes[i]; }

const char *node_routing_name(const struct agent *a)
{
	return a->node->routing == PN_ROUTING_VXLAN ? "vxlan" : "native";
}

unsigned int node_pod_mtu(const struct agent *a)
{
	const struct node_state *ns = a->node;

	return ns->routing == PN_ROUTING_VXLAN ? ns->underlay_mtu - PN_VXLAN_OVERHEAD :
						 ns->underlay_mtu;
}

void node_dp_config(const struct agent *a, struct dp_config *cfg)
{
	cfg->routing = a->node->routing;
	cfg->tunnel_ifindex = a->node->routing == PN_ROUTING_VXLAN ?
			      (uint32_t)a->node->tunnel_ifindex : 0;
}

/* --- persistence ----------------------------------------------------------- */

static int node_path(const struct node_state *ns, const char *name, char path[PATH_MAX])
{
	int n = snprintf(path, PATH_MAX, "%s/%s.json", ns->dir, name);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int node_save(const struct node_state *ns, const struct node_info *n)
{
	char path[PATH_MAX], ip[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN], cidr[24];
	char *text;
	json_t *o;
	int err;

	err = node_path(ns, n->name, path);
	if (err < 0)
		return err;
	snprintf(cidr, sizeof(cidr), "%s/%u", ipstr(n->pod_cidr_be, net), n->pod_prefix_len);
	o = json_pack("{s:s, s:s, s:s}", "name", n->name, "ip", ipstr(n->ip_be, ip), "pod_cidr",
		      n->pod_cidr_be || n->pod_prefix_len ? cidr : "");
	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	err = fs_write_atomic(path, text, strlen(text), 0600);
	free(text);
	return err;
}

static int node_forget(const struct node_state *ns, const char *name)
{
	char path[PATH_MAX];
	int err = node_path(ns, name, path);

	return err < 0 ? err : fs_remove(path);
}

/* --- kernel state of one node ------------------------------------------------ */

static int cidr_install(struct agent *a, const struct node_info *n)
{
	struct node_state *ns = a->node;
	struct pn_ipcache_entry e = {
		.identity = 0,
		.tunnel_endpoint = n->ip_be,
		.flags = PN_IPC_F_NODE_CIDR,
	};
	int err;

	if (!n->pod_cidr_be && !n->pod_prefix_len)
		return 0;	/* no pod CIDR yet */
	/* ipcache first: in VXLAN mode the route is only usable with it. */
	err = dp_ipcache_upsert(a->dp, n->pod_cidr_be, n->pod_prefix_len, &e);
	if (err < 0)
		return err;
	if (ns->routing == PN_ROUTING_VXLAN)
		err = nn_route_replace(n->pod_cidr_be, n->pod_prefix_len, 0, ns->tunnel_ifindex,
				       htonl(ipam_gateway(a->ipam)));
	else
		err = nn_route_replace(n->pod_cidr_be, n->pod_prefix_len, n->ip_be, 0, 0);
	if (err < 0)
		(void)dp_ipcache_delete(a->dp, n->pod_cidr_be, n->pod_prefix_len);
	return err;
}

static int cidr_remove(struct agent *a, const struct node_info *n)
{
	int err, r;

	if (!n->pod_cidr_be && !n->pod_prefix_len)
		return 0;
	err = nn_route_del(n->pod_cidr_be, n->pod_prefix_len);
	r = dp_ipcache_delete(a->dp, n->pod_cidr_be, n->pod_prefix_len);
	return err < 0 ? err : r;
}

/* Remote pods /32s behind @old_be: move them to @new_be, or delete them
 * when @new_be is 0.  Returns how many it touched. */
static int remote_pods_rehome(struct agent *a, uint32_t old_be, uint32_t new_be)
{
	struct pn_ipcache_key *keys;
	struct pn_ipcache_entry *vals;
	size_t n;
	int err, done = 0;

	err = dp_ipcache_entries(a->dp, &keys, &vals, &n);
	if (err < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (!(vals[i].flags & PN_IPC_F_REMOTE_POD) || vals[i].tunnel_endpoint != old_be)
			continue;
		if (new_be) {
			vals[i].tunnel_endpoint = new_be;
			err = dp_ipcache_upsert(a->dp, keys[i].ipv4, keys[i].prefixlen, &vals[i]);
		} else {
			err = dp_ipcache_delete(a->dp, keys[i].ipv4, keys[i].prefixlen);
		}
		if (err < 0)
			break;
		done++;
	}
	free(keys);
	free(vals);
	return err < 0 ? err : done;
}

static struct node_info *node_find(struct node_state *ns, const char *name)
{
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->nodes[i].name, name) == 0)
			return &ns->nodes[i];
	return NULL;
}

static bool cidr_overlaps(uint32_t a_be, uint8_t a_len, uint32_t b_be, uint8_t b_len)
{
	uint8_t len = a_len < b_len ? a_len : b_len;
	uint32_t mask = len ? htonl(~0U << (32 - len)) : 0;

	return (a_be & mask) == (b_be & mask);
}

/* --- node.h ---------------------------------------------------------------- */

int node_upsert(struct agent *a, const struct node_info *n)
{
	struct node_state *ns = a->node;
	char ip[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN];
	struct node_info *cur, old = { 0 };
	bool have_cidr = n->pod_cidr_be || n->pod_prefix_len;
	int err;

	if (!ns || !a->dp)
		return -EAGAIN;		/* datapath not started yet */
	if (!node_name_valid(n->name) || !n->ip_be || n->pod_prefix_len > 32)
		return -EINVAL;
	if (strcmp(n->name, ns->self_name) == 0)
		return 0;
	if (have_cidr) {
		if (cidr_overlaps(n->pod_cidr_be, n->pod_prefix_len, htonl(ipam_network(a->ipam)),
				  (uint8_t)ipam_prefix_len(a->ipam)))
			return -EADDRINUSE;	/* our own pods */
		for (size_t i = 0; i < ns->n; i++) {
			const struct node_info *o = &ns->nodes[i];

			if (strcmp(o->name, n->name) != 0 && (o->pod_cidr_be || o->pod_prefix_len) &&
			    cidr_overlaps(o->pod_cidr_be, o->pod_prefix_len, n->pod_cidr_be,
					  n->pod_prefix_len))
				return -EADDRINUSE;
		}
	}

	cur = node_find(ns, n->name);
	if (cur)
		old = *cur;
	else if (ns->n == ns->cap) {
		size_t cap = ns->cap ? 2 * ns->cap : 8;
		struct node_info *p = realloc(ns->nodes, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		ns->nodes = p;
		ns->cap = cap;
	}

	/* Make before break: the new state first (a replaced route or ipcache
	 * entry for the same CIDR is updated in place), then what only the old
	 * state had. */
	err = cidr_install(a, n);
	if (err < 0)
		return err;
	if (cur && (old.pod_cidr_be != n->pod_cidr_be || old.pod_prefix_len != n->pod_prefix_len))
		(void)cidr_remove(a, &old);
	if (cur && old.ip_be != n->ip_be)
		(void)remote_pods_rehome(a, old.ip_be, n->ip_be);

	if (!cur)
		cur = &ns->nodes[ns->n++];
	*cur = *n;
	err = node_save(ns, cur);
	if (err < 0)
		log_warn("cannot persist node", "node=%s err=%s", n->name, log_errno_name(err));
	log_info("node upserted", "node=%s ip=%s pod_cidr=%s/%u routing=%s", n->name,
		 ipstr(n->ip_be, ip), ipstr(n->pod_cidr_be, net), n->pod_prefix_len,
		 node_routing_name(a));
	return 0;
}

int node_delete(struct agent *a, const char *name)
{
	struct node_state *ns = a->node;
	struct node_info *cur;
	int err, pods;

	if (!ns || !a->dp)
		return -EAGAIN;
	cur = node_find(ns, name);
	if (!cur)
		return 0;
	err = cidr_remove(a, cur);
	if (err < 0)
		return err;
	pods = remote_pods_rehome(a, cur->ip_be, 0);
	if (pods < 0)
		return pods;
	(void)node_forget(ns, name);
	log_info("node deleted", "node=%s remote_pods_removed=%d", name, pods);
	*cur = ns->nodes[--ns->n];
	return 0;
}

int remote_pod_upsert(struct agent *a, uint32_t pod_ip_be, uint32_t node_ip_be,
		      uint32_t identity)
{
	struct pn_ipcache_entry cur, e = {
		.identity = identity,
		.tunnel_endpoint = node_ip_be,
		.flags = PN_IPC_F_REMOTE_POD,
	};

	if (!a->dp)
		return -EAGAIN;
	if (!pod_ip_be || !node_ip_be)
		return -EINVAL;
	/* Never shadow a pod of ours (only /32s carry PN_IPC_F_LOCAL). */
	if (dp_ipcache_lookup(a->dp, pod_ip_be, &cur) == 0 && (cur.flags & PN_IPC_F_LOCAL))
		return -EEXIST;
	return dp_ipcache_upsert(a->dp, pod_ip_be, 32, &e);
}

int remote_pod_delete(struct agent *a, uint32_t pod_ip_be)
{
	struct pn_ipcache_entry cur;

	if (!a->dp)
		return -EAGAIN;
	/* LPM: a /32 of a remote pod, or something else we must not touch. */
	if (dp_ipcache_lookup(a->dp, pod_ip_be, &cur) < 0 || !(cur.flags & PN_IPC_F_REMOTE_POD))
		return 0;
	return dp_ipcache_delete(a->dp, pod_ip_be, 32);
}

/* --- this node ------------------------------------------------------------- */

static int mtu_detect(struct node_state *ns)
{
	int ifindex;

	if (ns->mtu_explicit)
		return 0;
	ns->underlay_mtu = NODE_DEFAULT_MTU;
	if (ns->self_ip_be && nn_addr_dev(ns->self_ip_be, &ifindex, &ns->underlay_mtu) < 0)
		ns->underlay_mtu = NODE_DEFAULT_MTU;
	return 0;
}

int node_init(struct agent *a)
{
	const struct agent_config *c = &a->cfg;
	struct node_state *ns;
	struct in_addr in;
	int err, n;

	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	a->node = ns;
	if (c->node_name) {
		snprintf(ns->self_name, sizeof(ns->self_name), "%s", c->node_name);
	} else if (gethostname(ns->self_name, sizeof(ns->self_name)) < 0) {
		err = -errno;
		log_error("cannot read the hostname for --node-name", "err=%s",
			  log_errno_name(err));
		return err;
	}
	if (c->node_ip) {
		if (inet_pton(AF_INET, c->node_ip, &in) != 1 || !in.s_addr) {
			log_error("invalid --node-ip", "node_ip=%s", c->node_ip);
			return -EINVAL;
		}
		ns->self_ip_be = in.s_addr;
	} else {
		ns->self_ip_be = a->node_ip_be;	/* node_self_set() before start-up */
	}
	if (!c->routing || strcmp(c->routing, "vxlan") == 0) {
		ns->routing = PN_ROUTING_VXLAN;
	} else if (strcmp(c->routing, "native") == 0) {
		ns->routing = PN_ROUTING_NATIVE;
	} else {
		log_error("invalid --routing: want vxlan or native", "routing=%s", c->routing);
		return -EINVAL;
	}
	if (node_cidr_parse(c->cluster_cidr ? c->cluster_cidr : NODE_DEFAULT_CLUSTER_CIDR,
			    &ns->cluster_be, &ns->cluster_plen) < 0) {
		log_error("invalid --cluster-cidr: want an IPv4 network address",
			  "cluster_cidr=%s", c->cluster_cidr);
		return -EINVAL;
	}
	ns->mtu_explicit = c->underlay_mtu != 0;
	ns->underlay_mtu = c->underlay_mtu;
	mtu_detect(ns);
	if (ns->underlay_mtu < 576 + PN_VXLAN_OVERHEAD || ns->underlay_mtu > 65535) {
		log_error("underlay MTU out of range", "underlay_mtu=%u", ns->underlay_mtu);
		return -EINVAL;
	}
	n = snprintf(ns->dir, sizeof(ns->dir), "%s/nodes", c->state_dir);
	if (n < 0 || (size_t)n >= sizeof(ns->dir))
		return -ENAMETOOLONG;
	err = fs_mkdir_p(ns->dir, 0700);
	if (err < 0)
		return err;

	if (ns->routing == PN_ROUTING_VXLAN) {
		err = nn_vxlan_ensure(PN_VXLAN_DEV, PN_VXLAN_PORT,
				      ns->underlay_mtu - PN_VXLAN_OVERHEAD, &ns->tunnel_ifindex);
		if (err < 0) {
			log_error("cannot set up the VXLAN device", "dev=" PN_VXLAN_DEV " err=%s",
				  log_errno_name(err));
			return err;
		}
		err = nn_disable_ipv6(PN_VXLAN_DEV);
		if (err < 0)
			log_warn("cannot disable IPv6 on the VXLAN device", "dev=" PN_VXLAN_DEV
				 " err=%s", log_errno_name(err));
	} else {
		/* A VXLAN-mode leftover would keep decapsulating into a node
		 * that no longer expects it. */
		err = nn_link_del(PN_VXLAN_DEV);
		if (err < 0)
			log_warn("cannot delete the VXLAN device of VXLAN mode",
				 "dev=" PN_VXLAN_DEV " err=%s", log_errno_name(err));
	}
	return 0;
}

static int overlay_attach(struct agent *a)
{
	int from_fd, to_fd, err;
	struct nl *nl;

	dp_overlay_prog_fds(a->dp, &from_fd, &to_fd);
	err = nl_open(&nl);
	if (err < 0)
		return err;
	err = nl_clsact_ensure(nl, a->node->tunnel_ifindex);
	if (err >= 0)
		err = nl_tc_bpf_replace(nl, a->node->tunnel_ifindex,
					TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), PN_TC_HANDLE,
					PN_TC_PRIORITY, from_fd, "porin_from_overlay");
	if (err >= 0)
		err = nl_tc_bpf_replace(nl, a->node->tunnel_ifindex,
					TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), PN_TC_HANDLE,
					PN_TC_PRIORITY, to_fd, "porin_to_overlay");
	nl_close(nl);
	return err < 0 ? err : 0;
}

/* Replay <state_dir>/nodes: what an earlier run was told. */
static void nodes_replay(struct agent *a)
{
	struct node_state *ns = a->node;
	struct dirent *d;
	unsigned int ok = 0, bad = 0;
	DIR *dir;

	dir = opendir(ns->dir);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		struct node_info n = { 0 };
		char path[PATH_MAX];
		const char *name, *ip, *cidr;
		struct in_addr in;
		json_t *o;
		int err = -EINVAL;

		if (fs_name_hidden(d->d_name) || !strstr(d->d_name, ".json"))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", ns->dir, d->d_name) >= (int)sizeof(path))
			continue;
		o = json_load_file(path, 0, NULL);
		name = json_string_value(json_object_get(o, "name"));
		ip = json_string_value(json_object_get(o, "ip"));
		cidr = json_string_value(json_object_get(o, "pod_cidr"));
		if (name && ip && cidr && strlen(name) <= NODE_NAME_MAX &&
		    inet_pton(AF_INET, ip, &in) == 1 &&
		    (!cidr[0] || node_cidr_parse(cidr, &n.pod_cidr_be, &n.pod_prefix_len) == 0)) {
			strcpy(n.name, name);
			n.ip_be = in.s_addr;
			err = node_upsert(a, &n);
		}
		json_decref(o);
		if (err < 0) {
			log_warn("cannot restore node", "file=%s err=%s", path, log_errno_name(err));
			bad++;
		} else {
			ok++;
		}
	}
	closedir(dir);
	if (ok || bad)
		log_info("restored nodes", "nodes=%u failed=%u", ok, bad);
}

static void masq_setup(struct agent *a)
{
	struct node_state *ns = a->node;
	int err;

	err = masq_apply(htonl(ipam_network(a->ipam)), ipam_prefix_len(a->ipam), ns->cluster_be,
			 ns->cluster_plen);
	if (err < 0)
		log_warn("no masquerade for pod traffic leaving the cluster", "err=%s",
			 log_errno_name(err));
}

int node_start(struct agent *a)
{
	struct node_state *ns = a->node;
	char ifname[IF_NAMESIZE];
	int err, ifindex;
	unsigned int mtu;

	if (ns->routing == PN_ROUTING_VXLAN) {
		err = overlay_attach(a);
		if (err < 0) {
			log_error("cannot attach the overlay programs", "dev=" PN_VXLAN_DEV " err=%s",
				  log_errno_name(err));
			return err;
		}
		err = nn_rp_filter_loose(PN_VXLAN_DEV);
	} else if (ns->self_ip_be && nn_addr_dev(ns->self_ip_be, &ifindex, &mtu) == 0 &&
		   if_indextoname((unsigned int)ifindex, ifname)) {
		err = nn_rp_filter_loose(ifname);
	} else {
		err = 0;
	}
	if (err < 0)
		log_warn("cannot relax rp_filter", "err=%s", log_errno_name(err));
	masq_setup(a);
	nodes_replay(a);
	return 0;
}

int node_self_set(struct agent *a, uint32_t ip_be)
{
	struct node_state *ns = a->node;
	char ip[INET_ADDRSTRLEN];

	if (!ip_be)
		return -EINVAL;
	a->node_ip_be = ip_be;
	if (!ns)
		return 0;	/* before node_init(), which picks it up */
	ns->self_ip_be = ip_be;
	mtu_detect(ns);
	log_info("node ip set", "node=%s ip=%s underlay_mtu=%u pod_mtu=%u", ns->self_name,
		 ipstr(ip_be, ip), ns->underlay_mtu, node_pod_mtu(a));
	return 0;
}

void node_fini(struct agent *a)
{
	if (!a->node)
		return;
	free(a->node->nodes);
	free(a->node);
	a->node = NULL;
}

// SPDX-License-Identifier: Apache-2.0
#include "agent_ops.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"
#include "endpoint_store.h"
#include "ipam.h"
#include "ipam_store.h"
#include "log.h"
#include "netpol.h"
#include "reaper.h"
#include "tc_attach.h"

static int fail(struct agent_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct agent_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return err;
}

static const char *ip_str(uint32_t ip_be, char buf[INET_ADDRSTRLEN])
{
	struct in_addr in = { .s_addr = ip_be };

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

static int owner_of(const char *container_id, const char *ifname, char buf[IPAM_OWNER_MAX + 1])
{
	return ep_owner(container_id, ifname, buf, IPAM_OWNER_MAX + 1);
}

int agent_state_open(struct agent *a)
{
	int err, n;

	n = snprintf(a->ipam_dir, sizeof(a->ipam_dir), "%s/ipam", a->cfg.state_dir);
	if (n < 0 || (size_t)n >= sizeof(a->ipam_dir))
		return -ENAMETOOLONG;
	n = snprintf(a->endpoint_dir, sizeof(a->endpoint_dir), "%s/endpoints", a->cfg.state_dir);
	if (n < 0 || (size_t)n >= sizeof(a->endpoint_dir))
		return -ENAMETOOLONG;

	err = ipam_new(a->cfg.pod_cidr, &a->ipam);
	if (err < 0)
		return err;
	err = ipam_store_load(a->ipam, a->ipam_dir);
	if (err < 0)
		goto err_ipam;
	err = ep_store_open(a->endpoint_dir, &a->eps);
	if (err < 0)
		goto err_ipam;
	return 0;

err_ipam:
	ipam_free(a->ipam);
	a->ipam = NULL;
	return err;
}

void agent_state_close(struct agent *a)
{
	ep_store_free(a->eps);
	a->eps = NULL;
	ipam_free(a->ipam);
	a->ipam = NULL;
}

/* --- datapath entries of one endpoint ------------------------------------- */

static int map_write_as(struct agent *a, const struct ep_record *rec, uint32_t identity,
			uint32_t flags)
{
	struct pn_endpoint ep = {
		.ipv4 = rec->ip_be,
		.ifindex = (__u32)rec->host_ifindex,
		.endpoint_id = rec->endpoint_id,
		.identity = identity,
		.flags = flags,
	};
	struct pn_ipcache_entry ipc = {
		.identity = identity,
		.tunnel_endpoint = 0,
		.flags = PN_IPC_F_LOCAL,
	};
	int err;

	memcpy(ep.pod_mac, rec->pod_mac, 6);
	memcpy(ep.host_mac, rec->host_mac, 6);
	err = dp_endpoint_upsert(a->dp, &ep);
	if (err < 0)
		return err;
	return dp_ipcache_upsert(a->dp, rec->ip_be, 32, &ipc);
}

/* The endpoint's entries with the identity and flags NetworkPolicy gives it
 * now (netpol.h compiles and writes its policy first). */
static int map_write(struct agent *a, const struct ep_record *rec)
{
	uint32_t identity, flags;

	netpol_endpoint_state(a->netpol, rec, &identity, &flags);
	return map_write_as(a, rec, identity, flags);
}

int agent_endpoint_policy_write(struct agent *a, uint32_t endpoint_id, uint32_t identity,
				uint32_t flags)
{
	for (size_t i = 0; i < ep_store_count(a->eps); i++) {
		const struct ep_record *r = ep_store_at(a->eps, i);

		if (r->endpoint_id == endpoint_id && r->state == EP_STATE_ACTIVE)
			return map_write_as(a, r, identity, flags);
	}
	return -ENOENT;
}

/* Does an active record other than @skip's key use this ifindex/IP?  Then
 * its map entries are not ours to delete.  DELETING records own no map
 * entries any more (endpoint_delete removed them). */
static const struct ep_record *other_active(const struct agent *a, size_t i,
					    const struct ep_record *skip)
{
	const struct ep_record *r = ep_store_at(a->eps, i);

	if (r->state == EP_STATE_DELETING)
		return NULL;
	if (skip && strcmp(r->container_id, skip->container_id) == 0 &&
	    strcmp(r->ifname, skip->ifname) == 0)
		return NULL;
	return r;
}

static bool ifindex_used(const struct agent *a, int ifindex, const struct ep_record *skip)
{
	for (size_t i = 0; i < ep_store_count(a->eps); i++) {
		const struct ep_record *r = other_active(a, i, skip);

		if (r && r->host_ifindex == ifindex)
			return true;
	}
	return false;
}

static bool ip_used(const struct agent *a, uint32_t ip_be, const struct ep_record *skip)
{
	for (size_t i = 0; i < ep_store_count(a->eps); i++) {
		const struct ep_record *r = other_active(a, i, skip);

		if (r && r->ip_be == ip_be)
			return true;
	}
	return false;
}

/* The DELETING record still holding @ip_be (its old veth and host route
 * exist until the reaper is done), or NULL. */
static const struct ep_record *ip_held_by_deleting(const struct agent *a, uint32_t ip_be)
{
	for (size_t i = 0; i < ep_store_count(a->eps); i++) {
		const struct ep_record *r = ep_store_at(a->eps, i);

		if (r->state == EP_STATE_DELETING && r->ip_be == ip_be)
			return r;
	}
	return NULL;
}

size_t agent_deleting_count(const struct agent *a)
{
	size_t n = 0;

	for (size_t i = 0; i < ep_store_count(a->eps); i++)
		if (ep_store_at(a->eps, i)->state == EP_STATE_DELETING)
			n++;
	return n;
}

static int torn_down(struct agent_err *e, const char *container_id, const char *ifname)
{
	return fail(e, -EAGAIN, "the previous attachment %s/%s is still being torn down; "
		    "try again later", container_id, ifname);
}

/* Remove the entries @rec owns: its ifindex key unless @keep_ifindex, its IP
 * key and ipcache entry unless @keep_ip. */
static int map_remove(struct agent *a, const struct ep_record *rec, bool keep_ifindex,
		      bool keep_ip)
{
	int err = 0, r;

	if (!keep_ifindex) {
		r = dp_endpoint_delete(a->dp, PN_EP_KEY_IFINDEX, (uint32_t)rec->host_ifindex);
		if (r < 0)
			err = r;
	}
	if (!keep_ip) {
		r = dp_endpoint_delete(a->dp, PN_EP_KEY_IPV4, rec->ip_be);
		if (r < 0 && !err)
			err = r;
		r = dp_ipcache_delete(a->dp, rec->ip_be, 32);
		if (r < 0 && !err)
			err = r;
	}
	return err;
}

/* --- IPAM ------------------------------------------------------------------ */

int agent_ip_allocate(struct agent *a, const char *container_id, const char *ifname,
		      uint32_t *ret_ip_be, struct agent_err *e)
{
	char owner[IPAM_OWNER_MAX + 1], buf[INET_ADDRSTRLEN];
	uint32_t ip;
	int err, fresh;

	err = owner_of(container_id, ifname, owner);
	if (err < 0)
		return fail(e, err, "owner name too long");
	if (ep_op_gate(ep_store_find(a->eps, container_id, ifname), EP_OP_IP_ALLOCATE) < 0)
		return torn_down(e, container_id, ifname);
	fresh = ipam_allocate(a->ipam, owner, &ip);
	if (fresh == -ENOSPC)
		return fail(e, fresh, "pod CIDR %s is exhausted", a->cfg.pod_cidr);
	if (fresh < 0)
		return fail(e, fresh, "allocation failed");
	if (fresh) {
		err = ipam_store_save(a->ipam_dir, ip, owner);
		if (err < 0) {
			ipam_release(a->ipam, owner, NULL);
			return fail(e, err, "cannot persist allocation of %s: %s",
				    ip_str(htonl(ip), buf), strerror(-err));
		}
	}
	*ret_ip_be = htonl(ip);
	return fresh;
}

/* Disk first, then memory, so a crash never leaves a file for a free IP. */
static int ip_release(struct agent *a, const char *owner, uint32_t *ret_ip, struct agent_err *e)
{
	char buf[INET_ADDRSTRLEN];
	uint32_t ip;
	int err;

	if (ipam_lookup(a->ipam, owner, &ip) < 0)
		return 0;
	err = ipam_store_remove(a->ipam_dir, ip);
	if (err < 0)
		return fail(e, err, "cannot remove allocation of %s: %s",
			    ip_str(htonl(ip), buf), strerror(-err));
	ipam_release(a->ipam, owner, NULL);
	if (ret_ip)
		*ret_ip = ip;
	return 1;
}

int agent_ip_release(struct agent *a, const char *container_id, const char *ifname,
		     struct agent_err *e)
{
	const struct ep_record *rec = ep_store_find(a->eps, container_id, ifname);
	char owner[IPAM_OWNER_MAX + 1];
	int err;

	if (ep_op_gate(rec, EP_OP_IP_RELEASE) == 1)
		return 0;
	if (rec)
		return fail(e, -EBUSY, "an endpoint is registered for %s/%s; use endpoint_delete",
			    container_id, ifname);
	err = owner_of(container_id, ifname, owner);
	if (err < 0)
		return fail(e, err, "owner name too long");
	return ip_release(a, owner, NULL, e);
}

/* --- endpoints ------------------------------------------------------------- */

int agent_endpoint_add(struct agent *a, struct ep_record *rec, struct agent_err *e)
{
	char owner[IPAM_OWNER_MAX + 1], buf[INET_ADDRSTRLEN];
	const struct ep_record *cur, *holder;
	struct ep_record old;
	bool had_old = false;
	uint32_t ip = ntohl(rec->ip_be);
	int err, claimed;

	err = owner_of(rec->container_id, rec->ifname, owner);
	if (err < 0)
		return fail(e, err, "owner name too long");
	cur = ep_store_find(a->eps, rec->container_id, rec->ifname);
	if (ep_op_gate(cur, EP_OP_ENDPOINT_ADD) < 0)
		return torn_down(e, rec->container_id, rec->ifname);
	if (!ipam_assignable(a->ipam, ip))
		return fail(e, -EINVAL, "ip %s is not an assignable address of pod CIDR %s",
			    ip_str(rec->ip_be, buf), a->cfg.pod_cidr);
	if (ip_used(a, rec->ip_be, rec))
		return fail(e, -EADDRINUSE, "ip %s belongs to another endpoint",
			    ip_str(rec->ip_be, buf));
	/* A delegated IPAM plugin may hand out an address again at once. */
	holder = ip_held_by_deleting(a, rec->ip_be);
	if (holder)
		return fail(e, -EAGAIN, "ip %s is held until the veth of %s/%s is gone; "
			    "try again later", ip_str(rec->ip_be, buf), holder->container_id,
			    holder->ifname);
	rec->state = EP_STATE_ACTIVE;
	if (cur) {
		old = *cur;
		had_old = true;
	}
	if (ifindex_used(a, rec->host_ifindex, rec))
		log_warn("host ifindex is also recorded for another endpoint (stale record?)",
			 "container_id=%s ifname=%s host_ifindex=%d", rec->container_id,
			 rec->ifname, rec->host_ifindex);

	claimed = ipam_claim(a->ipam, ip, owner);
	if (claimed == -EADDRINUSE)
		return fail(e, claimed, "ip %s is allocated to %s", ip_str(rec->ip_be, buf),
			    ipam_owner_of(a->ipam, ip));
	if (claimed == -EEXIST) {
		uint32_t held = 0;

		ipam_lookup(a->ipam, owner, &held);
		return fail(e, claimed, "%s already holds ip %s", owner,
			    ip_str(htonl(held), buf));
	}
	if (claimed < 0)
		return fail(e, claimed, "cannot claim ip");
	if (claimed) {
		err = ipam_store_save(a->ipam_dir, ip, owner);
		if (err < 0) {
			ipam_release(a->ipam, owner, NULL);
			return fail(e, err, "cannot persist allocation: %s", strerror(-err));
		}
	}

	rec->endpoint_id = had_old ? old.endpoint_id : ep_store_free_id(a->eps);
	err = ep_store_put(a->eps, rec);
	if (err < 0) {
		fail(e, err, "cannot store endpoint record: %s", strerror(-err));
		goto err_ipam;
	}
	err = map_write(a, rec);
	if (err < 0) {
		fail(e, err, "cannot write datapath maps: %s", strerror(-err));
		goto err_store;
	}
	/* A re-add on a new veth or with a new IP leaves the old keys behind. */
	if (had_old && (old.host_ifindex != rec->host_ifindex || old.ip_be != rec->ip_be)) {
		err = map_remove(a, &old, ifindex_used(a, old.host_ifindex, NULL),
				 ip_used(a, old.ip_be, NULL));
		if (err < 0)
			log_warn("cannot remove stale map entries",
				 "container_id=%s ifname=%s err=%s", rec->container_id, rec->ifname,
				 log_errno_name(err));
	}
	return 0;

err_store:
	if (had_old) {
		(void)ep_store_put(a->eps, &old);
		(void)map_remove(a, rec, ifindex_used(a, rec->host_ifindex, NULL),
				 ip_used(a, rec->ip_be, NULL));
		(void)map_write(a, &old);
	} else {
		(void)map_remove(a, rec, ifindex_used(a, rec->host_ifindex, rec),
				 ip_used(a, rec->ip_be, rec));
		netpol_endpoint_gone(a->netpol, rec->endpoint_id);
		(void)ep_store_remove(a->eps, rec->container_id, rec->ifname);
	}
err_ipam:
	if (claimed)
		(void)ip_release(a, owner, NULL, NULL);
	return err;
}

static struct reaper_job *job_new(const struct ep_record *rec)
{
	struct reaper_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	strcpy(job->container_id, rec->container_id);
	strcpy(job->ifname, rec->ifname);
	strcpy(job->host_ifname, rec->host_ifname);
	job->host_ifindex = rec->host_ifindex;
	return job;
}

/* ACTIVE → DELETING: map entries out, the new state on disk, the veth to the
 * reaper.  A failure leaves the record ACTIVE, for a retry to find. */
static int endpoint_begin_delete(struct agent *a, const struct ep_record *found,
				 struct agent_err *e)
{
	struct ep_record rec = *found;	/* @found may move when the store changes */
	struct reaper_job *job;
	int err;

	/* First: once the record says DELETING, the job must be queued. */
	job = job_new(&rec);
	if (!job)
		return fail(e, -ENOMEM, "out of memory");
	err = map_remove(a, &rec, ifindex_used(a, rec.host_ifindex, &rec),
			 ip_used(a, rec.ip_be, &rec));
	if (err < 0) {
		free(job);
		return fail(e, err, "cannot remove datapath map entries: %s", strerror(-err));
	}
	netpol_endpoint_gone(a->netpol, rec.endpoint_id);
	rec.state = EP_STATE_DELETING;
	err = ep_store_put(a->eps, &rec);
	if (err < 0) {
		free(job);
		return fail(e, err, "cannot mark the endpoint record deleting: %s",
			    strerror(-err));
	}
	reaper_submit(a->reaper, job);
	return 0;
}

int agent_endpoint_delete(struct agent *a, const char *container_id, const char *ifname,
			  char ret_host_ifname[IFNAMSIZ], struct agent_err *e)
{
	char owner[IPAM_OWNER_MAX + 1];
	const struct ep_record *rec;
	int err;

	err = owner_of(container_id, ifname, owner);
	if (err < 0)
		return fail(e, err, "owner name too long");
	rec = ep_store_find(a->eps, container_id, ifname);
	if (rec) {
		if (ret_host_ifname)
			strcpy(ret_host_ifname, rec->host_ifname);
		if (ep_op_gate(rec, EP_OP_ENDPOINT_DELETE) == 0) {
			err = endpoint_begin_delete(a, rec, e);
			if (err < 0)
				return err;
		}
		return AGENT_DEL_PENDING;
	}
	/* An IP without an endpoint (ADD died before endpoint_add): no veth of
	 * ours is known, so the caller deletes whatever carries the name. */
	err = ip_release(a, owner, NULL, e);
	return err < 0 ? err : AGENT_DEL_NONE;
}

/* --- the reaper's results ---------------------------------------------------- */

/* The veth is gone: release the IP, then drop the record (last, so that a
 * failure leaves it DELETING for the next try). */
static int endpoint_finish_delete(struct agent *a, const struct ep_record *rec,
				  struct agent_err *e)
{
	char owner[IPAM_OWNER_MAX + 1];
	int err;

	err = owner_of(rec->container_id, rec->ifname, owner);
	if (err < 0)
		return fail(e, err, "owner name too long");
	err = ip_release(a, owner, NULL, e);
	if (err < 0)
		return err;
	err = ep_store_remove(a->eps, rec->container_id, rec->ifname);
	if (err < 0)
		return fail(e, err, "cannot remove endpoint record: %s", strerror(-err));
	return 0;
}

/* 0.1 s, 0.2 s, 0.4 s ... then every 30 s. */
static unsigned int retry_delay_ms(unsigned int attempt)
{
	unsigned int ms = attempt >= 9 ? 30000 : 100u << attempt;

	return ms < 30000 ? ms : 30000;
}

static unsigned long long us_between(uint64_t from_ns, uint64_t to_ns)
{
	return to_ns > from_ns ? (unsigned long long)((to_ns - from_ns) / 1000) : 0;
}

static void reaper_job_done(struct agent *a, struct reaper_job *job)
{
	const struct ep_record *found = ep_store_find(a->eps, job->container_id, job->ifname);
	struct agent_err e = { { 0 } };
	char ip[INET_ADDRSTRLEN];
	struct ep_record rec;
	int err;

	if (!found || found->state != EP_STATE_DELETING) {
		/* Only DELETING records queue jobs, and only their job ends that
		 * state: nothing should get here. */
		log_warn("reaper finished a job nobody waits for", "container_id=%s ifname=%s "
			 "host_ifname=%s", job->container_id, job->ifname, job->host_ifname);
		free(job);
		return;
	}
	rec = *found;	/* @found dies with the record */
	err = job->err;
	if (err < 0) {
		fail(&e, err, "cannot delete the host veth: %s", strerror(-err));
	} else {
		/* Before the IP is free: a new pod must not inherit the old
		 * one's conntrack entries (they would pass its policy). */
		int ct = a->dp ? dp_ct_forget_addr(a->dp, rec.ip_be) : 0;

		if (ct < 0)
			log_warn("cannot flush the conntrack entries of a deleted pod",
				 "ip=%s err=%s", ip_str(rec.ip_be, ip), log_errno_name(ct));
		err = endpoint_finish_delete(a, &rec, &e);
	}
	if (err < 0) {
		job->delay_ms = retry_delay_ms(job->attempt);
		log_warn("endpoint teardown failed, will retry", "container_id=%s ifname=%s "
			 "host_ifname=%s attempt=%u retry_in_ms=%u err=%s error=\"%s\"",
			 rec.container_id, rec.ifname, rec.host_ifname, job->attempt + 1,
			 job->delay_ms, log_errno_name(err), e.msg);
		job->attempt++;
		reaper_submit(a->reaper, job);
		return;
	}
	log_info("endpoint teardown finished", "container_id=%s ifname=%s endpoint_id=%u ip=%s "
		 "host_ifname=%s veth=%s attempts=%u queued_us=%llu unlink_us=%llu total_us=%llu",
		 rec.container_id, rec.ifname, rec.endpoint_id, ip_str(rec.ip_be, ip),
		 rec.host_ifname, job->found ? "deleted" : "already-gone", job->attempt + 1,
		 us_between(job->submit_ns, job->start_ns), us_between(job->start_ns, job->end_ns),
		 us_between(job->first_submit_ns, reaper_now_ns()));
	free(job);
}

void agent_reaper_collect(struct agent *a)
{
	struct reaper_job *job = reaper_collect(a->reaper);

	while (job) {
		struct reaper_job *next = job->next;

		reaper_job_done(a, job);	/* frees or resubmits it */
		job = next;
	}
}

void agent_reaper_resume(struct agent *a)
{
	unsigned int n = 0;

	for (size_t i = 0; i < ep_store_count(a->eps); i++) {
		const struct ep_record *r = ep_store_at(a->eps, i);
		struct reaper_job *job;

		if (r->state != EP_STATE_DELETING)
			continue;
		job = job_new(r);
		if (!job) {
			log_error("out of memory: endpoint teardown waits for the next start",
				  "container_id=%s ifname=%s", r->container_id, r->ifname);
			continue;
		}
		reaper_submit(a->reaper, job);
		n++;
	}
	if (n)
		log_info("resuming endpoint teardowns left by the previous run", "deleting=%u", n);
}

static bool key_valid(const struct agent_key *valid, size_t n, const char *container_id,
		      const char *ifname)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(valid[i].container_id, container_id) == 0 &&
		    strcmp(valid[i].ifname, ifname) == 0)
			return true;
	return false;
}

int agent_gc(struct agent *a, const struct agent_key *valid, size_t n_valid,
	     agent_gc_fn removed, void *ctx)
{
	struct agent_err e;
	char host[IFNAMSIZ];
	size_t cursor = 0;
	const char *owner;
	uint32_t ip;
	int err;

	/* Endpoints: they turn DELETING (the record stays in its slot, so the
	 * walk goes on) and their IP goes with their veth, later. */
	for (size_t i = 0; i < ep_store_count(a->eps); i++) {
		const struct ep_record *r = ep_store_at(a->eps, i);
		struct agent_key k;

		if (ep_op_gate(r, EP_OP_GC) != 0 ||
		    key_valid(valid, n_valid, r->container_id, r->ifname))
			continue;
		strcpy(k.container_id, r->container_id);
		strcpy(k.ifname, r->ifname);
		err = agent_endpoint_delete(a, k.container_id, k.ifname, host, &e);
		if (err < 0) {
			log_warn("gc: cannot remove endpoint", "container_id=%s ifname=%s err=%s",
				 k.container_id, k.ifname, log_errno_name(err));
			continue;
		}
		err = removed(ctx, k.container_id, k.ifname, host);
		if (err < 0)
			return err;
	}

	/* IP allocations without an endpoint (those of endpoints, DELETING or
	 * kept, are not this walk's to release). */
	while (ipam_next(a->ipam, &cursor, &ip, &owner)) {
		char cid[EP_CONTAINER_ID_MAX + 1], ifname[IFNAMSIZ], copy[IPAM_OWNER_MAX + 1];
		bool ours = ep_owner_split(owner, cid, ifname) == 0;

		if (ours && (key_valid(valid, n_valid, cid, ifname) ||
			     ep_store_find(a->eps, cid, ifname)))
			continue;
		snprintf(copy, sizeof(copy), "%s", owner);
		err = ip_release(a, copy, NULL, &e);
		if (err < 0) {
			log_warn("gc: cannot release ip", "owner=%s err=%s", copy,
				 log_errno_name(err));
			continue;
		}
		if (!ours)
			continue;
		err = removed(ctx, cid, ifname, NULL);
		if (err < 0)
			return err;
	}
	return 0;
}

/* --- restart reconciliation ----------------------------------------------- */

static void reconcile_ipam(struct agent *a, const struct ep_record *r)
{
	char owner[IPAM_OWNER_MAX + 1], buf[INET_ADDRSTRLEN];
	uint32_t ip = ntohl(r->ip_be);
	int err;

	if (owner_of(r->container_id, r->ifname, owner) < 0)
		return;
	err = ipam_claim(a->ipam, ip, owner);
	if (err == 1) {
		err = ipam_store_save(a->ipam_dir, ip, owner);
		log_warn("restored missing ip allocation of an endpoint", "ip=%s owner=%s err=%s",
			 ip_str(r->ip_be, buf), owner, log_errno_name(err));
	} else if (err < 0) {
		log_warn("endpoint ip disagrees with ipam", "ip=%s owner=%s err=%s",
			 ip_str(r->ip_be, buf), owner, log_errno_name(err));
	}
}

static bool record_has_ifindex(const struct agent *a, uint32_t ifindex)
{
	return ifindex_used(a, (int)ifindex, NULL);
}

/* Delete local entries that no record backs (e.g. the agent died between a
 * map write and its record update).  Only PN_IPC_F_LOCAL /32s are ours. */
static int reconcile_prune(struct agent *a, unsigned int *ret_pruned)
{
	struct pn_endpoint_key *keys;
	struct pn_ipcache_key *ikeys;
	struct pn_ipcache_entry *ivals;
	unsigned int pruned = 0;
	size_t n;
	int err;

	err = dp_endpoint_keys(a->dp, &keys, &n);
	if (err < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		bool keep;

		if (keys[i].kind == PN_EP_KEY_IFINDEX)
			keep = record_has_ifindex(a, keys[i].value);
		else if (keys[i].kind == PN_EP_KEY_IPV4)
			keep = ip_used(a, keys[i].value, NULL);
		else
			keep = false;
		if (keep)
			continue;
		err = dp_endpoint_delete(a->dp, keys[i].kind, keys[i].value);
		if (err < 0)
			log_warn("cannot delete stale endpoint key", "kind=%u value=%u err=%s",
				 keys[i].kind, keys[i].value, log_errno_name(err));
		else
			pruned++;
	}
	free(keys);

	err = dp_ipcache_entries(a->dp, &ikeys, &ivals, &n);
	if (err < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (!(ivals[i].flags & PN_IPC_F_LOCAL) || ikeys[i].prefixlen != 32 ||
		    ip_used(a, ikeys[i].ipv4, NULL))
			continue;
		err = dp_ipcache_delete(a->dp, ikeys[i].ipv4, 32);
		if (err < 0)
			log_warn("cannot delete stale ipcache entry", "err=%s",
				 log_errno_name(err));
		else
			pruned++;
	}
	free(ikeys);
	free(ivals);
	*ret_pruned = pruned;
	return 0;
}

int agent_reconcile(struct agent *a)
{
	unsigned int attached = 0, gone = 0, failed = 0, pruned = 0, deleting = 0;
	int from_fd, to_fd, err;

	dp_prog_fds(a->dp, &from_fd, &to_fd);
	for (size_t i = 0; i < ep_store_count(a->eps); i++) {
		const struct ep_record *r = ep_store_at(a->eps, i);
		unsigned int idx;

		/* Its entries go in the prune below; its veth goes through the
		 * reaper (agent_reaper_resume()); its IP is held by its file,
		 * unless the previous run died after releasing it. */
		if (r->state == EP_STATE_DELETING) {
			deleting++;
			continue;
		}
		reconcile_ipam(a, r);
		err = map_write(a, r);
		if (err < 0) {
			log_error("cannot rewrite endpoint map entries", "endpoint_id=%u "
				  "container_id=%s ifname=%s err=%s", r->endpoint_id,
				  r->container_id, r->ifname, log_errno_name(err));
			failed++;
			continue;
		}
		idx = if_nametoindex(r->host_ifname);
		if (idx == 0 || idx != (unsigned int)r->host_ifindex) {
			log_info("endpoint veth is gone, leaving it to CNI DEL/GC",
				 "endpoint_id=%u container_id=%s ifname=%s host_ifname=%s "
				 "host_ifindex=%d", r->endpoint_id, r->container_id, r->ifname,
				 r->host_ifname, r->host_ifindex);
			gone++;
			continue;
		}
		err = tc_attach_endpoint_fds((int)idx, from_fd, to_fd);
		if (err < 0) {
			log_error("cannot re-attach programs", "endpoint_id=%u host_ifname=%s "
				  "err=%s", r->endpoint_id, r->host_ifname, log_errno_name(err));
			failed++;
			continue;
		}
		log_debug("re-attached programs", "endpoint_id=%u host_ifname=%s",
			  r->endpoint_id, r->host_ifname);
		attached++;
	}

	err = reconcile_prune(a, &pruned);
	if (err < 0) {
		log_error("cannot prune stale map entries", "err=%s", log_errno_name(err));
		failed++;
	}
	log_info("reconciled endpoints", "endpoints=%zu attached=%u veth_gone=%u deleting=%u "
		 "stale_map_entries_removed=%u failed=%u", ep_store_count(a->eps) - deleting,
		 attached, gone, deleting, pruned, failed);
	return 0;
}

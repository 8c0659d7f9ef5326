// SPDX-License-Identifier: Apache-2.0
/* The only user of the generated bpf_lxc skeleton (see dp.h). */
#include "dp.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_lxc.skel.h"
#include "log.h"

struct dp {
	struct bpf_lxc *skel;
	int ncpus;
};

static int join(char path[PATH_MAX], const char *root, const char *name)
{
	int n = snprintf(path, PATH_MAX, "%s/%s", root, name);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/*
 * Point a map at its pin.  libbpf already does this for maps declared with
 * LIBBPF_PIN_BY_NAME when pin_root_path is set; doing it explicitly makes
 * adoption independent of that declaration.  Reports whether a pin existed.
 */
static int map_pin_prepare(struct bpf_map *map, const char *root, bool *ret_existed)
{
	char path[PATH_MAX];
	int err;

	err = join(path, root, bpf_map__name(map));
	if (err < 0)
		return err;
	*ret_existed = access(path, F_OK) == 0;
	return bpf_map__set_pin_path(map, path);
}

/*
 * Pin under a temporary name and rename over the old pin: bpffs renames
 * atomically, so a CNI ADD racing with an agent restart always finds a
 * program.  Fall back to unlink + pin if rename is refused.  (bpffs refuses
 * names with a '.', hence "<name>_new".)
 */
static int prog_pin(struct bpf_program *prog, const char *root, const char *name)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int err, n;

	err = join(path, root, name);
	if (err < 0)
		return err;
	n = snprintf(tmp, sizeof(tmp), "%s/%s_new", root, name);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;

	unlink(tmp);
	err = bpf_program__pin(prog, tmp);
	if (err == 0) {
		if (rename(tmp, path) == 0)
			return 0;
		err = -errno;
		unlink(tmp);
		log_debug("rename of program pin failed, replacing it non-atomically",
			  "pin=%s err=%s", path, log_errno_name(err));
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return bpf_program__pin(prog, path);
}

int dp_open(const char *bpf_root, const struct dp_config *cfg, struct dp **ret)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = bpf_root);
	struct bpf_map *maps[3];
	bool existed[3];
	struct dp *dp;
	int err;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		err = dp->ncpus < 0 ? dp->ncpus : -EINVAL;
		goto err_free;
	}

	dp->skel = bpf_lxc__open_opts(&opts);
	if (!dp->skel) {
		err = -errno;
		log_error("cannot open the bpf_lxc object", "err=%s", log_errno_name(err));
		goto err_free;
	}
	dp->skel->rodata->pn_cfg_routing = cfg->routing;
	dp->skel->rodata->pn_cfg_tunnel_ifindex = cfg->tunnel_ifindex;
	maps[0] = dp->skel->maps.pn_endpoints;
	maps[1] = dp->skel->maps.pn_ipcache;
	maps[2] = dp->skel->maps.pn_drops;
	for (int i = 0; i < 3; i++) {
		err = map_pin_prepare(maps[i], bpf_root, &existed[i]);
		if (err < 0) {
			log_error("cannot set map pin path", "map=%s err=%s",
				  bpf_map__name(maps[i]), log_errno_name(err));
			goto err_destroy;
		}
	}

	err = bpf_lxc__load(dp->skel);
	if (err < 0) {
		log_error("cannot load bpf_lxc (a pinned map that no longer matches its "
			  "definition is never replaced: remove the pin by hand if the "
			  "ABI changed)", "bpf_root=%s err=%s", bpf_root, log_errno_name(err));
		goto err_destroy;
	}
	for (int i = 0; i < 3; i++) {
		if (!bpf_map__is_pinned(maps[i])) {
			err = -EIO;
			log_error("map is not pinned after load", "map=%s",
				  bpf_map__name(maps[i]));
			goto err_destroy;
		}
		log_info(existed[i] ? "adopted pinned map" : "created and pinned map",
			 "map=%s pin=%s", bpf_map__name(maps[i]), bpf_map__pin_path(maps[i]));
	}

	err = prog_pin(dp->skel->progs.from_container, bpf_root, PN_PIN_PROG_FROM_CONTAINER);
	if (!err)
		err = prog_pin(dp->skel->progs.to_container, bpf_root, PN_PIN_PROG_TO_CONTAINER);
	if (!err)
		err = prog_pin(dp->skel->progs.from_overlay, bpf_root, PN_PIN_PROG_FROM_OVERLAY);
	if (!err)
		err = prog_pin(dp->skel->progs.to_overlay, bpf_root, PN_PIN_PROG_TO_OVERLAY);
	if (err < 0) {
		log_error("cannot pin programs", "bpf_root=%s err=%s", bpf_root,
			  log_errno_name(err));
		goto err_destroy;
	}
	*ret = dp;
	return 0;

err_destroy:
	bpf_lxc__destroy(dp->skel);
err_free:
	free(dp);
	return err;
}

void dp_close(struct dp *dp)
{
	if (!dp)
		return;
	bpf_lxc__destroy(dp->skel);	/* closes fds; pins keep everything alive */
	free(dp);
}

void dp_prog_fds(const struct dp *dp, int *ret_from_container, int *ret_to_container)
{
	*ret_from_container = bpf_program__fd(dp->skel->progs.from_container);
	*ret_to_container = bpf_program__fd(dp->skel->progs.to_container);
}

void dp_overlay_prog_fds(const struct dp *dp, int *ret_from_overlay, int *ret_to_overlay)
{
	*ret_from_overlay = bpf_program__fd(dp->skel->progs.from_overlay);
	*ret_to_overlay = bpf_program__fd(dp->skel->progs.to_overlay);
}

int dp_endpoint_upsert(struct dp *dp, const struct pn_endpoint *ep)
{
	struct pn_endpoint_key k = { .kind = PN_EP_KEY_IFINDEX, .value = ep->ifindex };
	struct bpf_map *map = dp->skel->maps.pn_endpoints;
	int err;

	err = bpf_map__update_elem(map, &k, sizeof(k), ep, sizeof(*ep), BPF_ANY);
	if (err < 0)
		return err;
	k.kind = PN_EP_KEY_IPV4;
	k.value = ep->ipv4;
	return bpf_map__update_elem(map, &k, sizeof(k), ep, sizeof(*ep), BPF_ANY);
}

int dp_endpoint_lookup(struct dp *dp, uint32_t ifindex, struct pn_endpoint *ret)
{
	struct pn_endpoint_key k = { .kind = PN_EP_KEY_IFINDEX, .value = ifindex };

	return bpf_map__lookup_elem(dp->skel->maps.pn_endpoints, &k, sizeof(k), ret,
				    sizeof(*ret), 0);
}

int dp_endpoint_delete(struct dp *dp, uint32_t kind, uint32_t value)
{
	struct pn_endpoint_key k = { .kind = kind, .value = value };
	int err;

	err = bpf_map__delete_elem(dp->skel->maps.pn_endpoints, &k, sizeof(k), 0);
	return err == -ENOENT ? 0 : err;
}

/* Collect all keys of @map (key size @ksz) into a malloc'd array, grown as
 * needed: the policy map may hold a million entries but usually few. */
static int map_keys(const struct bpf_map *map, size_t ksz, void **ret_keys, size_t *ret_n)
{
	size_t max = bpf_map__max_entries(map), cap = 64, n = 0;
	char *keys, *grown;
	int err;

	keys = malloc(cap * ksz);
	if (!keys)
		return -ENOMEM;
	while (n < max) {
		if (n == cap) {
			grown = realloc(keys, 2 * cap * ksz);
			if (!grown) {
				free(keys);
				return -ENOMEM;
			}
			keys = grown;
			cap *= 2;
		}
		err = bpf_map__get_next_key(map, n ? keys + (n - 1) * ksz : NULL,
					    keys + n * ksz, ksz);
		if (err == -ENOENT)
			break;
		if (err < 0) {
			free(keys);
			return err;
		}
		n++;
	}
	*ret_keys = keys;
	*ret_n = n;
	return 0;
}

int dp_endpoint_keys(struct dp *dp, struct pn_endpoint_key **ret_keys, size_t *ret_n)
{
	return map_keys(dp->skel->maps.pn_endpoints, sizeof(**ret_keys), (void **)ret_keys,
			ret_n);
}

int dp_ipcache_upsert(struct dp *dp, uint32_t ip_be, uint32_t prefix_len,
		      const struct pn_ipcache_entry *entry)
{
	struct pn_ipcache_key k = { .prefixlen = prefix_len, .ipv4 = ip_be };

	return bpf_map__update_elem(dp->skel->maps.pn_ipcache, &k, sizeof(k), entry,
				    sizeof(*entry), BPF_ANY);
}

int dp_ipcache_delete(struct dp *dp, uint32_t ip_be, uint32_t prefix_len)
{
	struct pn_ipcache_key k = { .prefixlen = prefix_len, .ipv4 = ip_be };
	int err;

	err = bpf_map__delete_elem(dp->skel->maps.pn_ipcache, &k, sizeof(k), 0);
	return err == -ENOENT ? 0 : err;
}

int dp_ipcache_lookup(struct dp *dp, uint32_t ip_be, struct pn_ipcache_entry *ret)
{
	struct pn_ipcache_key k = { .prefixlen = 32, .ipv4 = ip_be };

	return bpf_map__lookup_elem(dp->skel->maps.pn_ipcache, &k, sizeof(k), ret, sizeof(*ret),
				    0);
}

int dp_ipcache_entries(struct dp *dp, struct pn_ipcache_key **ret_keys,
		       struct pn_ipcache_entry **ret_vals, size_t *ret_n)
{
	const struct bpf_map *map = dp->skel->maps.pn_ipcache;
	struct pn_ipcache_entry *vals;
	struct pn_ipcache_key *keys;
	size_t n, kept = 0;
	int err;

	err = map_keys(map, sizeof(*keys), (void **)&keys, &n);
	if (err < 0)
		return err;
	vals = calloc(n ? n : 1, sizeof(*vals));
	if (!vals) {
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		err = bpf_map__lookup_elem(map, &keys[i], sizeof(keys[i]), &vals[kept],
					   sizeof(vals[kept]), 0);
		if (err == -ENOENT)
			continue;	/* deleted since we listed it */
		if (err < 0) {
			free(keys);
			free(vals);
			return err;
		}
		keys[kept++] = keys[i];
	}
	*ret_keys = keys;
	*ret_vals = vals;
	*ret_n = kept;
	return 0;
}

int dp_policy_update(struct dp *dp, const struct pn_policy_key *k, const struct pn_policy_entry *v)
{
	return bpf_map__update_elem(dp->skel->maps.pn_policy, k, sizeof(*k), v, sizeof(*v),
				    BPF_ANY);
}

int dp_policy_delete(struct dp *dp, const struct pn_policy_key *k)
{
	int err = bpf_map__delete_elem(dp->skel->maps.pn_policy, k, sizeof(*k), 0);

	return err == -ENOENT ? 0 : err;
}

int dp_policy_keys(struct dp *dp, struct pn_policy_key **ret_keys, size_t *ret_n)
{
	return map_keys(dp->skel->maps.pn_policy, sizeof(**ret_keys), (void **)ret_keys, ret_n);
}

int dp_policy_cidr_upsert(struct dp *dp, uint32_t ip_be, uint32_t prefix_len, uint32_t identity)
{
	struct pn_ipcache_key k = { .prefixlen = prefix_len, .ipv4 = ip_be };

	return bpf_map__update_elem(dp->skel->maps.pn_policy_cidrs, &k, sizeof(k), &identity,
				    sizeof(identity), BPF_ANY);
}

int dp_policy_cidr_delete(struct dp *dp, uint32_t ip_be, uint32_t prefix_len)
{
	struct pn_ipcache_key k = { .prefixlen = prefix_len, .ipv4 = ip_be };
	int err;

	err = bpf_map__delete_elem(dp->skel->maps.pn_policy_cidrs, &k, sizeof(k), 0);
	return err == -ENOENT ? 0 : err;
}

int dp_policy_cidr_keys(struct dp *dp, struct pn_ipcache_key **ret_keys, size_t *ret_n)
{
	return map_keys(dp->skel->maps.pn_policy_cidrs, sizeof(**ret_keys), (void **)ret_keys,
			ret_n);
}

int dp_ct_forget_addr(struct dp *dp, uint32_t ip_be)
{
	const struct bpf_map *map = dp->skel->maps.pn_ct;
	struct pn_ct_key *keys;
	size_t n;
	int err, gone = 0;

	/* Collect first: deleting while walking a hash map restarts the walk. */
	err = map_keys(map, sizeof(*keys), (void **)&keys, &n);
	if (err < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (keys[i].saddr != ip_be && keys[i].daddr != ip_be)
			continue;
		err = bpf_map__delete_elem(map, &keys[i], sizeof(keys[i]), 0);
		if (err == 0)
			gone++;
		else if (err != -ENOENT)
			break;
		err = 0;
	}
	free(keys);
	return err < 0 ? err : gone;
}

int dp_drops_read(struct dp *dp, struct dp_drop_stat *out, size_t max)
{
	const struct bpf_map *map = dp->skel->maps.pn_drops;
	struct pn_drop_counter *percpu;
	size_t n = 0;
	__u32 slots;
	int err = 0;

	slots = bpf_map__max_entries(map);
	if (slots > PN_DROP_COUNTERS_MAX)
		slots = PN_DROP_COUNTERS_MAX;
	percpu = calloc((size_t)dp->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (__u32 reason = 0; reason < PN_DROP_MAX; reason++) {
		for (__u32 dir = 0; dir < PN_DIR_MAX; dir++) {
			__u32 idx = pn_drop_index(reason, dir);
			struct dp_drop_stat s = { .reason = reason, .dir = dir };

			if (idx >= slots)
				continue;
			err = bpf_map__lookup_elem(map, &idx, sizeof(idx), percpu,
						   (size_t)dp->ncpus * sizeof(*percpu), 0);
			if (err < 0)
				goto out;
			for (int c = 0; c < dp->ncpus; c++) {
				s.packets += percpu[c].packets;
				s.bytes += percpu[c].bytes;
			}
			if (!s.packets && !s.bytes)
				continue;
			if (n < max)
				out[n] = s;
			n++;
		}
	}
out:
	free(percpu);
	if (err < 0)
		return err;
	return (int)(n < max ? n : max);
}

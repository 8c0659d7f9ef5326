// SPDX-License-Identifier: Apache-2.0
/*
 * clsact + direct-action TC filters through libbpf 1.1 (bookworm): no tcx
 * links yet.  Filters use PN_TC_HANDLE/PN_TC_PRIORITY, and BPF_TC_F_REPLACE
 * makes attaching again an atomic in-place program swap, so there is never a
 * window where a pod's veth has no program (or two).
 */
#include "tc_attach.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "porin/abi.h"

static int tc_attach_one(int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PN_TC_HANDLE, .priority = PN_TC_PRIORITY,
		    .flags = BPF_TC_F_REPLACE, .prog_fd = prog_fd);

	return bpf_tc_attach(&hook, &opts);
}

/* The clsact qdisc both hooks hang off: one request creates it for both
 * (a re-attach finds it there: -EEXIST is fine). */
static int tc_clsact_ensure(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err = bpf_tc_hook_create(&hook);

	return err == -EEXIST ? 0 : err;
}

int tc_attach_endpoint_fds(int ifindex, int from_container_fd, int to_container_fd)
{
	int err;

	if (ifindex <= 0 || from_container_fd < 0 || to_container_fd < 0)
		return -EINVAL;
	/* Ingress of the host-side veth sees what the pod sends.  No unwind
	 * when egress fails: on a re-attach that would tear down a working
	 * filter; the CNI deletes the whole veth on failure anyway. */
	err = tc_clsact_ensure(ifindex);
	if (err < 0)
		return err;
	err = tc_attach_one(ifindex, BPF_TC_INGRESS, from_container_fd);
	if (err < 0)
		return err;
	return tc_attach_one(ifindex, BPF_TC_EGRESS, to_container_fd);
}

static int pinned_prog_open(const char *bpf_root, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", bpf_root, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int tc_attach_endpoint(int ifindex, const char *bpf_root)
{
	int from_fd, to_fd, err;

	if (!bpf_root)
		bpf_root = PN_DEFAULT_BPF_ROOT;
	from_fd = pinned_prog_open(bpf_root, PN_PIN_PROG_FROM_CONTAINER);
	if (from_fd < 0)
		return from_fd;
	to_fd = pinned_prog_open(bpf_root, PN_PIN_PROG_TO_CONTAINER);
	if (to_fd < 0) {
		err = to_fd;
		goto out_from;
	}
	/* The filters hold their own program references; our fds can go. */
	err = tc_attach_endpoint_fds(ifindex, from_fd, to_fd);
	close(to_fd);
out_from:
	close(from_fd);
	return err;
}

static int tc_query_one(int ifindex, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PN_TC_HANDLE, .priority = PN_TC_PRIORITY);
	int err;

	err = bpf_tc_query(&hook, &opts);
	/* -ENOENT: no such filter; -EINVAL: the kernel's answer when the
	 * link has no clsact qdisc at all.  Both mean "not attached". */
	if (err == -ENOENT || err == -EINVAL)
		return 0;
	if (err < 0)
		return err;
	return opts.prog_id != 0;
}

int tc_endpoint_attached(int ifindex)
{
	int ret;

	if (ifindex <= 0)
		return -EINVAL;
	ret = tc_query_one(ifindex, BPF_TC_INGRESS);
	if (ret <= 0)
		return ret;
	return tc_query_one(ifindex, BPF_TC_EGRESS);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * clsact + direct-action cls_bpf filters over lib/netlink.c, the way libbpf's
 * bpf_tc_hook_create() + bpf_tc_attach(BPF_TC_F_REPLACE) do it, minus
 * libbpf: the CNI plugin attaches on the rtnetlink socket it already has and
 * links no libbpf, libelf or zlib.  Filters use PN_TC_HANDLE/PN_TC_PRIORITY,
 * and NLM_F_REPLACE makes attaching again an atomic in-place program swap, so
 * there is never a window where a pod's veth has no program (or two).
 */
#include "tc_attach.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/pkt_sched.h>

#include "netlink.h"
#include "porin/abi.h"

#define TC_INGRESS	TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)
#define TC_EGRESS	TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	int ret = (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));

	return ret < 0 ? -errno : ret;
}

/* The filter's name as libbpf wrote it, "<prog name>:[<prog id>]", so `tc
 * filter show` reads the same as before. */
static int tc_filter_name(int prog_fd, char name[NL_TC_NAME_MAX])
{
	struct bpf_prog_info info;
	union bpf_attr attr;
	int err;

	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));	/* the kernel wants unused bytes zero */
	attr.info.bpf_fd = (uint32_t)prog_fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uintptr_t)&info;
	err = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr);
	if (err < 0)
		return err;
	snprintf(name, NL_TC_NAME_MAX, "%.*s:[%u]", BPF_OBJ_NAME_LEN, info.name, info.id);
	return 0;
}

static int tc_attach_one(struct nl *nl, int ifindex, uint32_t parent, int prog_fd)
{
	char name[NL_TC_NAME_MAX];
	int err;

	err = tc_filter_name(prog_fd, name);
	if (err < 0)
		return err;
	return nl_tc_bpf_replace(nl, ifindex, parent, PN_TC_HANDLE, PN_TC_PRIORITY, prog_fd,
				 name);
}

static int tc_attach_fds(struct nl *nl, int ifindex, int from_container_fd, int to_container_fd)
{
	int err;

	if (ifindex <= 0 || from_container_fd < 0 || to_container_fd < 0)
		return -EINVAL;
	/* Ingress of the host-side veth sees what the pod sends.  No unwind
	 * when egress fails: on a re-attach that would tear down a working
	 * filter; the CNI deletes the whole veth on failure anyway. */
	err = nl_clsact_ensure(nl, ifindex);
	if (err < 0)
		return err;
	err = tc_attach_one(nl, ifindex, TC_INGRESS, from_container_fd);
	if (err < 0)
		return err;
	return tc_attach_one(nl, ifindex, TC_EGRESS, to_container_fd);
}

int tc_attach_endpoint_fds(int ifindex, int from_container_fd, int to_container_fd)
{
	struct nl *nl;
	int err;

	err = nl_open(&nl);
	if (err < 0)
		return err;
	err = tc_attach_fds(nl, ifindex, from_container_fd, to_container_fd);
	nl_close(nl);
	return err;
}

static int pinned_prog_open(const char *bpf_root, const char *name)
{
	char path[PATH_MAX];
	union bpf_attr attr;

	if (snprintf(path, sizeof(path), "%s/%s", bpf_root, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uintptr_t)path;
	return sys_bpf(BPF_OBJ_GET, &attr);
}

int tc_attach_endpoint_nl(struct nl *nl, int ifindex, const char *bpf_root)
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
	err = tc_attach_fds(nl, ifindex, from_fd, to_fd);
	close(to_fd);
out_from:
	close(from_fd);
	return err;
}

int tc_attach_endpoint(int ifindex, const char *bpf_root)
{
	struct nl *nl;
	int err;

	err = nl_open(&nl);
	if (err < 0)
		return err;
	err = tc_attach_endpoint_nl(nl, ifindex, bpf_root);
	nl_close(nl);
	return err;
}

static int tc_attached_one(struct nl *nl, int ifindex, uint32_t parent)
{
	uint32_t id;
	int err;

	err = nl_tc_bpf_prog_id(nl, ifindex, parent, PN_TC_HANDLE, PN_TC_PRIORITY, &id);
	return err < 0 ? err : id != 0;
}

int tc_endpoint_attached(int ifindex)
{
	struct nl *nl;
	int ret;

	if (ifindex <= 0)
		return -EINVAL;
	ret = nl_open(&nl);
	if (ret < 0)
		return ret;
	ret = tc_attached_one(nl, ifindex, TC_INGRESS);
	if (ret > 0)
		ret = tc_attached_one(nl, ifindex, TC_EGRESS);
	nl_close(nl);
	return ret;
}

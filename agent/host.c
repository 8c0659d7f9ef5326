// SPDX-License-Identifier: Apache-2.0
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "netlink.h"

#define BPFFS_DEFAULT_MOUNT	"/sys/fs/bpf"

/* statfs() the deepest existing ancestor of @path (or @path itself). */
static int fs_type_of(const char *path, long *ret_type)
{
	char buf[PATH_MAX];
	struct statfs st;
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (;;) {
		char *slash;

		if (statfs(buf, &st) == 0) {
			*ret_type = (long)st.f_type;
			return 0;
		}
		if (errno != ENOENT)
			return -errno;
		slash = strrchr(buf, '/');
		if (!slash)
			return -ENOENT;
		if (slash == buf)
			slash[1] = '\0';	/* "/" */
		else
			*slash = '\0';
	}
}

static bool under_default_mount(const char *path)
{
	size_t n = strlen(BPFFS_DEFAULT_MOUNT);

	return strncmp(path, BPFFS_DEFAULT_MOUNT, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

int host_bpffs_ensure(const char *bpf_root)
{
	long type;
	int err;

	if (bpf_root[0] != '/' || strstr(bpf_root, "/../") || strstr(bpf_root, "/./"))
		return -EINVAL;
	err = fs_type_of(bpf_root, &type);
	if (err < 0)
		return err;
	if (type != (long)BPF_FS_MAGIC) {
		if (!under_default_mount(bpf_root)) {
			log_error("bpf root is not on a bpffs; mount one first "
				  "(mount -t bpf bpf DIR)", "bpf_root=%s", bpf_root);
			return -ENOTSUP;
		}
		if (mount("bpf", BPFFS_DEFAULT_MOUNT, "bpf", 0, NULL) < 0) {
			err = -errno;
			log_error("cannot mount bpffs", "path=" BPFFS_DEFAULT_MOUNT " err=%s",
				  log_errno_name(err));
			return err;
		}
		log_info("mounted bpffs", "path=" BPFFS_DEFAULT_MOUNT);
		err = fs_type_of(bpf_root, &type);
		if (err < 0)
			return err;
		if (type != (long)BPF_FS_MAGIC) {
			log_error("bpf root is still not on a bpffs after mounting",
				  "bpf_root=%s", bpf_root);
			return -ENOTSUP;
		}
	}
	err = fs_mkdir_p(bpf_root, 0700);
	if (err < 0)
		log_error("cannot create bpf root", "bpf_root=%s err=%s", bpf_root,
			  log_errno_name(err));
	return err;
}

int host_ip_forward_enable(void)
{
	const char *path = "/proc/sys/net/ipv4/ip_forward";
	char cur = 0;
	int fd, err = 0;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (read(fd, &cur, 1) == 1 && cur == '1')
		goto out;
	if (pwrite(fd, "1\n", 2, 0) != 2)
		err = -errno;
	else
		log_info("enabled ip forwarding", "sysctl=net.ipv4.ip_forward");
out:
	if (fd >= 0)
		close(fd);
	if (err < 0)
		log_error("cannot enable ip forwarding", "path=%s err=%s", path,
			  log_errno_name(err));
	return err;
}

int host_gateway_ensure(const char *dev, uint32_t gateway_be)
{
	struct nl *nl;
	int err;

	err = nl_open(&nl);
	if (err < 0) {
		log_error("cannot open rtnetlink", "err=%s", log_errno_name(err));
		return err;
	}
	err = nl_dummy_ensure(nl, dev, gateway_be);
	nl_close(nl);
	if (err < 0)
		log_error("cannot set up the gateway device", "dev=%s err=%s", dev,
			  log_errno_name(err));
	return err;
}

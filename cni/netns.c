// SPDX-License-Identifier: Apache-2.0
/*
 * Entering the pod's network namespace.  We keep an fd of our own namespace
 * to come back to, and stay inside only for what cannot be done from
 * outside: opening the pod's netlink socket (a socket lives in the namespace
 * it was created in, wherever the thread goes afterwards) and writing its
 * /proc/sys/net files (resolved in the opener's namespace).
 */
#include "cni.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/nsfs.h>

int cni_netns_open(const char *path, struct cni_netns *ns)
{
	int err;

	ns->host_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns->host_fd < 0)
		return -errno;
	ns->pod_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns->pod_fd < 0) {
		err = -errno;
		goto err_host;
	}
	/* A stale /run/netns file whose mount is gone is a plain empty file:
	 * setns() would fail later with a less helpful EINVAL. */
	if (ioctl(ns->pod_fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		err = -EINVAL;
		goto err_pod;
	}
	return 0;
err_pod:
	close(ns->pod_fd);
err_host:
	close(ns->host_fd);
	ns->host_fd = ns->pod_fd = -1;
	return err;
}

void cni_netns_close(struct cni_netns *ns)
{
	if (!ns)
		return;
	if (ns->pod_fd >= 0)
		close(ns->pod_fd);
	if (ns->host_fd >= 0)
		close(ns->host_fd);
	ns->host_fd = ns->pod_fd = -1;
}

int cni_netns_run(const struct cni_netns *ns, int (*fn)(void *arg), void *arg)
{
	int ret;

	if (setns(ns->pod_fd, CLONE_NEWNET) < 0)
		return -errno;
	ret = fn(arg);
	if (setns(ns->host_fd, CLONE_NEWNET) < 0) {
		/* Only per-thread state is at stake: netlink sockets already
		 * opened keep their namespace, so the caller can still unwind. */
		ret = -errno;
		log_error("cannot return to the host network namespace", "err=%s",
			  log_errno_name(ret));
	}
	return ret;
}

int cni_sysctl_write(const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	close(fd);
	return err;
}

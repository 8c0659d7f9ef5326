// SPDX-License-Identifier: Apache-2.0
#include "ipam_store.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "ipam.h"
#include "log.h"

static int ip_path(const char *dir, uint32_t ip, char path[PATH_MAX])
{
	struct in_addr in = { .s_addr = htonl(ip) };
	char addr[INET_ADDRSTRLEN];
	int n;

	inet_ntop(AF_INET, &in, addr, sizeof(addr));
	n = snprintf(path, PATH_MAX, "%s/%s", dir, addr);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static bool owner_valid(const char *owner)
{
	size_t len = strlen(owner);

	if (len == 0 || len > IPAM_OWNER_MAX)
		return false;
	for (const char *p = owner; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return false;
	return true;
}

int ipam_store_save(const char *dir, uint32_t ip, const char *owner)
{
	char path[PATH_MAX], buf[IPAM_OWNER_MAX + 2];
	int err, n;

	if (!owner_valid(owner))
		return -EINVAL;
	err = ip_path(dir, ip, path);
	if (err < 0)
		return err;
	n = snprintf(buf, sizeof(buf), "%s\n", owner);
	return fs_write_atomic(path, buf, (size_t)n, 0600);
}

int ipam_store_remove(const char *dir, uint32_t ip)
{
	char path[PATH_MAX];
	int err;

	err = ip_path(dir, ip, path);
	if (err < 0)
		return err;
	return fs_remove(path);
}

static int load_one(struct ipam *ipam, const char *dir, const char *name)
{
	char path[PATH_MAX], *buf = NULL;
	struct in_addr in;
	size_t len;
	int err, n;

	if (inet_pton(AF_INET, name, &in) != 1) {
		log_warn("ignoring unexpected file in ipam dir", "dir=%s file=%s", dir, name);
		return 0;
	}
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	err = fs_read_file(path, IPAM_OWNER_MAX + 1, &buf, &len);
	if (err < 0) {
		log_warn("cannot read ipam record", "file=%s err=%s", path, log_errno_name(err));
		return 0;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (!owner_valid(buf)) {
		log_warn("ignoring malformed ipam record", "file=%s", path);
		free(buf);
		return 0;
	}
	err = ipam_claim(ipam, ntohl(in.s_addr), buf);
	if (err == -ENOMEM) {
		free(buf);
		return err;
	}
	if (err < 0)
		log_warn("ignoring ipam record that does not fit the pool",
			 "file=%s owner=%s err=%s", path, buf, log_errno_name(err));
	free(buf);
	return err == 1 ? 1 : 0;
}

int ipam_store_load(struct ipam *ipam, const char *dir)
{
	struct dirent *de;
	int err, loaded = 0;
	DIR *d;

	err = fs_mkdir_p(dir, 0700);
	if (err < 0)
		return err;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (fs_name_hidden(de->d_name))
			continue;
		err = load_one(ipam, dir, de->d_name);
		if (err < 0)
			break;
		loaded += err;
	}
	closedir(d);
	return err < 0 ? err : loaded;
}

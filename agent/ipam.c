// SPDX-License-Identifier: Apache-2.0
#include "ipam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ipam {
	uint32_t network;	/* host order */
	unsigned int prefix_len;
	size_t size;		/* 2^(32 - prefix_len), reserved slots included */
	size_t used;
	size_t next;		/* offset the next search starts at */
	char **owners;		/* [size]; NULL = free */
};

int ipam_cidr_parse(const char *cidr, uint32_t *ret_network, unsigned int *ret_prefix_len)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash;
	struct in_addr in;
	unsigned long len;
	uint32_t net, mask;
	char *end;

	if (!cidr)
		return -EINVAL;
	slash = strchr(cidr, '/');
	if (!slash || (size_t)(slash - cidr) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	if (inet_pton(AF_INET, addr, &in) != 1)
		return -EINVAL;
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno || *end || len > 32)
		return -EINVAL;
	if (len < IPAM_PREFIX_MIN || len > IPAM_PREFIX_MAX)
		return -EINVAL;
	net = ntohl(in.s_addr);
	mask = ~0U << (32 - len);
	if (net & ~mask)
		return -EINVAL;	/* host bits set: probably a typo */
	*ret_network = net;
	*ret_prefix_len = (unsigned int)len;
	return 0;
}

int ipam_new(const char *cidr, struct ipam **ret)
{
	struct ipam *ipam;
	uint32_t net;
	unsigned int len;
	int err;

	err = ipam_cidr_parse(cidr, &net, &len);
	if (err < 0)
		return err;
	ipam = calloc(1, sizeof(*ipam));
	if (!ipam)
		return -ENOMEM;
	ipam->network = net;
	ipam->prefix_len = len;
	ipam->size = (size_t)1 << (32 - len);
	ipam->next = 2;		/* first assignable offset */
	ipam->owners = calloc(ipam->size, sizeof(*ipam->owners));
	if (!ipam->owners) {
		free(ipam);
		return -ENOMEM;
	}
	*ret = ipam;
	return 0;
}

void ipam_free(struct ipam *ipam)
{
	if (!ipam)
		return;
	for (size_t i = 0; i < ipam->size; i++)
		free(ipam->owners[i]);
	free(ipam->owners);
	free(ipam);
}

uint32_t ipam_network(const struct ipam *ipam)
{
	return ipam->network;
}

unsigned int ipam_prefix_len(const struct ipam *ipam)
{
	return ipam->prefix_len;
}

uint32_t ipam_gateway(const struct ipam *ipam)
{
	return ipam->network + 1;
}

size_t ipam_capacity(const struct ipam *ipam)
{
	return ipam->size - 3;
}

size_t ipam_used(const struct ipam *ipam)
{
	return ipam->used;
}

/* Offsets 0 (network), 1 (gateway) and size - 1 (broadcast) are reserved. */
static bool offset_reserved(const struct ipam *ipam, size_t off)
{
	return off < 2 || off == ipam->size - 1;
}

static bool ip_offset(const struct ipam *ipam, uint32_t ip, size_t *ret_off)
{
	if ((ip - ipam->network) >= ipam->size)
		return false;
	*ret_off = ip - ipam->network;
	return true;
}

bool ipam_assignable(const struct ipam *ipam, uint32_t ip)
{
	size_t off;

	return ip_offset(ipam, ip, &off) && !offset_reserved(ipam, off);
}

static bool find_owner(const struct ipam *ipam, const char *owner, size_t *ret_off)
{
	for (size_t i = 0; i < ipam->size; i++) {
		if (ipam->owners[i] && strcmp(ipam->owners[i], owner) == 0) {
			*ret_off = i;
			return true;
		}
	}
	return false;
}

int ipam_lookup(const struct ipam *ipam, const char *owner, uint32_t *ret_ip)
{
	size_t off;

	if (!owner || !find_owner(ipam, owner, &off))
		return -ENOENT;
	*ret_ip = ipam->network + (uint32_t)off;
	return 0;
}

static int take(struct ipam *ipam, size_t off, const char *owner)
{
	char *copy = strdup(owner);

	if (!copy)
		return -ENOMEM;
	ipam->owners[off] = copy;
	ipam->used++;
	return 0;
}

int ipam_allocate(struct ipam *ipam, const char *owner, uint32_t *ret_ip)
{
	size_t off;
	int err;

	if (!owner || !*owner)
		return -EINVAL;
	if (find_owner(ipam, owner, &off)) {
		*ret_ip = ipam->network + (uint32_t)off;
		return 0;
	}
	for (size_t i = 0; i < ipam->size; i++) {
		off = (ipam->next + i) % ipam->size;
		if (offset_reserved(ipam, off) || ipam->owners[off])
			continue;
		err = take(ipam, off, owner);
		if (err < 0)
			return err;
		ipam->next = (off + 1) % ipam->size;
		*ret_ip = ipam->network + (uint32_t)off;
		return 1;
	}
	return -ENOSPC;
}

int ipam_claim(struct ipam *ipam, uint32_t ip, const char *owner)
{
	size_t off, held;
	int err;

	if (!owner || !*owner)
		return -EINVAL;
	if (!ip_offset(ipam, ip, &off) || offset_reserved(ipam, off))
		return -EINVAL;
	if (ipam->owners[off])
		return strcmp(ipam->owners[off], owner) == 0 ? 0 : -EADDRINUSE;
	if (find_owner(ipam, owner, &held))
		return -EEXIST;
	err = take(ipam, off, owner);
	if (err < 0)
		return err;
	/* Keep round-robin moving past everything known to be in use, so that
	 * after a restart the search resumes after the highest address. */
	if (off >= ipam->next)
		ipam->next = (off + 1) % ipam->size;
	return 1;
}

int ipam_release(struct ipam *ipam, const char *owner, uint32_t *ret_ip)
{
	size_t off;

	if (!owner || !find_owner(ipam, owner, &off))
		return 0;
	free(ipam->owners[off]);
	ipam->owners[off] = NULL;
	ipam->used--;
	if (ret_ip)
		*ret_ip = ipam->network + (uint32_t)off;
	return 1;
}

const char *ipam_owner_of(const struct ipam *ipam, uint32_t ip)
{
	size_t off;

	if (!ip_offset(ipam, ip, &off))
		return NULL;
	return ipam->owners[off];
}

bool ipam_next(const struct ipam *ipam, size_t *cursor, uint32_t *ret_ip,
	       const char **ret_owner)
{
	for (size_t i = *cursor; i < ipam->size; i++) {
		if (!ipam->owners[i])
			continue;
		*cursor = i + 1;
		*ret_ip = ipam->network + (uint32_t)i;
		*ret_owner = ipam->owners[i];
		return true;
	}
	*cursor = ipam->size;
	return false;
}

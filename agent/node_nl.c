// SPDX-License-Identifier: Apache-2.0
#include "node_nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "log.h"

#define NN_BUF	1024

struct nn_msg {
	struct nlmsghdr *nlh;
	char buf[NN_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
};

static void *nn_tail(struct nlmsghdr *nlh)
{
	return (char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len);
}

static void *nn_put(struct nlmsghdr *nlh, size_t len)
{
	void *p = nn_tail(nlh);

	memset(p, 0, NLMSG_ALIGN(len));
	nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLMSG_ALIGN(len);
	return p;
}

static void nn_attr(struct nlmsghdr *nlh, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = nn_tail(nlh);

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static struct nlattr *nn_nest(struct nlmsghdr *nlh, uint16_t type)
{
	struct nlattr *a = nn_tail(nlh);

	nn_attr(nlh, type | NLA_F_NESTED, NULL, 0);
	return a;
}

static void nn_nest_end(struct nlmsghdr *nlh, struct nlattr *a)
{
	a->nla_len = (uint16_t)((char *)nn_tail(nlh) - (char *)a);
}

static struct nlmsghdr *nn_start(struct nn_msg *m, uint16_t type, uint16_t flags)
{
	memset(m->buf, 0, sizeof(m->buf));
	m->nlh = (struct nlmsghdr *)m->buf;
	m->nlh->nlmsg_len = NLMSG_HDRLEN;
	m->nlh->nlmsg_type = type;
	m->nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	m->nlh->nlmsg_seq = 1;
	return m->nlh;
}

/* Send one request and wait for its ACK; -errno of a NACK. */
static int nn_talk(const struct nlmsghdr *req, const char *what)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char rbuf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	int fd, err = -EPROTO;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		err = -errno;
		goto out;
	}
	do {
		n = recv(fd, rbuf, sizeof(rbuf), 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (int)n);
	     h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			err = e->error;
			if (err < 0)
				log_debug("rtnetlink request refused", "what=%s err=%s", what,
					  log_errno_name(err));
			break;
		}
	}
out:
	close(fd);
	return err;
}

static int nn_ifindex(const char *name)
{
	unsigned int idx = if_nametoindex(name);

	return idx ? (int)idx : -ENODEV;
}

int nn_link_del(const char *name)
{
	struct nn_msg m;
	struct nlmsghdr *nlh = nn_start(&m, RTM_DELLINK, 0);
	int err;

	nn_put(nlh, sizeof(struct ifinfomsg));
	nn_attr(nlh, IFLA_IFNAME, name, strlen(name) + 1);
	err = nn_talk(nlh, "link del");
	return err == -ENODEV ? 0 : err;
}

static int vxlan_create(const char *name, uint16_t port, unsigned int mtu)
{
	struct nn_msg m;
	struct nlmsghdr *nlh = nn_start(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = nn_put(nlh, sizeof(*ifi));
	struct nlattr *info, *data;
	uint16_t port_be = htons(port);
	uint8_t zero = 0, one = 1;
	uint32_t mtu32 = mtu;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = IFF_UP | IFF_NOARP;
	ifi->ifi_change = IFF_UP | IFF_NOARP;
	nn_attr(nlh, IFLA_IFNAME, name, strlen(name) + 1);
	nn_attr(nlh, IFLA_MTU, &mtu32, 4);
	info = nn_nest(nlh, IFLA_LINKINFO);
	nn_attr(nlh, IFLA_INFO_KIND, "vxlan", 6);
	data = nn_nest(nlh, IFLA_INFO_DATA);
	nn_attr(nlh, IFLA_VXLAN_COLLECT_METADATA, &one, 1);
	nn_attr(nlh, IFLA_VXLAN_PORT, &port_be, 2);
	nn_attr(nlh, IFLA_VXLAN_LEARNING, &zero, 1);
	nn_nest_end(nlh, data);
	nn_nest_end(nlh, info);
	return nn_talk(nlh, "vxlan create");
}

static int link_set(int ifindex, unsigned int mtu)
{
	struct nn_msg m;
	struct nlmsghdr *nlh = nn_start(&m, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = nn_put(nlh, sizeof(*ifi));
	uint32_t mtu32 = mtu;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP | IFF_NOARP;
	ifi->ifi_change = IFF_UP | IFF_NOARP;
	nn_attr(nlh, IFLA_MTU, &mtu32, 4);
	return nn_talk(nlh, "link set");
}

int nn_vxlan_ensure(const char *name, uint16_t port, unsigned int mtu, int *ret_ifindex)
{
	int err, idx;

	err = vxlan_create(name, port, mtu);
	if (err == -EEXIST) {
		/* Ours from an earlier run: keep it (its ifindex, which the
		 * loaded programs know, and the traffic through it); only
		 * make sure of up, NOARP and the MTU. */
		idx = nn_ifindex(name);
		if (idx < 0)
			return idx;
		err = link_set(idx, mtu);
		if (err < 0)
			return err;
		*ret_ifindex = idx;
		return 0;
	}
	if (err < 0)
		return err;
	idx = nn_ifindex(name);
	if (idx < 0)
		return idx;
	*ret_ifindex = idx;
	return 0;
}

static struct nlmsghdr *route_msg(struct nn_msg *m, uint16_t type, uint16_t flags,
				  uint32_t dst_be, unsigned int plen)
{
	struct nlmsghdr *nlh = nn_start(m, type, flags);
	struct rtmsg *rtm = nn_put(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (uint8_t)plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_scope = RT_SCOPE_NOWHERE;	/* delete: any scope */
	nn_attr(nlh, RTA_DST, &dst_be, 4);
	return nlh;
}

int nn_route_replace(uint32_t dst_be, unsigned int plen, uint32_t gw_be, int ifindex,
		     uint32_t src_be)
{
	struct nn_msg m;
	struct nlmsghdr *nlh = route_msg(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, dst_be,
					 plen);
	struct rtmsg *rtm = NLMSG_DATA(nlh);
	uint32_t oif = (uint32_t)ifindex;

	rtm->rtm_scope = gw_be ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	if (gw_be)
		nn_attr(nlh, RTA_GATEWAY, &gw_be, 4);
	if (ifindex)
		nn_attr(nlh, RTA_OIF, &oif, 4);
	if (src_be)
		nn_attr(nlh, RTA_PREFSRC, &src_be, 4);
	return nn_talk(nlh, "route replace");
}

int nn_route_del(uint32_t dst_be, unsigned int plen)
{
	struct nn_msg m;
	struct nlmsghdr *nlh = route_msg(&m, RTM_DELROUTE, 0, dst_be, plen);
	int err;

	err = nn_talk(nlh, "route del");
	return err == -ESRCH || err == -ENOENT ? 0 : err;
}

int nn_addr_dev(uint32_t ip_be, int *ret_ifindex, unsigned int *ret_mtu)
{
	struct ifaddrs *ifas, *ifa;
	struct ifreq ifr = { 0 };
	int err = -ENODEV, fd;

	if (getifaddrs(&ifas) < 0)
		return -errno;
	for (ifa = ifas; ifa; ifa = ifa->ifa_next) {
		const struct sockaddr_in *sin = (const void *)ifa->ifa_addr;

		if (!sin || sin->sin_family != AF_INET || sin->sin_addr.s_addr != ip_be)
			continue;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifa->ifa_name);
		err = 0;
		break;
	}
	freeifaddrs(ifas);
	if (err < 0)
		return err;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		err = -errno;
	else
		*ret_mtu = (unsigned int)ifr.ifr_mtu;
	close(fd);
	if (err < 0)
		return err;
	*ret_ifindex = nn_ifindex(ifr.ifr_name);
	return *ret_ifindex < 0 ? *ret_ifindex : 0;
}

static int sysctl_read(const char *path)
{
	char c = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c >= '0' && c <= '9' ? c - '0' : -EINVAL;
}

int nn_disable_ipv6(const char *ifname)
{
	char path[128];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;	/* no IPv6 in this kernel */
	if (write(fd, "1\n", 2) != 2)
		err = -errno;
	close(fd);
	return err;
}

int nn_rp_filter_loose(const char *ifname)
{
	char path[128];
	int all, dev, fd, err = 0;

	all = sysctl_read("/proc/sys/net/ipv4/conf/all/rp_filter");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", ifname);
	dev = sysctl_read(path);
	if (all < 0 || dev < 0)
		return all < 0 ? all : dev;
	if ((all > dev ? all : dev) != 1)
		return 0;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "2\n", 2) != 2)
		err = -errno;
	close(fd);
	return err;
}

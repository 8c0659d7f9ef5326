// SPDX-License-Identifier: Apache-2.0
#include "endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool chars_valid(const char *s, size_t max)
{
	size_t len = 0;

	for (; s[len]; len++)
		if (len >= max || !name_char(s[len]))
			return false;
	return len > 0;
}

bool ep_container_id_valid(const char *s)
{
	return s && alnum(s[0]) && chars_valid(s, EP_CONTAINER_ID_MAX);
}

/* The CNI spec's rule for interface names, so the plugin and the agent agree. */
bool ep_ifname_valid(const char *s)
{
	size_t len = 0;

	if (!s)
		return false;
	for (; s[len]; len++)
		if (len >= IFNAMSIZ - 1 || s[len] < 0x21 || s[len] > 0x7e || s[len] == '/' ||
		    s[len] == ':')
			return false;
	return len > 0 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* Printable ASCII, no quote or backslash (keeps logs and JSON boring). */
static bool text_valid(const char *s, size_t min, size_t max)
{
	size_t len = strlen(s);

	if (len < min || len > max)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ep_mac_parse(const char *s, uint8_t ret_mac[6])
{
	uint8_t mac[6];

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(ret_mac, mac, 6);
	return 0;
}

void ep_mac_format(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int ep_ipv4_parse(const char *s, uint32_t *ret_be)
{
	struct in_addr in;

	if (!s || inet_pton(AF_INET, s, &in) != 1)
		return -EINVAL;
	*ret_be = in.s_addr;
	return 0;
}

/* Copy a required (or optional: absent/null gives "") string member. */
static int get_str(const json_t *obj, const char *key, bool required, char *dst, size_t size)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;

	if (!v || json_is_null(v)) {
		if (required)
			return -EINVAL;
		dst[0] = '\0';
		return 0;
	}
	s = json_string_value(v);
	if (!s || strlen(s) >= size || strlen(s) != json_string_length(v))
		return -EINVAL;	/* not a string, too long, or an embedded NUL */
	strcpy(dst, s);
	return 0;
}

#define FAIL(name)				\
	do {					\
		*ret_field = (name);		\
		return -EINVAL;			\
	} while (0)

int ep_record_from_json(const json_t *obj, bool with_id, struct ep_record *ret,
			const char **ret_field)
{
	struct ep_record r = { 0 };
	char buf[EP_NETNS_MAX];
	const json_t *v;
	json_int_t n;

	*ret_field = NULL;
	if (!json_is_object(obj))
		FAIL("endpoint");

	if (with_id) {
		v = json_object_get(obj, "endpoint_id");
		n = json_integer_value(v);
		if (!json_is_integer(v) || n < 1 || n > UINT32_MAX)
			FAIL("endpoint_id");
		r.endpoint_id = (uint32_t)n;
		v = json_object_get(obj, "state");
		if (v && ep_state_parse(json_string_value(v), &r.state) < 0)
			FAIL("state");
	}
	if (get_str(obj, "container_id", true, r.container_id, sizeof(r.container_id)) < 0 ||
	    !ep_container_id_valid(r.container_id))
		FAIL("container_id");
	if (get_str(obj, "ifname", true, r.ifname, sizeof(r.ifname)) < 0 ||
	    !ep_ifname_valid(r.ifname))
		FAIL("ifname");
	if (get_str(obj, "netns", true, r.netns, sizeof(r.netns)) < 0 ||
	    !text_valid(r.netns, 1, EP_NETNS_MAX - 1))
		FAIL("netns");
	if (get_str(obj, "ip", true, buf, INET_ADDRSTRLEN) < 0 || ep_ipv4_parse(buf, &r.ip_be) < 0)
		FAIL("ip");
	if (get_str(obj, "host_ifname", true, r.host_ifname, sizeof(r.host_ifname)) < 0 ||
	    !ep_ifname_valid(r.host_ifname))
		FAIL("host_ifname");
	v = json_object_get(obj, "host_ifindex");
	n = json_integer_value(v);
	if (!json_is_integer(v) || n < 1 || n > INT32_MAX)
		FAIL("host_ifindex");
	r.host_ifindex = (int)n;
	if (get_str(obj, "host_mac", true, buf, 18) < 0 || ep_mac_parse(buf, r.host_mac) < 0)
		FAIL("host_mac");
	if (get_str(obj, "pod_mac", true, buf, 18) < 0 || ep_mac_parse(buf, r.pod_mac) < 0)
		FAIL("pod_mac");
	if (get_str(obj, "pod_namespace", false, r.pod_namespace, sizeof(r.pod_namespace)) < 0 ||
	    !text_valid(r.pod_namespace, 0, EP_K8S_NAME_MAX))
		FAIL("pod_namespace");
	if (get_str(obj, "pod_name", false, r.pod_name, sizeof(r.pod_name)) < 0 ||
	    !text_valid(r.pod_name, 0, EP_K8S_NAME_MAX))
		FAIL("pod_name");

	*ret = r;
	return 0;
}

json_t *ep_record_to_json(const struct ep_record *rec)
{
	char ip[INET_ADDRSTRLEN], host_mac[18], pod_mac[18];
	struct in_addr in = { .s_addr = rec->ip_be };

	inet_ntop(AF_INET, &in, ip, sizeof(ip));
	ep_mac_format(rec->host_mac, host_mac);
	ep_mac_format(rec->pod_mac, pod_mac);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s}",
			 "endpoint_id", (json_int_t)rec->endpoint_id,
			 "container_id", rec->container_id,
			 "ifname", rec->ifname,
			 "netns", rec->netns,
			 "ip", ip,
			 "host_ifname", rec->host_ifname,
			 "host_ifindex", rec->host_ifindex,
			 "host_mac", host_mac,
			 "pod_mac", pod_mac,
			 "pod_namespace", rec->pod_namespace,
			 "pod_name", rec->pod_name,
			 "state", ep_state_name(rec->state));
}

const char *ep_state_name(enum ep_state state)
{
	return state == EP_STATE_DELETING ? "deleting" : "active";
}

int ep_state_parse(const char *s, enum ep_state *ret)
{
	if (s && strcmp(s, "active") == 0)
		*ret = EP_STATE_ACTIVE;
	else if (s && strcmp(s, "deleting") == 0)
		*ret = EP_STATE_DELETING;
	else
		return -EINVAL;
	return 0;
}

int ep_op_gate(const struct ep_record *rec, enum ep_op op)
{
	if (!rec || rec->state != EP_STATE_DELETING)
		return 0;
	switch (op) {
	case EP_OP_IP_ALLOCATE:
	case EP_OP_ENDPOINT_ADD:
		return -EAGAIN;
	case EP_OP_ENDPOINT_GET:
		return -ENOENT;
	case EP_OP_IP_RELEASE:		/* released when the veth is gone */
	case EP_OP_ENDPOINT_DELETE:	/* already going */
	case EP_OP_GC:
		return 1;
	}
	return -EINVAL;
}

int ep_owner(const char *container_id, const char *ifname, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", container_id, ifname);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int ep_owner_split(const char *owner, char container_id[EP_CONTAINER_ID_MAX + 1],
		   char ifname[IFNAMSIZ])
{
	const char *slash = strchr(owner, '/');
	size_t clen;

	if (!slash)
		return -EINVAL;
	clen = (size_t)(slash - owner);
	if (clen > EP_CONTAINER_ID_MAX || strlen(slash + 1) >= IFNAMSIZ)
		return -EINVAL;
	memcpy(container_id, owner, clen);
	container_id[clen] = '\0';
	strcpy(ifname, slash + 1);
	if (!ep_container_id_valid(container_id) || !ep_ifname_valid(ifname))
		return -EINVAL;
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * What the runtime hands us: CNI_* environment variables and the network
 * config on stdin.  Everything is validated here, up front, so the verbs can
 * trust their inputs; each failure maps to the code the spec gives it.
 */
#include "cni.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "api.h"
#include "porin/abi.h"

#define CNI_CONTAINER_ID_MAX	1024

static const char *const cni_version_names[] = {
	[CNI_V040] = "0.4.0",
	[CNI_V100] = "1.0.0",
	[CNI_V110] = "1.1.0",
};

static const char *const cni_command_names[] = {
	[CNI_CMD_ADD] = "ADD",
	[CNI_CMD_DEL] = "DEL",
	[CNI_CMD_CHECK] = "CHECK",
	[CNI_CMD_GC] = "GC",
	[CNI_CMD_STATUS] = "STATUS",
	[CNI_CMD_VERSION] = "VERSION",
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

int cni_fail(struct cni_error *e, int err, int code, const char *msg, const char *details_fmt,
	     ...)
{
	va_list ap;

	if (err >= 0)
		err = -EIO;
	if (!e || e->code)
		return err;
	e->code = code;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	va_start(ap, details_fmt);
	vsnprintf(e->details, sizeof(e->details), details_fmt, ap);
	va_end(ap);
	return err;
}

int cni_command_parse(const char *s, enum cni_command *ret)
{
	for (unsigned int i = 0; s && i < ARRAY_SIZE(cni_command_names); i++) {
		if (cni_command_names[i] && strcmp(s, cni_command_names[i]) == 0) {
			*ret = (enum cni_command)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *cni_command_name(enum cni_command cmd)
{
	if ((unsigned int)cmd < ARRAY_SIZE(cni_command_names) && cni_command_names[cmd])
		return cni_command_names[cmd];
	return "NONE";
}

int cni_version_parse(const char *s, enum cni_version *ret)
{
	for (unsigned int i = 0; s && i < ARRAY_SIZE(cni_version_names); i++) {
		if (strcmp(s, cni_version_names[i]) == 0) {
			*ret = (enum cni_version)i;
			return 0;
		}
	}
	return -ENOTSUP;
}

/* --- environment ---------------------------------------------------------- */

static const char *env_get(char *const envp[], const char *name)
{
	size_t len = strlen(name);

	for (char *const *p = envp; p && *p; p++) {
		if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
			return *p + len + 1;
	}
	return NULL;
}

/* Spec: alphanumeric first, then alphanumerics, '_', '.', '-'. */
static bool container_id_valid(const char *s)
{
	size_t len = strnlen(s, CNI_CONTAINER_ID_MAX + 1);

	if (len == 0 || len > CNI_CONTAINER_ID_MAX || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!isalnum(ch) && ch != '_' && ch != '.' && ch != '-')
			return false;
	}
	return true;
}

bool cni_ifname_valid(const char *s)
{
	size_t len = s ? strnlen(s, IFNAMSIZ) : 0;

	if (len == 0 || len >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '/' || ch == ':' || isspace(ch) || !isprint(ch))
			return false;
	}
	return true;
}

/* CNI_ARGS: "K1=V1;K2=V2".  We read the pod's identity and ignore the rest. */
static int cni_args_parse(struct cni_env *env, const char *args, struct cni_error *e)
{
	const char *p = args;

	while (p && *p) {
		const char *end = strchrnul(p, ';'), *eq = memchr(p, '=', (size_t)(end - p));
		size_t klen, vlen;
		char *dst = NULL;

		if (end == p) {		/* tolerate ";;" and a trailing ';' */
			p = end + 1;
			continue;
		}
		if (!eq || eq == p)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV,
					"invalid environment variables",
					"CNI_ARGS: \"%.*s\" is not KEY=VALUE", (int)(end - p), p);
		klen = (size_t)(eq - p);
		vlen = (size_t)(end - eq - 1);
		if (klen == strlen("K8S_POD_NAMESPACE") && !strncmp(p, "K8S_POD_NAMESPACE", klen))
			dst = env->pod_namespace;
		else if (klen == strlen("K8S_POD_NAME") && !strncmp(p, "K8S_POD_NAME", klen))
			dst = env->pod_name;
		if (dst) {
			if (vlen > CNI_K8S_NAME_MAX)
				return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV,
						"invalid environment variables",
						"CNI_ARGS: %.*s is longer than %d bytes",
						(int)klen, p, CNI_K8S_NAME_MAX);
			memcpy(dst, eq + 1, vlen);
			dst[vlen] = '\0';
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

int cni_env_parse(struct cni_env *env, char *const envp[], struct cni_error *e)
{
	const char *cmd = env_get(envp, "CNI_COMMAND");
	bool per_attachment, need_netns;

	memset(env, 0, sizeof(*env));
	if (!cmd || !*cmd)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "invalid environment variables",
				"CNI_COMMAND is not set");
	if (cni_command_parse(cmd, &env->cmd) < 0)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "invalid environment variables",
				"unknown CNI_COMMAND \"%s\"", cmd);
	env->cni_path = env_get(envp, "CNI_PATH");
	per_attachment = env->cmd == CNI_CMD_ADD || env->cmd == CNI_CMD_DEL ||
			 env->cmd == CNI_CMD_CHECK;
	need_netns = env->cmd == CNI_CMD_ADD || env->cmd == CNI_CMD_CHECK;
	if (!per_attachment)
		return 0;

	env->container_id = env_get(envp, "CNI_CONTAINERID");
	if (!env->container_id || !*env->container_id)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "invalid environment variables",
				"CNI_CONTAINERID is not set");
	if (!container_id_valid(env->container_id))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "invalid environment variables",
				"CNI_CONTAINERID \"%.64s\" has invalid characters",
				env->container_id);
	env->ifname = env_get(envp, "CNI_IFNAME");
	if (!env->ifname || !*env->ifname)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "invalid environment variables",
				"CNI_IFNAME is not set");
	if (!cni_ifname_valid(env->ifname))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "invalid environment variables",
				"CNI_IFNAME \"%.32s\" is not a valid interface name",
				env->ifname);
	env->netns = env_get(envp, "CNI_NETNS");
	if (env->netns && !*env->netns)
		env->netns = NULL;
	if (need_netns && !env->netns)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "invalid environment variables",
				"CNI_NETNS is not set");
	if (env->netns && env->netns[0] != '/')
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "invalid environment variables",
				"CNI_NETNS \"%.64s\" is not an absolute path", env->netns);
	return cni_args_parse(env, env_get(envp, "CNI_ARGS"), e);
}

/* --- stdin config ----------------------------------------------------------- */

static int conf_invalid(struct cni_error *e, const char *fmt, const char *key)
{
	return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "invalid network config", fmt, key);
}

/* Optional string key: absent → *ret untouched; present → non-empty string. */
static int conf_string(const json_t *obj, const char *key, const char **ret,
		       struct cni_error *e)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_string(v) || !*json_string_value(v))
		return conf_invalid(e, "\"%s\" must be a non-empty string", key);
	*ret = json_string_value(v);
	return 0;
}

static int conf_valid_attachments(struct cni_conf *c, struct cni_error *e)
{
	const json_t *va = json_object_get(c->root, "cni.dev/valid-attachments");
	const json_t *item;
	size_t i;

	if (!va)
		return 0;
	if (!json_is_array(va))
		return conf_invalid(e, "\"%s\" must be an array", "cni.dev/valid-attachments");
	json_array_foreach(va, i, item) {
		if (!json_is_string(json_object_get(item, "containerID")) ||
		    !json_is_string(json_object_get(item, "ifname")))
			return conf_invalid(e, "every entry of \"%s\" needs containerID and ifname",
					    "cni.dev/valid-attachments");
	}
	c->valid_attachments = va;
	return 0;
}

static int conf_ipam(struct cni_conf *c, struct cni_error *e)
{
	const json_t *ipam = json_object_get(c->root, "ipam");
	const char *type = NULL;
	int err;

	if (!ipam || json_is_null(ipam))
		return 0;
	if (!json_is_object(ipam))
		return conf_invalid(e, "\"%s\" must be an object", "ipam");
	err = conf_string(ipam, "type", &type, e);
	if (err < 0)
		return err;
	/* A bare name: it is looked up in CNI_PATH, never a path of its own. */
	if (type && (strchr(type, '/') || strcmp(type, ".") == 0 || strcmp(type, "..") == 0))
		return conf_invalid(e, "\"ipam.type\" must be a plugin name, not \"%s\"", type);
	c->ipam_type = type;
	return 0;
}

int cni_conf_parse(struct cni_conf *c, const char *buf, size_t len, enum cni_command cmd,
		   struct cni_error *e)
{
	const json_t *v;
	json_error_t jerr;
	int err;

	memset(c, 0, sizeof(*c));
	c->mtu = CNI_DEFAULT_MTU;
	c->agent_socket = API_DEFAULT_SOCKET;
	c->bpf_root = PN_DEFAULT_BPF_ROOT;

	c->root = json_loadb(buf, len, 0, &jerr);
	if (!c->root)
		return cni_fail(e, -EBADMSG, CNI_ERR_DECODE, "failed to decode content",
				"line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	if (!json_is_object(c->root)) {
		err = cni_fail(e, -EBADMSG, CNI_ERR_DECODE, "failed to decode content",
			       "the network config is not a JSON object");
		goto err_free;
	}

	v = json_object_get(c->root, "cniVersion");
	if (!json_is_string(v)) {
		err = conf_invalid(e, "\"%s\" is missing or not a string", "cniVersion");
		goto err_free;
	}
	c->cni_version = json_string_value(v);
	if (cni_version_parse(c->cni_version, &c->version) < 0) {
		err = cni_fail(e, -ENOTSUP, CNI_ERR_INCOMPATIBLE_VERSION,
			       "incompatible CNI versions",
			       "config is \"%.32s\"; porin supports 0.4.0, 1.0.0, 1.1.0",
			       c->cni_version);
		goto err_free;
	}
	if ((cmd == CNI_CMD_GC || cmd == CNI_CMD_STATUS) && c->version < CNI_V110) {
		err = cni_fail(e, -ENOTSUP, CNI_ERR_INCOMPATIBLE_VERSION,
			       "incompatible CNI versions",
			       "%s needs cniVersion 1.1.0 or later", cni_command_name(cmd));
		goto err_free;
	}

	c->name = c->type = NULL;
	err = conf_string(c->root, "name", &c->name, e);
	if (!err)
		err = conf_string(c->root, "type", &c->type, e);
	if (err < 0)
		goto err_free;
	if (!c->name || !c->type) {
		err = conf_invalid(e, "\"%s\" is required", c->name ? "type" : "name");
		goto err_free;
	}

	v = json_object_get(c->root, "mtu");
	if (v) {
		json_int_t mtu = json_integer_value(v);

		/* 68: the IPv4 minimum; 65535: veth's maximum. */
		if (!json_is_integer(v) || mtu < 68 || mtu > 65535) {
			err = conf_invalid(e, "\"%s\" must be an integer in 68..65535", "mtu");
			goto err_free;
		}
		c->mtu = (unsigned int)mtu;
		c->mtu_set = true;
	}
	err = conf_string(c->root, "agentSocket", &c->agent_socket, e);
	if (!err && strlen(c->agent_socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		err = conf_invalid(e, "\"%s\" is longer than a unix socket path may be",
				   "agentSocket");
	if (!err)
		err = conf_string(c->root, "bpfRoot", &c->bpf_root, e);
	if (err < 0)
		goto err_free;

	v = json_object_get(c->root, "logLevel");
	if (v) {
		if (!json_is_string(v) || log_level_parse(json_string_value(v), &c->log_level) < 0) {
			err = conf_invalid(e, "\"%s\" must be one of debug, info, warn, error",
					   "logLevel");
			goto err_free;
		}
		c->log_level_set = true;
	}

	err = conf_ipam(c, e);
	if (err < 0)
		goto err_free;

	v = json_object_get(c->root, "prevResult");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v)) {
			err = conf_invalid(e, "\"%s\" must be an object", "prevResult");
			goto err_free;
		}
		c->prev_result = v;
	}
	if (cmd == CNI_CMD_CHECK && !c->prev_result) {
		err = conf_invalid(e, "\"%s\" is required for CHECK", "prevResult");
		goto err_free;
	}
	v = json_object_get(c->root, "runtimeConfig");
	if (v && !json_is_object(v)) {
		err = conf_invalid(e, "\"%s\" must be an object", "runtimeConfig");
		goto err_free;
	}
	err = conf_valid_attachments(c, e);
	if (err < 0)
		goto err_free;
	return 0;
err_free:
	cni_conf_free(c);
	return err;
}

void cni_conf_free(struct cni_conf *c)
{
	if (!c)
		return;
	json_decref(c->root);
	memset(c, 0, sizeof(*c));
}

const char *cni_error_version(const char *buf, size_t len)
{
	json_t *root = buf ? json_loadb(buf, len, 0, NULL) : NULL;
	enum cni_version v;
	const char *ret = CNI_VERSION_LATEST;

	if (cni_version_parse(json_string_value(json_object_get(root, "cniVersion")), &v) == 0)
		ret = cni_version_names[v];
	json_decref(root);
	return ret;
}

/* --- naming ------------------------------------------------------------------ */

uint64_t cni_fnv1a64(const void *data, size_t len, uint64_t hash)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		hash ^= p[i];
		hash *= 0x100000001b3ULL;
	}
	return hash;
}

void cni_host_ifname(const char *container_id, const char *ifname, char ret[IFNAMSIZ])
{
	uint64_t h = CNI_FNV1A64_INIT;
	char hex[17];

	h = cni_fnv1a64(container_id, strlen(container_id), h);
	h = cni_fnv1a64("/", 1, h);
	h = cni_fnv1a64(ifname, strlen(ifname), h);
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)h);
	/* The top 44 bits: "lxc" + 11 = 14 bytes, within IFNAMSIZ - 1. */
	snprintf(ret, IFNAMSIZ, CNI_HOST_IFNAME_PREFIX "%.11s", hex);
}

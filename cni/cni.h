/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The porin CNI plugin (CNI spec 1.1.0, also speaking 0.4.0 and 1.0.0).
 *
 * A runtime execs us with CNI_* in the environment and the network config on
 * stdin; stdout carries exactly one result or error JSON, diagnostics go to
 * stderr in logfmt.  main.c dispatches to one cmd_*.c per verb; the rest are
 * helpers with one job each:
 *   config.c         environment and stdin config: parse + validate
 *   result.c         result / error / version JSON, prevResult, IPAM results
 *   netns.c          enter and leave the pod network namespace
 *   agent.c          typed calls of the agent's local API (lib/api.h)
 *   ipam_delegate.c  exec a delegated IPAM plugin
 *
 * Every fallible function returns 0 or -errno and, on failure, fills a
 * struct cni_error with the CNI code and text that main() prints.
 */
#ifndef PORIN_CNI_H
#define PORIN_CNI_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <net/if.h>

#include "log.h"

#define CNI_VERSION_LATEST	"1.1.0"
#define CNI_HOST_IFNAME_PREFIX	"lxc"
#define CNI_DEFAULT_MTU		1500
#define CNI_MAX_ROUTES		16
/* K8s names: DNS-1123 subdomain (253) for pods, label (63) for namespaces. */
#define CNI_K8S_NAME_MAX	253

enum cni_version { CNI_V040, CNI_V100, CNI_V110 };

enum cni_command {
	CNI_CMD_NONE,
	CNI_CMD_ADD,
	CNI_CMD_DEL,
	CNI_CMD_CHECK,
	CNI_CMD_GC,
	CNI_CMD_STATUS,
	CNI_CMD_VERSION,
};

/* Error codes of the spec; 100 and up are porin's own. */
enum {
	CNI_ERR_INCOMPATIBLE_VERSION	= 1,
	CNI_ERR_UNSUPPORTED_FIELD	= 2,
	CNI_ERR_UNKNOWN_CONTAINER	= 3,
	CNI_ERR_INVALID_ENV		= 4,
	CNI_ERR_IO			= 5,
	CNI_ERR_DECODE			= 6,
	CNI_ERR_INVALID_CONFIG		= 7,
	CNI_ERR_TRY_AGAIN		= 11,
	CNI_ERR_NOT_AVAILABLE		= 50,
	CNI_ERR_PLUGIN			= 100,	/* setup failed / CHECK mismatch */
};

struct cni_error {
	int code;		/* 0: no error recorded */
	char msg[128];
	char details[512];
};

/* Record the first error (later calls keep it) and return @err (< 0). */
int cni_fail(struct cni_error *e, int err, int code, const char *msg, const char *details_fmt,
	     ...) __attribute__((format(printf, 5, 6)));

/* --- config.c ----------------------------------------------------------- */

struct cni_env {
	enum cni_command cmd;
	const char *container_id;	/* NULL only for GC/STATUS/VERSION */
	const char *netns;		/* NULL allowed on DEL/GC/STATUS/VERSION */
	const char *ifname;		/* NULL only for GC/STATUS/VERSION */
	const char *cni_path;		/* may be NULL */
	char pod_namespace[CNI_K8S_NAME_MAX + 1];	/* "" when not given */
	char pod_name[CNI_K8S_NAME_MAX + 1];
};

struct cni_conf {
	json_t *root;			/* the whole stdin object (owned) */
	const char *cni_version;	/* as given, borrowed from root */
	enum cni_version version;
	const char *name;
	const char *type;
	unsigned int mtu;
	bool mtu_set;			/* "mtu" given: it wins over the agent's */
	const char *agent_socket;
	const char *bpf_root;
	const char *ipam_type;		/* NULL: the agent allocates IPs */
	const json_t *prev_result;	/* NULL when porin is first in the chain */
	const json_t *valid_attachments;	/* GC: array of {containerID, ifname} */
	bool log_level_set;
	enum log_level log_level;
};

int cni_command_parse(const char *s, enum cni_command *ret);
const char *cni_command_name(enum cni_command cmd);
int cni_version_parse(const char *s, enum cni_version *ret);
/* Parse and validate the CNI_* variables of @envp for @env->cmd's needs.
 * Errors: code 4 (invalid environment variables). */
int cni_env_parse(struct cni_env *env, char *const envp[], struct cni_error *e);
/* Parse the stdin config for @cmd.  Errors: 6 (not JSON), 7 (invalid
 * config), 1 (unsupported cniVersion). */
int cni_conf_parse(struct cni_conf *c, const char *buf, size_t len, enum cni_command cmd,
		   struct cni_error *e);
void cni_conf_free(struct cni_conf *c);
/* Best-effort cniVersion for an error result: the config's when it is one we
 * speak, else CNI_VERSION_LATEST. */
const char *cni_error_version(const char *buf, size_t len);
/* "lxc" + 11 hex digits of FNV-1a-64("<container_id>/<ifname>"). */
void cni_host_ifname(const char *container_id, const char *ifname, char ret[IFNAMSIZ]);
uint64_t cni_fnv1a64(const void *data, size_t len, uint64_t hash);
#define CNI_FNV1A64_INIT	0xcbf29ce484222325ULL
/* A Linux interface name the kernel accepts (1..15 bytes, no '/', ':', space). */
bool cni_ifname_valid(const char *s);

/* --- result.c ----------------------------------------------------------- */

struct cni_route4 {
	uint32_t dst_be;
	unsigned int prefixlen;
	uint32_t gw_be;
};

/* The pod's IPv4 configuration, from the agent or a delegated IPAM plugin. */
struct cni_ipconf {
	uint32_t ip_be;
	unsigned int prefixlen;		/* as reported by IPAM; porin configures /32 */
	uint32_t gw_be;
	struct cni_route4 routes[CNI_MAX_ROUTES];	/* besides GW/32 scope link */
	unsigned int n_routes;
	json_t *dns;			/* owned reference, or NULL */
	unsigned int mtu;		/* the agent's pod MTU (tunnel overhead off); 0: none */
};

/* What ADD built, for the result and for endpoint_add. */
struct cni_attachment {
	char host_ifname[IFNAMSIZ];
	int host_ifindex;
	uint8_t host_mac[6];
	char ifname[IFNAMSIZ];
	int pod_ifindex;
	uint8_t pod_mac[6];
	const char *sandbox;
	unsigned int mtu;
	struct cni_ipconf ip;
};

void cni_ipconf_reset(struct cni_ipconf *ip);
/* Agent allocation → ipconf: /32, gateway, default route via it. */
int cni_ipconf_from_agent(const json_t *resp, struct cni_ipconf *ret, struct cni_error *e);
/* Delegated IPAM result (any version) → ipconf: first IPv4 address. */
int cni_ipconf_from_ipam(const json_t *res, struct cni_ipconf *ret, struct cni_error *e);
/* The ADD result for c->version, merged into c->prev_result if present. */
int cni_result_build(const struct cni_conf *c, const struct cni_attachment *a, json_t **ret,
		     struct cni_error *e);
/* From prevResult (CHECK): the IPv4 address/gateway on @ifname in @sandbox. */
int cni_prev_result_find(const json_t *prev, const char *ifname, const char *sandbox,
			 struct cni_ipconf *ret, struct cni_error *e);
json_t *cni_error_json(const char *version, const struct cni_error *e);
json_t *cni_version_json(void);
/* "a.b.c.d" or "a.b.c.d/len" parsing and formatting (network byte order). */
int cni_ip4_parse(const char *s, uint32_t *ret_be);
int cni_cidr4_parse(const char *s, uint32_t *ret_be, unsigned int *ret_prefixlen);
void cni_ip4_format(uint32_t be, char ret[16]);
void cni_mac_format(const uint8_t mac[6], char ret[18]);
/* @s with '"' and '\\' escaped, for a quoted logfmt value; returns @buf. */
const char *cni_logfmt_escape(const char *s, char *buf, size_t size);

/* --- netns.c ------------------------------------------------------------ */

struct cni_netns {
	int host_fd;	/* the namespace we were started in */
	int pod_fd;
};

/* Open @path (must be a network namespace) and our own.  -ENOENT if @path
 * does not exist, -EINVAL if it is not a netns. */
int cni_netns_open(const char *path, struct cni_netns *ns);
void cni_netns_close(struct cni_netns *ns);
/* Run @fn inside the pod namespace, then return to ours. */
int cni_netns_run(const struct cni_netns *ns, int (*fn)(void *arg), void *arg);
/* Write @value to a /proc/sys file of the current namespace. */
int cni_sysctl_write(const char *path, const char *value);

/* --- agent.c ------------------------------------------------------------ */

int cni_agent_ip_allocate(const struct cni_conf *c, const struct cni_env *env,
			  struct cni_ipconf *ret, struct cni_error *e);
int cni_agent_ip_release(const struct cni_conf *c, const struct cni_env *env,
			 struct cni_error *e);
int cni_agent_endpoint_add(const struct cni_conf *c, const struct cni_env *env,
			   const struct cni_attachment *a, struct cni_error *e);
/* Host ifname the agent had recorded in *ret_host_ifname ("" if none). */
int cni_agent_endpoint_delete(const struct cni_conf *c, const char *container_id,
			      const char *ifname, char ret_host_ifname[IFNAMSIZ],
			      struct cni_error *e);
/* -ENOENT (and no error recorded) when the agent does not know it. */
int cni_agent_endpoint_get(const struct cni_conf *c, const struct cni_env *env,
			   json_t **ret_endpoint, struct cni_error *e);
int cni_agent_status(const struct cni_conf *c, bool *ret_ready, struct cni_error *e);
/* @valid: [{container_id, ifname}] (stolen); *ret_removed as the agent said. */
int cni_agent_gc(const struct cni_conf *c, json_t *valid, json_t **ret_removed,
		 struct cni_error *e);

/* --- ipam_delegate.c ---------------------------------------------------- */

/* Exec c->ipam_type from CNI_PATH for @cmd with our stdin config.  On ADD
 * and VERSION *ret_result gets the parsed output (caller owns).  The plugin's own error
 * code and text are passed through in @e. */
int cni_ipam_exec(const struct cni_env *env, const struct cni_conf *c, enum cni_command cmd,
		  json_t **ret_result, struct cni_error *e);
/* Does the IPAM plugin speak 1.1.0 (and so know STATUS and GC)?  Asks it
 * with VERSION; older plugins fail STATUS/GC with assorted codes. */
bool cni_ipam_speaks_v110(const struct cni_env *env, const struct cni_conf *c);

/* --- the verbs ---------------------------------------------------------- */

int cni_cmd_add(const struct cni_env *env, const struct cni_conf *c, json_t **ret_result,
		struct cni_error *e);
int cni_cmd_del(const struct cni_env *env, const struct cni_conf *c, struct cni_error *e);
int cni_cmd_check(const struct cni_env *env, const struct cni_conf *c, struct cni_error *e);
int cni_cmd_status(const struct cni_env *env, const struct cni_conf *c, struct cni_error *e);
int cni_cmd_gc(const struct cni_env *env, const struct cni_conf *c, struct cni_error *e);

#endif

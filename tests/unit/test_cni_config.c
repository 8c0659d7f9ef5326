// SPDX-License-Identifier: Apache-2.0
/*
 * CNI plugin input: CNI_* environment and stdin config, every error path
 * with its CNI code, defaults, and the deterministic host veth name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../cni/cni.h"
#include "api.h"
#include "porin/abi.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* --- environment ------------------------------------------------------------ */

struct env_case {
	const char *name;
	const char *envp[10];
	int code;		/* 0: success */
	const char *details;	/* substring of the error details */
	const char *pod_namespace, *pod_name;
};

#define ADD_OK	"CNI_COMMAND=ADD", "CNI_CONTAINERID=abc123", "CNI_NETNS=/run/netns/x", \
		"CNI_IFNAME=eth0"

#define ENV_OK(n, ns, pn, ...) \
	{ .name = n, .envp = { __VA_ARGS__ }, .pod_namespace = ns, .pod_name = pn }
#define ENV_ERR(n, c, d, ...) { .name = n, .envp = { __VA_ARGS__ }, .code = c, .details = d }

static const struct env_case env_cases[] = {
	ENV_OK("add minimal", "", "",
	       ADD_OK),
	ENV_OK("add with k8s args", "kube-system", "dns-1",
	       ADD_OK, "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;"
		       "K8S_POD_NAME=dns-1;K8S_POD_INFRA_CONTAINER_ID=abc123"),
	ENV_OK("args tolerate empty pairs", "", "p",
	       ADD_OK, "CNI_ARGS=;K8S_POD_NAME=p;;"),
	ENV_OK("args empty value", "", "",
	       ADD_OK, "CNI_ARGS=K8S_POD_NAME="),
	ENV_ERR("args bad pair", CNI_ERR_INVALID_ENV, "KEY=VALUE",
		ADD_OK, "CNI_ARGS=K8S_POD_NAME"),
	ENV_ERR("args no key", CNI_ERR_INVALID_ENV, "KEY=VALUE",
		ADD_OK, "CNI_ARGS==x"),
	ENV_ERR("no command", CNI_ERR_INVALID_ENV, "CNI_COMMAND",
		"CNI_CONTAINERID=a"),
	ENV_ERR("empty command", CNI_ERR_INVALID_ENV, "CNI_COMMAND",
		"CNI_COMMAND="),
	ENV_ERR("unknown command", CNI_ERR_INVALID_ENV, "FROB",
		"CNI_COMMAND=FROB"),
	ENV_ERR("lowercase command", CNI_ERR_INVALID_ENV, "add",
		"CNI_COMMAND=add"),
	ENV_ERR("add no container id", CNI_ERR_INVALID_ENV, "CNI_CONTAINERID",
		"CNI_COMMAND=ADD", "CNI_NETNS=/run/netns/x", "CNI_IFNAME=eth0"),
	ENV_ERR("add empty container id", CNI_ERR_INVALID_ENV, "CNI_CONTAINERID",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=", "CNI_NETNS=/run/netns/x", "CNI_IFNAME=eth0"),
	ENV_ERR("add container id leading dash", CNI_ERR_INVALID_ENV, "CNI_CONTAINERID",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=-abc", "CNI_NETNS=/n", "CNI_IFNAME=eth0"),
	ENV_ERR("add container id with slash", CNI_ERR_INVALID_ENV, "CNI_CONTAINERID",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=a/b", "CNI_NETNS=/n", "CNI_IFNAME=eth0"),
	ENV_OK("container id punctuation ok", "", "",
	       "CNI_COMMAND=ADD", "CNI_CONTAINERID=a_b.c-d", "CNI_NETNS=/n", "CNI_IFNAME=eth0"),
	ENV_ERR("add no netns", CNI_ERR_INVALID_ENV, "CNI_NETNS",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_IFNAME=eth0"),
	ENV_ERR("add empty netns", CNI_ERR_INVALID_ENV, "CNI_NETNS",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_NETNS=", "CNI_IFNAME=eth0"),
	ENV_ERR("add relative netns", CNI_ERR_INVALID_ENV, "absolute",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_NETNS=run/netns/x", "CNI_IFNAME=eth0"),
	ENV_ERR("add no ifname", CNI_ERR_INVALID_ENV, "CNI_IFNAME",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_NETNS=/n"),
	ENV_ERR("ifname too long", CNI_ERR_INVALID_ENV, "CNI_IFNAME",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_NETNS=/n", "CNI_IFNAME=0123456789abcdef"),
	ENV_OK("ifname 15 bytes ok", "", "",
	       "CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_NETNS=/n", "CNI_IFNAME=0123456789abcde"),
	ENV_ERR("ifname dot", CNI_ERR_INVALID_ENV, "CNI_IFNAME",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_NETNS=/n", "CNI_IFNAME=."),
	ENV_ERR("ifname dotdot", CNI_ERR_INVALID_ENV, "CNI_IFNAME",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_NETNS=/n", "CNI_IFNAME=.."),
	ENV_ERR("ifname slash", CNI_ERR_INVALID_ENV, "CNI_IFNAME",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_NETNS=/n", "CNI_IFNAME=e/0"),
	ENV_ERR("ifname colon", CNI_ERR_INVALID_ENV, "CNI_IFNAME",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_NETNS=/n", "CNI_IFNAME=eth0:1"),
	ENV_ERR("ifname space", CNI_ERR_INVALID_ENV, "CNI_IFNAME",
		"CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_NETNS=/n", "CNI_IFNAME=eth 0"),
	ENV_OK("del without netns", "", "",
	       "CNI_COMMAND=DEL", "CNI_CONTAINERID=a", "CNI_IFNAME=eth0"),
	ENV_OK("del empty netns", "", "",
	       "CNI_COMMAND=DEL", "CNI_CONTAINERID=a", "CNI_NETNS=", "CNI_IFNAME=eth0"),
	ENV_ERR("del no container id", CNI_ERR_INVALID_ENV, "CNI_CONTAINERID",
		"CNI_COMMAND=DEL", "CNI_IFNAME=eth0"),
	ENV_ERR("check needs netns", CNI_ERR_INVALID_ENV, "CNI_NETNS",
		"CNI_COMMAND=CHECK", "CNI_CONTAINERID=a", "CNI_IFNAME=eth0"),
	ENV_OK("gc needs nothing", "", "",
	       "CNI_COMMAND=GC"),
	ENV_OK("status needs nothing", "", "",
	       "CNI_COMMAND=STATUS"),
	ENV_OK("version needs nothing", "", "",
	       "CNI_COMMAND=VERSION"),
};

static void test_env(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(env_cases); i++) {
		const struct env_case *t = &env_cases[i];
		struct cni_error e = { 0 };
		struct cni_env env;
		int err;

		err = cni_env_parse(&env, (char *const *)t->envp, &e);
		if (t->code == 0) {
			if (err != 0)
				fail_msg("%s: want success, got %d (code %d: %s)", t->name, err,
					 e.code, e.details);
			if (strcmp(env.pod_namespace, t->pod_namespace) ||
			    strcmp(env.pod_name, t->pod_name))
				fail_msg("%s: pod %s/%s, want %s/%s", t->name, env.pod_namespace,
					 env.pod_name, t->pod_namespace, t->pod_name);
			continue;
		}
		if (err >= 0 || e.code != t->code)
			fail_msg("%s: want code %d, got err %d code %d", t->name, t->code, err,
				 e.code);
		if (strcmp(e.msg, "invalid environment variables") != 0)
			fail_msg("%s: msg \"%s\"", t->name, e.msg);
		if (t->details && !strstr(e.details, t->details))
			fail_msg("%s: details \"%s\" lack \"%s\"", t->name, e.details, t->details);
	}
}

static void test_env_fields(void **state)
{
	char *envp[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c1", "CNI_IFNAME=net1",
			 "CNI_NETNS=/var/run/netns/cni-1", "CNI_PATH=/opt/cni/bin:/usr/lib/cni",
			 "CNI_COMMANDX=junk", NULL };
	struct cni_error e = { 0 };
	struct cni_env env;

	assert_int_equal(cni_env_parse(&env, envp, &e), 0);
	assert_int_equal(env.cmd, CNI_CMD_DEL);
	assert_string_equal(env.container_id, "c1");
	assert_string_equal(env.ifname, "net1");
	assert_string_equal(env.netns, "/var/run/netns/cni-1");
	assert_string_equal(env.cni_path, "/opt/cni/bin:/usr/lib/cni");
}

static void test_env_long_pod_name(void **state)
{
	char args[400], *envp[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_NETNS=/n",
				    "CNI_IFNAME=eth0", args, NULL };
	struct cni_error e = { 0 };
	struct cni_env env;

	snprintf(args, sizeof(args), "CNI_ARGS=K8S_POD_NAME=%0*d", CNI_K8S_NAME_MAX, 0);
	assert_int_equal(cni_env_parse(&env, envp, &e), 0);
	assert_int_equal(strlen(env.pod_name), CNI_K8S_NAME_MAX);
	snprintf(args, sizeof(args), "CNI_ARGS=K8S_POD_NAME=%0*d", CNI_K8S_NAME_MAX + 1, 0);
	assert_true(cni_env_parse(&env, envp, &e) < 0);
	assert_int_equal(e.code, CNI_ERR_INVALID_ENV);
}

/* --- stdin config ------------------------------------------------------------- */

struct conf_case {
	const char *name;
	enum cni_command cmd;
	const char *json;
	int code;		/* 0: success */
	const char *details;	/* substring of the error details */
};

#define BASE	"\"name\":\"n\",\"type\":\"porin\""

/* details: an optional string literal, "" (matches anything) when absent */
#define CONF(n, cm, j, c, ...) \
	{ .name = n, .cmd = cm, .json = j, .code = c, .details = "" __VA_ARGS__ }

static const struct conf_case conf_cases[] = {
	CONF("minimal 1.1.0", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\"," BASE "}", 0),
	CONF("minimal 1.0.0", CNI_CMD_ADD, "{\"cniVersion\":\"1.0.0\"," BASE "}", 0),
	CONF("minimal 0.4.0", CNI_CMD_ADD, "{\"cniVersion\":\"0.4.0\"," BASE "}", 0),
	CONF("not json", CNI_CMD_ADD, "garbage", CNI_ERR_DECODE),
	CONF("empty stdin", CNI_CMD_ADD, "", CNI_ERR_DECODE),
	CONF("truncated", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\",", CNI_ERR_DECODE),
	CONF("array", CNI_CMD_ADD, "[1,2]", CNI_ERR_DECODE, "not a JSON object"),
	CONF("no version", CNI_CMD_ADD, "{" BASE "}", CNI_ERR_INVALID_CONFIG, "cniVersion"),
	CONF("version number", CNI_CMD_ADD, "{\"cniVersion\":1," BASE "}", CNI_ERR_INVALID_CONFIG,
	  "cniVersion"),
	CONF("version 0.3.1", CNI_CMD_ADD, "{\"cniVersion\":\"0.3.1\"," BASE "}",
	  CNI_ERR_INCOMPATIBLE_VERSION, "0.3.1"),
	CONF("version 2.0.0", CNI_CMD_ADD, "{\"cniVersion\":\"2.0.0\"," BASE "}",
	  CNI_ERR_INCOMPATIBLE_VERSION),
	CONF("gc at 1.0.0", CNI_CMD_GC, "{\"cniVersion\":\"1.0.0\"," BASE "}",
	  CNI_ERR_INCOMPATIBLE_VERSION, "GC"),
	CONF("status at 0.4.0", CNI_CMD_STATUS, "{\"cniVersion\":\"0.4.0\"," BASE "}",
	  CNI_ERR_INCOMPATIBLE_VERSION, "STATUS"),
	CONF("status at 1.1.0", CNI_CMD_STATUS, "{\"cniVersion\":\"1.1.0\"," BASE "}", 0),
	CONF("no name", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\",\"type\":\"porin\"}",
	  CNI_ERR_INVALID_CONFIG, "name"),
	CONF("no type", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\",\"name\":\"n\"}",
	  CNI_ERR_INVALID_CONFIG, "type"),
	CONF("empty name", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\",\"name\":\"\",\"type\":\"porin\"}",
	  CNI_ERR_INVALID_CONFIG, "name"),
	CONF("mtu string", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\"," BASE ",\"mtu\":\"1500\"}",
	  CNI_ERR_INVALID_CONFIG, "mtu"),
	CONF("mtu too small", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\"," BASE ",\"mtu\":67}",
	  CNI_ERR_INVALID_CONFIG, "mtu"),
	CONF("mtu too big", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\"," BASE ",\"mtu\":65536}",
	  CNI_ERR_INVALID_CONFIG, "mtu"),
	CONF("mtu float", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\"," BASE ",\"mtu\":1500.0}",
	  CNI_ERR_INVALID_CONFIG, "mtu"),
	CONF("agentSocket number", CNI_CMD_ADD,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"agentSocket\":5}", CNI_ERR_INVALID_CONFIG,
	  "agentSocket"),
	CONF("agentSocket too long", CNI_CMD_ADD,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"agentSocket\":\"/"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", CNI_ERR_INVALID_CONFIG,
	  "agentSocket"),
	CONF("bpfRoot empty", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\"," BASE ",\"bpfRoot\":\"\"}",
	  CNI_ERR_INVALID_CONFIG, "bpfRoot"),
	CONF("logLevel bad", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\"," BASE ",\"logLevel\":\"loud\"}",
	  CNI_ERR_INVALID_CONFIG, "logLevel"),
	CONF("ipam not object", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\"," BASE ",\"ipam\":[]}",
	  CNI_ERR_INVALID_CONFIG, "ipam"),
	CONF("ipam type path", CNI_CMD_ADD,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"ipam\":{\"type\":\"../host-local\"}}",
	  CNI_ERR_INVALID_CONFIG, "plugin name"),
	CONF("ipam type number", CNI_CMD_ADD,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"ipam\":{\"type\":7}}", CNI_ERR_INVALID_CONFIG,
	  "type"),
	CONF("ipam without type: agent", CNI_CMD_ADD,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"ipam\":{}}", 0),
	CONF("ipam null: agent", CNI_CMD_ADD, "{\"cniVersion\":\"1.1.0\"," BASE ",\"ipam\":null}", 0),
	CONF("prevResult not object", CNI_CMD_ADD,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"prevResult\":[]}", CNI_ERR_INVALID_CONFIG,
	  "prevResult"),
	CONF("check needs prevResult", CNI_CMD_CHECK, "{\"cniVersion\":\"1.1.0\"," BASE "}",
	  CNI_ERR_INVALID_CONFIG, "prevResult"),
	CONF("check with prevResult", CNI_CMD_CHECK,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"prevResult\":{}}", 0),
	CONF("runtimeConfig not object", CNI_CMD_ADD,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"runtimeConfig\":1}", CNI_ERR_INVALID_CONFIG,
	  "runtimeConfig"),
	CONF("runtimeConfig portMappings", CNI_CMD_ADD,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"runtimeConfig\":{\"portMappings\":[]}}", 0),
	CONF("valid-attachments not array", CNI_CMD_GC,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"cni.dev/valid-attachments\":{}}",
	  CNI_ERR_INVALID_CONFIG, "valid-attachments"),
	CONF("valid-attachments entry lacks ifname", CNI_CMD_GC,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"cni.dev/valid-attachments\":"
	  "[{\"containerID\":\"a\"}]}", CNI_ERR_INVALID_CONFIG, "ifname"),
	CONF("valid-attachments ok", CNI_CMD_GC,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"cni.dev/valid-attachments\":"
	  "[{\"containerID\":\"a\",\"ifname\":\"eth0\"}]}", 0),
	CONF("unknown keys ignored", CNI_CMD_ADD,
	  "{\"cniVersion\":\"1.1.0\"," BASE ",\"capabilities\":{\"portMappings\":true},"
	  "\"dns\":{},\"args\":{}}", 0),
};

static void test_conf(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(conf_cases); i++) {
		const struct conf_case *t = &conf_cases[i];
		struct cni_error e = { 0 };
		struct cni_conf c;
		int err;

		err = cni_conf_parse(&c, t->json, strlen(t->json), t->cmd, &e);
		if (t->code == 0) {
			if (err != 0)
				fail_msg("%s: want success, got %d (code %d: %s)", t->name, err,
					 e.code, e.details);
			assert_non_null(c.root);
			cni_conf_free(&c);
			continue;
		}
		if (err >= 0 || e.code != t->code)
			fail_msg("%s: want code %d, got err %d code %d (%s)", t->name, t->code,
				 err, e.code, e.details);
		if (t->details && !strstr(e.details, t->details))
			fail_msg("%s: details \"%s\" lack \"%s\"", t->name, e.details, t->details);
		assert_null(c.root);
	}
}

static void test_conf_defaults(void **state)
{
	static const char json[] = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"porin\"}";
	struct cni_error e = { 0 };
	struct cni_conf c;

	assert_int_equal(cni_conf_parse(&c, json, strlen(json), CNI_CMD_ADD, &e), 0);
	assert_int_equal(c.version, CNI_V100);
	assert_string_equal(c.cni_version, "1.0.0");
	assert_string_equal(c.name, "n");
	assert_string_equal(c.type, "porin");
	assert_int_equal(c.mtu, 1500);
	assert_string_equal(c.agent_socket, API_DEFAULT_SOCKET);
	assert_string_equal(c.bpf_root, PN_DEFAULT_BPF_ROOT);
	assert_null(c.ipam_type);
	assert_null(c.prev_result);
	assert_null(c.valid_attachments);
	assert_false(c.log_level_set);
	cni_conf_free(&c);
}

static void test_conf_values(void **state)
{
	static const char json[] =
		"{\"cniVersion\":\"1.1.0\",\"name\":\"k8s\",\"type\":\"porin\",\"mtu\":9000,"
		"\"agentSocket\":\"/tmp/a.sock\",\"bpfRoot\":\"/sys/fs/bpf/x\","
		"\"logLevel\":\"debug\",\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\"},"
		"\"prevResult\":{\"cniVersion\":\"1.1.0\",\"interfaces\":[]},"
		"\"cni.dev/valid-attachments\":[{\"containerID\":\"a\",\"ifname\":\"eth0\"}]}";
	struct cni_error e = { 0 };
	struct cni_conf c;

	assert_int_equal(cni_conf_parse(&c, json, strlen(json), CNI_CMD_GC, &e), 0);
	assert_int_equal(c.version, CNI_V110);
	assert_int_equal(c.mtu, 9000);
	assert_string_equal(c.agent_socket, "/tmp/a.sock");
	assert_string_equal(c.bpf_root, "/sys/fs/bpf/x");
	assert_true(c.log_level_set);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_string_equal(c.ipam_type, "host-local");
	assert_true(json_is_object(c.prev_result));
	assert_int_equal(json_array_size(c.valid_attachments), 1);
	cni_conf_free(&c);
	cni_conf_free(NULL);
}

static void test_error_version(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "{\"cniVersion\":\"0.4.0\"}", "0.4.0" },
		{ "{\"cniVersion\":\"1.0.0\"}", "1.0.0" },
		{ "{\"cniVersion\":\"0.3.1\"}", CNI_VERSION_LATEST },
		{ "garbage", CNI_VERSION_LATEST },
		{ "", CNI_VERSION_LATEST },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_string_equal(cni_error_version(cases[i].in, strlen(cases[i].in)),
				    cases[i].want);
	assert_string_equal(cni_error_version(NULL, 0), CNI_VERSION_LATEST);
}

static void test_commands_and_versions(void **state)
{
	static const char *const cmds[] = { "ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION" };
	enum cni_command cmd;
	enum cni_version v;

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		assert_int_equal(cni_command_parse(cmds[i], &cmd), 0);
		assert_string_equal(cni_command_name(cmd), cmds[i]);
	}
	assert_int_equal(cni_command_parse("NONE", &cmd), -EINVAL);
	assert_int_equal(cni_command_parse(NULL, &cmd), -EINVAL);
	assert_int_equal(cni_version_parse("1.1.0", &v), 0);
	assert_int_equal(v, CNI_V110);
	assert_int_equal(cni_version_parse("1.1", &v), -ENOTSUP);
	assert_int_equal(cni_version_parse(NULL, &v), -ENOTSUP);
}

/* --- naming --------------------------------------------------------------------- */

static void test_fnv1a64_vectors(void **state)
{
	assert_true(cni_fnv1a64("", 0, CNI_FNV1A64_INIT) == 0xcbf29ce484222325ULL);
	assert_true(cni_fnv1a64("a", 1, CNI_FNV1A64_INIT) == 0xaf63dc4c8601ec8cULL);
	assert_true(cni_fnv1a64("foobar", 6, CNI_FNV1A64_INIT) == 0x85944171f73967e8ULL);
}

static void test_host_ifname(void **state)
{
	static const struct {
		const char *cid, *ifname, *want;
	} cases[] = {
		/* fnv1a64("ctr-a/eth0") = b9e96a39c16eb78e */
		{ "ctr-a", "eth0", "lxcb9e96a39c16" },
		/* fnv1a64("abc123/net1") = 76d6f673fa9a0730 */
		{ "abc123", "net1", "lxc76d6f673fa9" },
	};
	char name[IFNAMSIZ], other[IFNAMSIZ];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cni_host_ifname(cases[i].cid, cases[i].ifname, name);
		assert_string_equal(name, cases[i].want);
		assert_int_equal(strlen(name), 14);
		assert_true(cni_ifname_valid(name));
	}
	/* The separator matters: "ab/c" and "a/bc" must not collide. */
	cni_host_ifname("ab", "c", name);
	cni_host_ifname("a", "bc", other);
	assert_string_not_equal(name, other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_env_fields),
		cmocka_unit_test(test_env_long_pod_name),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_conf_defaults),
		cmocka_unit_test(test_conf_values),
		cmocka_unit_test(test_error_version),
		cmocka_unit_test(test_commands_and_versions),
		cmocka_unit_test(test_fnv1a64_vectors),
		cmocka_unit_test(test_host_ifname),
	};

	log_setup(LOG_LVL_ERROR, "test", stderr);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/* Kubernetes client config: kubeconfig files and in-cluster settings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/k8s/kubeconfig.h"
#include "log.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/porin-test-kc-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write @text to DIR/@name; return the path (static buffer per call site). */
static const char *put(const char *name, const char *text, char *path)
{
	FILE *f;

	sprintf(path, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* A kubeconfig around @cluster and @user bodies (YAML flow maps). */
static int load(const char *cluster, const char *user, struct k8s_config **ret)
{
	char text[2048], path[128];

	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Config\n"
		 "clusters:\n- name: other\n  cluster: {server: https://wrong:1}\n"
		 "- name: c\n  cluster: %s\n"
		 "users:\n- name: u\n  user: %s\n"
		 "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
		 "current-context: x\n",
		 cluster, user);
	return k8s_config_from_kubeconfig(put("kubeconfig", text, path), ret);
}

static void test_token_and_ca_file(void **state)
{
	struct k8s_config *c = NULL;
	char path[128];

	put("ca.crt", "CA PEM\n", path);
	/* A relative certificate-authority is relative to the kubeconfig. */
	assert_int_equal(load("{server: 'https://10.0.0.1:6443/', certificate-authority: ca.crt}",
			      "{token: abc123}", &c),
			 0);
	assert_string_equal(c->server, "https://10.0.0.1:6443");
	assert_int_equal(c->ca.len, 7);
	assert_memory_equal(c->ca.data, "CA PEM\n", 7);
	assert_string_equal(c->token, "abc123");
	assert_null(c->cert.data);
	k8s_config_free(c);
}

static void test_client_cert_data(void **state)
{
	struct k8s_config *c = NULL;

	/* "CERT" "KEY!" "CA" in base64. */
	assert_int_equal(load("{server: 'https://h:1', certificate-authority-data: Q0E=}",
			      "{client-certificate-data: Q0VSVA==, client-key-data: 'S0VZ\nIQ=='}",
			      &c),
			 0);
	assert_int_equal(c->ca.len, 2);
	assert_memory_equal(c->ca.data, "CA", 2);
	assert_int_equal(c->cert.len, 4);
	assert_memory_equal(c->cert.data, "CERT", 4);
	assert_int_equal(c->key.len, 4);
	assert_memory_equal(c->key.data, "KEY!", 4);
	assert_null(c->token);
	k8s_config_free(c);
}

static void test_token_file(void **state)
{
	struct k8s_config *c = NULL;
	const char *tok;
	char path[128], user[256];

	put("tok", "t1\n", path);
	snprintf(user, sizeof(user), "{tokenFile: %s}", path);
	assert_int_equal(load("{server: 'https://h:1'}", user, &c), 0);
	assert_int_equal(k8s_config_token(c, &tok), 0);
	assert_string_equal(tok, "t1");
	k8s_config_free(c);
}

static void test_bad(void **state)
{
	static const struct {
		const char *cluster, *user;
		int err;
	} cases[] = {
		{ "{certificate-authority-data: Q0E=}", "{token: t}", -EINVAL },
		{ "{server: 'http://h:1'}", "{token: t}", -EINVAL },
		{ "{server: 'https://h:1', insecure-skip-tls-verify: true}", "{token: t}", -EINVAL },
		{ "{server: 'https://h:1', certificate-authority: /nonexistent}", "{token: t}",
		  -EINVAL },
		{ "{server: 'https://h:1', certificate-authority-data: '!!'}", "{token: t}",
		  -EINVAL },
		{ "{server: 'https://h:1'}", "{client-certificate-data: Q0VSVA==}", -EINVAL },
		{ "{server: 'https://h:1'}", "{}", -EINVAL },
		{ "{server: 'https://h:1'}", "{exec: {command: x}}", -EINVAL },
		{ "{server: 'https://h:1'}", "{tokenFile: /nonexistent}", -EINVAL },
	};
	struct k8s_config *c = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = load(cases[i].cluster, cases[i].user, &c);

		if (err != cases[i].err)
			fail_msg("case %zu: got %d want %d", i, err, cases[i].err);
		assert_null(c);
	}
}

static void test_bad_documents(void **state)
{
	static const char *docs[] = {
		"clusters: [\n - {name: x\n",		/* not YAML */
		"",					/* empty */
		"current-context: x\n",			/* no contexts */
		"contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n",
		"contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
		"- a\n- b\n",				/* not a mapping */
	};
	struct k8s_config *c = NULL;
	char path[128];

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		int err = k8s_config_from_kubeconfig(put("kc", docs[i], path), &c);

		if (err != -EINVAL)
			fail_msg("doc %zu: got %d", i, err);
		assert_null(c);
	}
	assert_int_equal(k8s_config_from_kubeconfig("/nonexistent/kc", &c), -ENOENT);
}

static void test_base64(void **state)
{
	char *out;
	size_t len;

	assert_int_equal(k8s_base64_decode("aGVsbG8gd29ybGQ=", &out, &len), 0);
	assert_int_equal(len, 11);
	assert_string_equal(out, "hello world");
	free(out);
	assert_int_equal(k8s_base64_decode("", &out, &len), 0);
	assert_int_equal(len, 0);
	free(out);
	assert_int_equal(k8s_base64_decode("a", &out, &len), -EINVAL);
	assert_int_equal(k8s_base64_decode("YQ==YQ", &out, &len), -EINVAL);
	assert_int_equal(k8s_base64_decode("Y*==", &out, &len), -EINVAL);
}

static void test_in_cluster(void **state)
{
	struct k8s_incluster_opts o = { .host = "10.96.0.1", .port = "443" };
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	struct k8s_config *c = NULL;
	char ca[128], tok[128];
	const char *t;

	o.ca_file = put("ca.crt", "SA CA", ca);
	o.token_file = put("token", "sa-token-1", tok);
	assert_int_equal(utimensat(AT_FDCWD, tok, old, 0), 0);
	assert_int_equal(k8s_config_in_cluster(&o, &c), 0);
	assert_string_equal(c->server, "https://10.96.0.1:443");
	assert_memory_equal(c->ca.data, "SA CA", 5);
	assert_int_equal(k8s_config_token(c, &t), 0);
	assert_string_equal(t, "sa-token-1");

	/* The kubelet rotates the token: a new mtime means re-read. */
	put("token", "sa-token-2\n", tok);
	assert_int_equal(k8s_config_token(c, &t), 0);
	assert_string_equal(t, "sa-token-2");
	/* Gone for a moment (atomic replace): keep the last one. */
	unlink(tok);
	assert_int_equal(k8s_config_token(c, &t), 0);
	assert_string_equal(t, "sa-token-2");
	k8s_config_free(c);

	o.host = "fd00::1";
	put("token", "x", tok);
	assert_int_equal(k8s_config_in_cluster(&o, &c), 0);
	assert_string_equal(c->server, "https://[fd00::1]:443");
	k8s_config_free(c);
	c = NULL;

	o.token_file = "/nonexistent/token";
	assert_int_equal(k8s_config_in_cluster(&o, &c), -ENOENT);
	assert_null(c);
}

static void test_in_cluster_env(void **state)
{
	struct k8s_incluster_opts o = { 0 };
	struct k8s_config *c = NULL;
	char ca[128], tok[128];

	o.ca_file = put("ca.crt", "SA CA", ca);
	o.token_file = put("token", "t", tok);
	unsetenv("KUBERNETES_SERVICE_HOST");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(k8s_config_in_cluster(&o, &c), -ENOENT);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	assert_int_equal(k8s_config_in_cluster(&o, &c), 0);
	assert_string_equal(c->server, "https://10.96.0.1:443");
	k8s_config_free(c);
	k8s_config_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_and_ca_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_cert_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_documents, setup, teardown),
		cmocka_unit_test(test_base64),
		cmocka_unit_test_setup_teardown(test_in_cluster, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_cluster_env, setup, teardown),
	};

	log_setup(LOG_LVL_ERROR + 1, "test", stderr);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

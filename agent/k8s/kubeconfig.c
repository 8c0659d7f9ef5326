// SPDX-License-Identifier: Apache-2.0
#include "kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "log.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define MAX_FILE (1 << 20)	/* certificates and tokens are a few KiB */

static int read_file(const char *path, char **ret, size_t *ret_len, struct timespec *ret_mtime)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto err_close;
	}
	if (st.st_size > MAX_FILE) {
		err = -EFBIG;
		goto err_close;
	}
	buf = malloc(st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto err_close;
	}
	while ((n = read(fd, buf + len, st.st_size - len)) > 0)
		len += n;
	if (n < 0) {
		err = -errno;
		free(buf);
		goto err_close;
	}
	buf[len] = '\0';
	close(fd);
	if (ret_mtime)
		*ret_mtime = st.st_mtim;
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
err_close:
	close(fd);
	return err;
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int k8s_base64_decode(const char *in, char **ret, size_t *ret_len)
{
	size_t n = strlen(in), len = 0;
	unsigned int acc = 0, bits = 0;
	bool pad = false;
	char *out;

	out = malloc(n / 4 * 3 + 4);
	if (!out)
		return -ENOMEM;
	for (const char *p = in; *p; p++) {
		int v;

		if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
			continue;
		if (*p == '=') {
			pad = true;
			continue;
		}
		v = b64_val(*p);
		if (v < 0 || pad)	/* no data after padding */
			goto bad;
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (acc >> bits) & 0xff;
		}
	}
	if (bits >= 6)		/* a lone trailing character encodes no byte */
		goto bad;
	out[len] = '\0';
	*ret = out;
	*ret_len = len;
	return 0;
bad:
	free(out);
	return -EINVAL;
}

/* --- a read-only view over a libyaml document ------------------------------ */

struct kc {
	const char *path;	/* for log lines and relative file paths */
	yaml_document_t doc;
};

static const char *scalar(struct kc *kc, yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static yaml_node_t *map_get(struct kc *kc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(kc, yaml_document_get_node(&kc->doc, p->key));

		if (k && !strcmp(k, key))
			return yaml_document_get_node(&kc->doc, p->value);
	}
	return NULL;
}

static const char *map_str(struct kc *kc, yaml_node_t *map, const char *key)
{
	const char *s = scalar(kc, map_get(kc, map, key));

	return s && *s ? s : NULL;
}

/* The @what field of the list entry called @name under @list (clusters,
 * users, contexts all share this shape). */
static yaml_node_t *named(struct kc *kc, const char *list, const char *name, const char *what)
{
	yaml_node_t *seq = map_get(kc, yaml_document_get_root_node(&kc->doc), list);
	yaml_node_item_t *it;

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(&kc->doc, *it);
		const char *n = map_str(kc, e, "name");

		if (n && !strcmp(n, name))
			return map_get(kc, e, what);
	}
	return NULL;
}

static int bad_field(struct kc *kc, const char *field, const char *why)
{
	log_error("bad kubeconfig", "path=%s field=%s reason=\"%s\"", kc->path, field, why);
	return -EINVAL;
}

/* Relative paths in a kubeconfig are relative to the file itself. */
static int resolve(struct kc *kc, const char *p, char **ret)
{
	const char *slash = strrchr(kc->path, '/');

	if (p[0] == '/' || !slash)
		*ret = strdup(p);
	else if (asprintf(ret, "%.*s/%s", (int)(slash - kc->path), kc->path, p) < 0)
		*ret = NULL;
	return *ret ? 0 : -ENOMEM;
}

/* @map's "<field>-data" (base64) or "<field>" (a file) into @out. */
static int load_pem(struct kc *kc, yaml_node_t *map, const char *field, struct k8s_blob *out)
{
	char key[64], *path;
	const char *v;
	int err;

	snprintf(key, sizeof(key), "%s-data", field);
	v = map_str(kc, map, key);
	if (v) {
		err = k8s_base64_decode(v, &out->data, &out->len);
		if (err == -EINVAL)
			return bad_field(kc, key, "not base64");
		return err;
	}
	v = map_str(kc, map, field);
	if (!v)
		return 0;
	err = resolve(kc, v, &path);
	if (err < 0)
		return err;
	err = read_file(path, &out->data, &out->len, NULL);
	if (err < 0)
		log_error("bad kubeconfig", "path=%s field=%s file=%s err=%s", kc->path, field,
			  path, log_errno_name(err));
	free(path);
	return err < 0 ? -EINVAL : 0;
}

static int load_user(struct kc *kc, yaml_node_t *user, struct k8s_config *c)
{
	const char *v;
	int err;

	err = load_pem(kc, user, "client-certificate", &c->cert);
	if (err < 0)
		return err;
	err = load_pem(kc, user, "client-key", &c->key);
	if (err < 0)
		return err;
	if (!c->cert.data != !c->key.data)
		return bad_field(kc, c->cert.data ? "client-key" : "client-certificate",
				 "client certificate and key must come together");
	v = map_str(kc, user, "token");
	if (v) {
		c->token = strdup(v);
		return c->token ? 0 : -ENOMEM;
	}
	v = map_str(kc, user, "tokenFile");
	if (v) {
		err = resolve(kc, v, &c->token_file);
		if (err < 0)
			return err;
		err = k8s_config_token(c, &v);
		if (err < 0)
			return bad_field(kc, "tokenFile", "unreadable");
		return 0;
	}
	if (map_get(kc, user, "exec") || map_get(kc, user, "auth-provider"))
		return bad_field(kc, "user", "exec and auth-provider plugins are not supported");
	if (!c->cert.data)
		return bad_field(kc, "user", "no token, tokenFile or client certificate");
	return 0;
}

static int load_cluster(struct kc *kc, yaml_node_t *cluster, struct k8s_config *c)
{
	const char *server, *skip;
	size_t n;

	server = map_str(kc, cluster, "server");
	if (!server)
		return bad_field(kc, "cluster.server", "missing");
	if (strncmp(server, "https://", 8))
		return bad_field(kc, "cluster.server", "not an https:// URL");
	skip = map_str(kc, cluster, "insecure-skip-tls-verify");
	if (skip && !strcmp(skip, "true"))
		return bad_field(kc, "cluster.insecure-skip-tls-verify",
				 "TLS verification cannot be turned off");
	c->server = strdup(server);
	if (!c->server)
		return -ENOMEM;
	n = strlen(c->server);
	while (n > 8 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	return load_pem(kc, cluster, "certificate-authority", &c->ca);
}

int k8s_config_from_kubeconfig(const char *path, struct k8s_config **ret)
{
	struct kc kc = { .path = path };
	yaml_parser_t parser;
	yaml_node_t *ctx, *cluster, *user;
	struct k8s_config *c;
	const char *cur, *cname, *uname;
	FILE *f;
	int err;

	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		log_error("cannot open kubeconfig", "path=%s err=%s", path, log_errno_name(err));
		return err;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &kc.doc)) {
		log_error("bad kubeconfig", "path=%s line=%zu reason=\"%s\"", path,
			  parser.problem_mark.line + 1, parser.problem ? parser.problem : "?");
		yaml_parser_delete(&parser);
		fclose(f);
		return -EINVAL;
	}
	yaml_parser_delete(&parser);
	fclose(f);

	c = calloc(1, sizeof(*c));
	if (!c) {
		err = -ENOMEM;
		goto err_doc;
	}
	if (!yaml_document_get_root_node(&kc.doc)) {
		err = bad_field(&kc, "(document)", "empty");
		goto err_cfg;
	}
	cur = map_str(&kc, yaml_document_get_root_node(&kc.doc), "current-context");
	if (!cur) {
		err = bad_field(&kc, "current-context", "missing");
		goto err_cfg;
	}
	ctx = named(&kc, "contexts", cur, "context");
	if (!ctx) {
		err = bad_field(&kc, "contexts", "no context named by current-context");
		goto err_cfg;
	}
	cname = map_str(&kc, ctx, "cluster");
	uname = map_str(&kc, ctx, "user");
	if (!cname || !uname) {
		err = bad_field(&kc, cname ? "context.user" : "context.cluster", "missing");
		goto err_cfg;
	}
	cluster = named(&kc, "clusters", cname, "cluster");
	if (!cluster) {
		err = bad_field(&kc, "clusters", "no cluster named by the context");
		goto err_cfg;
	}
	user = named(&kc, "users", uname, "user");
	if (!user) {
		err = bad_field(&kc, "users", "no user named by the context");
		goto err_cfg;
	}
	err = load_cluster(&kc, cluster, c);
	if (err < 0)
		goto err_cfg;
	err = load_user(&kc, user, c);
	if (err < 0)
		goto err_cfg;
	yaml_document_delete(&kc.doc);
	*ret = c;
	return 0;
err_cfg:
	k8s_config_free(c);
err_doc:
	yaml_document_delete(&kc.doc);
	return err;
}

int k8s_config_in_cluster(const struct k8s_incluster_opts *o, struct k8s_config **ret)
{
	const char *host = o && o->host ? o->host : getenv("KUBERNETES_SERVICE_HOST");
	const char *port = o && o->port ? o->port : getenv("KUBERNETES_SERVICE_PORT");
	const char *ca = o && o->ca_file ? o->ca_file : SA_DIR "/ca.crt";
	const char *tok = o && o->token_file ? o->token_file : SA_DIR "/token";
	const char *unused;
	struct k8s_config *c;
	int err;

	if (!host || !*host || !port || !*port) {
		log_error("not in a cluster", "reason=\"KUBERNETES_SERVICE_HOST or _PORT unset\"");
		return -ENOENT;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	/* An IPv6 service host needs brackets in the URL. */
	if (asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		     port) < 0) {
		c->server = NULL;
		err = -ENOMEM;
		goto err;
	}
	err = read_file(ca, &c->ca.data, &c->ca.len, NULL);
	if (err < 0) {
		log_error("cannot read service account CA", "path=%s err=%s", ca,
			  log_errno_name(err));
		goto err;
	}
	c->token_file = strdup(tok);
	if (!c->token_file) {
		err = -ENOMEM;
		goto err;
	}
	err = k8s_config_token(c, &unused);
	if (err < 0) {
		log_error("cannot read service account token", "path=%s err=%s", tok,
			  log_errno_name(err));
		goto err;
	}
	*ret = c;
	return 0;
err:
	k8s_config_free(c);
	return err;
}

int k8s_config_token(struct k8s_config *c, const char **ret)
{
	struct stat st;
	char *buf;
	size_t len;
	int err;

	if (c->token_file) {
		if (stat(c->token_file, &st) < 0) {
			/* Keep the old token while the file is being replaced. */
			if (c->token)
				goto out;
			return -errno;
		}
		if (!c->token || st.st_mtim.tv_sec != c->token_mtime.tv_sec ||
		    st.st_mtim.tv_nsec != c->token_mtime.tv_nsec) {
			err = read_file(c->token_file, &buf, &len, &c->token_mtime);
			if (err < 0) {
				if (c->token)
					goto out;
				return err;
			}
			while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
				       buf[len - 1] == ' '))
				buf[--len] = '\0';
			free(c->token);
			c->token = buf;
		}
	}
out:
	*ret = c->token;
	return 0;
}

void k8s_config_free(struct k8s_config *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->ca.data);
	free(c->cert.data);
	free(c->key.data);
	free(c->token);
	free(c->token_file);
	free(c);
}

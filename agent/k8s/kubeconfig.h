/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the Kubernetes API is and how to authenticate to it: from a
 * kubeconfig file (current-context only) or from the in-cluster service
 * account.  Certificates are kept in memory and handed to libcurl as blobs,
 * so no key material is ever written to a temp file.  TLS is always
 * verified: there is deliberately no way to turn that off.
 */
#ifndef PORIN_K8S_KUBECONFIG_H
#define PORIN_K8S_KUBECONFIG_H

#include <stddef.h>
#include <time.h>

struct k8s_blob {
	char *data;	/* PEM bytes; NULL when absent */
	size_t len;
};

struct k8s_config {
	char *server;		/* https://host:port, no trailing slash */
	struct k8s_blob ca;	/* absent: the system trust store */
	struct k8s_blob cert;	/* client certificate (PEM) */
	struct k8s_blob key;	/* client key (PEM) */
	char *token;		/* bearer token, read from token_file if set */
	char *token_file;	/* re-read when its mtime changes: it rotates */
	struct timespec token_mtime;
};

int k8s_config_from_kubeconfig(const char *path, struct k8s_config **ret);

struct k8s_incluster_opts {
	const char *host;	/* NULL: $KUBERNETES_SERVICE_HOST */
	const char *port;	/* NULL: $KUBERNETES_SERVICE_PORT */
	const char *token_file;	/* NULL: the service account's token */
	const char *ca_file;	/* NULL: the service account's ca.crt */
};

int k8s_config_in_cluster(const struct k8s_incluster_opts *o, struct k8s_config **ret);

/* The current bearer token (NULL if the config uses none), re-read from the
 * token file first when that has changed.  Valid until the next call. */
int k8s_config_token(struct k8s_config *c, const char **ret);

void k8s_config_free(struct k8s_config *c);

/* Decode standard base64 (whitespace ignored); *ret is NUL-terminated. */
int k8s_base64_decode(const char *in, char **ret, size_t *ret_len);

#endif

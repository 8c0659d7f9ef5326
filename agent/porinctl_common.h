/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What porinctl's commands share: the global options and one agent call
 * that explains its failure on stderr.  Linked into every binary like the
 * rest of agent/, so nothing here may depend on porinctl.c.
 */
#ifndef PORIN_AGENT_PORINCTL_COMMON_H
#define PORIN_AGENT_PORINCTL_COMMON_H

#include <stdbool.h>

#include <jansson.h>

/* Exit statuses. */
#define PORINCTL_EXIT_OK	0
#define PORINCTL_EXIT_FAIL	1	/* agent unreachable or refused, I/O error */
#define PORINCTL_EXIT_USAGE	2

struct porinctl_opts {
	const char *socket_path;
	bool json;			/* -o json */
};

/*
 * Send @req ("op" names it in messages) and drop it: callers pass
 * json_pack() straight in, and NULL (json_pack out of memory) is reported
 * here.  PORINCTL_EXIT_OK and the answer in *ret_resp (the caller's), or
 * PORINCTL_EXIT_FAIL after saying why.
 */
int porinctl_call(const char *socket_path, json_t *req, json_t **ret_resp);

/* @j indented, and a newline, on stdout. */
void porinctl_print_json(const json_t *j);

#endif

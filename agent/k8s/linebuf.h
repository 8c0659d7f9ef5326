/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Newline-delimited framing for watch streams: a watch event may arrive
 * split over any number of libcurl write callbacks, or many may arrive in
 * one.  Only an incomplete tail is ever copied.
 */
#ifndef PORIN_K8S_LINEBUF_H
#define PORIN_K8S_LINEBUF_H

#include <stddef.h>

struct k8s_linebuf {
	char *buf;
	size_t len, cap;
	size_t max;	/* longest line accepted; 0: 64 MiB */
};

/* Call @fn for each complete non-empty line of what arrived so far (without
 * its '\n').  A negative return from @fn stops and is returned;
 * -EMSGSIZE for a line longer than max. */
int k8s_linebuf_feed(struct k8s_linebuf *lb, const char *data, size_t len,
		     int (*fn)(void *arg, const char *line, size_t len), void *arg);
/* Forget a partial line (a new stream starts). */
void k8s_linebuf_reset(struct k8s_linebuf *lb);
void k8s_linebuf_release(struct k8s_linebuf *lb);

#endif

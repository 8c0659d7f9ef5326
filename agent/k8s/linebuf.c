// SPDX-License-Identifier: Apache-2.0
#include "linebuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX (64u << 20)

static int append(struct k8s_linebuf *lb, const char *data, size_t len)
{
	size_t max = lb->max ? lb->max : DEFAULT_MAX;

	if (lb->len + len > max)
		return -EMSGSIZE;
	if (lb->len + len > lb->cap) {
		size_t cap = lb->cap ? lb->cap : 4096;
		char *p;

		while (cap < lb->len + len)
			cap *= 2;
		p = realloc(lb->buf, cap);
		if (!p)
			return -ENOMEM;
		lb->buf = p;
		lb->cap = cap;
	}
	memcpy(lb->buf + lb->len, data, len);
	lb->len += len;
	return 0;
}

static int emit(const char *line, size_t len, int (*fn)(void *, const char *, size_t), void *arg)
{
	if (len && line[len - 1] == '\r')
		len--;
	return len ? fn(arg, line, len) : 0;
}

int k8s_linebuf_feed(struct k8s_linebuf *lb, const char *data, size_t len,
		     int (*fn)(void *arg, const char *line, size_t len), void *arg)
{
	const char *nl;
	int err;

	/* Finish the buffered partial line first. */
	if (lb->len) {
		nl = memchr(data, '\n', len);
		if (!nl)
			return append(lb, data, len);
		err = append(lb, data, nl - data);
		if (err < 0)
			return err;
		err = emit(lb->buf, lb->len, fn, arg);
		lb->len = 0;
		if (err < 0)
			return err;
		len -= nl + 1 - data;
		data = nl + 1;
	}
	/* Then whole lines straight from libcurl's buffer. */
	while ((nl = memchr(data, '\n', len))) {
		err = emit(data, nl - data, fn, arg);
		if (err < 0)
			return err;
		len -= nl + 1 - data;
		data = nl + 1;
	}
	return len ? append(lb, data, len) : 0;
}

void k8s_linebuf_reset(struct k8s_linebuf *lb)
{
	lb->len = 0;
	/* Do not keep a huge buffer around after one huge object. */
	if (lb->cap > 1u << 20) {
		free(lb->buf);
		lb->buf = NULL;
		lb->cap = 0;
	}
}

void k8s_linebuf_release(struct k8s_linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->len = lb->cap = 0;
}

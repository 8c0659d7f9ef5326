/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a message of unknown length into a heap buffer, as the API client,
 * the API server and the CNI plugin (stdin, a delegated plugin's output)
 * all do: double the buffer when it is full, up to a limit.
 */
#ifndef PORIN_GROWBUF_H
#define PORIN_GROWBUF_H

#include <errno.h>
#include <stdlib.h>

/*
 * Make room for at least @need more bytes after @len in *buf (capacity *cap),
 * doubling; -EMSGSIZE past @max, -ENOMEM when realloc fails (*buf is still
 * valid and owned by the caller either way).
 */
static inline int growbuf_reserve(char **buf, size_t *cap, size_t len, size_t need, size_t max)
{
	char *bigger;
	size_t n = *cap;

	if (len + need <= n)
		return 0;
	while (len + need > n) {
		if (n >= max)
			return -EMSGSIZE;
		n *= 2;
	}
	bigger = realloc(*buf, n);
	if (!bigger)
		return -ENOMEM;
	*buf = bigger;
	*cap = n;
	return 0;
}

/* Read @fd to EOF into a NUL-terminated heap buffer (*ret, the caller frees
 * it) of at most @max bytes: -EMSGSIZE beyond, -errno on a read error. */
int growbuf_read_fd(int fd, size_t max, char **ret, size_t *ret_len);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Server side of the local API transport (framing in lib/api.h): a unix
 * stream socket, one request per connection, each handled to completion as
 * soon as it is accepted.  The agent is single-threaded, so requests are
 * serialised; per-connection timeouts keep a stuck client from wedging it.
 */
#ifndef PORIN_AGENT_API_SERVER_H
#define PORIN_AGENT_API_SERVER_H

#include <stdint.h>

#include <jansson.h>

#define API_SERVER_BACKLOG	1024	/* >= 50 concurrent CNI ADDs, with room */
#define API_SERVER_IO_TIMEOUT_MS 2000	/* whole request read, and reply write */

struct api_server;

/* Answer one request object: a new reference, never NULL except when out of
 * memory (the server then answers ENOMEM itself). */
typedef json_t *(*api_handler_fn)(void *ctx, const json_t *req);

/*
 * Listen on @path: create its parent directory (0700) if missing, remove a
 * stale socket (-EADDRINUSE if an agent answers on it, -EEXIST if the path
 * is not a socket), bind with mode 0600.
 */
int api_server_open(const char *path, api_handler_fn fn, void *ctx, struct api_server **ret);
/* Close and unlink the socket. */
void api_server_close(struct api_server *srv);

int api_server_fd(const struct api_server *srv);
/* loop_fn for the listening fd: accept and serve what is pending. */
int api_server_on_ready(void *srv, int fd, uint32_t events);

/* An error answer {"ok":false,"errno":N,"error":text} (@err negative). */
json_t *api_error(int err, const char *text);

#endif

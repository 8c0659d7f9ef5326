/* SPDX-License-Identifier: Apache-2.0 */
/* The local API operations (lib/api.h): decode and validate a request, run
 * the agent operation, encode the answer. */
#ifndef PORIN_AGENT_API_HANDLERS_H
#define PORIN_AGENT_API_HANDLERS_H

#include <jansson.h>

/* api_handler_fn for api_server_open(); @ctx is the struct agent. */
json_t *api_handle(void *ctx, const json_t *req);

/* Printable name of a drop reason ("no-endpoint"), NULL if unknown. */
const char *api_drop_reason_name(unsigned int reason);

#endif

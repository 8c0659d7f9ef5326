/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logfmt logging on stderr, shared by every porin binary:
 *   level=warn msg="attach failed" ifname=lxc1a2b err=-EBUSY
 * The message is quoted; callers append already-formatted key=value pairs.
 */
#ifndef PORIN_LOG_H
#define PORIN_LOG_H

#include <stdio.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* The only global besides nothing: the threshold and an optional program tag. */
void log_setup(enum log_level level, const char *prog, FILE *out);
int log_level_parse(const char *s, enum log_level *ret);
void log_msg(enum log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "-ENOENT" style name for a negative errno, for err= fields. */
const char *log_errno_name(int err);

#define log_debug(msg, ...) log_msg(LOG_LVL_DEBUG, msg, "" __VA_ARGS__)
#define log_info(msg, ...) log_msg(LOG_LVL_INFO, msg, "" __VA_ARGS__)
#define log_warn(msg, ...) log_msg(LOG_LVL_WARN, msg, "" __VA_ARGS__)
#define log_error(msg, ...) log_msg(LOG_LVL_ERROR, msg, "" __VA_ARGS__)

/* Route libbpf's own messages through log_msg (debug stays at debug). */
void log_route_libbpf(void);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * libbpf's own messages through log_msg().  A file of its own so that only
 * the binaries that link libbpf (the agent, the BPF tests) carry it: the CNI
 * plugin is linked statically and without libbpf.
 */
#include "log.h"

#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* log_msg() drops what is below the configured level. */
	enum log_level ours = level == LIBBPF_WARN ? LOG_LVL_WARN : LOG_LVL_DEBUG;
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_msg(ours, line, "component=libbpf");
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

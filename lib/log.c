// SPDX-License-Identifier: Apache-2.0
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

static struct {
	enum log_level level;
	const char *prog;
	FILE *out;
} logger = { LOG_LVL_INFO, NULL, NULL };

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_setup(enum log_level level, const char *prog, FILE *out)
{
	logger.level = level;
	logger.prog = prog;
	logger.out = out;
}

int log_level_parse(const char *s, enum log_level *ret)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * Format the whole line first and write it with one call: concurrent CNI
 * plugins share one stderr/log file, and their lines must not interleave.
 */
static void log_vmsg(enum log_level level, const char *msg, const char *fmt, va_list ap)
{
	FILE *out = logger.out ? logger.out : stderr;
	char line[2048];
	size_t len = 0, cap = sizeof(line) - 1;	/* room for the final '\n' */
	struct timespec ts;
	struct tm tm;
	int n;

	if (level < logger.level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len += strftime(line, cap, "ts=%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + len, cap - len, ".%03ldZ level=%s%s%s msg=\"", ts.tv_nsec / 1000000,
		     level_names[level], logger.prog ? " prog=" : "", logger.prog ? logger.prog : "");
	len += n > 0 ? (size_t)n : 0;
	for (const char *p = msg; *p && len + 2 < cap; p++) {
		if (*p == '"' || *p == '\\')
			line[len++] = '\\';
		line[len++] = *p == '\n' ? ' ' : *p;
	}
	if (len < cap)
		line[len++] = '"';
	if (fmt && *fmt && len + 1 < cap) {
		line[len++] = ' ';
		n = vsnprintf(line + len, cap - len, fmt, ap);
		len += n > 0 ? (size_t)n : 0;
	}
	if (len > cap)
		len = cap;	/* truncated */
	line[len++] = '\n';
	fwrite(line, 1, len, out);
	fflush(out);
}

void log_msg(enum log_level level, const char *msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, msg, fmt, ap);
	va_end(ap);
}

const char *log_errno_name(int err)
{
	static __thread char buf[32];

	switch (-err) {
	case 0: return "0";
	case EPERM: return "-EPERM";
	case ENOENT: return "-ENOENT";
	case EIO: return "-EIO";
	case E2BIG: return "-E2BIG";
	case EBADF: return "-EBADF";
	case EAGAIN: return "-EAGAIN";
	case ENOMEM: return "-ENOMEM";
	case EACCES: return "-EACCES";
	case EBUSY: return "-EBUSY";
	case EEXIST: return "-EEXIST";
	case ENODEV: return "-ENODEV";
	case EINVAL: return "-EINVAL";
	case ENOSPC: return "-ENOSPC";
	case ERANGE: return "-ERANGE";
	case ENOSYS: return "-ENOSYS";
	case ENOTSUP: return "-ENOTSUP";
	case ECONNREFUSED: return "-ECONNREFUSED";
	case ETIMEDOUT: return "-ETIMEDOUT";
	case EBADMSG: return "-EBADMSG";
	case EPROTO: return "-EPROTO";
	case ESRCH: return "-ESRCH";
	default:
		snprintf(buf, sizeof(buf), "%d", err);
		return buf;
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small filesystem helpers for the agent's state directory: crash-safe
 * replacement of a file and recursive mkdir.  All return 0 or -errno.
 */
#ifndef PORIN_AGENT_FSUTIL_H
#define PORIN_AGENT_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p; existing directories are left as they are (mode untouched). */
int fs_mkdir_p(const char *path, mode_t mode);

/*
 * Replace @path with @len bytes of @data atomically: write a hidden temp file
 * next to it and rename it over @path.  An agent crash leaves either the old
 * or the new content, never a torn file (at worst a stale ".<name>.tmp" that
 * loaders skip).
 *
 * No fsync, on purpose: the state describes pods of the running kernel (veths,
 * netns, pinned maps), all of which a power loss or kernel crash destroys
 * too, so durability beyond the page cache buys nothing, while fsync costs
 * milliseconds on every CNI ADD and DEL.  Loaders skip unreadable files.
 */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Unlink @path; 0 when it did not exist. */
int fs_remove(const char *path);

/* Read a whole regular file (at most @max bytes) into a NUL-terminated
 * buffer the caller frees.  -EFBIG when it is larger. */
int fs_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len);

/* True for names loaders must skip: hidden and temp files, "." and "..". */
static inline int fs_name_hidden(const char *name)
{
	return name[0] == '.';
}

#endif

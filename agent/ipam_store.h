/* SPDX-License-Identifier: Apache-2.0 */
/*
 * On-disk IPAM state: one file per allocation, <dir>/<dotted ip>, holding the
 * owner and a newline, replaced atomically and unlinked on release.  A file
 * per address means no read-modify-write of a shared file and a crash can
 * lose at most the allocation being written.
 */
#ifndef PORIN_AGENT_IPAM_STORE_H
#define PORIN_AGENT_IPAM_STORE_H

#include <stdint.h>

struct ipam;

/* Longest owner the store accepts ("container_id/ifname"). */
#define IPAM_OWNER_MAX		256

/* Create @dir if needed and claim every allocation found in it.  Files that
 * do not parse or do not fit the pool are logged and left alone (an operator
 * may want to look at them).  Returns the number loaded or -errno. */
int ipam_store_load(struct ipam *ipam, const char *dir);

int ipam_store_save(const char *dir, uint32_t ip, const char *owner);
/* 0 also when there was no file. */
int ipam_store_remove(const char *dir, uint32_t ip);

#endif

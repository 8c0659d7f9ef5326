/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Node-local IPv4 address management for the pod CIDR.  Pure logic, no I/O:
 * persistence lives in ipam_store.c, so this is unit-testable as is.
 *
 * Addresses are host byte order here; callers convert at their boundary.
 * Reserved and never handed out: the network address, the gateway (network
 * + 1, carried by the porin_host dummy device) and the broadcast address.
 * An allocation is owned by an opaque, non-empty owner string (the agent
 * uses "container_id/ifname"); one owner holds at most one address.
 *
 * Allocation is round-robin: the search starts after the last address handed
 * out, so a just-released address is not reused until the pool wraps (stale
 * conntrack/ARP state of the old pod cannot hit the new one).
 */
#ifndef PORIN_AGENT_IPAM_H
#define PORIN_AGENT_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Supported pod CIDR sizes: /16 (65533 pods) .. /30 (1 pod). */
#define IPAM_PREFIX_MIN		16
#define IPAM_PREFIX_MAX		30

struct ipam;

/* Parse "a.b.c.d/len" (host bits must be zero).  -EINVAL when malformed,
 * not IPv4, or outside IPAM_PREFIX_MIN..IPAM_PREFIX_MAX. */
int ipam_cidr_parse(const char *cidr, uint32_t *ret_network, unsigned int *ret_prefix_len);

int ipam_new(const char *cidr, struct ipam **ret);
void ipam_free(struct ipam *ipam);

uint32_t ipam_network(const struct ipam *ipam);
unsigned int ipam_prefix_len(const struct ipam *ipam);
uint32_t ipam_gateway(const struct ipam *ipam);
size_t ipam_capacity(const struct ipam *ipam);	/* assignable addresses */
size_t ipam_used(const struct ipam *ipam);

/* True if @ip is inside the CIDR and not reserved. */
bool ipam_assignable(const struct ipam *ipam, uint32_t ip);

/* Idempotent: the owner's existing address, else the next free one.
 * Returns 1 for a new allocation, 0 for an existing one, -ENOSPC when the
 * pool is exhausted, -EINVAL for an empty owner, -ENOMEM. */
int ipam_allocate(struct ipam *ipam, const char *owner, uint32_t *ret_ip);

/* Record that @owner holds @ip (loading persisted state, or an endpoint
 * registered with an address).  1 new, 0 already so; -EINVAL not assignable,
 * -EADDRINUSE held by another owner, -EEXIST owner holds another address. */
int ipam_claim(struct ipam *ipam, uint32_t ip, const char *owner);

/* Idempotent: 1 released (address in *ret_ip if non-NULL), 0 nothing held. */
int ipam_release(struct ipam *ipam, const char *owner, uint32_t *ret_ip);

/* The owner's address: 0, or -ENOENT. */
int ipam_lookup(const struct ipam *ipam, const char *owner, uint32_t *ret_ip);

/* Owner of @ip, or NULL when free/outside the pool. */
const char *ipam_owner_of(const struct ipam *ipam, uint32_t ip);

/* Iterate allocations in address order: start with *cursor = 0; returns
 * false at the end. */
bool ipam_next(const struct ipam *ipam, size_t *cursor, uint32_t *ret_ip,
	       const char **ret_owner);

#endif

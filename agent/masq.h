/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Masquerade for traffic from this node's pods to anything outside the
 * cluster CIDR, in an nftables table "ip porin" that the agent owns alone and
 * rewrites whole, in one transaction (so a rule set is never half there).
 * Nothing outside that table is touched.  0 or -errno.
 */
#ifndef PORIN_AGENT_MASQ_H
#define PORIN_AGENT_MASQ_H

#include <stdint.h>

#define MASQ_TABLE	"porin"	/* family ip */

/* Replace table ip porin: pods of @pod_be/@pod_plen going to neither
 * @cluster_be/@cluster_plen nor their own CIDR leave with the address of the
 * interface they leave by (the node IP on a node's underlay). */
int masq_apply(uint32_t pod_be, unsigned int pod_plen, uint32_t cluster_be,
	       unsigned int cluster_plen);
/* Delete table ip porin (0 if absent). */
int masq_remove(void);

#endif

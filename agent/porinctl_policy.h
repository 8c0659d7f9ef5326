/* SPDX-License-Identifier: Apache-2.0 */
/* porinctl policy list | trace: NetworkPolicy state and verdicts. */
#ifndef PORIN_AGENT_PORINCTL_POLICY_H
#define PORIN_AGENT_PORINCTL_POLICY_H

#include <stdint.h>
#include <stdio.h>

#include "porinctl_common.h"

/* The "commands:" lines of porinctl's usage for policy. */
void porinctl_policy_usage(FILE *out);

/* @argv: the words after "policy".  Returns porinctl's exit status. */
int porinctl_policy(int argc, char **argv, const struct porinctl_opts *o);

/*
 * "80/TCP", "53/udp", "80" (TCP), "0/ICMP" or "ICMP" into an IP protocol
 * number, a port and the protocol's name as lib/api.h spells it.  -EINVAL if
 * malformed: TCP, UDP and SCTP take ports 1-65535, ICMP only 0.
 */
int porinctl_port_parse(const char *s, uint8_t *ret_proto, uint16_t *ret_port,
			const char **ret_proto_name);

#endif

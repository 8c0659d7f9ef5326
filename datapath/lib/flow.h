/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One IPv4 packet as conntrack and policy see it: its tuple (addresses,
 * protocol, ports as lib/l4.h defines them), its TCP flags and, for a
 * fragment, where its ports came from.
 */
#ifndef PN_LIB_FLOW_H
#define PN_LIB_FLOW_H

#include <linux/ip.h>

#include "lib/common.h"
#include "lib/frag.h"
#include "lib/l4.h"

struct flow {
	struct pn_ct_key tuple;	/* this packet's, in its own direction */
	struct l4_info l4;	/* zero for a later fragment but its ports */
	__u8 frag;		/* FRAG_* */
	__u8 no_ports;		/* a later fragment whose first one never passed here */
};

static __always_inline int flow_parse(struct __sk_buff *ctx, const struct iphdr *ip,
				      struct flow *f)
{
	const struct pn_frag_ports *ports;
	int ret;

	__builtin_memset(f, 0, sizeof(*f));	/* the tuple is a hash key: pad zero */
	f->tuple.saddr = ip->saddr;
	f->tuple.daddr = ip->daddr;
	f->tuple.protocol = ip->protocol;
	f->frag = frag_kind(ip);
	if (f->frag == FRAG_LATER) {
		ports = frag_lookup(ip);
		if (!ports) {
			f->no_ports = 1;
			return 0;
		}
		f->tuple.sport = ports->sport;
		f->tuple.dport = ports->dport;
		return 0;
	}
	ret = l4_parse(ctx, ip, &f->l4);
	if (ret < 0)
		return ret;
	f->tuple.sport = f->l4.sport;
	f->tuple.dport = f->l4.dport;
	return 0;
}

/*
 * The port policy matches: the destination port for the protocols
 * NetworkPolicy has ports for, 0 for the rest; and 0 for a fragment whose
 * ports are unknown (flow_parse() left its tuple's ports 0).  No pn_policy
 * entry covers port 0 (a NetworkPolicy port is 1..65535, and so is every
 * aligned block of a range the compiler emits), so port 0 matches only the
 * entries that need no port: PN_POLICY_PLEN_ANY_PROTO, and PN_POLICY_PLEN_PROTO
 * (one protocol, any port).  That is exactly what may pass a fragment whose
 * ports nobody knows: its protocol is in its IPv4 header.
 */
static __always_inline __be16 flow_policy_dport(const struct flow *f)
{
	return l4_has_ports(f->tuple.protocol) ? f->tuple.dport : 0;
}

#endif

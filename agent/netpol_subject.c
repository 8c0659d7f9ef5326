// SPDX-License-Identifier: Apache-2.0
/*
 * A Kubernetes pod as the policy compiler sees it.  Shared by the agent and
 * porinctl's offline trace, so both compile from the same subjects.
 */
#include <netinet/in.h>

#include "k8s/objects.h"
#include "netpol.h"

static uint8_t ip_proto_of(uint8_t k8s_proto)
{
	switch (k8s_proto) {
	case K8S_PROTO_UDP:
		return IPPROTO_UDP;
	case K8S_PROTO_SCTP:
		return IPPROTO_SCTP;
	default:
		return IPPROTO_TCP;
	}
}

bool netpol_subject_of(const struct k8s_pod *p, const struct k8s_labels *ns_labels,
		       struct pol_named_port *ports_buf, struct pol_subject *ret)
{
	uint32_t n = 0;

	if (p->host_network || p->phase == K8S_POD_SUCCEEDED || p->phase == K8S_POD_FAILED)
		return false;
	/* Only named ports matter: a NetworkPolicy names a port or numbers it. */
	for (uint16_t i = 0; i < p->n_ports; i++) {
		if (!p->ports[i].name)
			continue;
		ports_buf[n++] = (struct pol_named_port){
			.name = p->ports[i].name,
			.port = p->ports[i].port,
			.proto = ip_proto_of(p->ports[i].proto),
		};
	}
	*ret = (struct pol_subject){
		.ns = p->meta.ns ? p->meta.ns : "",
		.labels = { .n = p->labels.n, .kv = p->labels.kv },
		.ns_labels = ns_labels ? (struct pol_labels){ .n = ns_labels->n, .kv = ns_labels->kv }
				       : (struct pol_labels){ 0 },
		.ports = ports_buf,
		.n_ports = n,
	};
	return true;
}

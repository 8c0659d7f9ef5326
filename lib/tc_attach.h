/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attach porin's pinned TC programs to a pod's host-side veth, by fd, without
 * loading or compiling anything: from-container on clsact ingress (packets
 * the pod sends), to-container on clsact egress (packets towards the pod).
 * Uses PN_TC_PRIORITY/PN_TC_HANDLE so attaching again replaces in place.
 */
#ifndef PORIN_TC_ATTACH_H
#define PORIN_TC_ATTACH_H

struct nl;

/* Attach (or atomically replace) both programs pinned under @bpf_root.
 * -ENOENT when the agent has not pinned them (agent not started). */
int tc_attach_endpoint(int ifindex, const char *bpf_root);
/* The same over @nl, an rtnetlink socket in @ifindex's namespace that the
 * caller has open anyway. */
int tc_attach_endpoint_nl(struct nl *nl, int ifindex, const char *bpf_root);

/* Attach given program fds (the agent uses this right after loading). */
int tc_attach_endpoint_fds(int ifindex, int from_container_fd, int to_container_fd);

/* Report whether both porin filters are attached on @ifindex: 1 yes, 0 no. */
int tc_endpoint_attached(int ifindex);

#endif

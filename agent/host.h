/* SPDX-License-Identifier: Apache-2.0 */
/* Node set-up the agent needs before it loads the datapath. 0 or -errno. */
#ifndef PORIN_AGENT_HOST_H
#define PORIN_AGENT_HOST_H

#include <stdint.h>

/*
 * Make sure @bpf_root (absolute) lives on a bpffs and exists: if it does not
 * and it is under /sys/fs/bpf, mount bpffs on /sys/fs/bpf first; any other
 * location must already be on a bpffs (-ENOTSUP otherwise).
 */
int host_bpffs_ensure(const char *bpf_root);

/* net.ipv4.ip_forward = 1. */
int host_ip_forward_enable(void);

/* Device @dev, up, carrying @gateway_be/32 (nl_dummy_ensure(): a dummy, or
 * an ifb on kernels without the dummy driver). */
int host_gateway_ensure(const char *dev, uint32_t gateway_be);

#endif

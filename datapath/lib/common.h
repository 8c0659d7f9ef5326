/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Includes and packet-access helpers every porin BPF program shares. */
#ifndef PN_LIB_COMMON_H
#define PN_LIB_COMMON_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "porin/abi.h"

/*
 * Make the first @len bytes of the packet directly readable and return
 * them in *data and *data_end.  Headers a pod sends are normally in the linear
 * area already; only when they are not do we pay for bpf_skb_pull_data(),
 * which fails when the packet is shorter than @len.  Callers must use the
 * returned pointers: the pull invalidates every earlier packet pointer.
 */
static __always_inline int pn_pull(struct __sk_buff *ctx, void **data, void **data_end,
				   __u32 len)
{
	*data = (void *)(long)ctx->data;
	*data_end = (void *)(long)ctx->data_end;
	if (*data + len <= *data_end)
		return 0;
	if (bpf_skb_pull_data(ctx, len) < 0)
		return -1;
	*data = (void *)(long)ctx->data;
	*data_end = (void *)(long)ctx->data_end;
	/* The verifier needs this check again, on the new pointers. */
	return *data + len <= *data_end ? 0 : -1;
}

#endif

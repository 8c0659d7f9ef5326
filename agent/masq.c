// SPDX-License-Identifier: Apache-2.0
/*
 * Through libnftables, the library nft(8) itself is a thin front end of: the
 * same parser and one netlink batch per buffer, which gives the atomic
 * "flush table + rules" replacement for free.
 *
 * nft_run_cmd_from_buffer() applies the whole buffer as one transaction.
 */
#include "masq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "log.h"

/* Run @cmds as one transaction. */
static int nft_run(const char *cmds, const char *what)
{
	struct nft_ctx *ctx;
	int err;

	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return -ENOMEM;
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	err = nft_run_cmd_from_buffer(ctx, cmds) == 0 ? 0 : -EIO;
	if (err < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", nft_ctx_get_error_buffer(ctx));
		for (char *p = msg; *p; p++)
			if (*p == '"' || *p == '\n')
				*p = ' ';
		log_error("nftables transaction failed", "what=%s error=\"%s\"", what, msg);
	}
	nft_ctx_free(ctx);
	return err;
}

int masq_apply(uint32_t pod_be, unsigned int pod_plen, uint32_t cluster_be,
	       unsigned int cluster_plen)
{
	char pod[INET_ADDRSTRLEN], cluster[INET_ADDRSTRLEN], buf[1024];
	int n;

	inet_ntop(AF_INET, &pod_be, pod, sizeof(pod));
	inet_ntop(AF_INET, &cluster_be, cluster, sizeof(cluster));
	/* "table" first so "flush" finds it on the first run; all of it is one
	 * batch, so other readers see the old rules or the new ones. */
	n = snprintf(buf, sizeof(buf),
		     "table ip " MASQ_TABLE "\n"
		     "flush table ip " MASQ_TABLE "\n"
		     "table ip " MASQ_TABLE " {\n"
		     "  chain postrouting {\n"
		     "    type nat hook postrouting priority srcnat; policy accept;\n"
		     "    ip daddr %s/%u return\n"
		     "    ip daddr %s/%u return\n"
		     "    ip saddr %s/%u counter masquerade\n"
		     "  }\n"
		     "}\n", cluster, cluster_plen, pod, pod_plen, pod, pod_plen);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return nft_run(buf, "masquerade");
}

int masq_remove(void)
{
	return nft_run("table ip " MASQ_TABLE "\ndelete table ip " MASQ_TABLE "\n",
		       "remove masquerade");
}

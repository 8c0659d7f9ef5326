// SPDX-License-Identifier: Apache-2.0
/*
 * Through libnftables, the library nft(8) itself is a thin front end of: the
 * same parser and one netlink batch per buffer, which gives the atomic
 * "flush table + rules" replacement for free.
 *
 * The library is opened with dlopen() for now: the agent's link line
 * (Makefile) does not have -lnftables yet.  Once it does, the nft_api table
 * below becomes direct calls; nothing else changes.  Without the library the
 * agent still runs, without masquerade, and says so.
 */
#include "masq.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "log.h"

static struct {
	bool tried, ok;
	struct nft_ctx *(*ctx_new)(uint32_t flags);
	void (*ctx_free)(struct nft_ctx *ctx);
	int (*buffer_output)(struct nft_ctx *ctx);
	int (*buffer_error)(struct nft_ctx *ctx);
	const char *(*get_error_buffer)(struct nft_ctx *ctx);
	int (*run_cmd_from_buffer)(struct nft_ctx *nft, const char *buf);
} nft_api;

static int nft_open(void)
{
	void *h;

	if (nft_api.tried)
		return nft_api.ok ? 0 : -ENOTSUP;
	nft_api.tried = true;
	h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		log_warn("libnftables not available: no masquerade", "error=\"%s\"", dlerror());
		return -ENOTSUP;
	}
	nft_api.ctx_new = dlsym(h, "nft_ctx_new");
	nft_api.ctx_free = dlsym(h, "nft_ctx_free");
	nft_api.buffer_output = dlsym(h, "nft_ctx_buffer_output");
	nft_api.buffer_error = dlsym(h, "nft_ctx_buffer_error");
	nft_api.get_error_buffer = dlsym(h, "nft_ctx_get_error_buffer");
	nft_api.run_cmd_from_buffer = dlsym(h, "nft_run_cmd_from_buffer");
	nft_api.ok = nft_api.ctx_new && nft_api.ctx_free && nft_api.buffer_output &&
		     nft_api.buffer_error && nft_api.get_error_buffer &&
		     nft_api.run_cmd_from_buffer;
	if (!nft_api.ok) {
		log_warn("libnftables lacks a symbol porin uses: no masquerade", "lib=libnftables.so.1");
		return -ENOTSUP;
	}
	return 0;
}

/* Run @cmds as one transaction. */
static int nft_run(const char *cmds, const char *what)
{
	struct nft_ctx *ctx;
	int err;

	err = nft_open();
	if (err < 0)
		return err;
	ctx = nft_api.ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return -ENOMEM;
	nft_api.buffer_output(ctx);
	nft_api.buffer_error(ctx);
	err = nft_api.run_cmd_from_buffer(ctx, cmds) == 0 ? 0 : -EIO;
	if (err < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", nft_api.get_error_buffer(ctx));
		for (char *p = msg; *p; p++)
			if (*p == '"' || *p == '\n')
				*p = ' ';
		log_error("nftables transaction failed", "what=%s error=\"%s\"", what, msg);
	}
	nft_api.ctx_free(ctx);
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

// SPDX-License-Identifier: Apache-2.0
/*
 * porinctl: the operator's view of the node agent, over the local API.
 *   porinctl [--socket PATH] [-o table|json] status | endpoint list | drops
 * Exit status: 0 ok, 1 the agent is unreachable or refused, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"

enum output { OUT_TABLE, OUT_JSON };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: porinctl [--socket PATH] [-o table|json] COMMAND\n"
		"commands:\n"
		"  status          agent and IPAM summary\n"
		"  endpoint list   endpoints on this node\n"
		"  drops           non-zero datapath drop counters\n"
		"options:\n"
		"  --socket PATH   agent socket (default %s)\n"
		"  -o json         print the agent's raw JSON answer\n",
		API_DEFAULT_SOCKET);
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long long num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void print_status(const json_t *r)
{
	printf("Ready:          %s\n", json_is_true(json_object_get(r, "ready")) ? "yes" : "no");
	printf("Pod CIDR:       %s\n", str(r, "pod_cidr"));
	printf("Gateway:        %s\n", str(r, "gateway"));
	printf("Endpoints:      %lld\n", num(r, "endpoints"));
	printf("IPs allocated:  %lld\n", num(r, "ips_allocated"));
	printf("IPs free:       %lld\n", num(r, "ips_free"));
	printf("BPF root:       %s\n", str(r, "bpf_root"));
}

static void print_endpoints(const json_t *r)
{
	const json_t *list = json_object_get(r, "endpoints"), *e;
	size_t i;

	printf("%-5s %-14s %-8s %-15s %-15s %-8s %-17s %s\n", "ID", "CONTAINER", "IFNAME", "IP",
	       "HOST IFNAME", "IFINDEX", "POD MAC", "POD");
	json_array_foreach(list, i, e) {
		char pod[512];

		if (str(e, "pod_name")[0])
			snprintf(pod, sizeof(pod), "%s/%s", str(e, "pod_namespace"),
				 str(e, "pod_name"));
		else
			snprintf(pod, sizeof(pod), "-");
		printf("%-5lld %-14.12s %-8s %-15s %-15s %-8lld %-17s %s\n", num(e, "endpoint_id"),
		       str(e, "container_id"), str(e, "ifname"), str(e, "ip"),
		       str(e, "host_ifname"), num(e, "host_ifindex"), str(e, "pod_mac"), pod);
	}
}

static void print_drops(const json_t *r)
{
	const json_t *list = json_object_get(r, "drops"), *d;
	size_t i;

	printf("%-24s %-10s %12s %14s\n", "REASON", "DIRECTION", "PACKETS", "BYTES");
	json_array_foreach(list, i, d)
		printf("%-24s %-10s %12lld %14lld\n", str(d, "reason"), str(d, "direction"),
		       num(d, "packets"), num(d, "bytes"));
}

int main(int argc, char **argv)
{
	const char *socket_path = API_DEFAULT_SOCKET, *words[2] = { 0 }, *op;
	void (*print)(const json_t *r);
	enum output output = OUT_TABLE;
	json_t *req, *resp = NULL;
	int nwords = 0, err;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(arg, "--socket") == 0 && i + 1 < argc) {
			socket_path = argv[++i];
		} else if (strncmp(arg, "--socket=", 9) == 0) {
			socket_path = arg + 9;
		} else if ((strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) &&
			   i + 1 < argc) {
			arg = argv[++i];
			if (strcmp(arg, "json") == 0) {
				output = OUT_JSON;
			} else if (strcmp(arg, "table") == 0) {
				output = OUT_TABLE;
			} else {
				fprintf(stderr, "porinctl: unknown output format '%s'\n", arg);
				return 2;
			}
		} else if (arg[0] == '-') {
			fprintf(stderr, "porinctl: unknown option '%s'\n", arg);
			usage(stderr);
			return 2;
		} else if (nwords < 2) {
			words[nwords++] = arg;
		} else {
			usage(stderr);
			return 2;
		}
	}

	if (nwords == 1 && strcmp(words[0], "status") == 0) {
		op = "status";
		print = print_status;
	} else if (nwords >= 1 && (strcmp(words[0], "endpoint") == 0 ||
				   strcmp(words[0], "endpoints") == 0) &&
		   (nwords == 1 || strcmp(words[1], "list") == 0)) {
		op = "endpoint_list";
		print = print_endpoints;
	} else if (nwords == 1 && strcmp(words[0], "drops") == 0) {
		op = "drops";
		print = print_drops;
	} else {
		usage(stderr);
		return 2;
	}

	req = json_pack("{s:s}", "op", op);
	if (!req) {
		fprintf(stderr, "porinctl: out of memory\n");
		return 1;
	}
	err = api_call(socket_path, req, &resp);
	json_decref(req);
	if (err < 0 && !resp) {
		if (api_agent_unreachable(err))
			fprintf(stderr, "porinctl: cannot reach porin-agent at %s: %s "
				"(is the agent running?)\n", socket_path, strerror(-err));
		else
			fprintf(stderr, "porinctl: request to %s failed: %s\n", socket_path,
				strerror(-err));
		return 1;
	}
	if (err < 0) {
		fprintf(stderr, "porinctl: agent refused %s: %s\n", op, api_error_text(resp));
		json_decref(resp);
		return 1;
	}
	if (output == OUT_JSON) {
		json_dumpf(resp, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		print(resp);
	}
	json_decref(resp);
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * porinctl: the operator's view of the node agent, over the local API.
 *   porinctl [--socket PATH] [-o table|json] status | endpoint list | drops |
 *            k8s status | pods | node list|upsert|delete | ipcache list |
 *            policy list|trace (porinctl_policy.c; trace also works offline)
 * Exit status: 0 ok, 1 the agent is unreachable or refused (or an offline
 * trace cannot read its files), 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "porinctl_common.h"
#include "porinctl_policy.h"

enum output { OUT_TABLE, OUT_JSON };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: porinctl [--socket PATH] [-o table|json] COMMAND\n"
		"commands:\n"
		"  status          agent and IPAM summary\n"
		"  endpoint list   endpoints on this node (also those being deleted)\n"
		"  drops           non-zero datapath drop counters\n"
		"  k8s status      Kubernetes watches: connected, synced, counts\n"
		"  pods            pods the agent knows from Kubernetes\n"
		"  node list       other nodes: name, underlay IP, pod CIDR\n"
		"  node upsert NAME IP [POD_CIDR]   add or change another node (standalone)\n"
		"  node delete NAME                 forget it, with its remote pods\n"
		"  ipcache list    the datapath's ipcache: prefix, identity, tunnel endpoint\n");
	porinctl_policy_usage(out);
	fprintf(out,
		"options:\n"
		"  --socket PATH   agent socket (default %s)\n"
		"  -o json         print the agent's raw JSON answer (offline trace: the same\n"
		"                  shape; --all: an array of traces with \"from\" and \"to\")\n",
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
	printf("Deleting:       %lld\n", num(r, "deleting"));
	printf("IPs allocated:  %lld\n", num(r, "ips_allocated"));
	printf("IPs free:       %lld\n", num(r, "ips_free"));
	printf("BPF root:       %s\n", str(r, "bpf_root"));
	if (json_is_string(json_object_get(r, "waiting_for")))
		printf("Waiting for:    %s\n", str(r, "waiting_for"));
}

static void print_endpoints(const json_t *r)
{
	const json_t *list = json_object_get(r, "endpoints"), *e;
	size_t i;

	printf("%-5s %-14s %-8s %-15s %-15s %-8s %-17s %-8s %s\n", "ID", "CONTAINER", "IFNAME",
	       "IP", "HOST IFNAME", "IFINDEX", "POD MAC", "STATE", "POD");
	json_array_foreach(list, i, e) {
		char pod[512];

		if (str(e, "pod_name")[0])
			snprintf(pod, sizeof(pod), "%s/%s", str(e, "pod_namespace"),
				 str(e, "pod_name"));
		else
			snprintf(pod, sizeof(pod), "-");
		printf("%-5lld %-14.12s %-8s %-15s %-15s %-8lld %-17s %-8s %s\n",
		       num(e, "endpoint_id"), str(e, "container_id"), str(e, "ifname"),
		       str(e, "ip"), str(e, "host_ifname"), num(e, "host_ifindex"),
		       str(e, "pod_mac"), str(e, "state")[0] ? str(e, "state") : "active", pod);
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

static void print_k8s_status(const json_t *r)
{
	const json_t *list = json_object_get(r, "resources"), *e;
	size_t i;

	printf("Connected:      %s\n", json_is_true(json_object_get(r, "connected")) ? "yes" : "no");
	printf("Server:         %s\n", str(r, "server"));
	printf("Config:         %s\n", str(r, "config"));
	if (str(r, "config_error")[0])
		printf("Config error:   %s\n", str(r, "config_error"));
	printf("Node:           %s\n", str(r, "node_name"));
	printf("Node IP:        %s\n", str(r, "node_ip")[0] ? str(r, "node_ip") : "-");
	printf("Pod CIDR from:  %s\n", str(r, "pod_cidr_source"));
	if (json_is_string(json_object_get(r, "waiting_for")))
		printf("Waiting for:    %s\n", str(r, "waiting_for"));
	printf("Remote pods:    %lld (write errors %lld)\n", num(r, "remote_pods"),
	       num(r, "remote_errors"));
	printf("\n%-12s %-7s %-9s %8s %-12s %8s %10s %9s %9s\n", "RESOURCE", "SYNCED", "STATE",
	       "OBJECTS", "RV", "RELISTS", "RECONNECTS", "FAILURES", "EVENTS");
	json_array_foreach(list, i, e)
		printf("%-12s %-7s %-9s %8lld %-12s %8lld %10lld %9lld %9lld\n", str(e, "resource"),
		       json_is_true(json_object_get(e, "synced")) ? "yes" : "no", str(e, "state"),
		       num(e, "objects"), str(e, "resource_version"), num(e, "relists"),
		       num(e, "reconnects"), num(e, "failures"), num(e, "events"));
}

static void print_pods(const json_t *r)
{
	const json_t *list = json_object_get(r, "pods"), *p;
	size_t i;

	printf("%-40s %-20s %-15s %-6s %-8s %s\n", "POD", "NODE", "IP", "LOCAL", "IPCACHE",
	       "PHASE");
	json_array_foreach(list, i, p) {
		char name[512];

		snprintf(name, sizeof(name), "%s/%s", str(p, "namespace"), str(p, "name"));
		printf("%-40s %-20s %-15s %-6s %-8s %s\n", name,
		       str(p, "node")[0] ? str(p, "node") : "-", str(p, "ip")[0] ? str(p, "ip") : "-",
		       json_is_true(json_object_get(p, "local")) ? "yes" : "no",
		       json_is_true(json_object_get(p, "host_network")) ? "host" :
		       json_is_true(json_object_get(p, "ipcache")) ? "yes" : "no", str(p, "phase"));
	}
}

static void print_nothing(const json_t *r)
{
}

static void print_nodes(const json_t *r)
{
	const json_t *list = json_object_get(r, "nodes"), *n;
	size_t i;

	printf("%-32s %-15s %s\n", "NAME", "IP", "POD CIDR");
	json_array_foreach(list, i, n)
		printf("%-32s %-15s %s\n", str(n, "name"), str(n, "ip"),
		       str(n, "pod_cidr")[0] ? str(n, "pod_cidr") : "-");
}

static void print_ipcache(const json_t *r)
{
	const json_t *list = json_object_get(r, "ipcache"), *e, *f;
	size_t i, j;

	printf("%-18s %-9s %-15s %s\n", "PREFIX", "IDENTITY", "TUNNEL ENDPOINT", "FLAGS");
	json_array_foreach(list, i, e) {
		printf("%-18s %-9lld %-15s ", str(e, "prefix"), num(e, "identity"),
		       str(e, "tunnel_endpoint")[0] ? str(e, "tunnel_endpoint") : "-");
		json_array_foreach(json_object_get(e, "flags"), j, f)
			printf("%s%s", j ? "," : "", json_string_value(f));
		putchar('\n');
	}
}

int main(int argc, char **argv)
{
	const char *socket_path = API_DEFAULT_SOCKET, *words[5] = { 0 }, *op;
	void (*print)(const json_t *r);
	enum output output = OUT_TABLE;
	json_t *req, *resp = NULL;
	int nwords = 0, ret;

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
		} else if (nwords == 0 && strcmp(arg, "policy") == 0) {
			/* Its own options (--from, --to …): it parses the rest. */
			struct porinctl_opts o = {
				.socket_path = socket_path,
				.json = output == OUT_JSON,
			};

			return porinctl_policy(argc - i - 1, argv + i + 1, &o);
		} else if (arg[0] == '-') {
			fprintf(stderr, "porinctl: unknown option '%s'\n", arg);
			usage(stderr);
			return 2;
		} else if (nwords < 5) {
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
	} else if (nwords == 2 && strcmp(words[0], "k8s") == 0 && strcmp(words[1], "status") == 0) {
		op = "k8s_status";
		print = print_k8s_status;
	} else if (nwords >= 1 && strcmp(words[0], "pods") == 0 &&
		   (nwords == 1 || strcmp(words[1], "list") == 0)) {
		op = "pods";
		print = print_pods;
	} else if (nwords == 2 && strcmp(words[0], "node") == 0 && strcmp(words[1], "list") == 0) {
		op = "node_list";
		print = print_nodes;
	} else if ((nwords == 4 || nwords == 5) && strcmp(words[0], "node") == 0 &&
		   strcmp(words[1], "upsert") == 0) {
		op = "node_upsert";
		print = print_nothing;
	} else if (nwords == 3 && strcmp(words[0], "node") == 0 &&
		   strcmp(words[1], "delete") == 0) {
		op = "node_delete";
		print = print_nothing;
	} else if (nwords == 2 && strcmp(words[0], "ipcache") == 0 &&
		   strcmp(words[1], "list") == 0) {
		op = "ipcache_list";
		print = print_ipcache;
	} else if (nwords == 1 && strcmp(words[0], "drops") == 0) {
		op = "drops";
		print = print_drops;
	} else {
		usage(stderr);
		return 2;
	}

	if (strcmp(op, "node_upsert") == 0)
		req = json_pack("{s:s, s:s, s:s, s:s}", "op", op, "name", words[2], "ip", words[3],
				"pod_cidr", nwords == 5 ? words[4] : "");
	else if (strcmp(op, "node_delete") == 0)
		req = json_pack("{s:s, s:s}", "op", op, "name", words[2]);
	else
		req = json_pack("{s:s}", "op", op);
	ret = porinctl_call(socket_path, req, &resp);
	if (ret != PORINCTL_EXIT_OK)
		return ret;
	if (output == OUT_JSON) {
		porinctl_print_json(resp);
	} else {
		print(resp);
	}
	json_decref(resp);
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * porinctl policy list              the agent's NetworkPolicy state
 * porinctl policy trace ...         would a new connection pass, and why:
 *   online   the agent traces against its Kubernetes caches (policy_trace)
 *   offline  porinctl traces against `kubectl get -o json` output itself
 *            (trace_snapshot.h): no agent, no kernel
 */
#include "porinctl_policy.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "trace_snapshot.h"

#define MAX_OFFLINE_FILES	64

struct trace_args {
	const char *from, *to, *port;
	const char *files[MAX_OFFLINE_FILES];
	int n_files;
	bool all;
	uint8_t proto;
	uint16_t portnum;
	const char *proto_name;
	char port_text[16];	/* "80/TCP" */
};

void porinctl_policy_usage(FILE *out)
{
	fprintf(out,
		"  policy list     NetworkPolicy state: identities, policies, CIDRs, ...\n"
		"  policy trace --from NS/POD|IP --to NS/POD|IP --port PORT[/PROTO]\n"
		"                  would a new connection pass, and which policy decides\n"
		"                  (PROTO: TCP (default), UDP, SCTP; or --port 0/ICMP)\n"
		"  policy trace --offline FILE [--offline FILE ...]\n"
		"               (--from NS/POD|IP --to NS/POD|IP | --all) --port PORT[/PROTO]\n"
		"                  the same without an agent, from what `kubectl get pods,\n"
		"                  namespaces,networkpolicies -A -o json` printed (FILE - is\n"
		"                  stdin); --all: every ordered pair of pods with an IPv4\n");
}

int porinctl_port_parse(const char *s, uint8_t *ret_proto, uint16_t *ret_port,
			const char **ret_proto_name)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} protos[] = {
		{ "TCP", IPPROTO_TCP },
		{ "UDP", IPPROTO_UDP },
		{ "SCTP", IPPROTO_SCTP },
		{ "ICMP", IPPROTO_ICMP },
	};
	const char *slash = strchr(s, '/'), *pname = slash ? slash + 1 : "TCP";
	unsigned long port = 0;
	char *end;
	size_t i;

	if (!slash && !strcasecmp(s, "ICMP")) {
		pname = s;
	} else {
		if (s[0] < '0' || s[0] > '9')
			return -EINVAL;
		port = strtoul(s, &end, 10);
		if (end != (slash ? slash : s + strlen(s)) || port > 65535)
			return -EINVAL;
	}
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcasecmp(pname, protos[i].name))
			break;
	if (i == sizeof(protos) / sizeof(protos[0]))
		return -EINVAL;
	if (protos[i].proto == IPPROTO_ICMP ? port != 0 : port == 0)
		return -EINVAL;
	*ret_proto = protos[i].proto;
	*ret_port = port;
	*ret_proto_name = protos[i].name;
	return 0;
}

/* --- printing a trace ------------------------------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* Does this side let the connection through? */
static bool side_allows(const json_t *side)
{
	const json_t *allowed = json_object_get(side, "allowed");

	if (json_is_boolean(allowed))
		return json_is_true(allowed);
	return !json_is_true(json_object_get(side, "isolated")) ||
	       json_is_string(json_object_get(side, "allowed_by"));
}

/*
 * One side, e.g. "isolated by y/deny-all, y/allow-x; no rule allows 80/TCP
 * from x/a".  @toward: "from" for ingress, "to" for egress; @peer the other
 * end's name.
 */
static void side_text(const json_t *side, const char *port_text, const char *toward,
		      const char *peer, char *buf, size_t len)
{
	const json_t *pols = json_object_get(side, "policies"), *p;
	const char *reason = str(side, "reason");
	size_t i, n;

	if (!json_is_true(json_object_get(side, "isolated"))) {
		n = snprintf(buf, len, "not isolated");
		if (reason[0] && strcmp(reason, "not isolated") && n < len)
			snprintf(buf + n, len - n, " (%s)", reason);
		return;
	}
	n = snprintf(buf, len, "isolated by ");
	json_array_foreach(pols, i, p)
		if (n < len)
			n += snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
				      json_string_value(p) ? json_string_value(p) : "?");
	if (n >= len)
		return;
	if (json_is_string(json_object_get(side, "allowed_by")))
		snprintf(buf + n, len - n, "; allowed by %s", str(side, "allowed_by"));
	else if (reason[0] && strncmp(reason, "no rule allows", 14))
		snprintf(buf + n, len - n, "; %s", reason);
	else	/* say what "it" is */
		snprintf(buf + n, len - n, "; no rule allows %s %s %s", port_text, toward, peer);
}

static void print_trace(const json_t *t, const char *from, const char *to, const char *port_text)
{
	char buf[1024];

	printf("verdict: %s\n", str(t, "verdict")[0] ? str(t, "verdict") : "?");
	side_text(json_object_get(t, "egress"), port_text, "to", to, buf, sizeof(buf));
	printf("egress  (%s): %s\n", from, buf);
	side_text(json_object_get(t, "ingress"), port_text, "from", from, buf, sizeof(buf));
	printf("ingress (%s): %s\n", to, buf);
}

/* "x/a -> y/b 80/TCP denied (ingress: isolated by y/deny-all; no rule ...)" */
static void print_trace_line(const json_t *t, const char *port_text)
{
	const json_t *eg = json_object_get(t, "egress"), *in = json_object_get(t, "ingress");
	const char *from = str(t, "from"), *to = str(t, "to"), *verdict = str(t, "verdict");
	bool allowed = !strcmp(verdict, "allowed");
	char e[512], i[512];

	printf("%s -> %s %s %s", from, to, port_text, verdict[0] ? verdict : "?");
	if (allowed) {
		bool eby = json_is_string(json_object_get(eg, "allowed_by"));
		bool iby = json_is_string(json_object_get(in, "allowed_by"));

		if (!eby && !iby)
			printf(" (not isolated)\n");
		else
			printf(" (%s%s%s%s%s)\n", eby ? "egress: " : "",
			       eby ? str(eg, "allowed_by") : "", eby && iby ? ", " : "",
			       iby ? "ingress: " : "", iby ? str(in, "allowed_by") : "");
		return;
	}
	side_text(eg, port_text, "to", to, e, sizeof(e));
	side_text(in, port_text, "from", from, i, sizeof(i));
	if (!side_allows(eg) && !side_allows(in))
		printf(" (egress: %s; ingress: %s)\n", e, i);
	else if (!side_allows(eg))
		printf(" (egress: %s)\n", e);
	else
		printf(" (ingress: %s)\n", i);
}

/* --- online -------------------------------------------------------------------------- */

static int trace_online(const struct trace_args *ta, const struct porinctl_opts *o)
{
	json_t *req, *resp = NULL;
	int ret;

	req = json_pack("{s:s, s:s, s:s, s:i, s:s}", "op", "policy_trace", "from", ta->from,
			"to", ta->to, "port", (int)ta->portnum, "protocol", ta->proto_name);
	ret = porinctl_call(o->socket_path, req, &resp);
	if (ret != PORINCTL_EXIT_OK)
		return ret;
	if (o->json)
		porinctl_print_json(resp);
	else
		print_trace(json_object_get(resp, "trace"), ta->from, ta->to, ta->port_text);
	json_decref(resp);
	return PORINCTL_EXIT_OK;
}

static int policy_list(const struct porinctl_opts *o)
{
	json_t *req, *resp = NULL, *v;
	const char *k;
	size_t width = 0;
	int ret;

	req = json_pack("{s:s}", "op", "policy_status");
	ret = porinctl_call(o->socket_path, req, &resp);
	if (ret != PORINCTL_EXIT_OK)
		return ret;
	if (o->json) {
		porinctl_print_json(resp);
		json_decref(resp);
		return PORINCTL_EXIT_OK;
	}
	json_object_foreach(resp, k, v)
		if (strcmp(k, "ok") && strlen(k) > width)
			width = strlen(k);
	json_object_foreach(resp, k, v) {
		char *text;

		if (!strcmp(k, "ok"))
			continue;
		printf("%s:%*s ", k, (int)(width - strlen(k)), "");
		if (json_is_string(v)) {
			printf("%s\n", json_string_value(v));
		} else if (json_is_boolean(v)) {
			printf("%s\n", json_is_true(v) ? "yes" : "no");
		} else if (json_is_real(v)) {
			printf("%g\n", json_real_value(v));
		} else if (json_is_null(v)) {
			printf("-\n");
		} else {
			text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
			printf("%s\n", text ? text : "?");
			free(text);
		}
	}
	json_decref(resp);
	return PORINCTL_EXIT_OK;
}

/* --- offline ------------------------------------------------------------------------- */

static void warn_stderr(void *ctx, const char *msg)
{
	const char *file = ctx;

	if (file)
		fprintf(stderr, "porinctl: warning: %s: %s\n", file, msg);
	else
		fprintf(stderr, "porinctl: warning: %s\n", msg);
}

static int load_file(struct trace_snapshot *s, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	json_error_t jerr;
	json_t *doc;
	int err;

	if (!f) {
		fprintf(stderr, "porinctl: cannot read %s: %s\n", path, strerror(errno));
		return PORINCTL_EXIT_FAIL;
	}
	doc = json_loadf(f, 0, &jerr);
	if (f != stdin)
		fclose(f);
	if (!doc) {
		fprintf(stderr, "porinctl: cannot read %s: line %d column %d: %s\n", path,
			jerr.line, jerr.column, jerr.text);
		return PORINCTL_EXIT_FAIL;
	}
	err = trace_snapshot_add(s, doc, warn_stderr, (void *)path);
	json_decref(doc);
	if (err == -EBADMSG) {
		fprintf(stderr, "porinctl: cannot read %s: not a Kubernetes object or List\n",
			path);
		return PORINCTL_EXIT_FAIL;
	}
	if (err < 0) {
		fprintf(stderr, "porinctl: cannot read %s: %s\n", path, strerror(-err));
		return PORINCTL_EXIT_FAIL;
	}
	return PORINCTL_EXIT_OK;
}

static int trace_offline(const struct trace_args *ta, const struct porinctl_opts *o)
{
	struct trace_snapshot *s = NULL;
	const char *from, *to;
	char msg[256];
	json_t *out;
	size_t i;
	int err, ret = PORINCTL_EXIT_FAIL;

	err = trace_snapshot_new(&s);
	if (err < 0) {
		fprintf(stderr, "porinctl: %s\n", strerror(-err));
		return PORINCTL_EXIT_FAIL;
	}
	for (int f = 0; f < ta->n_files; f++)
		if (load_file(s, ta->files[f]) != PORINCTL_EXIT_OK)
			goto out;
	err = trace_snapshot_build(s, warn_stderr, NULL);
	if (err < 0) {
		fprintf(stderr, "porinctl: cannot compile the policies: %s\n", strerror(-err));
		goto out;
	}

	if (ta->all) {
		out = json_array();
		err = out ? trace_snapshot_trace_all(s, ta->proto, ta->portnum, out) : -ENOMEM;
		if (err < 0) {
			fprintf(stderr, "porinctl: trace failed: %s\n", strerror(-err));
			json_decref(out);
			goto out;
		}
		if (o->json) {
			porinctl_print_json(out);
		} else {
			json_t *t;

			json_array_foreach(out, i, t)
				print_trace_line(t, ta->port_text);
		}
		json_decref(out);
		ret = PORINCTL_EXIT_OK;
		goto out;
	}

	out = json_object();
	if (!out) {
		fprintf(stderr, "porinctl: out of memory\n");
		goto out;
	}
	err = trace_snapshot_trace(s, ta->from, ta->to, ta->proto, ta->portnum, out, &from, &to,
				   msg, sizeof(msg));
	if (err < 0) {
		fprintf(stderr, "porinctl: %s\n", msg);
		json_decref(out);
		goto out;
	}
	if (o->json) {
		/* The agent's answer's shape, so one script reads both. */
		json_t *resp = json_pack("{s:b, s:o}", "ok", 1, "trace", out);

		if (!resp) {
			fprintf(stderr, "porinctl: out of memory\n");
			goto out;
		}
		porinctl_print_json(resp);
		json_decref(resp);
	} else {
		print_trace(out, from, to, ta->port_text);
		json_decref(out);
	}
	ret = PORINCTL_EXIT_OK;
out:
	trace_snapshot_free(s);
	return ret;
}

/* --- arguments ------------------------------------------------------------------------ */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "porinctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage:\n");
	porinctl_policy_usage(stderr);
	return PORINCTL_EXIT_USAGE;
}

/* "--name VALUE" or "--name=VALUE"; advances *i past VALUE. */
static bool opt_value(int argc, char **argv, int *i, const char *name, const char **ret)
{
	size_t len = strlen(name);

	if (!strncmp(argv[*i], name, len) && argv[*i][len] == '=') {
		*ret = argv[*i] + len + 1;
		return true;
	}
	if (!strcmp(argv[*i], name) && *i + 1 < argc) {
		*ret = argv[++*i];
		return true;
	}
	return false;
}

int porinctl_policy(int argc, char **argv, const struct porinctl_opts *global)
{
	struct porinctl_opts o = *global;
	struct trace_args ta = { 0 };
	const char *cmd = NULL, *v;

	for (int i = 0; i < argc; i++) {
		if (opt_value(argc, argv, &i, "--from", &ta.from) ||
		    opt_value(argc, argv, &i, "--to", &ta.to) ||
		    opt_value(argc, argv, &i, "--port", &ta.port) ||
		    opt_value(argc, argv, &i, "--socket", &o.socket_path)) {
			continue;
		} else if (opt_value(argc, argv, &i, "--offline", &v)) {
			if (ta.n_files == MAX_OFFLINE_FILES)
				return usage_error("too many --offline files (at most %d)",
						   MAX_OFFLINE_FILES);
			ta.files[ta.n_files++] = v;
		} else if (!strcmp(argv[i], "--all")) {
			ta.all = true;
		} else if (opt_value(argc, argv, &i, "-o", &v) ||
			   opt_value(argc, argv, &i, "--output", &v)) {
			if (strcmp(v, "json") && strcmp(v, "table"))
				return usage_error("unknown output format '%s'", v);
			o.json = !strcmp(v, "json");
		} else if (argv[i][0] == '-') {
			return usage_error("unknown option or missing value: '%s'", argv[i]);
		} else if (!cmd) {
			cmd = argv[i];
		} else {
			return usage_error("unexpected argument '%s'", argv[i]);
		}
	}

	if (cmd && (!strcmp(cmd, "list") || !strcmp(cmd, "status"))) {
		if (ta.from || ta.to || ta.port || ta.n_files || ta.all)
			return usage_error("policy %s takes no trace options", cmd);
		return policy_list(&o);
	}
	if (!cmd || strcmp(cmd, "trace"))
		return usage_error("policy: want list or trace, not '%s'", cmd ? cmd : "nothing");

	if (!ta.port)
		return usage_error("policy trace needs --port PORT[/PROTO]");
	if (porinctl_port_parse(ta.port, &ta.proto, &ta.portnum, &ta.proto_name) < 0)
		return usage_error("bad --port '%s': want PORT/TCP|UDP|SCTP (1-65535) or 0/ICMP",
				   ta.port);
	snprintf(ta.port_text, sizeof(ta.port_text), "%u/%s", ta.portnum, ta.proto_name);
	if (ta.all) {
		if (!ta.n_files)
			return usage_error("--all needs --offline FILE");
		if (ta.from || ta.to)
			return usage_error("--all takes no --from or --to");
	} else if (!ta.from || !ta.to) {
		return usage_error("policy trace needs --from and --to (or --offline with --all)");
	}
	return ta.n_files ? trace_offline(&ta, &o) : trace_online(&ta, &o);
}

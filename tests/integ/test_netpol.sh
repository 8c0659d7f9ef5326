#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy end to end, after the upstream Kubernetes e2e model
# (test/e2e/network/netpol): a hack/cluster of 2 nodes, namespaces x, y, z
# (labelled ns=x|y|z), pods a, b, c in each (pod=a|b|c) spread over both
# nodes, each serving TCP, UDP and SCTP on 80 and 81 behind named ports
# serve-80-tcp ... serve-81-sctp.  Each case (netpol_cases.sh) applies
# policies with kubectl and states its expected reachability matrix; the
# prober (netpol_probe.py) probes every ordered pair of pods, self pairs
# excluded, until the matrix matches (up to NP_WAIT s); then the offline
# `porinctl policy trace --all` over a snapshot of the API, and the online
# trace of both node agents on two cells, must give the same verdicts.
# Between cases every policy is deleted and the matrix must be all-allowed.
#
# One cluster serves every case of a routing mode (VXLAN: every case;
# native: a subset).  SCTP probes are skipped, with the reason, where the
# kernel has no SCTP sockets; the trace is still compared with the expected
# SCTP verdicts.
#
# Knobs: TESTS="case ..." runs only those; NP_MODES (default "vxlan native");
# NP_WAIT (15); NP_TRACE=0 leaves the trace out; NP_KEEP=1 keeps the logs.
. "$(dirname "$0")/lib.sh"

NP_WAIT=${NP_WAIT:-15}
NP_TRACE=${NP_TRACE:-1}
NP_MODES=${NP_MODES:-vxlan native}
NP_PORTS=80/TCP,81/TCP,80/UDP,81/UDP
NP=$(mktemp -d /tmp/porin-netpol.XXXXXX)
P=""		# the current cluster's netns prefix
PROBE=(python3 "$TOP/tests/integ/netpol_probe.py")
POD_PORTS=(--port serve-80-tcp:80/TCP --port serve-81-tcp:81/TCP --port serve-80-udp:80/UDP
	--port serve-81-udp:81/UDP --port serve-80-sctp:80/SCTP --port serve-81-sctp:81/SCTP)
C=""		# the running case's scratch dir

cluster() { BUILD=$BUILD "$TOP/hack/cluster" "$@"; }
kc() { "$K8S_BIN/kubectl" --kubeconfig "$PORIN_CLUSTER_DIR/cp/admin.kubeconfig" "$@"; }
ctl() { "$BIN/porinctl" --socket "$PORIN_CLUSTER_DIR/nodes/$1/state/porin.sock" "${@:2}"; }
pod_ip() { jq -r '.ips[0].address | split("/")[0]' "$PORIN_CLUSTER_DIR/pods/${1%%/*}_${1#*/}/cni-result.json"; }

# np_mode MODE: point hack/cluster, kubectl and the prober at that mode's
# cluster.  Each mode has its own dir, prefix and underlay (172.31.7 VXLAN,
# 172.31.8 native) so that the next cluster comes up while the cases of the
# previous one run.
np_mode() {
	export PORIN_CLUSTER_DIR=$NP/$1 PORIN_CLUSTER_PREFIX=pn${1:0:1}$$
	case $1 in
	vxlan) export PORIN_CLUSTER_UNDERLAY=172.31.7 ;;
	native) export PORIN_CLUSTER_UNDERLAY=172.31.8 ;;
	esac
	P=$PORIN_CLUSTER_PREFIX
	if [ -f "$PORIN_CLUSTER_DIR/cluster.env" ]; then . "$PORIN_CLUSTER_DIR/cluster.env"; fi
}

# One cluster per mode for all its cases: replace lib.sh's per-test teardown.
np_cleaned="" np_bg=""
np_cleanup() {
	local mode
	[ -n "$np_cleaned" ] && return
	np_cleaned=1
	# A cluster still coming up (it ignores SIGINT) is let finish, then removed.
	[ -n "$np_bg" ] && wait "$np_bg" 2>/dev/null
	for mode in vxlan native; do (np_mode "$mode"; cluster down >/dev/null 2>&1); done
	[ "${NP_KEEP:-0}" = 1 ] && echo "logs kept in $NP" || rm -rf "$NP"
}
trap np_cleanup EXIT
trap 'np_cleanup; exit 130' INT TERM

# --- what a case says ------------------------------------------------------------

# netpol NS NAME: apply a NetworkPolicy whose spec (YAML, leading tabs
# stripped by <<-) comes on stdin.
netpol() {
	{
		printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n'
		printf 'metadata: {namespace: "%s", name: "%s"}\nspec:\n' "$1" "$2"
		sed 's/^/  /'
	} | kc apply -f - >/dev/null
}

# expect FROM TO PORT allow|deny: globs over "ns/pod" (or "nodeK" as a
# source) and "80/TCP"; later lines override earlier ones; default allow.
expect() { echo "$1 $2 $3 $4" >>"$C/expect"; }
expect_reset() { : >"$C/expect"; }

# on_reset CMD...: undo something at the end of the case, pass or fail.
on_reset() { printf '%q ' "$@" >>"$C/undo"; echo >>"$C/undo"; }

# check [--ports P,...] [--from GLOB,...] [--to GLOB,...] [--extra NAME=IP]
#       [--once]
# Probe until the matrix is the expected one (--once: one round, no retry),
# then compare the traces with it.
check() {
	local ports=$NP_PORTS args=() n
	extras=()	# for trace_check
	while [ $# -gt 0 ]; do
		case $1 in
		--ports) ports=$2; shift 2 ;;
		--from|--to) args+=("$1" "$2"); shift 2 ;;
		--extra) args+=("$1" "$2"); extras+=("$1" "$2"); shift 2 ;;
		--once) args+=(--once); shift ;;
		*) fail "check: unknown option $1" ;;
		esac
	done
	n=$(($(cat "$C/nchecks" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$C/nchecks"
	echo "--- check $n: ports $ports ${args[*]}"
	local rc=0
	"${PROBE[@]}" check --cluster "$PORIN_CLUSTER_DIR" --prefix "$P" --expect "$C/expect" \
		--wait "$NP_WAIT" --ports "$ports" --out "$C/observed-$n.json" "${args[@]}" \
		>"$C/probe-$n.txt" || rc=$?
	cat "$C/probe-$n.txt"
	sed -n 's/^skipped: //p' "$C/probe-$n.txt" >>"$C/skipped"
	if [ $rc -ne 0 ]; then
		if [ "$NP_TRACE" = 1 ]; then
			echo "(diagnosis: what the traces say of the matrix the probes saw)"
			(trace_check "$n" "$ports") || true
		fi
		fail "check $n: the probed matrix is not the expected one"
	fi
	[ "$NP_TRACE" = 1 ] || return 0
	trace_check "$n" "$ports"
}

# trace_check N PORTS: porinctl policy trace, offline over a snapshot of the
# API (--all, every pair of pods; one trace per source for each --extra
# address) and online on both agents (two cells), must agree with check N's
# matrix (with the expected verdicts where probes were skipped).
trace_check() {
	local n=$1 ports=$2 p f args=() from to port verdict node got t0=$EPOCHREALTIME
	kc get pods,namespaces,networkpolicies -A -o json >"$C/snapshot-$n.json"
	for p in ${ports//,/ }; do
		f=$C/trace-$n-${p/\//-}.json
		"$BIN/porinctl" policy trace --offline "$C/snapshot-$n.json" --all --port "$p" -o json \
			>"$f" 2>"$f.err" ||
			fail "porinctl policy trace --offline --all --port $p failed: $(head -c 300 "$f.err")"
		args+=(--trace "$p=$f")
	done
	"${PROBE[@]}" compare-trace --observed "$C/observed-$n.json" --spot-out "$C/spot-$n" \
		--porinctl "$BIN/porinctl" --snapshot "$C/snapshot-$n.json" "${extras[@]}" "${args[@]}" ||
		fail "check $n: the offline trace disagrees with the probes"
	while read -r from to port verdict; do
		for node in node1 node2; do
			got=$(ctl "$node" policy trace --from "$from" --to "$to" --port "$port" -o json 2>&1) ||
				fail "online trace on $node ($from -> $to $port) failed: ${got:0:300}"
			# -o json prints the agent's answer: {"ok": true, "trace": {...}}
			[ "$(jq -r '.trace.verdict // .verdict' <<<"$got")" = "$verdict" ] ||
				fail "online trace on $node: $from -> $to $port: ${got:0:600}; the probes say $verdict"
		done
	done <"$C/spot-$n"
	echo "online trace agrees on node1 and node2 (traces took $(echo "$EPOCHREALTIME - $t0" | bc) s)"
}

# pods_on NODE: the pods that run there.
pods_on() {
	local d
	for d in "$PORIN_CLUSTER_DIR"/pods/*/; do
		[ "$(cat "$d/node")" = "$1" ] && basename "$d" | sed 's|_|/|'
	done
	true
}

pod_add() { # pod_add NS/NAME NODE LABELS
	cluster pod add "$1" --node "$2" --labels "$3" "${POD_PORTS[@]}" >/dev/null
}
pod_gone() { # pod_gone NS/NAME: delete it if it is there
	[ ! -d "$PORIN_CLUSTER_DIR/pods/${1%%/*}_${1#*/}" ] || cluster pod del "$1"
}

# --- the cluster and the runner ----------------------------------------------------

np_passed=0 np_failed=0 np_skipped=0

np_up() {
	local mode=$1 ns pids=() pid spec rc=0
	cluster up --nodes 2 --routing "$mode" >"$NP/up-$mode.log" 2>&1 || { cat "$NP/up-$mode.log"; return 1; }
	. "$PORIN_CLUSTER_DIR/cluster.env"
	for ns in x y z; do
		printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: "%s", labels: {ns: "%s"}}\n---\n' "$ns" "$ns"
	done | kc apply -f - >/dev/null || return 1
	# Both nodes hold pods of every namespace: same-node and cross-node pairs.
	for spec in x/a:node1 x/b:node2 x/c:node1 y/a:node2 y/b:node1 y/c:node2 \
		z/a:node1 z/b:node2 z/c:node1; do
		pod_add "${spec%%:*}" "${spec#*:}" "pod=${spec:2:1}" &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
	return $rc
}

np_reset() {
	local cmd
	kc delete networkpolicies --all --all-namespaces >/dev/null
	if [ -s "$C/undo" ]; then
		while read -r cmd; do eval "$cmd" || echo "undo failed: $cmd"; done <"$C/undo"
	fi
	"${PROBE[@]}" check --cluster "$PORIN_CLUSTER_DIR" --prefix "$P" --expect /dev/null \
		--wait "$NP_WAIT" --ports "$NP_PORTS"
}

# run_case MODE NAME: c_NAME in a subshell (set -e), then np_reset; the case
# passes only if the cluster is back to all-allowed after it too.
run_case() {
	local mode=$1 name=$2 rc t0 secs
	[ -n "${TESTS:-}" ] && ! grep -qw "$name" <<<"$TESTS" && return 0
	C=$NP/cases/$mode-$name
	mkdir -p "$C"
	: >"$C/expect"
	t0=$EPOCHREALTIME
	( set -e; "c_$name" ) >"$C/out" 2>&1
	rc=$?
	echo "--- reset: policies deleted, changes undone, all-allowed again" >>"$C/out"
	if ! np_reset >>"$C/out" 2>&1; then
		echo "    assertion failed: not back to all-allowed after the case" >>"$C/out"
		rc=1
	fi
	secs=$(echo "$EPOCHREALTIME - $t0" | bc)
	if [ $rc -eq 0 ]; then
		printf 'ok   test_netpol:%s/%s (%.1f s; slowest matrix %s s)\n' "$mode" "$name" "$secs" \
			"$(cat "$C"/probe-*.txt 2>/dev/null | sed -n 's/^matrix ok: .*, round [0-9]*, \([0-9.]*\) s$/\1/p' |
				sort -n | tail -1)"
		np_passed=$((np_passed + 1))
	else
		printf 'FAIL test_netpol:%s/%s (%.1f s)\n' "$mode" "$name" "$secs"
		sed 's/^/    | /' "$C/out" | head -200
		np_failed=$((np_failed + 1))
	fi
	if [ -s "$C/skipped" ]; then
		echo "skip test_netpol:$mode/$name (SCTP probes): $(sort -u "$C/skipped" | head -1)"
		np_skipped=$((np_skipped + 1))
	fi
}

. "$TOP/tests/integ/netpol_cases.sh"

# The modes to run, each with its cases (TESTS may leave a mode out).
modes=()
declare -A mode_cases
for mode in $NP_MODES; do
	case $mode in
	vxlan) cases=$NP_CASES_VXLAN ;;
	native) cases=$NP_CASES_NATIVE ;;
	*) echo "NP_MODES: vxlan or native" >&2; exit 2 ;;
	esac
	if [ -n "${TESTS:-}" ] && ! grep -qwf <(tr ' ' '\n' <<<"$cases" | grep .) <<<"$TESTS"; then
		continue
	fi
	modes+=("$mode")
	mode_cases[$mode]=$cases
done

# np_setup MODE: bring MODE's cluster up, in the background (np_bg).
np_setup() {
	(
		np_mode "$1"
		t0=$SECONDS
		np_up "$1" >"$NP/setup-$1.log" 2>&1
		rc=$?
		echo "$((SECONDS - t0))" >"$NP/setup-$1.secs"
		exit $rc
	) &
	np_bg=$!
}

[ ${#modes[@]} -gt 0 ] && np_setup "${modes[0]}"
for i in "${!modes[@]}"; do
	mode=${modes[$i]}
	wait "$np_bg"
	rc=$?
	np_bg=""
	# The next cluster comes up while these cases run.
	if [ $((i + 1)) -lt ${#modes[@]} ]; then np_setup "${modes[$((i + 1))]}"; fi
	np_mode "$mode"
	if [ $rc -ne 0 ]; then
		echo "FAIL test_netpol:$mode/setup"
		sed 's/^/    | /' "$NP/setup-$mode.log" | tail -30
		np_failed=$((np_failed + 1))
	else
		echo "--- $mode: cluster and 9 pods up in $(cat "$NP/setup-$mode.secs") s"
		for c in ${mode_cases[$mode]}; do run_case "$mode" "$c"; done
	fi
	cluster down >/dev/null 2>&1
done
echo "integ: $np_passed passed, $np_failed failed, $np_skipped skipped"

# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the NetworkPolicy benchmarks (hack/bench/policy_*.sh): a local
# cluster from hack/cluster on an underlay and with names of their own, the
# helper binaries, and access to each node's agent.  Source it after nothing
# else; it sources lib.sh (paths, the lock, the cleanup stack).
#
# The cluster: PORIN_CLUSTER_DIR=$PCL_DIR (default /tmp/pbench-policy-cluster),
# netns and root links prefixed $PCL_PREFIX (default ppb), underlay
# $PCL_UNDERLAY.0/24 (default 172.31.6; the API server listens on .1).  A
# cluster left by a killed run is taken down first (under lib.sh's lock).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PCL_DIR=${PCL_DIR:-/tmp/pbench-policy-cluster}
PCL_PREFIX=${PCL_PREFIX:-ppb}
PCL_UNDERLAY=${PCL_UNDERLAY:-172.31.6}

# cluster ARGS...: hack/cluster on our directory, prefix, underlay and binaries.
cluster() {
	local build
	build=$(realpath --relative-to="$PWD" "$BIN")
	PORIN_CLUSTER_DIR=$PCL_DIR PORIN_CLUSTER_PREFIX=$PCL_PREFIX \
		PORIN_CLUSTER_UNDERLAY=$PCL_UNDERLAY BUILD=$build hack/cluster "$@" 9<&-
}

cluster_down() {
	if [ -e "$PCL_DIR" ] || ip netns list 2>/dev/null | grep -q "^$PCL_PREFIX-"; then
		cluster down >/dev/null 2>&1 || true
	fi
}

# cluster_init NODES: a fresh cluster of NODES nodes, taken down at exit.
# Sets KDIR (the control plane's directory: admin certificates, env).
cluster_init() {
	porin_present || die "porin binaries not found under $BIN (make BUILD=... all)"
	if [ -e "$PCL_DIR" ] || ip netns list 2>/dev/null | grep -q "^$PCL_PREFIX-"; then
		log "removing the cluster an earlier run left ($PCL_DIR, $PCL_PREFIX-*)"
		cluster_down
	fi
	defer cluster_down
	defer cluster_save_logs
	log "cluster up: $1 node(s), underlay $PCL_UNDERLAY.0/24, prefix $PCL_PREFIX"
	cluster up --nodes "$1" >"$WORK/cluster-up.log" 2>&1 ||
		{ cat "$WORK/cluster-up.log" >&2; die "hack/cluster up failed"; }
	KDIR=$PCL_DIR/cp
}

# The agents' logs, to $OUT/porin-agent.$BENCH_NAME.NODE.log.
cluster_save_logs() {
	local f n
	for f in "$PCL_DIR"/nodes/*/agent.log; do
		[ -f "$f" ] || continue
		n=${f%/agent.log}
		cp "$f" "$OUT/porin-agent.$BENCH_NAME.${n##*/}.log"
	done
}

# ctl NODE ARGS...: porinctl against NODE's agent.
ctl() { "$PORINCTL" --socket "$PCL_DIR/nodes/$1/state/porin.sock" "${@:2}"; }
agent_pid() { cat "$PCL_DIR/nodes/$1/agent.pid"; }
pod_netns() { echo "$PCL_PREFIX-p-${1%%/*}-${1#*/}"; }

# pod_add NS/NAME NODE LABELS [--port ...]: prints the pod's IP.
pod_add() {
	local pod=$1 node=$2 labels=$3 line
	shift 3
	line=$(cluster pod add "$pod" --node "$node" --labels "$labels" "$@") ||
		die "pod add $pod failed"
	echo "$line" | awk '{print $2}'
}

# in_pod NS/NAME CMD...: run CMD in the pod's netns.  A process started in
# the background this way needs no cleanup of its own: `hack/cluster down`
# kills every process in the cluster's namespaces.
in_pod() { local p=$1; shift; ip netns exec "$(pod_netns "$p")" "$@"; }

# policy_status NODE: `porinctl policy list -o json` (op policy_status).
policy_status() { ctl "$1" policy list -o json; }

# tree_commit: HEAD's short hash for a report, flagged when agent, policy,
# datapath or lib (what the policy benchmarks measure) has uncommitted changes.
tree_commit() {
	local commit
	commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	[ -z "$(git status --porcelain -- agent policy datapath lib 2>/dev/null)" ] ||
		commit="$commit (with uncommitted changes)"
	echo "$commit"
}

# proc_mem PID: "VmRSS_kB VmHWM_kB cpu_s".
proc_mem() {
	local rss hwm cpu
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$1/status")
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$1/status")
	cpu=$(awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat")
	echo "$rss $hwm $cpu"
}

# policy_helpers_init: HELPERS with tcp_rr and the policy_* helpers: $BIN/hack
# when current, else compiled into $WORK.
policy_helpers_init() {
	local h ok=1
	HELPERS=$BIN/hack
	for h in tcp_rr policy_probe policy_crr policy_testrun; do
		if [ ! -x "$HELPERS/$h" ] || [ "hack/bench/$h.c" -nt "$HELPERS/$h" ] ||
		   [ hack/bench/bench_util.h -nt "$HELPERS/$h" ]; then
			ok=0
			break
		fi
	done
	[ $ok = 1 ] && return 0
	HELPERS=$WORK/hack
	mkdir -p "$HELPERS"
	for h in tcp_rr policy_probe policy_crr policy_testrun; do
		${CC:-cc} -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Idatapath/include \
			-o "$HELPERS/$h" "hack/bench/$h.c" || die "cannot build hack/bench/$h.c"
	done
}


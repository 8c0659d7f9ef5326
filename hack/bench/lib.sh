# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the benchmark scripts: paths, a cleanup stack, the "node"
# namespace, the helper binaries, the porin agent and CNI invocation.  Source
# it; it leaves the shell in the repository root.
#
# Like tests/integ, a benchmark plays the node in a network namespace of its
# own ($NODE): the agent, the plugins and the host ends of the veths live
# there, so nothing touches the machine's namespace, routes or sysctls (only
# kernel.bpf_stats_enabled is global; it is restored).  Every netns is named
# pbench-*; a lock makes sure only one benchmark runs, so a pbench-* netns
# found at start is a leftover of a run that was killed and is removed.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$BENCH_DIR/../.."

# The binaries under test: BIN, else the Makefile's BUILD (make BUILD=x bench).
BIN=${BIN:-${BUILD:-build}}
PORIN=${PORIN:-$BIN/porin}
PORIN_AGENT=${PORIN_AGENT:-$BIN/porin-agent}
PORINCTL=${PORINCTL:-$BIN/porinctl}
CNI_BIN=${CNI_BIN:-/usr/lib/cni}
OUT=${OUT:-hack/bench/out}
# Where the agent's --state-dir lives: tmpfs (like /var/run on a node) or disk.
PORIN_STATE_FS=${PORIN_STATE_FS:-tmpfs}

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- cleanup stack: defer CMD runs CMD at exit, last registered first -------
_defers=()
defer() { _defers+=("$*"); }
_run_defers() {
	local i
	for ((i = ${#_defers[@]} - 1; i >= 0; i--)); do
		eval "${_defers[i]}" >/dev/null 2>&1 || true
	done
	_defers=()
}

# bench_init NAME: root check, lock, stale cleanup, traps, the $WORK scratch dir.
bench_init() {
	[ "$(id -u)" -eq 0 ] || die "benchmarks need root (netns, veths, bpffs)"
	trap _run_defers EXIT
	trap 'exit 130' INT TERM HUP PIPE
	if [ -z "${PBENCH_LOCKED:-}" ]; then
		exec 9<"$BENCH_DIR/lib.sh"	# the lock: no file of its own to clean up
		flock -n 9 || die "another benchmark is running (it holds a lock on hack/bench/lib.sh)"
		export PBENCH_LOCKED=1
		pbench_remove_stale
	fi
	BENCH_NAME=$1
	WORK=$(mktemp -d "/tmp/pbench-$1.XXXXXX")
	defer "rm -rf '$WORK'"
	mkdir -p "$OUT" /var/run/netns
	defer pbench_remove_all
}

# node_init: the $NODE namespace, lo up, ip_forward on.
node_init() {
	NODE=pbench-node
	ip netns add "$NODE"
	ip -n "$NODE" link set lo up
	in_node sysctl -qw net.ipv4.ip_forward=1
}

# in_node CMD...: run CMD in the node namespace.  (Start background processes
# with nsenter itself, so that $! is their pid, and with 9<&- so they do not
# hold the lock.)
in_node() { nsenter --net="/var/run/netns/$NODE" "$@"; }

# Every pbench-* netns: ours (see the lock above).  The veths, bridges and
# routes the benchmarks make live in them and go with them.
pbench_remove_all() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^pbench-/ {print $1}'); do
		ip netns del "$ns" 2>/dev/null || true
	done
}

pbench_remove_stale() {
	if ip netns list 2>/dev/null | grep -q '^pbench-'; then
		log "removing leftovers of an earlier run (pbench-* netns)"
		pbench_remove_all
	fi
}

# sysctl_set KEY VALUE: set KEY (in the machine's namespace); the current
# value comes back at exit.
sysctl_set() {
	defer "sysctl -qw '$1=$(sysctl -n "$1")'"
	sysctl -qw "$1=$2"
}

# --- helper binaries: $BIN/hack/* when current, else compiled into $WORK ----
helpers_init() {
	local h
	HELPERS=$BIN/hack
	for h in cni_time tcp_rr; do
		if [ ! -x "$HELPERS/$h" ] || [ "hack/bench/$h.c" -nt "$HELPERS/$h" ] ||
		   [ hack/bench/bench_util.h -nt "$HELPERS/$h" ]; then
			HELPERS=$WORK/hack
			break
		fi
	done
	[ "$HELPERS" = "$BIN/hack" ] && return 0
	mkdir -p "$HELPERS"
	for h in cni_time tcp_rr; do
		${CC:-cc} -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -o "$HELPERS/$h" \
			"hack/bench/$h.c" || die "cannot build hack/bench/$h.c"
	done
}

# --- stats --------------------------------------------------------------------
# p50 of numbers on stdin (nearest rank).
median() { sort -g | awk '{v[NR] = $1} END {i = int((NR + 1) / 2); print v[i]}'; }

# --- CNI --------------------------------------------------------------------------
# cni_call CMD PLUGIN CONF NETNS CONTAINERID OUTFILE: run PLUGIN in the node
# namespace as a runtime does (CNI_* environment, CONF on stdin, result to
# OUTFILE) and print its wall time in µs.  Returns the plugin's exit status;
# its stderr goes to $WORK/cni.stderr.
cni_call() {
	local cmd=$1 plugin=$2 conf=$3 ns=$4 cid=$5 out=$6 path
	path=$(dirname "$plugin")
	[ "$path" = "$CNI_BIN" ] || path=$path:$CNI_BIN
	local args="IgnoreUnknown=1;K8S_POD_NAMESPACE=pbench;K8S_POD_NAME=$ns"
	CNI_COMMAND=$cmd CNI_CONTAINERID=$cid CNI_NETNS=/var/run/netns/$ns CNI_IFNAME=eth0 \
		CNI_PATH=$path CNI_ARGS="$args;K8S_POD_INFRA_CONTAINER_ID=$cid" \
		in_node "$HELPERS/cni_time" -o "$out" "$conf" "$plugin" 2>>"$WORK/cni.stderr"
}

# cni_fail WHAT OUTFILE: report a failed plugin call and exit.
cni_fail() {
	log "$1 failed; plugin stdout:"
	cat "$2" >&2 || true
	log "plugin stderr (last lines):"
	tail -n 20 "$WORK/cni.stderr" >&2 || true
	exit 1
}

# container_id SEED: a 64-hex-digit id, like a runtime's sandbox id.
container_id() { printf '%s' "$1" | sha256sum | cut -c1-64; }

# del_conf CONF RESULT OUT: the DEL config a runtime (libcni) sends: the
# network config plus the cached ADD result as prevResult.
del_conf() { jq -c --slurpfile r "$2" '. + {prevResult: $r[0]}' "$1" >"$3"; }

# result_ip RESULT: the first IPv4 address of a CNI result, without prefix.
result_ip() { jq -r '.ips[0].address' "$1" | cut -d/ -f1; }

# --- porin ------------------------------------------------------------------------
porin_present() { [ -x "$PORIN" ] && [ -x "$PORIN_AGENT" ] && [ -x "$PORINCTL" ]; }

# porin_agent_start: a private bpffs and state dir under $WORK, the agent on
# them in the node namespace; waits until porinctl status succeeds.  Sets
# PORIN_ROOT, PORIN_SOCK and PORIN_CONF (the CNI network config file).
porin_agent_start() {
	local state=$WORK/porin-state bpffs=$WORK/bpffs i
	mkdir -p "$state" "$bpffs"
	chmod 700 "$state"
	mount -t bpf bpf "$bpffs" || die "cannot mount bpffs on $bpffs"
	defer "umount -l '$bpffs'"
	# The state dir defaults to /var/run/porin, a tmpfs on a real node; the
	# agent fsyncs every record, which costs real time on a disk.
	if [ "$PORIN_STATE_FS" = tmpfs ]; then
		mount -t tmpfs -o size=64m,mode=0700 tmpfs "$state" ||
			die "cannot mount tmpfs on $state"
		defer "umount -l '$state'"
	fi
	PORIN_ROOT=$bpffs/porin
	PORIN_SOCK=$state/porin.sock
	PORIN_CONF=$WORK/porin.conf
	printf '{"cniVersion":"1.1.0","name":"porin","type":"porin","agentSocket":"%s","bpfRoot":"%s"}\n' \
		"$PORIN_SOCK" "$PORIN_ROOT" >"$PORIN_CONF"

	# Not through in_node: $! must be the agent itself, not a subshell.
	nsenter --net="/var/run/netns/$NODE" "$PORIN_AGENT" --pod-cidr 10.250.0.0/16 \
		--bpf-root "$PORIN_ROOT" --state-dir "$state" --socket "$PORIN_SOCK" \
		>"$WORK/porin-agent.log" 2>&1 9<&- &
	PORIN_AGENT_PID=$!
	defer porin_agent_stop
	for ((i = 0; i < 100; i++)); do
		if "$PORINCTL" --socket "$PORIN_SOCK" status >/dev/null 2>&1; then
			log "porin-agent ready (pid $PORIN_AGENT_PID)"
			return 0
		fi
		kill -0 "$PORIN_AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "porin-agent did not become ready; its log:"
	tail -n 30 "$WORK/porin-agent.log" >&2 || true
	exit 1
}

porin_agent_stop() {
	local i
	[ -n "${PORIN_AGENT_PID:-}" ] || return 0
	kill -TERM "$PORIN_AGENT_PID" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$PORIN_AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PORIN_AGENT_PID" 2>/dev/null || true
	wait "$PORIN_AGENT_PID" 2>/dev/null || true
	cp "$WORK/porin-agent.log" "$OUT/porin-agent.$BENCH_NAME.log" 2>/dev/null || true
	PORIN_AGENT_PID=
}

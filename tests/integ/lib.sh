# SPDX-License-Identifier: Apache-2.0
# Shared harness for porin's namespace integration tests (bash, root).
#
# Each test file sources this, defines functions named t_<name>, and ends with
# `run_tests`.  Every test runs in a fresh world of its own:
#   - a "node" network namespace where the agent runs and the host-side veths
#     live, so nothing touches the machine's own namespace or routes;
#   - a private bpffs mount, state directory and agent socket under $T;
#   - pod namespaces made with pod_netns.
# Teardown kills what the test started and deletes every namespace, mount and
# file, whether the test passed or not.  Traffic goes only to addresses of
# pods the test made.

set -uo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
BIN=$TOP/$BUILD
POD_CIDR=${POD_CIDR:-10.244.0.0/24}
GATEWAY=${GATEWAY:-10.244.0.1}

_id=$$
T=""		# per-test scratch dir
NODE=""		# node netns name
SOCK="" BPF_ROOT="" STATE=""
AGENT_PID=""

fail() { echo "    assertion failed: $*" >&2; return 1; }

in_node() { nsenter --net="/run/netns/$NODE" "$@"; }
in_pod() { local p=$1; shift; ip netns exec "$(pod_ns "$p")" "$@"; }
pod_ns() { echo "pin${_id}-$1"; }

# Start the agent inside the node namespace and wait until it is ready.
agent_start() {
	nsenter --net="/run/netns/$NODE" "$BIN/porin-agent" --pod-cidr "$POD_CIDR" --bpf-root "$BPF_ROOT" \
		--state-dir "$STATE" --socket "$SOCK" --log-level "${AGENT_LOG_LEVEL:-info}" \
		>>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	# Tests run in a subshell: teardown finds a restarted agent through this.
	echo "$AGENT_PID" >"$T/agent.pid"
	for _ in $(seq 1 200); do
		"$BIN/porinctl" --socket "$SOCK" status >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "agent did not become ready; log:" >&2
	cat "$T/agent.log" >&2
	return 1
}

agent_stop() {
	[ -n "$AGENT_PID" ] || return 0
	kill "$AGENT_PID" 2>/dev/null
	# Not our child when the test's subshell started it: poll instead of wait.
	wait "$AGENT_PID" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.02; done
	AGENT_PID=""
}

# pod_netns NAME: make a pod namespace (its lo comes up in CNI ADD).
pod_netns() {
	ip netns add "$(pod_ns "$1")"
}

# cni VERB POD [IFNAME] < config: invoke the plugin exactly as a runtime would,
# from the node namespace.  Prints the plugin's stdout; returns its exit code.
cni() {
	local verb=$1 pod=$2 ifname=${3:-eth0} netns
	netns=/run/netns/$(pod_ns "$pod")
	in_node env -i PATH="$PATH" CNI_COMMAND="$verb" CNI_CONTAINERID="ctr-$pod" \
		CNI_NETNS="$netns" CNI_IFNAME="$ifname" CNI_PATH="$BIN:/usr/lib/cni" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$pod" \
		"$BIN/porin" 2>>"$T/cni.log"
}

# The plugin's own config for this test world.
netconf() {
	local version=${1:-1.1.0}
	printf '{"cniVersion":"%s","name":"porin","type":"porin","mtu":1500,"agentSocket":"%s","bpfRoot":"%s"}' \
		"$version" "$SOCK" "$BPF_ROOT"
}

# pod_add POD [VERSION]: ADD with the default config; prints the pod IP.
pod_add() {
	local out
	out=$(netconf "${2:-1.1.0}" | cni ADD "$1") || { echo "ADD $1 failed: $out" >&2; return 1; }
	jq -r '.ips[0].address | split("/")[0]' <<<"$out"
}

pod_del() { netconf | cni DEL "$1" >/dev/null; }

# settle: wait (up to 5 s) until the agent has finished every endpoint
# teardown: DEL and GC answer as soon as the map entries are gone, and the
# agent deletes the veth and then releases the IP in the background.  Check
# maps right after DEL; check veths and IPs after settle.
settle() {
	local d
	for _ in $(seq 1 100); do
		d=$(agent_status deleting)
		[ "$d" = 0 ] && return 0
		sleep 0.05
	done
	fail "agent did not settle within 5 s: deleting=$d"
}

# agent_status FIELD: one field of porinctl status -o json.
agent_status() { "$BIN/porinctl" --socket "$SOCK" status -o json | jq -r ".$1"; }

# api JSON: send one raw request to the agent's socket, print the answer.
api() { printf '%s\n' "$1" | in_node socat -t 2 - "UNIX-CONNECT:$SOCK"; }

# Count entries of a pinned map.
map_count() { bpftool map dump pinned "$BPF_ROOT/$1" -j 2>/dev/null | jq 'length'; }
lxc_count() { in_node ip -o link show | grep -c ': lxc' || true; }
drop_count() { # drop_count REASON: packets dropped for REASON (any direction)
	"$BIN/porinctl" --socket "$SOCK" drops -o json |
		jq --arg r "$1" '[.drops[] | select(.reason == $r) | .packets] | add // 0'
}

# wait_for CMD...: retry a probe for up to 3 s (listeners start asynchronously).
wait_for() {
	for _ in $(seq 1 60); do "$@" && return 0; sleep 0.05; done
	"$@"
}

# answer WANT CMD...: retry CMD until it prints WANT (up to 3 s); print the
# last answer, for the assertion message.
answer() {
	local want=$1 out; shift
	for _ in $(seq 1 60); do
		out=$("$@" 2>/dev/null) && [ "$out" = "$want" ] && break
		sleep 0.05
	done
	echo "$out"
}

# bg CMD...: run in the background, killed at teardown.
bg() { "$@" & echo $! >>"$T/bg.pids"; }

_setup() {
	T=$(mktemp -d /tmp/porin-integ.XXXXXX)
	NODE="pin${_id}-node"
	ip netns add "$NODE" || return 1
	in_node ip link set lo up
	mkdir -p "$T/bpf" "$T/state"
	mount -t bpf bpf "$T/bpf" || return 1
	BPF_ROOT=$T/bpf/porin STATE=$T/state SOCK=$T/state/porin.sock
	agent_start
}

_teardown() {
	local ns
	[ -n "$T" ] && [ -s "$T/bg.pids" ] && kill $(cat "$T/bg.pids") 2>/dev/null
	[ -n "$T" ] && [ -s "$T/agent.pid" ] && AGENT_PID=$(cat "$T/agent.pid")
	agent_stop
	# Whatever still runs inside our namespaces would keep them alive.
	for ns in $(ip netns list | awk '{print $1}' | grep "^pin${_id}-"); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$T" ]; then
		# A process that has not finished exiting can hold the mount busy.
		umount "$T/bpf" 2>/dev/null || { sleep 0.2; umount "$T/bpf" 2>/dev/null; } ||
			umount -l "$T/bpf" 2>/dev/null
		rm -rf "$T"
	fi
	T=""
}

# Run every t_* function (or those named in $TESTS) and print the summary
# line tests/run.sh reads: "integ: N passed, N failed, N skipped".
run_tests() {
	local passed=0 failed=0 skipped=0 t rc
	local file
	file=$(basename "${BASH_SOURCE[1]}" .sh)
	for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
		[ -n "${TESTS:-}" ] && ! grep -qw "$t" <<<"$TESTS" && continue
		if ! _setup; then
			echo "FAIL $file:$t (setup)"
			failed=$((failed + 1))
			_teardown
			continue
		fi
		( set -e; "$t" ) >"$T/test.out" 2>&1
		rc=$?
		if [ $rc -eq 0 ]; then
			echo "ok   $file:$t"
			passed=$((passed + 1))
		elif [ $rc -eq 77 ]; then
			echo "skip $file:$t: $(tail -1 "$T/test.out")"
			skipped=$((skipped + 1))
		else
			echo "FAIL $file:$t"
			sed 's/^/    | /' "$T/test.out" | tail -40
			echo "    agent log (tail):"
			tail -15 "$T/agent.log" 2>/dev/null | sed 's/^/    | /'
			echo "    cni log (tail):"
			tail -15 "$T/cni.log" 2>/dev/null | sed 's/^/    | /'
			failed=$((failed + 1))
		fi
		_teardown
	done
	echo "integ: $passed passed, $failed failed, $skipped skipped"
}

trap _teardown EXIT INT TERM

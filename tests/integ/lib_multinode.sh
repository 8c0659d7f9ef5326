# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Two porin nodes on one underlay, for multi-node integration tests and the
# cross-node benchmark.  Source after tests/integ/lib.sh (it replaces its
# per-test _setup/_teardown: tests call mn_up MODE themselves).
#
#   underlay netns  pin<id>-ul   bridge br0, 172.31.0.0/24
#   node netns      pin<id>-n1/2 eth0 172.31.0.11/.12, one agent each, pod
#                   CIDRs 10.244.1.0/24 and 10.244.2.0/24, own bpffs, state
#                   dir and socket under $T/n<i>
#   outside netns   pin<id>-out  eth0 172.31.0.100, no route to any pod CIDR
# Everything is deleted at teardown, pass or fail.

UL_NET=172.31.0
CLUSTER_CIDR=10.244.0.0/16
OUTSIDE_IP=$UL_NET.100
MN_MODE=""

mn_ns() { echo "pin${_id}-$1"; }
in_n() { local n=$1; shift; nsenter --net="/run/netns/$(mn_ns "n$n")" "$@"; }
in_out() { ip netns exec "$(mn_ns out)" "$@"; }
node_ip() { echo "$UL_NET.1$1"; }
pod_cidr() { echo "10.244.$1.0/24"; }
sock() { echo "$T/n$1/state/porin.sock"; }
ctl() { local n=$1; shift; "$BIN/porinctl" --socket "$(sock "$n")" "$@"; }
mn_status() { ctl "$1" status -o json | jq -r ".$2"; }

# mn_link NAME: a veth from netns NAME (eth0) into the underlay bridge.
mn_link() {
	local ns; ns=$(mn_ns "$1")
	ip netns add "$ns"
	ip -n "$(mn_ns ul)" link add "$1" type veth peer name eth0 netns "$ns"
	ip -n "$(mn_ns ul)" link set "$1" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
}

mn_agent_start() { # NODE
	local n=$1 d=$T/n$1
	nsenter --net="/run/netns/$(mn_ns "n$n")" "$BIN/porin-agent" \
		--pod-cidr "$(pod_cidr "$n")" --node-name "node$n" --node-ip "$(node_ip "$n")" \
		--routing "$MN_MODE" --cluster-cidr "$CLUSTER_CIDR" \
		--bpf-root "$d/bpf/porin" --state-dir "$d/state" --socket "$(sock "$n")" \
		--log-level "${AGENT_LOG_LEVEL:-info}" >>"$T/agent.log" 2>&1 &
	echo $! >"$d/agent.pid"
	for _ in $(seq 1 200); do
		ctl "$n" status >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$d/agent.pid")" 2>/dev/null || break
		sleep 0.05
	done
	echo "agent of node$n did not become ready; log:" >&2
	cat "$T/agent.log" >&2
	return 1
}

mn_agent_stop() { # NODE
	local pid
	pid=$(cat "$T/n$1/agent.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
	rm -f "$T/n$1/agent.pid"
}

# mn_up MODE: the whole world, agents started, each node told about the other.
mn_up() {
	local n
	MN_MODE=$1
	ip netns add "$(mn_ns ul)"
	ip -n "$(mn_ns ul)" link add br0 type bridge
	ip -n "$(mn_ns ul)" link set br0 up
	for n in 1 2; do
		mn_link "n$n"
		ip -n "$(mn_ns "n$n")" addr add "$(node_ip "$n")/24" dev eth0
		mkdir -p "$T/n$n/bpf" "$T/n$n/state"
		mount -t bpf bpf "$T/n$n/bpf"
	done
	mn_link out
	ip -n "$(mn_ns out)" addr add "$OUTSIDE_IP/24" dev eth0
	for n in 1 2; do mn_agent_start "$n" || return 1; done
	ctl 1 node upsert node2 "$(node_ip 2)" "$(pod_cidr 2)" >/dev/null
	ctl 2 node upsert node1 "$(node_ip 1)" "$(pod_cidr 1)" >/dev/null
}

# mn_pod_add NODE POD: CNI ADD on NODE with the MTU its agent advertises;
# prints the pod IP.
mn_pod_add() {
	local n=$1 pod=$2 mtu out
	ip netns add "$(pod_ns "$pod")"
	mtu=$(mn_status "$n" mtu)
	out=$(printf '{"cniVersion":"1.1.0","name":"porin","type":"porin","mtu":%s,"agentSocket":"%s","bpfRoot":"%s"}' \
		"$mtu" "$(sock "$n")" "$T/n$n/bpf/porin" | mn_cni "$n" ADD "$pod") ||
		{ echo "ADD $pod on node$n failed: $out" >&2; return 1; }
	jq -r '.ips[0].address | split("/")[0]' <<<"$out"
}

mn_pod_del() { # NODE POD
	printf '{"cniVersion":"1.1.0","name":"porin","type":"porin","agentSocket":"%s","bpfRoot":"%s"}' \
		"$(sock "$1")" "$T/n$1/bpf/porin" | mn_cni "$1" DEL "$2" >/dev/null
}

mn_cni() { # NODE VERB POD < config
	local n=$1 verb=$2 pod=$3
	in_n "$n" env -i PATH="$PATH" CNI_COMMAND="$verb" CNI_CONTAINERID="ctr-$pod" \
		CNI_NETNS="/run/netns/$(pod_ns "$pod")" CNI_IFNAME=eth0 CNI_PATH="$BIN" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$pod" \
		"$BIN/porin" 2>>"$T/cni.log"
}

# ipcache_has NODE PREFIX: the ipcache entry, as JSON, or nothing.
ipcache_get() {
	ctl "$1" ipcache list -o json | jq -c --arg p "$2" '.ipcache[] | select(.prefix == $p)'
}

mn_drops() { # NODE REASON
	ctl "$1" drops -o json |
		jq --arg r "$2" '[.drops[] | select(.reason == $r) | .packets] | add // 0'
}

_setup() {
	T=$(mktemp -d /tmp/porin-integ.XXXXXX)
}

_teardown() {
	local ns n
	[ -n "$T" ] || return 0
	[ -s "$T/bg.pids" ] && kill $(cat "$T/bg.pids") 2>/dev/null
	for n in 1 2; do mn_agent_stop "$n"; done
	for ns in $(ip netns list | awk '{print $1}' | grep "^pin${_id}-"); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	for n in 1 2; do
		mountpoint -q "$T/n$n/bpf" 2>/dev/null || continue
		umount "$T/n$n/bpf" 2>/dev/null || { sleep 0.2; umount -l "$T/n$n/bpf"; }
	done
	rm -rf "$T"
	T=""
}

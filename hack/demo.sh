#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make demo: a porin node on this machine, in network namespaces.
#
# A "node" namespace runs porin-agent; three pod namespaces get their network
# from the porin CNI plugin, called exactly as a container runtime calls it.
# The demo shows pod-to-pod ICMP/TCP/UDP through the eBPF datapath, what the
# agent holds, a spoofed packet dropped with its reason, and then removes
# everything it made.  (The Kubernetes cluster demo with NetworkPolicy
# replaces this once the agent speaks to the API server.)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/${BUILD:-build}
[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (network namespaces, BPF)" >&2; exit 1; }

id=demo$$
node=$id-node
work=$(mktemp -d /tmp/porin-demo.XXXXXX)
sock=$work/state/porin.sock
bpf_root=$work/bpf/porin
agent=""
pods=(web client other)

cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	for p in "${pods[@]}"; do ip netns del "$id-$p" 2>/dev/null || true; done
	ip netns del "$node" 2>/dev/null || true
	umount "$work/bpf" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
in_node() { nsenter --net="/run/netns/$node" "$@"; }

say "a node: namespace $node running porin-agent (standalone mode, pod CIDR 10.244.0.0/24)"
ip netns add "$node"
in_node ip link set lo up
mkdir -p "$work/bpf" "$work/state"
mount -t bpf bpf "$work/bpf"
nsenter --net="/run/netns/$node" "$BIN/porin-agent" --pod-cidr 10.244.0.0/24 --bpf-root "$bpf_root" \
	--state-dir "$work/state" --socket "$sock" >"$work/agent.log" 2>&1 &
agent=$!
for _ in $(seq 1 100); do "$BIN/porinctl" --socket "$sock" status >/dev/null 2>&1 && break; sleep 0.05; done
run "$BIN/porinctl" --socket "$sock" status

say "three pods, wired by the CNI plugin (CNI_COMMAND=ADD, config on stdin)"
conf=$(printf '{"cniVersion":"1.1.0","name":"porin","type":"porin","agentSocket":"%s","bpfRoot":"%s"}' "$sock" "$bpf_root")
declare -A ip
for p in "${pods[@]}"; do
	ip netns add "$id-$p"
	out=$(in_node env CNI_COMMAND=ADD CNI_CONTAINERID="$id-$p" CNI_NETNS="/run/netns/$id-$p" \
		CNI_IFNAME=eth0 CNI_PATH="$BIN" CNI_ARGS="K8S_POD_NAMESPACE=demo;K8S_POD_NAME=$p" \
		"$BIN/porin" <<<"$conf")
	ip[$p]=$(jq -r '.ips[0].address | split("/")[0]' <<<"$out")
	echo "pod $p: ${ip[$p]}"
done
echo; echo "CNI result for the last pod:"; jq . <<<"$out"
run "$BIN/porinctl" --socket "$sock" endpoint list

say "pod-to-pod traffic through bpf_redirect_peer"
run ip netns exec "$id-client" ping -c 3 -i 0.2 "${ip[web]}"
ip netns exec "$id-web" socat TCP-LISTEN:80,reuseaddr,fork SYSTEM:'echo hello from web' &
ip netns exec "$id-web" socat UDP-RECVFROM:53,fork SYSTEM:'echo udp answer from web' &
sleep 0.3
printf '$ client: TCP to web:80 -> '; ip netns exec "$id-client" socat -T 2 - "TCP:${ip[web]}:80" </dev/null
printf '$ client: UDP to web:53 -> '; echo q | ip netns exec "$id-client" socat -T 2 - "UDP:${ip[web]}:53"

say "anti-spoofing: 'other' sends with an address that is not its own"
ip netns exec "$id-other" ping -c 1 -W 1 10.244.0.1 >/dev/null	# resolves the gateway
ip netns exec "$id-other" ip addr add 10.244.0.250/32 dev eth0
run ip netns exec "$id-other" ping -c 2 -i 0.2 -W 1 -I 10.244.0.250 "${ip[web]}" || true
run "$BIN/porinctl" --socket "$sock" drops

say "pod deletion (CNI DEL) releases the IP, the veth and the map entries"
in_node env CNI_COMMAND=DEL CNI_CONTAINERID="$id-other" CNI_NETNS="/run/netns/$id-other" \
	CNI_IFNAME=eth0 CNI_PATH="$BIN" "$BIN/porin" <<<"$conf"
run "$BIN/porinctl" --socket "$sock" endpoint list
kill %2 %3 2>/dev/null || true
say "done; cleaning up"

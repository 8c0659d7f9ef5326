#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# hack/cluster end to end: a real API server, two nodes each with its own
# agent, pods created through the tool the way a kubelet would: traffic same
# node and cross node in both routing modes, and deletes that leave nothing.
. "$(dirname "$0")/lib.sh"

cluster() { PORIN_CLUSTER_DIR=$T/cluster PORIN_CLUSTER_PREFIX=pct$$ PORIN_CLUSTER_UNDERLAY=172.31.9 \
	BUILD=$BUILD "$TOP/hack/cluster" "$@"; }
node_ctl() { "$BIN/porinctl" --socket "$T/cluster/nodes/$1/state/porin.sock" "${@:2}"; }

two_node_traffic() {
	trap 'cluster down >/dev/null' EXIT
	cluster up --nodes 2 --routing "$1" >/dev/null
	a=$(cluster pod add x/a --node node1 --port http:80/TCP --port dns:53/UDP | awk '{print $2}')
	b=$(cluster pod add x/b --node node1 --port http:80/TCP | awk '{print $2}')
	c=$(cluster pod add y/c --node node2 --port http:80/TCP --port dns:53/UDP | awk '{print $2}')

	# The API server holds what the tool wrote, as a kubelet would.
	[ "$(cluster kubectl -n x get pod a -o jsonpath='{.status.podIP}')" = "$a" ] || fail "podIP of x/a"
	[ "$(cluster kubectl get node node2 -o jsonpath='{.spec.podCIDR}')" = 10.244.1.0/24 ] ||
		[ "$(cluster kubectl get node node2 -o jsonpath='{.spec.podCIDR}')" = 10.244.0.0/24 ] ||
		fail "node2 has no pod CIDR"

	# The agent's pod MTU reaches the pod without any "mtu" in the config:
	# VXLAN's 50 bytes of headers come off the underlay's 1500.
	want_mtu=1500; [ "$1" = vxlan ] && want_mtu=1450
	cluster exec x/a -- ip -o link show eth0 | grep -q "mtu $want_mtu " ||
		fail "pod MTU is not $want_mtu: $(cluster exec x/a -- ip -o link show eth0)"
	cluster exec x/a -- ping -c 1 -W 2 -M do -s $((want_mtu - 28)) "$c" >/dev/null ||
		fail "a full-MTU DF ping across nodes did not pass"

	# This node's own addresses (node IP, pods' gateway) are the HOST
	# identity (1) that NetworkPolicy always lets in: nothing else is.
	hosts=$(node_ctl node1 ipcache list -o json |
		jq -r '[.ipcache[] | select(.flags | index("host")) | "\(.prefix)=\(.identity)"] | sort | join(" ")')
	gw=$(cluster exec x/a -- ip -4 route show default | awk '{print $3}')
	[ "$hosts" = "$(printf '%s\n' "$gw/32=1" "172.31.9.11/32=1" | sort | paste -sd' ')" ] ||
		fail "host entries of node1: '$hosts' (gateway $gw)"

	cluster exec x/a -- ping -c 1 -W 2 "$b" >/dev/null || fail "ICMP same node"
	cluster exec x/a -- ping -c 1 -W 2 "$c" >/dev/null || fail "ICMP cross node"
	[ "$(answer y/c cluster exec x/a -- socat -T 2 - "TCP:$c:80" </dev/null)" = y/c ] || fail "TCP cross node"
	[ "$(answer x/b cluster exec y/c -- socat -T 2 - "TCP:$b:80" </dev/null)" = x/b ] || fail "TCP back"
	[ "$(answer x/a sh -c "echo q | ip netns exec pct$$-p-y-c socat -T 1 - UDP:$a:53")" = x/a ] ||
		fail "UDP cross node"

	# 8 MiB across nodes arrives whole: the pod MTU leaves room for the tunnel.
	head -c 8388608 /dev/urandom >"$T/sent"
	cluster exec y/c -- sh -c "socat -u TCP-LISTEN:9000,reuseaddr OPEN:$T/received,creat,trunc" &
	sleep 0.3
	cluster exec x/a -- socat -u "OPEN:$T/sent" "TCP:$c:9000" || fail "large transfer"
	wait
	cmp -s "$T/sent" "$T/received" || fail "8 MiB cross-node transfer corrupted or short"

	# Deleting a pod frees its IP on its node and its ipcache entry everywhere.
	cluster pod del y/c
	for _ in $(seq 1 50); do
		node_ctl node1 ipcache list -o json | jq -e --arg ip "$c/32" \
			'[.ipcache[] | select(.prefix == $ip)] | length == 0' >/dev/null && break
		sleep 0.1
	done
	node_ctl node1 ipcache list -o json | jq -e --arg ip "$c/32" \
		'[.ipcache[] | select(.prefix == $ip)] | length == 0' >/dev/null ||
		fail "node1 still has $c in its ipcache"
	[ "$(node_ctl node2 status -o json | jq '.endpoints')" = 0 ] || fail "node2 keeps the endpoint"
	cluster exec x/a -- ping -c 1 -W 1 "$c" >/dev/null && fail "deleted pod still answers"

	cluster down >/dev/null
	[ -z "$(ip netns list | grep "^pct$$-")" ] || fail "namespaces left after down"
	ip link show "pct$$-root" >/dev/null 2>&1 && fail "root link left after down"
	[ ! -e "$T/cluster" ] || fail "cluster dir left after down"
	true
}

t_two_nodes_vxlan() { two_node_traffic vxlan; }
t_two_nodes_native() { two_node_traffic native; }

run_tests

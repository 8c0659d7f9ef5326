#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Two nodes, in both routing modes: pods reach each other on the same node
# and across nodes (TCP, UDP, ICMP, 8 MiB), the pod MTU fits the underlay
# (DF at the MTU passes, MTU+1 fails loudly), pods reach the outside only
# through masquerade, deletes clean the ipcache, and a cross-node stream
# survives an agent restart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_multinode.sh"

check_traffic() { # MODE
	local want_mtu a1 b1 a2 out mtu
	mn_up "$1"
	a1=$(mn_pod_add 1 a1); b1=$(mn_pod_add 1 b1); a2=$(mn_pod_add 2 a2)
	[ "$(mn_status 1 routing)" = "$1" ] || fail "routing: $(mn_status 1 routing)"
	want_mtu=$([ "$1" = vxlan ] && echo 1450 || echo 1500)
	mtu=$(mn_status 1 mtu)
	[ "$mtu" = "$want_mtu" ] || fail "advertised pod MTU $mtu, want $want_mtu"
	in_pod a1 ip -o link show eth0 | grep -q "mtu $mtu " || fail "pod MTU is not $mtu"
	if [ "$1" = vxlan ]; then
		in_n 1 ip -d link show porin_vxlan | grep -q 'external' || fail "porin_vxlan is not external"
		in_n 1 ip -o link show porin_vxlan | grep -q 'mtu 1450' || fail "porin_vxlan MTU"
		[ -n "$(ipcache_get 1 "$(pod_cidr 2)" | jq -r 'select(.tunnel_endpoint == "172.31.0.12")')" ] ||
			fail "no ipcache entry for node2's CIDR: $(ctl 1 ipcache list)"
	else
		in_n 1 ip route show "$(pod_cidr 2)" | grep -q "via $(node_ip 2)" || fail "no native route"
		in_n 1 ip link show porin_vxlan >/dev/null 2>&1 && fail "porin_vxlan exists in native mode"
	fi
	ctl 1 node list -o json | jq -e '.nodes | length == 1 and .[0].name == "node2"' >/dev/null ||
		fail "node list: $(ctl 1 node list)"

	# ICMP: same node, cross node both ways.
	in_pod a1 ping -c 2 -i 0.2 -W 2 "$b1" >/dev/null || fail "ICMP a1 -> b1 (same node)"
	in_pod a1 ping -c 2 -i 0.2 -W 2 "$a2" >/dev/null || fail "ICMP a1 -> a2 (cross node)"
	in_pod a2 ping -c 2 -i 0.2 -W 2 "$b1" >/dev/null || fail "ICMP a2 -> b1 (cross node)"

	# TCP and UDP cross node.
	bg in_pod a2 socat TCP-LISTEN:8080,reuseaddr,fork SYSTEM:'echo tcp-from-a2'
	out=$(answer tcp-from-a2 in_pod a1 socat -T 2 - "TCP:$a2:8080" </dev/null)
	[ "$out" = tcp-from-a2 ] || fail "TCP a1 -> a2 answered '$out'"
	bg in_pod a2 socat UDP-RECVFROM:9090,fork SYSTEM:'echo udp-from-a2'
	out=$(answer udp-from-a2 sh -c "echo hi | ip netns exec $(pod_ns a1) socat -T 1 - UDP:$a2:9090")
	[ "$out" = udp-from-a2 ] || fail "UDP a1 -> a2 answered '$out'"
	# TCP same node.
	bg in_pod b1 socat TCP-LISTEN:8080,reuseaddr,fork SYSTEM:'echo tcp-from-b1'
	out=$(answer tcp-from-b1 in_pod a1 socat -T 2 - "TCP:$b1:8080" </dev/null)
	[ "$out" = tcp-from-b1 ] || fail "TCP a1 -> b1 answered '$out'"

	# 8 MiB cross node, both directions of data (no MTU black hole).
	head -c 8388608 /dev/urandom >"$T/sent"
	bg in_pod a2 sh -c "socat -u TCP-LISTEN:8081,reuseaddr OPEN:$T/received,creat,trunc"
	sleep 0.2
	in_pod a1 timeout 20 socat -u "OPEN:$T/sent" "TCP:$a2:8081" || fail "8 MiB a1 -> a2 failed"
	for _ in $(seq 1 60); do cmp -s "$T/sent" "$T/received" && break; sleep 0.05; done
	cmp "$T/sent" "$T/received" || fail "8 MiB a1 -> a2 corrupted or short"
	bg in_pod a1 sh -c "socat -u TCP-LISTEN:8082,reuseaddr OPEN:$T/received2,creat,trunc"
	sleep 0.2
	in_pod a2 timeout 20 socat -u "OPEN:$T/sent" "TCP:$a1:8082" || fail "8 MiB a2 -> a1 failed"
	for _ in $(seq 1 60); do cmp -s "$T/sent" "$T/received2" && break; sleep 0.05; done
	cmp "$T/sent" "$T/received2" || fail "8 MiB a2 -> a1 corrupted or short"

	# DF at the pod MTU crosses; one byte more fails at once with "message
	# too long" (EMSGSIZE from the pod's own stack), not a silent loss.
	in_pod a1 ping -c 2 -i 0.2 -W 2 -M do -s $((mtu - 28)) "$a2" >/dev/null ||
		fail "DF ping of $mtu bytes a1 -> a2"
	if out=$(in_pod a1 ping -c 1 -W 2 -M do -s $((mtu - 27)) "$a2" 2>&1); then
		fail "DF ping of $((mtu + 1)) bytes passed"
	fi
	grep -qi 'message too long\|frag needed' <<<"$out" || fail "MTU+1 did not fail with frag-needed: $out"

	# Node to remote pod (host stack, through to_overlay or the native route).
	in_n 1 ping -c 1 -W 2 "$a2" >/dev/null || fail "node1 -> a2"
	[ "$(mn_drops 1 tunnel-key-failed)" = 0 ] || fail "tunnel key failures"
	[ "$(mn_drops 2 no-tunnel-endpoint)" = 0 ] || fail "no-tunnel-endpoint drops"
}

check_masquerade() { # MODE
	local a1 out
	mn_up "$1"
	a1=$(mn_pod_add 1 a1)
	bg in_out socat TCP-LISTEN:8080,reuseaddr,fork SYSTEM:'echo \$SOCAT_PEERADDR'
	out=$(answer "$(node_ip 1)" in_pod a1 socat -T 2 - "TCP:$OUTSIDE_IP:8080" </dev/null)
	[ "$out" = "$(node_ip 1)" ] || fail "outside saw '$out', want node1's IP"
	in_n 1 nft list table ip porin | grep -q masquerade || fail "no masquerade rule"
	# Pod to pod is not masqueraded: the server sees the pod's own address.
	a2=$(mn_pod_add 2 a2)
	bg in_pod a2 socat TCP-LISTEN:8081,reuseaddr,fork SYSTEM:'echo \$SOCAT_PEERADDR'
	out=$(answer "$a1" in_pod a1 socat -T 2 - "TCP:$a2:8081" </dev/null)
	[ "$out" = "$a1" ] || fail "a2 saw '$out' for a1 ($a1): pod-to-pod was NATed"
	# Without porin's table the outside has no way back: masquerade did it.
	in_n 1 nft delete table ip porin
	in_n 1 conntrack -F >/dev/null 2>&1 || true
	if in_pod a1 socat -T 1 - "TCP:$OUTSIDE_IP:8080,connect-timeout=1" </dev/null >/dev/null 2>&1; then
		fail "pod reached the outside without masquerade"
	fi
	# A restart puts the table back (and nothing else in nft changed).
	mn_agent_stop 1; mn_agent_start 1
	out=$(answer "$(node_ip 1)" in_pod a1 socat -T 2 - "TCP:$OUTSIDE_IP:8080" </dev/null)
	[ "$out" = "$(node_ip 1)" ] || fail "after restart the outside saw '$out'"
}

check_deletes() { # MODE
	local a1 a2
	mn_up "$1"
	a1=$(mn_pod_add 1 a1); a2=$(mn_pod_add 2 a2)
	# What a watcher would tell node2 about a1.
	ctl 2 -o json status >/dev/null
	printf '{"op":"remote_pod_upsert","ip":"%s","node_ip":"%s"}\n' "$a1" "$(node_ip 1)" |
		in_n 2 socat -t 2 - "UNIX-CONNECT:$(sock 2)" | jq -e .ok >/dev/null || fail "remote_pod_upsert"
	[ -n "$(ipcache_get 2 "$a1/32" | jq -r 'select(.flags == ["remote-pod"])')" ] ||
		fail "remote pod /32 missing on node2"
	in_pod a2 ping -c 1 -W 2 "$a1" >/dev/null || fail "a2 -> a1 via the /32"
	# Remote pod entries may never shadow a local pod.
	printf '{"op":"remote_pod_upsert","ip":"%s","node_ip":"%s"}\n' "$a2" "$(node_ip 1)" |
		in_n 2 socat -t 2 - "UNIX-CONNECT:$(sock 2)" | jq -e '.ok == false' >/dev/null ||
		fail "remote_pod_upsert over a local pod was accepted"

	mn_pod_del 1 a1 || fail "DEL a1"
	[ -z "$(ipcache_get 1 "$a1/32")" ] || fail "ipcache entry of a1 left on node1"
	for _ in $(seq 1 100); do [ "$(mn_status 1 deleting)" = 0 ] && break; sleep 0.05; done
	[ "$(ls "$T/n1/state/ipam" | wc -l)" = 0 ] || fail "IP of a1 not released"
	printf '{"op":"remote_pod_delete","ip":"%s"}\n' "$a1" |
		in_n 2 socat -t 2 - "UNIX-CONNECT:$(sock 2)" | jq -e .ok >/dev/null || fail "remote_pod_delete"
	[ -z "$(ipcache_get 2 "$a1/32")" ] || fail "remote /32 of a1 left on node2"

	# node_delete: the CIDR entry, the route and node1's remote pods go;
	# local entries stay.  Twice is fine.
	printf '{"op":"remote_pod_upsert","ip":"10.244.1.77","node_ip":"%s"}\n' "$(node_ip 1)" |
		in_n 2 socat -t 2 - "UNIX-CONNECT:$(sock 2)" >/dev/null
	ctl 2 node delete node1 >/dev/null || fail "node delete"
	ctl 2 node delete node1 >/dev/null || fail "second node delete"
	[ -z "$(ipcache_get 2 "$(pod_cidr 1)")" ] || fail "node1's CIDR left in node2's ipcache"
	[ -z "$(ipcache_get 2 10.244.1.77/32)" ] || fail "node1's remote pod left"
	[ -z "$(in_n 2 ip route show "$(pod_cidr 1)")" ] || fail "route to node1's CIDR left"
	[ -n "$(ipcache_get 2 "$a2/32")" ] || fail "node_delete removed a local entry"
	[ "$(ctl 2 node list -o json | jq '.nodes | length')" = 0 ] || fail "node list not empty"
	[ ! -e "$T/n2/state/nodes/node1.json" ] || fail "node record left on disk"

	# A changed node: its new CIDR replaces the old one.
	ctl 2 node upsert node1 "$(node_ip 1)" 10.244.9.0/24 >/dev/null || fail "upsert"
	ctl 2 node upsert node1 "$(node_ip 1)" 10.244.1.0/24 >/dev/null || fail "re-upsert"
	[ -z "$(ipcache_get 2 10.244.9.0/24)" ] || fail "old CIDR left after a change"
	[ -z "$(in_n 2 ip route show 10.244.9.0/24)" ] || fail "old route left after a change"
	[ -n "$(ipcache_get 2 "$(pod_cidr 1)")" ] || fail "new CIDR missing"
	# Overlapping our own pod CIDR is refused.
	ctl 2 node upsert node3 172.31.0.13 10.244.2.0/25 >/dev/null 2>&1 && fail "overlap accepted"
	true
}

check_restart() { # MODE
	local a1 a2
	mn_up "$1"
	a1=$(mn_pod_add 1 a1); a2=$(mn_pod_add 2 a2)
	bg in_pod a2 python3 "$TOP/tests/integ/stream.py" serve 7000 "$T/lines"
	sleep 0.3
	in_pod a1 python3 "$TOP/tests/integ/stream.py" send "$a2" 7000 150 20 &
	sender=$!
	sleep 0.7
	mn_agent_stop 1
	mn_agent_stop 2
	sleep 0.3
	mn_agent_start 1
	mn_agent_start 2
	wait "$sender" || fail "the cross-node connection broke"
	for _ in $(seq 1 40); do [ -s "$T/lines" ] && break; sleep 0.05; done
	[ "$(cat "$T/lines")" = 150 ] || fail "receiver got $(cat "$T/lines" 2>/dev/null) of 150 lines"
	# The restarted agents still know each other (from their state dirs).
	ctl 1 node list -o json | jq -e '.nodes | length == 1' >/dev/null || fail "node1 forgot node2"
	b2=$(mn_pod_add 2 b2)
	in_pod a1 ping -c 1 -W 2 "$b2" >/dev/null || fail "a1 -> new pod b2 after restart"
}

t_vxlan_traffic() { check_traffic vxlan; }
t_native_traffic() { check_traffic native; }
t_vxlan_masquerade() { check_masquerade vxlan; }
t_native_masquerade() { check_masquerade native; }
t_vxlan_deletes() { check_deletes vxlan; }
t_native_deletes() { check_deletes native; }
t_vxlan_restart_keeps_stream() { check_restart vxlan; }
t_native_restart_keeps_stream() { check_restart native; }

run_tests

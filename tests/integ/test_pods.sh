#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Pods wired by the porin CNI talk to each other through the eBPF datapath;
# DEL, CHECK and GC leave nothing behind.
. "$(dirname "$0")/lib.sh"

t_tcp_udp_icmp_between_pods() {
	pod_netns a; pod_netns b
	ipa=$(pod_add a); ipb=$(pod_add b)
	[ "$ipa" != "$ipb" ] || fail "same IP twice: $ipa"

	in_pod a ping -c 2 -i 0.2 -W 2 "$ipb" >/dev/null || fail "ICMP a -> b"
	in_pod b ping -c 2 -i 0.2 -W 2 "$ipa" >/dev/null || fail "ICMP b -> a"
	in_pod a ping -c 1 -W 2 "$GATEWAY" >/dev/null || fail "ICMP a -> gateway"

	bg in_pod b socat TCP-LISTEN:8080,reuseaddr,fork SYSTEM:'echo tcp-from-b'
	out=$(answer tcp-from-b in_pod a socat -T 2 - "TCP:$ipb:8080" </dev/null)
	[ "$out" = tcp-from-b ] || fail "TCP a -> b answered '$out'"

	bg in_pod b socat UDP-RECVFROM:9090,fork SYSTEM:'echo udp-from-b'
	out=$(answer udp-from-b sh -c "echo ping | ip netns exec $(pod_ns a) socat -T 1 - UDP:$ipb:9090")
	[ "$out" = udp-from-b ] || fail "UDP a -> b answered '$out'"

	# A large transfer: 8 MiB arrives whole (no MTU black hole, no loss).
	bg in_pod b sh -c "socat -u TCP-LISTEN:8081,reuseaddr OPEN:$T/received,creat,trunc"
	sleep 0.2
	head -c 8388608 /dev/urandom >"$T/sent"
	wait_for in_pod a socat -u "OPEN:$T/sent" "TCP:$ipb:8081"
	for _ in $(seq 1 40); do cmp -s "$T/sent" "$T/received" && break; sleep 0.05; done
	cmp "$T/sent" "$T/received" || fail "8 MiB transfer corrupted or short"

	[ "$(drop_count spoofed-source)" = 0 ] || fail "unexpected spoof drops"
}

# With forwarding off in the node, only the datapath's bpf_redirect_peer can
# carry pod-to-pod packets: this proves the redirect path, not the kernel's
# routing, delivers them.
t_same_node_delivery_is_bpf_redirect() {
	pod_netns a; pod_netns b
	ipa=$(pod_add a); ipb=$(pod_add b)
	in_node sysctl -qw net.ipv4.ip_forward=0
	in_pod a ping -c 2 -i 0.2 -W 2 "$ipb" >/dev/null || fail "ICMP a -> b without host forwarding"
	# ...and the host path still works for traffic to the node itself.
	in_pod a ping -c 1 -W 2 "$GATEWAY" >/dev/null || fail "ICMP a -> gateway"
}

t_spoofed_source_is_dropped_and_counted() {
	pod_netns a; pod_netns b
	ipa=$(pod_add a); ipb=$(pod_add b)
	in_pod a ping -c 1 -W 2 -I "$ipa" "$ipb" >/dev/null || fail "own source refused"
	in_pod a ip addr add 10.244.0.250/32 dev eth0
	before=$(drop_count spoofed-source)
	if in_pod a ping -c 2 -i 0.2 -W 1 -I 10.244.0.250 "$ipb" >/dev/null; then
		fail "spoofed ping got an answer"
	fi
	after=$(drop_count spoofed-source)
	[ "$after" -ge $((before + 2)) ] || fail "spoofed-source drops $before -> $after"
}

t_mtu_and_routes_from_config() {
	pod_netns a
	out=$(printf '{"cniVersion":"1.1.0","name":"porin","type":"porin","mtu":1400,"agentSocket":"%s","bpfRoot":"%s"}' \
		"$SOCK" "$BPF_ROOT" | cni ADD a)
	in_pod a ip -o link show eth0 | grep -q 'mtu 1400' || fail "pod MTU is not 1400"
	in_pod a ip route show default | grep -q "via $GATEWAY dev eth0" || fail "no default route via gateway"
	[ "$(jq -r '.interfaces[1].sandbox' <<<"$out")" = "/run/netns/$(pod_ns a)" ] || fail "sandbox: $out"
	[ "$(jq -r '.ips[0].interface' <<<"$out")" = 1 ] || fail "ips[0].interface: $out"
	[ "$(jq -r '.ips[0].gateway' <<<"$out")" = "$GATEWAY" ] || fail "gateway: $out"
	[ "$(jq -r '.routes[0].dst' <<<"$out")" = 0.0.0.0/0 ] || fail "routes: $out"
	host=$(jq -r '.interfaces[0].name' <<<"$out")
	in_node ip -o link show "$host" | grep -q 'mtu 1400' || fail "host veth MTU"
}

t_result_per_cni_version() {
	for v in 0.4.0 1.0.0 1.1.0; do
		pod_netns "v${v//./}"
		out=$(netconf "$v" | cni ADD "v${v//./}") || fail "ADD $v: $out"
		[ "$(jq -r .cniVersion <<<"$out")" = "$v" ] || fail "cniVersion in $v result: $out"
		if [ "$v" = 0.4.0 ]; then
			[ "$(jq -r '.ips[0].version' <<<"$out")" = 4 ] || fail "0.4.0 needs ips[].version"
		else
			[ "$(jq -r '.ips[0].version' <<<"$out")" = null ] || fail "$v must not carry ips[].version"
		fi
	done
}

t_del_releases_everything_and_is_idempotent() {
	pod_netns a; pod_netns b
	pod_add a >/dev/null; pod_add b >/dev/null
	[ "$(map_count pn_endpoints)" = 4 ] || fail "endpoint map: want 4 keys"
	[ "$(map_count pn_ipcache)" = 2 ] || fail "ipcache: want 2"
	# A connection a -> b leaves a conntrack entry that names both.
	ipb=$(in_pod b ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
	in_pod a ping -c 1 -W 2 "$ipb" >/dev/null || fail "ICMP a -> b"
	[ "$(map_count pn_ct)" -ge 1 ] || fail "no conntrack entry for a -> b"

	pod_del a || fail "DEL a"
	# The map entries go before DEL answers; the veth and then the IP follow.
	[ "$(map_count pn_endpoints)" = 2 ] || fail "endpoint map entries of a left behind"
	[ "$(map_count pn_ipcache)" = 1 ] || fail "ipcache entry of a left behind"
	pod_del a || fail "second DEL of a (teardown maybe pending) must succeed"
	settle
	[ "$(lxc_count)" = 1 ] || fail "veth of a left behind"
	[ "$(ls "$STATE/ipam" | wc -l)" = 1 ] || fail "IP of a not released"
	pod_del a || fail "third DEL of a (all gone) must succeed"

	# DEL after the runtime already removed the netns.
	ip netns del "$(pod_ns b)"
	pod_del b || fail "DEL b with its netns gone"
	[ "$(map_count pn_endpoints)" = 0 ] || fail "endpoint map not empty"
	[ "$(map_count pn_ipcache)" = 0 ] || fail "ipcache not empty"
	settle
	[ "$(lxc_count)" = 0 ] || fail "veth of b left behind"
	[ "$(ls "$STATE/ipam" | wc -l)" = 0 ] || fail "IPs not released"
	# Released IPs take no conntrack entries along to their next pod.
	[ "$(map_count pn_ct)" = 0 ] || fail "conntrack entries of deleted pods left behind"
	[ "$("$BIN/porinctl" --socket "$SOCK" endpoint list -o json | jq '.endpoints | length')" = 0 ] ||
		fail "agent still lists endpoints"
}

t_fifty_concurrent_adds_and_dels() {
	local n=50 i
	for i in $(seq 1 $n); do pod_netns "c$i"; done
	for i in $(seq 1 $n); do (netconf | cni ADD "c$i" >"$T/add.$i") & done
	wait
	for i in $(seq 1 $n); do jq -e '.ips[0].address' "$T/add.$i" >/dev/null || fail "ADD c$i: $(cat "$T/add.$i")"; done
	[ "$(cat "$T"/add.* | jq -r '.ips[0].address' | sort -u | wc -l)" = $n ] || fail "IPs not distinct"
	[ "$(lxc_count)" = $n ] || fail "want $n veths, have $(lxc_count)"
	[ "$(map_count pn_endpoints)" = $((2 * n)) ] || fail "endpoint map"

	for i in $(seq 1 $n); do (netconf | cni DEL "c$i" >"$T/del.$i"; echo $? >"$T/delrc.$i") & done
	wait
	[ "$(cat "$T"/delrc.* | sort -u)" = 0 ] || fail "a DEL failed"
	[ "$(map_count pn_endpoints)" = 0 ] || fail "endpoint entries left"
	[ "$(map_count pn_ipcache)" = 0 ] || fail "ipcache entries left"
	settle
	[ "$(lxc_count)" = 0 ] || fail "veths left: $(lxc_count)"
	[ "$(ls "$STATE/ipam" | wc -l)" = 0 ] || fail "IPs left allocated"
}

t_check_reports_a_deleted_veth() {
	pod_netns a
	res=$(netconf | cni ADD a)
	conf=$(netconf | jq -c --argjson r "$res" '. + {prevResult: $r}')
	cni CHECK a <<<"$conf" >/dev/null || fail "CHECK of a healthy pod failed"
	in_node ip link del "$(jq -r '.interfaces[0].name' <<<"$res")"
	if out=$(cni CHECK a <<<"$conf"); then fail "CHECK passed with the veth gone"; fi
	jq -e '.code > 0 and (.msg | length > 0)' <<<"$out" >/dev/null || fail "CHECK error JSON: $out"
}

t_gc_releases_stale_attachments() {
	pod_netns a; pod_netns b; pod_netns c
	pod_add a >/dev/null; pod_add b >/dev/null; pod_add c >/dev/null
	conf=$(netconf | jq -c '. + {"cni.dev/valid-attachments": [{"containerID": "ctr-b", "ifname": "eth0"}]}')
	in_node env -i PATH="$PATH" CNI_COMMAND=GC CNI_PATH="$BIN" "$BIN/porin" <<<"$conf" ||
		fail "GC failed"
	[ "$(map_count pn_endpoints)" = 2 ] || fail "stale endpoint entries left"
	settle
	[ "$(lxc_count)" = 1 ] || fail "stale veths left: $(lxc_count)"
	[ "$(ls "$STATE/ipam" | wc -l)" = 1 ] || fail "stale IPs left"
	"$BIN/porinctl" --socket "$SOCK" endpoint list -o json |
		jq -e '.endpoints | length == 1 and .[0].container_id == "ctr-b"' >/dev/null ||
		fail "the valid attachment was not kept"
}

# DEL answers once the pod's map entries are gone; the agent deletes the veth
# afterwards and releases the IP only after that.
t_del_leaves_the_veth_to_the_agent() {
	pod_netns a; pod_netns b
	ipa=$(pod_add a); pod_add b >/dev/null
	in_pod b ping -c 1 -W 2 "$ipa" >/dev/null || fail "b cannot reach a before DEL"

	pod_del a || fail "DEL a"
	# Right after DEL nothing redirects to a any more: only b's keys are left,
	# and a's replies meet no endpoint.
	[ "$(map_count pn_endpoints)" = 2 ] || fail "endpoint map entries of a survive DEL"
	[ "$(map_count pn_ipcache)" = 1 ] || fail "ipcache entry of a survives DEL"
	# Whatever state the teardown is in, an IP is never free while its veth
	# exists (read the IP first: it goes last).
	ips=$(ls "$STATE/ipam" | wc -l)
	veths=$(lxc_count)
	[ "$ips" = 2 ] || [ "$veths" = 1 ] || fail "IP of a released while its veth exists"
	if in_pod b ping -c 1 -W 1 "$ipa" >/dev/null 2>&1; then fail "b still reaches a after DEL"; fi

	settle
	[ "$(lxc_count)" = 1 ] || fail "veth of a left behind"
	[ "$(ls "$STATE/ipam" | wc -l)" = 1 ] || fail "IP of a not released"
	[ "$("$BIN/porinctl" --socket "$SOCK" endpoint list -o json | jq '.endpoints | length')" = 1 ] ||
		fail "record of a left behind"
	grep -q 'msg="pod detached".*veth=agent' "$T/cni.log" || fail "DEL deleted the veth itself"
	grep -q 'msg="endpoint teardown finished" container_id=ctr-a .*veth=deleted' "$T/agent.log" ||
		fail "the agent did not delete the veth"
}

# An endpoint whose veth cannot be deleted (here: registered on the node's lo)
# stays DELETING, which makes the pending state observable: the key's ADD gets
# "try again later", its IP stays held, DEL and GC leave it alone, and a
# restart keeps it.
t_add_while_teardown_pending_gets_try_again() {
	pod_netns x
	out=$(api '{"op":"endpoint_add","container_id":"ctr-x","ifname":"eth0","netns":"/run/netns/x","ip":"10.244.0.77","host_ifname":"lo","host_ifindex":1,"host_mac":"02:00:00:00:00:01","pod_mac":"02:00:00:00:00:02"}')
	jq -e '.ok' <<<"$out" >/dev/null || fail "endpoint_add: $out"
	[ "$(map_count pn_endpoints)" = 2 ] || fail "endpoint map: want 2 keys"

	pod_del x || fail "DEL x"
	[ "$(map_count pn_endpoints)" = 0 ] || fail "map entries survive DEL"
	[ "$(map_count pn_ipcache)" = 0 ] || fail "ipcache entry survives DEL"
	in_node ip link show lo >/dev/null || fail "lo is gone?!"
	[ "$(agent_status deleting)" = 1 ] || fail "status: want deleting=1"
	[ "$(agent_status endpoints)" = 0 ] || fail "status: a DELETING endpoint counted as active"
	"$BIN/porinctl" --socket "$SOCK" endpoint list -o json |
		jq -e '.endpoints | length == 1 and .[0].state == "deleting"' >/dev/null ||
		fail "endpoint list does not show x as deleting"
	jq -e '.state == "deleting"' "$STATE/endpoints/ctr-x_eth0.json" >/dev/null ||
		fail "record file does not say deleting"

	# The same attachment again: "try again later", and nothing left behind.
	rc=0; out=$(netconf | cni ADD x) || rc=$?
	[ $rc -ne 0 ] && jq -e '.code == 11' <<<"$out" >/dev/null || fail "ADD during teardown: $out"
	[ "$(lxc_count)" = 0 ] || fail "the refused ADD left a veth"
	in_pod x ip link show eth0 >/dev/null 2>&1 && fail "the refused ADD left eth0 in the pod"
	# Another pod that a delegated IPAM plugin gives the address x still
	# holds: "try again later" too.
	pod_netns z
	conf=$(printf '{"cniVersion":"1.0.0","name":"porin","type":"porin","agentSocket":"%s","bpfRoot":"%s","ipam":{"type":"host-local","subnet":"10.244.0.0/24","rangeStart":"10.244.0.77","rangeEnd":"10.244.0.77","gateway":"10.244.0.1","dataDir":"%s/hl"}}' \
		"$SOCK" "$BPF_ROOT" "$T")
	rc=0; out=$(cni ADD z <<<"$conf") || rc=$?
	[ $rc -ne 0 ] && jq -e '.code == 11' <<<"$out" >/dev/null || fail "ADD of a held IP: $out"
	[ "$(lxc_count)" = 0 ] || fail "the refused ADD of z left a veth"
	[ ! -e "$T/hl/porin/10.244.0.77" ] || fail "the refused ADD of z kept its host-local IP"
	out=$(api '{"op":"ip_allocate","container_id":"ctr-x","ifname":"eth0"}')
	jq -e '.ok == false and .errno == 11' <<<"$out" >/dev/null || fail "ip_allocate: $out"
	out=$(api '{"op":"endpoint_get","container_id":"ctr-x","ifname":"eth0"}')
	jq -e '.ok == false and .errno == 2' <<<"$out" >/dev/null || fail "endpoint_get: $out"
	out=$(api '{"op":"ip_release","container_id":"ctr-x","ifname":"eth0"}')
	jq -e '.ok' <<<"$out" >/dev/null || fail "ip_release: $out"
	[ -e "$STATE/ipam/10.244.0.77" ] || fail "the IP was released before the veth is gone"
	pod_del x || fail "repeated DEL during teardown must succeed"
	out=$(api '{"op":"gc","valid":[]}')
	jq -e '.ok and (.removed | length == 0)' <<<"$out" >/dev/null || fail "gc: $out"
	[ -e "$STATE/ipam/10.244.0.77" ] || fail "gc released the IP of a teardown"
	grep -q 'msg="endpoint teardown failed, will retry"' "$T/agent.log" ||
		fail "no retry of the failed teardown logged"

	# A restart neither loses nor finishes it.
	agent_stop
	agent_start
	[ "$(agent_status deleting)" = 1 ] || fail "teardown lost across restart"
	[ -e "$STATE/ipam/10.244.0.77" ] || fail "IP released across restart"
	[ "$(map_count pn_endpoints)" = 0 ] || fail "restart wrote map entries of a DELETING record"
}

# The agent dies right after a DEL: the record says DELETING, so the next
# agent finishes the teardown (veth gone, IP released).
t_restart_resumes_teardown() {
	pod_netns a; pod_netns b
	pod_add a >/dev/null; pod_add b >/dev/null
	# An agent of this subshell's own, so that the shell's notice of the
	# kill goes to this test's output.
	agent_stop
	agent_start
	pod_del a || fail "DEL a"
	kill -9 "$AGENT_PID"
	for _ in $(seq 1 100); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.02; done
	agent_start
	settle
	[ "$(lxc_count)" = 1 ] || fail "veth of a left behind"
	[ "$(ls "$STATE/ipam" | wc -l)" = 1 ] || fail "IP of a not released"
	[ "$(map_count pn_endpoints)" = 2 ] || fail "endpoint map: want b's 2 keys"

	# The same, deterministically: a record left DELETING (with its map
	# entries and veth still there) by an agent that died at that moment.
	agent_stop
	rec=$STATE/endpoints/ctr-b_eth0.json
	jq '.state = "deleting"' "$rec" >"$T/rec" && cp "$T/rec" "$rec"
	agent_start
	settle
	[ "$(lxc_count)" = 0 ] || fail "veth of b left behind"
	[ "$(ls "$STATE/ipam" | wc -l)" = 0 ] || fail "IP of b not released"
	[ "$(map_count pn_endpoints)" = 0 ] || fail "map entries of b left behind"
	[ "$(map_count pn_ipcache)" = 0 ] || fail "ipcache entry of b left behind"
	grep -q 'msg="resuming endpoint teardowns' "$T/agent.log" || fail "no resume logged"
	grep -q 'msg="endpoint teardown finished" container_id=ctr-b .*veth=deleted' "$T/agent.log" ||
		fail "the restarted agent did not delete b's veth"
}

t_delegated_ipam_plugin() {
	pod_netns a; pod_netns b
	conf=$(printf '{"cniVersion":"1.0.0","name":"porin","type":"porin","agentSocket":"%s","bpfRoot":"%s","ipam":{"type":"host-local","subnet":"10.244.0.0/24","rangeStart":"10.244.0.200","gateway":"10.244.0.1","dataDir":"%s/hl"}}' \
		"$SOCK" "$BPF_ROOT" "$T")
	out=$(cni ADD a <<<"$conf") || fail "ADD with host-local: $out"
	ipa=$(jq -r '.ips[0].address | split("/")[0]' <<<"$out")
	[ "${ipa##*.}" -ge 200 ] || fail "IP $ipa not from host-local's range"
	ipb=$(pod_add b)
	in_pod a ping -c 1 -W 2 "$ipb" >/dev/null || fail "delegated pod cannot reach b"
	[ -e "$T/hl/porin/$ipa" ] || fail "host-local has no record of $ipa"
	cni DEL a <<<"$conf" >/dev/null || fail "DEL"
	[ ! -e "$T/hl/porin/$ipa" ] || fail "host-local still holds $ipa"
}

run_tests

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent: restarts keep running pods connected; CNI errors follow the spec
# when the agent or the input is wrong.
. "$(dirname "$0")/lib.sh"

map_id() { bpftool map show pinned "$BPF_ROOT/$1" -j | jq .id; }

t_restart_keeps_established_tcp_stream() {
	pod_netns a; pod_netns b
	pod_add a >/dev/null; ipb=$(pod_add b)
	ids_before="$(map_id pn_endpoints) $(map_id pn_ipcache) $(map_id pn_drops)"

	bg in_pod b python3 "$TOP/tests/integ/stream.py" serve 7000 "$T/lines"
	sleep 0.3
	# 150 lines over ~3 s on one connection; the agent restarts in the middle.
	in_pod a python3 "$TOP/tests/integ/stream.py" send "$ipb" 7000 150 20 &
	sender=$!
	sleep 1
	agent_stop
	sleep 0.3
	agent_start
	wait "$sender" || fail "the sender's connection broke"
	for _ in $(seq 1 40); do [ -s "$T/lines" ] && break; sleep 0.05; done
	[ "$(cat "$T/lines")" = 150 ] || fail "receiver got $(cat "$T/lines" 2>/dev/null) of 150 lines"

	ids_after="$(map_id pn_endpoints) $(map_id pn_ipcache) $(map_id pn_drops)"
	[ "$ids_before" = "$ids_after" ] || fail "maps were recreated: $ids_before -> $ids_after"
	# The restarted agent still knows both endpoints and serves new pods.
	[ "$("$BIN/porinctl" --socket "$SOCK" endpoint list -o json | jq '.endpoints | length')" = 2 ] ||
		fail "endpoints lost across restart"
	pod_netns c
	ipc=$(pod_add c)
	in_pod c ping -c 1 -W 2 "$ipb" >/dev/null || fail "new pod after restart cannot reach b"
	[ "$ipc" != "$ipb" ] || fail "IP reused after restart"
}

t_ipam_survives_restart() {
	pod_netns a
	ipa=$(pod_add a)
	agent_stop
	agent_start
	pod_netns b
	ipb=$(pod_add b)
	[ "$ipa" != "$ipb" ] || fail "restarted agent handed out $ipa twice"
}

# plugin VERB [KEY=VALUE...] < config: call the plugin with a chosen env.
plugin() {
	local verb=$1; shift
	in_node env -i PATH="$PATH" CNI_COMMAND="$verb" CNI_PATH="$BIN" "$@" "$BIN/porin"
}

expect_error() { # expect_error CODE OUTPUT RC
	[ "$3" -ne 0 ] || fail "exit code 0 for an error (want code $1): $2"
	jq -e --argjson c "$1" '.code == $c and (.msg | length > 0)' <<<"$2" >/dev/null ||
		fail "want error code $1, got: $2"
}

t_version_and_errors_follow_the_spec() {
	pod_netns a
	env="CNI_CONTAINERID=ctr-a CNI_NETNS=/run/netns/$(pod_ns a) CNI_IFNAME=eth0"

	out=$(echo '{"cniVersion":"1.1.0"}' | plugin VERSION)
	jq -e '.supportedVersions | index("0.4.0") and index("1.0.0") and index("1.1.0")' <<<"$out" >/dev/null ||
		fail "VERSION: $out"

	rc=0; out=$(echo '{"cniVersion":' | plugin ADD $env) || rc=$?
	expect_error 6 "$out" $rc

	rc=0; out=$(netconf 9.9.9 | plugin ADD $env) || rc=$?
	expect_error 1 "$out" $rc

	rc=0; out=$(netconf | plugin ADD CNI_NETNS=/run/netns/$(pod_ns a) CNI_IFNAME=eth0) || rc=$?
	expect_error 4 "$out" $rc

	rc=0; out=$(netconf | plugin ADD CNI_CONTAINERID=ctr-a CNI_NETNS=/run/netns/nope CNI_IFNAME=eth0) || rc=$?
	[ $rc -ne 0 ] && jq -e '.code > 0' <<<"$out" >/dev/null || fail "missing netns accepted: $out"

	rc=0; out=$(netconf | jq -c '.mtu = "big"' | plugin ADD $env) || rc=$?
	expect_error 7 "$out" $rc

	[ "$(lxc_count)" = 0 ] || fail "a failed ADD left a veth"
	[ "$(ls "$STATE/ipam" 2>/dev/null | wc -l)" = 0 ] || fail "a failed ADD left an IP"
}

t_agent_down_gives_try_again_and_leaves_nothing() {
	pod_netns a
	netconf | plugin STATUS || fail "STATUS with a ready agent"
	agent_stop
	rc=0; out=$(netconf | plugin STATUS) || rc=$?
	expect_error 50 "$out" $rc
	rc=0; out=$(netconf | cni ADD a) || rc=$?
	expect_error 11 "$out" $rc
	[ "$(lxc_count)" = 0 ] || fail "veth left behind"
	in_pod a ip link show eth0 >/dev/null 2>&1 && fail "eth0 left in the pod"
	return 0
}

# Without an agent DEL deletes the veth itself and asks for a retry (11); the
# retry, with the agent back, releases the rest.
t_del_with_agent_down_deletes_the_veth_and_asks_to_retry() {
	pod_netns a
	pod_add a >/dev/null
	agent_stop
	rc=0; out=$(netconf | cni DEL a) || rc=$?
	expect_error 11 "$out" $rc
	[ "$(lxc_count)" = 0 ] || fail "DEL without agent left the veth"
	agent_start
	netconf | cni DEL a >/dev/null || fail "retried DEL"
	settle
	[ "$(ls "$STATE/ipam" | wc -l)" = 0 ] || fail "IP not released by the retried DEL"
	[ "$(map_count pn_endpoints)" = 0 ] || fail "endpoint map entries left"
	grep -q 'msg="endpoint teardown finished" container_id=ctr-a .*veth=already-gone' \
		"$T/agent.log" || fail "the agent's teardown did not find the veth gone"
}

t_agent_rejects_bad_requests() {
	# Garbage on the socket gets an error answer, and the agent keeps serving.
	out=$(printf 'not json\n' | in_node socat -t 2 - "UNIX-CONNECT:$SOCK")
	jq -e '.ok == false and .errno > 0' <<<"$out" >/dev/null || fail "garbage answered: $out"
	out=$(printf '{"op":"endpoint_add","container_id":"x"}\n' | in_node socat -t 2 - "UNIX-CONNECT:$SOCK")
	jq -e '.ok == false' <<<"$out" >/dev/null || fail "incomplete endpoint_add accepted: $out"
	"$BIN/porinctl" --socket "$SOCK" status >/dev/null || fail "agent stopped serving"
	[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket is not root-only"
}

run_tests

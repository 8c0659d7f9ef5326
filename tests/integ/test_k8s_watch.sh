#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# agent/k8s against a real kube-apiserver, through k8s_watch_probe: what
# kubectl does shows up as events, and nothing is lost when the apiserver
# restarts or etcd compacts away the watch's resourceVersion.  Bad configs
# and unreachable or untrusted servers give clear errors and retries.
. "$(dirname "$0")/lib.sh"

PROBE=$BIN/tests/integ/k8s_watch_probe

# cp_up: a control plane under $T/cp; its EXIT trap (the test body runs in
# a subshell) stops it and the probe even when an assertion fails.
cp_up() {
	cp=$T/cp
	trap '[ -n "${probe_pid:-}" ] && kill "$probe_pid" 2>/dev/null; "$TOP/hack/k8s/controlplane.sh" down "$cp"' EXIT
	"$TOP/hack/k8s/controlplane.sh" up "$cp" >/dev/null
	. "$cp/env"
	# Pods are refused until the controller manager made the namespace's
	# default service account.
	for _ in $(seq 1 100); do
		$KUBECTL -n default get serviceaccount default >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	fail "no default service account"
}

# probe_start RESOURCE [ARGS...]: events to $T/events, logs to $T/probe.log.
probe_start() {
	local res=$1; shift
	"$PROBE" --kubeconfig "$cp/admin.kubeconfig" --resource "$res" "$@" \
		>"$T/events" 2>"$T/probe.log" &
	probe_pid=$!
	wait_event '^SYNCED ' 20
}

# wait_event REGEX [SECONDS]: until a line of $T/events matches.
wait_event() {
	local re=$1 secs=${2:-20}
	for _ in $(seq 1 $((secs * 10))); do
		grep -qE "$re" "$T/events" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "no event matching '$re' in ${secs}s; events:" >&2
	cat "$T/events" >&2
	echo "probe log:" >&2
	tail -20 "$T/probe.log" >&2
	return 1
}

# wait_log REGEX [SECONDS]: until a line of $T/probe.log matches.
wait_log() {
	local re=$1 secs=${2:-20}
	for _ in $(seq 1 $((secs * 10))); do
		grep -qE "$re" "$T/probe.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "no log line matching '$re' in ${secs}s; probe log:" >&2
	cat "$T/probe.log" >&2
	return 1
}

probe_alive() { kill -0 "$probe_pid" 2>/dev/null || fail "probe died: $(tail -5 "$T/probe.log")"; }

# pod NAME [APP]: an unschedulable pod (there are no nodes) with two ports.
pod() {
	printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: default, labels: {app: %s}}\nspec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 80}, {containerPort: 53, protocol: UDP}]}]}\n' \
		"$1" "${2:-a}" | $KUBECTL apply -f - >/dev/null
}

etcd() { etcdctl --endpoints "$ETCD_ENDPOINT" "$@"; }

t_k8s_watch_pods_create_update_delete() {
	cp_up
	pod before
	probe_start pods
	grep -q '^ADD default/before .*port=http/80/TCP port=-/53/UDP labels=app=a' "$T/events" ||
		fail "initial list missed pod 'before': $(cat "$T/events")"
	pod w1
	wait_event '^ADD default/w1 .*phase=Pending'
	pod w1 b
	wait_event '^UPDATE default/w1 .*labels=app=b$'
	$KUBECTL delete pod w1 --grace-period=0 --force >/dev/null 2>&1
	wait_event '^DELETE default/w1 '
	probe_alive
}

t_k8s_watch_nodes_and_namespaces() {
	cp_up
	probe_start nodes
	printf 'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n' | $KUBECTL apply -f - >/dev/null
	wait_event '^ADD n1 '
	# node-ipam in the controller manager allocates the pod CIDR.
	wait_event '^UPDATE n1 .*cidr=10\.244\.0\.0/24' 30
	$KUBECTL delete node n1 >/dev/null
	wait_event '^DELETE n1 '
	kill "$probe_pid"; wait "$probe_pid" 2>/dev/null || true

	probe_start namespaces
	grep -q '^ADD kube-system ' "$T/events" || fail "kube-system missing from the list"
	$KUBECTL create namespace w2 >/dev/null
	$KUBECTL label namespace w2 team=net >/dev/null
	wait_event '^UPDATE w2 .*labels=.*team=net'
}

t_k8s_watch_survives_apiserver_restart() {
	cp_up
	pod keep
	pod gone
	pod changed
	probe_start pods
	"$TOP/hack/k8s/controlplane.sh" stop-apiserver "$cp"
	wait_log 'request=watch err=-E(IO|CONNREFUSED)'
	# While the apiserver is away, one pod vanishes straight from etcd (as
	# if another apiserver of an HA control plane had deleted it).
	etcd del /registry/pods/default/gone >/dev/null
	"$TOP/hack/k8s/controlplane.sh" start-apiserver "$cp" >/dev/null
	pod changed b
	pod new
	wait_event '^DELETE default/gone '
	wait_event '^UPDATE default/changed .*labels=app=b$'
	wait_event '^ADD default/new '
	! grep -q '^DELETE default/keep ' "$T/events" || fail "pod 'keep' reported deleted"
	probe_alive
}

t_k8s_watch_relists_after_compaction() {
	cp_up
	pod a
	probe_start pods
	pod b
	wait_event '^ADD default/b '
	"$TOP/hack/k8s/controlplane.sh" stop-apiserver "$cp"
	etcd del /registry/pods/default/a >/dev/null
	# Compact everything: the probe's resourceVersion is history now, so
	# resuming the watch must end in 410 Gone and a relist.
	rev=$(etcd endpoint status -w json | jq '.[0].Status.header.revision')
	etcd compact "$rev" >/dev/null
	"$TOP/hack/k8s/controlplane.sh" start-apiserver "$cp" >/dev/null
	pod c
	wait_log '410 Gone'
	wait_event '^DELETE default/a '
	wait_event '^ADD default/c '
	[ "$(grep -c '^SYNCED ' "$T/events")" -ge 2 ] || fail "no second SYNCED after the relist"
	! grep -q '^DELETE default/b ' "$T/events" || fail "pod 'b' reported deleted"
	probe_alive
}

t_k8s_watch_bad_configs_fail_clearly() {
	cp_up
	kc=$T/bad.kubeconfig
	# No server: refused at load, naming the field.
	sed '/server:/d' "$cp/admin.kubeconfig" >"$kc"
	! "$PROBE" --kubeconfig "$kc" --for 1 >/dev/null 2>"$T/err" || fail "probe accepted no server"
	grep -q 'field=cluster.server' "$T/err" || fail "no field named: $(cat "$T/err")"
	# Not YAML at all.
	printf 'clusters: [\n  - {name: x\n' >"$kc"
	! "$PROBE" --kubeconfig "$kc" --for 1 >/dev/null 2>"$T/err" || fail "probe accepted bad YAML"
	grep -q 'msg="bad kubeconfig".*line=' "$T/err" || fail "no YAML error: $(cat "$T/err")"
	# Skipping TLS verification is not an option.
	sed 's/^\(    server: .*\)$/\1\n    insecure-skip-tls-verify: true/' "$cp/admin.kubeconfig" >"$kc"
	! "$PROBE" --kubeconfig "$kc" --for 1 >/dev/null 2>"$T/err" || fail "probe skipped TLS verify"
	grep -q 'insecure-skip-tls-verify' "$T/err" || fail "no TLS error: $(cat "$T/err")"

	# Unreachable server: retries with backoff, no crash, no events.
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	sed "s#server: .*#server: https://127.0.0.1:$port#" "$cp/admin.kubeconfig" >"$kc"
	"$PROBE" --kubeconfig "$kc" --for 3 >"$T/out" 2>"$T/err" || fail "probe exited non-zero on an unreachable server"
	[ "$(grep -c 'err=-ECONNREFUSED' "$T/err")" -ge 3 ] || fail "too few retries: $(cat "$T/err")"
	[ "$(grep -c 'err=-ECONNREFUSED' "$T/err")" -le 12 ] || fail "retries not backing off: $(grep -c ECONNREFUSED "$T/err")"
	[ ! -s "$T/out" ] || fail "events from nowhere: $(cat "$T/out")"

	# A CA that did not sign the apiserver's certificate.
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.key" -out "$T/other.crt" \
		-days 1 -subj /CN=other 2>/dev/null
	sed "s#certificate-authority: .*#certificate-authority: $T/other.crt#" "$cp/admin.kubeconfig" >"$kc"
	"$PROBE" --kubeconfig "$kc" --for 2 >"$T/out" 2>"$T/err" || fail "probe exited non-zero on a wrong CA"
	grep -q 'err=-EPROTO' "$T/err" || fail "wrong CA not reported: $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "events through an untrusted server: $(cat "$T/out")"

	# Token auth (the agent's token, no RBAC yet): 403, retried, logged.
	cat >"$kc" <<KC
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "$APISERVER", certificate-authority: "$cp/pki/ca.crt"}
users:
- name: u
  user: {tokenFile: "$cp/agent.token"}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
KC
	"$PROBE" --kubeconfig "$kc" --for 2 >"$T/out" 2>"$T/err" || fail "probe exited non-zero on 403"
	grep -q 'status=403' "$T/err" || fail "403 not reported: $(cat "$T/err")"
}

run_tests

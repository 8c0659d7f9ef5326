#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# porin-agent against a real kube-apiserver (hack/k8s/controlplane.sh),
# authenticated as the porin-agent ServiceAccount that manifests/ bind: the
# pod CIDR comes from the agent's Node, other nodes' pods enter the ipcache,
# nothing is lost across an apiserver restart, and bad credentials or
# unreachable servers are logged and retried while the local API keeps
# answering.
#
# The agent runs in the node netns; the apiserver listens on the root end of
# a veth pair into it (172.31.255.1/30 <-> .2), so both sides see it.
. "$(dirname "$0")/lib.sh"

CP_ADDR=172.31.255.1
SELF=node-a

# k8s_up: veth to the node netns, control plane on it, manifests applied,
# and $T/agent.kubeconfig holding a token of the porin-agent ServiceAccount.
k8s_up() {
	cp=$T/cp
	# "|| true": under set -e a failing trap would fail the test after the fact.
	trap '"$TOP/hack/k8s/controlplane.sh" down "$cp" >/dev/null 2>&1 || true' EXIT
	ip link add "pk$_id" type veth peer name eth-cp netns "$NODE"
	ip addr add "$CP_ADDR/30" dev "pk$_id"
	ip link set "pk$_id" up
	in_node ip addr add 172.31.255.2/30 dev eth-cp
	in_node ip link set eth-cp up
	ADDRESS=$CP_ADDR "$TOP/hack/k8s/controlplane.sh" up "$cp" >/dev/null
	local porin_bin=$BIN
	. "$cp/env"	# sets BIN to the Kubernetes binaries: keep ours
	BIN=$porin_bin
	$KUBECTL apply -f "$TOP/manifests/" >/dev/null
	for _ in $(seq 1 100); do
		$KUBECTL -n default get serviceaccount default >/dev/null 2>&1 && break
		sleep 0.2
	done
	token=$($KUBECTL -n kube-system create token porin-agent --duration 1h)
	kubeconfig_write "$T/agent.kubeconfig" "$APISERVER" "$cp/pki/ca.crt" "$token"
}

# kubeconfig_write FILE SERVER CA TOKEN
kubeconfig_write() {
	cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "$2", certificate-authority: "$3"}
users:
- name: porin-agent
  user: {token: "$4"}
contexts:
- name: x
  context: {cluster: c, user: porin-agent}
current-context: x
KC
}

# agent_k8s_start [KUBECONFIG]: replace lib.sh's standalone agent with one in
# Kubernetes mode (no --pod-cidr), same bpf root and socket, fresh state.
agent_k8s_start() {
	agent_stop
	rm -rf "${STATE:?}"/*
	nsenter --net="/run/netns/$NODE" "$BIN/porin-agent" --kubeconfig "${1:-$T/agent.kubeconfig}" \
		--node-name "$SELF" --bpf-root "$BPF_ROOT" --state-dir "$STATE" --socket "$SOCK" \
		--log-level "${AGENT_LOG_LEVEL:-info}" >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	echo "$AGENT_PID" >"$T/agent.pid"
	for _ in $(seq 1 100); do
		"$BIN/porinctl" --socket "$SOCK" status >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "agent socket did not answer: $(tail -5 "$T/agent.log")"
}

agent_alive() { kill -0 "$AGENT_PID" 2>/dev/null || fail "agent died: $(tail -5 "$T/agent.log")"; }

# until_true SECONDS CMD...: poll CMD every 0.1 s.
until_true() {
	local secs=$1; shift
	for _ in $(seq 1 $((secs * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# node NAME IP: a Node with an InternalIP (node-ipam gives it a pod CIDR).
node() {
	printf 'apiVersion: v1\nkind: Node\nmetadata: {name: %s}\n' "$1" | $KUBECTL apply -f - >/dev/null
	$KUBECTL patch node "$1" --subresource=status --type=merge \
		-p "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$2\"}]}}" >/dev/null
}

# kpod NAME NODE [IP] [hostNetwork]: a pod bound to NODE, with status.podIP.
kpod() {
	local hn=${4:-false}
	printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: default, labels: {app: x}}\nspec: {nodeName: %s, hostNetwork: %s, containers: [{name: c, image: x}]}\n' \
		"$1" "$2" "$hn" | $KUBECTL apply -f - >/dev/null
	[ -z "${3:-}" ] || pod_ip "$1" "$3"
}

pod_ip() {
	$KUBECTL patch pod "$1" --subresource=status --type=merge \
		-p "{\"status\":{\"podIP\":\"$2\",\"podIPs\":[{\"ip\":\"$2\"}]}}" >/dev/null
}

kdel() { $KUBECTL delete pod "$1" --grace-period=0 --force >/dev/null 2>&1; }

# ipcache_get IP: the pn_ipcache value for IP/32 as JSON, or nothing.
ipcache_get() {
	local hex
	hex=$(printf '20 00 00 00 %02x %02x %02x %02x' ${1//./ })
	bpftool -j map lookup pinned "$BPF_ROOT/pn_ipcache" key hex $hex 2>/dev/null
}
# ipcache_tunnel IP: its tunnel endpoint (dotted quad), or "-".
ipcache_tunnel() {
	local v
	v=$(ipcache_get "$1") || { echo -; return; }
	[ -n "$v" ] || { echo -; return; }
	jq -r '.formatted.value.tunnel_endpoint // .value.tunnel_endpoint' <<<"$v" |
		python3 -c 'import sys,socket,struct
v=sys.stdin.read().strip()
print(socket.inet_ntoa(struct.pack("<I", int(v))) if v.isdigit() else v)'
}
ipcache_is() { [ "$(ipcache_tunnel "$1")" = "$2" ]; }

pods_json() { "$BIN/porinctl" --socket "$SOCK" pods -o json; }
pod_known() { pods_json | jq -e --arg n "$1" --arg ip "${2:-}" \
	'.pods[] | select(.name == $n and ($ip == "" or .ip == $ip))' >/dev/null; }
pod_gone() { ! pod_known "$1"; }
k8s_field() { "$BIN/porinctl" --socket "$SOCK" k8s status -o json | jq -r "$1"; }

agent_ready() { [ "$(agent_status ready)" = true ]; }

t_agent_k8s_pod_cidr_from_node() {
	k8s_up
	agent_k8s_start
	# No Node yet: status answers, not ready; the CNI is told to retry.
	[ "$(agent_status ready)" = false ] || fail "agent ready without a pod CIDR"
	[ "$(agent_status waiting_for)" != null ] || fail "status does not say what it waits for"
	pod_netns early
	out=$(netconf | cni ADD early) && fail "ADD succeeded before the pod CIDR: $out"
	jq -e '.code == 11' <<<"$out" >/dev/null || fail "ADD before ready: want code 11, got $out"

	node "$SELF" 172.31.255.2
	until_true 30 agent_ready || fail "agent not ready after its Node got a pod CIDR"
	cidr=$($KUBECTL get node "$SELF" -o jsonpath='{.spec.podCIDR}')
	[ -n "$cidr" ] || fail "node-ipam gave no pod CIDR"
	[ "$(agent_status pod_cidr)" = "$cidr" ] || fail "pod CIDR $(agent_status pod_cidr), Node says $cidr"
	grep -q 'msg="pod CIDR from this node.s Node object"' "$T/agent.log" || fail "no log line for the pod CIDR"
	[ "$(k8s_field .node_ip)" = 172.31.255.2 ] || fail "node IP not recorded: $(k8s_field .node_ip)"
	[ "$(k8s_field .connected)" = true ] || fail "k8s status: not connected"
	[ "$(k8s_field '.resources[] | select(.resource == "nodes") | .synced')" = true ] ||
		fail "nodes not synced"

	pod_netns p1
	ip=$(pod_add p1)
	python3 -c "import ipaddress,sys; sys.exit(ipaddress.ip_address('$ip') not in ipaddress.ip_network('$cidr'))" ||
		fail "pod IP $ip not in the Node's pod CIDR $cidr"
	agent_alive
}

t_agent_k8s_remote_pods_enter_and_leave_the_ipcache() {
	k8s_up
	node "$SELF" 172.31.255.2
	node node-b 172.31.0.2
	node node-c 172.31.0.3
	kpod before node-b 10.244.9.4		# before the agent starts: from the LIST
	agent_k8s_start
	until_true 30 agent_ready || fail "agent not ready"
	until_true 10 ipcache_is 10.244.9.4 172.31.0.2 || fail "listed pod not in the ipcache"

	kpod r1 node-b
	until_true 10 pod_known r1 || fail "pod r1 not known"
	[ "$(ipcache_tunnel 10.244.9.5)" = - ] || fail "ipcache entry before the pod had an IP"
	pod_ip r1 10.244.9.5
	until_true 10 ipcache_is 10.244.9.5 172.31.0.2 || fail "r1 not in the ipcache"
	pods_json | jq -e '.pods[] | select(.name == "r1") | .local == false and .ipcache and
		.node == "node-b"' >/dev/null || fail "porinctl pods: $(pods_json)"

	# A new IP: the old entry goes.
	pod_ip r1 10.244.9.6
	until_true 10 ipcache_is 10.244.9.6 172.31.0.2 || fail "r1's new IP not in the ipcache"
	until_true 10 ipcache_is 10.244.9.5 - || fail "r1's old IP still in the ipcache"

	# Its node's IP changes: the entry follows.
	$KUBECTL patch node node-b --subresource=status --type=merge \
		-p '{"status":{"addresses":[{"type":"InternalIP","address":"172.31.0.22"}]}}' >/dev/null
	until_true 10 ipcache_is 10.244.9.6 172.31.0.22 || fail "entry did not follow node-b's IP"

	# hostNetwork pods and this node's pods are no remote entries.
	kpod hn node-c 172.31.0.3 true
	kpod mine "$SELF" 10.244.0.77
	until_true 10 pod_known mine 10.244.0.77 || fail "local pod not known"
	pods_json | jq -e '.pods[] | select(.name == "mine") | .local' >/dev/null ||
		fail "pod 'mine' not local"
	[ "$(ipcache_tunnel 172.31.0.3)" = - ] || fail "hostNetwork pod in the ipcache"
	[ "$(ipcache_tunnel 10.244.0.77)" = - ] || fail "local pod got a remote entry"
	"$BIN/porinctl" --socket "$SOCK" pods | grep -q '^default/r1 .*node-b .*10.244.9.6' ||
		fail "porinctl pods table: $("$BIN/porinctl" --socket "$SOCK" pods)"

	# Node objects of other nodes, when porinctl can show them.
	if "$BIN/porinctl" --socket "$SOCK" node list >"$T/nodes" 2>/dev/null; then
		grep -q node-b "$T/nodes" || fail "node-b missing from node list: $(cat "$T/nodes")"
		grep -q "$SELF" "$T/nodes" && ! grep -q 172.31.255.2 "$T/nodes" &&
			fail "self listed as a remote node"
	fi

	kdel r1
	until_true 10 pod_gone r1 || fail "deleted pod still known"
	until_true 10 ipcache_is 10.244.9.6 - || fail "deleted pod still in the ipcache"
	# Deleting its node drops the node's pods' entries too.
	$KUBECTL delete node node-b >/dev/null
	until_true 10 ipcache_is 10.244.9.4 - || fail "pod of a deleted node still in the ipcache"
	agent_alive
}

# res_objects RESOURCE: the agent's object count for it; kcount RESOURCE: the
# apiserver's, all namespaces.
res_objects() { k8s_field ".resources[] | select(.resource == \"$1\") | .objects"; }
kcount() { $KUBECTL get "$1" -A --no-headers 2>/dev/null | wc -l; }
# counts_are SVC EPS NETPOL: the agent's counts, and the apiserver agrees.
counts_are() {
	[ "$(res_objects services)" = "$1" ] && [ "$(res_objects endpointslices)" = "$2" ] &&
		[ "$(res_objects networkpolicies)" = "$3" ] && [ "$(kcount services)" = "$1" ] &&
		[ "$(kcount endpointslices)" = "$2" ] && [ "$(kcount networkpolicies)" = "$3" ]
}
counts_now() {
	echo "agent: svc=$(res_objects services) eps=$(res_objects endpointslices)" \
		"netpol=$(res_objects networkpolicies); apiserver: svc=$(kcount services)" \
		"eps=$(kcount endpointslices) netpol=$(kcount networkpolicies)"
}

t_agent_k8s_services_endpointslices_netpols_are_cached() {
	k8s_up
	node "$SELF" 172.31.255.2
	agent_k8s_start
	until_true 30 agent_ready || fail "agent not ready"
	until_true 10 test "$(k8s_field .connected)" = true || fail "k8s status: not connected"
	for r in services endpointslices networkpolicies; do
		[ "$(k8s_field ".resources[] | select(.resource == \"$r\") | .synced")" = true ] ||
			fail "$r not synced: $(k8s_field .resources)"
	done
	"$BIN/porinctl" --socket "$SOCK" k8s status | grep -q endpointslices ||
		fail "porinctl k8s status does not list endpointslices"
	svc=$(kcount services) eps=$(kcount endpointslices) np=$(kcount networkpolicies)
	until_true 10 counts_are "$svc" "$eps" "$np" || fail "initial counts: $(counts_now)"

	kpod web-1 "$SELF" 10.244.0.50
	$KUBECTL apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: x}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in, namespace: default}
spec:
  podSelector: {matchLabels: {app: x}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {}}], ports: [{port: 8080}]}]
Y
	# The endpointslice controller makes the Service's slice.
	until_true 30 counts_are $((svc + 1)) $((eps + 1)) $((np + 1)) ||
		fail "counts after create: $(counts_now)"
	$KUBECTL -n default get endpointslices -l kubernetes.io/service-name=web -o name |
		grep -q . || fail "no EndpointSlice for service web"

	$KUBECTL -n default delete service web >/dev/null
	$KUBECTL -n default delete networkpolicy web-in >/dev/null
	# The slice goes with its Service (garbage collector, ownerReferences).
	until_true 30 counts_are "$svc" "$eps" "$np" || fail "counts after delete: $(counts_now)"
	grep -q 'k8s object not understood' "$T/agent.log" &&
		fail "objects rejected: $(grep 'not understood' "$T/agent.log" | head -3)"
	agent_alive
}

t_agent_k8s_survives_apiserver_restart() {
	k8s_up
	node "$SELF" 172.31.255.2
	node node-b 172.31.0.2
	kpod keep node-b 10.244.9.10
	kpod gone node-b 10.244.9.11
	agent_k8s_start
	until_true 30 agent_ready || fail "agent not ready"
	until_true 10 ipcache_is 10.244.9.11 172.31.0.2 || fail "pod 'gone' not in the ipcache"

	"$TOP/hack/k8s/controlplane.sh" stop-apiserver "$cp"
	until_true 20 grep -qE 'request=watch err=-E(IO|CONNREFUSED)' "$T/agent.log" ||
		fail "agent did not notice the apiserver leaving"
	# While it is away one pod vanishes straight from etcd.
	etcdctl --endpoints "$ETCD_ENDPOINT" del /registry/pods/default/gone >/dev/null
	# The local API keeps answering meanwhile.
	agent_ready || fail "agent not ready while the apiserver is down"
	[ "$(k8s_field .connected)" = false ] || fail "k8s status says connected while it is down"
	"$TOP/hack/k8s/controlplane.sh" start-apiserver "$cp" >/dev/null
	kpod new node-b 10.244.9.12

	until_true 30 ipcache_is 10.244.9.11 - || fail "pod deleted during the outage still in the ipcache"
	until_true 10 pod_gone gone || fail "pod deleted during the outage still known"
	until_true 10 ipcache_is 10.244.9.12 172.31.0.2 || fail "pod created after the restart missing"
	ipcache_is 10.244.9.10 172.31.0.2 || fail "pod 'keep' lost"
	until_true 10 test "$(k8s_field .connected)" = true || fail "not reconnected"
	[ "$(k8s_field '[.resources[].reconnects + .resources[].relists] | add')" -ge 1 ] ||
		fail "no reconnect counted: $(k8s_field .resources)"
	agent_alive
}

t_agent_k8s_agent_restart_drops_stale_entries() {
	k8s_up
	node "$SELF" 172.31.255.2
	node node-b 172.31.0.2
	kpod a node-b 10.244.9.20
	kpod b node-b 10.244.9.21
	agent_k8s_start
	until_true 30 agent_ready || fail "agent not ready"
	until_true 10 ipcache_is 10.244.9.21 172.31.0.2 || fail "b not in the ipcache"
	agent_stop
	kdel b
	# Same state and bpf root: the pinned ipcache still holds b.
	nsenter --net="/run/netns/$NODE" "$BIN/porin-agent" --kubeconfig "$T/agent.kubeconfig" \
		--node-name "$SELF" --bpf-root "$BPF_ROOT" --state-dir "$STATE" --socket "$SOCK" \
		>>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	echo "$AGENT_PID" >"$T/agent.pid"
	until_true 30 ipcache_is 10.244.9.21 - || fail "entry of a pod deleted while the agent was down survived"
	ipcache_is 10.244.9.20 172.31.0.2 || fail "pod a lost across the agent restart"
	agent_alive
}

t_agent_k8s_bad_credentials_are_retried() {
	k8s_up
	node "$SELF" 172.31.255.2
	# A missing kubeconfig: logged, retried, the local API answers.
	agent_k8s_start "$T/nope.kubeconfig"
	until_true 10 grep -q 'cannot use the Kubernetes credentials; retrying' "$T/agent.log" ||
		fail "no error for a missing kubeconfig"
	[ "$(agent_status ready)" = false ] || fail "ready without credentials"
	[ "$(k8s_field .config_error)" != "" ] || fail "k8s status shows no config error"
	# It appears: the agent picks it up on a retry.
	cp "$T/agent.kubeconfig" "$T/nope.kubeconfig"
	until_true 20 agent_ready || fail "agent did not recover once the kubeconfig appeared"
	agent_alive

	# Unreachable server: retries with backoff, no crash.
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	kubeconfig_write "$T/down.kubeconfig" "https://$CP_ADDR:$port" "$cp/pki/ca.crt" "$token"
	: >"$T/agent.log"
	agent_k8s_start "$T/down.kubeconfig"
	until_true 10 test "$(grep -c 'err=-ECONNREFUSED' "$T/agent.log")" -ge 3 ||
		fail "no retries logged: $(tail -5 "$T/agent.log")"
	[ "$(agent_status ready)" = false ] || fail "ready without an apiserver"
	agent_alive

	# A CA that did not sign the apiserver's certificate.
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.key" -out "$T/other.crt" \
		-days 1 -subj /CN=other 2>/dev/null
	kubeconfig_write "$T/ca.kubeconfig" "$APISERVER" "$T/other.crt" "$token"
	: >"$T/agent.log"
	agent_k8s_start "$T/ca.kubeconfig"
	until_true 10 grep -q 'err=-EPROTO' "$T/agent.log" || fail "wrong CA not reported"
	agent_alive

	# A token without rights: 403, logged, retried.
	kubeconfig_write "$T/403.kubeconfig" "$APISERVER" "$cp/pki/ca.crt" "$(cat "$cp/agent.token")"
	: >"$T/agent.log"
	agent_k8s_start "$T/403.kubeconfig"
	until_true 10 grep -q 'status=403' "$T/agent.log" || fail "403 not reported"
	agent_alive
}

run_tests

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make demo: a two-node porin cluster on this machine.
#
# A real kube-apiserver, controller-manager and scheduler; two nodes, each a
# network namespace with its own porin-agent watching the API; pods wired by
# the porin CNI plugin as a container runtime would (hack/cluster).  The demo
# shows pod traffic on one node and across nodes over the VXLAN overlay,
# what the agents learnt from the API, a spoofed packet dropped with its
# reason, NetworkPolicy at work (an ordinary policy applied with kubectl,
# enforced by the destination's node, explained by porinctl policy trace),
# and a pod delete cleaning up everywhere; then removes it all.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (network namespaces, BPF)" >&2; exit 1; }

export PORIN_CLUSTER_DIR=${PORIN_CLUSTER_DIR:-/tmp/porin-demo}
export PORIN_CLUSTER_PREFIX=${PORIN_CLUSTER_PREFIX:-pdemo}
BIN=$PWD/${BUILD:-build}
cluster() { hack/cluster "$@"; }
ctl() { "$BIN/porinctl" --socket "$PORIN_CLUSTER_DIR/nodes/$1/state/porin.sock" "${@:2}"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

trap 'say "cleaning up"; cluster down' EXIT
cluster down >/dev/null 2>&1 || true

say "a cluster: real control plane (first run builds Kubernetes from the Go module proxy), two nodes"
run cluster up --nodes 2 --routing vxlan
run cluster kubectl get nodes -o wide

say "pods, created in the API and wired by the porin CNI plugin"
run cluster pod add shop/web --node node1 --labels app=web --port http:80/TCP
run cluster pod add shop/db --node node2 --labels app=db --port sql:5432/TCP --port dns:53/UDP
run cluster pod add shop/client --node node1 --labels app=client
run cluster kubectl get pods -A -o wide
web=$(cluster kubectl -n shop get pod web -o jsonpath='{.status.podIP}')
db=$(cluster kubectl -n shop get pod db -o jsonpath='{.status.podIP}')

say "same node: client -> web (bpf_redirect_peer, no host stack)"
run cluster exec shop/client -- ping -c 2 -i 0.2 "$web"
printf '$ TCP client -> web:80 answers: '; cluster exec shop/client -- socat -T 2 - "TCP:$web:80" </dev/null

say "across nodes: client (node1) -> db (node2) over VXLAN"
run cluster exec shop/client -- ping -c 2 -i 0.2 "$db"
printf '$ TCP client -> db:5432 answers: '; cluster exec shop/client -- socat -T 2 - "TCP:$db:5432" </dev/null
printf '$ UDP client -> db:53 answers: '; echo q | cluster exec shop/client -- socat -T 2 - "UDP:$db:53"

say "what node1's agent learnt from the API server"
run ctl node1 k8s status
run ctl node1 node list
run ctl node1 ipcache list

say "anti-spoofing: client sends from an address that is not its own"
cluster exec shop/client -- ip addr add 10.244.0.250/32 dev eth0
run cluster exec shop/client -- ping -c 2 -i 0.2 -W 1 -I 10.244.0.250 "$db" || true
run ctl node1 drops

say "NetworkPolicy: db accepts connections only from pods labelled app=web"
cat >"$PORIN_CLUSTER_DIR/db-policy.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: sql}]
EOF
cat "$PORIN_CLUSTER_DIR/db-policy.yaml"
run cluster kubectl apply -f "$PORIN_CLUSTER_DIR/db-policy.yaml"
sleep 0.5
printf '$ TCP web -> db:5432 (allowed) answers: '; cluster exec shop/web -- socat -T 2 - "TCP:$db:5432" </dev/null
printf '$ TCP client -> db:5432 (denied): '
cluster exec shop/client -- socat -T 1 - "TCP:$db:5432,connect-timeout=1" </dev/null 2>/dev/null ||
	echo "no answer: dropped by db's node"
printf '$ UDP client -> db:53 (no rule for it, denied): '
echo q | cluster exec shop/client -- socat -T 1 - "UDP:$db:53" 2>/dev/null | grep . || echo "no answer"
run ctl node2 drops
run ctl node2 policy trace --from shop/client --to shop/db --port 5432/TCP
run ctl node2 policy trace --from shop/web --to shop/db --port 5432/TCP
say "the same question offline, from a snapshot of the API objects (no agent, no kernel)"
cluster kubectl get pods,namespaces,networkpolicies -A -o json >"$PORIN_CLUSTER_DIR/snapshot.json"
run "$BIN/porinctl" policy trace --offline "$PORIN_CLUSTER_DIR/snapshot.json" --all --port 5432/TCP

say "deleting db (CNI DEL + API delete): its IP leaves every node's ipcache"
run cluster pod del shop/db
sleep 0.5
run ctl node1 ipcache list

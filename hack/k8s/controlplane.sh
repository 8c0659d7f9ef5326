#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A real Kubernetes control plane on this machine, for tests, benchmarks and
# the demo: etcd (Debian), kube-apiserver, kube-controller-manager and
# kube-scheduler (built from the k8s.io/kubernetes module by build.sh).
#
#   hack/k8s/controlplane.sh up DIR     start it; everything lives under DIR
#   hack/k8s/controlplane.sh down DIR   stop every process, remove DIR
#   hack/k8s/controlplane.sh stop-apiserver DIR    kill kube-apiserver only
#   hack/k8s/controlplane.sh start-apiserver DIR   start it again, same flags
#   hack/k8s/controlplane.sh restart-apiserver DIR both (tests of watches
#                                                  surviving an outage)
#
# After `up`, DIR holds:
#   admin.kubeconfig   cluster-admin credentials (kubectl --kubeconfig)
#   agent.token        a bearer token for the user "porin-agent" (no rights
#                      until manifests/ bind it)
#   pki/ca.crt         the cluster CA
#   env                APISERVER=https://ADDR:PORT, KUBECTL=..., BIN=...,
#                      ETCD_ENDPOINT=http://127.0.0.1:PORT (etcdctl --endpoints)
#
# Knobs (environment): ADDRESS (default 127.0.0.1, the address the apiserver
# binds and advertises), APISERVER_PORT / ETCD_PORT (default: free ports),
# CLUSTER_CIDR (10.244.0.0/16), SERVICE_CIDR (10.96.0.0/16),
# NODE_CIDR_MASK (24).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# cert NAME SUBJECT EXT_KEY_USAGE [SAN]: a leaf certificate signed by the CA.
cert() {
	local name=$1 subj=$2 eku=$3 san=${4:-}
	openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$eku"
		[ -n "$san" ] && echo "subjectAltName=$san"
	} >"$name.ext"
	openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 \
		-out "$name.crt" -extfile "$name.ext" 2>/dev/null
	rm -f "$name.csr" "$name.ext"
}

# kubeconfig FILE USER: client-certificate credentials for USER.
kubeconfig() {
	local f=$1 user=$2
	cat >"$f" <<KC
apiVersion: v1
kind: Config
clusters:
- name: porin
  cluster:
    server: $APISERVER
    certificate-authority: $DIR/pki/ca.crt
users:
- name: $user
  user:
    client-certificate: $DIR/pki/$user.crt
    client-key: $DIR/pki/$user.key
contexts:
- name: porin
  context: {cluster: porin, user: $user}
current-context: porin
KC
}

start() { # start NAME CMD...: run in the background, log and pid under DIR
	local name=$1; shift
	"$@" >"$DIR/log/$name.log" 2>&1 &
	echo $! >"$DIR/pids/$name"
}

wait_ready() { # wait_ready WHAT SECONDS CMD...
	local what=$1 secs=$2; shift 2
	for _ in $(seq 1 $((secs * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "$what did not become ready in ${secs}s; log tail:" >&2
	tail -20 "$DIR/log/$what.log" >&2
	return 1
}

up() {
	local bin
	bin=$("$HERE/build.sh")
	ADDRESS=${ADDRESS:-127.0.0.1}
	local api_port=${APISERVER_PORT:-$(free_port)}
	local etcd_port=${ETCD_PORT:-$(free_port)} etcd_peer
	etcd_peer=$(free_port)
	APISERVER=https://$ADDRESS:$api_port
	mkdir -p "$DIR/pki" "$DIR/log" "$DIR/pids" "$DIR/etcd"
	chmod 700 "$DIR"

	(
		cd "$DIR/pki"
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 365 \
			-subj "/CN=porin-test-ca" 2>/dev/null
		cert apiserver "/CN=kube-apiserver" serverAuth \
			"DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:localhost,IP:127.0.0.1,IP:$ADDRESS,IP:${SERVICE_CIDR_FIRST:-10.96.0.1}"
		cert admin "/O=system:masters/CN=admin" clientAuth
		cert kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
		cert kube-scheduler "/CN=system:kube-scheduler" clientAuth
		openssl genrsa -out sa.key 2048 2>/dev/null
		openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
	)
	kubeconfig "$DIR/admin.kubeconfig" admin
	kubeconfig "$DIR/kcm.kubeconfig" kube-controller-manager
	kubeconfig "$DIR/scheduler.kubeconfig" kube-scheduler
	openssl rand -hex 24 >"$DIR/agent.token"
	echo "$(cat "$DIR/agent.token"),porin-agent,porin-agent" >"$DIR/tokens.csv"
	chmod 600 "$DIR/tokens.csv" "$DIR/agent.token"

	start etcd etcd --name porin --data-dir "$DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$etcd_port" \
		--advertise-client-urls "http://127.0.0.1:$etcd_port" \
		--listen-peer-urls "http://127.0.0.1:$etcd_peer" \
		--initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
		--initial-cluster "porin=http://127.0.0.1:$etcd_peer" --log-level warn
	wait_ready etcd 20 etcdctl --endpoints "127.0.0.1:$etcd_port" endpoint health

	# Kept so start-apiserver can bring it back with the same flags.
	local apiserver_cmd=("$bin/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$etcd_port" \
		--bind-address "$ADDRESS" --advertise-address "$ADDRESS" --secure-port "$api_port" \
		--tls-cert-file "$DIR/pki/apiserver.crt" --tls-private-key-file "$DIR/pki/apiserver.key" \
		--client-ca-file "$DIR/pki/ca.crt" \
		--service-account-issuer https://kubernetes.default.svc \
		--service-account-key-file "$DIR/pki/sa.pub" \
		--service-account-signing-key-file "$DIR/pki/sa.key" \
		--service-cluster-ip-range "${SERVICE_CIDR:-10.96.0.0/16}" \
		--authorization-mode Node,RBAC --token-auth-file "$DIR/tokens.csv" \
		--allow-privileged=true --profiling=false --v=1)
	printf '%q ' "${apiserver_cmd[@]}" >"$DIR/apiserver.cmd"
	start kube-apiserver "${apiserver_cmd[@]}"
	wait_ready kube-apiserver 90 "$bin/kubectl" --kubeconfig "$DIR/admin.kubeconfig" get --raw /readyz

	start kube-controller-manager "$bin/kube-controller-manager" \
		--kubeconfig "$DIR/kcm.kubeconfig" \
		--authentication-kubeconfig "$DIR/kcm.kubeconfig" \
		--authorization-kubeconfig "$DIR/kcm.kubeconfig" \
		--bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
		--use-service-account-credentials=true \
		--service-account-private-key-file "$DIR/pki/sa.key" --root-ca-file "$DIR/pki/ca.crt" \
		--service-cluster-ip-range "${SERVICE_CIDR:-10.96.0.0/16}" \
		--allocate-node-cidrs=true --cluster-cidr "${CLUSTER_CIDR:-10.244.0.0/16}" \
		--node-cidr-mask-size "${NODE_CIDR_MASK:-24}" --v=1 \
		--controllers '*,-node-lifecycle-controller'
	# No kubelet posts node heartbeats here (hack/cluster plays its part for
	# pod networking only), so node-lifecycle would taint every node and
	# evict its pods after five minutes: it is off.
	start kube-scheduler "$bin/kube-scheduler" \
		--kubeconfig "$DIR/scheduler.kubeconfig" \
		--authentication-kubeconfig "$DIR/scheduler.kubeconfig" \
		--authorization-kubeconfig "$DIR/scheduler.kubeconfig" \
		--bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --v=1

	cat >"$DIR/env" <<ENV
APISERVER=$APISERVER
BIN=$bin
KUBECTL="$bin/kubectl --kubeconfig $DIR/admin.kubeconfig"
ETCD_ENDPOINT=http://127.0.0.1:$etcd_port
ENV
	echo "control plane up: $APISERVER (kubectl --kubeconfig $DIR/admin.kubeconfig)"
}

stop_pid() { # stop_pid NAME: TERM, then KILL after 5 s
	local pid
	[ -s "$DIR/pids/$1" ] || return 0
	pid=$(cat "$DIR/pids/$1")
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}

stop-apiserver() {
	stop_pid kube-apiserver
	: >"$DIR/pids/kube-apiserver"
}

start-apiserver() {
	local bin
	bin=$(. "$DIR/env" && echo "$BIN")
	[ -s "$DIR/apiserver.cmd" ] || { echo "no apiserver.cmd in $DIR" >&2; return 1; }
	eval "start kube-apiserver $(cat "$DIR/apiserver.cmd")"
	wait_ready kube-apiserver 90 "$bin/kubectl" --kubeconfig "$DIR/admin.kubeconfig" get --raw /readyz
}

restart-apiserver() {
	stop-apiserver
	start-apiserver
}

down() {
	local p pid
	[ -d "$DIR/pids" ] || { rm -rf "$DIR"; return 0; }
	# Reverse start order: the apiserver's clients first, etcd last.
	for p in kube-scheduler kube-controller-manager kube-apiserver etcd; do
		[ -s "$DIR/pids/$p" ] || continue
		pid=$(cat "$DIR/pids/$p")
		kill "$pid" 2>/dev/null || continue
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	rm -rf "$DIR"
}

case "${1:-}" in
up|down|stop-apiserver|start-apiserver|restart-apiserver)
	[ $# -eq 2 ] || { echo "usage: $0 up|down|{stop,start,restart}-apiserver DIR" >&2; exit 2; }
	DIR=$(mkdir -p "$2" && cd "$2" && pwd)
	"$1"
	;;
*)
	echo "usage: $0 up|down|{stop,start,restart}-apiserver DIR" >&2
	exit 2
	;;
esac

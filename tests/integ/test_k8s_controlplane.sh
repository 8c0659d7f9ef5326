#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The real control plane porin's Kubernetes tests stand on: built from the
# pinned k8s.io/kubernetes module, up on loopback, allocating node pod CIDRs,
# and gone without a trace after `down`.
. "$(dirname "$0")/lib.sh"

t_controlplane_allocates_pod_cidrs_and_stops_cleanly() {
	cp=$T/cp
	# The test body runs in a subshell: its own EXIT trap stops the control
	# plane even when an assertion fails half-way.
	trap '"$TOP/hack/k8s/controlplane.sh" down "$cp"' EXIT
	"$TOP/hack/k8s/controlplane.sh" up "$cp" >/dev/null
	. "$cp/env"
	pids=$(cat "$cp"/pids/*)

	printf 'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n' | $KUBECTL apply -f - >/dev/null
	for _ in $(seq 1 60); do
		cidr=$($KUBECTL get node n1 -o jsonpath='{.spec.podCIDR}')
		[ -n "$cidr" ] && break
		sleep 0.5
	done
	[ "$cidr" = 10.244.0.0/24 ] || fail "node-ipam gave n1 '$cidr'"

	# The agent's token authenticates but holds no rights until RBAC binds it.
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$cp/pki/ca.crt" \
		-H "Authorization: Bearer $(cat "$cp/agent.token")" "$APISERVER/api/v1/pods")
	[ "$code" = 403 ] || fail "agent token without RBAC answered $code"

	"$TOP/hack/k8s/controlplane.sh" down "$cp"
	for p in $pids; do kill -0 "$p" 2>/dev/null && fail "process $p survived down"; done
	[ ! -e "$cp" ] || fail "$cp left behind"
}

# manifests/ grant the agent exactly the reads it needs, and nothing more.
t_manifests_grant_least_privilege() {
	cp=$T/cp
	trap '"$TOP/hack/k8s/controlplane.sh" down "$cp"' EXIT
	"$TOP/hack/k8s/controlplane.sh" up "$cp" >/dev/null
	. "$cp/env"
	$KUBECTL apply -f "$TOP/manifests/" >/dev/null
	sa=system:serviceaccount:kube-system:porin-agent
	can() { $KUBECTL auth can-i --as "$sa" "$@" 2>/dev/null; }
	for r in pods namespaces nodes services endpointslices.discovery.k8s.io \
		networkpolicies.networking.k8s.io; do
		for v in get list watch; do
			[ "$(can "$v" "$r" -A)" = yes ] || fail "agent cannot $v $r"
		done
		for v in create update patch delete; do
			[ "$(can "$v" "$r" -A)" = no ] || fail "agent may $v $r"
		done
	done
	for r in secrets configmaps serviceaccounts/token; do
		[ "$(can get "$r" -A)" = no ] || fail "agent may read $r"
	done
}

run_tests

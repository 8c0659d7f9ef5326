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

run_tests

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the upstream Kubernetes binaries porin tests against, from the
# k8s.io/kubernetes Go module at a pinned version, and cache them outside the
# repository.  A second run with the same version finds the cache and returns
# at once.
#
#   hack/k8s/build.sh            build (or reuse) and print the bin directory
#
# The k8s.io/kubernetes module requires its staging modules at v0.0.0 through
# relative replaces, so it cannot be `go install`ed; a throw-away module that
# requires it and replaces each staging module with its published v0.X.Y
# (which tracks v1.X.Y) builds it.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.33.13}
CACHE=${PORIN_CACHE:-/var/cache/porin}
dir=$CACHE/k8s-$K8S_VERSION
bin=$dir/bin
commands=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

have_all() {
	for c in "${commands[@]}"; do [ -x "$bin/$c" ] || return 1; done
}
if have_all; then
	echo "$bin"
	exit 0
fi

staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
	cloud-provider cluster-bootstrap code-generator component-base component-helpers
	controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
	endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
	kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission
	sample-apiserver sample-cli-plugin sample-controller)
staging_version=v0.${K8S_VERSION#v1.}

mkdir -p "$dir/src" "$bin"
cd "$dir/src"
{
	echo "module local/porin-k8s-build"
	echo
	echo "go 1.24.0"
	echo
	echo "godebug default=go1.24"
	echo
	echo "require k8s.io/kubernetes $K8S_VERSION"
	echo
	echo "replace ("
	for m in "${staging[@]}"; do echo "	k8s.io/$m => k8s.io/$m $staging_version"; done
	echo ")"
	echo
	echo "tool ("
	for c in "${commands[@]}"; do echo "	k8s.io/kubernetes/cmd/$c"; done
	echo ")"
} >go.mod

export GOTOOLCHAIN=local GOFLAGS=-mod=mod
echo "building Kubernetes $K8S_VERSION into $bin (first time: tens of minutes)" >&2
go mod tidy >&2
for c in "${commands[@]}"; do
	[ -x "$bin/$c" ] && continue
	echo "  go build $c" >&2
	go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION" \
		-o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c" >&2
	mv "$bin/$c.tmp" "$bin/$c"
done
echo "$bin"

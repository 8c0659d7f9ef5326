#!/usr/bin/env bash
# Install the Debian packages porin builds, tests and benchmarks with, when
# any is missing.  Quiet when everything is there.
set -euo pipefail

packages=(
	make gcc clang llvm bpftool pkg-config
	libbpf-dev libelf-dev zlib1g-dev libmnl-dev libjansson-dev libcurl4-openssl-dev
	libyaml-dev libcmocka-dev libnftables-dev
	iproute2 iputils-ping netcat-openbsd socat python3 jq nftables
	containernetworking-plugins iperf3
	openssl curl etcd-server etcd-client
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# etcd-server's postinst starts a system etcd on :2379 where no init system
# stops it; tests run their own.  A policy-rc.d that says "no" prevents it.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ -n "$own_policy" ] && rm -f "$policy"
true

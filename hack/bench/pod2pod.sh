#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Same-node pod-to-pod TCP: throughput (iperf3), 1-byte request/response
# latency and connect+close latency (hack/bench/tcp_rr.c), for three setups
# of two pods each, measured in interleaved runs:
#   base    two netns joined to the node netns by veths, /32 addresses, host
#           routes, proxy ARP and ip_forward: plain kernel routing, no BPF
#   bridge  the reference bridge plugin with host-local IPAM
#   porin   two pods through the porin CNI plugin and agent
# Then porin's own datapath cost: a porin-only pass with
# kernel.bpf_stats_enabled=1 (ns per program run under real traffic) and
# BPF_PROG_TEST_RUN of from_container on a representative packet.
#
# Env: RUNS (5), DURATION (5 s per iperf3 run), RR_N (20000 round trips),
# CC_N (1000 connections), TEST_RUNS (200 BPF test runs), and
# BIN/PORIN/PORIN_AGENT/PORINCTL/OUT (lib.sh).
# Writes $OUT/pod2pod.tsv (run cfg metric value) and $OUT/pod2pod_bpf.tsv.
source "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
RR_N=${RR_N:-20000}
CC_N=${CC_N:-1000}
TEST_RUNS=${TEST_RUNS:-200}
IPERF_PORT=5201
RR_PORT=7777

bench_init pod2pod
helpers_init
node_init

declare -A SRC_NS DST_NS DST_IP

setup_base() {
	local i ns h
	for i in 1 2; do
		ns=pbench-p-base-$i
		h=pbench-b$i
		ip netns add "$ns"
		ip -n "$NODE" link add "$h" type veth peer name eth0 netns "$ns"
		in_node sysctl -qw "net.ipv4.conf.$h.proxy_arp=1" "net.ipv4.neigh.$h.proxy_delay=0"
		ip -n "$NODE" link set "$h" up
		ip -n "$ns" link set lo up
		ip -n "$ns" link set eth0 up
		ip -n "$ns" addr add "10.252.0.$i/32" dev eth0
		ip -n "$ns" route add default dev eth0
		ip -n "$NODE" route add "10.252.0.$i/32" dev "$h"
	done
	SRC_NS[base]=pbench-p-base-1
	DST_NS[base]=pbench-p-base-2
	DST_IP[base]=10.252.0.2
}

# setup_cni CFG PLUGIN CONF: two pods through a CNI plugin.
setup_cni() {
	local cfg=$1 plugin=$2 conf=$3 i ns
	for i in 1 2; do
		ns=pbench-p-$cfg-$i
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		cni_call ADD "$plugin" "$conf" "$ns" "$(container_id "$ns")" "$WORK/$cfg-$i.json" \
			>/dev/null || cni_fail "$cfg ADD $ns" "$WORK/$cfg-$i.json"
		# DEL before the netns goes, so the plugin can release what it holds.
		del_conf "$conf" "$WORK/$cfg-$i.json" "$WORK/$cfg-$i.del"
		defer "cni_call DEL '$plugin' '$WORK/$cfg-$i.del' '$ns' '$(container_id "$ns")' /dev/null"
	done
	SRC_NS[$cfg]=pbench-p-$cfg-1
	DST_NS[$cfg]=pbench-p-$cfg-2
	DST_IP[$cfg]=$(result_ip "$WORK/$cfg-2.json")
}

start_servers() {
	local cfg=$1 ns=${DST_NS[$1]} i
	ip netns exec "$ns" iperf3 -s -p $IPERF_PORT >"$WORK/iperf3-$cfg.log" 2>&1 9<&- &
	defer "kill $!"
	ip netns exec "$ns" "$HELPERS/tcp_rr" -s -p $RR_PORT >"$WORK/tcp_rr-$cfg.log" 2>&1 9<&- &
	defer "kill $!"
	for ((i = 0; i < 50; i++)); do
		ip netns exec "$ns" ss -Hltn "sport = :$IPERF_PORT" | grep -q . && break
		sleep 0.1
	done
	ip netns exec "${SRC_NS[$cfg]}" ping -q -c 1 -W 2 "${DST_IP[$cfg]}" >/dev/null ||
		die "$cfg: ${SRC_NS[$cfg]} cannot reach ${DST_IP[$cfg]}"
}

cfgs=(base bridge)
setup_base
jq -nc --arg dir "$WORK/ipam" '{cniVersion: "1.0.0", name: "brbench", type: "bridge",
	bridge: "pbench-br0", isGateway: true, ipMasq: false, mtu: 1500,
	ipam: {type: "host-local", subnet: "10.253.0.0/24", dataDir: $dir}}' >"$WORK/bridge.conf"
setup_cni bridge "$CNI_BIN/bridge" "$WORK/bridge.conf"
if porin_present; then
	porin_agent_start
	setup_cni porin "$PORIN" "$PORIN_CONF"
	cfgs+=(porin)
else
	log "porin not found at $PORIN (+ porin-agent, porinctl): measuring the baselines only; set BIN="
fi
for cfg in "${cfgs[@]}"; do
	start_servers "$cfg"
done

samples=$OUT/pod2pod.tsv
printf 'run\tcfg\tmetric\tvalue\n' >"$samples"

measure() { # CFG RUN
	local cfg=$1 run=$2 src=${SRC_NS[$1]} dst=${DST_IP[$1]} gbps line kv
	gbps=$(ip netns exec "$src" iperf3 -c "$dst" -p $IPERF_PORT -t "$DURATION" -J |
		jq '.end.sum_received.bits_per_second / 1e9')
	printf '%d\t%s\tgbps\t%s\n' "$run" "$cfg" "$gbps" >>"$samples"
	line=$(ip netns exec "$src" "$HELPERS/tcp_rr" -c "$dst" -p $RR_PORT -n "$RR_N" -C "$CC_N")
	for kv in $line; do
		case $kv in *_n=*) continue ;; esac
		printf '%d\t%s\t%s\t%s\n' "$run" "$cfg" "${kv%%=*}" "${kv#*=}" >>"$samples"
	done
	log "pod2pod: run $run $cfg: $(printf %.2f "$gbps") Gbit/s, $line"
}

# Rotate the order every run, so no setup always follows the same one.
for ((run = 1; run <= RUNS; run++)); do
	n=${#cfgs[@]}
	for ((k = 0; k < n; k++)); do
		measure "${cfgs[$(((run - 1 + k) % n))]}" "$run"
	done
done

# --- porin's own cost per program run -------------------------------------------
bpf_snapshot() { # every pinned program under the root: "path run_time_ns run_cnt"
	local f
	find "$PORIN_ROOT" -type f | sort | while read -r f; do
		bpftool prog show pinned "$f" -j 2>/dev/null |
			jq -r --arg f "${f#"$PORIN_ROOT"/}" \
				'select(.id) | "\($f) \(.run_time_ns // 0) \(.run_cnt // 0)"' ||
			true
	done
}

bpf_delta() { # PHASE BEFORE AFTER
	join <(sort "$2") <(sort "$3") |
		awk -v ph="$1" '{printf "%s\t%s\t%d\t%d\n", $1, ph, $5 - $3, $4 - $2}' \
			>>"$OUT/pod2pod_bpf.tsv"
}

# bpf_test_run: from_container on one representative packet, through
# BPF_PROG_TEST_RUN with repeat (bpftool prog run): a 67-byte TCP segment
# (1 byte of payload, timestamps) from porin pod 1 to pod 2, arriving on pod
# 1's host veth, so it takes the full pod-to-pod path (endpoint lookups,
# anti-spoofing, MAC rewrite, TTL, bpf_redirect_peer).  The repeats run on
# the same buffer and the program decrements the TTL, so a run is TTL 255
# and 254 repeats, all on the forwarding path; prints a tsv line with the
# median over TEST_RUNS runs.
bpf_test_run() {
	local host_if ifindex i
	host_if=$(jq -r '[.interfaces[] | select(.sandbox == null)][0].name' "$WORK/porin-1.json")
	ifindex=$(ip -n "$NODE" -j link show dev "$host_if" | jq '.[0].ifindex')
	python3 - "$WORK" "$(result_ip "$WORK/porin-1.json")" "${DST_IP[porin]}" "$ifindex" <<-'PY'
		import socket, struct, sys
		work, src, dst, ifindex = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
		tcp = struct.pack("!HHIIBBHHH", 40000, 7777, 1, 1, 8 << 4, 0x18, 502, 0, 0)
		tcp += b"\x01\x01\x08\x0a" + struct.pack("!II", 1, 1) + b"x"
		ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 255, 6, 0,
		                 socket.inet_aton(src), socket.inet_aton(dst))
		csum = sum(struct.unpack("!10H", ip))
		csum = (csum & 0xffff) + (csum >> 16)
		ip = ip[:10] + struct.pack("!H", ~(csum + (csum >> 16)) & 0xffff) + ip[12:]
		eth = bytes.fromhex("eeeeeeeeeeee" "020000000001" "0800")
		open(f"{work}/pkt", "wb").write(eth + ip + tcp)
		# struct __sk_buff up to ifindex (offset 40): the veth the packet came in on
		open(f"{work}/ctx", "wb").write(bytes(40) + struct.pack("=I", ifindex))
	PY
	for ((i = 0; i < TEST_RUNS; i++)); do
		in_node bpftool -j prog run pinned "$PORIN_ROOT/prog_from_container" \
			data_in "$WORK/pkt" ctx_in "$WORK/ctx" repeat 254
		echo
	done | jq -r '"\(.duration) \(.retval)"' | sort -n | awk -v n="$TEST_RUNS" '
		{ d[NR] = $1; rv[$2] = 1 }
		END {
			for (r in rv) v = v (v == "" ? "" : ",") r
			printf "prog_from_container\ttest run: 67-byte TCP segment pod to pod, retval %s\t%d\t%d\n",
				v, n * 254, d[int((NR + 1) / 2)] * n * 254
		}'
}

if [[ " ${cfgs[*]} " == *" porin "* ]]; then
	log "pod2pod: porin with kernel.bpf_stats_enabled=1"
	printf 'prog\tphase\trun_cnt\trun_time_ns\n' >"$OUT/pod2pod_bpf.tsv"
	stats_was=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl_set kernel.bpf_stats_enabled 1
	src=${SRC_NS[porin]}
	dst=${DST_IP[porin]}
	bpf_snapshot >"$WORK/bpf0"
	ip netns exec "$src" iperf3 -c "$dst" -p $IPERF_PORT -t "$DURATION" >/dev/null
	bpf_snapshot >"$WORK/bpf1"
	ip netns exec "$src" "$HELPERS/tcp_rr" -c "$dst" -p $RR_PORT -n "$RR_N" >/dev/null
	bpf_snapshot >"$WORK/bpf2"
	ip netns exec "$src" "$HELPERS/tcp_rr" -c "$dst" -p $RR_PORT -n 1 -w 0 -C "$CC_N" >/dev/null
	bpf_snapshot >"$WORK/bpf3"
	sysctl -qw "kernel.bpf_stats_enabled=$stats_was"
	bpf_delta "iperf3 (GSO skbs)" "$WORK/bpf0" "$WORK/bpf1"
	bpf_delta "1-byte request/response" "$WORK/bpf1" "$WORK/bpf2"
	bpf_delta "connect+close" "$WORK/bpf2" "$WORK/bpf3"
	bpf_test_run >>"$OUT/pod2pod_bpf.tsv"
else
	rm -f "$OUT/pod2pod_bpf.tsv"
fi

log "pod2pod: done; samples in $samples"

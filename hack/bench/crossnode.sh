#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-node pod-to-pod TCP: iperf3 throughput and 1-byte request/response
# latency (hack/bench/tcp_rr.c) between a pod on node 1 and a pod on node 2,
# three setups on one underlay bridge (MTU 1500), measured interleaved:
#   base    two netns per node joined by veths and plain kernel routing:
#           /32 host routes, proxy ARP, "pod CIDR via node IP" between the
#           nodes; no BPF, no encapsulation (pod MTU 1500)
#   native  porin agents --routing native (pod MTU 1500)
#   vxlan   porin agents --routing vxlan (pod MTU 1450, VXLAN on UDP 8472)
# Env: RUNS (5), DURATION (5 s), RR_N (20000); BIN/PORIN/... and OUT (lib.sh).
# Writes $OUT/crossnode.tsv (run cfg metric value) and $OUT/crossnode.md.
source "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
RR_N=${RR_N:-20000}
IPERF_PORT=5201
RR_PORT=7777
UL=pbench-ul

bench_init crossnode
helpers_init
porin_present || die "porin binaries not found under $BIN"

declare -A SRC_NS DST_NS DST_IP

ip netns add $UL
ip -n $UL link add br0 type bridge
ip -n $UL link set br0 up

# node CFG I IP: a node netns on the underlay.
node() {
	local ns=pbench-$1-n$2
	ip netns add "$ns"
	ip -n $UL link add "$1$2" type veth peer name eth0 netns "$ns"
	ip -n $UL link set "$1$2" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	ip -n "$ns" addr add "$3/24" dev eth0
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
}

setup_base() {
	local i ns pod
	for i in 1 2; do
		node base "$i" "172.30.0.1$i"
		ns=pbench-base-n$i pod=pbench-base-p$i
		ip netns add "$pod"
		ip -n "$ns" link add veth0 type veth peer name eth0 netns "$pod"
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.veth0.proxy_arp=1 \
			net.ipv4.neigh.veth0.proxy_delay=0
		ip -n "$ns" link set veth0 up
		ip -n "$pod" link set lo up
		ip -n "$pod" link set eth0 up
		ip -n "$pod" addr add "10.251.$i.5/32" dev eth0
		ip -n "$pod" route add default dev eth0
		ip -n "$ns" route add "10.251.$i.5/32" dev veth0
	done
	ip -n pbench-base-n1 route add 10.251.2.0/24 via 172.30.0.12
	ip -n pbench-base-n2 route add 10.251.1.0/24 via 172.30.0.11
	SRC_NS[base]=pbench-base-p1 DST_NS[base]=pbench-base-p2 DST_IP[base]=10.251.2.5
}

# setup_porin MODE NET H: two agents (node IPs 172.30.0.H1/H2, pod CIDRs
# 10.NET.1/2.0/24), one pod each.
setup_porin() {
	local mode=$1 k=$2 h=$3 i ns d conf mtu sock out
	for i in 1 2; do
		node "$mode" "$i" "172.30.0.$h$i"
		ns=pbench-$mode-n$i d=$WORK/$mode-n$i sock=$WORK/$mode-n$i/state/porin.sock
		mkdir -p "$d/bpf" "$d/state"
		mount -t bpf bpf "$d/bpf"
		defer "umount -l '$d/bpf'"
		nsenter --net="/var/run/netns/$ns" "$PORIN_AGENT" --pod-cidr "10.$k.$i.0/24" \
			--cluster-cidr "10.$k.0.0/16" --node-name "n$i" --node-ip "172.30.0.$h$i" \
			--routing "$mode" --bpf-root "$d/bpf/porin" --state-dir "$d/state" \
			--socket "$sock" >"$OUT/porin-agent.crossnode-$mode-$i.log" 2>&1 9<&- &
		defer "kill $!"
		for _ in $(seq 1 200); do "$PORINCTL" --socket "$sock" status >/dev/null 2>&1 && break; sleep 0.05; done
		mtu=$("$PORINCTL" --socket "$sock" status -o json | jq .mtu)
		ip netns add "pbench-$mode-p$i"
		conf=$(printf '{"cniVersion":"1.0.0","name":"porin","type":"porin","mtu":%s,"agentSocket":"%s","bpfRoot":"%s"}' \
			"$mtu" "$sock" "$d/bpf/porin")
		out=$(nsenter --net="/var/run/netns/$ns" env CNI_COMMAND=ADD CNI_CONTAINERID="c$mode$i" \
			CNI_NETNS="/var/run/netns/pbench-$mode-p$i" CNI_IFNAME=eth0 CNI_PATH="$BIN" \
			"$PORIN" <<<"$conf" 2>>"$WORK/cni.log") || die "$mode: ADD on node $i: $out"
		DST_IP[$mode]=$(jq -r '.ips[0].address | split("/")[0]' <<<"$out")
	done
	"$PORINCTL" --socket "$WORK/$mode-n1/state/porin.sock" node upsert n2 "172.30.0.${h}2" "10.$k.2.0/24" >/dev/null
	"$PORINCTL" --socket "$WORK/$mode-n2/state/porin.sock" node upsert n1 "172.30.0.${h}1" "10.$k.1.0/24" >/dev/null
	SRC_NS[$mode]=pbench-$mode-p1 DST_NS[$mode]=pbench-$mode-p2
}

setup_base
setup_porin native 246 3
setup_porin vxlan 245 2
cfgs=(base native vxlan)

for cfg in "${cfgs[@]}"; do
	ip netns exec "${DST_NS[$cfg]}" iperf3 -s -p $IPERF_PORT >/dev/null 2>&1 9<&- &
	defer "kill $!"
	ip netns exec "${DST_NS[$cfg]}" "$HELPERS/tcp_rr" -s -p $RR_PORT >/dev/null 2>&1 9<&- &
	defer "kill $!"
done
sleep 0.5
for cfg in "${cfgs[@]}"; do
	ip netns exec "${SRC_NS[$cfg]}" ping -q -c 1 -W 2 "${DST_IP[$cfg]}" >/dev/null ||
		die "$cfg: ${SRC_NS[$cfg]} cannot reach ${DST_IP[$cfg]}"
done

samples=$OUT/crossnode.tsv
printf 'run\tcfg\tmetric\tvalue\n' >"$samples"
measure() { # CFG RUN
	local cfg=$1 run=$2 src=${SRC_NS[$1]} dst=${DST_IP[$1]} gbps line kv
	gbps=$(ip netns exec "$src" iperf3 -c "$dst" -p $IPERF_PORT -t "$DURATION" -J |
		jq '.end.sum_received.bits_per_second / 1e9')
	printf '%d\t%s\tgbps\t%s\n' "$run" "$cfg" "$gbps" >>"$samples"
	line=$(ip netns exec "$src" "$HELPERS/tcp_rr" -c "$dst" -p $RR_PORT -n "$RR_N")
	for kv in $line; do
		case $kv in *_n=*) continue ;; esac
		printf '%d\t%s\t%s\t%s\n' "$run" "$cfg" "${kv%%=*}" "${kv#*=}" >>"$samples"
	done
	log "crossnode: run $run $cfg: $(printf %.2f "$gbps") Gbit/s, $line"
}
for ((run = 1; run <= RUNS; run++)); do
	for ((k = 0; k < 3; k++)); do
		measure "${cfgs[$(((run - 1 + k) % 3))]}" "$run"
	done
done

python3 - "$samples" >"$OUT/crossnode.md" <<-'PY'
	import csv, statistics, sys
	rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
	by = {}
	for r in rows:
	    by.setdefault((r["cfg"], r["metric"]), {})[int(r["run"])] = float(r["value"])
	metrics = sorted({m for _, m in by})
	cfgs = ["base", "native", "vxlan"]
	print("### Cross-node pod to pod (median of runs; ratio = porin / base per run, median [min-max])\n")
	print("| metric | " + " | ".join(cfgs) + " | native/base | vxlan/base |")
	print("|---|" + "---|" * (len(cfgs) + 2))
	for m in metrics:
	    med = [statistics.median(by[(c, m)].values()) if (c, m) in by else float("nan") for c in cfgs]
	    ratios = []
	    for c in ("native", "vxlan"):
	        b, p = by.get(("base", m), {}), by.get((c, m), {})
	        rs = sorted(p[k] / b[k] for k in p if k in b and b[k])
	        ratios.append(f"{statistics.median(rs):.2f} [{rs[0]:.2f}-{rs[-1]:.2f}]" if rs else "n/a")
	    print(f"| {m} | " + " | ".join(f"{v:.3g}" for v in med) + " | " + " | ".join(ratios) + " |")
PY
cat "$OUT/crossnode.md"
log "crossnode: done; samples in $samples"

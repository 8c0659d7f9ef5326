#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# porin-agent against a real kube-apiserver with many pods: the agent's
# memory (VmRSS, VmHWM) and CPU time with 1,000 and 10,000 Pod objects on
# other nodes (each in the ipcache), and the time from a pod's status update
# (new podIP) to its ipcache entry.  See docs/benchmarks.md.
#
#   hack/bench/agent_scale.sh          (run.sh --only agent runs this)
#
# PODS_STEPS="1000 10000" (cumulative pod counts), LAT_N=60 updates, NODES=10.
source "$(dirname "$0")/lib.sh"

PODS_STEPS=${PODS_STEPS:-1000 10000}
# POLL=bpftool (default) or syscall: how the latency probe polls pn_ipcache.
LAT_N=${LAT_N:-60}
NODES=${NODES:-10}
CP_ADDR=172.31.254.1

bench_init agent
porin_present || die "porin binaries not found under $BIN"
node_init
CP=$WORK/cp
defer "hack/k8s/controlplane.sh down '$CP'"

# The apiserver on the root end of a veth into the node netns.
ip link add pbench-cp type veth peer name eth-cp netns "$NODE"
ip addr add "$CP_ADDR/30" dev pbench-cp
ip link set pbench-cp up
in_node ip addr add 172.31.254.2/30 dev eth-cp
in_node ip link set eth-cp up
log "starting the control plane"
ADDRESS=$CP_ADDR hack/k8s/controlplane.sh up "$CP" >/dev/null 9<&-
KUBECTL=$(. "$CP/env" && echo "$KUBECTL")
$KUBECTL apply -f manifests/ >/dev/null
for _ in $(seq 1 100); do
	$KUBECTL -n default get serviceaccount default >/dev/null 2>&1 && break
	sleep 0.2
done

node() {
	printf 'apiVersion: v1\nkind: Node\nmetadata: {name: %s}\n' "$1" | $KUBECTL apply -f - >/dev/null
	$KUBECTL patch node "$1" --subresource=status --type=merge \
		-p "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$2\"}]}}" >/dev/null
}
node bench-self 172.31.254.2
for ((k = 0; k < NODES; k++)); do node "bench-n$k" "172.31.1.$((k + 1))"; done

# The agent, as the porin-agent ServiceAccount, pod CIDR from its Node.
token=$($KUBECTL -n kube-system create token porin-agent --duration 2h)
cat >"$WORK/agent.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "$(. "$CP/env" && echo "$APISERVER")", certificate-authority: "$CP/pki/ca.crt"}
users:
- name: porin-agent
  user: {token: "$token"}
contexts:
- name: x
  context: {cluster: c, user: porin-agent}
current-context: x
KC
state=$WORK/porin-state bpffs=$WORK/bpffs
mkdir -p "$state" "$bpffs"
mount -t bpf bpf "$bpffs"
defer "umount -l '$bpffs'"
PORIN_ROOT=$bpffs/porin PORIN_SOCK=$state/porin.sock
nsenter --net="/var/run/netns/$NODE" "$PORIN_AGENT" --kubeconfig "$WORK/agent.kubeconfig" \
	--node-name bench-self --bpf-root "$PORIN_ROOT" --state-dir "$state" \
	--socket "$PORIN_SOCK" >"$WORK/porin-agent.log" 2>&1 9<&- &
PORIN_AGENT_PID=$!
defer porin_agent_stop
for _ in $(seq 1 300); do
	[ "$("$PORINCTL" --socket "$PORIN_SOCK" status -o json 2>/dev/null | jq -r .ready)" = true ] && break
	sleep 0.1
done
[ "$("$PORINCTL" --socket "$PORIN_SOCK" status -o json | jq -r .ready)" = true ] ||
	die "agent not ready: $(tail -5 "$WORK/porin-agent.log")"

TSV=$OUT/agent_scale.tsv
printf 'pods\tremote_pods\tvmrss_kb\tvmhwm_kb\tcpu_s\tingest_s\n' >"$TSV"

# measure PODS INGEST_S: one row of the agent's memory and CPU.
measure() {
	local rss hwm cpu remote
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PORIN_AGENT_PID/status")
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$PORIN_AGENT_PID/status")
	cpu=$(awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' \
		"/proc/$PORIN_AGENT_PID/stat")
	remote=$("$PORINCTL" --socket "$PORIN_SOCK" k8s status -o json | jq .remote_pods)
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$remote" "$rss" "$hwm" "$cpu" "$2" >>"$TSV"
	log "pods=$1 remote_pods=$remote VmRSS=${rss}kB VmHWM=${hwm}kB cpu=${cpu}s ingest=${2}s"
}

remote_pods() { "$PORINCTL" --socket "$PORIN_SOCK" k8s status -o json | jq .remote_pods; }

measure 0 0
have=0
for n in $PODS_STEPS; do
	log "creating pods $have..$((n - 1)) with podIPs"
	t0=$(date +%s.%N)
	python3 hack/bench/k8s_load.py create --kubeconfig-dir "$CP" --from "$have" --to "$n" \
		--nodes "$NODES" 9<&-
	for _ in $(seq 1 600); do
		[ "$(remote_pods)" -ge "$n" ] && break
		sleep 0.1
	done
	[ "$(remote_pods)" -ge "$n" ] || die "agent has $(remote_pods) remote pods, want $n"
	measure "$n" "$(echo "$(date +%s.%N) - $t0" | bc)"
	have=$n
done

log "pod status update → ipcache entry, $LAT_N updates at $have pods"
POLL=${POLL:-bpftool} python3 -X faulthandler hack/bench/k8s_load.py latency --kubeconfig-dir "$CP" --bpf-root "$PORIN_ROOT" \
	--count "$LAT_N" --pods "$have" 9<&- >"$OUT/agent_latency.txt"
p50=$(median <"$OUT/agent_latency.txt")
p99=$(sort -g "$OUT/agent_latency.txt" | awk '{v[NR] = $1} END {i = int(NR * 0.99 + 0.999); if (i < 1) i = 1; print v[i]}')
measure "$have" 0
printf 'latency_ms\tp50=%s\tp99=%s\tn=%s\n' "$p50" "$p99" "$(wc -l <"$OUT/agent_latency.txt")" >>"$TSV"
log "update → ipcache: p50=${p50} ms p99=${p99} ms (n=$(wc -l <"$OUT/agent_latency.txt"))"
column -t "$TSV"

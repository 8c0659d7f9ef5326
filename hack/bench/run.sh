#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every porin benchmark and print one table of figures and ratios
# (`make bench` runs this after building).  See docs/benchmarks.md.
#
#   hack/bench/run.sh [--quick] [--only cni|pod2pod|crossnode|agent|policy]
#
# agent and policy need the Kubernetes control plane (hack/k8s) and run only
# when asked for.  policy: NetworkPolicy update latency, scale (1,000
# policies x 10,000 pods) and per-packet cost, hack/bench/policy_*.sh, each
# printing its own table (policy_latency.md, policy_scale.md,
# policy_packet.md); --only policy-latency|policy-scale|policy-packet runs one.
#
# --quick   fewer pods and runs (50 pods per plugin, 3 pod-to-pod runs of
#           3 s); QUICK=1 in the environment does the same (make bench QUICK=1)
# BIN=dir   where porin, porin-agent and porinctl are (default: $BUILD, else
#           build); or set PORIN, PORIN_AGENT, PORINCTL one by one.
# OUT=dir   raw samples and summary.md (default hack/bench/out)
# PORIN_STATE_FS=tmpfs|disk   the agent's --state-dir: a tmpfs as /var/run is on
#           a node (default), or a directory on the disk under /tmp
# Any of PODS BATCHES RUNS DURATION RR_N CC_N overrides the chosen profile.
source "$(dirname "$0")/lib.sh"

quick=0
only=
flag=
[ "${QUICK:-0}" = 1 ] && quick=1 flag=" --quick"
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 flag=" --quick" ;;
	--only) only=${2:?}; shift ;;
	-h | --help) sed -n '3,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
	shift
done
if [ $quick -eq 1 ]; then
	: "${PODS:=50}" "${BATCHES:=5}" "${RUNS:=3}" "${DURATION:=3}" "${RR_N:=5000}" "${CC_N:=300}"
else
	: "${PODS:=200}" "${BATCHES:=5}" "${RUNS:=5}" "${DURATION:=5}" "${RR_N:=20000}" "${CC_N:=1000}"
fi
export BIN PORIN PORIN_AGENT PORINCTL PORIN_STATE_FS OUT PODS BATCHES RUNS DURATION RR_N CC_N

bench_init run
porin_present || log "warning: porin binaries not found under $BIN: only the baselines will run"

rm -f "$OUT"/{cni_latency,cni_floors,pod2pod,pod2pod_bpf,crossnode}.tsv "$OUT"/crossnode.md \
	"$OUT"/porin-agent.*.log
case $only in
# Needs the Kubernetes control plane (hack/k8s): only on request; it prints
# its own table (agent_scale.tsv).
agent) hack/bench/agent_scale.sh; exit 0 ;;
# NetworkPolicy: the local cluster (hack/cluster) with a real apiserver; each
# prints its own table.
policy)
	hack/bench/policy_latency.sh
	hack/bench/policy_packet.sh
	hack/bench/policy_scale.sh
	cat "$OUT"/policy_latency.md "$OUT"/policy_packet.md "$OUT"/policy_scale.md >"$OUT/policy.md"
	exit 0
	;;
policy-latency | policy-scale | policy-packet) "hack/bench/${only/-/_}.sh"; exit 0 ;;
esac
case $only in
'' | cni) hack/bench/cni_latency.sh ;;
esac
case $only in
'' | pod2pod) hack/bench/pod2pod.sh ;;
esac
case $only in
'' | crossnode) hack/bench/crossnode.sh ;;
esac

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain 2>/dev/null)" ] || commit="$commit (with uncommitted changes)"
{
	echo "## porin benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Command: \`hack/bench/run.sh$flag\`" \
		"(PODS=$PODS BATCHES=$BATCHES RUNS=$RUNS DURATION=$DURATION RR_N=$RR_N CC_N=$CC_N" \
		"PORIN_STATE_FS=$PORIN_STATE_FS)," \
		"tree $commit; porin: \`$PORIN\`, \`$PORIN_AGENT\`, \`$PORINCTL\`."
	echo "Machine: Linux $(uname -r), $(nproc) vCPU," \
		"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)."
	echo
	python3 hack/bench/report.py "$OUT"
	if [ -s "$OUT/crossnode.md" ]; then echo; cat "$OUT/crossnode.md"; fi
} >"$OUT/summary.md"
cat "$OUT/summary.md"
porin_present || die "porin was not measured (no binaries under $BIN)"

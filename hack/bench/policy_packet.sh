#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy's cost per packet: a pod selected by POLICIES (1,000) policies
# against a pod that no policy selects, same node, same run, interleaved.
# See docs/benchmarks.md.
#
#   hack/bench/policy_packet.sh        (hack/bench/run.sh --only policy runs it)
#
# A one-node local cluster (hack/cluster, real kube-apiserver) with three
# pods on node1: bench/client (app=client), bench/server0 (app=server0: no
# policy will select it) and bench/server1 (app=server1, role=server,
# tier=backend).  The two servers are alike but for their labels, so the
# client's traffic to each takes the same path and only server1's is judged
# by policy.  Two phases of RUNS runs each; a run measures both servers, in
# an order that alternates run to run:
#   - iperf3, one TCP stream, DURATION s (established flow);
#   - tcp_rr: RR_N 1-byte ping-pongs on one connection (established flow);
#   - policy_crr: CRR_N times connect + 1-byte ping-pong + close, one at a
#     time: every connection is NEW, its SYN judged by policy.
# Phase "0 policies": before any policy exists (server1 / server0 here shows
# what the two pods differ by without policy: should be ~1).  Then
# policy_k8s.py packet-policies creates POLICIES policies that all select
# server1 through four kinds of selector (matchLabels, two labels,
# matchExpressions In, Exists + NotIn), each with three ingress rules
# (another app's pods on a port; a namespaceSelector AND podSelector on a
# named and a UDP port; an ipBlock with except on a port range), every tenth
# with a fourth allowing app=client on the benchmark's ports; plus
# PODS_OTHER Pod objects with the peers' labels so the rules' peers are real
# identities.  Phase "1,000 policies": the same runs again.  The datapath's
# lookups do not depend on the number of policies (at most three LPM lookups
# per NEW flow, none for established ones), which is what this checks.
#
# Then porin's own cost per packet: kernel.bpf_stats_enabled=1 for one pass
# of request/response and connect traffic to each server (run_time_ns /
# run_cnt of from_container, where a same-node packet is judged), and
# BPF_PROG_TEST_RUN of the live from_container (policy_testrun.c) with real
# maps: a NEW SYN to each server (TEST_CALLS runs of one packet, each a
# new flow), an established segment (repeat 200), and for server1 a SYN that
# policy denies (every lookup, then the drop).
#
# Env: POLICIES (1000), PODS_OTHER (500), RUNS (5), DURATION (5 s), RR_N
# (20000), CRR_N (2000), TEST_CALLS (2000), BIN/OUT (lib.sh), PCL_*
# (policy_lib.sh).  Writes $OUT/policy_packet.tsv (run phase cfg metric
# value), $OUT/policy_packet_bpf.tsv and $OUT/policy_packet.md.
source "$(dirname "$0")/policy_lib.sh"

POLICIES=${POLICIES:-1000}
PODS_OTHER=${PODS_OTHER:-500}
RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
RR_N=${RR_N:-20000}
CRR_N=${CRR_N:-2000}
TEST_CALLS=${TEST_CALLS:-2000}
IPERF_PORT=5201
RR_PORT=7777
DENIED_PORT=9090	# server1 listens there; only other apps' pods may connect

bench_init policy_packet
policy_helpers_init
cluster_init 1

declare -A IP
IP[client]=$(pod_add bench/client node1 app=client)
IP[server0]=$(pod_add bench/server0 node1 app=server0 --port metrics:9090/TCP)
IP[server1]=$(pod_add bench/server1 node1 app=server1,role=server,tier=backend --port metrics:9090/TCP)
log "pods on node1: client ${IP[client]}, server0 ${IP[server0]}, server1 ${IP[server1]}"
# Every connection leaves a TIME_WAIT socket behind on the client.
in_pod bench/client sysctl -qw net.ipv4.ip_local_port_range="10000 65000" net.ipv4.tcp_tw_reuse=1
for s in server0 server1; do
	in_pod "bench/$s" iperf3 -s -p $IPERF_PORT >"$WORK/iperf3-$s.log" 2>&1 9<&- &
	defer "kill $!"
	in_pod "bench/$s" "$HELPERS/tcp_rr" -s -p $RR_PORT >"$WORK/tcp_rr-$s.log" 2>&1 9<&- &
	defer "kill $!"
done
for s in server0 server1; do
	for ((i = 0; i < 50; i++)); do
		in_pod "bench/$s" ss -Hltn "sport = :$IPERF_PORT" | grep -q . && break
		sleep 0.1
	done
	in_pod bench/client "$HELPERS/policy_crr" -c "${IP[$s]}" -p $RR_PORT -n 10 -w 0 >/dev/null ||
		die "client cannot connect to $s"
done

TSV=$OUT/policy_packet.tsv
printf 'run\tphase\tcfg\tmetric\tvalue\n' >"$TSV"

measure() { # PHASE RUN CFG
	local ph=$1 run=$2 cfg=$3 dst=${IP[$3]} gbps line kv
	gbps=$(in_pod bench/client iperf3 -c "$dst" -p $IPERF_PORT -t "$DURATION" -J |
		jq '.end.sum_received.bits_per_second / 1e9')
	line="gbps=$gbps $(in_pod bench/client "$HELPERS/tcp_rr" -c "$dst" -p $RR_PORT -n "$RR_N")"
	line="$line $(in_pod bench/client "$HELPERS/policy_crr" -c "$dst" -p $RR_PORT -n "$CRR_N")"
	for kv in $line; do
		case $kv in *_n=*) continue ;; esac
		printf '%d\t%s\t%s\t%s\t%s\n' "$run" "$ph" "$cfg" "${kv%%=*}" "${kv#*=}" >>"$TSV"
	done
	log "policy_packet: [$ph] run $run $cfg: $line"
}

phase() { # PHASE
	local run
	for ((run = 1; run <= RUNS; run++)); do
		if ((run % 2)); then
			measure "$1" "$run" server0
			measure "$1" "$run" server1
		else
			measure "$1" "$run" server1
			measure "$1" "$run" server0
		fi
	done
}

# can_connect PORT SERVER: a TCP connection from the client within 1 s?
can_connect() {
	in_pod bench/client timeout 1 bash -c "exec 3<>/dev/tcp/${IP[$2]}/$1" 2>/dev/null
}

status_json() { policy_status node1 2>/dev/null || echo '{}'; }

phase "0 policies"

log "creating $POLICIES policies selecting server1 and $PODS_OTHER other Pod objects"
t0=$(date +%s.%N)
python3 hack/bench/policy_k8s.py --kdir "$KDIR" packet-policies --count "$POLICIES" \
	--namespace bench --pods "$PODS_OTHER" --ports "$IPERF_PORT,$RR_PORT" 9<&-
# Settled: the agent holds every policy and its entry count stops moving.
prev=-1
for ((i = 0; i < 600; i++)); do
	st=$(status_json)
	if [ "$(jq 'has("policies")' <<<"$st")" != true ]; then
		log "WARNING: the agent reports no policy status (porinctl policy list)"
		break
	fi
	n=$(jq -r '.policies // 0' <<<"$st")
	e=$(jq -r '.policy_entries // 0' <<<"$st")
	if [ "$n" -ge "$POLICIES" ] && [ "$e" = "$prev" ]; then break; fi
	prev=$e
	sleep 0.5
done
log "agent: $(jq -c '{policies, identities, policy_entries, endpoints_isolated, flushes, max_flush_us}' <<<"$st") after $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s"
printf 'policy_status\t%s\n' "$(jq -c . <<<"$st")" >"$OUT/policy_packet_status.tsv"
isolated=1
can_connect $RR_PORT server1 || die "client cannot reach server1:$RR_PORT with the policies"
if can_connect $DENIED_PORT server1; then
	log "WARNING: server1:$DENIED_PORT still accepts the client: server1 is not isolated," \
		"so the next phase measures no policy at all"
	isolated=0
fi
can_connect $DENIED_PORT server0 || die "server0:$DENIED_PORT unreachable: it should not be isolated"

phase "$POLICIES policies"

# --- porin's own cost per program run ------------------------------------------------
BPF_TSV=$OUT/policy_packet_bpf.tsv
printf 'prog\tphase\tcfg\trun_cnt\trun_time_ns\n' >"$BPF_TSV"
ROOT=$PCL_DIR/nodes/node1/bpf/porin
bpf_snapshot() { # "prog run_time_ns run_cnt" of the pinned programs
	local f
	for f in "$ROOT"/prog_*; do
		bpftool prog show pinned "$f" -j 2>/dev/null |
			jq -r --arg f "${f##*/prog_}" '"\($f) \(.run_time_ns // 0) \(.run_cnt // 0)"'
	done
}
bpf_delta() { # PHASE CFG BEFORE AFTER
	join <(sort "$3") <(sort "$4") | awk -v ph="$1" -v cfg="$2" \
		'$5 > $3 {printf "%s\t%s\t%s\t%d\t%d\n", $1, ph, cfg, $5 - $3, $4 - $2}' >>"$BPF_TSV"
}
log "policy_packet: porin's cost per packet (kernel.bpf_stats_enabled=1, BPF_PROG_TEST_RUN)"
sysctl_set kernel.bpf_stats_enabled 1
for s in server0 server1; do
	bpf_snapshot >"$WORK/b0"
	in_pod bench/client "$HELPERS/tcp_rr" -c "${IP[$s]}" -p $RR_PORT -n "$RR_N" -w 0 >/dev/null
	bpf_snapshot >"$WORK/b1"
	in_pod bench/client "$HELPERS/policy_crr" -c "${IP[$s]}" -p $RR_PORT -n "$CRR_N" -w 0 >/dev/null
	bpf_snapshot >"$WORK/b2"
	bpf_delta "1-byte request/response (established)" "$s" "$WORK/b0" "$WORK/b1"
	bpf_delta "connect + 1-byte RR + close (NEW each)" "$s" "$WORK/b1" "$WORK/b2"
done
sysctl -qw kernel.bpf_stats_enabled=0

host_if=$(jq -r '[.interfaces[] | select(.sandbox == null)][0].name' \
	"$PCL_DIR/pods/bench_client/cni-result.json")
ifindex=$(ip -n "$PCL_PREFIX-node1" -j link show dev "$host_if" | jq '.[0].ifindex')
testrun() { # CFG MODE DPORT SPORT_BASE: one tsv line
	local line
	line=$(ip netns exec "$PCL_PREFIX-node1" "$HELPERS/policy_testrun" -P "$ROOT/prog_from_container" \
		-i "$ifindex" -s "${IP[client]}" -d "${IP[$1]}" -p "$3" -m "$2" -n "$TEST_CALLS" -b "$4") ||
		die "policy_testrun failed"
	log "test run $1: $line"
	awk -v cfg="$1" -v what="$5" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		n = v["calls"] * v["repeat"]
		printf "from_container\ttest run: %s, retval %s\t%s\t%d\t%d\n", what, v["retval"], cfg, n, v["ns_p50"] * n
	}' <<<"$line" >>"$BPF_TSV"
}
for s in server0 server1; do
	testrun $s new $RR_PORT 30000 "TCP SYN, a NEW flow each run"
	testrun $s est $RR_PORT 29000 "1-byte segment of an established flow"
done
testrun server1 deny $DENIED_PORT 29001 "TCP SYN to a port no rule allows (all lookups, drop)"

commit=$(tree_commit)
{
	echo "### NetworkPolicy cost per packet, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Command: \`hack/bench/policy_packet.sh\` (POLICIES=$POLICIES PODS_OTHER=$PODS_OTHER" \
		"RUNS=$RUNS DURATION=$DURATION RR_N=$RR_N CRR_N=$CRR_N TEST_CALLS=$TEST_CALLS)," \
		"tree $commit, binaries \`$BIN\`, Linux $(uname -r), $(nproc) vCPU."
	echo "Agent after the policies: \`$(jq -c '{policies, identities, policy_entries, endpoints, endpoints_isolated, max_flush_us}' <<<"$st")\`."
	[ $isolated = 1 ] || echo "**server1 was not isolated: the policy phase measured no policy.**"
	python3 hack/bench/policy_report.py packet "$TSV" "$BPF_TSV"
} >"$OUT/policy_packet.md"
cat "$OUT/policy_packet.md"

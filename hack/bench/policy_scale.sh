#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy at scale: porin-agent's memory and compile time with POLICIES
# (1,000) NetworkPolicies over POD_OBJECTS (10,000) Pod objects, against the
# same agent with the same pods and no policy (same run).  See docs/benchmarks.md.
#
#   hack/bench/policy_scale.sh        (hack/bench/run.sh --only policy runs it)
#
# A one-node local cluster (hack/cluster, real kube-apiserver); node1's agent
# is the one measured.  The model (policy_k8s.py): pods in deployments of 20
# with one label set each (app, tier, version, pod-template-hash) and the
# tier's named container ports, 25 deployments to a namespace (team and env
# labels), bound to 10 other Nodes with a status.podIP each, created 16
# requests at a time.  LOCAL (16) real endpoints on node1, created through
# the CNI by hack/cluster, are pods of those deployments in the first four
# namespaces, so policies select them and they get compiled entries.  The
# policies are a mix: matchLabels and matchExpressions (In, NotIn, Exists)
# podSelectors, podSelector {} (namespace-wide), namespaceSelector alone, {}
# and AND-ed with a podSelector, ipBlocks with except, named, numbered and
# endPort ports, UDP and TCP, ingress and egress.
#
# Steps, one row each (VmRSS/VmHWM from /proc, CPU utime+stime cumulative,
# the counters from `porinctl policy list -o json`):
#   idle              the agent, ready, before any pod
#   local endpoints   + the LOCAL pods on node1
#   pods              + POD_OBJECTS Pod objects (time: first request → every pod
#                     in the agent, k8s status remote_pods: the ingest)
#   policies          + POLICIES policies (time: last answer → the agent
#                     holds them all and policy_entries and flushes have not
#                     moved for 3 s; polled every ~0.1 s)
#   restart           the agent restarted (same command line) with all of it
#                     in place (time: start → the same policy_entries as
#                     before; its first flush compiles every endpoint from
#                     scratch: max_flush_us)
#   restart, no policy  every policy deleted, the agent restarted again:
#                     the baseline of "restart" (a fresh agent's memory
#                     holds what listing 10,000 pods left behind)
# Between "policies" and "restart", unless LAT_CHANGES=0: the update latency
# at that scale (policy_latency.sh's driver, patch mode, LAT_CHANGES
# changes, a server and a client pod on node1).
#
# Env: POD_OBJECTS (10000), POLICIES (1000), LOCAL (16), LAT_CHANGES (40), BIN/OUT
# (lib.sh), PCL_* (policy_lib.sh).  Writes $OUT/policy_scale.tsv,
# $OUT/policy_scale_latency.tsv and $OUT/policy_scale.md.
source "$(dirname "$0")/policy_lib.sh"

POD_OBJECTS=${POD_OBJECTS:-10000}
POLICIES=${POLICIES:-1000}
LOCAL=${LOCAL:-16}
LAT_CHANGES=${LAT_CHANGES:-40}
PROBE_PORT=9400

bench_init policy_scale
policy_helpers_init
cluster_init 1

TSV=$OUT/policy_scale.tsv
printf 'step\tpods\tpolicies\tvmrss_kb\tvmhwm_kb\tcpu_s\tidentities\tpolicy_entries\tendpoints\tisolated\tflushes\tcompiles\tmax_flush_us\tlast_flush_us\tsettle_s\n' >"$TSV"

status_json() { policy_status node1 2>/dev/null || echo '{}'; }

row() { # STEP PODS POLICIES TIME_S
	local st mem
	st=$(status_json)
	mem=$(proc_mem "$(agent_pid node1)")
	jq -r --arg step "$1" --arg pods "$2" --arg pol "$3" --arg settle "$4" --arg mem "$mem" '
		($mem | split(" ")) as $m |
		[$step, $pods, $pol, $m[0], $m[1], $m[2], .identities, .policy_entries, .endpoints,
		 .endpoints_isolated, .flushes, .compiles, .max_flush_us, .last_flush_us, $settle] |
		map(if . == null then "" else tostring end) | @tsv' <<<"$st" >>"$TSV"
	log "policy_scale: $1: VmRSS/VmHWM/cpu $mem, $(jq -c '{identities, policies, policy_entries, endpoints_isolated, flushes, max_flush_us}' <<<"$st") settle ${4}s"
}

# The agent's policy state, polled every ~0.1 s in the background while
# something is being created: one line "WALLTIME policies entries flushes
# identities" per change, in $WORK/status.log.
poll_start() {
	: >"$WORK/status.log"
	(
		last=""
		while :; do
			now=$(date +%s.%N)
			key=$(status_json | jq -r '"\(.policies) \(.policy_entries) \(.flushes) \(.identities)"')
			if [ "$key" != "$last" ]; then
				echo "$now $key" >>"$WORK/status.log"
				last=$key
			fi
			sleep 0.1
		done
	) 9<&- &
	POLLER=$!
	defer "kill $POLLER"
}

# settle WANT_POLICIES LIMIT_S: wait until the agent holds WANT_POLICIES
# policies and nothing has moved for 3 s; stop the poller.  SETTLED_AT: when
# the last change was seen.
settle() {
	local want=$1 end=$(($(date +%s) + $2)) t pol
	while :; do
		read -r t pol _ < <(tail -n 1 "$WORK/status.log")
		if [ -n "${t:-}" ] && [ "$pol" != null ] && [ "$pol" -ge "$want" ] &&
			[ "$(echo "$(date +%s.%N) - $t >= 3" | bc)" = 1 ]; then
			SETTLED_AT=$t
			kill "$POLLER" 2>/dev/null || true
			return 0
		fi
		[ "$(date +%s)" -lt $end ] || { kill "$POLLER" 2>/dev/null; return 1; }
		sleep 0.2
	done
}
secs() { echo "$1 - $2" | bc | awk '{printf "%.2f", $1}'; }

# restart_row STEP POLICIES ENTRIES: restart node1's agent (same command
# line), wait until it holds POLICIES policies and ENTRIES policy entries
# again and nothing moves, and add a row.
restart_row() {
	local pid i t_start cmd
	log "policy_scale: restarting node1's agent ($1)"
	pid=$(agent_pid node1)
	mapfile -d '' cmd <"/proc/$pid/cmdline"
	kill -TERM "$pid"
	for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	poll_start
	t_start=$(date +%s.%N)
	nsenter --net="/run/netns/$PCL_PREFIX-node1" "${cmd[@]}" \
		>>"$PCL_DIR/nodes/node1/agent.log" 2>&1 9<&- &
	echo $! >"$PCL_DIR/nodes/node1/agent.pid"	# so that hack/cluster down stops it
	for ((i = 0; i < 3000; i++)); do
		[ "$(tail -n 1 "$WORK/status.log" | awk '{print $3}')" = "$3" ] && break
		sleep 0.1
	done
	settle "$2" 120 || die "the restarted agent did not settle: $(status_json)"
	row "$1" "$POD_OBJECTS" "$2" "$(secs "$SETTLED_AT" "$t_start")"
}

row idle 0 0 ""

log "policy_scale: $LOCAL local endpoints on node1"
python3 hack/bench/policy_k8s.py --kdir "$KDIR" namespaces --pods "$POD_OBJECTS" 9<&-
for ((k = 0; k < LOCAL; k++)); do
	d=$(((k / 4) * 25 + k % 4))	# four tiers in each of the first namespaces
	read -r ns labels ports < <(python3 hack/bench/policy_k8s.py --kdir "$KDIR" deploy $d)
	args=()
	for p in $ports; do args+=(--port "$p"); done
	pod_add "$ns/local-$d" node1 "$labels" "${args[@]}" >/dev/null
done
sleep 2
row "local endpoints" 0 0 ""

log "policy_scale: $POD_OBJECTS Pod objects"
t_first=$(date +%s.%N)
python3 hack/bench/policy_k8s.py --kdir "$KDIR" objects --pods "$POD_OBJECTS" --nodes 10 \
	--node-ip-base "$PCL_UNDERLAY.100" 9<&-
for ((i = 0; i < 1200; i++)); do
	[ "$(ctl node1 k8s status -o json | jq .remote_pods)" -ge "$POD_OBJECTS" ] && break
	sleep 0.1
done
[ "$(ctl node1 k8s status -o json | jq .remote_pods)" -ge "$POD_OBJECTS" ] ||
	die "the agent has $(ctl node1 k8s status -o json | jq .remote_pods) remote pods, want $POD_OBJECTS"
t_last=$(date +%s.%N)
sleep 3
row pods "$POD_OBJECTS" 0 "$(secs "$t_last" "$t_first")"

log "policy_scale: $POLICIES policies"
poll_start
read -r t_first t_last < <(python3 hack/bench/policy_k8s.py --kdir "$KDIR" policies \
	--count "$POLICIES" --pods "$POD_OBJECTS" 9<&-)
settle "$POLICIES" 300 || die "the agent did not settle on $POLICIES policies: $(status_json)"
row policies "$POD_OBJECTS" "$POLICIES" "$(secs "$SETTLED_AT" "$t_last")"
log "policy_scale: first policy request → settled: $(secs "$SETTLED_AT" "$t_first") s"
entries=$(status_json | jq .policy_entries)
[ "$entries" -gt 0 ] || log "WARNING: no policy entries compiled for the local endpoints"
policy_status node1 >"$OUT/policy_scale_status.json" || true

if [ "$LAT_CHANGES" -gt 0 ]; then
	log "policy_scale: update latency at this scale, $LAT_CHANGES changes"
	server_ip=$(pod_add bench/server node1 app=server)
	pod_add bench/client node1 app=client >/dev/null
	in_pod bench/server "$HELPERS/policy_probe" -s -p $PROBE_PORT -n 8 9<&- &
	defer "kill $!"
	LTSV=$OUT/policy_scale_latency.tsv
	printf 'mode\tchange_no\tchange\tprober\tlat_ms\tapi_ms\twatch_ms\tflush_us\tflushes\tcompiles\twrong\n' >"$LTSV"
	python3 hack/bench/policy_k8s.py --kdir "$KDIR" latency --namespace bench --mode patch \
		--changes "$LAT_CHANGES" --prober "$HELPERS/policy_probe" --port $PROBE_PORT --nports 8 \
		--probe "same-node:$(pod_netns bench/client):$server_ip" \
		--status-cmd "$PORINCTL --socket $PCL_DIR/nodes/node1/state/porin.sock policy list -o json" \
		--out "$LTSV" 9<&-
	entries=$(status_json | jq .policy_entries)
fi

restart_row restart "$POLICIES" "$entries"

# The baseline of that restart: the same pods, no policy.
python3 hack/bench/policy_k8s.py --kdir "$KDIR" delete-policies --all 9<&-
for ((i = 0; i < 600; i++)); do
	[ "$(status_json | jq -r '.policy_entries')" = 0 ] && break
	sleep 0.1
done
restart_row "restart, no policy" 0 0

commit=$(tree_commit)
{
	echo "### NetworkPolicy at scale, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Command: \`hack/bench/policy_scale.sh\` (POD_OBJECTS=$POD_OBJECTS POLICIES=$POLICIES LOCAL=$LOCAL" \
		"LAT_CHANGES=$LAT_CHANGES), tree $commit, binaries \`$BIN\`, Linux $(uname -r), $(nproc) vCPU."
	echo
	python3 hack/bench/policy_report.py scale "$TSV"
	awk -F'\t' -v n="$POLICIES" '
		$1 == "pods" {r0 = $4; h0 = $5} $1 == "policies" {r1 = $4; h1 = $5}
		$1 == "restart, no policy" {q0 = $4; g0 = $5} $1 == "restart" {q1 = $4; g1 = $5}
		END {
			if (r0 && r1) printf "\nWith %s policies / without (same pods, same agent): VmRSS **%.3f** (+%.1f MB), VmHWM %.3f.\n", n, r1 / r0, (r1 - r0) / 1024, h1 / h0
			if (q0 && q1) printf "After a restart, with %s policies / without: VmRSS **%.3f** (+%.1f MB), VmHWM %.3f.\n", n, q1 / q0, (q1 - q0) / 1024, g1 / g0
		}' "$TSV"
	if [ "$LAT_CHANGES" -gt 0 ]; then
		echo
		echo "Update latency at this scale (patch mode, same node):"
		echo
		python3 hack/bench/policy_report.py latency "$OUT/policy_scale_latency.tsv"
	fi
} >"$OUT/policy_scale.md"
cat "$OUT/policy_scale.md"

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy update latency: from the API request that changes a policy to
# the first packet whose fate reflects the change.  See docs/benchmarks.md.
#
#   hack/bench/policy_latency.sh        (hack/bench/run.sh --only policy runs it)
#
# A two-node local cluster (hack/cluster, real kube-apiserver): pod
# bench/server (app=server) on node1, bench/client (app=client) on node1 and
# bench/client-x (app=client) on node2.  A prober in each client
# (policy_probe.c) sends the server a UDP datagram every INTERVAL_US from a
# new 5-tuple (new source port), so conntrack never carries an earlier
# verdict over, and logs which ones were echoed.  A driver
# (policy_k8s.py latency) then makes CHANGES changes, alternating allow and
# deny, each one request straight to the API server (Python http.client on
# a kept-alive TLS connection with the admin client certificate; not
# kubectl, whose process start alone is ~100+ ms), and takes for each
# prober the send time of the first probe with the new fate minus the time
# just before the request was sent:
#   allow  the first probe echoed;
#   deny   the first probe lost that DENY_K-1 more lost probes follow.
# Two ways to change, each run in turn (MODES):
#   patch   one policy "probe" selects the server; a JSON merge patch swaps
#           its ingress peer between app=client (allow) and app=nobody (deny)
#   create  a policy "isolate" selects the server and allows nothing; a
#           policy "allow" (from app=client) is created (allow) and deleted
#           (deny)
# The floor under it, from the same requests: the API server's own watch
# latency, request → the watch event arriving at a watch client of the
# driver's (the agent's watch sees the same event).  Also recorded per
# change: node1's agent last_flush_us and how many flushes the change took
# (porinctl policy list -o json), and "wrong": probes after the detected one
# with the old fate (flapping or loss; should be 0).
#
# Env: CHANGES (100 per mode), MODES ("patch create"), INTERVAL_US (1000),
# TIMEOUT_MS (100: a probe unanswered this long is lost), DENY_K (10),
# DUMP=1 (also every probe's fate and every change's send time, under
# $OUT/policy_latency_raw/), BIN/OUT (lib.sh), PCL_* (policy_lib.sh).
# Writes $OUT/policy_latency.tsv (one row per change and prober) and
# $OUT/policy_latency.md (the table).
source "$(dirname "$0")/policy_lib.sh"

CHANGES=${CHANGES:-100}
MODES=${MODES:-patch create}
INTERVAL_US=${INTERVAL_US:-1000}
TIMEOUT_MS=${TIMEOUT_MS:-100}
DENY_K=${DENY_K:-10}
DUMP=${DUMP:-0}
PROBE_PORT=9400

bench_init policy_latency
policy_helpers_init
cluster_init 2

server_ip=$(pod_add bench/server node1 app=server)
pod_add bench/client node1 app=client >/dev/null
pod_add bench/client-x node2 app=client >/dev/null
log "pods: bench/server $server_ip (node1), bench/client (node1), bench/client-x (node2)"
in_pod bench/server "$HELPERS/policy_probe" -s -p $PROBE_PORT -n 8 9<&- &
defer "kill $!"

TSV=$OUT/policy_latency.tsv
dump=()
if [ "$DUMP" = 1 ]; then
	rm -rf "$OUT/policy_latency_raw"
	mkdir -p "$OUT/policy_latency_raw"
	dump=(--dump "$OUT/policy_latency_raw")
fi
printf 'mode\tchange_no\tchange\tprober\tlat_ms\tapi_ms\twatch_ms\tflush_us\tflushes\tcompiles\twrong\n' >"$TSV"
sport_base=10000
for mode in $MODES; do
	log "policy_latency: $CHANGES changes, mode $mode"
	# Each mode its own source ports: conntrack still holds the last mode's
	# allowed probes (UDP: 60 s), and a probe on one of their 5-tuples would
	# pass whatever the policy says.  20,000 ports x 8 server ports: 160 s
	# of probes at 1 kHz before a 5-tuple repeats.
	[ $((sport_base + 20000)) -le 65536 ] || die "too many MODES for the source port space"
	python3 hack/bench/policy_k8s.py --kdir "$KDIR" latency --namespace bench --mode "$mode" \
		--changes "$CHANGES" --prober "$HELPERS/policy_probe" --port $PROBE_PORT --nports 8 \
		--interval-us "$INTERVAL_US" --timeout-ms "$TIMEOUT_MS" --deny-k "$DENY_K" \
		--probe "same-node:$(pod_netns bench/client):$server_ip" \
		--probe "cross-node:$(pod_netns bench/client-x):$server_ip" \
		--status-cmd "$PORINCTL --socket $PCL_DIR/nodes/node1/state/porin.sock policy list -o json" \
		--sport-base $sport_base --sport-range 20000 --out "$TSV" "${dump[@]}" 9<&-
	sport_base=$((sport_base + 20000))
done

commit=$(tree_commit)
{
	echo "### NetworkPolicy update latency, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Command: \`hack/bench/policy_latency.sh\` (CHANGES=$CHANGES per mode, MODES=\"$MODES\"," \
		"INTERVAL_US=$INTERVAL_US, TIMEOUT_MS=$TIMEOUT_MS, DENY_K=$DENY_K), tree $commit, binaries \`$BIN\`," \
		"Linux $(uname -r), $(nproc) vCPU."
	echo
	python3 hack/bench/policy_report.py latency "$TSV"
} >"$OUT/policy_latency.md"
cat "$OUT/policy_latency.md"

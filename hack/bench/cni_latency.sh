#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CNI ADD and DEL latency: porin against the reference ptp plugin with
# host-local IPAM.  Pods are handled one at a time, as a runtime does:
# BATCHES batches of PODS/BATCHES pods per plugin, interleaved (porin batch 1,
# ptp batch 1, porin batch 2, ...); in each batch every pod is ADDed, then every
# pod DELeted.  Only the plugin exec is timed (hack/bench/cni_time.c), never the
# netns creation.  Then the floors under those figures: process start, veth
# create and delete in the kernel.
#
# porin's DEL answers before its veth is gone: the agent deletes it in the
# background and then releases the IP.  So that this work never lands in a
# ptp batch, each porin batch ends by waiting until the agent reports no
# teardown pending.  Then, per pod, the time from DEL start until the agent
# finished the teardown (what a synchronous DEL would have cost the runtime,
# plus the wait behind the earlier pods' veths) is recorded as op DEL_DONE,
# and the worker's own netlink time for that veth as DEL_UNLINK.
#
# Env: PODS (200), BATCHES (5), and BIN/PORIN/PORIN_AGENT/PORINCTL/OUT (lib.sh).
# Writes $OUT/cni_latency.tsv (one line per plugin call, plus porin's DEL_DONE
# and DEL_UNLINK lines) and $OUT/cni_floors.tsv.
source "$(dirname "$0")/lib.sh"

PODS=${PODS:-200}
BATCHES=${BATCHES:-5}
FLOOR_N=${FLOOR_N:-50}

bench_init cni
helpers_init
node_init
per=$(((PODS + BATCHES - 1) / BATCHES))

jq -nc --arg dir "$WORK/ipam" '{cniVersion: "1.0.0", name: "ptpbench", type: "ptp",
	ipMasq: false, mtu: 1500, ipam: {type: "host-local", subnet: "10.251.0.0/16", dataDir: $dir}}' \
	>"$WORK/ptp.conf"

plugins=(ptp)
if porin_present; then
	plugins=(porin ptp)
	porin_agent_start
else
	log "porin not found at $PORIN (+ porin-agent, porinctl): measuring ptp only; set BIN="
fi

plugin_path() { if [ "$1" = porin ]; then echo "$PORIN"; else echo "$CNI_BIN/$1"; fi; }
plugin_conf() { if [ "$1" = porin ]; then echo "$PORIN_CONF"; else echo "$WORK/$1.conf"; fi; }

samples=$OUT/cni_latency.tsv
printf 'plugin\tbatch\tpod\top\tus\n' >"$samples"

# porin_settle: wait (60 s at most) until porin-agent has no endpoint teardown
# pending: every veth of the batch deleted, every IP released.
porin_settle() {
	local i d
	for ((i = 0; i < 600; i++)); do
		d=$("$PORINCTL" --socket "$PORIN_SOCK" status -o json | jq -r .deleting)
		[ "$d" = 0 ] && return 0
		sleep 0.1
	done
	die "porin-agent still has $d endpoint teardowns pending after 60 s"
}

# porin_teardowns BATCH DELS: after porin_settle, one DEL_DONE and one
# DEL_UNLINK sample per pod of DELS ("pod container_id del_us" lines), from
# the agent's `msg="endpoint teardown finished" ... total_us=` log lines.
# total_us runs from the agent's endpoint_delete to the end of the teardown,
# so DEL_DONE = the DEL's own time + total_us, an upper bound by the few
# hundred µs the plugin spends after the agent's answer.
porin_teardowns() {
	awk -v b="$1" -F'\t' '
		NR == FNR {
			if ($0 ~ /msg="endpoint teardown finished"/ &&
			    match($0, / container_id=[^ ]+/)) {
				cid = substr($0, RSTART + 14, RLENGTH - 14)
				match($0, / unlink_us=[0-9]+/); unlink[cid] = substr($0, RSTART + 11, RLENGTH - 11)
				match($0, / total_us=[0-9]+/); total[cid] = substr($0, RSTART + 10, RLENGTH - 10)
			}
			next
		}
		{
			split($0, f, " ")
			if (!(f[2] in total)) {
				printf "no teardown logged for pod %s (%s)\n", f[1], f[2] > "/dev/stderr"
				exit 1
			}
			printf "porin\t%d\t%d\tDEL_DONE\t%.1f\n", b, f[1], f[3] + total[f[2]]
			printf "porin\t%d\t%d\tDEL_UNLINK\t%d\n", b, f[1], unlink[f[2]]
		}' "$WORK/porin-agent.log" "$2" >>"$samples" || die "porin teardown figures missing"
}

# run_batch PLUGIN BATCH COUNT: ADD COUNT pods one after another, then DEL
# them; batch 0 is a warm-up and is not recorded.
run_batch() {
	local p=$1 b=$2 n=$3 plugin conf i ns us cid
	plugin=$(plugin_path "$p")
	conf=$(plugin_conf "$p")
	for ((i = 0; i < n; i++)); do
		ip netns add "pbench-c-$p-$b-$i"
	done
	for ((i = 0; i < n; i++)); do
		ns=pbench-c-$p-$b-$i
		us=$(cni_call ADD "$plugin" "$conf" "$ns" "$(container_id "$ns")" "$WORK/res-$i.json") ||
			cni_fail "$p ADD $ns" "$WORK/res-$i.json"
		[ "$b" -eq 0 ] || printf '%s\t%d\t%d\tADD\t%s\n' "$p" "$b" "$i" "$us" >>"$samples"
	done
	: >"$WORK/dels"
	for ((i = 0; i < n; i++)); do
		ns=pbench-c-$p-$b-$i
		cid=$(container_id "$ns")
		del_conf "$conf" "$WORK/res-$i.json" "$WORK/del.conf"
		us=$(cni_call DEL "$plugin" "$WORK/del.conf" "$ns" "$cid" "$WORK/del.out") ||
			cni_fail "$p DEL $ns" "$WORK/del.out"
		[ "$b" -eq 0 ] || printf '%s\t%d\t%d\tDEL\t%s\n' "$p" "$b" "$i" "$us" >>"$samples"
		echo "$i $cid $us" >>"$WORK/dels"
	done
	# Before the namespaces go (their removal would take the veths along)
	# and before the next batch: the agent's background work is done.
	if [ "$p" = porin ]; then
		porin_settle
		[ "$b" -eq 0 ] || porin_teardowns "$b" "$WORK/dels"
	fi
	for ((i = 0; i < n; i++)); do
		ip netns del "pbench-c-$p-$b-$i"
	done
	rm -f "$WORK"/res-*.json
	sleep 0.5	# let the netns teardown work (async in the kernel) finish
}

for p in "${plugins[@]}"; do
	run_batch "$p" 0 3
done
for ((b = 1; b <= BATCHES; b++)); do
	for p in "${plugins[@]}"; do
		log "cni: batch $b/$BATCHES $p ($per pods)"
		run_batch "$p" "$b" "$per"
	done
done

# --- floors ----------------------------------------------------------------
# What any plugin pays before doing its own work: a process start, and the
# kernel's veth create (peer straight into the pod netns) and delete.  The
# veth figures come from one `ip -batch` of FLOOR_N requests divided by
# FLOOR_N, so they carry no exec cost; "ip link del (one exec)" is what a
# plugin that shells out would pay.
log "cni: floors"
floors=$OUT/cni_floors.tsv
printf 'what\tus\n' >"$floors"
ip_cmd=$(command -v ip)

floor_exec() { # NAME CONF PROG...: median of 30 timed runs
	local name=$1 conf=$2 i
	shift 2
	for ((i = 0; i < 30; i++)); do
		in_node "$HELPERS/cni_time" "$conf" "$@" 2>/dev/null || true
	done | median | awk -v n="$name" '{printf "%s\t%s\n", n, $1}' >>"$floors"
}
echo '{"cniVersion":"1.0.0"}' >"$WORK/version.conf"
floor_exec "exec /bin/true" /dev/null /bin/true
for p in "${plugins[@]}"; do
	CNI_COMMAND=VERSION floor_exec "$p VERSION (process start)" "$WORK/version.conf" \
		"$(plugin_path "$p")"
done

: >"$WORK/add.batch"
: >"$WORK/del.batch"
for ((i = 0; i < FLOOR_N; i++)); do
	ip netns add "pbench-f-$i"
	echo "link add pbench-f$i type veth peer name eth0 netns pbench-f-$i" >>"$WORK/add.batch"
	echo "link del pbench-f$i" >>"$WORK/del.batch"
done
floor_batch() { # NAME BATCHFILE: one `ip -batch` of FLOOR_N requests, per request
	local us
	us=$(in_node "$HELPERS/cni_time" "$2" "$ip_cmd" -batch -)
	awk -v w="$1" -v t="$us" -v n="$FLOOR_N" 'BEGIN {printf "%s\t%.1f\n", w, t / n}' >>"$floors"
}
floor_batch "veth add, peer into netns (kernel)" "$WORK/add.batch"
floor_batch "veth del (kernel)" "$WORK/del.batch"
for ((i = 0; i < 20; i++)); do
	in_node "$ip_cmd" link add pbench-f$i type veth peer name eth0 netns pbench-f-$i
	in_node "$HELPERS/cni_time" /dev/null "$ip_cmd" link del pbench-f$i
done | median | awk '{printf "ip link del veth (one exec)\t%s\n", $1}' >>"$floors"
for ((i = 0; i < FLOOR_N; i++)); do
	ip netns del "pbench-f-$i"
done

log "cni: done; samples in $samples"

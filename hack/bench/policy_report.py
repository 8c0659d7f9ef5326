#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tables (markdown) from the raw samples of the NetworkPolicy benchmarks.

  policy_report.py latency OUT/policy_latency.tsv
  policy_report.py packet  OUT/policy_packet.tsv [OUT/policy_packet_bpf.tsv]
  policy_report.py scale   OUT/policy_scale.tsv

Percentiles are nearest-rank; ratios of interleaved runs are taken per run
(pair) and reported as median (min-max).
"""
import csv
import math
import statistics
import sys
from collections import defaultdict


def pct(v, p):
    v = sorted(v)
    if not v:
        return float("nan")
    i = max(1, min(len(v), math.ceil(p / 100 * len(v))))
    return v[i - 1]


def f(x, nd=3):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{nd - 1}f}" if abs(x) >= 1 else f"{x:.{nd}f}"


def rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


# --- latency ----------------------------------------------------------------------------
def latency(path):
    rs = rows(path)
    by = defaultdict(list)
    watch = defaultdict(dict)
    for r in rs:
        by[(r["mode"], r["change"], r["prober"])].append(r)
        watch[(r["mode"], r["change"])][r["change_no"]] = r
    print("| mode | change | prober | n | p50 ms | p99 ms | max ms | watch p50 ms | watch p99 ms "
          "| porin's share p50 ms | p99 ms | p50 / watch p50 | flushes p50 | compiles p50 "
          "| last_flush p50 µs | missed | wrong probes |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key in sorted(by, key=lambda k: (k[0] != "patch", k[1] != "allow", k[2] != "same-node")):
        mode, change, prober = key
        rr = by[key]
        lat = [num(r["lat_ms"]) for r in rr if num(r["lat_ms"]) is not None]
        w = [num(r["watch_ms"]) for r in rr if num(r["watch_ms"]) is not None]
        share = [num(r["lat_ms"]) - num(r["watch_ms"]) for r in rr
                 if num(r["lat_ms"]) is not None and num(r["watch_ms"]) is not None]
        fl = [num(r["flushes"]) for r in rr if num(r["flushes"]) is not None]
        fu = [num(r["flush_us"]) for r in rr if num(r["flush_us"]) is not None]
        co = [num(r.get("compiles")) for r in rr if num(r.get("compiles")) is not None]
        wrong = sum(int(r["wrong"]) for r in rr if r["wrong"] not in ("", None))
        missed = sum(1 for r in rr if num(r["lat_ms"]) is None)
        ratio = pct(lat, 50) / pct(w, 50) if lat and w and pct(w, 50) > 0 else None
        print(f"| {mode} | {change} | {prober} | {len(rr)} | {f(pct(lat, 50))} | {f(pct(lat, 99))} "
              f"| {f(max(lat) if lat else None)} | {f(pct(w, 50))} | {f(pct(w, 99))} "
              f"| {f(pct(share, 50))} | {f(pct(share, 99))} | {f(ratio)} "
              f"| {f(pct(fl, 50)) if fl else '-'} | {f(pct(co, 50)) if co else '-'} "
              f"| {f(pct(fu, 50)) if fu else '-'} "
              f"| {missed} | {wrong} |")
    api = [num(r["api_ms"]) for r in rs if num(r["api_ms"]) is not None]
    print()
    print(f"API request → answer (the driver's own view of the write): p50 {f(pct(api, 50))} ms, "
          f"p99 {f(pct(api, 99))} ms, n={len(api)}.")


# --- per-packet ------------------------------------------------------------------------
def packet(path, bpf_path=None):
    rs = rows(path)
    # run phase cfg metric value
    vals = defaultdict(dict)
    for r in rs:
        vals[(r["phase"], r["metric"])].setdefault(r["cfg"], {})[r["run"]] = float(r["value"])
    metrics = [("gbps", "iperf3 TCP throughput, Gbit/s", True),
               ("rr_p50_us", "TCP 1-byte request/response p50, µs", False),
               ("rr_p99_us", "TCP 1-byte request/response p99, µs", False),
               ("crr_p50_us", "TCP connect + 1-byte RR + close p50, µs", False),
               ("crr_p99_us", "TCP connect + 1-byte RR + close p99, µs", False),
               ("crr_per_s", "TCP connect + 1-byte RR + close per second", True)]
    phases = sorted({p for p, _ in vals}, key=lambda p: p != "0 policies")
    for ph in phases:
        print(f"\n**{ph}**: server0 (no policy selects it) vs server1"
              f"{' (selected by every policy)' if ph != '0 policies' else ' (none yet)'}, "
              "interleaved runs\n")
        print("| metric | server0 | server1 | server1 / server0, per run: median (min–max) "
              "| cost (1.0 = none) |")
        print("|---|---:|---:|---:|---:|")
        for m, label, higher_better in metrics:
            d = vals.get((ph, m))
            if not d or "server0" not in d or "server1" not in d:
                continue
            a, b = d["server0"], d["server1"]
            runs = sorted(set(a) & set(b), key=int)
            ratios = [b[r] / a[r] for r in runs if a[r] > 0]
            cost = [1 / x if higher_better else x for x in ratios]
            if not ratios:
                continue
            print(f"| {label} | {f(statistics.median(a.values()))} "
                  f"| {f(statistics.median(b.values()))} "
                  f"| {statistics.median(ratios):.3f} ({min(ratios):.3f}–{max(ratios):.3f}) "
                  f"| **{statistics.median(cost):.3f}** |")
    if bpf_path:
        br = rows(bpf_path)
        print("\n| program | traffic | to | runs | ns per run |")
        print("|---|---|---|---:|---:|")
        for r in br:
            cnt = int(r["run_cnt"])
            ns = int(r["run_time_ns"]) / cnt if cnt else float("nan")
            print(f"| {r['prog']} | {r['phase']} | {r['cfg']} | {cnt:,} | {f(ns)} |")


# --- scale -----------------------------------------------------------------------------
def scale(path):
    rs = rows(path)
    print("| step | pods | policies | VmRSS MB | VmHWM MB | agent CPU s | identities "
          "| policy_entries | endpoints (isolated) | flushes | compiles | max_flush ms | time s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rs:
        mb = lambda k: f"{int(r[k]) / 1024:.1f}" if r.get(k) not in (None, "") else "-"  # noqa: E731
        mf = num(r.get("max_flush_us"))
        print(f"| {r['step']} | {r['pods']} | {r['policies']} | {mb('vmrss_kb')} | {mb('vmhwm_kb')} "
              f"| {r['cpu_s']} | {r.get('identities') or '-'} | {r.get('policy_entries') or '-'} "
              f"| {r.get('endpoints') or '-'} ({r.get('isolated') or '-'}) | {r.get('flushes') or '-'} "
              f"| {r.get('compiles') or '-'} | {f(mf / 1000) if mf is not None else '-'} "
              f"| {r.get('settle_s') or '-'} |")
    print("\ntime: pods, first request → every pod in the agent; policies, last policy "
          "answered → the agent's policy state stops changing; restart, agent start → "
          "the same policy entries as before.")


def main():
    what = sys.argv[1]
    if what == "latency":
        latency(sys.argv[2])
    elif what == "packet":
        packet(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif what == "scale":
        scale(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turn the raw benchmark samples in OUT (default hack/bench/out) into
markdown tables on stdout: figures per setup and porin's ratios against the
baselines measured in the same run.

Ratios follow docs/benchmarks.md: for interleaved pairs (a CNI batch, a
pod-to-pod run) the ratio is taken per pair and reported as the median with
min-max; "all" ratios for CNI latency divide the percentiles over all pods.
"""
import csv
import os
import re
import statistics
import sys


def pct(values, p):
    """Nearest-rank percentile."""
    v = sorted(values)
    if not v:
        return float("nan")
    rank = max(1, min(len(v), int(-(-p * len(v) // 100))))
    return v[rank - 1]


def read_tsv(path):
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def fmt(x, digits=2):
    if x is None or x != x:
        return "n/a"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def spread(values, digits=2):
    """'median (min–max)' of a list."""
    if not values:
        return "n/a"
    med, lo, hi = (fmt(f(values), digits) for f in (statistics.median, min, max))
    return f"{med} ({lo}–{hi})"


def agent_ops(path):
    """op -> [ms] from the agent's logfmt lines `msg="api request" op=X ... took_us=N`."""
    ops = {}
    if not os.path.exists(path):
        return ops
    pat = re.compile(r'msg="api request" op=(\w+)\b.*\btook_us=(\d+)')
    with open(path, errors="replace") as f:
        for line in f:
            m = pat.search(line)
            if m:
                ops.setdefault(m.group(1), []).append(int(m.group(2)) / 1000.0)
    return ops


def cni(out):
    rows = read_tsv(os.path.join(out, "cni_latency.tsv"))
    if not rows:
        return []
    ms = {}  # (plugin, op) -> [ms]; (plugin, op, batch) -> [ms]
    for r in rows:
        v = float(r["us"]) / 1000.0
        ms.setdefault((r["plugin"], r["op"]), []).append(v)
        ms.setdefault((r["plugin"], r["op"], int(r["batch"])), []).append(v)
    plugins = [p for p in ("porin", "ptp") if (p, "ADD") in ms]
    batches = sorted({int(r["batch"]) for r in rows})
    n = {p: len(ms[(p, "ADD")]) for p in plugins}
    label = {"porin": "porin", "ptp": "ptp + host-local (reference)"}
    cols = [("ADD", 50), ("ADD", 99), ("DEL", 50), ("DEL", 99)]

    lines = [f"### CNI latency, sequential, {len(batches)} interleaved batches "
             f"({', '.join(f'{label[p]}: {n[p]} pods' for p in plugins)})", "",
             "| plugin | ADD p50 ms | ADD p99 ms | DEL p50 ms | DEL p99 ms |",
             "|---|---:|---:|---:|---:|"]
    for p in plugins:
        cells = [fmt(pct(ms[(p, op)], q)) for op, q in cols]
        lines.append(f"| {label[p]} | " + " | ".join(cells) + " |")
    if "porin" in plugins and "ptp" in plugins:
        lines.append("| **porin / ptp**, all pods | " + " | ".join(
            fmt(pct(ms[("porin", op)], q) / pct(ms[("ptp", op)], q), 3) for op, q in cols) + " |")
        per_batch = []
        for op, q in cols:
            rs = [pct(ms[("porin", op, b)], q) / pct(ms[("ptp", op, b)], q) for b in batches]
            per_batch.append(spread(rs, 3))
        lines.append("| porin / ptp, per batch: median (min–max) | "
                     + " | ".join(per_batch) + " |")
        lines.append("| target (issue) | ≤ 0.25 | | ≤ 0.10 | |")
        lines.append("")
        for op, target in (("ADD", 0.25), ("DEL", 0.10)):
            r = pct(ms[("porin", op)], 50) / pct(ms[("ptp", op)], 50)
            lines.append(f"- {op} p50 porin/ptp = {r:.3f}, target ≤ {target}: "
                         f"{'met' if r <= target else 'NOT met'}")

    if ("porin", "DEL_DONE") in ms:
        rows_ = [("porin DEL: what the runtime waits for", ("porin", "DEL")),
                 ("porin teardown: DEL start → the agent finished it (veth deleted, "
                  "IP released)", ("porin", "DEL_DONE")),
                 ("of which the agent worker's veth delete (`RTM_DELLINK`)",
                  ("porin", "DEL_UNLINK"))]
        if "ptp" in plugins:
            rows_.append(("ptp DEL (deletes its veth before answering), same run",
                          ("ptp", "DEL")))
        lines += ["", "porin's DEL answers before its veth is gone; the agent deletes it in the "
                  "background, then releases the IP (each porin batch waits for that before "
                  "the next batch). The teardown runs from DEL start to the agent's "
                  "\"endpoint teardown finished\" and includes waiting behind the previous "
                  "pods' veths, which this benchmark DELs back to back:", "",
                  "| porin DEL, per pod | n | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
        for label_, key in rows_:
            v = ms.get(key, [])
            lines.append(f"| {label_} | {len(v)} | {fmt(pct(v, 50))} | {fmt(pct(v, 99))} |")

    ops = agent_ops(os.path.join(out, "porin-agent.cni.log"))
    if ops:
        lines += ["", "porin-agent's own time per local-API request during the run "
                  "(its log's took_us):", "", "| request | n | p50 ms | p99 ms |",
                  "|---|---:|---:|---:|"]
        for op, v in sorted(ops.items()):
            lines.append(f"| {op} | {len(v)} | {fmt(pct(v, 50), 3)} | {fmt(pct(v, 99), 3)} |")

    floors = read_tsv(os.path.join(out, "cni_floors.tsv"))
    if floors:
        lines += ["", "Floors under those figures (same run):", "",
                  "| what | ms |", "|---|---:|"]
        for f in floors:
            lines.append(f"| {f['what']} | {fmt(float(f['us']) / 1000.0, 3)} |")
    return lines


P2P_METRICS = [
    ("gbps", "iperf3 TCP throughput, Gbit/s"),
    ("rr_p50_us", "TCP 1-byte request/response p50, µs"),
    ("rr_p99_us", "TCP 1-byte request/response p99, µs"),
    ("cc_p50_us", "TCP connect+close p50, µs"),
    ("cc_per_s", "TCP connect+close per second"),
]
P2P_CFGS = [("base", "(a) veth + routing"), ("bridge", "(b) bridge plugin"), ("porin", "(c) porin")]


def pod2pod(out):
    rows = read_tsv(os.path.join(out, "pod2pod.tsv"))
    if not rows:
        return []
    val = {}  # (cfg, metric) -> {run: value}
    for r in rows:
        val.setdefault((r["cfg"], r["metric"]), {})[int(r["run"])] = float(r["value"])
    cfgs = [c for c in P2P_CFGS if any(k[0] == c[0] for k in val)]
    runs = sorted({int(r["run"]) for r in rows})
    have_porin = any(c[0] == "porin" for c in cfgs)

    head = "| metric | " + " | ".join(l for _, l in cfgs)
    sep = "|---|" + "---:|" * len(cfgs)
    if have_porin:
        head += " | porin / (a) | porin / (b)"
        sep += "---:|---:|"
    lines = [f"### Same-node pod to pod, {len(runs)} interleaved runs "
             "(cells: median (min–max) over runs; "
             "ratios: median (min–max) of per-run ratios)", "",
             head + " |", sep]
    for key, label in P2P_METRICS:
        if not any((c, key) in val for c, _ in cfgs):
            continue
        cells = [spread(list(val.get((c, key), {}).values())) for c, _ in cfgs]
        if have_porin:
            for base in ("base", "bridge"):
                a, b = val.get(("porin", key), {}), val.get((base, key), {})
                cells.append(spread([a[r] / b[r] for r in runs if r in a and r in b and b[r]], 3))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    a, b = val.get(("porin", "gbps"), {}), val.get(("base", "gbps"), {})
    rs = [a[r] / b[r] for r in runs if r in a and r in b and b[r]]
    if rs:
        m = statistics.median(rs)
        verdict = ("met" if m >= 1.0 else
                   "within iperf3's ±10% run-to-run noise" if m >= 0.9 else "NOT met")
        lines += ["", f"- throughput porin/(a) = {m:.3f} (median of {len(rs)} runs), "
                  f"target ≥ 1 (no worse than plain routing): {verdict}"]

    bpf = read_tsv(os.path.join(out, "pod2pod_bpf.tsv"))
    if bpf:
        lines += ["", "porin datapath cost per program run (kernel.bpf_stats_enabled, "
                  "a separate porin-only pass):", "",
                  "| program | traffic | runs | ns per run |", "|---|---|---:|---:|"]
        for b in bpf:
            cnt = int(b["run_cnt"])
            per = fmt(int(b["run_time_ns"]) / cnt, 1) if cnt else "did not run"
            lines.append(f"| {b['prog']} | {b['phase']} | {cnt} | {per} |")
    return lines


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "hack/bench/out"
    parts = [p for p in (cni(out), pod2pod(out)) if p]
    if not parts:
        print(f"no benchmark results in {out}", file=sys.stderr)
        return 1
    print("\n\n".join("\n".join(p) for p in parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())

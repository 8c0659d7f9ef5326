#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The NetworkPolicy e2e prober: reachability matrices of a hack/cluster.

  netpol_probe.py check --cluster DIR --prefix P --expect FILE [--ports 80/TCP,...]
                  [--from GLOB,...] [--to GLOB,...] [--wait S] [--timeout S]
                  [--out OBSERVED.json]
      Probe every ordered pair (from, to) of the cluster's pods (self pairs
      excluded: a pod talking to itself never leaves its namespace) on every
      port, all at once from one process: each socket is created inside its
      source's network namespace (setns), then all of them run in one epoll
      loop.  Repeat until the matrix equals the expected one or --wait
      seconds have passed; exit 0 on a match, 1 (printing the matrices the
      way the upstream e2e does) otherwise.
  netpol_probe.py compare-trace --observed OBSERVED.json --trace PORT=FILE...
                  [--extra NAME=IP --porinctl PATH --snapshot FILE]
      Compare porinctl policy trace --all verdicts with a probed matrix (and
      single traces to the address of each --extra destination);
      --spot-out FILE: write "FROM TO PORT VERDICT" for one allowed and one
      denied cell (for the online trace).
  netpol_probe.py serve NAME PORT
      Answer NAME on TCP and UDP PORT: a destination that is not a pod,
      probed with check --extra NAME=IP.
  netpol_probe.py session NETNS IP PORT
      One TCP connection from NETNS, kept open: each stdin line is sent and
      must come back (the far end is an echo server); prints "ok" or
      "fail: why" per line.

Sources and destinations: DIR/pods/NS_NAME (hack/cluster's records: node,
cni-result.json; netns P-p-NS-NAME) and, as sources only, DIR/nodes/NODE
(netns P-NODE).  Listeners answer "NS/NAME" (hack/cluster pod add).

Expectation FILE: lines "FROM TO PORT VERDICT", fnmatch globs, VERDICT
allow|deny; later lines override earlier ones; the default is allow.

Cells: "." the right pod answered; "X" no answer (timeout) or an ICMP
unreachable other than port-unreachable: denied; "R" refused (RST or ICMP
port unreachable: the packet reached the pod's stack, so it was NOT denied);
"W" a wrong answer; "C" connected but no answer in time; "E" another error.
Only "." satisfies allow and only "X" satisfies deny.
"""
import ctypes
import errno
import fnmatch
import json
import os
import selectors
import socket
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
PROTOS = {"TCP": socket.SOCK_STREAM, "UDP": socket.SOCK_DGRAM, "SCTP": socket.SOCK_STREAM}
PROTO_NUM = {"TCP": socket.IPPROTO_TCP, "UDP": socket.IPPROTO_UDP, "SCTP": 132}


def setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def sctp_supported():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132).close()
        return None
    except OSError as e:
        return "this kernel has no SCTP sockets (socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): %s)" % e.strerror


def load_cluster(cdir, prefix):
    """{name: {"ip", "netns", "node"}}: pods "ns/name", nodes "nodeK"."""
    ends = {}
    for d in sorted(os.listdir(os.path.join(cdir, "pods"))):
        pd = os.path.join(cdir, "pods", d)
        try:
            with open(os.path.join(pd, "cni-result.json")) as f:
                ip = json.load(f)["ips"][0]["address"].split("/")[0]
            with open(os.path.join(pd, "node")) as f:
                node = f.read().strip()
        except (OSError, ValueError, KeyError):
            continue  # being added or deleted
        ns, name = d.split("_", 1)
        ends["%s/%s" % (ns, name)] = {"ip": ip, "node": node,
                                      "netns": "/run/netns/%s-p-%s-%s" % (prefix, ns, name)}
    for node in sorted(os.listdir(os.path.join(cdir, "nodes"))):
        ends[node] = {"ip": None, "node": node, "netns": "/run/netns/%s-%s" % (prefix, node)}
    return ends


def load_expect(path):
    rules = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w or w[0].startswith("#"):
                continue
            if len(w) != 4 or w[3] not in ("allow", "deny"):
                raise SystemExit("bad expectation line: %r" % line)
            rules.append((w[0], w[1], w[2], w[3] == "allow"))
    return rules


def expected(rules, frm, to, port):
    v = True
    for rf, rt, rp, allow in rules:
        if fnmatch.fnmatchcase(frm, rf) and fnmatch.fnmatchcase(to, rt) and fnmatch.fnmatchcase(port, rp):
            v = allow
    return "." if v else "X"


def classify_errno(e):
    if e in (errno.ECONNREFUSED, errno.ECONNRESET):
        return "R"
    if e in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM, errno.ETIMEDOUT):
        return "X"
    return "E"


class Probe:
    __slots__ = ("frm", "to", "port", "proto", "want", "sock", "state", "buf", "cell", "why")

    def __init__(self, frm, to, port, proto, want):
        self.frm, self.to, self.port, self.proto, self.want = frm, to, port, proto, want
        self.sock, self.state, self.buf, self.cell, self.why = None, "new", b"", None, ""


def probe_round(ends, cells, timeout):
    """cells: [(from, to, "80/TCP")] → {cell: (code, why)}."""
    sel = selectors.DefaultSelector()
    orig = os.open("/proc/self/ns/net", os.O_RDONLY)
    nsfd = {}
    probes = []
    try:
        by_src = {}
        for frm, to, pp in cells:
            port, proto = pp.split("/")
            by_src.setdefault(frm, []).append(Probe(frm, to, int(port), proto, to))
        for frm, ps in by_src.items():
            path = ends[frm]["netns"]
            if path not in nsfd:
                nsfd[path] = os.open(path, os.O_RDONLY)
            setns(nsfd[path])
            for p in ps:
                p.sock = socket.socket(socket.AF_INET, PROTOS[p.proto], PROTO_NUM[p.proto])
                p.sock.setblocking(False)
            probes.extend(ps)
        setns(orig)

        t0 = time.monotonic()
        deadline = t0 + timeout
        for p in probes:
            addr = (ends[p.to]["ip"], p.port)
            if p.proto == "UDP":
                try:
                    p.sock.connect(addr)
                    p.sock.send(b"probe\n")
                    p.state = "wait"
                    sel.register(p.sock, selectors.EVENT_READ, p)
                except OSError as e:
                    p.cell, p.why = classify_errno(e.errno), e.strerror
            else:
                e = p.sock.connect_ex(addr)
                if e in (0, errno.EINPROGRESS):
                    p.state = "connecting"
                    sel.register(p.sock, selectors.EVENT_WRITE, p)
                else:
                    p.cell, p.why = classify_errno(e), os.strerror(e)
        pending = sum(1 for p in probes if p.cell is None)
        next_resend = t0 + 0.3
        while pending:
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_resend:  # a UDP datagram may be lost; the 5-tuple stays the same
                for p in probes:
                    if p.cell is None and p.proto == "UDP":
                        try:
                            p.sock.send(b"probe\n")
                        except OSError:
                            pass
                next_resend = now + 0.3
            for key, _ in sel.select(max(0.0, min(deadline, next_resend) - now)):
                p = key.data
                if p.cell is not None:
                    continue
                if p.state == "connecting":
                    e = p.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if e:
                        p.cell, p.why = classify_errno(e), os.strerror(e)
                    else:
                        p.state = "connected"
                        sel.modify(p.sock, selectors.EVENT_READ, p)
                        continue
                else:
                    try:
                        data = p.sock.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError as e:
                        p.cell, p.why = classify_errno(e.errno), e.strerror
                        data = None
                    if data is not None:
                        p.buf += data
                        if data and b"\n" not in p.buf and p.proto != "UDP":
                            continue
                        ans = p.buf.decode(errors="replace").strip()
                        if ans == p.want:
                            p.cell = "."
                        else:
                            p.cell, p.why = "W", "answer %r" % ans
                if p.cell is not None:
                    sel.unregister(p.sock)
                    pending -= 1
        for p in probes:
            if p.cell is None:
                if p.state == "connected":
                    p.cell, p.why = "C", "connected, no answer within %.1f s" % timeout
                else:
                    p.cell, p.why = "X", "no answer within %.1f s" % timeout
    finally:
        setns(orig)
        os.close(orig)
        for fd in nsfd.values():
            os.close(fd)
        for p in probes:
            if p.sock is not None:
                p.sock.close()
        sel.close()
    return {(p.frm, p.to, "%d/%s" % (p.port, p.proto)): (p.cell, p.why) for p in probes}


def table(title, rows, cols, cell):
    w = max([len(c) for c in cols + rows] + [3])
    out = [title, " " * w + " " + " ".join(c.rjust(w) for c in cols)]
    for r in rows:
        out.append(r.ljust(w) + " " + " ".join(cell(r, c).rjust(w) for c in cols))
    return "\n".join(out)


def split_globs(s):
    return [g for g in s.split(",") if g]


def cmd_check(a):
    ends = load_cluster(a.cluster, a.prefix)
    extras = dict(e.split("=", 1) for e in a.extra)
    for name, ip in extras.items():
        ends[name] = {"ip": ip, "node": None, "netns": None}
    rules = load_expect(a.expect)
    ports = split_globs(a.ports)
    srcs = [n for n in ends if ends[n]["netns"] and any(fnmatch.fnmatchcase(n, g) for g in split_globs(a.frm))]
    dsts = [n for n in ends if ("/" in n or n in extras) and any(fnmatch.fnmatchcase(n, g) for g in split_globs(a.to))]
    if not srcs or not dsts:
        print("netpol_probe: no sources or no destinations", file=sys.stderr)
        return 2
    sctp_why = sctp_supported()
    skipped = [p for p in ports if p.endswith("/SCTP")] if sctp_why else []
    probed = [p for p in ports if p not in skipped]
    if skipped:
        print("skipped: %s probes: %s" % (",".join(skipped), sctp_why))
    want = {(f, t, p): expected(rules, f, t, p) for f in srcs for t in dsts if f != t for p in ports}
    cells = [c for c in want if c[2] in probed]
    t0 = time.monotonic()
    rounds = 0
    while True:
        rounds += 1
        got = probe_round(ends, cells, a.timeout)
        bad = [c for c in cells if got[c][0] != want[c]]
        if not bad or a.once or time.monotonic() - t0 >= a.wait:
            break
        time.sleep(0.1)
    took = time.monotonic() - t0
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"ports": ports, "skipped": skipped, "from": srcs, "to": dsts,
                       "cells": [{"from": c[0], "to": c[1], "port": c[2], "expected": want[c],
                                  "observed": got[c][0] if c in got else None} for c in want]}, f)
    if not bad:
        print("matrix ok: %d probes (%d sources x %d destinations x %d ports, self pairs excluded), "
              "round %d, %.1f s" % (len(cells), len(srcs), len(dsts), len(probed), rounds, took))
        return 0
    print("matrix MISMATCH after %d rounds, %.1f s: %d of %d cells wrong" % (rounds, took, len(bad), len(cells)))
    for c in bad[:20]:
        why = " (%s)" % got[c][1] if got[c][1] else ""
        print("  %s -> %s %s: expected %s, observed %s%s" % (c[0], c[1], c[2], want[c], got[c][0], why))
    if len(bad) > 20:
        print("  ... %d more" % (len(bad) - 20))
    print("(rows from, columns to; '.' allowed, 'X' denied, R refused, W wrong answer, C no answer, E error, '-' self)")
    for p in probed:
        if not any(c[2] == p for c in bad):
            continue
        def cexp(r, c, p=p):
            return "-" if r == c else want[(r, c, p)]
        def cgot(r, c, p=p):
            return "-" if r == c else got[(r, c, p)][0]
        def ccmp(r, c, p=p):
            return "-" if r == c else ("." if got[(r, c, p)][0] == want[(r, c, p)] else "X")
        print(table("--- %s expected:" % p, srcs, dsts, cexp))
        print(table("--- %s observed:" % p, srcs, dsts, cgot))
        print(table("--- %s comparison ('.' right, 'X' wrong):" % p, srcs, dsts, ccmp))
    return 1


def cmd_compare_trace(a):
    with open(a.observed) as f:
        obs = json.load(f)
    verdicts = {}
    raw = {}
    for spec in a.trace:
        port, path = spec.split("=", 1)
        with open(path) as f:
            try:
                arr = json.load(f)
            except ValueError as e:
                print("trace %s: not JSON: %s" % (port, e))
                return 1
        if not isinstance(arr, list):
            print("trace %s: --all did not print a JSON array" % port)
            return 1
        for o in arr:
            k = (o.get("from"), o.get("to"), port)
            verdicts[k] = o.get("verdict")
            raw[k] = o
    bad = []
    n = 0
    if a.spot_out:
        with open(a.spot_out, "w") as f:
            f.write(spot_lines(obs))
    extras = dict(e.split("=", 1) for e in a.extra)
    for c in obs["cells"]:
        if "/" not in c["from"]:
            continue  # a node: not a pod, and not an address of the snapshot either
        k = (c["from"], c["to"], c["port"])
        if c["to"] in extras:  # not a pod: --all does not cover it, ask for its address
            out = subprocess.run([a.porinctl, "policy", "trace"] +
                                 [x for f in a.snapshot for x in ("--offline", f)] +
                                 ["--from", c["from"], "--to", extras[c["to"]], "--port", c["port"],
                                  "-o", "json"], capture_output=True, text=True)
            try:
                o = json.loads(out.stdout)
                o = o.get("trace", o)
            except ValueError:
                o = {"error": (out.stdout + out.stderr)[:300]}
            verdicts[k], raw[k] = o.get("verdict"), o
        elif "/" not in c["to"]:
            continue
        n += 1
        cell = c["observed"] if c["observed"] is not None else c["expected"]  # skipped → expected
        want = "allowed" if cell == "." else "denied"
        if verdicts.get(k) != want:
            bad.append((k, want, verdicts.get(k)))
    if not bad:
        print("trace agrees: %d verdicts" % n)
        return 0
    print("trace DISAGREES with the probes on %d of %d verdicts:" % (len(bad), n))
    for k, want, got in bad[:20]:
        print("  %s -> %s %s: probes %s, trace %s" % (k[0], k[1], k[2], want, got or "(missing)"))
        if k in raw:
            print("    trace: %s" % json.dumps(raw[k], sort_keys=True)[:600])
    if len(bad) > 20:
        print("  ... %d more" % (len(bad) - 20))
    return 1


def spot_lines(obs):
    """One probed pod-to-pod cell of each verdict: "FROM TO PORT VERDICT" lines."""
    seen = {}
    for c in obs["cells"]:
        if "/" not in c["from"] or "/" not in c["to"] or c["observed"] is None:
            continue
        v = "allowed" if c["observed"] == "." else "denied"
        seen.setdefault(v, "%s %s %s %s\n" % (c["from"], c["to"], c["port"], v))
    return "".join(seen.values())


def cmd_session(a):
    fd = os.open(a.netns, os.O_RDONLY)
    setns(fd)
    os.close(fd)
    s = socket.create_connection((a.ip, a.port), timeout=2)
    s.settimeout(2)
    print("connected", flush=True)
    for line in sys.stdin:
        msg = line.strip().encode() + b"\n"
        try:
            s.sendall(msg)
            buf = b""
            while not buf.endswith(b"\n"):
                d = s.recv(4096)
                if not d:
                    raise OSError(errno.ECONNRESET, "connection closed")
                buf += d
            print("ok" if buf == msg else "fail: echo %r" % buf, flush=True)
        except OSError as e:
            print("fail: %s" % (e.strerror or e), flush=True)
    return 0


def cmd_serve(a):
    """Answer NAME on TCP and UDP PORT (a destination outside the cluster)."""
    import threading
    answer = (a.name + "\n").encode()

    def udp():
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("0.0.0.0", a.port))
        while True:
            _, peer = u.recvfrom(65535)
            u.sendto(answer, peer)

    threading.Thread(target=udp, daemon=True).start()
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("0.0.0.0", a.port))
    t.listen(1024)
    while True:
        c, _ = t.accept()
        try:
            c.sendall(answer)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        c.close()


def main():
    import argparse
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--cluster", required=True)
    c.add_argument("--prefix", required=True)
    c.add_argument("--expect", required=True)
    c.add_argument("--ports", default="80/TCP,81/TCP,80/UDP,81/UDP")
    c.add_argument("--from", dest="frm", default="*/*")
    c.add_argument("--to", default="*/*")
    c.add_argument("--wait", type=float, default=15.0)
    c.add_argument("--timeout", type=float, default=1.0)
    c.add_argument("--once", action="store_true")
    c.add_argument("--out")
    c.add_argument("--extra", action="append", default=[],
                   help="NAME=IP: one more destination, answering NAME (netpol_probe.py serve)")
    t = sub.add_parser("compare-trace")
    t.add_argument("--observed", required=True)
    t.add_argument("--trace", action="append", default=[])
    t.add_argument("--extra", action="append", default=[], help="NAME=IP of check --extra")
    t.add_argument("--porinctl", help="for --extra cells: porinctl policy trace --offline")
    t.add_argument("--snapshot", action="append", default=[], help="--offline FILE for those")
    t.add_argument("--spot-out", help="write one allowed and one denied cell for online spot checks")
    se = sub.add_parser("session")
    se.add_argument("netns")
    se.add_argument("ip")
    se.add_argument("port", type=int)
    sv = sub.add_parser("serve")
    sv.add_argument("name")
    sv.add_argument("port", type=int)
    a = ap.parse_args()
    return {"check": cmd_check, "compare-trace": cmd_compare_trace, "session": cmd_session,
            "serve": cmd_serve}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())

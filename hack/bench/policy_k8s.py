#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Kubernetes side of the NetworkPolicy benchmarks (hack/bench/policy_*.sh).

Every request goes straight to the API server over kept-alive HTTPS
connections with the admin client certificate of the control plane in
--kdir (hack/k8s/controlplane.sh): no kubectl, whose ~100+ ms process start
would dominate what is measured.

  policy_k8s.py --kdir DIR deploy D
      namespace, labels (k=v,...) and ports (NAME:PORT/PROTO ...) of a pod of
      deployment D in the scale model, for `hack/cluster pod add`.
  policy_k8s.py --kdir DIR namespaces --pods N
      the scale model's Namespaces (with their labels) for N pods.
  policy_k8s.py --kdir DIR objects --pods N [--nodes K] [--node-ip-base A.B.C.D]
      the scale model's Namespaces, K Nodes with InternalIPs and N Pods bound
      to them (each with a status.podIP), 16 connections in parallel.
  policy_k8s.py --kdir DIR policies --count N
      N NetworkPolicies of the scale model (a mix: matchLabels and
      matchExpressions podSelectors, namespaceSelectors, ipBlocks with except,
      named, numbered and endPort ports, ingress and egress).
  policy_k8s.py --kdir DIR packet-policies --count N --namespace NS [--pods M]
      N NetworkPolicies in NS that all select the pod labelled app=server1
      (through different selectors) with many rules, of which every tenth
      allows app=client on the benchmark's ports; plus M Pod objects with
      other labels so that the rules' peers are real identities.
  policy_k8s.py --kdir DIR delete-policies --namespace NS|--all
  policy_k8s.py --kdir DIR latency --namespace NS --changes N --mode patch|create
                --probe NAME:NETNS:ADDR ... --prober BIN --out TSV [--status-cmd CMD]
      the policy update latency driver; see policy_latency.sh.
"""
import argparse
import hashlib
import http.client
import json
import os
import queue
import random
import shlex
import ssl
import subprocess
import sys
import threading
import time
from urllib.parse import urlparse

NETPOL = "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies"


# --- API access -------------------------------------------------------------------
class Api:
    def __init__(self, kdir):
        env = {}
        for line in open(os.path.join(kdir, "env")):
            if "=" in line and not line.startswith("KUBECTL"):
                k, v = line.rstrip("\n").split("=", 1)
                env[k] = v
        u = urlparse(env["APISERVER"])
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=os.path.join(kdir, "pki/ca.crt"))
        self.ctx.load_cert_chain(os.path.join(kdir, "pki/admin.crt"),
                                 os.path.join(kdir, "pki/admin.key"))

    def conn(self, timeout=60):
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)
        c.connect()
        return c

    @staticmethod
    def call(c, method, path, body=None, ctype="application/json", ok=(200, 201, 202, 409)):
        data = None if body is None else json.dumps(body)
        hdrs = {"Content-Type": ctype} if body is not None else {}
        c.request(method, path, body=data, headers=hdrs)
        r = c.getresponse()
        raw = r.read()
        if r.status not in ok:
            raise RuntimeError(f"{method} {path}: {r.status} {raw[:300]!r}")
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, None


def parallel(api, items, fn, n=16):
    """fn(conn, item) for every item, on n kept-alive connections."""
    items = list(items)
    lock = threading.Lock()
    errors = []

    def worker():
        c = api.conn()
        while True:
            with lock:
                if not items or errors:
                    return
                it = items.pop()
            try:
                fn(c, it)
            except Exception as e:  # noqa: BLE001 - report and stop
                with lock:
                    errors.append(f"{it}: {e}")
                return

    ts = [threading.Thread(target=worker) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        sys.exit(f"policy_k8s: {errors[0]}")


# --- the scale model ------------------------------------------------------------------
# Pods come in deployments of PODS_PER_DEPLOY with one label set each (one
# identity per deployment, as in a real cluster); DEPLOY_PER_NS deployments
# share a namespace; the tier decides the named ports.
PODS_PER_DEPLOY = 20
DEPLOY_PER_NS = 25
TIERS = ["web", "api", "db", "cache"]
TIER_PORTS = {
    "web": [("http", 8080, "TCP"), ("metrics", 9090, "TCP")],
    "api": [("grpc", 9000, "TCP"), ("http", 8080, "TCP"), ("metrics", 9090, "TCP")],
    "db": [("postgres", 5432, "TCP"), ("metrics", 9187, "TCP")],
    "cache": [("redis", 6379, "TCP"), ("metrics", 9121, "TCP")],
}
TEAMS = 5
ENVS = ["prod", "staging", "dev"]


def ns_name(k):
    return f"pb-ns{k:02d}"


def ns_labels(k):
    return {"team": f"team-{k % TEAMS}", "env": ENVS[k % len(ENVS)]}


def deploy_ns(d):
    return d // DEPLOY_PER_NS


def deploy_labels(d):
    return {"app": f"svc{d}", "tier": TIERS[d % 4], "version": f"v{d % 3}",
            "pod-template-hash": hashlib.sha1(str(d).encode()).hexdigest()[:10]}


def deploy_ports(d):
    return TIER_PORTS[TIERS[d % 4]]


def pod_ip(i):
    return f"10.200.{i // 250}.{i % 250 + 1}"


def cmd_deploy(a):
    d = a.d
    print(ns_name(deploy_ns(d)),
          ",".join(f"{k}={v}" for k, v in deploy_labels(d).items()),
          " ".join(f"{n}:{p}/{pr}" for n, p, pr in deploy_ports(d)))


def ensure_namespaces(api, n):
    c = api.conn()
    for k in range(n):
        api.call(c, "POST", "/api/v1/namespaces",
                 {"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": ns_name(k), "labels": ns_labels(k)}})


def model_size(pods):
    deployments = (pods + PODS_PER_DEPLOY - 1) // PODS_PER_DEPLOY
    return deployments, (deployments + DEPLOY_PER_NS - 1) // DEPLOY_PER_NS


def cmd_namespaces(a):
    ensure_namespaces(Api(a.kdir), model_size(a.pods)[1])


def cmd_objects(a):
    api = Api(a.kdir)
    _, namespaces = model_size(a.pods)
    t0 = time.monotonic()
    ensure_namespaces(api, namespaces)
    c = api.conn()
    base = a.node_ip_base.split(".")
    for k in range(a.nodes):
        name = f"pbench-n{k}"
        api.call(c, "POST", "/api/v1/nodes",
                 {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
        ip = ".".join(base[:3] + [str(int(base[3]) + k)])
        api.call(c, "PATCH", f"/api/v1/nodes/{name}/status",
                 {"status": {"addresses": [{"type": "InternalIP", "address": ip}]}},
                 "application/merge-patch+json")

    def make(conn, i):
        d = i // PODS_PER_DEPLOY
        ns, name, ip = ns_name(deploy_ns(d)), f"p{i}", pod_ip(i)
        ports = [{"name": n, "containerPort": p, "protocol": pr} for n, p, pr in deploy_ports(d)]
        api.call(conn, "POST", f"/api/v1/namespaces/{ns}/pods",
                 {"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": name, "namespace": ns, "labels": deploy_labels(d)},
                  "spec": {"nodeName": f"pbench-n{i % a.nodes}",
                           "containers": [{"name": "c", "image": "x", "ports": ports}]}})
        api.call(conn, "PATCH", f"/api/v1/namespaces/{ns}/pods/{name}/status",
                 {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}},
                 "application/merge-patch+json")

    parallel(api, range(a.pods), make, a.parallel)
    print(f"policy_k8s: {namespaces} namespaces, {a.nodes} nodes, {a.pods} pods "
          f"in {time.monotonic() - t0:.1f}s", file=sys.stderr)


def scale_policy(j, namespaces, deployments):
    """Policy j of the scale model: a mix of what real clusters hold."""
    k = j % namespaces
    q = j // namespaces
    kind = q % 10
    in_ns = [d for d in range(k * DEPLOY_PER_NS, min((k + 1) * DEPLOY_PER_NS, deployments))]
    d = in_ns[q % len(in_ns)]
    tier = TIERS[d % 4]
    port_name = deploy_ports(d)[0][0]
    spec = {"podSelector": {"matchLabels": {"app": f"svc{d}"}}}
    if kind in (0, 1, 2, 3):
        # the usual: this app, from some tier of the same namespace, named port
        peers = [{"podSelector": {"matchLabels": {"tier": TIERS[(d + 3) % 4]}}}]
        if kind == 1:
            peers.append({"podSelector": {"matchLabels": {"tier": "api"}}})
        ports = [{"protocol": "TCP", "port": port_name}]
        if kind == 2:
            ports.append({"protocol": "TCP", "port": "metrics"})
        spec.update(policyTypes=["Ingress"], ingress=[{"from": peers, "ports": ports}])
    elif kind in (4, 5):
        # set-based selectors, a namespace AND pod selector, numbered and endPort ports
        spec["podSelector"] = {"matchExpressions": [
            {"key": "tier", "operator": "In", "values": [tier, TIERS[(d + 1) % 4]]},
            {"key": "version", "operator": "NotIn", "values": [f"v{(q + 1) % 3}"]}]}
        ports = ([{"protocol": "TCP", "port": 8080, "endPort": 8090}] if kind == 4 else
                 [{"protocol": "TCP", "port": 5432}, {"protocol": "UDP", "port": 5353}])
        spec.update(policyTypes=["Ingress"], ingress=[{"from": [
            {"namespaceSelector": {"matchLabels": {"team": f"team-{q % TEAMS}"}},
             "podSelector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}}],
            "ports": ports}])
    elif kind == 6:
        # ipBlock ingress with except
        spec.update(policyTypes=["Ingress"], ingress=[{"from": [
            {"ipBlock": {"cidr": f"10.{(j % 120) + 1}.0.0/16",
                         "except": [f"10.{(j % 120) + 1}.{q % 256}.0/24"]}}],
            "ports": [{"protocol": "TCP", "port": 443}]}])
    elif kind == 7:
        # egress: DNS in kube-system, the database tier by named port
        spec.update(policyTypes=["Egress"], egress=[
            {"to": [{"namespaceSelector": {"matchLabels":
                                           {"kubernetes.io/metadata.name": "kube-system"}}}],
             "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
            {"to": [{"podSelector": {"matchLabels": {"tier": "db"}}}],
             "ports": [{"protocol": "TCP", "port": "postgres"}]}])
    elif kind == 8:
        # egress to the internet but not private ranges, and one partner network
        spec.update(policyTypes=["Egress"], egress=[
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                 "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}],
             "ports": [{"protocol": "TCP", "port": 443}]},
            {"to": [{"ipBlock": {"cidr": f"192.168.{j % 250}.0/24"}}]}])
    else:
        # namespace-wide: every pod here, from the web tier of every namespace
        spec["podSelector"] = {}
        spec.update(policyTypes=["Ingress"], ingress=[
            {"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"tier": "web"}}}],
             "ports": [{"protocol": "TCP", "port": "metrics"}]},
            {"from": [{"podSelector": {}}]}])
    return ns_name(k), {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"name": f"pol{j}", "namespace": ns_name(k)}, "spec": spec}


def cmd_policies(a):
    api = Api(a.kdir)
    deployments, namespaces = model_size(a.pods)
    ensure_namespaces(api, namespaces)
    t0 = time.time()

    def make(conn, j):
        ns, obj = scale_policy(j, namespaces, deployments)
        api.call(conn, "POST", NETPOL.format(ns=ns), obj)

    parallel(api, range(a.count), make, a.parallel)
    t1 = time.time()
    # for the script: wall-clock times of the first request and the last answer
    print(f"{t0:.6f} {t1:.6f}")
    print(f"policy_k8s: {a.count} policies in {t1 - t0:.1f}s", file=sys.stderr)


def packet_policy(j, ports):
    """Policy j of policy_packet.sh: selects app=server1, one way or another."""
    sel = [{"matchLabels": {"app": "server1"}},
           {"matchLabels": {"role": "server", "tier": "backend"}},
           {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["backend", f"t{j}"]}]},
           {"matchExpressions": [{"key": "role", "operator": "Exists"},
                                 {"key": "app", "operator": "NotIn", "values": ["server0", "client"]}]},
           ][j % 4]
    rules = [
        {"from": [{"podSelector": {"matchLabels": {"app": f"other{j % 97}"}}}],
         "ports": [{"protocol": "TCP", "port": 1000 + j % 5000}]},
        {"from": [{"namespaceSelector": {"matchLabels": {"team": f"team-{j % 7}"}},
                   "podSelector": {"matchLabels": {"app": f"other{(j * 7) % 97}"}}}],
         "ports": [{"protocol": "TCP", "port": "metrics"}, {"protocol": "UDP", "port": 5000 + j}]},
        {"from": [{"ipBlock": {"cidr": f"10.{(j % 100) + 100}.0.0/16",
                               "except": [f"10.{(j % 100) + 100}.{j % 256}.0/24"]}}],
         "ports": [{"protocol": "TCP", "port": 443, "endPort": 463}]},
    ]
    if j % 10 == 0:
        rules.append({"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                      "ports": [{"protocol": "TCP", "port": p} for p in ports]})
    spec = {"podSelector": sel, "policyTypes": ["Ingress"], "ingress": rules}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"pkt{j}"}, "spec": spec}


def cmd_packet_policies(a):
    api = Api(a.kdir)
    ports = [int(p) for p in a.ports.split(",")]
    c = api.conn()
    for t in range(7):
        api.call(c, "POST", "/api/v1/namespaces",
                 {"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": f"pkt-team{t}", "labels": {"team": f"team-{t}"}}})

    def mkpod(conn, i):
        ns = f"pkt-team{i % 7}" if i % 2 else a.namespace
        ip = f"10.201.{i // 250}.{i % 250 + 1}"
        api.call(conn, "POST", f"/api/v1/namespaces/{ns}/pods",
                 {"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": f"other{i}", "namespace": ns,
                               "labels": {"app": f"other{i % 97}"}},
                  "spec": {"nodeName": "pbench-nx", "containers": [{"name": "c", "image": "x"}]}})
        api.call(conn, "PATCH", f"/api/v1/namespaces/{ns}/pods/other{i}/status",
                 {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}},
                 "application/merge-patch+json")

    t0 = time.monotonic()
    parallel(api, range(a.pods), mkpod, a.parallel)
    parallel(api, range(a.count),
             lambda conn, j: api.call(conn, "POST", NETPOL.format(ns=a.namespace),
                                      packet_policy(j, ports)), a.parallel)
    print(f"policy_k8s: {a.pods} pods and {a.count} policies in {time.monotonic() - t0:.1f}s",
          file=sys.stderr)


def cmd_delete_policies(a):
    api = Api(a.kdir)
    c = api.conn()
    path = ("/apis/networking.k8s.io/v1/networkpolicies" if a.all
            else NETPOL.format(ns=a.namespace))
    _, lst = api.call(c, "GET", path)
    items = [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in lst["items"]]
    parallel(api, items, lambda conn, it: api.call(
        conn, "DELETE", NETPOL.format(ns=it[0]) + "/" + it[1], ok=(200, 202, 404)), a.parallel)
    print(f"policy_k8s: deleted {len(items)} policies", file=sys.stderr)


# --- policy update latency ------------------------------------------------------------
class Prober:
    """policy_probe -c in a pod's netns; its lines, parsed, as they come."""

    def __init__(self, name, netns, addr, a):
        self.name = name
        self.rows = []  # (seq, send_ns, echoed)
        cmd = ["ip", "netns", "exec", netns, a.prober, "-c", addr, "-p", str(a.port),
               "-n", str(a.nports), "-i", str(a.interval_us), "-t", str(a.timeout_ms),
               "-b", str(a.sport_base), "-r", str(a.sport_range)]
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            f = line.split()
            if len(f) == 4:
                self.rows.append((int(f[0]), int(f[1]), f[2] == "1"))

    def stop(self):
        self.p.terminate()
        self.p.wait()

    def first_after(self, t_ns, start=0):
        """Index of the first probe sent at or after t_ns (len(rows) if none yet)."""
        rows = self.rows
        i = start
        while i < len(rows) and rows[i][1] < t_ns:
            i += 1
        return i


def watcher(api, ns, rv, q):
    """Watch NetworkPolicies in ns; put (type, name, arrival_ns) on q."""
    c = api.conn(timeout=None)
    c.request("GET", NETPOL.format(ns=ns) + f"?watch=1&resourceVersion={rv}")
    r = c.getresponse()
    while True:
        line = r.readline()
        if not line:
            q.put(("CLOSED", "", time.monotonic_ns()))
            return
        t = time.monotonic_ns()
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        q.put((ev.get("type"), ev.get("object", {}).get("metadata", {}).get("name"), t))


def cmd_latency(a):
    api = Api(a.kdir)
    c = api.conn()
    base = NETPOL.format(ns=a.namespace)
    server_sel = dict(kv.split("=", 1) for kv in a.server_labels.split(","))
    client_sel = dict(kv.split("=", 1) for kv in a.client_labels.split(","))

    def pol(name, peers):
        spec = {"podSelector": {"matchLabels": server_sel}, "policyTypes": ["Ingress"]}
        spec["ingress"] = [{"from": peers}] if peers is not None else []
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": name}, "spec": spec}

    allow_peers = [{"podSelector": {"matchLabels": client_sel}}]
    other_peers = [{"podSelector": {"matchLabels": {"app": "nobody"}}}]

    probers = []
    for spec in a.probe:
        name, netns, addr = spec.split(":")
        probers.append(Prober(name, netns, addr, a))
    out = open(a.out, "a")
    try:
        run_latency(a, api, c, base, pol, allow_peers, other_peers, probers, out)
    finally:
        for p in probers:
            p.stop()
        out.close()


def wait_state(probers, t_ns, allow, k, limit_s):
    """Per prober: index of the first probe sent at/after t_ns whose fate is
    `allow` (for deny: followed by k-1 more lost), or None after limit_s."""
    res = {}
    deadline = time.monotonic() + limit_s
    starts = {p.name: p.first_after(t_ns) for p in probers}
    while len(res) < len(probers):
        if time.monotonic() > deadline:
            break
        for p in probers:
            if p.name in res:
                continue
            rows = p.rows
            i = starts[p.name] = p.first_after(t_ns, starts[p.name])
            if allow:
                while i < len(rows) and not rows[i][2]:
                    i += 1
                if i < len(rows):
                    res[p.name] = i
                else:
                    starts[p.name] = i  # all lost so far: scan on from here
            else:
                run = 0
                cand = None
                j = i
                while j < len(rows):
                    if rows[j][2]:
                        run, cand = 0, None
                    else:
                        if cand is None:
                            cand = j
                        run += 1
                        if run >= k:
                            break
                    j += 1
                if cand is not None and run >= k:
                    res[p.name] = cand
        time.sleep(0.002)
    return res


def agent_counters(cmd):
    if not cmd:
        return {}
    try:
        out = subprocess.run(shlex.split(cmd), capture_output=True, text=True, timeout=10).stdout
        return json.loads(out)
    except (ValueError, subprocess.SubprocessError):
        return {}


def run_latency(a, api, c, base, pol, allow_peers, other_peers, probers, out):
    rnd = random.Random(1)
    log = lambda m: print(f"policy_k8s: {m}", file=sys.stderr, flush=True)  # noqa: E731

    # Everything starts allowed: no policy selects the server yet.
    t = time.monotonic_ns()
    ok = wait_state(probers, t, True, 1, 10)
    if len(ok) < len(probers):
        sys.exit(f"policy_k8s: no echo from the server before any policy: "
                 f"{[p.name for p in probers if p.name not in ok]}")

    _, lst = api.call(c, "GET", base)
    q = queue.Queue()
    threading.Thread(target=watcher, args=(api, a.namespace, lst["metadata"]["resourceVersion"], q),
                     daemon=True).start()

    def request(change):
        """Send one change; return (t_send_ns, t_answer_ns, expected watch event)."""
        if a.mode == "patch":
            peers = allow_peers if change == "allow" else other_peers
            t0 = time.monotonic_ns()
            api.call(c, "PATCH", f"{base}/probe", {"spec": {"ingress": [{"from": peers}]}},
                     "application/merge-patch+json", ok=(200,))
            return t0, time.monotonic_ns(), ("MODIFIED", "probe")
        if change == "allow":
            t0 = time.monotonic_ns()
            api.call(c, "POST", base, pol("allow", allow_peers), ok=(201,))
            return t0, time.monotonic_ns(), ("ADDED", "allow")
        t0 = time.monotonic_ns()
        api.call(c, "DELETE", f"{base}/allow", ok=(200, 202))
        return t0, time.monotonic_ns(), ("DELETED", "allow")

    def watch_time(t0, want, limit_s=10):
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            try:
                typ, name, t = q.get(timeout=0.5)
            except queue.Empty:
                continue
            if (typ, name) == want and t >= t0:
                return t
        return None

    # The deny state to start from.
    t0 = time.monotonic_ns()
    if a.mode == "patch":
        api.call(c, "POST", base, pol("probe", other_peers), ok=(201,))
        want = ("ADDED", "probe")
    else:
        api.call(c, "POST", base, pol("isolate", None), ok=(201,))
        want = ("ADDED", "isolate")
    watch_time(t0, want)
    st = wait_state(probers, t0, False, a.deny_k, 20)
    if len(st) < len(probers):
        sys.exit("policy_k8s: the server never became isolated (every probe still answered "
                 f"after 20 s): {[p.name for p in probers if p.name not in st]}")
    time.sleep(0.3)
    before = agent_counters(a.status_cmd)

    change = "allow"
    changes = []
    for i in range(a.changes):
        t_send, t_ans, want = request(change)
        changes.append((i, change, t_send))
        t_watch = watch_time(t_send, want)
        got = wait_state(probers, t_send, change == "allow", a.deny_k, a.limit_s)
        # settle, at a random phase against whatever periodic work the agent does
        time.sleep(0.15 + rnd.random() * 0.1)
        after = agent_counters(a.status_cmd)
        flushes = (after.get("flushes", 0) - before.get("flushes", 0)) if after else ""
        compiles = (after.get("compiles", 0) - before.get("compiles", 0)) if after else ""
        flush_us = after.get("last_flush_us", "") if after else ""
        for p in probers:
            idx = got.get(p.name)
            lat = "" if idx is None else f"{(p.rows[idx][1] - t_send) / 1e6:.3f}"
            # probes after the detected one with the old fate: flapping or loss
            wrong = ""
            if idx is not None:
                wrong = sum(1 for r in p.rows[idx + 1:] if r[2] != (change == "allow"))
            out.write(f"{a.mode}\t{i}\t{change}\t{p.name}\t{lat}\t"
                      f"{(t_ans - t_send) / 1e6:.3f}\t"
                      f"{'' if t_watch is None else f'{(t_watch - t_send) / 1e6:.3f}'}\t"
                      f"{flush_us}\t{flushes}\t{compiles}\t{wrong}\n")
        out.flush()
        missing = [p.name for p in probers if p.name not in got]
        if missing:
            log(f"{a.mode} change {i} ({change}): no effect seen in {a.limit_s}s on {missing}")
        before = after
        change = "deny" if change == "allow" else "allow"

    if a.dump:
        # every probe's fate and every change's times, for a closer look
        with open(os.path.join(a.dump, f"changes-{a.mode}.tsv"), "w") as fh:
            fh.write("change_no\tchange\tt_send_ns\n")
            fh.writelines(f"{i}\t{c}\t{t}\n" for i, c, t in changes)
        for p in probers:
            with open(os.path.join(a.dump, f"probes-{a.mode}-{p.name}.tsv"), "w") as fh:
                fh.write("seq\tsend_ns\techoed\n")
                fh.writelines(f"{r[0]}\t{r[1]}\t{int(r[2])}\n" for r in list(p.rows))

    # Leave no policy behind.
    for name in ("probe", "allow", "isolate"):
        api.call(c, "DELETE", f"{base}/{name}", ok=(200, 202, 404))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kdir", required=True, help="the control plane's directory")
    p.add_argument("--parallel", type=int, default=16)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("deploy")
    s.add_argument("d", type=int)
    s = sub.add_parser("namespaces")
    s.add_argument("--pods", type=int, required=True)
    s = sub.add_parser("objects")
    s.add_argument("--pods", type=int, required=True)
    s.add_argument("--nodes", type=int, default=10)
    s.add_argument("--node-ip-base", default="172.31.6.100")
    s = sub.add_parser("policies")
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--pods", type=int, default=10000, help="the model's size (as for objects)")
    s = sub.add_parser("packet-policies")
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--namespace", required=True)
    s.add_argument("--pods", type=int, default=500)
    s.add_argument("--ports", default="5201,7777")
    s = sub.add_parser("delete-policies")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--namespace")
    g.add_argument("--all", action="store_true")
    s = sub.add_parser("latency")
    s.add_argument("--namespace", required=True)
    s.add_argument("--server-labels", default="app=server")
    s.add_argument("--client-labels", default="app=client")
    s.add_argument("--changes", type=int, default=100)
    s.add_argument("--mode", choices=["patch", "create"], default="patch")
    s.add_argument("--probe", action="append", required=True, help="NAME:NETNS:SERVER_ADDR")
    s.add_argument("--prober", required=True)
    s.add_argument("--port", type=int, default=9400)
    s.add_argument("--nports", type=int, default=8)
    # A run's probes must not reuse an earlier run's 5-tuples while their
    # conntrack entries live (60 s for UDP): give each run its own range.
    s.add_argument("--sport-base", type=int, default=20000)
    s.add_argument("--sport-range", type=int, default=20000)
    s.add_argument("--interval-us", type=int, default=1000)
    s.add_argument("--timeout-ms", type=int, default=100)
    s.add_argument("--deny-k", type=int, default=10, help="lost probes in a row that make a deny")
    s.add_argument("--limit-s", type=float, default=10)
    s.add_argument("--status-cmd", default="")
    s.add_argument("--out", required=True)
    s.add_argument("--dump", default="", help="a directory for every probe's fate")
    a = p.parse_args()
    {"deploy": cmd_deploy, "namespaces": cmd_namespaces, "objects": cmd_objects, "policies": cmd_policies,
     "packet-policies": cmd_packet_policies, "delete-policies": cmd_delete_policies,
     "latency": cmd_latency}[a.cmd](a)


if __name__ == "__main__":
    main()

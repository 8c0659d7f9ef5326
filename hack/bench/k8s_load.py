#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Load for hack/bench/agent_scale.sh: many Pods in a real apiserver, fast.

  k8s_load.py create  --kubeconfig-dir DIR --from N --to M --nodes K
      Pods bench-N..bench-(M-1) in "default", bound to nodes bench-n0..n(K-1),
      each given status.podIP 10.200.(i/250).(i%250+1) by a status patch.
      Parallel HTTPS connections with keep-alive (kubectl is far too slow).
  k8s_load.py latency --kubeconfig-dir DIR --bpf-root R --count C --nodes K
      C times: patch one pod's podIP to a new address, then poll the pinned
      pn_ipcache (bpf syscall, every 0.2 ms) until that /32 appears.  Prints
      one latency in ms per line.
"""
import argparse
import ctypes
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
import http.client
from urllib.parse import urlparse


def conn_factory(d):
    env = dict(l.split("=", 1) for l in open(os.path.join(d, "env")).read().split("\n")
               if "=" in l and not l.startswith("KUBECTL"))
    u = urlparse(env["APISERVER"])
    ctx = ssl.create_default_context(cafile=os.path.join(d, "pki/ca.crt"))
    ctx.load_cert_chain(os.path.join(d, "pki/admin.crt"), os.path.join(d, "pki/admin.key"))

    def new():
        return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=60)
    return new


def req(c, method, path, body, ctype="application/json"):
    c.request(method, path, body=json.dumps(body), headers={"Content-Type": ctype})
    r = c.getresponse()
    data = r.read()
    if r.status >= 300 and r.status != 409:
        raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")
    return r.status


def pod_ip(i, base=200):
    return f"10.{base}.{i // 250}.{i % 250 + 1}"


def create(a):
    new = conn_factory(a.kubeconfig_dir)
    todo = list(range(a.start, a.end))
    lock = threading.Lock()
    errors = []

    def worker():
        c = new()
        while True:
            with lock:
                if not todo or errors:
                    return
                i = todo.pop()
            name = f"bench-{i}"
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name, "namespace": "default",
                                "labels": {"app": f"a{i % 50}", "bench": "1"}},
                   "spec": {"nodeName": f"bench-n{i % a.nodes}",
                            "containers": [{"name": "c", "image": "x"}]}}
            ip = pod_ip(i)
            try:
                req(c, "POST", "/api/v1/namespaces/default/pods", pod)
                req(c, "PATCH", f"/api/v1/namespaces/default/pods/{name}/status",
                    {"status": {"podIP": ip, "podIPs": [{"ip": ip}]}},
                    "application/merge-patch+json")
            except Exception as e:  # noqa: BLE001 - report and stop
                with lock:
                    errors.append(str(e))
                return

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(a.parallel)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        sys.exit(f"create failed: {errors[0]}")
    print(f"created {a.end - a.start} pods in {time.monotonic() - t0:.1f}s", file=sys.stderr)


# --- pn_ipcache lookups through the bpf syscall ---------------------------------
SYS_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.syscall.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_ulong]


class ObjGet(ctypes.Structure):
    _fields_ = [("pathname", ctypes.c_uint64), ("bpf_fd", ctypes.c_uint32),
                ("file_flags", ctypes.c_uint32)]


class Elem(ctypes.Structure):
    _fields_ = [("map_fd", ctypes.c_uint32), ("pad", ctypes.c_uint32),
                ("key", ctypes.c_uint64), ("value", ctypes.c_uint64),
                ("flags", ctypes.c_uint64)]


def bpf(cmd, attr):
    r = libc.syscall(SYS_BPF, cmd, ctypes.addressof(attr), ctypes.sizeof(attr))
    return r, ctypes.get_errno()


def map_open(path):
    p = ctypes.create_string_buffer(path.encode())
    attr = ObjGet(pathname=ctypes.addressof(p))
    fd, err = bpf(7, attr)  # BPF_OBJ_GET
    if fd < 0:
        sys.exit(f"cannot open {path}: {os.strerror(err)}")
    return fd


def make_lookup(fd):
    key = ctypes.create_string_buffer(8)
    val = ctypes.create_string_buffer(4096)  # any value size
    attr = Elem(map_fd=fd, key=ctypes.addressof(key), value=ctypes.addressof(val))

    def lookup(ip):
        key.raw = struct.pack("<I", 32) + socket.inet_aton(ip)
        r, _ = bpf(1, attr)  # BPF_MAP_LOOKUP_ELEM
        return r == 0
    return lookup


def bpftool_lookup(path):
    """Fallback poller: one bpftool process per lookup (~5 ms resolution)."""
    import subprocess

    def lookup(ip):
        key = ["32", "0", "0", "0"] + ip.split(".")
        return subprocess.run(["bpftool", "map", "lookup", "pinned", path, "key", *key],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    return lookup


def latency(a):
    path = os.path.join(a.bpf_root, "pn_ipcache")
    # POLL=bpftool: the syscall poller crashed inside the benchmark once.
    lookup = bpftool_lookup(path) if os.environ.get("POLL") == "bpftool" else \
        make_lookup(map_open(path))
    c = conn_factory(a.kubeconfig_dir)()
    for n in range(a.count):
        i = n * 7 % a.pods
        ip = pod_ip(n, base=201)
        if lookup(ip):
            sys.exit(f"{ip} already in the ipcache")
        t0 = time.monotonic()
        req(c, "PATCH", f"/api/v1/namespaces/default/pods/bench-{i}/status",
            {"status": {"podIP": ip, "podIPs": [{"ip": ip}]}}, "application/merge-patch+json")
        while not lookup(ip):
            if time.monotonic() - t0 > 10:
                sys.exit(f"{ip} did not reach the ipcache in 10 s")
            time.sleep(0.0002)
        print(f"{(time.monotonic() - t0) * 1000:.2f}", flush=True)
        time.sleep(0.05)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["create", "latency"])
    p.add_argument("--kubeconfig-dir", required=True)
    p.add_argument("--from", dest="start", type=int, default=0)
    p.add_argument("--to", dest="end", type=int, default=0)
    p.add_argument("--nodes", type=int, default=10)
    p.add_argument("--parallel", type=int, default=16)
    p.add_argument("--bpf-root")
    p.add_argument("--count", type=int, default=60)
    p.add_argument("--pods", type=int, default=1000)
    a = p.parse_args()
    create(a) if a.mode == "create" else latency(a)


if __name__ == "__main__":
    main()

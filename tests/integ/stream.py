#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A long-lived TCP stream for restart tests.

  stream.py serve PORT OUTFILE      accept one connection, count the lines it
                                    receives, write the count to OUTFILE at EOF
  stream.py send HOST PORT N MS     send N numbered lines, one every MS ms,
                                    over ONE connection; exit 1 on any error
"""
import socket
import sys
import time


def serve(port, outfile):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    conn, _ = srv.accept()
    lines = 0
    buf = b""
    while True:
        data = conn.recv(65536)
        if not data:
            break
        buf += data
        lines += buf.count(b"\n")
        buf = buf[buf.rfind(b"\n") + 1:]
    with open(outfile, "w") as f:
        f.write(f"{lines}\n")


def send(host, port, n, ms):
    deadline = time.time() + 5
    while True:
        try:
            conn = socket.create_connection((host, port), timeout=2)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
    conn.settimeout(2)
    for i in range(n):
        conn.sendall(b"line %d\n" % i)
        time.sleep(ms / 1000.0)
    conn.shutdown(socket.SHUT_WR)
    conn.close()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))

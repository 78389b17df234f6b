#!/usr/bin/env python3
"""Connect-timeout traffic for rstscope: a client whose SYNs are dropped.

Stdlib only.  Run by tests/capture-connect-timeout.sh, which puts the server
and the client in two network namespaces joined by a veth pair and makes the
server's kernel drop every TCP packet to port 443 (iptables DROP).

  connect-timeout.py server ADDR
      tiny HTTP/1.0-like server on ADDR:8080: reads a request, answers
      "HTTP/1.0 200 OK ... ok", closes.  Prints "ready" when listening.

  connect-timeout.py client ADDR
      Runs, concurrently:
        kernel   1 connect() to ADDR:443 left to the kernel's own SYN
                 retransmissions (net.ipv4.tcp_syn_retries,
                 tcp_syn_linear_timeouts) for 21 s, then abandoned: the
                 kernel would go on much longer (Linux 6.18, syn_retries 6,
                 linear_timeouts 4: SYNs at +0 +1 +2 +3 +4 +5 +7 +11 +19.4
                 +35.5 +69 s, ETIMEDOUT after 134.6 s)
      and, one after the other:
        ok       3 successful connections to ADDR:8080 (request, response,
                 close), before, between and after the timeouts
        t1s      12 connects to ADDR:443 given up after 1 s (like Envoy's /
                 Istio's connect_timeout 1s): each a fresh socket (new
                 ephemeral port); on timeout the socket is closed, which
                 sends no packet
        t5s      3 connects to ADDR:443 given up after 5 s
      Prints one JSON line per attempt: kind, local port, start (epoch s),
      elapsed s, outcome.
"""
import json
import socket
import sys
import threading
import time

PORT_OPEN = 8080
PORT_DROP = 443
KERNEL_WAIT = 21.0  # s; the kernel attempt is abandoned after this


def out(obj):
    print(json.dumps(obj), flush=True)


def server(addr):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, PORT_OPEN))
    ls.listen(16)
    out({"ev": "ready"})
    while True:
        c, _ = ls.accept()
        with c:
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(4096)
                if not d:
                    break
                buf += d
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")


def attempt(addr, port, kind, timeout):
    """One connect() on a fresh socket; returns the log record."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    rec = {"kind": kind, "dport": port, "timeout": timeout}
    t0 = time.time()
    rec["start"] = round(t0, 6)
    try:
        s.connect((addr, port))
        rec["lport"] = s.getsockname()[1]
        if port == PORT_OPEN:
            s.sendall(b"GET / HTTP/1.0\r\nHost: srv\r\n\r\n")
            resp = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                resp += d
            rec["outcome"] = resp.split(b"\r\n", 1)[0].decode()
        else:
            rec["outcome"] = "connected"
    except socket.timeout:
        rec["lport"] = s.getsockname()[1]
        rec["outcome"] = "timeout (client gave up)"
    except OSError as e:
        rec["lport"] = s.getsockname()[1]
        rec["outcome"] = f"{type(e).__name__} errno={e.errno} {e.strerror}"
    rec["elapsed"] = round(time.time() - t0, 4)
    s.close()  # in SYN_SENT: no packet
    out(rec)
    return rec


def client(addr):
    kt = threading.Thread(target=attempt, args=(addr, PORT_DROP, "kernel", KERNEL_WAIT))
    kt.start()
    time.sleep(0.3)
    attempt(addr, PORT_OPEN, "ok", 5.0)
    for _ in range(12):
        attempt(addr, PORT_DROP, "t1s", 1.0)
        time.sleep(0.05)
    attempt(addr, PORT_OPEN, "ok", 5.0)
    for _ in range(3):
        attempt(addr, PORT_DROP, "t5s", 5.0)
        time.sleep(0.05)
    attempt(addr, PORT_OPEN, "ok", 5.0)
    kt.join()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("server", "client"):
        sys.exit("usage: connect-timeout.py server|client ADDR")
    (server if sys.argv[1] == "server" else client)(sys.argv[2])

#!/usr/bin/env python3
"""Generate deterministic-ish TCP lifecycle traffic on loopback for rstscope tests.

Runs a tiny HTTP/1.1-like server and a client inside this process, over
127.0.0.1 and ::1, one scenario after the other.  Every scenario uses its own
fixed server port so the captures are easy to read:

  port  scenario
  18081 normal      2 keep-alive request/response exchanges, client closes (FIN)
  18082 idleclose   1 exchange, server closes the idle connection after 1 s
                    (FIN), client sees EOF and closes
  18083 refused     connect() to a port nobody listens on (kernel RST+ACK)
  18084 abort       server reads the request, sets SO_LINGER {1,0} and
                    close()s -> RST instead of a response
  18085 latewrite   1 exchange, server closes after 1 s idle (FIN); client
                    sleeps 1.3 s (past the timeout) and writes a request
                    anyway -> the server kernel answers with RST
  18086 halfclose   client sends its request then shutdown(SHUT_WR); server
                    reads to EOF, answers, closes; client reads to EOF, closes

Usage: lo-traffic.py [--family 4|6|both] [--ports]   (--ports prints the port
list and exits; used by capture-lo.sh to build its tcpdump filter).
Stdlib only.
"""
import errno
import socket
import struct
import sys
import threading
import time

PORTS = {
    "normal": 18081,
    "idleclose": 18082,
    "refused": 18083,
    "abort": 18084,
    "latewrite": 18085,
    "halfclose": 18086,
}
IDLE_TIMEOUT = 1.0
GAP = 0.3  # pause between scenarios


def log(msg):
    print(f"lo-traffic: {msg}", flush=True)


def read_request(conn):
    """Read one request (up to the blank line). Returns bytes or b'' on EOF."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            return buf
        buf += chunk
    return buf


def response(n):
    body = (b"hello from rstscope test server %d\n" % n) * (n + 1)
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n" % len(body)) + body


def request(host, path):
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
            f"User-Agent: lo-traffic/1\r\nAccept: */*\r\n\r\n").encode()


def read_response(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    clen = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            clen = int(line.split(b":")[1])
    while len(body) < clen:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


# ---------------------------------------------------------------- servers

def srv_keepalive(conn, idle_timeout=None):
    """Serve requests until EOF (then close) or idle timeout (then close)."""
    conn.settimeout(idle_timeout)
    n = 0
    try:
        while True:
            try:
                req = read_request(conn)
            except socket.timeout:
                return "idle-timeout close"
            if not req:
                return "peer EOF, close"
            n += 1
            conn.sendall(response(n))
    finally:
        conn.close()


def srv_abort(conn):
    read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    return "SO_LINGER{1,0} close"


def srv_halfclose(conn):
    req = b""
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            break
        req += chunk
    conn.sendall(response(1))
    conn.close()
    return "answered after EOF, close"


class Server:
    def __init__(self, family, addr, port, handler):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.sock.bind((addr, port))
        self.sock.listen(4)
        self.handler = handler
        self.result = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        conn, _ = self.sock.accept()
        try:
            self.result = self.handler(conn)
        except OSError as e:
            self.result = f"server error {e!r}"

    def join(self):
        self.thread.join(10)
        self.sock.close()
        return self.result


# ---------------------------------------------------------------- scenarios

def connect(family, addr, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((addr, port))
    return s


def sc_normal(family, addr, port):
    srv = Server(family, addr, port, srv_keepalive)
    s = connect(family, addr, port)
    for i in (1, 2):
        s.sendall(request(addr, f"/normal/{i}"))
        read_response(s)
        time.sleep(0.05)
    s.close()
    return srv.join()


def sc_idleclose(family, addr, port):
    srv = Server(family, addr, port, lambda c: srv_keepalive(c, IDLE_TIMEOUT))
    s = connect(family, addr, port)
    s.sendall(request(addr, "/idle"))
    read_response(s)
    eof = s.recv(1)  # blocks until the server's FIN arrives
    s.close()
    return f"{srv.join()}; client got {'EOF' if eof == b'' else eof!r}"


def sc_refused(family, addr, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.connect((addr, port))
        res = "unexpectedly connected"
    except ConnectionRefusedError:
        res = "ECONNREFUSED"
    s.close()
    return res


def sc_abort(family, addr, port):
    srv = Server(family, addr, port, srv_abort)
    s = connect(family, addr, port)
    s.sendall(request(addr, "/abort"))
    try:
        data = s.recv(4096)
        res = f"client recv {data!r}"
    except ConnectionResetError:
        res = "client ECONNRESET"
    s.close()
    return f"{srv.join()}; {res}"


def sc_latewrite(family, addr, port):
    srv = Server(family, addr, port, lambda c: srv_keepalive(c, IDLE_TIMEOUT))
    s = connect(family, addr, port)
    s.sendall(request(addr, "/late/1"))
    read_response(s)
    time.sleep(IDLE_TIMEOUT + 0.3)  # server has closed by now; we did not read
    s.sendall(request(addr, "/late/2"))
    time.sleep(0.1)  # let the RST arrive
    try:
        data = s.recv(4096)
        res = f"client recv {data!r}"
    except OSError as e:
        res = f"client {errno.errorcode.get(e.errno, e.errno)}"
    s.close()
    return f"{srv.join()}; {res}"


def sc_halfclose(family, addr, port):
    srv = Server(family, addr, port, srv_halfclose)
    s = connect(family, addr, port)
    s.sendall(request(addr, "/half"))
    s.shutdown(socket.SHUT_WR)
    read_response(s)
    rest = s.recv(1)
    s.close()
    return f"{srv.join()}; client got {'EOF' if rest == b'' else rest!r}"


SCENARIOS = [
    ("normal", sc_normal),
    ("idleclose", sc_idleclose),
    ("refused", sc_refused),
    ("abort", sc_abort),
    ("latewrite", sc_latewrite),
    ("halfclose", sc_halfclose),
]


def main(argv):
    fam = "both"
    if "--ports" in argv:
        print(" ".join(str(p) for p in PORTS.values()))
        return 0
    if "--family" in argv:
        fam = argv[argv.index("--family") + 1]
    fams = []
    if fam in ("4", "both"):
        fams.append((socket.AF_INET, "127.0.0.1"))
    if fam in ("6", "both"):
        fams.append((socket.AF_INET6, "::1"))
    for family, addr in fams:
        for name, fn in SCENARIOS:
            res = fn(family, addr, PORTS[name])
            log(f"{addr:>9} port {PORTS[name]} {name:<9} -> {res}")
            time.sleep(GAP)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

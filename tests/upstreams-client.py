#!/usr/bin/env python3
"""upstreams-client.py - pooled HTTP/1.1 keep-alive clients that reuse
connections around each upstream server's idle timer (stdlib only).

Used by tests/capture-upstreams.sh.  Speaks HTTP/1.1 over plain sockets so
that the timing of every request is exact.  For each server (NAME=PORT
arguments) one process:

  calibrate  opens 3 connections, sends one request on each and waits for the
             server's FIN (EOF): the time from the end of the response to the
             EOF is the server's idle close as the client sees it.  Their
             minimum and maximum give T_lo and T_hi and the race window
                 [min(T_hi - J, T_lo) - 3 ms, max(T_lo + 1.25 J, T_hi) + 4 ms]
             where J is the jitter of the server's timer known from its source
             (gunicorn gthread: its main loop polls with select(1.0) and only
             then closes expired connections, so J = 1 s; Tomcat NIO: the
             Poller's select(selectorTimeout = 1000 ms), J = 1 s; Apache
             event MPM: TIMEOUT_FUDGE_FACTOR 100 ms in
             server/mpm/event/event.c, J = 0.1 s; uvicorn and Node arm a
             timer per connection, J = 0): the
             window then covers every instant at which the timer can fire
             (and a quarter of J more, as a poll loop fires a little late).
  lanes      then LANES (default 4) pooled connections ("lanes", one
             process each, so a busy-wait in one never delays another).  Each lane works through
             a shuffled plan of idle gaps, each measured from the end of the
             previous response on the connection:
               below  gap uniform in [0.1, 0.6] x window start: clean reuse.
                      Like a pool, the client checks the socket first (poll,
                      MSG_PEEK): it never finds an EOF here.
               race   gap in the race window.  The client watches the
                      socket until max(10 ms, window width) before the gap
                      ends (an EOF seen by then is noticed as a pool would:
                      "missed", the connection is closed and the request
                      goes on a new one); from then on it does not look at
                      the socket (a busy event loop; the pool's gap between
                      its check and the send): it sleeps, busy-waits the
                      last 3 ms to the exact instant and sends.  Gaps are
                      uniform over the window for the jittery timers and
                      triangular, peaking at the calibrated median, for
                      the others.  For the jittery timers (gunicorn,
                      Tomcat, Apache) the blind time covers the whole
                      window, so their FIN is not noticed either.
                      Outcomes: "ok" (the request won), or the request
                      arrived after the server's FIN (Linux answers with a
                      RST: recv gives EPIPE/ECONNRESET, or EOF then the
                      RST; Apache's lingering close and Tomcat's deferred
                      close drain the request: EOF, no RST), or it arrived
                      just before a close that left it unread (RST without
                      FIN).
               above  gap past the window end + [0.3, 1.0] s: the client
                      watches the socket, sees the server's FIN, closes at
                      once (clean idle close) and sends the next request on a
                      new connection.
             Every failed or closed connection is replaced by a new one for
             the next request; at the end of its plan a lane closes its
             connection itself (client FIN first).

Log (one JSON object per line, appended to --log by all processes):
  {"ev":"calibrated", "server", "T_ms":[...], "window_ms":[lo,hi], "jitter_s"}
  {"ev":"request", "server", "lport", "conn", "req", "kind", "gap_ms",
   "plan_ms", "t_send", "late_us", "outcome", "status", "eof_first"}
        conn = "LANE.N" (c.N for calibration connections), req = number of
        the request on the connection (1 = first), gap_ms = idle gap before
        it (null for the first; plan_ms = the planned one), t_send =
        epoch of the send, late_us = how far the send was past the planned
        instant, outcome = ok |
        ECONNRESET | EPIPE | EOF-before-response | ... (an EOF followed
        within 50 ms by a RST is reported as the RST's errno, with
        "eof_first": true)
  {"ev":"close", "server", "lport", "conn", "by": "server" | "client",
   "fin_after_ms", "phase", "t"}
        by=server: the client saw the server's FIN on an idle connection
        fin_after_ms after the end of the last response, and closed;
        by=client: the client closed first (end of plan, or after a failed
        request: then "after": outcome)
  {"ev":"done", "server", "lane", "seconds"}

Usage: upstreams-client.py --log FILE [--lanes N] [--budget S] [--seed N]
                           NAME=PORT[:JITTER[:LANES]] ...
"""
import argparse
import errno
import json
import multiprocessing as mp
import os
import random
import select
import socket
import statistics
import sys
import time

HOST = "127.0.0.1"
CAL_CONNS = 3
LOG_FD = None


def log(**obj):
    os.write(LOG_FD, (json.dumps(obj) + "\n").encode())


def now():
    return time.perf_counter()


class Failed(Exception):
    pass


class Conn:
    def __init__(self, server, port, name):
        self.server, self.name = server, name
        self.s = socket.create_connection((HOST, port), timeout=15)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.lport = self.s.getsockname()[1]
        self.nreq = 0
        self.t_end = None       # perf_counter at the end of the last response
        self.closed = False

    def request(self, kind, plan=None, target=None):
        """Send one request now and read the response; log it.  Returns the
        outcome ("ok" or an error name)."""
        self.nreq += 1
        path = f"/ok.txt?c={self.name}&r={self.nreq}"
        req = (f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n"
               "User-Agent: upstreams-client\r\n\r\n").encode()
        t_send_wall = time.time()
        t_send = now()
        gap = None if self.t_end is None else t_send - self.t_end
        rec = dict(ev="request", server=self.server, lport=self.lport,
                   conn=self.name, req=self.nreq, kind=kind,
                   gap_ms=None if gap is None else round(gap * 1000, 3),
                   plan_ms=None if plan is None else round(plan * 1000, 3),
                   t_send=round(t_send_wall, 6),
                   late_us=None if target is None else round((t_send - target) * 1e6, 1))
        try:
            self.s.sendall(req)
            status = self._read_response()
            rec.update(outcome="ok", status=status)
        except Failed as e:
            rec.update(outcome=str(e))
            if str(e) == "EOF-before-response":
                # a RST may follow the EOF (request after the FIN, answered
                # by the kernel with a RST): wait for it and look
                time.sleep(0.05)
                err = self.s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    rec.update(outcome=errno.errorcode.get(err, str(err)), eof_first=True)
        except OSError as e:
            rec.update(outcome=errno.errorcode.get(e.errno, str(e)))
        self.t_end = now()
        log(**rec)
        return rec["outcome"]

    def _read_response(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.s.recv(4096)
            if not chunk:
                raise Failed("EOF-before-response" if not data else "EOF-in-response")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        cl = None
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            if k.strip().lower() == b"content-length":
                cl = int(v)
        if cl is None:
            raise Failed("no-content-length")
        while len(body) < cl:
            chunk = self.s.recv(4096)
            if not chunk:
                raise Failed("EOF-in-response")
            body += chunk
        return status

    def eof_pending(self):
        """Pool-style liveness check: is there an EOF (or error) to read?"""
        r, _, _ = select.select([self.s], [], [], 0)
        if not r:
            return False
        try:
            return self.s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def watch_until(self, deadline):
        """Wait until deadline (perf_counter), watching for the server's FIN.
        Returns the time the EOF was seen, or None."""
        while True:
            left = deadline - now()
            if left <= 0:
                return None
            r, _, _ = select.select([self.s], [], [], left)
            if r:
                if self.eof_pending():
                    return now()
                # unexpected data on an idle connection: drain it
                try:
                    self.s.recv(4096, socket.MSG_DONTWAIT)
                except OSError:
                    return now()

    def close(self, by, phase, fin_at=None, **extra):
        if self.closed:
            return
        self.closed = True
        rec = dict(ev="close", server=self.server, lport=self.lport,
                   conn=self.name, by=by, phase=phase, t=round(time.time(), 6))
        if fin_at is not None and self.t_end is not None:
            rec["fin_after_ms"] = round((fin_at - self.t_end) * 1000, 3)
        rec.update(extra)
        self.s.close()
        log(**rec)


def calibrate(server, port):
    conns = []
    for i in range(CAL_CONNS):
        c = Conn(server, port, f"c.{i + 1}")
        if c.request("calibrate") != "ok":
            raise SystemExit(f"{server}: calibration request failed")
        conns.append(c)
        time.sleep(0.05)
    fin = []
    pending = {c.s: c for c in conns}
    deadline = now() + 40
    while pending and now() < deadline:
        r, _, _ = select.select(list(pending), [], [], 1)
        for s in r:
            c = pending[s]
            if c.eof_pending():
                t = now()
                del pending[s]
                fin.append(t - c.t_end)
                c.close("server", "calibrate", fin_at=t)
    if pending:
        raise SystemExit(f"{server}: no idle close within 40 s")
    return sorted(fin)


def lane(server, port, lane_no, plan, window, med, jitter, seed, logpath):
    global LOG_FD
    LOG_FD = os.open(logpath, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    rnd = random.Random(seed)
    lo, hi = window
    blind = max(0.010, hi - lo)
    t0 = now()
    nconn = 0
    conn = None

    def new_conn():
        nonlocal nconn
        nconn += 1
        return Conn(server, port, f"{lane_no}.{nconn}")

    def first_request():
        nonlocal conn
        conn = new_conn()
        out = conn.request("first")
        if out != "ok":
            conn.close("client", "failed", after=out)
            conn = None

    first_request()
    for kind in plan:
        if conn is None:
            first_request()
            continue
        if kind == "below":
            gap = rnd.uniform(0.1, 0.6) * lo
        elif kind == "race":
            # a timer with no jitter closes near the calibrated median:
            # denser there (triangular), else uniform over the window
            gap = rnd.triangular(lo, hi, med) if jitter == 0 else rnd.uniform(lo, hi)
        else:
            gap = hi + rnd.uniform(0.3, 1.0)
        target = conn.t_end + gap
        if kind == "race":
            # blind: from here on the client does not look at the socket
            # (a busy event loop, or the pool's check-then-send gap)
            seen = conn.watch_until(target - blind)
            if seen is None:
                wake = target - 0.003 - now()
                if wake > 0:
                    time.sleep(wake)
                while now() < target:  # busy-wait to the exact instant
                    pass
        else:
            seen = conn.watch_until(target)
            if seen is None and conn.eof_pending():
                seen = now()
        if seen is not None:
            # the pool noticed the server's FIN: close, next request on a
            # new connection (for "above" that is the plan)
            conn.close("server", "missed" if kind == "race" else kind, fin_at=seen)
            conn = None
            first_request()
            continue
        out = conn.request(kind, gap, target)
        if out != "ok":
            conn.close("client", "failed", after=out)
            conn = None
    if conn is not None:
        time.sleep(0.05)
        conn.close("client", "end")
    log(ev="done", server=server, lane=lane_no, seconds=round(now() - t0, 1))


def server_main(name, port, jitter, lanes, budget, seed, logpath):
    global LOG_FD
    LOG_FD = os.open(logpath, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    cal = calibrate(name, port)
    t_lo, t_hi = cal[0], cal[-1]
    lo = min(t_hi - jitter, t_lo) - 0.003
    hi = max(t_lo + 1.25 * jitter, t_hi) + 0.004
    log(ev="calibrated", server=name, port=port,
        T_ms=[round(x * 1000, 3) for x in cal],
        T_median_ms=round(statistics.median(cal) * 1000, 3),
        window_ms=[round(lo * 1000, 3), round(hi * 1000, 3)], jitter_s=jitter)
    # plan: per lane, a few below-T reuses, two idle closes (2 and 1 for a
    # timer of 10 s or more), and as many race rounds as fit in the time
    # budget (4 to 24)
    mid = (lo + hi) / 2
    nb, na = (4, 2) if mid < 10 else (2, 1)   # fewer for a 20 s timer
    nr = int((budget - nb * 0.35 * lo - na * (hi + 0.65)) / mid)
    nr = max(4, min(24, nr))
    rnd = random.Random(seed)
    procs = []
    for ln in range(1, lanes + 1):
        plan = ["below"] * nb + ["race"] * nr + ["above"] * na
        rnd.shuffle(plan)
        p = mp.Process(target=lane, args=(name, port, ln, plan, (lo, hi),
                                          statistics.median(cal), jitter,
                                          seed * 100 + ln, logpath))
        p.start()
        procs.append(p)
        time.sleep(mid / lanes)  # spread the lanes over the timer period
    rc = 0
    for p in procs:
        p.join()
        rc |= p.exitcode != 0
    sys.exit(rc)


def main():
    global LOG_FD
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--lanes", type=int, default=4)
    ap.add_argument("--budget", type=float, default=130.0,
                    help="seconds of traffic per lane (approximate)")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("servers", nargs="+", help="NAME=PORT[:JITTER_S[:LANES]]")
    a = ap.parse_args()
    LOG_FD = os.open(a.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    procs = []
    for i, spec in enumerate(a.servers):
        name, _, rest = spec.partition("=")
        port, jit, lanes = (rest.split(":") + ["", ""])[:3]
        p = mp.Process(target=server_main,
                       args=(name, int(port), float(jit or 0),
                             int(lanes or a.lanes), a.budget, a.seed + i, a.log))
        p.start()
        procs.append(p)
    rc = 0
    for p in procs:
        p.join()
        if p.exitcode != 0:
            print(f"upstreams-client: {p.name} exited {p.exitcode}", file=sys.stderr)
            rc = 1
    sys.exit(rc)


if __name__ == "__main__":
    main()

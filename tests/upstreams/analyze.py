#!/usr/bin/env python3
"""analyze.py - ground truth for tests/capture-upstreams.sh.

Classifies every connection of the full capture and of the SYN/FIN/RST-only
capture (from tshark fields), counts the same kinds independently from the
client's log (tests/upstreams-client.py) and from each server's own log,
cross-checks them, and writes testdata/upstreams.md.  Exits 1 when the
capture and the logs disagree.

Kinds of connection (by how it ended), from the full capture:
  idle-close          server FIN, then client FIN, every request answered, no
                      RST: a clean idle close by the server's timer
  race-rst            server FIN, a request captured after it, server bare
                      RST with seq = FIN seq + 1: request sent after the FIN
  race-rst-crossed    the same with RST seq = FIN seq: the request and the
                      FIN crossed in flight
  race-rst-unread     server FIN, a request after it, then a RST/ACK (ACK
                      flag set) with seq = FIN seq + 1: the request reached a
                      socket only shut down for writing and was still unread
                      when the server closed it (Tomcat: the JDK defers the
                      close of a channel registered with a Selector)
  race-drained        server FIN, a request captured after it, never
                      answered, no RST (Apache's lingering close read and
                      discarded it); the client closes
  drained-before-fin  a request captured before the server's FIN, never
                      answered, no RST (the server closed with the request
                      read and discarded)
  rst-without-fin     the server's RST (no FIN at all) with a request
                      unanswered: it arrived unread just before the close
  client-close        the client closed first, every request answered
  other               anything else (listed)
and per request: a reuse answered after an idle gap of at least
0.8 x (shortest idle close seen in the capture for that server - J) counts as
a "won" late reuse (J = the timer's jitter, as given to the client).
"""
import argparse
import collections
import datetime
import json
import re
import statistics
import sys

SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10
M32 = 2 ** 32
RST_KINDS = ("race-rst", "race-rst-crossed", "race-rst-unread", "rst-without-fin")
DRAIN_KINDS = ("race-drained", "drained-before-fin")
TIMER_KINDS = ("idle-close",) + RST_KINDS + DRAIN_KINDS


def read_conns(path, sports):
    """Packets of a tshark field dump, split into connections keyed by
    (client port, server port); a client SYN after a FIN or RST starts a
    new connection on the same key."""
    out, cur = [], {}
    for line in open(path):
        f = line.split()
        if len(f) < 9:
            continue
        t, _s, sp, _d, dp, fl, seq, ack, ln = f[:9]
        sp, dp, fl = int(sp), int(dp), int(fl, 16)
        fromcli = dp in sports
        key = (sp, dp) if fromcli else (dp, sp)
        p = dict(t=float(t), c=fromcli, f=fl, seq=int(seq), ack=int(ack), n=int(ln))
        c = cur.get(key)
        if c is None or (fromcli and fl & SYN and not fl & ACK and
                         any(q["f"] & (FIN | RST) for q in c["pk"])):
            c = cur[key] = dict(cport=key[0], sport=key[1], pk=[])
            out.append(c)
        c["pk"].append(p)
    return out


def first(pk, cli, flag):
    return next((p for p in pk if p["c"] == cli and p["f"] & flag), None)


def classify_full(c):
    pk = c["pk"]
    sfin, srst = first(pk, False, FIN), first(pk, False, RST)
    cfin = first(pk, True, FIN)
    synack = any(not p["c"] and p["f"] & SYN and p["f"] & ACK for p in pk)
    reqs, seen, last_sdata = [], set(), None
    for p in pk:
        if p["c"] and p["n"] > 0:
            if p["seq"] in seen:          # retransmission
                continue
            seen.add(p["seq"])
            reqs.append(dict(t=p["t"], gap=None if last_sdata is None else p["t"] - last_sdata,
                             answered=False, after_fin=sfin is not None and p["t"] >= sfin["t"]))
        elif not p["c"] and p["n"] > 0:
            last_sdata = p["t"]
            if reqs:
                reqs[-1]["answered"] = True
    c["reqs"] = reqs
    c["sfin"], c["srst"], c["cfin"] = sfin, srst, cfin
    if sfin is not None:
        sd = [p["t"] for p in pk if not p["c"] and p["n"] > 0 and p["t"] <= sfin["t"]]
        c["idle_before_fin"] = sfin["t"] - sd[-1] if sd else None
    unans = [q for q in reqs if not q["answered"]]
    if not synack:
        return "refused" if srst else "other"
    if cfin and (not sfin or cfin["t"] < sfin["t"]):
        return "client-close" if not unans and not srst else "other"
    if srst and not sfin:
        if unans:
            c["rst_after_data_us"] = (srst["t"] - unans[-1]["t"]) * 1e6
            return "rst-without-fin"
        return "other"
    if sfin:
        if unans:
            q = unans[-1]
            if srst and srst["t"] >= sfin["t"] and not (cfin and cfin["t"] < srst["t"]):
                c["data_after_fin_us"] = (q["t"] - sfin["t"]) * 1e6
                c["rst_after_data_us"] = (srst["t"] - q["t"]) * 1e6
                if srst["seq"] == (sfin["seq"] + 1) % M32 and srst["f"] & ACK:
                    return "race-rst-unread"
                if srst["seq"] == (sfin["seq"] + 1) % M32:
                    return "race-rst"
                if srst["seq"] == sfin["seq"]:
                    return "race-rst-crossed"
                return "other"
            if not srst:
                c["data_after_fin_us"] = (q["t"] - sfin["t"]) * 1e6
                return "race-drained" if q["after_fin"] else "drained-before-fin"
            return "other"
        if srst or any(q["after_fin"] for q in reqs):
            return "other"
        if cfin and cfin["t"] >= sfin["t"]:
            return "idle-close"
        return "other"
    if cfin:
        return "client-close" if not unans else "other"
    return "open"


def classify_flags(c):
    """From SYN/FIN/RST only: sequence and acknowledgment numbers."""
    pk = c["pk"]
    sfin, srst = first(pk, False, FIN), first(pk, False, RST)
    cfin = first(pk, True, FIN)
    synack = any(not p["c"] and p["f"] & SYN and p["f"] & ACK for p in pk)
    if not synack:
        return "refused" if srst else "other"
    if cfin and (not sfin or cfin["t"] < sfin["t"]):
        return "client-close" if not srst else "other"
    if srst and not sfin:
        return "rst-without-fin" if srst["f"] & ACK else "other"
    if sfin:
        if srst and srst["t"] >= sfin["t"] and not (cfin and cfin["t"] < srst["t"]):
            if srst["f"] & ACK:
                return ("race-rst-unread" if srst["seq"] == (sfin["seq"] + 1) % M32
                        else "other")
            if srst["seq"] == (sfin["seq"] + 1) % M32:
                return "race-rst"
            if srst["seq"] == sfin["seq"]:
                return "race-rst-crossed"
            return "other"
        if not srst and cfin and cfin["t"] >= sfin["t"]:
            # the client's FIN seq past the server FIN's ack: the client sent
            # bytes the server had not received when it closed
            return "race-drained" if cfin["seq"] != sfin["ack"] else "idle-close"
        return "other"
    if cfin:
        return "client-close"
    return "open"


def stats(v, fmt="{:.1f}"):
    if not v:
        return "-"
    return (f"{fmt.format(min(v))} / {fmt.format(statistics.median(v))} / "
            f"{fmt.format(max(v))} (n={len(v)})")


def utc_epoch(s):
    return datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()


# ------------------------------------------------------------ server logs
def jlines(path):
    out = []
    for ln in open(path):
        ln = ln.strip()
        if ln.startswith("{"):
            try:
                out.append(json.loads(ln))
            except ValueError:
                pass
    return out


def last_before(reqs, port, t):
    ts = [r for r in reqs.get(port, []) if r <= t]
    return ts[-1] if ts else None


def server_logs(a):
    """Per server: answered requests [(port, t)], timer closes
    [(port, t, idle_ms)] (idle from the server's own log)."""
    out = {}
    # gunicorn: post_request hook and TConn.close wrapper
    g = jlines(a.gunicorn_log)
    out["gunicorn"] = dict(
        requests=[(x["port"], x["t"]) for x in g if x.get("ev") == "request"],
        closes=[(x["port"], x["t"], x["idle_ms"]) for x in g
                if x.get("ev") == "close" and x.get("expired")],
        src="gunicorn_conf.py hooks: post_request, and TConn.close() with its "
            "keep-alive deadline passed (murder_keepalived)")
    # uvicorn: app log + uvicorn's trace "HTTP connection lost"
    u = jlines(a.uvicorn_log)
    ureq = [(x["port"], x["t"]) for x in u if x.get("ev") == "request"]
    byport = collections.defaultdict(list)
    for p, t in ureq:
        byport[p].append(t)
    ucl = []
    rx = re.compile(r"^(\d+\.\d+) TRACE uvicorn\.error [\d.]+:(\d+) - HTTP connection lost")
    for ln in open(a.uvicorn_trace):
        m = rx.match(ln)
        if m:
            t, port = float(m.group(1)), int(m.group(2))
            last = last_before(byport, port, t)
            if last is not None and t - last >= 0.8 * 5:
                ucl.append((port, t, (t - last) * 1000))
    out["uvicorn"] = dict(requests=ureq, closes=ucl,
                          src="asgi_app.py request log, uvicorn trace log "
                              "\"HTTP connection lost\" >= 4 s after the port's last response")
    # apache: access log (end time) + mpm_event trace6 "deferring close from state 0"
    areq = []
    for ln in open(a.apache_access):
        f = ln.split()
        if len(f) >= 5:
            areq.append((int(f[0]), float(f[3])))
    byport = collections.defaultdict(list)
    for p, t in areq:
        byport[p].append(t)
    acl = []
    rx = re.compile(r"^(\S+ \S+) \[mpm_event:trace6\] [\d.]+:(\d+) deferring close from state 0")
    for ln in open(a.apache_error):
        m = rx.match(ln)
        if m:
            t, port = utc_epoch(m.group(1)), int(m.group(2))
            last = last_before(byport, port, t)
            acl.append((port, t, None if last is None else (t - last) * 1000))
    out["apache"] = dict(requests=areq, closes=acl,
                         src="access log (%{remote}p, end time), error log mpm_event "
                             "trace6 \"deferring close from state 0\" (keep-alive expiry)")
    n = jlines(a.node_log)
    treq = []
    for ln in open(a.tomcat_access):
        f = ln.split()
        if len(f) >= 3 and f[0].isdigit():
            treq.append((int(f[0]), int(f[1]) / 1000))
    out["tomcat"] = dict(requests=treq, closes=None,
                         src="access log (%{remote}p, end time); Tomcat logs no idle closes")
    out["node"] = dict(
        requests=[(x["port"], x["t"]) for x in n if x.get("ev") == "request"],
        closes=[(x["port"], x["t"], x["idle_ms"]) for x in n if x.get("ev") == "idle-close"],
        src="node-server.js: response 'finish', socket 'timeout' event")
    return out


# ------------------------------------------------------------ client log
def client_conns(cl):
    conns = collections.OrderedDict()
    for x in cl:
        if x.get("ev") not in ("request", "close"):
            continue
        k = (x["server"], x["conn"], x["lport"])
        c = conns.setdefault(k, dict(server=x["server"], lport=x["lport"],
                                     conn=x["conn"], reqs=[], close=None))
        if x["ev"] == "request":
            c["reqs"].append(x)
        else:
            c["close"] = x
    for c in conns.values():
        outs = [r["outcome"] for r in c["reqs"]]
        cl = c["close"] or {}
        if any(o in ("EPIPE", "ECONNRESET") for o in outs):
            c["kind"] = "rst"
        elif "EOF-before-response" in outs:
            c["kind"] = "drained"
        elif cl.get("by") == "server":
            c["kind"] = "idle-close"
        elif cl.get("by") == "client" and cl.get("phase") == "end" and \
                all(o == "ok" for o in outs):
            c["kind"] = "client-close"
        else:
            c["kind"] = "other"
    return list(conns.values())


def main():
    ap = argparse.ArgumentParser()
    for k in ("full", "flags", "client", "gunicorn-log", "uvicorn-log",
              "uvicorn-trace", "apache-access", "apache-error", "node-log",
              "tomcat-access", "versions", "md", "servers"):
        ap.add_argument("--" + k, required=True)
    a = ap.parse_args()
    servers = []  # (name, port, jitter)
    for spec in a.servers.split(","):
        name, _, rest = spec.partition("=")
        port, jit = (rest.split(":") + [""])[:2]
        servers.append((name, int(port), float(jit or 0)))
    sports = {p for _, p, _ in servers}
    pname = {p: n for n, p, _ in servers}
    ver = json.load(open(a.versions))

    full = read_conns(a.full, sports)
    for c in full:
        c["kind"] = classify_full(c)
    flags = read_conns(a.flags, sports)
    for c in flags:
        c["kind"] = classify_flags(c)
    cl = jlines(a.client)
    ccon = client_conns(cl)
    slog = server_logs(a)
    calib = {x["server"]: x for x in cl if x.get("ev") == "calibrated"}
    npk_full = sum(len(c["pk"]) for c in full)
    npk_flags = sum(len(c["pk"]) for c in flags)
    t_all = [p["t"] for c in full for p in c["pk"]]

    ok = True
    problems = []
    L = []
    w = L.append
    w("# upstreams captures (tests/capture-upstreams.sh)")
    w("")
    w(f"Real traffic on 127.0.0.1, {len(full)} connections, {npk_full} packets "
      f"over {max(t_all) - min(t_all):.1f} s (upstreams-full.pcap, snaplen 128; "
      f"upstreams-flags.pcap: {npk_flags} SYN/FIN/RST packets). {len(servers)} upstream "
      "HTTP servers, each with its DEFAULT keep-alive idle timeout (no "
      "timeout option is set anywhere), and pooled HTTP/1.1 keep-alive "
      "clients (tests/upstreams-client.py, Python stdlib sockets) that "
      "reuse connections below, around and above each server's timer.")
    w("")
    w(f"Linux {ver['kernel']}; Debian 12 packages: {ver['gunicorn']}, "
      f"{ver['uvicorn']}, {ver['apache']}, {ver['tomcat']}; {ver['node']}; client "
      f"{ver['python']}; captured with {ver['tcpdump']}, classified with "
      f"{ver['tshark']}.")
    w("")
    w("| server | port | version | default idle timeout | where it is defined (public source) |")
    w("|---|---|---|---|---|")
    docs = {
        "gunicorn": ("keepalive = 2 s; gthread closes expired connections "
                     "after each select(1.0) of its main loop, so at 2-3 s",
                     "gunicorn 20.1.0 `gunicorn/config.py` (class Keepalive, "
                     "default = 2), https://docs.gunicorn.org/en/20.1.0/settings.html#keepalive; "
                     "`gunicorn/workers/gthread.py` (ThreadWorker.run: "
                     "`self.poller.select(1.0)` then `murder_keepalived()`; "
                     "TConn.set_timeout: `time.time() + self.cfg.keepalive`)"),
        "uvicorn": ("timeout_keep_alive = 5 s, a loop.call_later timer per connection",
                    "uvicorn 0.17.6 `uvicorn/config.py` (Config(timeout_keep_alive: int = 5)), "
                    "`uvicorn/main.py` (--timeout-keep-alive default=5), "
                    "`uvicorn/protocols/http/h11_impl.py` (on_response_complete: "
                    "`loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)`), "
                    "https://www.uvicorn.org/settings/#timeouts"),
        "apache": ("KeepAliveTimeout 5 s (event MPM: expiry starts a short "
                   "lingering close, up to 2 s of reading and discarding)",
                   "httpd 2.4 `include/httpd.h` (`#define DEFAULT_KEEPALIVE_TIMEOUT 5`), "
                   "https://httpd.apache.org/docs/2.4/mod/core.html#keepalivetimeout; "
                   "`server/mpm/event/event.c` (process_keepalive_queue() -> "
                   "shutdown_connection() -> short lingering close, SECONDS_TO_LINGER 2, "
                   "TIMEOUT_FUDGE_FACTOR 100 ms); Debian's /etc/apache2/apache2.conf "
                   "also says KeepAliveTimeout 5 (not used here: own config file)"),
        "tomcat": ("connectionTimeout=\"20000\" in the stock server.xml; keepAliveTimeout "
                   "unset, so = connectionTimeout: 20 s; the NIO Poller looks for "
                   "timeouts after each select(selectorTimeout = 1000 ms), so at 20-21 s",
                   "Debian's /usr/share/tomcat10/etc/server.xml (= /etc/tomcat10/server.xml, "
                   "upstream conf/server.xml: `connectionTimeout=\"20000\"`); "
                   "https://tomcat.apache.org/tomcat-10.1-doc/config/http.html "
                   "(keepAliveTimeout: \"The default value is to use the value that has "
                   "been set for the connectionTimeout attribute\"); "
                   "`java/org/apache/tomcat/util/net/AbstractEndpoint.java` "
                   "(getKeepAliveTimeout(): connectionTimeout when keepAliveTimeout is null) and "
                   "`java/org/apache/tomcat/util/net/NioEndpoint.java` (selectorTimeout = 1000; "
                   "Poller.run: selector.select(selectorTimeout), then timeout()), both checked "
                   "with javap in the installed tomcat10-coyote.jar"),
        "node": ("keepAliveTimeout = 5000 ms + a 1000 ms buffer: FIN at ~6 s "
                 "while the response says `Keep-Alive: timeout=5`",
                 "Node v20 `lib/_http_server.js` (`this.keepAliveTimeout = 5_000`, "
                 "`HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER = 1000`, "
                 "`socket.setTimeout(server.keepAliveTimeout + HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER)`), "
                 "https://nodejs.org/docs/latest-v20.x/api/http.html#serverkeepalivetimeout"),
    }
    for name, port, jit in servers:
        w(f"| {name} | {port} | {ver[name]} | {docs[name][0]} | {docs[name][1]} |")
    w("")
    w("How each server was run: Tomcat `catalina.sh run` with a temporary "
      "CATALINA_BASE (stock Debian conf, connector moved to 127.0.0.1:18105, access "
      "log pattern `%{remote}p %{end:msec}t %s %U%q`, static ok.txt in ROOT); gunicorn `--worker-class gthread` (1 worker, 1 "
      "thread, tests/upstreams/wsgi_app.py, logging hooks in "
      "tests/upstreams/gunicorn_conf.py); `python3 -m uvicorn` "
      f"(HTTP implementation: {ver['uvicorn_http']}; tests/upstreams/asgi_app.py); "
      "`apache2 -f tests/upstreams/apache2.conf -DFOREGROUND` (mpm_event, a "
      "static 3-byte file); `node tests/upstreams/node-server.js` "
      "(http.createServer). Every response is `ok\\n` with Content-Length.")
    w("")

    summary_rows = []
    for name, port, jit in servers:
        fc = [c for c in full if c["sport"] == port]
        gc = [c for c in flags if c["sport"] == port]
        cc = [c for c in ccon if c["server"] == name]
        sl = slog[name]
        cal = calib.get(name, {})
        kinds = collections.defaultdict(list)
        for c in fc:
            kinds[c["kind"]].append(c)
        fkinds = collections.defaultdict(list)
        for c in gc:
            fkinds[c["kind"]].append(c)
        ckinds = collections.defaultdict(list)
        for c in cc:
            ckinds[c["kind"]].append(c)

        # idle close as measured
        pcap_idle = [c["idle_before_fin"] * 1000 for c in fc
                     if c["kind"] in TIMER_KINDS and c.get("idle_before_fin") is not None]
        clean_idle = [c["idle_before_fin"] * 1000 for c in kinds["idle-close"]
                      if c.get("idle_before_fin") is not None]
        cli_idle = [c["close"]["fin_after_ms"] for c in cc
                    if c["close"] and c["close"].get("by") == "server"
                    and "fin_after_ms" in c["close"]]
        srv_idle = [x[2] for x in sl["closes"] or [] if x[2] is not None]
        thr = 0.8 * ((min(clean_idle) / 1000 if clean_idle else 1.0) - jit)

        def won_pcap(c):
            return [q for q in c["reqs"][1:] if q["answered"] and q["gap"] is not None
                    and q["gap"] >= thr]
        pcap_won = [(c["cport"], q["gap"]) for c in fc for q in won_pcap(c)]
        cli_ok = [r for c in cc for r in c["reqs"] if r["outcome"] == "ok"]
        cli_won = [(r["lport"], r["gap_ms"] / 1000) for r in cli_ok
                   if r["gap_ms"] is not None and r["gap_ms"] / 1000 >= thr]
        cli_race_ok = [r for r in cli_ok if r["kind"] == "race"]
        tmin = min(clean_idle) / 1000 if clean_idle else None
        pcap_past = [x for x in pcap_won if tmin is not None and x[1] >= tmin]
        cli_past = [x for x in cli_won if tmin is not None and x[1] >= tmin]
        pcap_answered = sum(1 for c in fc for q in c["reqs"] if q["answered"])
        reuse_gaps_pcap = [q["gap"] for c in fc for q in c["reqs"][1:]
                           if q["answered"] and q["gap"] is not None]
        reuse_gaps_cli = [r["gap_ms"] / 1000 for r in cli_ok if r["gap_ms"] is not None]

        def ports(cs):
            return sorted(c["cport"] if "cport" in c else c["lport"] for c in cs)

        def plist(v):
            return " ".join(str(x) for x in v) if v else "-"

        # cross-checks (sets of client ports)
        checks = []

        def check(what, x, y):
            good = sorted(x) == sorted(y)
            checks.append((what, good))
            if not good:
                problems.append(f"{name}: {what}: {sorted(x)} != {sorted(y)}")
            return good

        p_rst = ports([c for k in RST_KINDS for c in kinds[k]])
        p_drain = ports(kinds["race-drained"] + kinds["drained-before-fin"])
        check("pcap vs client log: RST races (EPIPE/ECONNRESET)", p_rst, ports(ckinds["rst"]))
        check("pcap vs client log: drained races (EOF, no RST)", p_drain, ports(ckinds["drained"]))
        check("pcap vs client log: clean idle closes", ports(kinds["idle-close"]),
              ports(ckinds["idle-close"]))
        check("pcap vs client log: client closes", ports(kinds["client-close"]),
              ports(ckinds["client-close"]))
        check("pcap vs flags pcap: races with RST after FIN",
              ports(kinds["race-rst"] + kinds["race-rst-crossed"] + kinds["race-rst-unread"]),
              ports(fkinds["race-rst"] + fkinds["race-rst-crossed"] + fkinds["race-rst-unread"]))
        check("pcap vs flags pcap: RST without FIN", ports(kinds["rst-without-fin"]),
              ports(fkinds["rst-without-fin"]))
        check("pcap vs flags pcap: drained after FIN (client FIN seq > server FIN ack)",
              ports(kinds["race-drained"]), ports(fkinds["race-drained"]))
        if sl["closes"] is not None:
            check("pcap vs server log: connections closed by the server's timer",
                  ports([c for c in fc if c["kind"] in TIMER_KINDS]),
                  [x[0] for x in sl["closes"]])
        n_srv_req = len(sl["requests"])
        good = n_srv_req == pcap_answered == len(cli_ok)
        checks.append(("answered requests: server log = pcap = client log", good))
        if not good:
            problems.append(f"{name}: answered requests: server log {n_srv_req}, "
                            f"pcap {pcap_answered}, client {len(cli_ok)}")
        good = sorted(p for p, _ in pcap_won) == sorted(p for p, _ in cli_won)
        checks.append((f"won late reuses (gap >= {thr:.3f} s): pcap vs client log", good))
        if not good:
            problems.append(f"{name}: won: pcap {sorted(pcap_won)} client {sorted(cli_won)}")
        ok = ok and all(g for _, g in checks)

        w(f"## {name} (:{port})")
        w("")
        w(f"Idle close (ms; min / median / max): server log {stats(srv_idle)} "
          f"[{sl['src']}]; client view (end of response to EOF) {stats(cli_idle)}; "
          f"capture, last server data to server FIN: clean idle closes "
          f"{stats(clean_idle)}, all timer closes incl. races {stats(pcap_idle)}.")
        if cal:
            w(f"The client calibrated T = {', '.join(f'{v:.1f}' for v in cal['T_ms'])} ms "
              f"and sent its race requests at idle gaps in "
              f"[{cal['window_ms'][0]:.1f}, {cal['window_ms'][1]:.1f}] ms "
              f"(timer jitter J = {jit} s).")
        w("")
        w("| kind | pcap | flags pcap | client log | client ports (pcap) |")
        w("|---|---|---|---|---|")
        rows = [
            ("idle-close", "clean idle close: server FIN, client FIN, no RST",
             len(ckinds["idle-close"])),
            ("race-rst", "reuse race: request after the server's FIN, server bare RST seq = FIN+1",
             f"{len(ckinds['rst'])} (all four RST rows)"),
            ("race-rst-crossed", "reuse race, request and FIN crossed: bare RST seq = FIN",
             "see above"),
            ("race-rst-unread", "reuse race, request after the FIN left unread on the "
             "half-closed socket, then RST/ACK seq = FIN+1 at its close", "see above"),
            ("rst-without-fin", "request unread at the close: RST/ACK, no FIN",
             "see above"),
            ("race-drained", "reuse race drained: request after the FIN, never answered, "
             "no RST (Apache reads and discards it; Tomcat's socket, shut down for writing "
             "but not yet closed, just holds it); the client gets EOF", f"{len(ckinds['drained'])} (both drained rows)"),
            ("drained-before-fin", "request arrived before the FIN, discarded, no RST",
             "see above"),
            ("client-close", "client closed first (end of a lane's plan)",
             len(ckinds["client-close"])),
            ("other", "unclassified", len(ckinds["other"])),
        ]
        for k, d, n in rows:
            fk = len(fkinds[k]) if k != "drained-before-fin" else "(idle-close)"
            w(f"| {k}: {d} | {len(kinds[k])} | {fk} | {n} | {plist(ports(kinds[k]))} |")
        w(f"| won: reuse answered after an idle gap >= {thr:.3f} s | {len(pcap_won)} | - | "
          f"{len(cli_won)} ({len(cli_race_ok)} race-window requests answered) | "
          f"{plist(sorted(p for p, _ in pcap_won))} |")
        if tmin is not None:
            w(f"| won past the shortest clean idle close of the capture ({tmin * 1000:.1f} ms)"
              " (not cross-checked: the client's gap starts at its recv() of the response, "
              "0.1-0.3 ms after the capture's, so a gap that close to the threshold may count "
              f"on one side only) | {len(pcap_past)} | - | {len(cli_past)} | "
              f"{plist(sorted(p for p, _ in pcap_past))} |")
        w("")
        errs = collections.Counter(r["outcome"] + (" (after EOF)" if r.get("eof_first") else "")
                                   for c in cc for r in c["reqs"] if r["outcome"] != "ok")
        missed = sum(1 for c in cc if c["close"] and c["close"].get("phase") == "missed")
        w(f"Client log: {len(cc)} connections, {sum(len(c['reqs']) for c in cc)} requests "
          f"({len(cli_ok)} answered); failed requests: "
          + (", ".join(f"{v} {k}" for k, v in sorted(errs.items())) or "none")
          + f"; {missed} race rounds missed (the FIN was noticed before the blind "
          "period: counted as clean idle closes). "
          f"Server log: {n_srv_req} requests answered"
          + (f", {len(sl['closes'])} connections closed by the keep-alive timer."
             if sl["closes"] is not None else " (no close events in its log)."))
        if kinds["rst-without-fin"]:
            d2 = [c["rst_after_data_us"] for c in kinds["rst-without-fin"]]
            w(f"In rst-without-fin the server's RST/ACK came {min(d2):.0f}-{max(d2):.0f} µs "
              "after the request, which the server never read: its timer closed the socket "
              "with the request in the receive queue, so the kernel sent a RST instead of a FIN.")
        for k in ("race-rst", "race-rst-crossed", "race-rst-unread", "race-drained"):
            if kinds[k]:
                d1 = [c["data_after_fin_us"] for c in kinds[k]]
                s = (f"In {k} the request was captured {min(d1):+.0f} to {max(d1):+.0f} µs "
                     "from the server's FIN (+ = after it)")
                if k != "race-drained":
                    d2 = [c["rst_after_data_us"] for c in kinds[k]]
                    s += f", the RST {min(d2):.0f}-{max(d2):.0f} µs after the request"
                w(s + ".")
        if reuse_gaps_pcap:
            w(f"Longest answered reuse gap: {max(reuse_gaps_pcap) * 1000:.1f} ms in the capture, "
              f"{max(reuse_gaps_cli) * 1000:.1f} ms in the client log.")
        w("Cross-checks: " + "; ".join(f"{k}: {'agree' if g else 'DISAGREE'}"
                                       for k, g in checks) + ".")
        if kinds["other"]:
            w("Unclassified connections: " + ", ".join(
                f"{c['cport']} ({''.join('c' if p['c'] else 's' for p in c['pk'])})"
                for c in kinds["other"]) + ".")
        w("")
        summary_rows.append((name, port, stats(srv_idle), stats(cli_idle),
                             len(kinds["idle-close"]),
                             len(kinds["race-rst"]) + len(kinds["race-rst-crossed"])
                             + len(kinds["race-rst-unread"]),
                             len(kinds["rst-without-fin"]),
                             len(kinds["race-drained"]) + len(kinds["drained-before-fin"]),
                             len(pcap_won), len(kinds["client-close"]),
                             max(reuse_gaps_cli) * 1000 if reuse_gaps_cli else 0))

    w("## Summary")
    w("")
    w("| server | idle close, server log (ms) | idle close, client view (ms) | "
      "clean idle closes | races with RST | RST without FIN | races drained | "
      "won late reuses | client closes | longest reuse gap (ms) |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for r in summary_rows:
        w(f"| {r[0]} :{r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} | {r[6]} | {r[7]} | "
          f"{r[8]} | {r[9]} | {r[10]:.1f} |")
    w("")
    w("Capture, client log, flags-only inference and server logs "
      + ("agree on every connection above." if ok else
         "DISAGREE: " + "; ".join(problems)))
    w("")
    notes = notes_for(full, cl, slog, servers)
    if notes:
        w("## Worth knowing")
        w("")
        for n in notes:
            w(f"- {n}")
        w("")
    open(a.md, "w").write("\n".join(L))
    print("\n".join(L))
    if not ok:
        for p in problems:
            print("DISAGREE: " + p, file=sys.stderr)
        sys.exit(1)


def notes_for(full, cl, slog, servers):
    notes = []
    port = {n: p for n, p, _ in servers}
    errs = collections.Counter((r["server"], r["outcome"], bool(r.get("eof_first")))
                               for r in cl if r.get("ev") == "request" and r["outcome"] != "ok")
    n_epipe = sum(v for (s, o, e), v in errs.items() if o == "EPIPE")
    n_eof_first = sum(v for (s, o, e), v in errs.items() if e)
    if n_epipe:
        notes.append(
            f"The client saw EPIPE, not ECONNRESET, for {n_epipe} reuse races: a RST that "
            "reaches a socket in CLOSE_WAIT (the server's FIN already received) sets "
            "EPIPE on Linux (tcp_reset()); ECONNRESET comes only when no FIN preceded the "
            f"RST. For {n_eof_first} of them recv() first returned EOF (the FIN) and the "
            "RST was read from SO_ERROR 50 ms later: a client that stops at the EOF "
            "reports 'server closed the connection' / 'EOF', not a reset.")
    # gunicorn closes batches of connections at one instant
    g = slog["gunicorn"]["closes"]
    if g:
        inst = collections.Counter(round(t, 2) for _, t, _ in g)
        multi = sum(1 for v in inst.values() if v > 1)
        notes.append(
            f"gunicorn gthread closed its {len(g)} expired connections at {len(inst)} "
            f"instants ({multi} instants closed more than one): murder_keepalived() runs "
            "once per main-loop pass (select with a 1 s timeout, or sooner when any "
            "socket is readable), so the idle close is 2 s plus up to ~1 s of poll "
            "phase, and it depends on the traffic of the other connections.")
    for name, p, jit in servers:
        if jit < 1 or name == "gunicorn":
            continue
        fins = [c["sfin"]["t"] for c in full if c["sport"] == p and c["kind"] in TIMER_KINDS]
        if fins:
            inst = collections.Counter(round(t, 2) for t in fins)
            notes.append(
                f"{name} likewise closed its {len(fins)} idle connections at {len(inst)} "
                f"instants (server FIN times in the capture, to 10 ms; "
                f"{sum(1 for v in inst.values() if v > 1)} instants closed more than one): "
                "its timer is checked by a poll loop, not armed per connection.")
    a = [c for c in full if c["sport"] == port.get("apache") and
         c["kind"] in ("race-drained", "drained-before-fin")]
    if a:
        dl = []
        for c in a:
            q = [x for x in c["reqs"] if not x["answered"]][-1]
            acks = [p["t"] for p in c["pk"] if not p["c"] and p["t"] > q["t"]]
            if acks:
                dl.append((acks[0] - q["t"]) * 1000)
        notes.append(
            "Apache answers a request that arrives after its keep-alive FIN with neither "
            "a response nor a RST: the event MPM's short lingering close (shutdown(SHUT_WR), "
            "then reads and discards for up to 2 s) consumes it. The server's ACK of the "
            f"discarded request came {min(dl):.1f}-{max(dl):.1f} ms later (delayed ACK). The "
            "client only sees EOF; nothing in a SYN/FIN/RST capture shows the request except "
            "the client FIN's sequence number being past the server FIN's acknowledgment.")
    t = [c for c in full if c["sport"] == port.get("tomcat") and c["kind"] in TIMER_KINDS]
    if t:
        drained = [c for c in t if c["kind"] == "race-drained"]
        rst = [c for c in t if c["kind"] in RST_KINDS]
        notes.append(
            "Tomcat's FIN is a shutdown(SHUT_WR), not a close: the JDK's "
            "SocketChannelImpl.implCloseNonBlockingMode() shuts a channel that is "
            "still registered with a Selector down for writing and closes the "
            "descriptor only when the Poller's next select() deregisters it. A request "
            "arriving in between is ACKed and never answered, without a RST "
            f"({len(drained)} race-drained connection(s) here, as with Apache); once the "
            f"descriptor is closed, a request draws the usual bare RST ({len(rst)} here).")
    u = [c for c in full if c["sport"] == port.get("node")]
    if u:
        notes.append("Node's responses say `Keep-Alive: timeout=5`, but the server closes "
                     "after ~6 s (keepAliveTimeout + 1 s buffer). No other server here "
                     "announces its timeout: gunicorn sends `Connection: keep-alive` only, "
                     "uvicorn, Apache and Tomcat no Connection or Keep-Alive header at all "
                     "(to this client's HTTP/1.1 requests, which carry no Connection header); "
                     "the headers are cut off by the 128-byte snaplen in the capture anyway.")
    return notes


if __name__ == "__main__":
    main()

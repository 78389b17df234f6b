#!/bin/sh
# capture-node-race.sh - record a real Node.js keep-alive reuse race on lo.
#
# Runs tests/node-race.js (Node stdlib only) as two processes on 127.0.0.1:
# a server (http.createServer with the DEFAULT keepAliveTimeout on :18090,
# plus a server on :18092 that resetAndDestroy()s each request) and a client
# (http.Agent keepAlive) that, within about 60 s of traffic, produces:
#   - clean idle closes: the client leaves a pooled connection idle longer
#     than the server's idle timeout (Node 20: ~6 s = keepAliveTimeout 5 s +
#     1 s buffer); server FIN, then client FIN, no RST.  The first three also
#     calibrate that timeout as the client sees it.
#   - keep-alive reuse races: the client reuses a pooled connection at the
#     calibrated timeout + [-2, +4] ms, busy-waiting so a FIN arriving
#     meanwhile is not processed.  When the request leaves after the server's
#     FIN, the capture shows: server FIN, client data, server bare RST (no
#     ACK flag) with seq = FIN seq + 1, and the client logs ECONNRESET or
#     "socket hang up".  Two rarer variants occur too: the request and the
#     FIN cross in flight (the FIN does not ack the request; the RST has
#     seq = FIN seq, no ACK flag), and the request arrives just before the
#     server closes, unread (RST/ACK and no FIN at all).  Rounds where the
#     request arrives early enough are "won" (answered, then client FIN).
#     Idle pooled connections also carry TCP keep-alive probes every 1 s
#     (http.Agent keepAlive sets SO_KEEPALIVE with keepAliveMsecs = 1000).
#   - normal connections: 6 requests 0.8 s apart, closed by the client.
#   - refused connects to :18091 (SYN, RST/ACK) and aborts on :18092 (request,
#     then the server's RST from resetAndDestroy(), i.e. SO_LINGER {1,0}).
#
# Captures (tcpdump -i lo, ports 18090-18092 only):
#   testdata/node-race-full.pcap   every packet
#   testdata/node-race-flags.pcap  only SYN/FIN/RST:
#                                  tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0
#                                  (all traffic is IPv4, so no ip6 clause)
#   testdata/node-race.md          Node version, measured idle timeout, counts
#                                  per kind (client log cross-checked with the
#                                  capture, via tshark) and each race's client
#                                  port
# tcpdump runs with -U --immediate-mode -B 32768; the script waits for its
# "listening on", stops it with SIGINT at the end and waits for it, and
# exits 1 if it reports kernel drops or if the client's log and the capture
# disagree about the races.  Re-runnable (outputs are overwritten); real
# traffic, so ports, ISNs, timing and even the counts differ between runs.
# Needs root (packet capture), node, tcpdump, tshark, python3.
#
# Usage: tests/capture-node-race.sh [OUTDIR]   (default: testdata next to tests/)
set -eu

me=capture-node-race.sh
if [ "$(id -u)" != 0 ]; then
    echo "$me: must run as root (tcpdump on lo)" >&2
    exit 1
fi
for t in node tcpdump tshark python3 ss; do
    command -v "$t" >/dev/null 2>&1 || { echo "$me: $t not found" >&2; exit 1; }
done

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../testdata}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if ss -Htln '( sport = :18090 or sport = :18091 or sport = :18092 )' | grep -q .; then
    echo "$me: something listens on ports 18090-18092:" >&2
    ss -tlnp '( sport = :18090 or sport = :18091 or sport = :18092 )' >&2
    exit 1
fi

portf='tcp port 18090 or tcp port 18091 or tcp port 18092'
flagf='tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0'
full=$out/node-race-full.pcap
flags=$out/node-race-flags.pcap
md=$out/node-race.md

tmp=$(mktemp -d)
status=0
pids=""
srvpid=""
cleanup() {
    if [ -n "$srvpid" ]; then kill "$srvpid" 2>/dev/null || true; fi
    for p in $pids; do kill -INT "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_tcpdump NAME ARGS... : start tcpdump in background, wait for readiness
start_tcpdump() {
    name=$1; shift
    tcpdump -U --immediate-mode -B 32768 "$@" 2>"$tmp/$name.err" &
    pid=$!
    pids="$pids $pid"
    i=0
    until grep -q "listening on" "$tmp/$name.err" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$me: tcpdump ($name) failed:" >&2
            cat "$tmp/$name.err" >&2
            exit 1
        fi
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "$me: tcpdump ($name) not ready after 10 s" >&2
            exit 1
        fi
        sleep 0.1
    done
}

rm -f "$full" "$flags" "$md"
start_tcpdump full  -i lo -w "$full" "$portf"
start_tcpdump flags -i lo -w "$flags" "($portf) and ($flagf)"
sleep 0.2

node "$here/node-race.js" server >"$tmp/server.log" &
srvpid=$!
i=0
until grep -q '"ready"' "$tmp/server.log" 2>/dev/null; do
    kill -0 "$srvpid" 2>/dev/null || { echo "$me: node server died" >&2; exit 1; }
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "$me: node server not ready after 10 s" >&2; exit 1; }
    sleep 0.1
done

echo "$me: running the Node client (about 60 s)"
node "$here/node-race.js" client >"$tmp/client.log"

sleep 1  # let the last packets reach tcpdump before it is stopped
kill "$srvpid"; wait "$srvpid" 2>/dev/null || true; srvpid=""
for p in $pids; do kill -INT "$p"; done
for p in $pids; do wait "$p" || true; done
pids=""
for n in full flags; do
    sed -n 's/^/  tcpdump '"$n"': /p' "$tmp/$n.err" | grep -v "listening on" || true
done
if cat "$tmp"/*.err | grep -q "[1-9][0-9]* packets dropped by kernel"; then
    echo "$me: tcpdump reported kernel drops, captures are incomplete" >&2
    status=1
fi
chown "$(stat -c %u:%g "$out")" "$full" "$flags" 2>/dev/null || true

# Classify every connection of the full capture (tshark) and the races of the
# flags-only capture; cross-check with the client's log; write the .md.
tshark_fields() {
    tshark -r "$1" -T fields -E separator=' ' -e frame.time_relative \
        -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport -e tcp.flags \
        -e tcp.seq_raw -e tcp.ack_raw -e tcp.len 2>/dev/null
}
tshark_fields "$full" >"$tmp/full.txt"
tshark_fields "$flags" >"$tmp/flags.txt"
kernel=$(uname -r)
python3 - "$tmp/full.txt" "$tmp/flags.txt" "$tmp/client.log" "$tmp/server.log" \
    "$md" "$kernel" <<'EOF' || status=1
import json, statistics, sys
full, flags, clog, slog, md, kernel = sys.argv[1:]
SERVER_PORTS = {18090, 18091, 18092}
SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10

def conns(path):
    """Split packets into connections: key = client port, a new client SYN
    after the previous connection ended starts a new one."""
    out, cur = [], {}
    for line in open(path):
        t, s, sp, d, dp, fl, seq, ack, ln = line.split()
        sp, dp = int(sp), int(dp)
        fl = int(fl, 16)
        fromcli = dp in SERVER_PORTS
        cport, sport = (sp, dp) if fromcli else (dp, sp)
        p = dict(t=float(t), c=fromcli, f=fl, seq=int(seq), ack=int(ack), n=int(ln))
        c = cur.get(cport)
        if c is None or (fromcli and fl & SYN and not fl & ACK and c["pk"] and
                         any(q["f"] & (FIN | RST) for q in c["pk"])):
            c = cur[cport] = dict(cport=cport, sport=sport, pk=[])
            out.append(c)
        c["pk"].append(p)
    return out

def classify(c):
    pk, sp = c["pk"], c["sport"]
    synack = any(not p["c"] and p["f"] & SYN and p["f"] & ACK for p in pk)
    srst = [p for p in pk if not p["c"] and p["f"] & RST]
    sfin = [p for p in pk if not p["c"] and p["f"] & FIN]
    cfin = [p for p in pk if p["c"] and p["f"] & FIN]
    creq = [p for p in pk if p["c"] and p["n"] > 0]
    c["requests"] = len(creq)
    if not synack:
        return "refused" if srst else "other"
    if sp == 18092:
        return "abort" if srst and not sfin else "other"
    if sfin and srst:
        # the request that drew the RST: the last client data before it
        f, r = sfin[0], srst[0]
        req = [p for p in creq if p["t"] <= r["t"]]
        if (req and r["t"] >= f["t"] and not r["f"] & ACK and
                not any(p["t"] < r["t"] for p in cfin)):
            d = req[-1]
            c["data_after_fin_us"] = (d["t"] - f["t"]) * 1e6
            c["rst_after_data_us"] = (r["t"] - d["t"]) * 1e6
            fs = f["seq"]
            if r["seq"] == (fs + 1) % 2**32 and d["ack"] == (fs + 1) % 2**32:
                return "race"          # request sent after the FIN arrived
            if r["seq"] == fs and d["ack"] == fs:
                return "race-crossed"  # request and FIN crossed in flight
        return "other"
    if srst:
        return "rst-without-fin"   # request queued unread when the server closed
    if sfin and cfin and sfin[0]["t"] <= cfin[0]["t"]:
        return "idle-close"
    if cfin and (not sfin or cfin[0]["t"] < sfin[0]["t"]):
        # gap between a response and the next request: ~T means a won race
        gaps, last = [], None
        for p in pk:
            if not p["c"] and p["n"] > 0:
                last = p["t"]
            elif p["c"] and p["n"] > 0 and last is not None:
                gaps.append(p["t"] - last)
        return "won" if gaps and max(gaps) > 5 else "normal"
    return "other"

fc = conns(full)
kinds = {}
for c in fc:
    kinds.setdefault(classify(c), []).append(c)

# TCP keep-alive probes (http.Agent keepAlive sets SO_KEEPALIVE, 1 s idle):
# bare ACK with seq = the sender's next sequence number - 1
probes = 0
for c in fc:
    nxt = {True: None, False: None}
    for p in c["pk"]:
        end = p["seq"] + p["n"] + (1 if p["f"] & (SYN | FIN) else 0)
        if p["f"] == ACK and p["n"] == 0 and nxt[p["c"]] is not None and \
                p["seq"] == (nxt[p["c"]] - 1) % 2**32:
            probes += 1
        elif nxt[p["c"]] is None or end > nxt[p["c"]]:
            nxt[p["c"]] = end

# flags-only capture: server FIN, then server RST with seq = FIN seq + 1,
# no client FIN in between
flag_races, flag_crossed = [], []
for c in conns(flags):
    sfin = next((p for p in c["pk"] if not p["c"] and p["f"] & FIN), None)
    if not sfin:
        continue
    rst = next((p for p in c["pk"] if not p["c"] and p["f"] & RST and p["t"] >= sfin["t"]), None)
    if not rst or rst["f"] & ACK or \
            any(p["c"] and p["f"] & FIN and p["t"] < rst["t"] for p in c["pk"]):
        continue
    if rst["seq"] == (sfin["seq"] + 1) % 2**32:
        flag_races.append(c["cport"])
    elif rst["seq"] == sfin["seq"]:
        flag_crossed.append(c["cport"])

cl = [json.loads(l) for l in open(clog) if l.strip()]
sl = [json.loads(l) for l in open(slog) if l.strip()]
node = next(x["node"] for x in cl if x.get("ev") == "calibrated")
T = next(x["server_idle_close_seen_by_client_ms"] for x in cl if x.get("ev") == "calibrated")
calib = [x["client_saw_fin_after_ms"] for x in cl if x.get("phase") == "calibrate"]
sidle = [x["idle_ms"] for x in sl if x.get("ev") == "server-idle-close" and x.get("idle_ms")]
summ = next(x for x in cl if x.get("ev") == "summary")
nlog = lambda k: sum(1 for x in cl if x.get("kind") == k)
log_race = sorted(x["lport"] for x in cl if x.get("kind") == "race")
log_err = {}
for x in cl:
    if x.get("kind") == "race":
        log_err[x["err"]] = log_err.get(x["err"], 0) + 1
cap_race = sorted(c["cport"] for c in kinds.get("race", []))
cap_crossed = sorted(c["cport"] for c in kinds.get("race-crossed", []))
cap_race_any = sorted(cap_race + cap_crossed +
                      [c["cport"] for c in kinds.get("rst-without-fin", [])])
ok = (cap_race_any == log_race and cap_race == sorted(flag_races) and
      cap_crossed == sorted(flag_crossed))
conn_ts = [c["pk"][0]["t"] for c in fc]

def ports(k, reqs=False):
    cs = kinds.get(k, [])
    if not cs:
        return "-"
    return " ".join(f"{c['cport']}" + (f"({c['requests']})" if reqs else "") for c in cs)

L = []
w = L.append
w("# node-race captures (tests/capture-node-race.sh)")
w("")
w(f"Real traffic on 127.0.0.1 from tests/node-race.js; Node {node}, "
  f"Linux {kernel}; {len(fc)} connections over "
  f"{max(conn_ts) - min(conn_ts):.1f} s. Server ports: 18090 "
  "(http.createServer, default keepAliveTimeout=5000, answers "
  "`Keep-Alive: timeout=5`), 18091 (closed), 18092 (resetAndDestroy()).")
w("")
w(f"Measured idle close: the client saw the server's FIN "
  f"{', '.join(f'{v:.1f}' for v in calib)} ms after the end of the response "
  f"(median T = {T:.1f} ms); the server's own timeout fired "
  f"{min(sidle):.1f}-{max(sidle):.1f} ms after the response was written "
  f"(median {statistics.median(sidle):.1f} ms over {len(sidle)} idle closes): "
  "keepAliveTimeout 5 s + Node's 1 s buffer.")
w("")
w("Connections per kind, classified from node-race-full.pcap (tshark fields) "
  "and counted independently from the client's log:")
w("")
w("| kind | pcap | client log | client ports |")
w("|---|---|---|---|")
rows = [
    ("idle-close", "clean idle close: server FIN, then client FIN, no RST",
     nlog("idle-close") + summ["missed"], ports("idle-close")),
    ("race", "reuse race: server FIN, client request, server bare RST seq = FIN seq + 1",
     None, ports("race")),
    ("race-crossed", "reuse race, request and FIN crossed: server FIN (not "
     "acking the request), server bare RST seq = FIN seq", None, ports("race-crossed")),
    ("rst-without-fin", "reuse race, request queued unread when the server "
     "closed: RST/ACK and no FIN", None, ports("rst-without-fin")),
    ("won", "request at ~T answered just before the FIN, then client FIN",
     nlog("race-won"), ports("won")),
    ("normal", "requests reused well before T, client FIN first; (n) = requests",
     nlog("normal") + summ["missed"], ports("normal", True)),
    ("refused", "SYN to :18091, RST/ACK", nlog("refused"), ports("refused")),
    ("abort", "request to :18092, server RST (resetAndDestroy)", nlog("abort"), ports("abort")),
    ("other", "unclassified", 0, ports("other")),
]
for k, d, n, pl in rows:
    if k == "race":
        n = f"{len(log_race)} (all three race rows)"
    elif k in ("race-crossed", "rst-without-fin"):
        n = "see above"
    w(f"| {k}: {d} | {len(kinds.get(k, []))} | {n} | {pl} |")
w("")
w(f"Race rounds in the client log: {summ['race']} lost (errors: "
  + ", ".join(f"{v} {k}" for k, v in sorted(log_err.items()))
  + f"), {summ['won']} won, {summ['missed']} missed (FIN processed before the "
  "request: the agent opened a new connection; each adds one idle-close and "
  "one single-request normal connection).")
for k in ("race", "race-crossed"):
    if kinds.get(k):
        d1 = [c["data_after_fin_us"] for c in kinds[k]]
        d2 = [c["rst_after_data_us"] for c in kinds[k]]
        w(f"In the {k} connections the request was captured "
          f"{min(d1):+.0f} to {max(d1):+.0f} µs after the server's FIN and the "
          f"RST followed the request by {min(d2):.0f}-{max(d2):.0f} µs.")
w(f"node-race-flags.pcap shows server FIN, then server bare RST, no client "
  f"FIN in between, with RST seq = FIN seq + 1 on {len(flag_races)} and "
  f"RST seq = FIN seq on {len(flag_crossed)} connections; pcap, flags pcap "
  f"and client log {'agree' if ok else 'DISAGREE'} on the race ports.")
w(f"Also in the capture: {probes} TCP keep-alive probes (http.Agent keepAlive "
  "sets SO_KEEPALIVE with 1 s idle: bare ACK, seq = next seq - 1, answered by "
  "an ACK) on idle pooled connections.")
open(md, "w").write("\n".join(L) + "\n")
print("\n".join(L))
if not ok:
    print(f"race ports: pcap {cap_race_any} log {log_race} flags "
          f"{sorted(flag_races)} crossed {cap_crossed} flags {sorted(flag_crossed)}",
          file=sys.stderr)
    sys.exit(1)
EOF

echo "$me: wrote"
for f in "$full" "$flags" "$md"; do
    if [ "${f%.md}" = "$f" ]; then
        n=$(tcpdump -nn -r "$f" 2>/dev/null | wc -l)
        printf '  %-50s %7d bytes %5d packets\n' "$f" "$(wc -c <"$f")" "$n"
    else
        printf '  %-50s %7d bytes\n' "$f" "$(wc -c <"$f")"
    fi
done
exit $status

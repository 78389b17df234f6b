#!/bin/sh
# capture-connect-timeout.sh - record real connect timeouts to a silent server.
#
# Builds two network namespaces joined by a veth pair:
#   rstscope-cli  veth rsc0  10.200.0.1/24   runs the client and tcpdump
#   rstscope-srv  veth rss0  10.200.0.2/24   runs the server; its kernel drops
#                                            every SYN to port 443 silently
#                                            (iptables -A INPUT -p tcp
#                                            --dport 443 -j DROP; nft if
#                                            iptables is not usable)
# and runs tests/connect-timeout.py (stdlib python3):
#   - server on 10.200.0.2:8080 (tiny HTTP-like server, closes after answering)
#   - client: 12 connects to :443 given up after 1 s (Envoy/Istio
#     connect_timeout 1s), 3 given up after 5 s, 1 left to the kernel's own
#     SYN retransmissions (net.ipv4.tcp_syn_retries / tcp_syn_linear_timeouts)
#     for 21 s, and 3 successful connections to :8080.  (The kernel alone
#     would retry far longer: on Linux 6.18 with tcp_syn_retries=6 and
#     tcp_syn_linear_timeouts=4, 11 SYNs at +0 +1 +2 +3 +4 +5 +7 +11 +19.4
#     +35.5 +69 s and ETIMEDOUT after 134.6 s, measured once by hand.)
#     Each attempt is a fresh socket on a new ephemeral port; giving up closes
#     the socket, which sends no packet.
#
# The capture should show, per attempt to :443, only SYNs with the same ISN
# (the initial one plus retransmissions), no SYN/ACK, no RST and no FIN:
# 1 s attempts 1 SYN, or 2 when the first retransmission (RTO 1 s) beats the
# client's 1 s timer; 5 s attempts the SYNs the kernel sent within 5 s; the
# kernel attempt the SYNs of its first 21 s.  The :8080 connections are complete
# (handshake, request, response, FINs).
#
# Captures (tcpdump in rstscope-cli on rsc0, Ethernet link type):
#   testdata/connect-timeout-full.pcap   all TCP
#   testdata/connect-timeout-flags.pcap  tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0
#   testdata/connect-timeout.md          per kind: attempts, SYN counts and SYN
#                                        time offsets (tshark), kernel and its
#                                        SYN retransmission settings
# tcpdump runs with -U --immediate-mode -B 32768; the script waits for its
# "listening on", stops it with SIGINT at the end and waits for it, and exits
# 1 if it reports kernel drops.  The namespaces are removed on exit (trap),
# and leftovers of an interrupted run are removed first, so it is re-runnable.
# About 35 s.  Needs root, iproute2, iptables or nft, tcpdump, tshark, python3.
#
# Usage: tests/capture-connect-timeout.sh [OUTDIR]   (default: testdata next to tests/)
set -eu

me=capture-connect-timeout.sh
if [ "$(id -u)" != 0 ]; then
    echo "$me: must run as root (network namespaces, iptables, tcpdump)" >&2
    exit 1
fi
for t in ip tcpdump tshark python3; do
    command -v "$t" >/dev/null 2>&1 || { echo "$me: $t not found" >&2; exit 1; }
done

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../testdata}
mkdir -p "$out"
out=$(cd "$out" && pwd)

CLI=rstscope-cli
SRV=rstscope-srv
CADDR=10.200.0.1
SADDR=10.200.0.2
full=$out/connect-timeout-full.pcap
flags=$out/connect-timeout-flags.pcap
md=$out/connect-timeout.md
flagf='tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0'

tmp=$(mktemp -d)
status=0
pids=""
srvpid=""
teardown() {
    # deleting a namespace kills nothing: stop what we started in it first
    if [ -n "$srvpid" ]; then
        kill "$srvpid" 2>/dev/null || true
        wait "$srvpid" 2>/dev/null || true
    fi
    srvpid=""
    for p in $pids; do kill -INT "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    pids=""
    ip netns del "$CLI" 2>/dev/null || true
    ip netns del "$SRV" 2>/dev/null || true
}
cleanup() {
    teardown
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# leftovers of an interrupted run
ip netns del "$CLI" 2>/dev/null || true
ip netns del "$SRV" 2>/dev/null || true

ip netns add $CLI
ip netns add $SRV
ip link add rsc0 netns $CLI type veth peer name rss0 netns $SRV
ip -n $CLI addr add $CADDR/24 dev rsc0
ip -n $SRV addr add $SADDR/24 dev rss0
for ns in $CLI $SRV; do
    ip -n "$ns" link set lo up
done
ip -n $CLI link set rsc0 up
ip -n $SRV link set rss0 up

# silently drop SYNs (all TCP) to port 443 in the server namespace
if ip netns exec $SRV iptables -A INPUT -p tcp --dport 443 -j DROP 2>"$tmp/ipt.err"; then
    dropper="iptables -A INPUT -p tcp --dport 443 -j DROP"
elif command -v nft >/dev/null 2>&1 &&
     ip netns exec $SRV nft -f - <<'EOF'
table inet rstscope {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 443 drop
    }
}
EOF
then
    dropper="nft: tcp dport 443 drop (input hook)"
else
    echo "$me: neither iptables nor nft works in the namespace:" >&2
    cat "$tmp/ipt.err" >&2
    exit 1
fi

# the schedule this kernel uses (the sysctls are per network namespace)
sc() { ip netns exec $CLI sysctl -n "$1" 2>/dev/null || echo "n/a"; }
syn_retries=$(sc net.ipv4.tcp_syn_retries)
syn_linear=$(sc net.ipv4.tcp_syn_linear_timeouts)
rto_max=$(sc net.ipv4.tcp_rto_max_ms)
kernel=$(uname -r)

ip netns exec $SRV python3 "$here/connect-timeout.py" server $SADDR >"$tmp/server.log" &
srvpid=$!
i=0
until grep -q '"ready"' "$tmp/server.log" 2>/dev/null; do
    kill -0 "$srvpid" 2>/dev/null || { echo "$me: server died" >&2; exit 1; }
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "$me: server not ready after 10 s" >&2; exit 1; }
    sleep 0.1
done

# start_tcpdump NAME ARGS... : start tcpdump in background, wait for readiness
start_tcpdump() {
    name=$1; shift
    ip netns exec $CLI tcpdump -U --immediate-mode -B 32768 "$@" 2>"$tmp/$name.err" &
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
start_tcpdump full  -i rsc0 -w "$full" tcp
start_tcpdump flags -i rsc0 -w "$flags" "$flagf"
sleep 0.2

echo "$me: running the client (about 30 s)"
ip netns exec $CLI python3 "$here/connect-timeout.py" client $SADDR >"$tmp/client.log"

sleep 1  # let the last packets reach tcpdump before it is stopped
kill "$srvpid"; wait "$srvpid" 2>/dev/null || true; srvpid=""
for p in $pids; do kill -INT "$p"; done
for p in $pids; do wait "$p" || true; done
pids=""
for n in full flags; do
    sed -n 's/^/  tcpdump '"$n"': /p' "$tmp/$n.err" | grep -v "listening on" || true
done
if cat "$tmp"/full.err "$tmp"/flags.err | grep -q "[1-9][0-9]* packets dropped by kernel"; then
    echo "$me: tcpdump reported kernel drops, captures are incomplete" >&2
    status=1
fi
chown "$(stat -c %u:%g "$out")" "$full" "$flags" 2>/dev/null || true

# SYN times per attempt (tshark), matched to the client's log by local port
tshark -r "$full" -T fields -E separator=' ' -e frame.time_epoch -e tcp.srcport \
    -e tcp.dstport -e tcp.flags -e tcp.seq_raw -e tcp.len 2>/dev/null >"$tmp/full.txt"
tshark -r "$flags" -T fields -E separator=' ' -e frame.time_epoch -e tcp.srcport \
    -e tcp.dstport -e tcp.flags -e tcp.seq_raw -e tcp.len 2>/dev/null >"$tmp/flags.txt"
python3 - "$tmp/full.txt" "$tmp/flags.txt" "$tmp/client.log" "$md" "$kernel" \
    "$syn_retries" "$syn_linear" "$rto_max" "$dropper" <<'EOF' || status=1
import json, sys
full, flags, clog, md, kernel, retries, linear, rtomax, dropper = sys.argv[1:]
SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10

def load(path):
    """client port -> list of (t, dport, flags, seq, len), client side only
    for SYNs; plus replies to the client."""
    pk = {}
    for line in open(path):
        t, sp, dp, fl, seq, ln = line.split()
        sp, dp, fl = int(sp), int(dp), int(fl, 16)
        cport = sp if dp in (443, 8080) else dp
        pk.setdefault(cport, []).append(dict(t=float(t), fromcli=dp in (443, 8080),
                                             f=fl, seq=int(seq), n=int(ln)))
    return pk

fp, gp = load(full), load(flags)
cl = [json.loads(l) for l in open(clog) if l.strip()]
t0 = min(p["t"] for ps in fp.values() for p in ps)
rows, bad = [], []
for r in sorted(cl, key=lambda r: r["start"]):
    ps = fp.get(r["lport"], [])
    syns = [p for p in ps if p["fromcli"] and p["f"] & SYN and not p["f"] & ACK]
    gsyns = [p for p in gp.get(r["lport"], []) if p["fromcli"] and p["f"] & SYN]
    isns = {p["seq"] for p in syns}
    other = [p for p in ps if not (p["fromcli"] and p["f"] & SYN)]
    r["syns"] = len(syns)
    r["offs"] = [p["t"] - syns[0]["t"] for p in syns] if syns else []
    r["at"] = syns[0]["t"] - t0 if syns else None
    r["gave_up_after_last_syn"] = (r["start"] + r["elapsed"] - syns[-1]["t"]) if syns else None
    r["others"] = len(other)
    if r["dport"] == 443 and (len(isns) != 1 or other or len(gsyns) != len(syns)):
        bad.append(r["lport"])
    rows.append(r)

def fmt(offs):
    return "+" + ", +".join(f"{o:.3f}" for o in offs)

L = []
w = L.append
w("# connect-timeout captures (tests/capture-connect-timeout.sh)")
w("")
w(f"Real traffic between network namespaces over a veth pair, captured on the "
  f"client side (rsc0, 10.200.0.1). Server 10.200.0.2: port 443 silently "
  f"dropped ({dropper}), port 8080 answered by a tiny server. Linux {kernel}; "
  f"client namespace sysctls: tcp_syn_retries={retries}, "
  f"tcp_syn_linear_timeouts={linear}, tcp_rto_max_ms={rtomax}.")
w("")
kinds = [("t1s", "connect timeout 1 s (client closes the socket: no packet)"),
         ("t5s", "connect timeout 5 s"),
         ("kernel", "left to the kernel's SYN retries, abandoned after 21 s"),
         ("ok", "successful connection to :8080")]
w("| kind | attempts | SYNs per attempt | client ports |")
w("|---|---|---|---|")
for k, d in kinds:
    rs = [r for r in rows if r["kind"] == k]
    cnt = {}
    for r in rs:
        cnt[r["syns"]] = cnt.get(r["syns"], 0) + 1
    sc = ", ".join(f"{n} SYN{'s' if n != 1 else ''}: {c}" for n, c in sorted(cnt.items()))
    w(f"| {k}: {d} | {len(rs)} | {sc} | {' '.join(str(r['lport']) for r in rs)} |")
w("")
w("SYN time offsets (s) from each attempt's first SYN; 'gave up' = the "
  "client's timeout, after the last SYN / after connect():")
w("")
for k in ("t1s", "t5s", "kernel"):
    rs = [r for r in rows if r["kind"] == k]
    if k == "t1s":
        one = [r for r in rs if r["syns"] == 1]
        rs = [r for r in rs if r["syns"] != 1]
        if one:
            g = [r["gave_up_after_last_syn"] for r in one]
            w(f"- t1s with 1 SYN ({len(one)}): +0.000; gave up "
              f"{min(g):.3f}-{max(g):.3f} s after it; ports "
              + " ".join(str(r["lport"]) for r in one))
    for r in rs:
        w(f"- {k} port {r['lport']} (first SYN at {r['at']:.3f} s): "
          f"{fmt(r['offs'])}; gave up {r['gave_up_after_last_syn']:.3f} s / "
          f"{r['elapsed']:.3f} s: {r['outcome']}")
w("")
w("Every :443 attempt shows only SYNs with one ISN (no SYN/ACK, RST or FIN), "
  "and the flags-only capture holds the same SYNs." if not bad else
  f"UNEXPECTED packets on attempts {bad}.")
ok = [r for r in rows if r["kind"] == "ok"]
w(f"The {len(ok)} :8080 connections: "
  + "; ".join(f"port {r['lport']} {r['outcome']}, {r['others'] + r['syns']} packets"
              for r in ok) + ".")
open(md, "w").write("\n".join(L) + "\n")
print("\n".join(L))
sys.exit(1 if bad else 0)
EOF

echo "$me: wrote"
for f in "$full" "$flags" "$md"; do
    if [ "${f%.md}" = "$f" ]; then
        n=$(tcpdump -nn -r "$f" 2>/dev/null | wc -l)
        printf '  %-52s %7d bytes %5d packets\n' "$f" "$(wc -c <"$f")" "$n"
    else
        printf '  %-52s %7d bytes\n' "$f" "$(wc -c <"$f")"
    fi
done
exit $status

#!/bin/sh
# capture-upstreams.sh - record keep-alive idle closes and reuse races against
# five real upstream HTTP servers, each with its DEFAULT idle timeout, on lo.
#
# Issue 14 ("per-upstream diagnosis") needs captures where several servers
# with different timers close idle pooled connections, so that a report has
# to tell them apart.  None of these servers was written on the project; no
# keep-alive or timeout option is set on any of them:
#   18101  gunicorn --worker-class gthread (Debian package gunicorn), WSGI app
#          tests/upstreams/wsgi_app.py; keepalive default 2 s, and the gthread
#          main loop only looks for expired connections after each
#          select(1.0), so idle closes come at ~2.0-3.0 s
#   18102  uvicorn (python3-uvicorn), ASGI app tests/upstreams/asgi_app.py;
#          timeout_keep_alive default 5 s
#   18103  Apache httpd (apache2), mpm_event, own config
#          tests/upstreams/apache2.conf (independent of /etc/apache2 and of
#          any running apache2 service); KeepAliveTimeout default 5 s; on
#          expiry it starts a short lingering close: a request arriving
#          after its FIN is read and discarded (no RST)
#   18104  Node.js http.createServer, tests/upstreams/node-server.js;
#          keepAliveTimeout 5 s + 1 s buffer: FIN at ~6 s
#   18105  Apache Tomcat 10.1 (tomcat10), a throw-away CATALINA_BASE whose
#          conf/ is Debian's stock /usr/share/tomcat10/etc with only the
#          connector's port/address and the access log pattern changed;
#          connectionTimeout="20000" as shipped, keepAliveTimeout unset (so
#          = connectionTimeout, 20 s); the NIO Poller checks timeouts after
#          each select(1000 ms): idle closes at ~20-21 s.  Static ok.txt.
# The servers log their own view (answered requests with the client port,
# and the connections their keep-alive timer closed, with the idle time):
# gunicorn through logging hooks (tests/upstreams/gunicorn_conf.py), uvicorn
# its trace log plus the app's request log, Apache its access log
# (%{remote}p) and mpm_event trace6 error log, Node its socket events,
# Tomcat its access log (%{remote}p; it logs no idle closes).
#
# Client: tests/upstreams-client.py (python3 stdlib, raw HTTP/1.1 over
# sockets) calibrates each server's idle close from its first three idle
# connections (end of response to FIN), then runs 4 pooled connections per
# server (8 for Tomcat, whose 20 s timer allows few rounds) for about 2
# minutes, reusing each after idle gaps well below the
# timer (clean reuse), inside the window where the timer can fire
# (busy-waiting without looking at the socket, so the FIN is not noticed:
# reuse races, lost or won) and above it (clean idle close by the server,
# noticed by the client, which reconnects).  One JSON line per request
# (server, local port, connection, request number, idle gap, send time,
# outcome) and per connection close.
#
# Captures (tcpdump -i lo, ports 18101-18105 only, snaplen 128):
#   testdata/upstreams-full.pcap   every packet
#   testdata/upstreams-flags.pcap  only SYN/FIN/RST:
#                                  tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0
#                                  (all traffic is IPv4, so no ip6 clause)
#   testdata/upstreams.md          versions, each server's documented default
#                                  and where it is defined, the idle close as
#                                  measured (server log, client, capture), per
#                                  server the connections per kind from the
#                                  full capture (tshark), from the flags-only
#                                  capture and from the client's log, the
#                                  client ports of every race (written by
#                                  tests/upstreams/analyze.py)
# tcpdump runs with -U --immediate-mode -B 32768; the script waits for its
# "listening on", stops it with SIGINT at the end and waits for it, and
# exits 1 if it reports kernel drops or if the capture, the flags-only
# capture, the client's log and the servers' logs disagree.  Re-runnable
# (outputs are overwritten); real traffic, so ports, ISNs, timing and the
# counts differ between runs.  About 2.5 minutes; the captures together
# are about 0.5 MB.
# Needs root (packet capture; Apache's workers run as nobody), Debian's
# /usr/bin/python3 with gunicorn and uvicorn (apt-get install gunicorn
# python3-uvicorn apache2 tomcat10 tcpdump tshark), apache2, tomcat10 (and
# its Java), node, iproute2 (ss).
#
# Usage: tests/capture-upstreams.sh [OUTDIR]   (default: testdata next to tests/)
set -eu

me=capture-upstreams.sh
if [ "$(id -u)" != 0 ]; then
    echo "$me: must run as root (tcpdump on lo)" >&2
    exit 1
fi
PY=/usr/bin/python3   # Debian's: gunicorn and uvicorn are its packages
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ under tests/upstreams
for t in $PY apache2 node tcpdump tshark ss; do
    command -v "$t" >/dev/null 2>&1 || { echo "$me: $t not found" >&2; exit 1; }
done
$PY -c 'import gunicorn, uvicorn' 2>/dev/null || {
    echo "$me: $PY lacks gunicorn or uvicorn (apt-get install gunicorn python3-uvicorn)" >&2
    exit 1
}
[ -e /usr/lib/apache2/modules/mod_mpm_event.so ] || {
    echo "$me: apache2 modules not found (apt-get install apache2)" >&2
    exit 1
}
TOMCAT_HOME=/usr/share/tomcat10
[ -x $TOMCAT_HOME/bin/catalina.sh ] && [ -e $TOMCAT_HOME/etc/server.xml ] || {
    echo "$me: $TOMCAT_HOME not found (apt-get install tomcat10)" >&2
    exit 1
}

here=$(cd "$(dirname "$0")" && pwd)
up=$here/upstreams
out=${1:-$here/../testdata}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# name=port:jitter[:lanes] (the timer's jitter known from the server's
# source, see tests/upstreams-client.py)
SERVERS="gunicorn=18101:1.0 uvicorn=18102:0 apache=18103:0.1 node=18104:0 tomcat=18105:1.0:8"
if ss -Htln '( sport >= :18101 and sport <= :18105 )' | grep -q .; then
    echo "$me: something listens on ports 18101-18105:" >&2
    ss -tlnp '( sport >= :18101 and sport <= :18105 )' >&2
    exit 1
fi

portf='tcp portrange 18101-18105'
flagf='tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0'
full=$out/upstreams-full.pcap
flags=$out/upstreams-flags.pcap
md=$out/upstreams.md

tmp=$(mktemp -d)
chmod 755 "$tmp"   # Apache's workers (nobody) read htdocs below it
status=0
pids=""      # tcpdumps
srvpids=""   # servers
cleanup() {
    for p in $srvpids; do kill "$p" 2>/dev/null || true; done
    for p in $srvpids; do wait "$p" 2>/dev/null || true; done
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

# wait_listen NAME PID PORT ERRFILE: wait until PORT listens (ss: no packets)
wait_listen() {
    i=0
    until ss -Htln "sport = :$3" | grep -q .; do
        if ! kill -0 "$2" 2>/dev/null; then
            echo "$me: $1 died:" >&2
            cat "$4" >&2
            exit 1
        fi
        i=$((i + 1))
        if [ $i -gt 150 ]; then
            echo "$me: $1 not listening on :$3 after 15 s" >&2
            cat "$4" >&2
            exit 1
        fi
        sleep 0.1
    done
}

# --- servers (defaults; only logging is configured)
UPSTREAMS_GUNICORN_LOG=$tmp/gunicorn.log \
    $PY -m gunicorn -c "$up/gunicorn_conf.py" --worker-class gthread \
    -b 127.0.0.1:18101 --chdir "$up" wsgi_app:app 2>"$tmp/gunicorn.err" &
srvpids="$srvpids $!"
wait_listen gunicorn $! 18101 "$tmp/gunicorn.err"

UPSTREAMS_UVICORN_LOG=$tmp/uvicorn.log \
    $PY -m uvicorn --app-dir "$up" --log-config "$up/uvicorn-log.json" \
    --log-level trace --host 127.0.0.1 --port 18102 asgi_app:app 2>"$tmp/uvicorn.err" &
srvpids="$srvpids $!"
wait_listen uvicorn $! 18102 "$tmp/uvicorn.err"

mkdir -p "$tmp/apache/htdocs"
printf 'ok\n' >"$tmp/apache/htdocs/ok.txt"
chmod -R a+rX "$tmp/apache"
TZ=UTC UPSTREAMS_APACHE_DIR=$tmp/apache UPSTREAMS_APACHE_PORT=18103 \
    apache2 -f "$up/apache2.conf" -DFOREGROUND 2>"$tmp/apache.err" &
srvpids="$srvpids $!"
wait_listen apache $! 18103 "$tmp/apache.err"

node "$up/node-server.js" 18104 >"$tmp/node.log" 2>"$tmp/node.err" &
srvpids="$srvpids $!"
wait_listen node $! 18104 "$tmp/node.err"

# Tomcat: Debian's stock conf, only the connector's port/address and the
# access log changed (client port, end time in ms; unbuffered, one file)
tb=$tmp/tomcat
mkdir -p "$tb/conf" "$tb/logs" "$tb/temp" "$tb/work" "$tb/webapps/ROOT"
cp $TOMCAT_HOME/etc/* "$tb/conf/"
printf 'ok\n' >"$tb/webapps/ROOT/ok.txt"
sed -i -e 's/port="8080"/port="18105" address="127.0.0.1"/' \
    -e 's/pattern="%h %l %u %t &quot;%r&quot; %s %b"/pattern="%{remote}p %{end:msec}t %s %U%q" buffered="false" rotatable="false"/' \
    "$tb/conf/server.xml"
grep -q 'connectionTimeout="20000"' "$tb/conf/server.xml" &&
    grep -q '%{remote}p' "$tb/conf/server.xml" || {
    echo "$me: unexpected $TOMCAT_HOME/etc/server.xml" >&2
    exit 1
}
CATALINA_HOME=$TOMCAT_HOME CATALINA_BASE=$tb CATALINA_TMPDIR=$tb/temp \
    $TOMCAT_HOME/bin/catalina.sh run >"$tmp/tomcat.err" 2>&1 &
srvpids="$srvpids $!"
wait_listen tomcat $! 18105 "$tmp/tomcat.err"

# --- captures
rm -f "$full" "$flags" "$md"
start_tcpdump full  -i lo -s 128 -w "$full" "$portf"
start_tcpdump flags -i lo -s 128 -w "$flags" "($portf) and ($flagf)"
sleep 0.2

echo "$me: running the clients (about 2.5 minutes)"
# shellcheck disable=SC2086
$PY "$here/upstreams-client.py" --log "$tmp/client.log" $SERVERS || {
    echo "$me: the client failed" >&2
    status=1
}

sleep 1  # let the last packets reach tcpdump before it is stopped
# stop the captures before the servers: every client connection is closed
# by now, and Tomcat's shutdown connects to its own port (unlockAccept)
for p in $pids; do kill -INT "$p"; done
for p in $pids; do wait "$p" || true; done
pids=""
for p in $srvpids; do kill "$p" 2>/dev/null || true; done
for p in $srvpids; do wait "$p" 2>/dev/null || true; done
srvpids=""
for n in full flags; do
    sed -n 's/^/  tcpdump '"$n"': /p' "$tmp/$n.err" | grep -v "listening on" || true
done
if cat "$tmp/full.err" "$tmp/flags.err" | grep -q "[1-9][0-9]* packets dropped by kernel"; then
    echo "$me: tcpdump reported kernel drops, captures are incomplete" >&2
    status=1
fi
chown "$(stat -c %u:%g "$out")" "$full" "$flags" 2>/dev/null || true

# --- versions, for the .md
node_v=$(node --version)
apache_v=$(apache2 -v | sed -n 's/^Server version: *//p')
tomcat_v=$(java -cp $TOMCAT_HOME/lib/catalina.jar org.apache.catalina.util.ServerInfo 2>/dev/null |
    sed -n 's/^Server version: *//p')
java_v=$(java -version 2>&1 | head -1 | tr -d '"')
dpkgv() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo '?'; }
$PY - "$tmp/versions.json" <<EOF
import json, platform, sys
import gunicorn, uvicorn, h11
try:
    import httptools  # noqa: F401
    http = "httptools"
except ImportError:
    http = "h11 %s (httptools not installed)" % h11.__version__
json.dump(dict(
    kernel=platform.release(),
    gunicorn="gunicorn %s (gunicorn $(dpkgv gunicorn))" % gunicorn.__version__,
    uvicorn="uvicorn %s (python3-uvicorn $(dpkgv python3-uvicorn))" % uvicorn.__version__,
    uvicorn_http=http,
    apache="$apache_v (apache2 $(dpkgv apache2))",
    node="Node.js $node_v",
    tomcat="$tomcat_v (tomcat10 $(dpkgv tomcat10)), $java_v",
    python="CPython %s" % platform.python_version(),
    tcpdump="tcpdump $(dpkgv tcpdump)",
    tshark="tshark $(dpkgv tshark)",
), open(sys.argv[1], "w"))
EOF

# --- classify (tshark), cross-check with the logs, write the .md
tshark_fields() {
    tshark -r "$1" -T fields -E separator=' ' -e frame.time_epoch \
        -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport -e tcp.flags \
        -e tcp.seq_raw -e tcp.ack_raw -e tcp.len 2>/dev/null
}
tshark_fields "$full" >"$tmp/full.txt"
tshark_fields "$flags" >"$tmp/flags.txt"
$PY "$up/analyze.py" --full "$tmp/full.txt" --flags "$tmp/flags.txt" \
    --client "$tmp/client.log" --gunicorn-log "$tmp/gunicorn.log" \
    --uvicorn-log "$tmp/uvicorn.log" --uvicorn-trace "$tmp/uvicorn.err" \
    --apache-access "$tmp/apache/access.log" --apache-error "$tmp/apache/error.log" \
    --node-log "$tmp/node.log" --tomcat-access "$tmp/tomcat/logs/localhost_access_log.txt" \
    --versions "$tmp/versions.json" --md "$md" \
    --servers "$(echo "$SERVERS" | tr ' ' ',')" || status=1
if [ -n "${UPSTREAMS_KEEP_LOGS:-}" ]; then
    rm -rf "$UPSTREAMS_KEEP_LOGS"
    cp -r "$tmp" "$UPSTREAMS_KEEP_LOGS"
    echo "$me: logs copied to $UPSTREAMS_KEEP_LOGS"
fi

echo "$me: wrote"
for f in "$full" "$flags" "$md"; do
    if [ ! -e "$f" ]; then
        printf '  %-50s missing\n' "$f"
    elif [ "${f%.md}" = "$f" ]; then
        n=$(tcpdump -nn -r "$f" 2>/dev/null | wc -l)
        printf '  %-50s %7d bytes %5d packets\n' "$f" "$(wc -c <"$f")" "$n"
    else
        printf '  %-50s %7d bytes\n' "$f" "$(wc -c <"$f")"
    fi
done
exit $status

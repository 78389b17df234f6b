#!/bin/sh
# live.sh BINARY - live capture end to end (needs root: skipped otherwise).
# rstscope captures on lo while tests/lo-traffic.py makes real connections
# (keep-alive exchange, idle close by the server, refused port, abortive
# close, write after the server's close, half-close); it is stopped with
# SIGINT.  Checks: the JSON Lines stream (connections and findings as they
# happen), the Prometheus /metrics text scraped while it runs, the -w file
# analysed offline giving the same connections, and a periodic text line.
set -u
bin=${1:?usage: live.sh BINARY}
cd "$(dirname "$0")/.." || exit 1
if [ "$(id -u)" != 0 ]; then
        echo "live capture: skipped (needs root for capturing on lo)"
        exit 0
fi
command -v python3 >/dev/null || { echo "live capture: skipped (no python3)"; exit 0; }
export TZ=UTC LC_ALL=C
tmp=$(mktemp -d) || exit 1
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
port=$((19100 + $$ % 800))
fail() { echo "FAIL live: $*"; for f in "$tmp"/err "$tmp"/out.jsonl; do [ -f "$f" ] && head -5 "$f"; done; exit 1; }

"$bin" -i lo -f 'tcp portrange 18081-18086' -F jsonl -w "$tmp/live.pcap" \
        --metrics "127.0.0.1:$port" >"$tmp/out.jsonl" 2>"$tmp/err" &
pid=$!
for _ in $(seq 50); do grep -q "capturing on" "$tmp/err" && break; sleep 0.1; done
grep -q "capturing on" "$tmp/err" || fail "did not start"
python3 tests/lo-traffic.py --family 4 >/dev/null 2>&1 || fail "traffic script failed"
sleep 7         # closed connections finish once the close linger (5 s) has passed
python3 - "$port" >"$tmp/metrics" <<'PY' || fail "cannot scrape /metrics"
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())
PY
kill -INT "$pid"
wait "$pid"
rc=$?
pid=
[ "$rc" = 0 ] || fail "exit $rc after SIGINT"

# the stream: six connections, their findings, then clusters and a summary
n=$(grep -c '"type":"connection"' "$tmp/out.jsonl")
[ "$n" = 6 ] || fail "$n connection lines, want 6"
for kind in refused request_reset data_after_peer_fin idle_close; do
        grep '"type":"finding"' "$tmp/out.jsonl" | grep -q "\"kind\":\"$kind\"" ||
                fail "no $kind finding line"
done
tail -n 1 "$tmp/out.jsonl" | grep -q '"type":"summary"' || fail "no summary line at the end"
# the metrics, scraped while it ran
grep -q '^rstscope_connections_total{.*server_port="18083".*close_by="server".*close_how="rst".*} 1' \
        "$tmp/metrics" || fail "metrics: no refused connection on 18083"
grep -q '^rstscope_findings_total{.*kind="data_after_peer_fin".*} 1' "$tmp/metrics" ||
        fail "metrics: no data_after_peer_fin"
grep -q '^rstscope_idle_before_close_seconds_count{.*server_port="18082".*} 1' "$tmp/metrics" ||
        fail "metrics: no idle_before_close histogram for 18082"
# the same packets, saved with -w and read back, give the same connections
norm() { grep '"type":"connection"' | sed 's/^{"id":[0-9]*,//' | sort; }
norm <"$tmp/out.jsonl" >"$tmp/live"
"$bin" -F jsonl "$tmp/live.pcap" | norm >"$tmp/offline"
cmp -s "$tmp/live" "$tmp/offline" || { diff "$tmp/live" "$tmp/offline" | head -4; fail "live and offline differ"; }
# --interval prints counts while capturing (text mode), --duration ends it;
# a refused connection's example names the -w file to look in
"$bin" -i lo -f 'tcp port 9' --interval 0.5 --duration 1.3 -w "$tmp/t.pcap" >"$tmp/text" 2>/dev/null &
tpid=$!
sleep 0.5
python3 -c 'import socket
try: socket.create_connection(("127.0.0.1", 9), timeout=1)
except OSError: pass'
wait "$tpid" || fail "text run with --duration"
[ "$(grep -c '^\[.*connections ended' "$tmp/text")" -ge 2 ] || fail "no --interval lines"
grep -q "^input    lo (live" "$tmp/text" || fail "no final report"
grep -q "look: tcpdump -nn -r $tmp/t.pcap 'host 127.0.0.1 and tcp port [0-9]* and tcp port 9'" "$tmp/text" ||
        fail "the example's tcpdump command does not read the -w file"
echo "live capture: stream, metrics, -w file and --interval agree"

#!/bin/sh
# capture-lo.sh - record real loopback TCP traffic for rstscope's end-to-end tests.
#
# Runs tests/lo-traffic.py (stdlib-only Python: a tiny HTTP/1.1-like server and
# client on 127.0.0.1 and ::1; scenarios normal keep-alive, server idle close,
# refused port, SO_LINGER{1,0} abort, client write after server close -> RST,
# half-close; one fixed server port per scenario, 18081-18086) while three
# tcpdump instances record it:
#
#   testdata/lo-full.pcap      tcpdump -i lo, every packet on the test ports
#   testdata/lo-flags.pcap     tcpdump -i lo, only SYN/FIN/RST packets (the
#                              "flags only" filter an always-on capture would
#                              use; IPv6 matched via ip6[53], i.e. no ext hdrs)
#   testdata/lo-any-sll2.pcap  tcpdump -i any -y LINUX_SLL2 (20-byte SLL2 header)
#   testdata/lo-full.pcapng    lo-full.pcap converted with editcap -F pcapng
#
# Each tcpdump is started with -U (packet-buffered output) and --immediate-mode
# (without it, packets still sitting in a TPACKET_V3 block when tcpdump gets
# SIGINT are lost) and -B 32768: immediate mode uses a ring of snaplen-sized
# frames, and with the default 2 MiB buffer -i any dropped packets in bursts.
# The script waits until each tcpdump has printed "listening on", runs the
# traffic, waits 1 s, then stops each tcpdump with SIGINT and waits for it so
# the files are complete; it exits 1 if tcpdump reports kernel drops.
# Re-runnable: the outputs are overwritten.  Needs root (packet capture).
# Real traffic, so ISNs, ephemeral ports and timestamps differ on every run.
#
# Usage: tests/capture-lo.sh [OUTDIR]   (default: testdata next to tests/)
set -eu

if [ "$(id -u)" != 0 ]; then
    echo "capture-lo.sh: must run as root (tcpdump on lo)" >&2
    exit 1
fi
for t in tcpdump editcap python3; do
    command -v "$t" >/dev/null 2>&1 || { echo "capture-lo.sh: $t not found" >&2; exit 1; }
done

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../testdata}
mkdir -p "$out"
out=$(cd "$out" && pwd)

ports=$(python3 "$here/lo-traffic.py" --ports)
portf=""
for p in $ports; do
    portf="${portf:+$portf or }tcp port $p"
done
flagf='(tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0) or (ip6[6] == 6 and ip6[53] & 0x07 != 0)'

tmp=$(mktemp -d)
status=0
pids=""
cleanup() {
    for p in $pids; do kill -INT "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# start_tcpdump NAME ARGS... : start tcpdump in background, wait for readiness
start_tcpdump() {
    name=$1; shift
    tcpdump -U --immediate-mode -B 32768 "$@" 2>"$tmp/$name.err" &
    pid=$!
    pids="$pids $pid"
    i=0
    until grep -q "listening on" "$tmp/$name.err" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "capture-lo.sh: tcpdump ($name) failed:" >&2
            cat "$tmp/$name.err" >&2
            exit 1
        fi
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "capture-lo.sh: tcpdump ($name) not ready after 10 s" >&2
            exit 1
        fi
        sleep 0.1
    done
}

rm -f "$out/lo-full.pcap" "$out/lo-flags.pcap" "$out/lo-any-sll2.pcap" "$out/lo-full.pcapng"
start_tcpdump full  -i lo -w "$out/lo-full.pcap" "$portf"
start_tcpdump flags -i lo -w "$out/lo-flags.pcap" "($portf) and ($flagf)"
start_tcpdump any   -i any -y LINUX_SLL2 -w "$out/lo-any-sll2.pcap" "$portf"
sleep 0.2

python3 "$here/lo-traffic.py"

sleep 1  # let the last packets reach tcpdump before it is stopped
for p in $pids; do kill -INT "$p"; done
for p in $pids; do wait "$p" || true; done
pids=""
for n in full flags any; do
    sed -n 's/^/  tcpdump '"$n"': /p' "$tmp/$n.err" | grep -v "listening on" || true
done

if cat "$tmp"/*.err | grep -q "[1-9][0-9]* packets dropped by kernel"; then
    echo "capture-lo.sh: WARNING: tcpdump reported kernel drops, captures are incomplete" >&2
    status=1
fi

editcap -F pcapng "$out/lo-full.pcap" "$out/lo-full.pcapng"
# tcpdump drops privileges to its own user when writing; give the files to
# whoever owns the output directory
chown "$(stat -c %u:%g "$out")" "$out"/lo-full.pcap "$out"/lo-flags.pcap \
    "$out"/lo-any-sll2.pcap "$out"/lo-full.pcapng 2>/dev/null || true

echo "capture-lo.sh: wrote"
for f in lo-full.pcap lo-flags.pcap lo-any-sll2.pcap lo-full.pcapng; do
    n=$(tcpdump -nn -r "$out/$f" 2>/dev/null | wc -l)
    printf '  %-40s %7d bytes %4d packets\n' "$out/$f" "$(wc -c <"$out/$f")" "$n"
done
exit $status

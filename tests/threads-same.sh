#!/bin/sh
# threads-same.sh BINARY - the worker thread changes nothing: on a capture
# of some 14 000 connections (bench/gen, 200 000 packets: many batches, so
# the reader waits for free batches and the worker for full ones), the
# text, JSON and JSON Lines outputs with --threads 2 are byte for byte
# those with --threads 1.
set -u
bin=${1:?usage: threads-same.sh BINARY}
cd "$(dirname "$0")/.." || exit 1
export TZ=UTC LC_ALL=C
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
build/bench/gen -n 200000 -c 2000 -s 7 -o "$tmp/cap.pcap" 2>/dev/null || { echo "FAIL threads: gen"; exit 1; }
fail=0
for fmt in text json jsonl; do
        "$bin" -v -F "$fmt" --threads 1 "$tmp/cap.pcap" >"$tmp/one" 2>&1
        r1=$?
        "$bin" -v -F "$fmt" --threads 2 "$tmp/cap.pcap" >"$tmp/two" 2>&1
        r2=$?
        if [ "$r1" != 0 ] || [ "$r2" != 0 ] || ! cmp -s "$tmp/one" "$tmp/two" ||
           [ "$(grep -c '10\.' "$tmp/one")" -lt 10000 ]; then
                echo "FAIL threads $fmt: exit $r1/$r2"
                diff "$tmp/one" "$tmp/two" | head -5
                fail=1
        fi
done
[ "$fail" = 0 ] && echo "threads: text, json and jsonl the same with 1 and 2 threads ($(grep -c '"type":"connection"' "$tmp/two") connections)"
exit "$fail"

#!/bin/sh
# synflood.sh BINARY - a SYN flood: 10^6 SYNs to 192.0.2.10:80 from 10^6
# different source address/port pairs over 10 s (build/pcapgen --synflood,
# made here and streamed through a pipe: nothing is kept in testdata/), read
# with --max-conns 100000.  The table must stay capped: exit 0, every SYN
# reported as its own attempt (10^6 connections, all S0), the eviction
# said in the report and on stderr, and peak RSS under RSS_LIMIT_KB.
#
# The bound: measured peak RSS is ~31 MB with --max-conns 1000 (the 16 MiB
# record spool, libpcap, summary) plus ~195 bytes per tracked attempt (a
# 192-byte struct crec and its hash bucket): ~50 MB at 100000, ~230 MB
# uncapped.  70 MB leaves 40% headroom and still fails if the cap leaks.
set -u
bin=${1:?usage: synflood.sh BINARY}
cd "$(dirname "$0")/.." || exit 1
export TZ=UTC LC_ALL=C
n=1000000
cap=100000
limit=${RSS_LIMIT_KB:-71680}
if [ ! -x /usr/bin/time ]; then
        echo "synflood: skipped (no /usr/bin/time)"
        exit 0
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
# the text report has a row per connection (~100 MB): keep its head and last row
{ build/pcapgen --synflood "$n" - |
        /usr/bin/time -f %M -o "$tmp/rss" "$bin" --max-conns "$cap" - 2>"$tmp/err"
  echo $? >"$tmp/rc"; } | sed -n '1,/^  ID /p;$p' >"$tmp/head"
secs=$(($(date +%s) - start))
rc=$(cat "$tmp/rc")
rss=$(tail -n 1 "$tmp/rss")
fail=0
check() {      # check DESCRIPTION COMMAND...
        what=$1
        shift
        if ! "$@"; then
                echo "FAIL synflood: $what"
                fail=1
        fi
}
check "exit $rc, want 0" [ "$rc" = 0 ]
check "not all $n SYNs read" grep -q "^input    - (pcap, EN10MB): $n packets, $n TCP\$" "$tmp/head"
check "not $n connections" grep -q "^$n connections\$" "$tmp/head"
check "not $n attempts in S0" grep -q "^  by state: S0 $n\$" "$tmp/head"
check "last row is not #$n" grep -q "^$n " "$tmp/head"
check "no eviction in the report" grep -Eq '^ +[0-9]+ connections expired early at the table cap$' "$tmp/head"
check "evicted attempts reported as connect timeouts" grep -q '^findings: none$' "$tmp/head"
check "no warning about the cap on stderr" grep -q "^rstscope: warning: $cap connections tracked at once" "$tmp/err"
check "peak RSS ${rss} KB, limit ${limit} KB" [ "${rss:-999999999}" -le "$limit" ]
check "took ${secs} s (limit 60)" [ "$secs" -le 60 ]
if [ "$fail" = 0 ]; then
        echo "synflood: $n SYNs, --max-conns $cap: exit 0, $n connections," \
             "peak RSS ${rss} KB (limit ${limit}), ${secs} s"
else
        sed 's/^/  | /' "$tmp/head" "$tmp/err" | head -30
fi
exit "$fail"

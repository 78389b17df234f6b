#!/bin/sh
# shortcuts-same.sh FAST GENERAL - the fast paths change nothing: the
# Ethernet/IP-to-TCP decoder shortcut and the state machine's one-step path
# for in-order segments (src/decode.c, src/tcpsm.c) give the same JSON, byte
# for byte, as a build without them (-DRS_NO_SHORTCUTS: every packet takes
# the general decoders and conn_apply).  On every capture in testdata/, a
# generated 200 000-packet mix (full and SYN/FIN/RST only) and, when
# ../shared is there, the public corpus.  The JSON has the per-input decode
# counts, every connection's record and the summary.
set -u
fast=${1:?usage: shortcuts-same.sh FAST GENERAL}
general=${2:?usage: shortcuts-same.sh FAST GENERAL}
cd "$(dirname "$0")/.." || exit 1
export TZ=UTC LC_ALL=C
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
build/bench/gen -n 200000 -c 2000 -s 11 -o "$tmp/mix.pcap" 2>/dev/null &&
build/bench/gen --flags-only -n 200000 -c 2000 -s 11 -o "$tmp/flags.pcap" 2>/dev/null ||
        { echo "FAIL shortcuts: gen"; exit 1; }
n=0 conns=0 fail=0
for f in "$tmp/mix.pcap" "$tmp/flags.pcap" testdata/*.pcap* testdata/fuzz/* \
         ../shared/corpus/tcpdump/*.pcap* ../shared/corpus/zeek/robustness/*.pcap* \
         ../shared/corpus/zeek/traces/*.pcap*; do
        [ -f "$f" ] || continue
        "$fast" -v -F json "$f" >"$tmp/fast" 2>"$tmp/fast.err"
        r1=$?
        "$general" -v -F json "$f" >"$tmp/general" 2>"$tmp/general.err"
        r2=$?
        n=$((n + 1))
        if [ "$r1" != "$r2" ] || ! cmp -s "$tmp/fast" "$tmp/general" ||
           ! cmp -s "$tmp/fast.err" "$tmp/general.err"; then
                echo "FAIL shortcuts $f: exit $r1/$r2, $(cmp "$tmp/fast" "$tmp/general" 2>&1 | head -1)"
                fail=1
        fi
        conns=$((conns + $(grep -c '"id":' "$tmp/fast")))
done
[ "$fail" = 0 ] && echo "shortcuts: the same JSON without the fast paths on $n captures ($conns connections)"
exit "$fail"

#!/bin/sh
# corpus-robust.sh BINARY - every odd public capture in ../shared/corpus
# (tcpdump's crash reproducers, odd link types, truncated and malformed
# packets; Zeek's robustness traces) and every regression capture in
# testdata/fuzz/: no crash, no sanitizer report, and an exit code of 0 or
# a documented input error (3 unusable input, 4 partial input).  Skipped
# cleanly when ../shared is absent.
set -u
bin=${1:?usage: corpus-robust.sh BINARY}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
for f in ../shared/corpus/tcpdump/*.pcap* ../shared/corpus/zeek/robustness/*.pcap* \
         ../shared/corpus/zeek/traces/*.pcap* testdata/fuzz/*; do
        [ -f "$f" ] || continue
        for fmt in text json; do
                "$bin" -v -F "$fmt" "$f" >/dev/null 2>"$tmp/err"
                rc=$?
                n=$((n + 1))
                case $rc in 0|3|4) ;; *) echo "FAIL $f ($fmt): exit $rc"; head -3 "$tmp/err"; fail=1 ;; esac
                if grep -q "runtime error\|Sanitizer" "$tmp/err"; then
                        echo "FAIL $f ($fmt): sanitizer report"; head -5 "$tmp/err"; fail=1
                fi
        done
done
if [ "$n" = 0 ]; then
        echo "robustness corpus: skipped (../shared/corpus not found)"
        exit 0
fi
[ "$fail" = 0 ] && echo "robustness corpus: $n runs, no crash, no sanitizer report"
exit "$fail"

#!/bin/bash
# bench/callgrind.sh - instructions per packet, independent of the machine's
# load: runs rstscope (--format json, output discarded) and the bare read
# loop under valgrind --tool=callgrind on a 200k-packet capture (generated
# once into bench/data/) and prints total instructions (Ir) / packets for
# each, the same per thread of rstscope (with two threads the wall clock
# follows the busier one; the reading thread's count includes the end of
# the run: the connections still open, the summary and the report), then
# rstscope's most expensive functions (self cost).
#
# Needs valgrind; builds what it needs with make.  BENCH_CG_PACKETS changes
# the capture size, BENCH_CG_ARGS adds generator arguments (e.g.
# --flags-only), BENCH_CG_TOP the number of functions listed (default 15).
set -u
cd "$(dirname "$0")/.." || exit 1

command -v valgrind >/dev/null || { echo "callgrind: valgrind is not installed" >&2; exit 1; }
make -s rstscope build/bench/gen build/bench/bareloop || exit 1

N=${BENCH_CG_PACKETS:-200000}
ARGS=${BENCH_CG_ARGS:-}
TOP=${BENCH_CG_TOP:-15}
DATA=${BENCH_DATA:-bench/data}
mkdir -p "$DATA"
tag=$(printf '%s' "$N $ARGS" | sed 's/ *$//; s/^ *//' | tr -c 'a-zA-Z0-9' '_')
pcap="$DATA/cg-$tag.pcap"
gen_sum=$(sha1sum build/bench/gen | cut -c1-12)
key="-n $N -c 2000 -s 1 $ARGS gen=$gen_sum"
if [ ! -s "$pcap" ] || [ "$(cat "$pcap.args" 2>/dev/null)" != "$key" ]; then
        # shellcheck disable=SC2086
        build/bench/gen -n "$N" -c 2000 -s 1 $ARGS -o "$pcap" 2>"$pcap.truth" || exit 1
        echo "$key" >"$pcap.args"
fi
pk=$(awk '$1 == "packets" { print $2 }' "$pcap.truth")

ir() {          # total Ir of a callgrind output file
        awk '/^(summary|totals):/ { print $2; exit }' "$1"
}

echo "callgrind on $pcap ($pk packets, $(stat -c %s "$pcap") bytes)"
valgrind --tool=callgrind --callgrind-out-file="$DATA/cg.bare.out" \
        build/bench/bareloop "$pcap" >/dev/null 2>"$DATA/cg.bare.log" ||
        { cat "$DATA/cg.bare.log"; exit 1; }
rm -f "$DATA"/cg.rstscope.out*
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$DATA/cg.rstscope.out" \
        ./rstscope --format json "$pcap" >/dev/null 2>"$DATA/cg.rstscope.log" ||
        { cat "$DATA/cg.rstscope.log"; exit 1; }
b=$(ir "$DATA/cg.bare.out")
r=0
threads=()
for f in "$DATA"/cg.rstscope.out-[0-9]*; do
        threads+=("$(ir "$f")")
        r=$((r + ${threads[-1]}))
done
awk -v b="$b" -v r="$r" -v p="$pk" 'BEGIN {
        printf "  bare loop  %14.0f Ir  %8.1f Ir/packet\n", b, b / p
        printf "  rstscope   %14.0f Ir  %8.1f Ir/packet  (%.1fx the bare loop; %.1f Ir/packet above it)\n",
               r, r / p, r / b, (r - b) / p
}'
for i in "${!threads[@]}"; do
        awk -v t="${threads[$i]}" -v p="$pk" -v i="$i" 'BEGIN {
                printf "    thread %d %14.0f Ir  %8.1f Ir/packet  (%s)\n", i + 1, t, t / p,
                       i == 0 ? "reads, decodes, writes the records; the end of the run" : "table, state machine, detectors, summary"
        }'
done
if command -v callgrind_annotate >/dev/null; then
        n=0
        for f in "$DATA"/cg.rstscope.out-[0-9]*; do
                n=$((n + 1))
                echo
                echo "rstscope thread $n, top $TOP functions by own instructions (callgrind_annotate):"
                callgrind_annotate "$f" 2>/dev/null |
                        grep -E '^ *[0-9,]+ +\( *[0-9.]+%\) +[^ ]+:[^ ]+ \[' |
                        head -n "$TOP" | sed 's/^/  /'
                echo "rstscope thread $n, its own functions inclusive (with what they call):"
                callgrind_annotate --inclusive=yes "$f" 2>/dev/null |
                        grep -E '^ *[0-9,]+ +\( *[0-9.]+%\) +src/[a-z_]+\.c:[A-Za-z_0-9.]+ ' |
                        grep -v 'src/main\.c:main ' | head -n "$TOP" | sed -E 's| \[[^]]*\]$||; s/^/  /'
        done
fi
echo "(outputs: $DATA/cg.rstscope.out-NN per thread, $DATA/cg.bare.out; open with kcachegrind or callgrind_annotate)"

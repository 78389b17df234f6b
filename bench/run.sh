#!/bin/bash
# bench/run.sh - rstscope speed and memory benchmark (`make bench`).
#
# Generates the benchmark captures once (cached in bench/data/, git-ignored;
# regenerated when the generator arguments or build/bench/gen change), then
# for each capture runs the bare libpcap read loop (build/bench/bareloop,
# the baseline) and `rstscope --format json FILE > /dev/null`, BENCH_RUNS
# times each (default 3), under /usr/bin/time -f '%e %M'.  Time is the best
# run (wall clock measured around each run with nanosecond resolution,
# since %e only has 10 ms), memory the largest peak RSS seen.  On full-10M
# it also runs `rstscope --threads 1` (what the second thread gains).
#
# Environment: BENCH_QUICK=1 only the 1 M capture; BENCH_RUNS=N;
# BENCH_RSTSCOPE, BENCH_GEN, BENCH_BARE, BENCH_DATA override the paths;
# BENCH_OTHERS=0 skips tshark/tcptrace; BENCH_LABEL names the rstscope build.  The output is also saved to
# bench/data/results-DATE.txt.
set -u
cd "$(dirname "$0")/.." || exit 1

GEN=${BENCH_GEN:-build/bench/gen}
BARE=${BENCH_BARE:-build/bench/bareloop}
RST=${BENCH_RSTSCOPE:-./rstscope}
DATA=${BENCH_DATA:-bench/data}
RUNS=${BENCH_RUNS:-3}
QUICK=${BENCH_QUICK:-0}
OTHERS=${BENCH_OTHERS:-1}
TIMECMD=/usr/bin/time

for f in "$GEN" "$BARE" "$RST"; do
        [ -x "$f" ] || { echo "bench: $f missing (run 'make bench')" >&2; exit 1; }
done
[ -x "$TIMECMD" ] || { echo "bench: $TIMECMD missing (apt-get install -y time)" >&2; exit 1; }
mkdir -p "$DATA"
OUT="$DATA/results-$(date +%Y%m%d-%H%M%S).txt"
exec > >(tee "$OUT") 2>&1

# name | generator arguments | what it shows
CAPTURES=(
        "full-1M|-n 1000000 -c 2000 -s 1|all packets, 2000 open at once"
        "full-10M|-n 10000000 -c 2000 -s 1|10x longer, same concurrency"
        "flags-10M|--flags-only -n 10000000 -c 2000 -s 1|SYN/FIN/RST only (tcpdump filter)"
        "full-1M-c20k|-n 1000000 -c 20000 -s 1|10x the concurrency"
        "open-1M|--burst -c 1000000 -s 1|1 M connections open at once"
)
[ "$QUICK" = 1 ] && CAPTURES=("${CAPTURES[0]}")

truth() {       # truth NAME KEY: a value from the generator's summary
        awk -v k="$2" '$1 == k { print $2; exit }' "$DATA/$1.truth"
}

# ---- generation (cached) ----
gen_sum=$(sha1sum "$GEN" | cut -c1-12)
echo "rstscope benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r)"
if rev=$(git rev-parse --short HEAD 2>/dev/null); then
        git diff --quiet HEAD -- src include 2>/dev/null || rev="$rev + uncommitted changes in src/ include/"
else
        rev="not a git checkout"
fi
echo "rstscope: $RST: $($RST --version 2>/dev/null | head -1); source: ${BENCH_LABEL:-$rev}"
echo
echo "captures (bench/data/, cached; generator build $gen_sum):"
printf '  %-13s %-38s %9s %7s %7s %8s %15s %6s\n' capture "gen args" packets MB span_s conns "open mean/max" gen_s
for c in "${CAPTURES[@]}"; do
        IFS='|' read -r name args _ <<<"$c"
        pcap="$DATA/$name.pcap"
        key="$args gen=$gen_sum"
        status=cached
        if [ ! -s "$pcap" ] || [ "$(cat "$DATA/$name.args" 2>/dev/null)" != "$key" ]; then
                # shellcheck disable=SC2086
                if ! "$GEN" $args -o "$pcap.tmp" 2>"$DATA/$name.truth"; then
                        echo "bench: generating $name failed:" >&2
                        cat "$DATA/$name.truth" >&2
                        exit 1
                fi
                mv "$pcap.tmp" "$pcap"
                sed -i "1s|^file .*|file $pcap|" "$DATA/$name.truth"
                echo "$key" >"$DATA/$name.args"
                status=new
        fi
        printf '  %-13s %-38s %9s %7.1f %7.1f %8s %15s %6s %s\n' "$name" "$args" \
                "$(truth "$name" packets)" "$(stat -c %s "$pcap" | awk '{print $1/1e6}')" \
                "$(truth "$name" span_seconds)" "$(truth "$name" connections)" \
                "$(truth "$name" open_mean)/$(truth "$name" open_max)" \
                "$(truth "$name" gen_seconds)" "($status)"
done
echo "  (span_s: capture time span; conns: connections in it; open: connections open"
echo "   at once, mean over packets / maximum, from the generator; gen_s: generation"
echo "   time; ground truth per capture in bench/data/NAME.truth)"
echo

# ---- measurement ----
# measure LABEL CMD...: sets BEST (s), RSS (KiB), RC (exit code of the last run)
measure() {
        local label=$1 i t0 t1 s rss tf
        shift
        BEST= RSS=0 RC=0
        tf=$(mktemp)
        for ((i = 0; i < RUNS; i++)); do
                t0=$(date +%s%N)
                "$TIMECMD" -f '%e %M' -o "$tf" "$@" >/dev/null 2>"$tf.err"
                RC=$?
                t1=$(date +%s%N)
                s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
                rss=$(awk 'END { print $2 }' "$tf")
                [ -z "$BEST" ] || awk -v a="$s" -v b="$BEST" 'BEGIN { exit !(a < b) }' && BEST=$s
                [ "${rss:-0}" -gt "$RSS" ] && RSS=$rss
                if [ "$RC" -ne 0 ]; then
                        echo "  note: $label exited $RC: $(grep -v '^Command exited' "$tf.err" | head -3)"
                        break
                fi
        done
        rm -f "$tf" "$tf.err"
}

declare -A RSS_RST
rows=()
for c in "${CAPTURES[@]}"; do
        IFS='|' read -r name _ what <<<"$c"
        pcap="$DATA/$name.pcap"
        echo "running $name ($what) ..." >&2
        measure "bareloop $name" "$BARE" "$pcap"
        b_s=$BEST b_rss=$RSS
        measure "rstscope $name" "$RST" --format json "$pcap"
        r_s=$BEST r_rss=$RSS r_rc=$RC
        RSS_RST[$name]=$r_rss
        rows+=("$name $(truth "$name" packets) $(stat -c %s "$pcap") $(truth "$name" connections) $(truth "$name" open_max) $b_s $b_rss $r_s $r_rss $r_rc")
        if [ "$name" = full-10M ]; then         # the same with one thread
                echo "running $name with --threads 1 ..." >&2
                measure "rstscope --threads 1 $name" "$RST" --threads 1 --format json "$pcap"
                T1="$name $(truth "$name" packets) $b_s $BEST"
        fi
done

echo "results (best of $RUNS runs; rstscope --format json FILE > /dev/null):"
printf '%s\n' "${rows[@]}" | awk '
function si(x) { return x >= 1e6 ? sprintf("%.2fM", x / 1e6) : sprintf("%.0fk", x / 1e3) }
BEGIN {
        printf "  %-13s %8s %7s | %9s %7s | %9s %7s %6s | %8s %8s | %7s %7s\n",
               "capture", "packets", "MB", "bare p/s", "MB/s", "rst p/s", "MB/s", "ratio",
               "bare RSS", "rst RSS", "B/conn", "B/open"
}
{
        name = $1; pk = $2; mb = $3 / 1e6; conns = $4; open = $5
        bs = $6; brss = $7; rs = $8; rrss = $9; rc = $10
        extra = (rrss - brss) * 1024
        printf "  %-13s %8s %7.0f | %9s %7.0f | %9s %7.1f %6.3f | %7.0fM %7.0fM | %7.0f %7.0f%s\n",
               name, si(pk), mb, si(pk / bs), mb / bs, si(pk / rs), mb / rs, bs / rs,
               brss / 1024, rrss / 1024, extra / conns, extra / open,
               rc != 0 ? "  (rstscope exit " rc ")" : ""
}'
echo "  ratio = rstscope rate / bare-loop rate; RSS = peak resident set (MiB);"
echo "  B/conn = (rstscope RSS - bare RSS) / connections in the capture;"
echo "  B/open = the same per connection open at once (generator's maximum)."
if [ -n "${T1:-}" ]; then
        echo "$T1" | awk '{ printf "%s with --threads 1: %.2fM p/s, ratio %.3f (one thread reads, decodes and tracks)\n",
                            $1, $2 / $4 / 1e6, $3 / $4 }'
fi
if [ -n "${RSS_RST[full-1M]:-}" ] && [ -n "${RSS_RST[full-10M]:-}" ]; then
        awk -v a="${RSS_RST[full-10M]}" -v b="${RSS_RST[full-1M]}" 'BEGIN {
                printf "length independence: RSS(full-10M) / RSS(full-1M) = %.2f (same concurrency: should be ~1.0)\n", a / b }'
fi
if [ -n "${RSS_RST[full-1M]:-}" ] && [ -n "${RSS_RST[full-1M-c20k]:-}" ]; then
        awk -v a="${RSS_RST[full-1M-c20k]}" -v b="${RSS_RST[full-1M]}" 'BEGIN {
                printf "concurrency: RSS(full-1M-c20k) / RSS(full-1M) = %.2f (10x the concurrency)\n", a / b }'
fi

if [ -n "${RSS_RST[full-1M]:-}" ] && [ -n "${RSS_RST[open-1M]:-}" ]; then
        awk -v a="${RSS_RST[open-1M]}" -v b="${RSS_RST[full-1M]}" -v oa="$(truth open-1M open_max)" \
            -v ob="$(truth full-1M open_max)" 'BEGIN {
                printf "per open connection: (RSS(open-1M) - RSS(full-1M)) / (open max - open max) = %.0f B (target <= 200; the fixed part cancels)\n",
                       (a - b) * 1024 / (oa - ob) }'
fi

# ---- other tools, on the 1 M capture only ----
if [ "$OTHERS" = 1 ]; then
        pcap="$DATA/full-1M.pcap"
        pk=$(truth full-1M packets)
        others=()
        command -v tshark >/dev/null && others+=("tshark|tshark -r $pcap -q -z conv,tcp")
        command -v tcptrace >/dev/null && others+=("tcptrace|tcptrace -n $pcap")
        if [ ${#others[@]} -gt 0 ]; then
                echo
                echo "other tools on full-1M (best of $RUNS):"
                for o in "${others[@]}"; do
                        IFS='|' read -r tool cmd <<<"$o"
                        echo "running $tool ..." >&2
                        # shellcheck disable=SC2086
                        measure "$tool" $cmd
                        awk -v t="$tool" -v s="$BEST" -v r="$RSS" -v p="$pk" -v mb="$(stat -c %s "$pcap")" \
                            -v c="$cmd" 'BEGIN {
                                printf "  %-9s %8.0fk p/s %7.1f MB/s %8.0fM RSS  %6.2f s  (%s)\n",
                                       t, p / s / 1e3, mb / 1e6 / s, r / 1024, s, c }'
                done
        fi
fi
echo
echo "saved to $OUT"

#!/bin/sh
# shard-union.sh BINARY - the connections of --shard 0/N .. N-1/N together
# are exactly the connections of the unsharded run (ids aside: each
# process numbers its own).  Compared as sorted JSON Lines records.
set -u
bin=${1:?usage: shard-union.sh BINARY}
cd "$(dirname "$0")/.." || exit 1
export TZ=UTC LC_ALL=C
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
norm() {        # connection records without their id, one per line, sorted
        grep '"type":"connection"' | sed 's/^{"id":[0-9]*,//' | sort
}
fail=0
for cap in testdata/node-race-full.pcap testdata/gen-lifecycle.pcap testdata/gen-portreuse.pcap \
           testdata/lo-full.pcap testdata/connect-timeout-full.pcap; do
        for n in 2 3 7; do
                "$bin" -F jsonl "$cap" | norm >"$tmp/all"
                : >"$tmp/shards"
                i=0
                while [ "$i" -lt "$n" ]; do
                        "$bin" -F jsonl --shard "$i/$n" "$cap" | norm >>"$tmp/shards"
                        i=$((i + 1))
                done
                sort -o "$tmp/shards" "$tmp/shards"
                if ! cmp -s "$tmp/all" "$tmp/shards" || [ ! -s "$tmp/all" ]; then
                        echo "FAIL shard union $cap n=$n"
                        diff "$tmp/all" "$tmp/shards" | head -5
                        fail=1
                fi
        done
done
[ "$fail" = 0 ] && echo "shard union: the shards of 5 captures (n = 2, 3, 7) equal the whole"
exit "$fail"

#!/bin/sh
# run-e2e.sh BINARY - golden end-to-end tests.  Each line of tests/TESTLIST is
#   name  exit-code  [stdin=FILE]  [stdout=FILE]  arguments...
# The binary runs with those arguments (paths relative to the repository
# root) under TZ=UTC LC_ALL=C; its stdout must equal tests/expected/NAME.out,
# its exit code must match, and its stderr must equal tests/expected/NAME.err
# (empty when that file does not exist).  With stdout=FILE the output goes
# there instead (e.g. /dev/full; the test is skipped when FILE does not
# exist) and the expected stdout is empty.  A crash or sanitizer report fails.
# With UPDATE=1 the expected files are rewritten instead (review the diff!).
set -u
bin=${1:?usage: run-e2e.sh BINARY}
cd "$(dirname "$0")/.." || exit 1
export TZ=UTC LC_ALL=C
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0
while read -r name want args; do
        case "$name" in ''|'#'*) continue ;; esac
        in=/dev/null
        case "$args" in stdin=*) in=${args%% *}; in=${in#stdin=}; args=${args#* } ;; esac
        out=$tmp/out
        case "$args" in stdout=*) out=${args%% *}; out=${out#stdout=}; args=${args#* } ;; esac
        if [ ! -e "$out" ] && [ "$out" != "$tmp/out" ]; then
                skip=$((skip + 1))
                continue
        fi
        : >"$tmp/out"
        # shellcheck disable=SC2086  # args are split on purpose
        "$bin" $args <"$in" >"$out" 2>"$tmp/err"
        got=$?
        exp=tests/expected/$name
        if [ "${UPDATE:-0}" = 1 ]; then
                cp "$tmp/out" "$exp.out"
                if [ -s "$tmp/err" ]; then cp "$tmp/err" "$exp.err"; else rm -f "$exp.err"; fi
        fi
        why=
        [ "$got" = "$want" ] || why="exit $got, want $want"
        cmp -s "$tmp/out" "$exp.out" || why="$why${why:+; }stdout differs"
        if [ -f "$exp.err" ]; then
                cmp -s "$tmp/err" "$exp.err" || why="$why${why:+; }stderr differs"
        elif [ -s "$tmp/err" ]; then
                why="$why${why:+; }unexpected stderr"
        fi
        if [ -z "$why" ]; then
                pass=$((pass + 1))
        else
                fail=$((fail + 1))
                echo "FAIL $name: $why"
                diff -u "$exp.out" "$tmp/out" | head -20
                head -5 "$tmp/err"
        fi
done <tests/TESTLIST
msg=
[ "$skip" = 0 ] || msg=", $skip skipped (no such output file)"
echo "end-to-end ($bin): $pass passed, $fail failed$msg"
[ "$fail" = 0 ]

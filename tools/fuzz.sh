#!/bin/sh
# tools/fuzz.sh — runs every libFuzzer target of a fuzz build for a bounded
# time each and prints how many inputs each executed.
#
# Usage: tools/fuzz.sh [SECONDS] [BUILD_DIR]
#   SECONDS    per target, default 60
#   BUILD_DIR  default build-fuzz, made with
#              CC=clang meson setup build-fuzz -Dfuzzers=true -Db_sanitize=address,undefined
#
# Target tests/fuzz/fuzz_NAME starts from the seeds in tests/fuzz/corpus/NAME
# (never modified) and keeps what it finds in BUILD_DIR/fuzz-corpus/NAME;
# crashing inputs go to BUILD_DIR/fuzz-artifacts/. Each run stops by itself
# (-max_total_time) and is killed 30 s after that if it does not. The
# executions per target are printed at the end and kept in
# BUILD_DIR/fuzz-summary.txt (one line each: target, executions, seconds,
# exit status, corpus size). Exits 1 if any target crashed or failed.
set -eu

secs=${1:-60}
build=${2:-build-fuzz}
case $secs in
'' | *[!0-9]* | 0)
    echo "usage: $0 [SECONDS] [BUILD_DIR]  (SECONDS: a positive whole number)" >&2
    exit 2
    ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
targets=$(find "$build/tests/fuzz" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x 2>/dev/null | sort)
if [ -z "$targets" ]; then
    echo "$0: no libFuzzer targets in $build/tests/fuzz; build them first:" >&2
    echo "  CC=clang meson setup $build -Dfuzzers=true -Db_sanitize=address,undefined && ninja -C $build" >&2
    exit 2
fi

status=0
summary=$build/fuzz-summary.txt
: >"$summary.tmp"
for t in $targets; do
    name=${t##*/fuzz_}
    seeds=$root/tests/fuzz/corpus/$name
    work=$build/fuzz-corpus/$name
    artifacts=$build/fuzz-artifacts
    log=$build/fuzz-$name.log
    mkdir -p "$work" "$artifacts"
    [ -d "$seeds" ] || seeds=
    echo "fuzz_$name: running for ${secs}s (log: $log)"
    rc=0
    # shellcheck disable=SC2086 # $seeds is empty or one path without blanks
    timeout -k 10 $((secs + 30)) "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
        "$work" $seeds >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    inputs=$(find "$work" -type f | wc -l)
    echo "fuzz_$name: ${runs:-unknown} executions, exit status $rc, corpus $inputs inputs"
    printf 'fuzz_%s %s executions in %ss, exit status %s, corpus %s inputs\n' \
        "$name" "${runs:-unknown}" "$secs" "$rc" "$inputs" >>"$summary.tmp"
    if [ "$rc" -ne 0 ]; then
        echo "fuzz_$name: FAILED; last lines of $log:" >&2
        tail -n 30 "$log" >&2
        status=1
    fi
done
mv "$summary.tmp" "$summary"
echo "== executions per target (also in $summary)"
cat "$summary"
exit $status

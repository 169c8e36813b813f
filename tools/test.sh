#!/usr/bin/env bash
# tools/test.sh — build iocd and run the whole test suite twice: a normal
# build, and one under AddressSanitizer + UndefinedBehaviorSanitizer (the
# integration tests then run the sanitized daemon). Then, when clang is
# there, builds the libFuzzer targets (build-fuzz) and runs each briefly
# (meson suite 'fuzz-run': the seeds, then new inputs up to 20000 runs).
# Installs missing Debian packages first, clang and libFuzzer's runtime
# included.
# Ends with one line "N passed, N failed" over all three; exits non-zero
# if any test failed or none ran.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

tools/deps.sh --with-fuzz || exit 1
# The console's browser test drives Chromium with the pinned playwright-core.
# Reinstalled whenever the lock pins another version than node_modules holds.
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packages"]["node_modules/playwright-core"]["version"])' tests/browser/package-lock.json)
have=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' tests/browser/node_modules/playwright-core/package.json 2>/dev/null)
if [ "$want" != "$have" ]; then
  npm ci --prefix tests/browser --no-audit --no-fund || exit 1
fi
echo "browser test: node $(node --version), playwright-core $want"

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"

status=0
logs=()
build() { # dir, extra meson options...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null || return 1
  fi
  ninja -C "$dir" >/dev/null || { ninja -C "$dir"; return 1; }
}
for variant in build:: build-asan:-Db_sanitize=address,undefined:-Db_lundef=false; do
  IFS=: read -r dir opt1 opt2 <<<"$variant"
  opts=(); [ -n "$opt1" ] && opts+=("$opt1"); [ -n "$opt2" ] && opts+=("$opt2")
  echo "== $dir ${opts[*]:-}"
  if ! build "$dir" "${opts[@]}"; then
    echo "build of $dir failed"
    status=1
    continue
  fi
  meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
  logs+=("$dir/meson-logs/testlog.json")
done

# The fuzz targets need clang's libFuzzer; each short run counts as a test.
if command -v clang >/dev/null; then
  echo "== build-fuzz CC=clang -Dfuzzers=true -Db_sanitize=address,undefined"
  if CC=clang build build-fuzz -Dfuzzers=true -Db_sanitize=address,undefined; then
    meson test -C build-fuzz --print-errorlogs --num-processes 2 --suite fuzz-run || status=1
    logs+=("build-fuzz/meson-logs/testlog.json")
  else
    echo "build of build-fuzz failed"
    status=1
  fi
else
  echo "== build-fuzz skipped: no clang (tools/deps.sh --with-fuzz installs it)"
fi

python3 - "${logs[@]}" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        continue
    for line in lines:
        if not line.strip():
            continue
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print("%d passed, %d failed%s" % (passed, failed, ", %d skipped" % skipped if skipped else ""))
sys.exit(1 if failed or not passed else 0)
PY
rc=$?
[ $status -ne 0 ] && [ $rc -eq 0 ] && rc=1
exit $rc

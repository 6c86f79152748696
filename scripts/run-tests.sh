#!/bin/bash
# Runs test programs and prints one summary over all of them, last line:
#   N passed, N failed, N skipped
# A criterion binary counts its own tests (from its "Synthesis" line); any
# other program or script counts as one test, passed when it exits 0. A
# program that crashes or prints no synthesis counts as one failure, so a run
# that tested nothing cannot look green.
# Skips: a script that cannot run (a part of) its test prints a line
# "SKIP: what: why" for each part; exiting 77 it counts as skipped, exiting 0
# as passed with those parts skipped. Every SKIP line counts as one skipped
# test and is listed before the summary. Only what needs root may be skipped:
# as root a test runs for real or fails, naming what is missing.
set -u
passed=0
failed=0
skipped=0
failed_names=()
skipped_names=()
timeout_s=${TEST_TIMEOUT:-600}
log=$(mktemp /tmp/strata-test-log.XXXXXX)
child=
trap 'rm -f "$log"' EXIT
# Stopped midway: stop the test too (timeout passes the signal on), then go.
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait; exit 130' INT TERM HUP
# A test in the background and waited for, so a signal is handled at once.
run() {
  "$@" >"$log" 2>&1 &
  child=$!
  wait "$child"
  rc=$?
  child=
}
for t in "$@"; do
  name=${t#*/tests/}
  echo "== $name"
  : >"$log"
  case "$t" in
    */tests/cluster/*) jobs=1 ;;
    *) jobs=${TEST_JOBS:-2} ;;
  esac
  if [[ "$t" == *.sh ]]; then
    run timeout -k 10 "$timeout_s" bash "$t"
    tail -n 20 "$log"
    skips=0
    while IFS= read -r why; do
      skips=$((skips + 1))
      skipped_names+=("$name: ${why#SKIP: }")
    done < <(grep -a '^SKIP: ' "$log")
    if [ $rc -eq 77 ] && [ $skips -eq 0 ]; then skips=1; skipped_names+=("$name: (it said no why)"); fi
    skipped=$((skipped + skips))
    if [ $rc -eq 0 ]; then passed=$((passed + 1))
    elif [ $rc -ne 77 ]; then failed=$((failed + 1)); failed_names+=("$name (exit $rc)"); fi
  else
    run timeout -k 10 "$timeout_s" "$t" --jobs "$jobs" --color=never
    grep -E '^\[(FAIL|----|====)\]|Assertion|ERROR|Sanitizer|runtime error' "$log" | tail -n 40
    syn=$(grep -a 'Synthesis:' "$log" | tail -n 1)
    if [ -z "$syn" ]; then
      tail -n 30 "$log"
      failed=$((failed + 1)); failed_names+=("$name (no result, exit $rc)")
    else
      p=$(echo "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
      f=$(echo "$syn" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
      c=$(echo "$syn" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
      passed=$((passed + ${p:-0}))
      failed=$((failed + ${f:-0}))
      [ "${f:-0}" -gt 0 ] && failed_names+=("$name (${f} failing, ${c:-0} crashing)")
      if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
        failed=$((failed + 1)); failed_names+=("$name (exit $rc)")
      fi
    fi
  fi
done
echo
for n in "${skipped_names[@]+"${skipped_names[@]}"}"; do echo "SKIPPED: $n"; done
for n in "${failed_names[@]+"${failed_names[@]}"}"; do echo "FAILED: $n"; done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

#!/bin/bash
# The console page (console/index.html) in headless Chromium against the mock
# admin cluster (tests/console/mock_admin.py), no broker needed:
#  1. 3 brokers, all answering: every broker live, topics, groups, rates, the
#     under-replicated payments/1 highlighted and listed by the toggle, no
#     console error;
#  2. trouble: a fenced broker, one whose admin port refuses connections, an
#     offline partition and a 10,000-partition topic: shown so, paging works,
#     and nothing breaks (failed loads from the refusing broker aside);
#  3. the checker itself: the same page with a script error added must fail
#     console_check.sh, or this test would pass on a broken page.
# Ports: the kernel's (the mock binds port 0 and prints what it got).
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
strata_need "the console's browser test" chromium /usr/bin/python3
dir=$(mktemp -d /tmp/strata-console-test.XXXXXX)
mock=
stop_mock() {
  if [ -n "$mock" ]; then kill -TERM "$mock" 2>/dev/null; wait "$mock" 2>/dev/null; fi
  mock=
}
trap 'stop_mock; rm -rf "$dir"' EXIT

# start_mock ARGS...: the mock in the background; sets $mock and $url (broker 1's).
start_mock() {
  : >"$dir/mock.out"
  /usr/bin/python3 tests/console/mock_admin.py "$@" >"$dir/mock.out" 2>&1 &
  mock=$!
  for _ in $(seq 100); do
    grep -q '^ready$' "$dir/mock.out" && break
    kill -0 "$mock" 2>/dev/null || break
    sleep 0.1
  done
  url=$(awk '$1 == "broker" && $2 == 1 { print $3 }' "$dir/mock.out")
  [ -n "$url" ] && grep -q '^ready$' "$dir/mock.out" || { cat "$dir/mock.out"; echo "FAIL the mock did not start"; exit 1; }
}

# check NAME ARGS...: console_check.sh ARGS, its output shown on failure.
check() {
  local name=$1
  shift
  if tests/console/console_check.sh "$@" >"$dir/check.out" 2>&1; then ok "$name"
  else bad "$name:"; sed 's/^/    /' "$dir/check.out"; fi
}

start_mock --brokers 3
check "3 brokers, one partition under-replicated" "$url" --broker 1 --broker 2 --broker 3 \
  --topic orders --topic payments --topic iot_sensor_data --topic clickstream \
  --group billing-service --group analytics-etl --group audit-archiver \
  --under-replicated payments:1 --cluster-id q7Rt2xWmS9uKc4LpZb1eNA
# Broker 2 serves the page as well, reading the others' answers.
url2=$(awk '$1 == "broker" && $2 == 2 { print $3 }' "$dir/mock.out")
check "the page served by broker 2" "$url2" --broker 1 --broker 2 --broker 3 --group billing-service

# The checker fails a page with an error (here: the page as it is, plus a
# script that throws once it has loaded).
sed 's|</body>|<script>window.addEventListener("load", function () { undefinedConsoleFunction(); });</script></body>|' \
  console/index.html >"$dir/broken.html"
stop_mock
start_mock --brokers 1 --html "$dir/broken.html"
if tests/console/console_check.sh "$url" --broker 1 >"$dir/check.out" 2>&1; then
  bad "console_check.sh passes a page that throws:"; sed 's/^/    /' "$dir/check.out"
elif grep -q 'FAIL uncaught exception: ReferenceError: undefinedConsoleFunction' "$dir/check.out"; then
  ok "console_check.sh fails a page that throws, naming the error"
else
  bad "console_check.sh failed a page that throws, without naming the error:"; sed 's/^/    /' "$dir/check.out"
fi
stop_mock

start_mock --brokers 3 --fenced 3 --unreachable 1 --offline --big 10000
check "a fenced broker, an unreachable one, an offline partition, 10,037 partitions" "$url" \
  --broker 1 --broker 2 --fenced 3 --unreachable 4 --topic orders --topic bulk-events \
  --group billing-service --under-replicated orders:0 --offline clickstream:4 --paging
stop_mock

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all console checks passed"

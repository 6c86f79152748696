#!/bin/bash
# `make demo` (scripts/demo.sh) as a user runs it, cut short: it starts a
# quorum of three controllers and three brokers, prints `strata cluster
# status` with one line per controller and exactly one `controller N
# (active)`, suggests killing that same controller, streams readings that
# the summary reads back, stops by itself after STRATA_DEMO_SECONDS, and
# leaves no process and no temp folder behind. (The secure demo, one
# controller, is tests/security/demo_test.sh.)
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
out=$(mktemp /tmp/strata-demotest.XXXXXX)
demo=
trap '[ -n "$demo" ] && kill "$demo" 2>/dev/null; rm -f "$out"' EXIT

# The demo takes PORT..PORT+8 (three controllers); all of them free.
for _ in $(seq 20); do
  port=$(strata_free_port) || exit 1
  used=0
  for k in $(seq 1 8); do _strata_port_used $((port + k)) && { used=1; break; }; done
  [ $used = 0 ] && break
done
STRATA_DEMO_PORT=$port STRATA_DEMO_SECONDS=4 STRATA_DEMO_RATE=200 STRATA_DEMO_REBALANCE_AFTER=0 \
  timeout 90 scripts/demo.sh >"$out" 2>&1 &
demo=$!
wait $demo
rc=$?
demo=
[ $rc = 0 ] && ok "the demo stopped by itself" || { bad "the demo exited $rc"; tail -n 20 "$out"; }
grep -q "^Starting a Strata cluster: 3 controllers" "$out" && ok "it says it starts 3 controllers" ||
  bad "no '3 controllers' in its first line: $(head -n 1 "$out")"
n=$(grep -c '^controller [1-3] ' "$out")
[ "$n" = 3 ] && ok "its status has a line per controller" || { bad "$n controller lines, not 3"; cat "$out"; }
active=$(sed -n 's/^controller \([1-3]\) (active) .*leader.*/\1/p' "$out")
[ "$(echo "$active" | grep -c .)" = 1 ] && ok "one active controller: controller $active" ||
  bad "not exactly one 'controller N (active)' line: '$active'"
grep -q "scripts/cluster.sh kill controller-$active\$" "$out" && ok "it suggests killing controller-$active" ||
  bad "no 'kill controller-$active' suggestion"
reads=$(grep -o '[0-9]* readings read' "$out" | tail -n 1 | grep -o '^[0-9]*')
[ "${reads:-0}" -gt 100 ] && ok "the summary read back ${reads} readings" || bad "the summary read ${reads:-no} readings"
dir=$(sed -n 's/.*data and logs in \(\/tmp\/strata-demo[^)]*\)).*/\1/p' "$out" | head -n 1)
[ -n "$dir" ] && [ ! -e "$dir" ] && ok "its folder $dir is gone" || bad "its folder '$dir' is still there"
left=$(pgrep -f "${dir:-/nonexistent}/" | grep -c .)
[ -n "$dir" ] && [ "$left" = 0 ] && ok "no process of it is left" || bad "$left process(es) of it left"
[ $fails = 0 ]

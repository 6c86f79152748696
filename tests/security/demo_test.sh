#!/bin/bash
# `make demo` with STRATA_DEMO_SECURE=1 (scripts/demo.sh): it comes up with
# TLS + SCRAM + ACLs, the sensor stream runs through it as the user demo,
# and the kcat command it prints (its -X options) reads records while it
# runs; it stops on its own after STRATA_DEMO_SECONDS and removes its temp
# folder (CA and keys included). Its three controllers elect an active one
# over mutual TLS.
. "$(dirname "$0")/lib.sh"
sec_need_tools kcat
port=$(sec_base_port) || { bad "no free port"; exit 1; }
out=$(mktemp /tmp/strata-sec-demo.XXXXXX)
trap 'kill $demo 2>/dev/null; wait $demo 2>/dev/null; rm -f "$out" "$out.kcat"' EXIT
STRATA_DEMO_SECURE=1 STRATA_DEMO_PORT=$port STRATA_DEMO_SECONDS=30 STRATA_DEMO_RATE=200 \
  STRATA_DEMO_REBALANCE_AFTER=0 scripts/demo.sh >"$out" 2>&1 &
demo=$!
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ] && ! grep -q -- "-C -t iot_sensor_data" "$out"; do
  kill -0 $demo 2>/dev/null || break
  sleep 0.5
done
grep -q "^    kcat .*-X security.protocol=SASL_SSL" "$out" && ok "the demo prints a kcat command with -X security.protocol=SASL_SSL" ||
  { bad "no secure kcat command in the demo's output"; tail -n 20 "$out"; exit 1; }
tmpdir=$(sed -n 's/.*data and logs in \(\/tmp\/strata-demo[^)]*\)).*/\1/p' "$out" | head -n 1)
# The printed command, its three lines joined.
cmd=$(awk '/^    kcat .*SASL_SSL/ { c = $0; getline; c = c "\n" $0; getline; c = c "\n" $0; print c; exit }' "$out" |
  sed 's/ \\$//' | tr '\n' ' ')
sleep 5 # some readings first
eval "timeout 30 $cmd" >"$out.kcat" 2>&1
n=$(grep -c . "$out.kcat")
[ "$n" -ge 5 ] && ok "the printed kcat command read $n sensor readings over TLS + SCRAM ($(head -n 1 "$out.kcat" | cut -c1-60))" ||
  bad "the printed kcat command printed $n lines: $(head -n 3 "$out.kcat" | tr '\n' ' ')"
grep -q "^Starting a secure Strata cluster: 3 controllers (a quorum)" "$out" &&
  [ "$(grep -c '^controller [1-3] (active) ' "$out")" = 1 ] &&
  ok "a quorum of 3 controllers over mutual TLS, one active" ||
  bad "no quorum of 3 with one 'controller N (active)' in the demo's output"
grep -q "sasl.password=" "$out" && grep -q "User:demo" "$out" && ok "the demo made the user demo and its ACLs" ||
  bad "no ACL listing for User:demo in the demo's output"
wait $demo
rc=$?
[ $rc = 0 ] && ok "the demo stopped by itself after 30 s" || { bad "the demo exited $rc"; tail -n 15 "$out"; }
[ -n "$tmpdir" ] && [ ! -e "$tmpdir" ] && ok "its temp folder $tmpdir (CA, keys, passwords) is gone" ||
  bad "the demo's temp folder '$tmpdir' is still there"
[ $fails = 0 ] && echo "all passed" || { echo "$fails failed"; exit 1; }

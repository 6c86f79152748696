#!/bin/bash
# Three controllers through the operator's tools (issue 14, items 3 and 4):
# `STRATA_CONTROLLERS=3 scripts/cluster.sh up 3` starts controller-1..3 and
# 3 brokers given the list; `strata cluster status` shows the quorum with one
# `controller N (active)` line; kill -9 of the active controller gives another
# active one that the brokers follow (all stay registered, a topic can be made
# through the CLI); with two of three down there is no active controller (the
# status says so, an admin call fails after its timeout) and with one back
# there is again. Also: `kill controller` is refused with three (say which),
# and STRATA_TLS=1 with three is refused at `up`.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
S=$STRATA_BIN
dir=$(mktemp -d /tmp/strata-quorumclitest.XXXXXX)
trap 'scripts/cluster.sh purge >/dev/null 2>&1; rm -rf "$dir"' EXIT

export STRATA_CONTROLLERS=3
strata_cluster_up "$dir" 3 || exit 1
export STRATA_BOOTSTRAP=127.0.0.1:$STRATA_CLUSTER_PORT

active() { # the id on the status's "(active)" line, or nothing
  "$S" cluster status --timeout 3000 2>/dev/null | sed -n 's/^controller \([0-9]*\) (active).*/\1/p'
}
wait_active() { # not-this-id seconds: sets a
  local _
  for _ in $(seq $(($2 * 5))); do
    a=$(active)
    [ -n "$a" ] && [ "$a" != "$1" ] && return 0
    sleep 0.2
  done
  return 1
}
alive() { "$S" cluster status --timeout 3000 2>/dev/null | grep -c ' alive$'; }

[ "$(scripts/cluster.sh controllers | grep -c running)" = 3 ] && ok "cluster.sh controllers: 3 running" ||
  { bad "cluster.sh controllers"; scripts/cluster.sh controllers; }
wait_active none 15 && ok "cluster status: controller $a (active)" ||
  { bad "no (active) controller line"; "$S" cluster status; }
"$S" cluster status >"$dir/status" 2>&1
[ "$(grep -c '^controller [0-9]' "$dir/status")" = 3 ] && grep -q "^controller quorum: epoch " "$dir/status" &&
  ok "cluster status lists the 3 controllers with role, epoch, log end and lag" ||
  { bad "quorum lines"; cat "$dir/status"; }
[ "$(alive)" = 3 ] && ok "3 brokers registered with the active controller" || bad "brokers registered"

# kill -9 the active controller
old=$a
scripts/cluster.sh kill "controller-$old" >/dev/null
wait_active "$old" 20 && ok "controller-$old killed: controller $a is active now" ||
  { bad "no new active controller after killing controller-$old"; "$S" cluster status; }
for _ in $(seq 50); do [ "$(alive)" = 3 ] && break; sleep 0.2; done
[ "$(alive)" = 3 ] && ok "the brokers followed it (3 alive)" || bad "brokers after the failover: $(alive) alive"
"$S" topic create after-failover --partitions 3 --replication-factor 3 >"$dir/out" 2>&1 &&
  ok "topic create through the new active controller" || { bad "topic create after failover"; cat "$dir/out"; }

# two of three down: no majority, no active controller
second=$a
scripts/cluster.sh kill "controller-$second" >/dev/null
sleep 3
"$S" cluster status --timeout 3000 >"$dir/status" 2>&1
grep -q "(active)" "$dir/status" && { bad "an active controller with one of three up"; cat "$dir/status"; } ||
  ok "one of three up: no controller is shown active ($(sed -n 2p "$dir/status" | cut -c1-60)...)"
"$S" topic create no-majority --partitions 1 --timeout 2000 >"$dir/out" 2>&1 &&
  bad "a topic was made with one controller of three" ||
  ok "one of three up: topic create fails ($(head -c 80 "$dir/out"))"
[ "$(alive)" = 3 ] && ok "the brokers still serve metadata (3 alive, as last known)" ||
  bad "brokers without a quorum: $(alive) alive"

# one back: a majority again
scripts/cluster.sh start "controller-$old" >/dev/null || bad "start controller-$old"
wait_active none 20 && ok "controller-$old back: a majority, controller $a active" ||
  { bad "no active controller with two of three up"; "$S" cluster status; }
"$S" topic create majority-again --partitions 1 >"$dir/out" 2>&1 && ok "topic create works again" ||
  { bad "topic create with a majority back"; cat "$dir/out"; }
scripts/cluster.sh start "controller-$second" >/dev/null || bad "start controller-$second"

scripts/cluster.sh kill controller >"$dir/out" 2>&1 && bad "kill controller accepted with 3" ||
  { grep -q "say which" "$dir/out" && ok "'kill controller' with three: refused, say which" ||
    { bad "kill controller message"; cat "$dir/out"; }; }
STRATA_TLS=1 STRATA_CLUSTER_DIR=$dir/tls scripts/cluster.sh up 1 >"$dir/out" 2>&1 &&
  bad "STRATA_TLS=1 with 3 controllers accepted" || ok "STRATA_TLS=1 with 3 controllers refused at up"

echo "quorum cli: $fails failure(s)"
[ $fails = 0 ]

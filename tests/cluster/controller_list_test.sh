#!/bin/bash
# Brokers with a list of controllers (issue 14: controller=A,B,C) find the
# active one, with real processes and no quorum needed: the list holds a
# port nobody listens on (a dead controller), a stand-in for a quorum
# follower that answers every request NOT_CONTROLLER naming the active
# controller (not_controller_stub.py), and the real controller.
#  - dead, follower, real: the broker skips the dead one, follows the
#    follower's hint, registers with the real one;
#  - follower alone (one entry): the hint is followed too;
#  - the real controller killed -9 and restarted: the broker resumes with it
#    and, meanwhile, asks the others a few times a second, no busy loop;
#  - an admin call (the CLI) sent to the follower follows the hint;
#  - a bad list is refused at start, naming the setting;
#  - with TLS on every link, a dead SSL:// entry first: the broker reaches
#    the controller over TLS (each entry keeps its scheme).
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
S=$STRATA_BIN
dir=$(mktemp -d /tmp/strata-ctllisttest.XXXXXX)
stub_pid=
cleanup() {
  [ -n "$stub_pid" ] && kill "$stub_pid" 2>/dev/null
  strata_stop_all
  scripts/cluster.sh purge >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
strata_need "controller list test" python3

# The controller alone (cluster.sh up 0), then brokers started by hand.
strata_cluster_up "$dir" 0 || exit 1
port=$STRATA_CLUSTER_PORT
cport=$((port + 1))
dead=$(strata_free_port) || exit 1
fport=$(strata_free_port) || exit 1
python3 tests/cluster/not_controller_stub.py "$fport" 0 "127.0.0.1:$cport" "$dir/stub.log" &
stub_pid=$!
strata_wait_port 127.0.0.1 "$fport" 10 || { bad "the stand-in follower did not listen"; exit 1; }

alive() { # how many brokers the controller has registered and unfenced
  "$S" cluster status --bootstrap "$1" 2>/dev/null | grep -c ' alive$'
}
wait_alive() { # bootstrap n seconds
  local _
  for _ in $(seq $((${3} * 10))); do
    [ "$(alive "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

start() { # id controller-list
  local d=$dir/b$1 bp
  bp=$(strata_free_port) || return 1
  eval "bport$1=$bp"
  strata_start_broker "$d" "$bp" --set broker.id="$1" --set controller="$2" \
    --set broker.heartbeat.interval.ms=100
}

# 1. dead, follower, real
start 1 "127.0.0.1:$dead,127.0.0.1:$fport,127.0.0.1:$cport" || exit 1
if wait_alive "127.0.0.1:$bport1" 1 10; then
  ok "dead, follower, real: the broker registered with the active controller"
else
  bad "dead, follower, real: broker 1 did not register"; tail -n 20 "$dir/b1/broker.log"
fi
grep -q "not the active one (it names 0 at '127.0.0.1:$cport')" "$dir/b1/broker.log" &&
  ok "it heard NOT_CONTROLLER from the follower and followed its hint" ||
  { bad "no NOT_CONTROLLER hint in the broker's log"; grep -i controller "$dir/b1/broker.log" | tail -n 10; }

# 2. the follower alone: one entry, the hint is followed
start 2 "127.0.0.1:$fport" || exit 1
wait_alive "127.0.0.1:$bport2" 2 10 && ok "one entry naming a follower: its hint leads to the active one" ||
  { bad "broker 2 (follower only) did not register"; tail -n 20 "$dir/b2/broker.log"; }

# 3. the real controller down for 3 s: no busy loop, then back
before=$(grep -c '^conn' "$dir/stub.log")
scripts/cluster.sh kill controller >/dev/null
sleep 3
conns=$(($(grep -c '^conn' "$dir/stub.log") - before))
# Broker 1 reaches the follower once a round of its list (50 + 50 + 200 ms),
# broker 2 (the follower alone) once per 200 + 50 ms: about 22 in 3 s (a
# slow machine makes fewer). Without the pauses the brokers' 50 ms ticks
# would allow 35 or more. At least a few: they do keep looking.
[ "$conns" -ge 2 ] && [ "$conns" -le 28 ] &&
  ok "controller down 3 s: the follower got $conns connects from 2 brokers (no busy loop)" ||
  bad "controller down 3 s: $conns connects to the follower"
scripts/cluster.sh restart controller >/dev/null || bad "controller restart"
wait_alive "127.0.0.1:$bport1" 2 15 && ok "controller back: both brokers are with it again" ||
  { bad "brokers after the controller's restart"; tail -n 10 "$dir/b1/broker.log"; }
grep -q "registering again" "$dir/b1/broker.log" &&
  bad "broker 1 registered again (a new incarnation) after the controller came back" ||
  ok "the broker kept its registration (same broker epoch) across the move"

# 4. the CLI asked at the follower: an admin call follows the hint
"$S" --bootstrap "127.0.0.1:$fport" topic create via-follower --partitions 1 >"$dir/cli.out" 2>&1 &&
  ok "topic create sent to the follower: created via the hint" ||
  { bad "CLI through the follower"; cat "$dir/cli.out"; }

# 5. a bad list is refused
for l in "127.0.0.1:$cport," "127.0.0.1:$cport,nope" ",127.0.0.1:$cport"; do
  "$STRATA_BROKER_BIN" --set log.dir="$dir/bad" --set listeners=127.0.0.1:"$dead" \
    --set controller="$l" >"$dir/bad.out" 2>&1 && bad "controller=$l accepted" ||
    { grep -q "controller" "$dir/bad.out" && ok "controller=$l refused, naming the setting" ||
      { bad "controller=$l: no word of the setting"; cat "$dir/bad.out"; }; }
done

# 6. TLS, each entry with its scheme: a dead SSL:// entry first, then the
# controller of a cluster with TLS on every link (cluster.sh STRATA_TLS=1).
scripts/cluster.sh purge >/dev/null 2>&1
strata_stop_all
export STRATA_TLS=1
mkdir -p "$dir/t"
strata_cluster_up "$dir/t" 1 || exit 1
tport=$STRATA_CLUSTER_PORT
cc=$STRATA_CLUSTER_DIR/tls/client.properties
scripts/cluster.sh kill 1 >/dev/null
STRATA_BROKER_SETS="controller=SSL://127.0.0.1:$dead,SSL://127.0.0.1:$((tport + 1))" \
  scripts/cluster.sh restart 1 >/dev/null || bad "TLS broker restart"
for _ in $(seq 50); do
  [ "$("$S" --command-config "$cc" cluster status --bootstrap 127.0.0.1:$tport 2>/dev/null |
    grep -c ' alive$')" = 1 ] && break
  sleep 0.2
done
blog=$STRATA_CLUSTER_DIR/broker-1.log
grep -q "controller link to 127.0.0.1:$dead (SSL)" "$blog" &&
  grep -A3 "controller link to 127.0.0.1:$((tport + 1)) (SSL)" "$blog" | grep -q "registered with the controller" &&
  ok "TLS: past a dead SSL:// entry, the broker is with the controller over TLS" ||
  { bad "TLS list"; grep -i controller "$blog" | tail -n 8; }
unset STRATA_TLS

echo "controller list: $fails failure(s)"
[ $fails = 0 ]

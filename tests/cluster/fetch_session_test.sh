#!/bin/bash
# Incremental fetch sessions on the native follower fetch (KIP-227, issue
# 15; broker/rsess.h, broker/follow.c). Real processes: scripts/cluster.sh,
# 3 brokers, 300 partitions at RF 3, replica.lag.time.max.ms 1500.
#  1. After the first full fetch, followers fetch incrementally only.
#  2. Idle for 4 lag windows: no ISR changes at all (a follower names an
#     idle partition never, and each of its session's requests counts as a
#     fetch of it), and no full fetch.
#  3. acks=all writes to sampled partitions are acknowledged (news reach the
#     followers through the session; their new positions move the HW).
#  4. kill -9 of a follower and its restart: it opens a new session and
#     rejoins every ISR.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
strata_need "fetch session test" curl
export STRATA_BUILD
dir=$(mktemp -d /tmp/strata-fsess.XXXXXX)
export STRATA_CLUSTER_DIR=$dir/c
base=$(strata_free_port) || exit 1
export STRATA_CLUSTER_PORT=$base
trap 'scripts/cluster.sh down >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
P=300
LAG=1500
export STRATA_BROKER_SETS="log.level=info replica.lag.time.max.ms=$LAG"
scripts/cluster.sh up 3 >"$dir/up.out" 2>&1 || { cat "$dir/up.out"; exit 1; }
ALL=127.0.0.1:$base,127.0.0.2:$base,127.0.0.3:$base
cli() { "$STRATA_BIN" --bootstrap "$ALL" --timeout 20000 "$@"; }
full() { cli cluster status --topic s 2>/dev/null | awk '$1 == "s" { if (split($6, a, ",") == 3) c++ } END { print c + 0 }'; }
wait_full() { # timeout_s
  local deadline=$((SECONDS + $1))
  until [ "$(full)" = $P ] || [ $SECONDS -ge $deadline ]; do sleep 0.3; done
  [ "$(full)" = $P ]
}
ev() { # broker, event
  curl -s "http://127.0.0.$1:$((base + 3))/metrics" |
    awk -v e="strata_replica_fetch_session_events_total{event=\"$2\"}" '$1 == e { print $2 }'
}
isr_asks() { cat "$STRATA_CLUSTER_DIR"/broker-*.log | grep -c "asking the controller to change the ISR"; }

cli topic create s -p $P -r 3 >"$dir/out" 2>&1 || { bad "create: $(cat "$dir/out")"; exit 1; }
wait_full 60 && ok "$P partitions with a full ISR" || bad "$(full) of $P full ISRs"
sleep 1
declare -A full0 inc0
for b in 1 2 3; do full0[$b]=$(ev $b follower_full); inc0[$b]=$(ev $b follower_incremental); done
asks0=$(isr_asks)
sleep $((4 * LAG / 1000 + 1))
for b in 1 2 3; do
  f=$(ev $b follower_full) i=$(ev $b follower_incremental)
  [ "$f" = "${full0[$b]}" ] && [ "$i" -gt "${inc0[$b]}" ] &&
    ok "broker $b idle: $((i - ${inc0[$b]})) incremental fetches, no full one ($f since start)" ||
    bad "broker $b idle: full ${full0[$b]} -> $f, incremental ${inc0[$b]} -> $i"
done
asks=$(isr_asks)
[ "$asks" = "$asks0" ] && ok "no ISR change over 4 lag windows idle" ||
  bad "$((asks - asks0)) ISR change(s) asked while idle: $(cat "$STRATA_CLUSTER_DIR"/broker-*.log |
    grep "asking the controller to change the ISR" | tail -1)"
[ "$(full)" = $P ] && ok "every ISR still full" || bad "$(full) of $P ISRs full after idling"

wrote=0
for k in $(seq 0 30 $((P - 1))); do
  seq 1 20 | cli produce -t s -p $k --acks all >"$dir/out" 2>&1 && wrote=$((wrote + 1)) ||
    echo "  s-$k: $(tail -1 "$dir/out")"
done
[ $wrote = $((P / 30)) ] && ok "acks=all writes to $wrote sampled partitions acknowledged" ||
  bad "$wrote of $((P / 30)) acks=all writes acknowledged"

created0=$(( $(ev 1 leader_created) + $(ev 3 leader_created) ))
scripts/cluster.sh kill 2 >/dev/null
scripts/cluster.sh restart 2 >/dev/null 2>&1 || bad "broker 2 did not restart"
t0=$SECONDS
wait_full 60 && ok "restarted broker 2 rejoined every ISR in $((SECONDS - t0)) s" ||
  bad "$(full) of $P full ISRs 60 s after broker 2's restart"
created=$(( $(ev 1 leader_created) + $(ev 3 leader_created) ))
[ "$created" -gt "$created0" ] && ok "its leaders opened new sessions for it ($created0 -> $created)" ||
  bad "no new session for the restarted follower ($created0 -> $created)"
[ $fails = 0 ] && echo "all passed" || echo "FAILED: $fails"
exit $((fails > 0))

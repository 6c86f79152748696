#!/bin/bash
# Silent corruption in an OLD segment is found, repaired from a healthy
# replica, and never reaches a consumer while a healthy copy exists (issue
# 15, DESIGN.md T8). Real processes: scripts/cluster.sh, 3 brokers, one
# partition at RF 3, 64 KiB segments, 50,000 acknowledged records.
#  (a) follower: stopped, a byte flipped in its first (old) segment, restarted:
#      its scrubber finds the damage, it leaves the ISR, cuts its log there,
#      refetches, rejoins; then the other two are killed, it leads, and a
#      consumer reads all 50,000 records intact from it alone.
#  (b) leader: the same flip on the leader's old segment while it is down
#      (its scrubber off), it rejoins and leads again (elect-preferred); a
#      consumer from offset 0 reads all 50,000 intact: the leader's read
#      finds the damage, answers NOT_LEADER, the controller hands leadership
#      to a healthy replica, and the damaged one repairs and rejoins.
#  (c) a follower killed -9 right after it found damage, restarted with a
#      scrubber too slow to finish a pass: it knows where the damage was
#      (damage.state), cuts, refetches and is unmarked without a whole
#      scrub pass, and rejoins the ISR.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
export STRATA_BUILD
dir=$(mktemp -d /tmp/strata-corrupt.XXXXXX)
export STRATA_CLUSTER_DIR=$dir/c
base=$(strata_free_port) || exit 1
export STRATA_CLUSTER_PORT=$base
trap 'scripts/cluster.sh down >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
N=50000
SCRUB_FAST="log.scrub.bytes.per.second=100000000 log.scrub.interval.ms=500"
SCRUB_OFF="log.scrub.interval.ms=0"
COMMON="log.segment.bytes=65536 log.level=info broker.session.timeout.ms=3000"
export STRATA_BROKER_SETS="$COMMON $SCRUB_OFF"
scripts/cluster.sh up 3 >"$dir/up.out" 2>&1 || { cat "$dir/up.out"; exit 1; }
ALL=127.0.0.1:$base,127.0.0.2:$base,127.0.0.3:$base
cli() { "$STRATA_BIN" --bootstrap "${BOOT:-$ALL}" "$@"; }
# leader and ISR of c-0 as the cluster reports them: "LEADER ISR"
state() {
  cli cluster status --topic c 2>/dev/null | awk '$1 == "c" && $2 == 0 { print $3, $6 }'
}
preferred() { cli cluster status --topic c 2>/dev/null | awk '$1 == "c" && $2 == 0 { sub(/,.*/, "", $5); print $5 }'; }
# lines of broker $1's log matching $2
count() { grep -c "$2" "$STRATA_CLUSTER_DIR/broker-$1.log"; }
# wait up to $3 s until broker $1's log has more than $4 lines matching $2
wait_log() {
  local deadline=$((SECONDS + $3))
  until [ "$(count "$1" "$2")" -gt "$4" ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
  [ "$(count "$1" "$2")" -gt "$4" ]
}
# wait up to $2 s for state to match the regex $1
wait_state() {
  local deadline=$((SECONDS + $2)) s
  while [ $SECONDS -lt $deadline ]; do
    s=$(state)
    [[ "$s" =~ $1 ]] && return 0
    sleep 0.2
  done
  echo "state: '$(state)'" >&2
  return 1
}
metric() { # broker id, metric name
  curl -s "http://127.0.0.$1:$((base + 3))/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}
# Flip one byte in the middle of broker $1's first segment of c-0, which must
# be older than the last two (recovery checks those at start). A replica
# that refetched may hold few large segments (a fetch is appended whole).
flip() {
  local seg
  seg=$(ls "$STRATA_CLUSTER_DIR/broker-$1/c-0/"*.log | sed -n 1p)
  [ "$(ls "$STRATA_CLUSTER_DIR/broker-$1/c-0/"*.log | wc -l)" -ge 3 ] ||
    { bad "broker $1 has fewer than 3 segments"; return 1; }
  local size pos byte
  size=$(stat -c %s "$seg")
  pos=$((size / 2))
  byte=$(od -An -tu1 -j $pos -N1 "$seg" | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ 0x5a)))" | dd of="$seg" bs=1 seek=$pos conv=notrunc status=none
  echo "flipped byte $pos of $(basename "$seg") on broker $1 ($(ls "$STRATA_CLUSTER_DIR/broker-$1/c-0/"*.log | wc -l) segments)"
}
# wait until c-0's leader reports its high watermark at N (a new leader's
# lags until its followers fetch again; the consumer stops at the end it sees)
wait_hw() {
  local deadline=$((SECONDS + 15))
  until [ "$(BOOT=$1 cli cluster status --topic c 2>/dev/null | awk '$1 == "c" && $2 == 0 { print $7 }')" = $N ] ||
    [ $SECONDS -ge $deadline ]; do sleep 0.2; done
}
read_all() { # what, bootstrap
  wait_hw "$2"
  BOOT=$2 timeout 60 "$STRATA_BIN" --bootstrap "$2" consume -t c -p 0 --from-beginning \
    --timeout 20000 -n $N >"$dir/got" 2>"$dir/err"
  if seq 0 $((N - 1)) | cmp -s - "$dir/got"; then ok "$1: all $N records read intact"
  else bad "$1: $(wc -l <"$dir/got") of $N records read back: $(head -c 300 "$dir/err")"; fi
  if grep -qi corrupt "$dir/err"; then bad "$1: the consumer saw: $(grep -i corrupt "$dir/err" | head -1)"; fi
}

start=$SECONDS
cli topic create c -p 1 -r 3 >"$dir/out" 2>&1 || { bad "create: $(cat "$dir/out")"; exit 1; }
wait_state '^[0-9]+ [0-9],[0-9],[0-9]$' 15 || bad "c-0 has no full ISR"
seq 0 $((N - 1)) | cli produce -t c -p 0 --acks all >"$dir/out" 2>&1 &&
  ok "$N records acknowledged (acks=all)" || { bad "produce: $(tail -3 "$dir/out")"; exit 1; }
read -r leader isr <<<"$(state)"
f=$(( leader % 3 + 1 ))
echo "leader $leader, follower under test $f"

# ---- (a) a follower's old segment ----
wait_state "^$leader [0-9],[0-9],[0-9]\$" 10 || bad "(a) ISR not full before the flip"
scripts/cluster.sh kill $f >/dev/null
flip $f
# `strata cluster status` while it repairs (the mark lasts at least a second).
(for _ in $(seq 100); do cli cluster status --topic c 2>/dev/null | grep DAMAGED; sleep 0.1; done \
  >"$dir/status.damaged") &
poller=$!
STRATA_BROKER_SETS="$COMMON $SCRUB_FAST" scripts/cluster.sh restart $f >/dev/null ||
  { bad "(a) restart of broker $f"; exit 1; }
deadline=$((SECONDS + 20))
until [ "$(metric $f strata_log_corrupt_batches_total)" = 1 ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
[ "$(metric $f strata_log_corrupt_batches_total)" = 1 ] && ok "(a) follower $f's scrubber found the damaged batch" ||
  bad "(a) follower $f did not find the damage (corrupt batches: $(metric $f strata_log_corrupt_batches_total))"
wait_log $f "cutting the damaged log" 10 0 && [ "$(count $f "DAMAGED BATCH")" -ge 1 ] &&
  ok "(a) it says so loudly and cuts its log there" || bad "(a) no damage/cut in broker $f's log"
wait_log $f "replica repaired and unmarked" 20 0 && ok "(a) follower $f repaired from the leader" ||
  bad "(a) follower $f never repaired"
wait_state "^$leader [0-9],[0-9],[0-9]\$" 20 && ok "(a) follower $f back in the ISR" || bad "(a) ISR not full again"
kill $poller 2>/dev/null; wait $poller 2>/dev/null
grep -q "DAMAGED(repairing):$f" "$dir/status.damaged" &&
  ok "(a) cluster status showed it: $(head -1 "$dir/status.damaged" | tr -s ' ')" ||
  bad "(a) cluster status never showed broker $f damaged"
# Only the repaired replica left: it leads and serves everything.
for o in 1 2 3; do [ $o = $f ] || scripts/cluster.sh kill $o >/dev/null; done
wait_state "^$f $f\$" 20 && ok "(a) repaired broker $f leads alone" || bad "(a) broker $f does not lead"
read_all "(a) from the repaired replica alone" "127.0.0.$f:$base"
for o in 1 2 3; do [ $o = $f ] || STRATA_BROKER_SETS="$COMMON $SCRUB_OFF" scripts/cluster.sh restart $o >/dev/null; done
wait_state "^[0-9]+ [0-9],[0-9],[0-9]\$" 30 || bad "(a) ISR not full after the restarts"

# ---- (b) the leader's old segment ----
l=$(preferred)
cli cluster elect-preferred -t c >/dev/null 2>&1
wait_state "^$l [0-9],[0-9],[0-9]\$" 20 || bad "(b) preferred replica $l does not lead"
echo "(b) leader under test $l (the preferred replica)"
cuts=$(count $l "cutting the damaged log")
repaired=$(count $l "replica repaired and unmarked")
scripts/cluster.sh kill $l >/dev/null
wait_state "^[0-9]+ [0-9],[0-9]\$" 15 || bad "(b) no new leader after the kill"
flip $l
STRATA_BROKER_SETS="$COMMON $SCRUB_OFF" scripts/cluster.sh restart $l >/dev/null || { bad "(b) restart of $l"; exit 1; }
wait_state "^[0-9]+ [0-9],[0-9],[0-9]\$" 30 || bad "(b) $l did not rejoin the ISR"
cli cluster elect-preferred -t c >/dev/null 2>&1
wait_state "^$l [0-9],[0-9],[0-9]\$" 15 && ok "(b) broker $l (its damage unknown yet) leads again" ||
  bad "(b) broker $l does not lead again"
read_all "(b) a consumer from offset 0 while the leader is damaged" "$ALL"
[ "$(metric $l strata_log_corrupt_batches_total)" = 1 ] && ok "(b) leader $l found the damage in a read" ||
  bad "(b) leader $l did not count the damage"
read -r nl isr <<<"$(state)"
[ "$nl" != "$l" ] && ok "(b) leadership moved to $nl" || bad "(b) leadership did not move (leader $nl)"
wait_log $l "cutting the damaged log" 10 "$cuts" && wait_log $l "replica repaired and unmarked" 20 "$repaired" &&
  ok "(b) broker $l cut its log and repaired from the new leader" || bad "(b) broker $l never repaired"
wait_state "^[0-9]+ [0-9],[0-9],[0-9]\$" 20 && ok "(b) broker $l back in the ISR" || bad "(b) ISR not full again"
# ---- (c) a restart while repairing ----
read -r leader isr <<<"$(state)"
f=
for o in 1 2 3; do
  [ $o != "$leader" ] && [ "$(ls "$STRATA_CLUSTER_DIR/broker-$o/c-0/"*.log | wc -l)" -ge 3 ] && f=$o
done
if [ -z "$f" ]; then bad "(c) no follower with 3 segments"; else
  echo "(c) follower under test $f"
  found=$(count $f "DAMAGED BATCH")
  scripts/cluster.sh kill $f >/dev/null
  flip $f
  STRATA_BROKER_SETS="$COMMON $SCRUB_FAST" scripts/cluster.sh restart $f >/dev/null
  wait_log $f "DAMAGED BATCH" 20 "$found" || bad "(c) follower $f did not find the damage"
  scripts/cluster.sh kill $f >/dev/null # at once: before or while it cuts and refetches
  repaired=$(count $f "replica repaired and unmarked")
  [ "$(count $f "replica repaired and unmarked")" = 0 ] || echo "  (it repaired before the kill)"
  SLOW="log.scrub.bytes.per.second=1000 log.scrub.interval.ms=86400000"
  STRATA_BROKER_SETS="$COMMON $SLOW" scripts/cluster.sh restart $f >/dev/null
  wait_log $f "damaged before the restart" 10 0 && ok "(c) restarted, it knows where its damage was" ||
    bad "(c) the restart forgot the damage"
  wait_log $f "replica repaired and unmarked" 30 "$repaired" &&
    ok "(c) repaired and unmarked without a whole scrub pass" || bad "(c) still marked damaged"
  wait_state "^[0-9]+ [0-9],[0-9],[0-9]\$" 20 && ok "(c) follower $f back in the ISR" ||
    bad "(c) ISR not full again: $(state)"
fi
echo "took $((SECONDS - start)) s"
if [ $fails -gt 0 ]; then
  for i in 1 2 3; do echo "--- broker $i"; grep -E "DAMAGE|damage|CORRUPT|cutting|repair|ERROR" "$STRATA_CLUSTER_DIR/broker-$i.log" | tail -8; done
  echo "--- controller"; grep -iE "damage|repair" "$STRATA_CLUSTER_DIR/controller.log" | tail -8
fi
[ $fails -eq 0 ]

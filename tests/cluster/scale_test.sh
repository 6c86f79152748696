#!/bin/bash
# Issue 15's acceptance test: 3 brokers (scripts/cluster.sh) under a
# 20,000-descriptor limit host 10,000 partitions at RF 3 (10,000 replicas
# each). Every partition gets a full ISR; with no fault the leader epochs
# stay unchanged for 20 s; acks=all writes to a sample of partitions succeed;
# a partition past max.partitions.per.broker is refused with a clear error
# and nothing else changes; kill -9 of one broker moves all its leaderships
# within 3 s; its restart rejoins every ISR within 60 s; each broker's RSS
# stays under 1 GiB.
#   SCALE_PARTS (default 10000), SCALE_TEST_KEEP=1 keeps the folder.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
PARTS=${SCALE_PARTS:-10000}
LIMIT=$PARTS # max.partitions.per.broker (the default, 10000, said explicitly): RF 3 on 3 brokers fills it
ulimit -n 20000 || { echo "FAIL cannot set ulimit -n 20000"; exit 1; }
export STRATA_CLUSTER_DIR
STRATA_CLUSTER_DIR=$(mktemp -d /tmp/strata-scale.XXXXXX)
export STRATA_BUILD
# broker.session.timeout.ms 4500 (default 1500; Kafka's is 9000): on this
# shared 2-core machine a broker's loop, applying a 10,000-partition image
# while creating logs, was starved past 1.5 s at load 8+ and fenced. A
# kill -9 is still seen in broker.disconnect.grace.ms (300), not this.
export STRATA_CONTROLLER_SETS="max.partitions.per.broker=$LIMIT broker.session.timeout.ms=4500"
export STRATA_BROKER_SETS="log.level=warn"
cleanup() {
  scripts/cluster.sh down >/dev/null 2>&1
  [ "${SCALE_TEST_KEEP:-0}" = 1 ] && echo "kept $STRATA_CLUSTER_DIR" || rm -rf "$STRATA_CLUSTER_DIR"
}
trap cleanup EXIT
t_start=$SECONDS
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; } # $1 < $2

# Five ports in a row (cluster.sh: PORT .. PORT+4), none in use.
for _ in $(seq 50); do
  PORT=$(strata_free_port) || exit 1
  [ "$PORT" -le 65530 ] || continue
  used=0
  for k in 1 2 3 4; do _strata_port_used $((PORT + k)) && used=1; done
  [ $used = 0 ] && break
done
export STRATA_CLUSTER_PORT=$PORT
CLI="$STRATA_BIN -b 127.0.0.1:$PORT --timeout 60000"
S=$STRATA_CLUSTER_DIR/status

scripts/cluster.sh up 3 >"$STRATA_CLUSTER_DIR/up.log" 2>&1 ||
  { bad "cluster.sh up 3: $(tail -3 "$STRATA_CLUSTER_DIR/up.log")"; exit 1; }
pid_of() { cat "$STRATA_CLUSTER_DIR/broker-$1.pid"; }
# `strata cluster status` from broker $1 (default 1) into $S; the scale
# topic's lines only: part leader epoch replicas isr.
status() {
  $STRATA_BIN -b "127.0.0.${1:-1}:$PORT" --timeout 30000 cluster status -t scale 2>/dev/null |
    awk '$1 == "scale" { print $2, $3, $4, $5, $6 }' >"$S.new" && mv "$S.new" "$S"
}
full_isr() { awk '{ n = split($5, a, ","); if (n == 3) c++ } END { print c + 0 }' "$S"; }

t0=$(now)
$CLI topic create scale -p "$PARTS" -r 3 >"$STRATA_CLUSTER_DIR/out" 2>&1 ||
  { bad "topic create: $(cat "$STRATA_CLUSTER_DIR/out")"; exit 1; }
ok "created $PARTS partitions at RF 3 in $(since "$t0") s"

# 1. Every partition gets a full ISR.
t0=$(now)
deadline=$((SECONDS + 60))
while :; do
  status
  n=$(full_isr)
  [ "$n" = "$PARTS" ] && [ "$(wc -l <"$S")" = "$PARTS" ] && break
  [ $SECONDS -ge $deadline ] && break
  sleep 1
done
[ "$n" = "$PARTS" ] && ok "every partition has a full ISR ($(since "$t0") s after create)" ||
  bad "$n of $PARTS partitions have a full ISR after 60 s"

# 2. No fault for 20 s: leader epochs unchanged; meanwhile acks=all writes
# to a sample and one partition too many, refused.
cp "$S" "$STRATA_CLUSTER_DIR/epochs.before"
t_idle=$SECONDS
wrote=0
for i in $(seq 0 $((PARTS / 20)) $((PARTS - 1))); do
  echo "record-$i" | $CLI produce -t scale -p "$i" --acks all >"$STRATA_CLUSTER_DIR/out" 2>&1 &&
    wrote=$((wrote + 1)) || echo "  produce to $i: $(head -1 "$STRATA_CLUSTER_DIR/out")"
done
[ $wrote = 20 ] && ok "acks=all writes to 20 sampled partitions succeeded" ||
  bad "$wrote of 20 acks=all writes succeeded"
$CLI topic list >"$STRATA_CLUSTER_DIR/topics.before" 2>&1
if $CLI topic create extra -p 1 -r 3 >"$STRATA_CLUSTER_DIR/out" 2>&1; then
  bad "a topic past max.partitions.per.broker=$LIMIT was created"
elif grep -q "max.partitions.per.broker" "$STRATA_CLUSTER_DIR/out"; then
  ok "one partition more is refused: $(head -1 "$STRATA_CLUSTER_DIR/out")"
else bad "refused without naming the limit: $(head -1 "$STRATA_CLUSTER_DIR/out")"; fi
$CLI topic list >"$STRATA_CLUSTER_DIR/topics.after" 2>&1
cmp -s "$STRATA_CLUSTER_DIR/topics.before" "$STRATA_CLUSTER_DIR/topics.after" &&
  ok "the refusal changed no topic" || bad "topics changed after the refusal"
sleep $((20 - (SECONDS - t_idle) > 0 ? 20 - (SECONDS - t_idle) : 0))
status
# Compare part, leader and epoch (ISR changes are allowed to show as lag, not as elections).
if cmp -s <(cut -d' ' -f1-3 "$STRATA_CLUSTER_DIR/epochs.before") <(cut -d' ' -f1-3 "$S"); then
  ok "leaders and leader epochs unchanged over $((SECONDS - t_idle)) s with no fault"
else
  bad "$(diff <(cut -d' ' -f1-3 "$STRATA_CLUSTER_DIR/epochs.before") <(cut -d' ' -f1-3 "$S") |
    grep -c '^>') partition(s) changed leader or epoch with no fault"
fi
n=$(full_isr)
[ "$n" = "$PARTS" ] && ok "every ISR still full" || bad "$n of $PARTS ISRs full after the idle window"
for id in 1 2 3; do
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$(pid_of $id)/status")
  fds=$(ls "/proc/$(pid_of $id)/fd" | wc -l)
  cpu=$(awk '{ print $14 + $15 }' "/proc/$(pid_of $id)/stat")
  echo "  broker $id: RSS $((rss / 1024)) MiB, $fds descriptors, $cpu CPU ticks so far"
  [ "$rss" -lt 1048576 ] || bad "broker $id RSS $rss KiB >= 1 GiB"
done

# Nothing was fenced with no fault (a broker too busy to heartbeat, e.g.
# while creating the partitions, loses its leaderships).
fenced=$(grep -c "fencing it" "$STRATA_CLUSTER_DIR/controller.log")
[ "$fenced" = 0 ] && ok "no broker was fenced before the fault" ||
  bad "$fenced fencing(s) with no fault: $(grep -m1 "fencing it" "$STRATA_CLUSTER_DIR/controller.log")"

# 3. kill -9 broker 3: all its leaderships move within 3 s.
led=$(awk '$2 == 3' "$S" | wc -l)
t0=$(now)
scripts/cluster.sh kill 3 >/dev/null
moved=0
while lt "$(since "$t0")" 10; do
  status
  if [ "$(awk '$2 == 3 || $2 == -1' "$S" | wc -l)" = 0 ]; then moved=1; break; fi
done
took=$(since "$t0")
if [ $moved = 1 ] && ! lt 3 "$took"; then
  ok "kill -9 of broker 3: its $led leaderships moved within $took s"
else
  bad "kill -9 of broker 3: $(awk '$2 == 3 || $2 == -1' "$S" | wc -l) of $led leaderships not moved after $took s"
fi

# 4. Its restart rejoins every ISR within 60 s.
t0=$(now)
# (cluster.sh waits 15 s for the port; a broker reopening 10,000 partitions
# on a loaded machine may take longer: the 60 s below is the criterion.)
scripts/cluster.sh restart 3 >/dev/null 2>&1 || echo "  broker 3 not listening after 15 s yet"
deadline=$((SECONDS + 60))
while :; do
  status
  n=$(full_isr)
  [ "$n" = "$PARTS" ] && break
  [ $SECONDS -ge $deadline ] && break
  sleep 1
done
[ "$n" = "$PARTS" ] && ok "broker 3 rejoined every ISR $(since "$t0") s after its restart" ||
  bad "after broker 3's restart, $n of $PARTS ISRs full after 60 s"
for id in 1 2 3; do
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$(pid_of $id)/status")
  [ "$rss" -lt 1048576 ] && echo "  broker $id: RSS $((rss / 1024)) MiB" || bad "broker $id RSS $rss KiB"
done
echo "took $((SECONDS - t_start)) s"
[ $fails = 0 ] && echo "PASS" || { echo "FAILED: $fails"; exit 1; }

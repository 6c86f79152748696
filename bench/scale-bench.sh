#!/bin/bash
# make bench-scale (issue 15): for each partition count, a fresh 3-broker
# cluster (scripts/cluster.sh, ulimit -n 20000) with one topic per 10,000
# partitions at RF 3, and per step:
#   create   from `topic create` to every partition with a full ISR (s)
#   RSS, fds the brokers' largest resident set (MiB) and descriptor count
#   idle CPU each broker's and the controller's CPU over IDLE_S s with no
#            traffic (% of one core; the largest broker)
#   failover kill -9 of broker 3 until none of its leaderships is left (s)
#   rejoin   its restart until every ISR is full again (s)
# Prints a Markdown table (README.md's "Scale" section holds one run).
#   SCALE_COUNTS (default "1000 3000 10000"), IDLE_S (default 10),
#   STRATA_BUILD (default build).
set -u
cd "$(dirname "$0")/.."
. scripts/lib.sh
COUNTS=${SCALE_COUNTS:-"1000 3000 10000"}
IDLE_S=${IDLE_S:-10}
ulimit -n 20000 || { echo "cannot set ulimit -n 20000" >&2; exit 1; }
export STRATA_BUILD
export STRATA_BROKER_SETS="log.level=warn"
tick=$(getconf CLK_TCK)
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; } # $1 < $2
dir=
cleanup() { [ -n "$dir" ] && { STRATA_CLUSTER_DIR=$dir scripts/cluster.sh purge >/dev/null 2>&1; }; }
trap cleanup EXIT

# The partitions' lines of `cluster status`: topic part leader epoch replicas isr.
status() {
  $STRATA_BIN -b "127.0.0.1:$PORT" --timeout 30000 cluster status 2>/dev/null |
    awk '$1 ~ /^scale/ { print $1, $2, $3, $4, $5, $6 }' >"$dir/status"
}
full_isr() { awk '{ if (split($6, a, ",") == 3) c++ } END { print c + 0 }' "$dir/status"; }
wait_full() { # want timeout_s: 0 when every partition has a full ISR in time
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    status
    [ "$(full_isr)" = "$1" ] && return 0
    sleep 0.5
  done
  return 1
}
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "| partitions (RF 3, 3 brokers) | create to full ISR | broker RSS | broker fds | broker idle CPU | controller idle CPU | kill -9 failover | restart to full ISR |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for want in $COUNTS; do
  dir=$(mktemp -d /tmp/strata-scalebench.XXXXXX)
  export STRATA_CLUSTER_DIR=$dir
  for _ in $(seq 50); do
    PORT=$(strata_free_port) || exit 1
    used=0
    for k in 1 2 3 4; do _strata_port_used $((PORT + k)) && used=1; done
    [ $used = 0 ] && [ "$PORT" -le 65530 ] && break
  done
  export STRATA_CLUSTER_PORT=$PORT
  export STRATA_CONTROLLER_SETS="max.partitions.per.broker=$((want > 10000 ? want : 10000))"
  scripts/cluster.sh up 3 >"$dir/up.log" 2>&1 || { echo "cluster.sh up failed: $(tail -2 "$dir/up.log")" >&2; exit 1; }
  t0=$(now)
  left=$want
  k=0
  while [ $left -gt 0 ]; do # topics of at most 10,000 partitions (TOPIC_PARTITIONS_MAX)
    n=$((left > 10000 ? 10000 : left))
    $STRATA_BIN -b "127.0.0.1:$PORT" --timeout 60000 topic create "scale$k" -p $n -r 3 >"$dir/out" 2>&1 ||
      { echo "create: $(cat "$dir/out")" >&2; exit 1; }
    left=$((left - n))
    k=$((k + 1))
  done
  wait_full "$want" 300 && create=$(since "$t0") || create="> 300 (ISR $(full_isr)/$want)"
  sleep 3
  declare -A c0=()
  for f in "$dir"/*.pid; do c0[$f]=$(cpu_of "$(cat "$f")"); done
  sleep "$IDLE_S"
  bcpu=0 ccpu=0 rss=0 fds=0
  for f in "$dir"/*.pid; do
    pid=$(cat "$f")
    c=$(awk -v a="$(cpu_of "$pid")" -v b="${c0[$f]}" -v t="$tick" -v s="$IDLE_S" \
      'BEGIN { printf "%.1f", (a - b) * 100 / t / s }')
    if [ "$(basename "$f")" = controller.pid ]; then ccpu=$c; continue; fi
    lt "$bcpu" "$c" && bcpu=$c
    r=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
    [ "$r" -gt "$rss" ] && rss=$r
    d=$(ls "/proc/$pid/fd" | wc -l)
    [ "$d" -gt "$fds" ] && fds=$d
  done
  status
  led=$(awk '$3 == 3' "$dir/status" | wc -l)
  t0=$(now)
  scripts/cluster.sh kill 3 >/dev/null
  failover="> 30"
  while lt "$(since "$t0")" 30; do
    status
    if [ "$(awk '$3 == 3 || $3 == -1' "$dir/status" | wc -l)" = 0 ]; then failover=$(since "$t0"); break; fi
  done
  t0=$(now)
  scripts/cluster.sh restart 3 >/dev/null 2>&1
  wait_full "$want" 300 && rejoin=$(since "$t0") || rejoin="> 300 (ISR $(full_isr)/$want)"
  printf '| %s | %s s | %s MiB | %s | %s %% | %s %% | %s s (%s leaderships) | %s s |\n' \
    "$want" "$create" "$((rss / 1024))" "$fds" "$bcpu" "$ccpu" "$failover" "$led" "$rejoin"
  scripts/cluster.sh purge >/dev/null 2>&1
  dir=
done

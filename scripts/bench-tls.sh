#!/bin/bash
# What TLS costs (part of `make bench`): two local clusters (controller + 3
# brokers each, scripts/cluster.sh), one plaintext and one with TLS on every
# link (STRATA_TLS=1: SSL:// listeners, mutual TLS for replication and the
# controller link, the client over TLS), measured in the same run. On each, a
# topic with replication factor 3 and min.insync.replicas 2 and the
# idempotent acks=all producer with 1 KiB records: BENCH_TLS_ROUNDS
# throughput runs taking turns (plaintext, TLS, plaintext, ...: a machine
# whose load drifts hits both alike; the median counts), then a paced run at
# BENCH_TLS_RATE records/s with linger 0 for the latency of a lightly loaded
# cluster. Ends with one table, TLS against plaintext, and whether TLS
# throughput is within the 25% the issue asks for.
#   BENCH_TLS_RECORDS     records per throughput run (default 200000)
#   BENCH_TLS_ROUNDS      throughput runs per cluster (default 3)
#   BENCH_TLS_PARTITIONS  partitions of the topic (default 1)
#   BENCH_TLS_RATE        paced run's records/s (default 5000)
#   BENCH_TLS_PORT        first port (default 19392; the TLS cluster takes +10)
set -eu
cd "$(dirname "$0")/.."
BUILD=${STRATA_BUILD:-build}
n=${BENCH_TLS_RECORDS:-200000}
rounds=${BENCH_TLS_ROUNDS:-3}
parts=${BENCH_TLS_PARTITIONS:-1}
rate=${BENCH_TLS_RATE:-5000}
base=${BENCH_TLS_PORT:-19392}
plain_dir=$(mktemp -d /tmp/strata-benchtls-plain.XXXXXX)
tls_dir=$(mktemp -d /tmp/strata-benchtls-tls.XXXXXX)
cleanup() {
  for d in "$plain_dir" "$tls_dir"; do
    STRATA_CLUSTER_DIR=$d scripts/cluster.sh purge >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

up() { # dir port tls
  STRATA_CLUSTER_DIR=$1 STRATA_CLUSTER_PORT=$2 STRATA_TLS=$3 STRATA_BROKER_SETS="log.level=warn" \
    STRATA_BUILD=$BUILD scripts/cluster.sh up 3 >/dev/null
}
# mode (plain|tls) args...: the CLI against that cluster
cli() {
  local mode=$1
  shift
  if [ "$mode" = tls ]; then
    "$BUILD/strata" -b 127.0.0.1:$((base + 10)) --command-config "$tls_dir/tls/client.properties" "$@"
  else
    "$BUILD/strata" -b 127.0.0.1:$base "$@"
  fi
}
# "produce: N records of S B in T s: R records/s, ..." / "latency: p50 A ms, p99 B ms, ..."
rps() { sed -n 's/.*s: \([0-9]*\) records\/s.*/\1/p'; }
p99() { sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p'; }
# CPU seconds used so far by a cluster's processes (utime + stime), and by
# this shell's finished children (the CLI): what a run costs, whatever else
# the machine is doing.
cluster_cpu() {
  local f t=0
  for f in "$1"/*.pid; do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$(cat "$f")/stat" 2>/dev/null || echo 0)))
  done
  awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f\n", t / hz }'
}
children_cpu() { # $1: a file `times` wrote (in this shell, not a subshell: it has the children)
  tail -1 "$1" | awk '{ for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%.2f\n", s }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "== TLS vs plaintext: 2 clusters of controller + 3 brokers, RF 3, acks=all, 1 KiB records, $(nproc) cores, $(date -u +%FT%TZ)"
up "$plain_dir" "$base" 0
up "$tls_dir" $((base + 10)) 1
for mode in plain tls; do
  cli $mode topic create tls-bench --partitions "$parts" --replication-factor 3 \
    --config min.insync.replicas=2 >/dev/null
done
echo "(TLS: strata --command-config $tls_dir/tls/client.properties ...)"
declare -A got
for r in $(seq 1 "$rounds"); do
  for mode in plain tls; do
    echo "-- round $r, $mode: \$ strata bench produce --topic tls-bench --record-size 1024 --records $n --acks all"
    d=$plain_dir
    [ $mode = tls ] && d=$tls_dir
    times >"$plain_dir/times"
    c0=$(cluster_cpu "$d") k0=$(children_cpu "$plain_dir/times")
    cli $mode bench produce --topic tls-bench --record-size 1024 --records "$n" --acks all >"$plain_dir/out"
    times >"$plain_dir/times"
    c1=$(cluster_cpu "$d") k1=$(children_cpu "$plain_dir/times")
    cat "$plain_dir/out"
    cpu=$(awk -v a="$c0" -v b="$c1" -v c="$k0" -v e="$k1" -v n="$n" 'BEGIN { printf "%.3f", (b - a + e - c) * 100000 / n }')
    echo "cpu: $cpu s per 100k records (brokers, controller and client)"
    got[$mode.rps]+="$(rps <"$plain_dir/out") "
    got[$mode.p99]+="$(p99 <"$plain_dir/out") "
    got[$mode.cpu]+="$cpu "
  done
done
for mode in plain tls; do
  echo "-- $mode, paced: \$ strata bench produce --topic tls-bench --record-size 1024 --duration 10 --rate $rate --acks all --linger-ms 0"
  cli $mode bench produce --topic tls-bench --record-size 1024 --duration 10 --rate "$rate" --acks all \
    --linger-ms 0 | tee "$plain_dir/out"
  got[$mode.lat]=$(p99 <"$plain_dir/out")
done
echo
med() { tr ' ' '\n' <<<"${got[$1]}" | grep . | median; }
awk -v pr="$(med plain.rps)" -v tr="$(med tls.rps)" -v pp="$(med plain.p99)" -v tp="$(med tls.p99)" \
  -v pl="${got[plain.lat]}" -v tl="${got[tls.lat]}" -v rate="$rate" -v rounds="$rounds" \
  -v pc="$(med plain.cpu)" -v tc="$(med tls.cpu)" 'BEGIN {
  printf "%-40s %12s %12s %10s\n", "RF 3 acks=all 1 KiB (median of " rounds ")", "plaintext", "TLS", "TLS/plain"
  printf "%-40s %12d %12d %9.0f%%\n", "throughput (records/s)", pr, tr, 100 * tr / pr
  printf "%-40s %12.1f %12.1f %9.0f%%\n", "p99 at full load (ms)", pp, tp, 100 * tp / pp
  printf "%-40s %12.2f %12.2f %9.0f%%\n", "p99 at " rate " records/s (ms)", pl, tl, 100 * tl / pl
  printf "%-40s %12.3f %12.3f %9.0f%%\n", "CPU s per 100k records (all processes)", pc, tc, 100 * tc / pc
  printf "target, TLS throughput within 25%% of plaintext: %s (TLS %.0f%% %s)\n",
    (tr >= 0.75 * pr) ? "met" : "NOT met", 100 * ((pr > tr) ? pr - tr : tr - pr) / pr, (pr > tr) ? "lower" : "higher"
}'

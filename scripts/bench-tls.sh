#!/bin/bash
# What TLS costs (part of `make bench`): the same local cluster (controller
# + 3 brokers, scripts/cluster.sh) twice in one run, first plaintext, then
# with TLS on every link (STRATA_TLS=1: SSL:// listeners, mutual TLS for
# replication and the controller, the client over TLS). Each time: a topic
# with replication factor 3 and min.insync.replicas 2, the idempotent
# acks=all producer with 1 KiB records (throughput and its p99), then a
# paced run at BENCH_TLS_RATE records/s (default 5000, linger 0) for the
# latency an unloaded cluster gives. Ends with one table: TLS against
# plaintext, and whether throughput is within the 25% the issue asks for.
#   BENCH_TLS_RECORDS   records per throughput run (default 300000)
#   BENCH_TLS_PARTITIONS  partitions of the topic (default 1)
#   BENCH_TLS_PORT      first port (default 19392; the TLS cluster takes +10)
set -eu
cd "$(dirname "$0")/.."
BUILD=${STRATA_BUILD:-build}
n=${BENCH_TLS_RECORDS:-300000}
parts=${BENCH_TLS_PARTITIONS:-1}
rate=${BENCH_TLS_RATE:-5000}
base=${BENCH_TLS_PORT:-19392}
dirs=()
cleanup() {
  for d in "${dirs[@]+"${dirs[@]}"}"; do
    STRATA_CLUSTER_DIR=$d scripts/cluster.sh purge >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
out=$(mktemp /tmp/strata-benchtls.XXXXXX)
rm -f "$out"

# mode (plain|tls), port: prints the bench output and keeps the figures in
# $out.<mode>
run_mode() {
  local mode=$1 port=$2 dir
  dir=$(mktemp -d /tmp/strata-benchtls-$mode.XXXXXX)
  dirs+=("$dir")
  local tls=0 cc=()
  [ "$mode" = tls ] && tls=1 && cc=(--command-config "$dir/tls/client.properties")
  STRATA_CLUSTER_DIR=$dir STRATA_CLUSTER_PORT=$port STRATA_TLS=$tls \
    STRATA_BROKER_SETS="log.level=warn" STRATA_BUILD=$BUILD scripts/cluster.sh up 3 >/dev/null
  export STRATA_BOOTSTRAP=127.0.0.1:$port
  "$BUILD/strata" "${cc[@]+"${cc[@]}"}" topic create tls-bench --partitions "$parts" \
    --replication-factor 3 --config min.insync.replicas=2 >/dev/null
  echo "-- $mode: throughput, $n records of 1 KiB, acks=all, $parts partition(s)"
  echo "\$ strata ${cc[*]+"${cc[*]}"} bench produce --topic tls-bench --record-size 1024 --records $n --acks all"
  "$BUILD/strata" "${cc[@]+"${cc[@]}"}" bench produce --topic tls-bench --record-size 1024 \
    --records "$n" --acks all | tee "$out.$mode.tput"
  echo "-- $mode: latency at $rate records/s (1 KiB, acks=all, linger 0)"
  echo "\$ strata ${cc[*]+"${cc[*]}"} bench produce --topic tls-bench --record-size 1024 --duration 10 --rate $rate --acks all --linger-ms 0"
  "$BUILD/strata" "${cc[@]+"${cc[@]}"}" bench produce --topic tls-bench --record-size 1024 \
    --duration 10 --rate "$rate" --acks all --linger-ms 0 | tee "$out.$mode.lat"
  STRATA_CLUSTER_DIR=$dir scripts/cluster.sh purge >/dev/null
  echo
}

echo "== TLS vs plaintext: controller + 3 brokers, RF 3, acks=all, 1 KiB records, $(nproc) cores, $(date -u +%FT%TZ)"
run_mode plain "$base"
run_mode tls $((base + 10))
# "produce: N records of S B in T s: R records/s, M MB/s ..." and
# "latency: p50 A ms, p99 B ms, ..."
rps() { sed -n 's/.*s: \([0-9]*\) records\/s.*/\1/p' "$1"; }
p99() { sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' "$1"; }
pr=$(rps "$out.plain.tput") tr=$(rps "$out.tls.tput")
awk -v pr="$pr" -v tr="$tr" -v pp="$(p99 "$out.plain.tput")" -v tp="$(p99 "$out.tls.tput")" \
  -v pl="$(p99 "$out.plain.lat")" -v tl="$(p99 "$out.tls.lat")" -v rate="$rate" 'BEGIN {
  printf "%-34s %14s %14s %10s\n", "RF 3 acks=all 1 KiB", "plaintext", "TLS", "TLS/plain"
  printf "%-34s %14d %14d %9.0f%%\n", "throughput (records/s)", pr, tr, 100 * tr / pr
  printf "%-34s %14.2f %14.2f %9.0f%%\n", "p99 at full load (ms)", pp, tp, 100 * tp / pp
  printf "%-34s %14.2f %14.2f %9.0f%%\n", "p99 at " rate "/s (ms)", pl, tl, 100 * tl / pl
  printf "target: TLS throughput within 25%% of plaintext: %s (%.0f%% lower)\n",
    tr >= 0.75 * pr ? "met" : "NOT met", 100 * (pr - tr) / pr
}'
rm -f "$out".*

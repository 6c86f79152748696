#!/bin/bash
# `make bench-cluster`: a local controller + 3 brokers (scripts/cluster.sh),
# topic with replication factor 3 and min.insync.replicas 2, the idempotent
# acks=all producer (the default) with 1 KiB records on 1 partition (one
# stream, like NATS's) and on 3 (a leader on each broker), 100 B records,
# paced latency runs at light load (1000/s and 5000/s, no linger), then
# (BENCH_PEERS=1) NATS JetStream R3 in the same run.
#   BENCH_RECORDS_1K / BENCH_RECORDS_100   records per run (default 500000 / 2000000)
set -eu
cd "$(dirname "$0")/.."
BUILD=${STRATA_BUILD:-build}
export STRATA_CLUSTER_DIR=$(mktemp -d /tmp/strata-benchcluster.XXXXXX)
export STRATA_CLUSTER_PORT=${BENCH_PORT:-19292}
export STRATA_BROKER_SETS="log.level=warn"
export STRATA_BOOTSTRAP=127.0.0.1:$STRATA_CLUSTER_PORT
. scripts/lib.sh
trap 'strata_bench_memory_restore; scripts/cluster.sh purge >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT TERM
# recycled page-cache pages for every step (scripts/lib.sh says why)
strata_bench_memory_hold
strata_bench_memory_warm "$STRATA_CLUSTER_DIR" 1024
n1k=${BENCH_RECORDS_1K:-500000}
n100=${BENCH_RECORDS_100:-2000000}
run() { echo "\$ strata $*"; "$BUILD/strata" "$@"; echo; }

echo "== Strata bench: controller + 3 brokers, RF 3, min.insync.replicas 2, $(nproc) cores, $(date -u +%FT%TZ)"
scripts/cluster.sh up 3
# light-load latency first: later, the throughput runs' writeback would skew it
"$BUILD/strata" topic create rf3-latency --partitions 1 --replication-factor 3 \
  --config min.insync.replicas=2 >/dev/null
echo "-- latency at light load (1 KiB, acks=all, linger 0)"
run bench produce --topic rf3-latency --record-size 1024 --duration 10 --rate 1000 --acks all --linger-ms 0
run bench produce --topic rf3-latency --record-size 1024 --duration 10 --rate 5000 --acks all --linger-ms 0
for spec in "1024 1 $n1k" "1024 3 $n1k" "100 3 $n100"; do
  set -- $spec
  t=rf3-$1-p$2
  echo "-- $1 B records, $2 partition(s)"
  "$BUILD/strata" topic create "$t" --partitions "$2" --replication-factor 3 \
    --config min.insync.replicas=2 >/dev/null
  run bench produce --topic "$t" --record-size "$1" --records "$3" --acks all
  run bench consume --topic "$t" --records "$3"
done
scripts/cluster.sh purge >/dev/null
if [ "${BENCH_PEERS:-0}" = 1 ]; then
  peers=../shared/peers/nats-jetstream-bench.sh
  if [ -f "$peers" ]; then echo "== NATS JetStream R3, same machine, same run"; bash "$peers"; else echo "no $peers here"; fi
fi

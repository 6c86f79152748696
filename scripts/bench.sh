#!/bin/bash
# `make bench`: one broker, one partition, loopback. Produce throughput for
# 100 B and 1 KiB records (acks=1; no compression and zstd), consume
# throughput, and produce latency at a fixed moderate rate; then failover
# time on a local 3-broker cluster (kill -9 the leader FAILOVER_ROUNDS times,
# default 20; FAILOVER_ROUNDS=0 skips it, and the group timings with it),
# and consumer-group takeover and settle times (GROUP_ROUNDS, default 5);
# and what TLS costs: RF 3 acks=all 1 KiB on a 3-broker cluster, plaintext
# then TLS on every link, same run (scripts/bench-tls.sh; BENCH_TLS=0 skips).
#   BENCH_RECORDS_100  records per 100 B run (default 5000000)
#   BENCH_RECORDS_1K   records per 1 KiB run (default 1000000)
#   BENCH_FLUSH        broker log.flush.policy (default always)
#   BENCH_PORT         broker port (default 19192)
#   BENCH_PEERS=1      also run ../shared/peers/redis-streams-bench.sh
#   BENCH_FSYNC=0      skips scripts/bench-fsync.sh: the disk measured in the
#                      same run, 1 KiB flush-always throughput and RF 3 acks=all
#                      latency against it (and Redis, BENCH_PEERS=1), ratios
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh
port=${BENCH_PORT:-19192}
flush=${BENCH_FLUSH:-always}
n100=${BENCH_RECORDS_100:-5000000}
n1k=${BENCH_RECORDS_1K:-1000000}
dir=$(mktemp -d /tmp/strata-bench.XXXXXX)
trap 'strata_bench_memory_restore; strata_stop_all; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
# recycled page-cache pages for every step (scripts/lib.sh says why)
strata_bench_memory_hold
strata_bench_memory_warm "$dir" 1024
export STRATA_BOOTSTRAP=127.0.0.1:$port

run() { echo "\$ strata $*"; "$STRATA_BIN" "$@"; echo; }

echo "== Strata bench: 1 broker, log.flush.policy=$flush, $(nproc) cores, $(date -u +%FT%TZ)"
strata_start_broker "$dir" "$port" --set log.flush.policy="$flush" --set log.level=warn
i=0
for spec in "100 none $n100" "100 zstd $n100" "1024 none $n1k" "1024 zstd $n1k"; do
  set -- $spec
  i=$((i + 1))
  t=bench-$i
  "$STRATA_BIN" topic create "$t" --partitions 1 >/dev/null
  run bench produce --topic "$t" --record-size "$1" --records "$3" --acks 1 --compression "$2"
  if [ "$1" = 1024 ] && [ "$2" = none ]; then
    run bench consume --topic "$t" --records "$3"
  fi
  if [ "$1" = 100 ] && [ "$2" = none ]; then
    run bench consume --topic "$t" --records "$3"
  fi
done
"$STRATA_BIN" topic create bench-latency --partitions 1 >/dev/null
run bench produce --topic bench-latency --record-size 1024 --duration 10 --rate 20000 --acks 1
strata_stop_all
if [ "${BENCH_TLS:-1}" != 0 ]; then
  STRATA_BUILD=$STRATA_BUILD scripts/bench-tls.sh
  echo
fi
if [ "${FAILOVER_ROUNDS:-20}" != 0 ]; then
  echo "== Failover: controller + 3 brokers, RF 3, acks=all"
  "$STRATA_BUILD/bench/failover_bench" "${FAILOVER_ROUNDS:-20}"
  echo
  echo "== Consumer groups: controller + 3 brokers"
  "$STRATA_BUILD/bench/group_bench" "${GROUP_ROUNDS:-5}"
  echo
fi
if [ "${BENCH_FSYNC:-1}" != 0 ]; then
  # runs Redis Streams too with BENCH_PEERS=1, for its ratio
  STRATA_BUILD=$STRATA_BUILD scripts/bench-fsync.sh
elif [ "${BENCH_PEERS:-0}" = 1 ]; then
  peers=../shared/peers/redis-streams-bench.sh
  if [ -f "$peers" ]; then echo "== Redis Streams, same machine, same run"; bash "$peers"; else echo "no $peers here"; fi
fi

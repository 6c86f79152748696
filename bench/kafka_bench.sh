#!/bin/bash
# `make bench-kafka`: Apache Kafka 4.x (scripts/kafka-peer.sh) and Strata on
# this machine in one run, driven by the same client, Kafka's own
# ProducerPerformance and ConsumerPerformance (Java, from the peer's jars):
#   K1f  Kafka, 1 node, log.flush.interval.messages=1 (an fsync per append)
#   K1   Kafka, 1 node, defaults (no fsync on the produce path)
#   K3   Kafka, 3 nodes, topics RF 3, min.insync.replicas 2
#   S1   Strata, 1 broker, log.flush.policy=always, its Kafka listener
#   S3   Strata, controller + 3 brokers (scripts/cluster.sh), RF 3, min ISR 2
# Each system runs alone (the others stopped): 100 B and 1 KiB records,
# acks=1 and acks=all, --throughput -1, then a consume of the acks=1 topic.
# For S1 and S3 the same runs also go through libstrata on the native
# listener (`strata bench`), and each Kafka-client figure is divided by its
# native one (the Kafka listener's target: >= 90 %). Then one side-by-side
# table, and the Strata/Kafka ratios.
# librdkafka against libstrata, like for like: the same record size, acks,
# linger (5 ms) and durability (the same broker, log.flush.policy=always on
# S1); each client batches as it does by default (librdkafka: batch.size
# 1000000, batch.num.messages 10000, max.in.flight 1000000; libstrata:
# 256 KiB batches, up to 8 MiB a request, 5 requests in flight); reads ask
# for 8 MiB a partition on both. "acks=all" is without idempotence on both
# sides (librdkafka's default; strata bench --no-idempotence); "all idem" is
# idempotent on both. librdkafka 2.0.2's idempotent producer sends one
# ProduceRequest per partition at a time (it holds the count of MESSAGES in
# flight to the limit of 5 requests, rdkafka_broker.c
# rd_kafka_toppar_producer_serve) and busy-polls meanwhile (a whole core:
# ~200k poll() calls for 200k records), so "all idem" measures that client
# against any broker: the "idem/plain" rows show the same loss on Kafka.
# Against Strata too (debug=protocol: every "Sent ProduceRequest" of an
# idempotent run waits for its "Received ProduceResponse", ~1 MB each, rtt
# 4-8 ms on S1; with plain acks=all they overlap): nothing in Strata's
# answers holds it, the limit is `max_requests = RD_MIN(max_requests,
# RD_KAFKA_IDEMP_MAX_INFLIGHT - inflight)` with inflight the partition's
# rktp_msgs_inflight, a count of messages. Larger idempotent requests do not
# help it (batch.size/message.max.bytes 4 MiB: 0.84-0.90 M records/s against
# 1.49-1.74 M at 1 MB): each is built, then sent, then answered, in turn.
# librdkafka is driven at its cheapest documented use, as libstrata is: values
# produced without RD_KAFKA_MSG_F_COPY (copied once, into the request, as
# libstrata copies once into its batch) and handed over with
# rd_kafka_produce_batch, 1024 at a time (its bulk API: one partition lock
# and one read of its two clocks per call instead of per record; 100 B
# acks=1 on S1: 2.1-2.2 M records/s against 1.84-1.97 M one by one,
# RDKAFKA_BENCH_API=produce), its own default queue of 100000 records (a
# 1000000 one only let its heap grow with waiting records: 0.07 s more
# system CPU per million 100 B records, and 4x the latency), records read
# with rd_kafka_consume_callback (its fastest consume API), latency
# quantiles by selection, not a sort (the sort cost 0.1 s of client CPU per
# million). Reads are timed from the first record to the last on both
# sides (strata bench consume and rdkafka_bench consume): both ask 8 MiB a
# partition and get it (debug=fetch: 76224 records of 100 B per Fetch, one
# Fetch in flight, as libstrata's consumer), so what separates them at
# 100 B is librdkafka's cost per record read (an op allocated, queued and
# freed per record: ~0.18 s of client CPU per million against libstrata's
# ~0.07; the bench, start-up included: 0.20-0.23 against 0.11).
# Tried and slower for librdkafka here, so not used: libstrata's own shape
# (max.in.flight 5 with batch.size 262144, or with 8 MiB batches and
# message.max.bytes 8 MiB: fewer, larger requests) and, when reading,
# queued.min.messages 10M (its prefetch never paused at 8 MiB fetches anyway:
# debug=fetch shows no "queued.min.messages exceeded").
# The Java tools' CPU is measured too, net of one JVM start-up (a
# one-record ProducerPerformance run); and a "CPU-bound ratio" table: native
# CPU per record (client + daemons) over the Kafka path's, which on a shared
# 2-core machine bounds the throughput ratio and does not swing with the load
# other users put on it.
#   BENCH_RECORDS_100 / BENCH_RECORDS_1K   records per Java run (default 200000 / 60000)
#   BENCH_C_SCALE       librdkafka and libstrata runs send this many times more (default 5:
#                       about a second each; shorter runs are mostly start-up and noise)
#   BENCH_C_RUNS        on Strata, the librdkafka and libstrata runs are repeated
#                       (in turns) this many times, and the tables show the median (default 5)
#   BENCH_KAFKA_PROPS   producer props for every ProducerPerformance run
#                       (default "batch.size=262144 linger.ms=5", strata bench's defaults)
#   BENCH_SYSTEMS       which of "K1f K1 K3 S1 S3" to run (default all)
#   BENCH_PORT          first of the 30 ports used (default: a free run of them)
#   BENCH_RDKAFKA=0     skip the librdkafka producer (build/bench/rdkafka_bench) runs
#   BENCH_JAVA=0        on Strata (S1, S3), skip the Java tools' runs (librdkafka and libstrata only)
#   BENCH_PIN=1         a dedicated client machine, emulated: the daemons (Strata's
#                       controller and brokers, Kafka's JVMs) run on CPU 0 and every
#                       client (librdkafka, libstrata's strata bench, the Java tools,
#                       the CLI) on CPU 1 (taskset), for the native and the Kafka runs
#                       alike; a last table then shows per cell the Kafka/native ratio,
#                       each side's CPU and schedstat run+wait in % of its core, and
#                       which side set the pace (a cell whose client core is saturated
#                       measures the client, not the broker). Default 0: everything
#                       shares both cores.
# Needs java and mvn (scripts/deps.sh); the jars come from Maven Central once,
# into build/kafka-peer. Prints each tool's own result line as it goes.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh
N100=${BENCH_RECORDS_100:-200000}
N1K=${BENCH_RECORDS_1K:-60000}
PROPS=${BENCH_KAFKA_PROPS:-batch.size=262144 linger.ms=5}
SYSTEMS=${BENCH_SYSTEMS:-K1f K1 K3 S1 S3}
BASE=${BENCH_PORT:-}
if [ -z "$BASE" ]; then # 30 free ports in a row (other benches and peers may share the machine)
  for _ in $(seq 50); do
    BASE=$(strata_free_port)
    [ "$BASE" -le 65500 ] || continue
    ok=1
    for i in $(seq 0 29); do _strata_port_used $((BASE + i)) && { ok=0; break; }; done
    [ $ok = 1 ] && break
  done
fi
KP=scripts/kafka-peer.sh
RDK=$STRATA_BUILD/bench/rdkafka_bench
strata_need "make bench-kafka" java mvn
PIN=${BENCH_PIN:-0}
if [ "$PIN" = 1 ]; then
  strata_need "BENCH_PIN=1 make bench-kafka" taskset
  [ "$(nproc)" -ge 2 ] || { echo "BENCH_PIN=1 needs 2 CPUs (this machine has $(nproc))" >&2; exit 2; }
fi
ALLCPUS=$(taskset -pc $$ 2>/dev/null | sed 's/.*: //')
# client CMD...: a client run, on CPU 1 when BENCH_PIN=1. Then it also
# adds to $W/csched the nanoseconds its threads ran or waited to run (the
# last of /proc/PID/task/*/schedstat's first two fields, read every 50 ms
# while it runs; near its wall time, the client always had work and was the
# limit, even when other users of the machine took part of its core) and
# its own CPU seconds (timed apart: this sampling loop's CPU is not the
# client's).
client() {
  [ "$PIN" = 1 ] || { "$@"; return; }
  local pid rc=0 t a b tid sum=0 cpid=
  local -A last=()
  ( TIMEFORMAT='%3U %3S'; { time taskset -c 1 "$@" 2>&3; } 3>&2 2>"$W/ctime.$BASHPID" ) &
  pid=$!
  while [ -d /proc/$pid ]; do
    [ -n "$cpid" ] || read -r cpid _ 2>/dev/null </proc/$pid/task/$pid/children || true
    [ -n "$cpid" ] || { sleep 0.01; continue; }
    for t in /proc/$cpid/task/*/schedstat; do
      read -r a b _ 2>/dev/null <"$t" || continue # (a thread may end meanwhile)
      tid=${t%/schedstat}; tid=${tid##*/}
      last[$tid]=$((a + b))
    done
    sleep 0.05
  done
  wait $pid || rc=$?
  for t in "${last[@]}"; do sum=$((sum + t)); done
  echo "$sum $(awk 'NF == 2 { print $1 + $2 }' "$W/ctime.$pid" 2>/dev/null)" >>"$W/csched"
  rm -f "$W/ctime.$pid"
  return $rc
}
# daemon_sched: nanoseconds the daemons' threads have run or waited to run.
daemon_sched() {
  local p f=()
  for p in $DAEMON_PIDS; do f+=(/proc/$p/task/*/schedstat); done
  [ ${#f[@]} -gt 0 ] || { echo 0; return; }
  cat "${f[@]}" 2>/dev/null | awk '{ t += $1 + $2 } END { printf "%.0f\n", t }'
}
# daemons CMD...: start daemons, on CPU 0 when BENCH_PIN=1 (this shell is
# pinned while CMD runs, so that every process and thread it starts inherits
# CPU 0, also when CMD is a shell function that forks them).
daemons() {
  local rc=0
  [ "$PIN" = 1 ] || { "$@"; return; }
  taskset -pc 0 $BASHPID >/dev/null
  "$@" || rc=$?
  taskset -pc "$ALLCPUS" $BASHPID >/dev/null
  return $rc
}
# show_pins PID...: the CPUs each daemon's threads may run on.
show_pins() {
  [ "$PIN" = 1 ] || return 0
  local p
  for p in "$@"; do
    echo "   pid $p: threads on CPU $(taskset -apc "$p" 2>/dev/null | sed 's/.*: //' | sort -u | tr '\n' ' ')"
  done
}
W=$(mktemp -d /tmp/strata-kbench.XXXXXX)
RES=$W/results
: >"$RES"
: >"$RES.cpu"
cleanup() {
  local d
  strata_bench_memory_restore
  for d in "$W"/k*; do [ -d "$d" ] && "$KP" down "$d"; done
  strata_stop_all
  [ -d "$W/s3" ] && STRATA_CLUSTER_DIR=$W/s3/cluster STRATA_CLUSTER_PORT=$((BASE + 20)) \
    scripts/cluster.sh purge >/dev/null 2>&1
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# recycled page-cache pages for Kafka and Strata alike (scripts/lib.sh says why)
strata_bench_memory_hold
strata_bench_memory_warm "$W" 1024
t0=$SECONDS
"$KP" fetch
kver=$(ls "${KAFKA_PEER_LIBS:-build/kafka-peer/libs-${KAFKA_VERSION:-4.0.2}}" | sed -n 's/^kafka_2.13-\(.*\)\.jar$/\1/p')

records_for() { if [ "$1" = 100 ]; then echo "$N100"; else echo "$N1K"; fi; }
# the C clients' runs (librdkafka, libstrata) are this many times longer:
# at their rates the Java tools' counts last a fraction of a second
SCALE=${BENCH_C_SCALE:-5}
C_RUNS=${BENCH_C_RUNS:-5}

# kafka_topics BOOT RF TOPIC...: create them (1 partition; RF 3: min ISR 2)
# in one CreateTopics request through librdkafka, or else with Kafka's
# TopicCommand, a JVM start each.
kafka_topics() {
  local boot=$1 rf=$2 cfg=() t
  shift 2
  if [ -x "$RDK" ]; then client "$RDK" create "$boot" "$rf" "$@"; return; fi
  [ "$rf" = 3 ] && cfg=(--config min.insync.replicas=2)
  for t in "$@"; do
    client "$KP" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$boot" --create --topic "$t" \
      --partitions 1 --replication-factor "$rf" "${cfg[@]+"${cfg[@]}"}" >/dev/null
  done
}

# strata_topic TOPIC RF: create it with the strata CLI (native listener).
strata_topic() {
  local cfg=()
  [ "$2" = 3 ] && cfg=(--config min.insync.replicas=2)
  client "$STRATA_BIN" topic create "$1" --partitions 1 --replication-factor "$2" \
    "${cfg[@]+"${cfg[@]}"}" >/dev/null
}

# A result line: SYSTEM CASE records/s MB/s avg p50 p99 (ms; "-" unknown).
record() { echo "$*" >>"$RES"; }

# pp SYS BOOT TOPIC SIZE ACKS N: ProducerPerformance (the Java producer is
# idempotent by default with acks=all: that case counts as "all idem"); its last line reads
# "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max
# latency, P ms 50th, Q ms 95th, S ms 99th, T ms 99.9th."
pp() {
  local out line c="p$4a$5"
  [ "$5" = all ] && c="p$4a$5idem"
  out=$(client "$KP" run org.apache.kafka.tools.ProducerPerformance --topic "$3" --num-records "$6" \
    --record-size "$4" --throughput -1 --producer-props bootstrap.servers="$2" acks="$5" $PROPS 2>&1) ||
    { echo "$out" | tail -n 5; record "$1" "$c" - - - - -; return 0; }
  line=$(echo "$out" | grep '99.9th' | tail -n 1)
  echo "  $1 java   $4 B acks=$5: $line"
  echo "$line" | awk -v s="$1" -v c="$c" -F'[ ,()]+' '{
    for (i = 1; i <= NF; i++) {
      if ($(i+1) == "records/sec") r = $i; if ($(i+1) == "MB/sec") m = $i
      if ($(i+1) == "ms" && $(i+2) == "avg") a = $i; if ($(i+2) == "50th") p50 = $i
      if ($(i+2) == "99th") p99 = $i }
    print s, c, r, m, a, p50, p99 }' >>"$RES"
}

# cp_ SYS BOOT TOPIC SIZE N: ConsumerPerformance, from the earliest offset in
# a new group; the rates are its fetch.* columns (without the group join, as
# strata bench consume has none): start, end, MB, MB/s, n, n/s, rebalance ms,
# fetch ms, fetch MB/s, fetch n/s.
cp_() {
  local out line
  out=$(client "$KP" run org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$2" --topic "$3" \
    --messages "$5" --group "kbench-$RANDOM$RANDOM" --hide-header --timeout 20000 2>&1) ||
    { echo "$out" | tail -n 5; record "$1" "c$4" - - - - -; return 0; }
  line=$(echo "$out" | grep -E '^[0-9]{4}-' | tail -n 1)
  echo "  $1 java   $4 B consume: $line"
  echo "$line" | awk -v s="$1" -v c="c$4" -v want="$5" -F', *' '{
    if ($5 + 0 < want + 0) { print s, c, "-", "-", "-", "-", "-"; exit }
    printf "%s %s %.0f %.2f - - -\n", s, c, $10, $9 }' >>"$RES"
}

# sb SYS TOPIC SIZE ACKS N [idem]: strata bench produce on the native listener
# ($STRATA_BOOTSTRAP), with acks=all idempotent only when "idem" is given:
# "produce: N records of S B in T s: R records/s, M MB/s ..." then
# "latency: p50 X ms, p99 Y ms, ...".
sb() {
  local out c="p$3a$4" flags=()
  if [ "${6:-}" = idem ]; then c="p$3a$4idem"; elif [ "$4" = all ]; then flags=(--no-idempotence); fi
  out=$(client "$STRATA_BIN" bench produce --topic "$2" --record-size "$3" --records "$5" --acks "$4" \
    "${flags[@]+"${flags[@]}"}" 2>&1) ||
    { echo "$out" | tail -n 5; record "$1" "$c" - - - - -; return 0; }
  echo "$out" | sed "s/^/  $1 native $3 B acks=$4${6:+ $6}: /"
  echo "$out" | awk -v s="$1" -v c="$c" '
    /^produce:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^records\/s/) r = $i; if ($(i+1) ~ /^MB\/s/) m = $i } }
    /^latency:/ { for (i = 1; i <= NF; i++) { if ($i == "p50") p50 = $(i+1); if ($i == "p99") p99 = $(i+1) } }
    END { gsub(/,/, "", p50); gsub(/,/, "", p99); print s, c, r, m, "-", p50, p99 }' >>"$RES"
}

# sc SYS TOPIC SIZE N: strata bench consume, native.
sc() {
  local out
  out=$(client "$STRATA_BIN" bench consume --topic "$2" --records "$4" 2>&1) ||
    { echo "$out" | tail -n 5; record "$1" "c$3" - - - - -; return 0; }
  echo "  $1 native $3 B consume: $out"
  echo "$out" | awk -v s="$1" -v c="c$3" '/^consume:/ {
    for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^records\/s/) r = $i; if ($(i+1) ~ /^MB\/s/) m = $i }
    print s, c, r, m, "-", "-", "-" }' >>"$RES"
}

# rk SYS BOOT TOPIC SIZE ACKS N [idem]: the librdkafka producer
# (bench/rdkafka_bench.c), idempotent only when "idem" is given.
rk() {
  local out c="p$4a$5" mode=plain
  [ "${BENCH_RDKAFKA:-1}" = 1 ] && [ -x "$RDK" ] || return 0
  [ "${7:-}" = idem ] && { c="p$4a$5idem"; mode=idempotent; }
  out=$(client "$RDK" "$2" "$3" "$4" "$5" "$6" $mode 2>&1) ||
    { echo "$out" | tail -n 5; record "$1" "$c" - - - - -; return 0; }
  echo "  $1 rdkafka $4 B acks=$5${7:+ $7}: $out"
  echo "$out" | awk -v s="$1" -v c="$c" '/^RESULT/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print s, c, v["rps"], v["mbps"], v["avg_ms"], v["p50_ms"], v["p99_ms"] }' >>"$RES"
}

# rkc SYS BOOT TOPIC SIZE N: the librdkafka consumer, partition 0, no group.
rkc() {
  local out
  [ "${BENCH_RDKAFKA:-1}" = 1 ] && [ -x "$RDK" ] || return 0
  out=$(client "$RDK" consume "$2" "$3" "$5" 2>&1) ||
    { echo "$out" | tail -n 5; record "$1" "c$4" - - - - -; return 0; }
  echo "  $1 rdkafka $4 B consume: $out"
  echo "$out" | awk -v s="$1" -v c="c$4" '/^RESULT/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print s, c, v["rps"], v["mbps"], "-", "-", "-" }' >>"$RES"
}

# warm BOOT: a few idempotent acks=all records before the timed runs, so
# that no system's first run pays for its producer-id machinery starting (on
# Kafka, __transaction_state is made at the first InitProducerId).
warm() {
  [ -x "$RDK" ] && client "$RDK" "$1" warmup 100 all 1000 >/dev/null 2>&1 || true
}

# kafka_cases SYS BOOT RF: the produce/consume matrix through
# the Java tools (and librdkafka), topics made with TopicCommand.
kafka_cases() {
  local sys=$1 boot=$2 rf=$3 size acks n
  kafka_topics "$boot" "$rf" t100-1 t100-all t1024-1 t1024-all r100-1 r100-all r1024-1 r1024-all \
    r100-idem r1024-idem warmup
  warm "$boot"
  for size in 100 1024; do
    n=$(records_for $size)
    for acks in 1 all; do
      pp "$sys" "$boot" "t$size-$acks" $size $acks "$n"
    done
    cp_ "$sys" "$boot" "t$size-1" $size "$n"
    if [ "${BENCH_RDKAFKA:-1}" = 1 ] && [ -x "$RDK" ]; then
      for acks in 1 all; do
        rk "$sys.rdk" "$boot" "r$size-$acks" $size $acks $((n * SCALE))
      done
      rk "$sys.rdk" "$boot" "r$size-idem" $size all $((n * SCALE)) idem
      rkc "$sys.rdk" "$boot" "r$size-1" $size $((n * SCALE))
    fi
  done
}

# CPU: the client's (user + system, from bash's time) and the Strata
# daemons' ($DAEMON_PIDS, from /proc) during each librdkafka and libstrata
# run, so that what the Kafka listener costs the broker is seen apart from
# what each client costs (both share this machine's cores).
DAEMON_PIDS=
TICK=$(getconf CLK_TCK)
daemon_ticks() {
  local t=0 p v
  for p in $DAEMON_PIDS; do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) || v=0
    t=$((t + ${v:-0}))
  done
  echo $t
}
# cores_busy: "busy total" ticks of CPU 0 and of CPU 1 (every process on
# the machine, ours and others'), from /proc/stat.
cores_busy() {
  awk '$1 == "cpu0" || $1 == "cpu1" { b = $2 + $3 + $4 + $7 + $8 + $9; printf "%d %d ", b, b + $5 + $6 }' /proc/stat
}
# cpu SYS CASE N FUNCTION ARGS...: run it, and note its CPU in $RES.cpu as
# "SYS CASE client_s daemons_s N wall_s cpu0_busy cpu1_busy client_want_s
# daemons_want_s": cpuN_busy is the share of that core busy with anything
# (other users of the machine too) while it ran; *_want_s (BENCH_PIN=1) the
# seconds their threads ran or waited to run (schedstat): a side whose want
# is near the wall time always had work and was the limit.
cpu() {
  local sys=$1 c=$2 n=$3 b0 b1 tf k0 k1 s0 s1 cw ct=""
  shift 3
  tf=$W/time.$$
  : >"$W/csched"
  k0=$(cores_busy)
  s0=$(daemon_sched)
  b0=$(daemon_ticks)
  { TIMEFORMAT='%3R %3U %3S'; time "$@"; } 2>"$tf"
  b1=$(daemon_ticks)
  s1=$(daemon_sched)
  k1=$(cores_busy)
  cw=$(awk '{ t += $1 } END { printf "%.0f", t }' "$W/csched")
  [ "$PIN" = 1 ] && ct=$(awk '{ t += $2 } END { printf "%.3f", t }' "$W/csched")
  awk -v s="$sys" -v c="$c" -v n="$n" -v d="$(((b1 - b0) * 1000 / TICK))" -v k0="$k0" -v k1="$k1" \
    -v cw="$cw" -v dw="$((s1 > s0 ? s1 - s0 : 0))" -v ct="$ct" \
    'NF == 3 { split(k0, x, " "); split(k1, y, " "); cl = ct != "" ? ct : $2 + $3
      u0 = y[2] - x[2] > 0 ? (y[1] - x[1]) / (y[2] - x[2]) : 0
      u1 = y[4] - x[4] > 0 ? (y[3] - x[3]) / (y[4] - x[4]) : 0
      printf "%s %s %.3f %.3f %d %.3f %.3f %.3f %.3f %.3f\n", s, c, cl, d / 1000, n, $1, u0, u1, cw / 1e9, dw / 1e9 }' "$tf" >>"$RES.cpu"
}

# jvm_start SYS BOOT: the CPU of a ProducerPerformance run of one record
# (JVM start, class loading, JIT, connecting), which every Java row's
# client CPU includes once: noted as "SYS jvm" in $RES.cpu.
jvm_start() {
  local tf=$W/time.$$
  { TIMEFORMAT='%3U %3S'; time client "$KP" run org.apache.kafka.tools.ProducerPerformance --topic warmup \
      --num-records 1 --record-size 100 --throughput -1 --producer-props bootstrap.servers="$2" \
      >/dev/null 2>&1; } 2>"$tf"
  awk -v s="$1" 'NF == 2 { printf "%s jvm %.3f 0 1000000\n", s, $1 + $2 }' "$tf" >>"$RES.cpu"
}

# settle RF TOPIC: after an acks=1 run on RF 3 the followers are still
# copying its records; the next timed run would share the brokers with
# that catch-up. One acks=all record waits until every in-sync replica
# has the topic's end (its high watermark covers it).
settle() {
  [ "$1" = 3 ] || return 0
  client "$STRATA_BIN" bench produce --topic "$2" --record-size 10 --records 1 --acks all >/dev/null 2>&1 || true
}

# strata_cases SYS KBOOT RF: the same through Strata's Kafka listener (when
# KBOOT is not empty; topics made natively), then libstrata natively.
strata_cases() {
  local sys=$1 kboot=$2 rf=$3 size acks n r c rdk=0
  [ -n "$kboot" ] && [ "${BENCH_RDKAFKA:-1}" = 1 ] && [ -x "$RDK" ] && rdk=1
  if [ -n "$kboot" ]; then
    strata_topic warmup "$rf"
    warm "$kboot"
    [ "${BENCH_JAVA:-1}" = 1 ] && jvm_start "$sys" "$kboot"
  fi
  for size in 100 1024; do
    n=$(records_for $size)
    if [ -n "$kboot" ] && [ "${BENCH_JAVA:-1}" = 1 ]; then
      for acks in 1 all; do
        strata_topic "t$size-$acks" "$rf"
        c="p${size}a$acks"
        [ $acks = all ] && c="p${size}aallidem" # the Java producer's default: idempotent
        cpu "$sys" "$c" "$n" pp "$sys" "$kboot" "t$size-$acks" $size $acks "$n"
        settle "$rf" "t$size-$acks"
      done
      cpu "$sys" "c$size" "$n" cp_ "$sys" "$kboot" "t$size-1" $size "$n"
    fi
    # librdkafka on the Kafka listener and libstrata on the native one, in
    # turns, C_RUNS times: each lasts well under a second, so one run of
    # each is mostly noise on a shared machine; the tables take medians.
    # The order alternates (librdkafka first in odd rounds, libstrata first
    # in even ones): the machine drifts within a series (e.g. the 1 KiB
    # rounds on S3 ran at 0.1 then 0.9 M records/s as the page cache wrote
    # back the 100 B rounds' gigabytes), and a fixed order would hand that
    # drift to whichever side always runs second.
    for r in $(seq 1 "$C_RUNS"); do
      local order="rdk nat" side
      [ $((r % 2)) = 1 ] || order="nat rdk"
      for acks in 1 all idem; do
        for side in $order; do c_produce "$side" "$acks"; done
      done
      # untimed: the round's produce runs left ~1.8 GB dirty on S3 (6 runs
      # x 3 replicas); reads of ~0.15 s that share the core with the
      # kernel writing it back measured the writeback, not the fetch path
      sync
      for side in $order; do c_consume "$side"; done
      c_clear
    done
  done
}

# c_clear: delete this round's topics and sync, untimed, so that the next
# round starts with no dirty pages left: a round writes ~1.8 GB on S3 (6
# runs x 100-300 MB x 3 replicas), and the kernel writing that back during
# the next rounds had them run at 0.02-0.2 M records/s where the same run
# did 0.9 M later on (which side it hit depended on when it ran).
c_clear() {
  local s a
  for s in r n; do
    for a in 1 all idem; do
      client "$STRATA_BIN" topic delete "$s$size-$a-$r" >/dev/null 2>&1 || true
    done
  done
  sync
}

# c_produce rdk|nat 1|all|idem: one C-client produce run of strata_cases
# (its locals sys, kboot, rf, size, n, r, rdk), on a topic of its own.
c_produce() {
  local side=$1 a=$2 idem="" t
  [ "$a" = idem ] && { a=all; idem=idem; }
  if [ "$side" = rdk ]; then
    [ $rdk = 1 ] || return 0
    t=r$size-$2-$r
    strata_topic "$t" "$rf"
    cpu "$sys.rdk" "p${size}a$a$idem" $((n * SCALE)) \
      rk "$sys.rdk" "$kboot" "$t" $size $a $((n * SCALE)) $idem
  else
    t=n$size-$2-$r
    strata_topic "$t" "$rf"
    cpu "$sys.nat" "p${size}a$a$idem" $((n * SCALE)) \
      sb "$sys.nat" "$t" $size $a $((n * SCALE)) $idem
  fi
  [ -n "$idem" ] || settle "$rf" "$t"
}

# c_consume rdk|nat: read back this round's acks=1 topic of that side.
c_consume() {
  if [ "$1" = rdk ]; then
    [ $rdk = 1 ] || return 0
    cpu "$sys.rdk" "c$size" $((n * SCALE)) rkc "$sys.rdk" "$kboot" "r$size-1-$r" $size $((n * SCALE))
  else
    cpu "$sys.nat" "c$size" $((n * SCALE)) sc "$sys.nat" "n$size-1-$r" $size $((n * SCALE))
  fi
}

# Does this strata-broker know the kafka.listeners setting?
# (Its settings table is in the binary as plain strings.)
strata_has_kafka() { grep -qa 'kafka\.listeners' "$STRATA_BROKER_BIN"; }

echo "== Strata vs Apache Kafka $kver: $(nproc) cores, $(date -u +%FT%TZ)"
if [ "$PIN" = 1 ]; then echo "   BENCH_PIN=1: daemons on CPU 0, clients on CPU 1 (taskset)"
else echo "   clients and daemons share all $(nproc) cores (BENCH_PIN=1: daemons on CPU 0, clients on CPU 1)"; fi
echo "   records per run: $N100 x 100 B, $N1K x 1 KiB; producer props: $PROPS; no compression"
for sys in $SYSTEMS; do
  echo "   [$((SECONDS - t0)) s] load average $(cut -d' ' -f1-3 /proc/loadavg)"
  case $sys in
  K1f | K1 | K3)
    d=$W/$(echo "$sys" | tr 'A-Z' 'a-z')
    case $sys in
    K1f) echo "-- K1f: Kafka, 1 node, log.flush.interval.messages=1"
      boot=$(daemons "$KP" up1 "$d" $((BASE + 10)) --flush-every-message); rf=1 ;;
    K1) echo "-- K1: Kafka, 1 node, defaults"
      boot=$(daemons "$KP" up1 "$d" $((BASE + 10))); rf=1 ;;
    K3) echo "-- K3: Kafka, 3 nodes, RF 3, min.insync.replicas 2"
      boot=$(daemons "$KP" up3 "$d" $((BASE + 10))); rf=3 ;;
    esac
    kafka_cases "$sys" "$boot" $rf
    "$KP" down "$d"
    rm -rf "$d"
    ;;
  S1)
    echo "-- S1: Strata, 1 broker, log.flush.policy=always"
    kboot="" sets=()
    if strata_has_kafka; then
      kboot=127.0.0.1:$((BASE + 2))
      sets=(--set kafka.listeners=$kboot --set kafka.advertised.listeners=$kboot)
    else
      echo "   (this strata-broker has no Kafka listener yet: libstrata runs only)"
    fi
    daemons strata_start_broker "$W/s1" $BASE --set log.flush.policy=always --set log.level=warn \
      "${sets[@]+"${sets[@]}"}"
    DAEMON_PIDS=$STRATA_BROKER_PID
    show_pins $DAEMON_PIDS
    [ -z "$kboot" ] || strata_wait_port 127.0.0.1 $((BASE + 2)) 10
    export STRATA_BOOTSTRAP=127.0.0.1:$BASE
    strata_cases S1 "$kboot" 1
    strata_stop_all
    rm -rf "$W/s1"
    ;;
  S3)
    echo "-- S3: Strata, controller + 3 brokers, RF 3, min.insync.replicas 2"
    p=$((BASE + 20))
    mkdir -p "$W/s3"
    STRATA_CLUSTER_DIR=$W/s3/cluster STRATA_CLUSTER_PORT=$p STRATA_BROKER_SETS="log.level=warn" \
      daemons scripts/cluster.sh up 3 >"$W/s3/up.out" 2>&1 || { cat "$W/s3/up.out"; exit 1; }
    kboot=""
    if strata_has_kafka; then
      kboot=127.0.0.1:$((p + 2)),127.0.0.2:$((p + 2)),127.0.0.3:$((p + 2))
      strata_wait_port 127.0.0.1 $((p + 2)) 10
    else
      echo "   (this strata-broker has no Kafka listener yet: libstrata runs only)"
    fi
    export STRATA_BOOTSTRAP=127.0.0.1:$p
    DAEMON_PIDS=$(cat "$W"/s3/cluster/*.pid 2>/dev/null)
    show_pins $DAEMON_PIDS
    strata_cases S3 "$kboot" 3
    STRATA_CLUSTER_DIR=$W/s3/cluster STRATA_CLUSTER_PORT=$p scripts/cluster.sh purge >/dev/null 2>&1
    rm -rf "$W/s3"
    ;;
  *) echo "unknown system $sys (K1f K1 K3 S1 S3)" >&2; exit 2 ;;
  esac
done

# One line per system and case: of repeated runs, the one with the median
# records/s (a failed run, "-", counts as the lowest).
median_rows() {
  awk '{ k = $1 " " $2; n[k]++; row[k, n[k]] = $0; v[k, n[k]] = ($3 == "-" ? -1 : $3 + 0)
         if (n[k] == 1) order[++nk] = k }
    END { for (i = 1; i <= nk; i++) { k = order[i]; m = n[k]
        for (a = 1; a <= m; a++) idx[a] = a
        for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++)
          if (v[k, idx[b]] < v[k, idx[a]]) { t = idx[a]; idx[a] = idx[b]; idx[b] = t }
        print row[k, idx[int((m + 1) / 2)]] } }' "$RES"
}
median_rows >"$RES.med"

echo
echo "== Results (records/s, MB/s, latency ms: avg/p50/p99 of the producer's own measure; consume: fetch rate)"
echo "   java = ProducerPerformance/ConsumerPerformance; .rdk = librdkafka; .nat = libstrata on the native listener"
echo "   (S1/S3 .rdk and .nat: the median of $C_RUNS runs)"
awk '
  function row(s, c) { k = s SUBSEP c; if (!(k in r)) return
    printf "%-10s %-14s %12s %9s %9s %9s %9s\n", s, name[c], r[k], m[k], a[k], p50[k], p99[k] }
  { k = $1 SUBSEP $2; r[k] = $3; m[k] = $4; a[k] = $5; p50[k] = $6; p99[k] = $7
    if (!($1 in seen)) { seen[$1] = 1; sys[++ns] = $1 } }
  END {
    name["p100a1"] = "100B acks=1"; name["p100aall"] = "100B acks=all"; name["c100"] = "100B consume"
    name["p1024a1"] = "1KiB acks=1"; name["p1024aall"] = "1KiB acks=all"; name["c1024"] = "1KiB consume"
    name["p100aallidem"] = "100B all idem"; name["p1024aallidem"] = "1KiB all idem"
    nc = split("p100a1 p100aall p100aallidem c100 p1024a1 p1024aall p1024aallidem c1024", cs, " ")
    printf "%-10s %-14s %12s %9s %9s %9s %9s\n", "system", "case", "records/s", "MB/s", "avg", "p50", "p99"
    for (j = 1; j <= nc; j++) for (i = 1; i <= ns; i++) row(sys[i], cs[j])
  }' "$RES.med"
echo
echo "== Ratios of records/s: Strata/Kafka with the same client; Strata's Kafka listener/its native one"
awk '
  function q(x, y) { return (x == "" || y == "" || x == "-" || y == "-" || y + 0 == 0) ? "-" : sprintf("%.2f", x / y) }
  # every run ($RES), in order: the k-th librdkafka run of a case and the
  # k-th libstrata one ran side by side in round k
  FNR == NR { k = $1 SUBSEP $2; pn[k]++; pv[k, pn[k]] = $3; next }
  { r[$1, $2] = $3 }
  # paired(S, C): the median over rounds of librdkafka/libstrata, round by round
  function paired(s, c,   a, b, i, j, m, t, v) { a = s ".rdk" SUBSEP c; b = s ".nat" SUBSEP c; m = 0
    for (i = 1; i <= pn[a] && i <= pn[b]; i++) {
      t = q(pv[a, i], pv[b, i]); v[++m] = t == "-" ? -1 : t + 0 }
    if (!m) return "-"
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return v[int((m + 1) / 2)] < 0 ? "-" : sprintf("%.2f", v[int((m + 1) / 2)]) }
  END {
    n = split("p100a1 p100aall p100aallidem c100 p1024a1 p1024aall p1024aallidem c1024", cs, " ")
    printf "%-26s %9s %9s %9s %9s %9s %9s %9s %9s\n", "ratio", "100B a=1", "100B all", "100B idem", "100B read", "1KiB a=1", "1KiB all", "1KiB idem", "1KiB read"
    m = split("S1/K1f java:S1:K1f|S1/K1 java:S1:K1|S3/K3 java:S3:K3|S1/K1f librdkafka:S1.rdk:K1f.rdk|S1/K1 librdkafka:S1.rdk:K1.rdk|S3/K3 librdkafka:S3.rdk:K3.rdk|S1 java/native:S1:S1.nat|S1 librdkafka/native:S1.rdk:S1.nat|S3 java/native:S3:S3.nat|S3 librdkafka/native:S3.rdk:S3.nat", rows, "|")
    for (i = 1; i <= m; i++) { split(rows[i], f, ":")
      line = sprintf("%-26s", f[1]); any = 0
      for (j = 1; j <= n; j++) { v = q(r[f[2], cs[j]], r[f[3], cs[j]]); if (v != "-") any = 1; line = line sprintf(" %9s", v) }
      if (any) print line
      if (f[1] ~ /librdkafka\/native/) { s = substr(f[1], 1, 2); line = sprintf("%-26s", s " paired rounds"); any = 0
        for (j = 1; j <= n; j++) { v = paired(s, cs[j]); if (v != "-") any = 1; line = line sprintf(" %9s", v) }
        if (any) print line } }
    # the target of issue 13, cell by cell: librdkafka on the Kafka listener
    # at >= 90 % of libstrata on the native one
    split("100B acks=1|100B acks=all|100B all idem|100B read|1KiB acks=1|1KiB acks=all|1KiB all idem|1KiB read", lbl, "|")
    for (i = 1; i <= 2; i++) { s = i == 1 ? "S1" : "S3"; line = ""; below = 0; cells = 0
      for (j = 1; j <= n; j++) { v = q(r[s ".rdk", cs[j]], r[s ".nat", cs[j]]); if (v == "-") continue
        cells++; if (v + 0 < 0.90) { below++; line = line (below > 1 ? "," : "") " " lbl[j] " " v } }
      if (cells) verdict[++nv] = sprintf("%s librdkafka/native >= 0.90 (ratio of medians): %d of %d cells%s", s, cells - below, cells,
        below ? "; below:" line : "")
      line = ""; below = 0; cells = 0
      for (j = 1; j <= n; j++) { v = paired(s, cs[j]); if (v == "-") continue
        cells++; if (v + 0 < 0.90) { below++; line = line (below > 1 ? "," : "") " " lbl[j] " " v } }
      if (cells) verdict[++nv] = sprintf("%s librdkafka/native >= 0.90 (paired rounds): %d of %d cells%s", s, cells - below, cells,
        below ? "; below:" line : "") }
    # the idempotent producer against the plain one, acks=all, same client:
    # librdkafka loses as much on Kafka as on Strata (one request in flight)
    ns = split("K1f K1 K3 S1 S3", sy, " ")
    for (i = 1; i <= ns; i++) { s = sy[i] ".rdk"
      a = q(r[s, "p100aallidem"], r[s, "p100aall"]); b = q(r[s, "p1024aallidem"], r[s, "p1024aall"])
      if (a != "-" || b != "-")
        printf "%-26s %9s %9s %9s %9s %9s %9s %9s %9s\n", sy[i] " librdkafka idem/plain", "", "", a, "", "", "", b, "" }
    if (nv) { print ""; print "== Target (issue 13): the Kafka listener with librdkafka at >= 0.90 of native with libstrata"
      print "   (ratio of medians: the rows above; paired rounds: the median of each round\47s librdkafka/libstrata ratio," 
      print "   the two runs of a round side by side, the order alternating by round)" }
    for (i = 1; i <= nv; i++) print "   " verdict[i]
  }' "$RES" "$RES.med"
if [ -s "$RES.cpu" ]; then
  echo
  echo "== CPU seconds per million records (medians): the client, and the Strata daemons"
  echo "   (broker[s] + controller) while it ran; the Kafka listener's cost is the daemons'"
  echo "   column of .rdk against .nat, the clients' their own (one 2-core machine for all);"
  echo "   a Java row's client CPU is net of its JVM start-up (the \"JVM start-up\" row, seconds per run),"
  echo "   shown only for runs at least twice as costly (e.g. BENCH_RECORDS_100=1000000 BENCH_RECORDS_1K=200000);"
  echo "   \"client %\" and \"daemons %\": their CPU over the run's wall time, in % of one core"
  awk '$2 == "jvm" { jvm[$1] = $3 }
    { cl = $3  # a Java row less its JVM start-up (jvm_start); left out when the
      # start-up is half of it or more (the difference would be mostly noise)
      if ($1 !~ /[.]/ && $2 != "jvm" && ($1 in jvm)) { if (cl < 2 * jvm[$1]) next; cl -= jvm[$1] }
      k = $1 " " $2; n[k]++; c[k, n[k]] = cl * 1e6 / $5; d[k, n[k]] = $4 * 1e6 / $5
      pc[k, n[k]] = $6 > 0 ? 100 * $3 / $6 : 0; pd[k, n[k]] = $6 > 0 ? 100 * $4 / $6 : 0
         if (n[k] == 1) order[++nk] = k }
    function med(a, k, m,   i, j, t, v) { for (i = 1; i <= m; i++) v[i] = a[k, i]
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      return v[int((m + 1) / 2)] }
    END { name["p100a1"] = "100B acks=1"; name["p100aall"] = "100B acks=all"
      name["p100aallidem"] = "100B all idem"; name["c100"] = "100B consume"
      name["p1024a1"] = "1KiB acks=1"; name["p1024aall"] = "1KiB acks=all"
      name["p1024aallidem"] = "1KiB all idem"; name["c1024"] = "1KiB consume"
      name["jvm"] = "JVM start-up"
      printf "%-10s %-14s %10s %10s %10s %10s\n", "system", "case", "client", "daemons", "client %", "daemons %"
      for (i = 1; i <= nk; i++) { k = order[i]; split(k, f, " ")
        mc[k] = med(c, k, n[k]); md[k] = med(d, k, n[k])
        printf "%-10s %-14s %10.2f %10.2f", f[1], name[f[2]], mc[k], md[k]
        if (f[2] == "jvm") printf "\n"
        else printf " %10.0f %10.0f\n", med(pc, k, n[k]), med(pd, k, n[k]) }
      # CPU-bound ratio: on a machine whose cores the client and the daemons
      # share (this one), the records/s a path can reach at most is the cores
      # over its CPU per record; their quotient does not move with the load
      # other users put on the machine, as throughput does
      print ""
      print "== CPU-bound ratio: (client + daemons CPU per record), native / Kafka path"
      print "   (>= 0.90: the Kafka path costs the machine at most 1/0.9 of native per record)"
      nc = split("p100a1 p100aall p100aallidem c100 p1024a1 p1024aall p1024aallidem c1024", cs, " ")
      printf "%-26s", "ratio"
      for (j = 1; j <= nc; j++) printf " %13s", name[cs[j]]
      printf "\n"
      ns = split("S1.rdk:S1.nat:librdkafka|S3.rdk:S3.nat:librdkafka|S1:S1.nat:java|S3:S3.nat:java", rs, "|")
      for (i = 1; i <= ns; i++) { split(rs[i], f, ":"); sys = substr(f[1], 1, 2)
        line = sprintf("%-26s", sys " " f[3] "/native"); any = 0
        for (j = 1; j <= nc; j++) { a = f[1] " " cs[j]; b = f[2] " " cs[j]; v = "-"
          if ((a in mc) && (b in mc) && mc[a] + md[a] > 0) {
            v = sprintf("%.2f", (mc[b] + md[b]) / (mc[a] + md[a])); any = 1 }
          line = line sprintf(" %13s", v) }
        if (any) print line } }' "$RES.cpu"
fi
# With BENCH_PIN=1, per cell: the Kafka path's records/s over native's
# (medians), and what bounded each side: a client at >= 85 % of its core
# measures the client, not the broker; a broker core at >= 85 % the broker.
if [ "$PIN" = 1 ] && [ -s "$RES.cpu" ]; then
  echo
  echo "== Pinned (BENCH_PIN=1): daemons on CPU 0, clients on CPU 1; librdkafka on the Kafka listener vs libstrata native"
  echo "   ratio: records/s, Kafka path (K) / native (N), medians of $C_RUNS runs in turns; per side, % of one core"
  echo "   over the run's wall time: cl the client's CPU, clW the time its threads ran or waited to run (schedstat),"
  echo "   c1 CPU 1 busy with anything (other users of the machine too); br, brW, c0 the same for the daemons, CPU 0;"
  echo "   limit: client (clW or cl >= 90: the client always had work, the cell measures the client, not the broker),"
  echo "   broker (brW >= 90), both, waits (neither: fsync, replication, round trips);"
  echo "   brCPU: the daemons' CPU per record, native / Kafka path (>= 0.90: the Kafka listener costs the broker"
  echo "   at most 1/0.9 of native)"
  awk 'FNR == NR { r[$1, $2] = $3; next }
    $2 != "jvm" && $6 > 0 { k = $1 " " $2; n[k]++
      cl[k, n[k]] = 100 * $3 / $6; br[k, n[k]] = 100 * $4 / $6; c0[k, n[k]] = 100 * $7; c1[k, n[k]] = 100 * $8
      dp[k, n[k]] = $4 / $5; cwn[k, n[k]] = 100 * $9 / $6; dwn[k, n[k]] = 100 * $10 / $6 }
    function med(a, k, m,   i, j, t, v) { for (i = 1; i <= m; i++) v[i] = a[k, i]
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      return v[int((m + 1) / 2)] }
    function side(k,   a, b, x, y, l, cw, dw) { if (!(k in n)) return sprintf("%4s %4s %4s %4s %4s %4s %-6s", "-", "-", "-", "-", "-", "-", "-")
      a = med(cl, k, n[k]); b = med(br, k, n[k]); y = med(c1, k, n[k]); x = med(c0, k, n[k])
      cw = med(cwn, k, n[k]); dw = med(dwn, k, n[k])
      # the sampled run+wait misses up to 50 ms at each end of the client
      # run: a client whose CPU alone is 90 % of its core is saturated too
      if (a > cw) cw = a
      l = cw >= 90 ? (dw >= 90 ? "both" : "client") : dw >= 90 ? "broker" : "waits"
      return sprintf("%4.0f %4.0f %4.0f %4.0f %4.0f %4.0f %-6s", a, cw, y, b, dw, x, l) }
    END { name["p100a1"] = "100B acks=1"; name["p100aall"] = "100B acks=all"
      name["p100aallidem"] = "100B all idem"; name["c100"] = "100B consume"
      name["p1024a1"] = "1KiB acks=1"; name["p1024aall"] = "1KiB acks=all"
      name["p1024aallidem"] = "1KiB all idem"; name["c1024"] = "1KiB consume"
      nc = split("p100a1 p100aall p100aallidem c100 p1024a1 p1024aall p1024aallidem c1024", cs, " ")
      printf "%-6s %-14s %5s | %-4s %4s %4s %4s %4s %4s %-6s | %-4s %4s %4s %4s %4s %4s %-6s | %5s\n", "system", "case", "ratio",
        "K cl", "clW", "c1", "br", "brW", "c0", "limit", "N cl", "clW", "c1", "br", "brW", "c0", "limit", "brCPU"
      for (i = 1; i <= 2; i++) { s = i == 1 ? "S1" : "S3"
        for (j = 1; j <= nc; j++) { c = cs[j]; ka = s ".rdk " c; na = s ".nat " c
          if (!(ka in n) && !(na in n)) continue
          x = r[s ".rdk", c]; y = r[s ".nat", c]
          q = (x == "" || y == "" || x == "-" || y == "-" || y + 0 == 0) ? "-" : sprintf("%.2f", x / y)
          bq = (ka in n) && (na in n) && med(dp, ka, n[ka]) > 0 ? sprintf("%.2f", med(dp, na, n[na]) / med(dp, ka, n[ka])) : "-"
          printf "%-6s %-14s %5s | %s | %s | %5s\n", s, name[c], q, side(ka), side(na), bq } } }' "$RES.med" "$RES.cpu"
fi
echo "   load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(whole run: $((SECONDS - t0)) s)"

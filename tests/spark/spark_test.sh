#!/bin/bash
# The seed's IoT pipeline for real: a Spark Structured Streaming job
# (tests/spark/job, Java, local[2]) reads the demo's sensor readings from
# topic iot_sensor_data through a 3-broker cluster's Kafka listeners,
# averages them per site over 2 s event-time windows behind a 5 s
# watermark, and writes each closed window to iot_site_averages through
# Spark's Kafka sink, with a checkpoint. Meanwhile: a paced, deterministic
# stream of 3000 readings over 30 s (Sensors produce), a kill -9 of the
# leader of iot_sensor_data/0 and its restart, and a stop and restart of
# the query from its checkpoint. Then every window must be on the output
# topic with the count, sums and averages of its readings, identical when
# written twice. Once for each Spark line in SPARK_LINES (default
# "spark35 spark4": Spark 3.5.4, kafka-clients 3.4.1; Spark 4.0.0, 3.9.0).
# KAFKA_TEST_TARGET=apache runs it against Apache Kafka instead.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
. tests/kafka/lib.sh
strata_need "the Spark test" java mvn
dir=$(mktemp -d /tmp/strata-sparktest.XXXXXX)
bg=()
stop_bg() {
  local p
  for p in "${bg[@]+"${bg[@]}"}"; do kill "$p" 2>/dev/null; done
  for p in "${bg[@]+"${bg[@]}"}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  bg=()
}
# KEEP=1 keeps the folder (logs, checkpoints) for a look after a failure.
trap 'stop_bg; kafka_target_down; [ "${KEEP:-0}" = 1 ] && echo "kept $dir" || rm -rf "$dir"' EXIT
IN=iot_sensor_data
OUT=iot_site_averages
N=3000
SECS=30
WINDOW_MS=2000
# What spark-submit adds on Java 17 (Spark's JavaModuleOptions).
OPENS="-XX:+IgnoreUnrecognizedVMOptions -Djdk.reflect.useDirectMethodHandle=false"
for m in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util \
  java.util.concurrent java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs \
  sun.security.action sun.util.calendar; do
  OPENS="$OPENS --add-opens=java.base/$m=ALL-UNNAMED"
done

kafka_build_line() { # line
  local log=$dir/mvn-$1.log
  (cd tests/spark/job && mvn -q -o -B package -P"$1" >"$log" 2>&1) && return 0
  echo "offline build ($1) failed; fetching its dependencies from Maven Central"
  (cd tests/spark/job && mvn -q -B package -P"$1" >"$log" 2>&1) && return 0
  bad "mvn package -P$1: $(tail -n 20 "$log")"
  return 1
}

# Lines of FILE matching ^ok/^FAIL, FAILs counted.
verdicts() {
  grep -E '^(ok|FAIL) |^     ' "$1"
  fails=$((fails + $(grep -c '^FAIL ' "$1")))
}

acked() { awk '/^ACKED /{n=$2} END{print n+0}' "$1" 2>/dev/null || echo 0; }

wait_acked() { # file count seconds
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(acked "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# start_job D NAME: the query in the background, its pid in job_pid.
start_job() {
  local d=$1 name=$2
  rm -f "$d/stop-$name"
  SPARK_LOCAL_IP=127.0.0.1 java -Xmx1g $OPENS -Dspark.local.dir="$d/spark-tmp" -Djava.io.tmpdir="$d/spark-tmp" -cp "$cp" \
    strata.spark.IotAverages "$KAFKA_BOOTSTRAP" $IN $OUT "$d/checkpoint" "$d/stop-$name" >"$d/$name.out" 2>&1 &
  job_pid=$!
  bg+=("$job_pid")
  if kafka_wait_line "$d/$name.out" '^QUERY STARTED' 120; then
    ok "$line $name: $(grep -m1 '^QUERY STARTED' "$d/$name.out" | cut -d' ' -f4-)"
  else
    bad "$line $name: the query did not start: $(tail -n 30 "$d/$name.out")"
    return 1
  fi
}

# stop_job D NAME: ask it to stop; it must exit 0.
stop_job() {
  local d=$1 name=$2 rc
  touch "$d/stop-$name"
  for _ in $(seq 600); do kill -0 "$job_pid" 2>/dev/null || break; sleep 0.1; done
  wait "$job_pid"
  rc=$?
  if [ $rc -eq 0 ] && grep -q '^QUERY STOPPED' "$d/$name.out"; then
    ok "$line $name stopped cleanly: $(awk '/^PROGRESS/{b++; r+=$5; l+=$9; w=$7}
      END{printf "%d batches, %d rows read, %d dropped as late, watermark %s", b, r, l, w}' "$d/$name.out")"
  else
    bad "$line $name exited $rc: $(grep -E 'QUERY|Exception|ERROR' "$d/$name.out" | head -n 20)"
  fi
}

run_line() {
  local line=$1 d=$dir/$1 leader prod_pid rc first t0=$SECONDS fails0=$fails
  echo "== $line"
  mkdir -p "$d/spark-tmp"
  kafka_build_line "$line" || return
  cp="tests/spark/job/target/$line/spark-iot-job.jar:$(cat "tests/spark/job/target/$line/classpath.txt")"
  kafka_target_up "$d" 3 || { bad "$line: cluster did not start"; return; }
  java -Xmx256m -cp "$cp" strata.spark.Sensors topics "$KAFKA_BOOTSTRAP" $IN $OUT >"$d/topics.out" 2>&1
  verdicts "$d/topics.out"
  leader=$(awk '$1 == "LEADER" && $2 == 0 {print $3}' "$d/topics.out")
  [ -n "$leader" ] || { bad "$line: no leader for $IN/0"; kafka_target_down; return; }

  start_job "$d" job1 || { kafka_target_down; return; }
  # The first (empty) batch warms the JVM up: many seconds on 2 cores.
  kafka_wait_line "$d/job1.out" '^PROGRESS batch 0 ' 120 || bad "$line job1: no first batch: $(tail -n 20 "$d/job1.out")"
  java -Xmx256m -cp "$cp" strata.spark.Sensors produce "$KAFKA_BOOTSTRAP" $IN $N $SECS >"$d/produce.out" 2>&1 &
  prod_pid=$!
  bg+=("$prod_pid")
  if wait_acked "$d/produce.out" $((N * 3 / 10)) 60; then
    kafka_target_kill "$leader" >/dev/null && ok "$line: killed broker $leader (leader of $IN/0) after $(acked "$d/produce.out") readings" ||
      bad "$line: kill -9 broker $leader"
    sleep 3
    kafka_target_restart "$leader" >/dev/null && ok "$line: broker $leader started again" || bad "$line: restart broker $leader"
  else
    bad "$line: the producer did not reach $((N * 3 / 10)) acknowledged readings: $(tail -n 20 "$d/produce.out")"
  fi
  wait_acked "$d/produce.out" $((N * 6 / 10)) 90 || bad "$line: the producer stalled: $(tail -n 5 "$d/produce.out")"
  # Stop the query mid-stream once it has written the first two windows of
  # each site: a batch ran with its watermark past their end, T0 + 4 s.
  for _ in $(seq 600); do
    [[ "$(awk '/^PROGRESS/{w=$7} END{print w}' "$d/job1.out")" > "2027-01-01T00:00:04" ]] && break
    sleep 0.1
  done
  [[ "$(awk '/^PROGRESS/{w=$7} END{print w}' "$d/job1.out")" > "2027-01-01T00:00:04" ]] &&
    ok "$line job1 wrote windows before the stop" || bad "$line job1's watermark never passed the first windows"
  [ "$(acked "$d/produce.out")" -lt $N ] || bad "$line: the stream had ended before job1 was stopped"
  stop_job "$d" job1
  start_job "$d" job2 || { kafka_target_down; return; }
  wait "$prod_pid"
  rc=$?
  verdicts "$d/produce.out"
  [ $rc -eq 0 ] || bad "$line: the producer exited $rc: $(grep -vE '^ACKED' "$d/produce.out" | tail -n 20)"
  java -Xmx256m -cp "$cp" strata.spark.Sensors check "$KAFKA_BOOTSTRAP" $OUT $N $SECS $WINDOW_MS >"$d/check.out" 2>&1
  verdicts "$d/check.out"
  first=$(awk '/^PROGRESS/{print $3; exit}' "$d/job2.out")
  [ "${first:-0}" -gt 0 ] && ok "$line: the restarted query went on from its checkpoint (batch $first)" ||
    bad "$line: the restarted query began at batch ${first:-none}, not after job1's batches"
  stop_job "$d" job2
  # Spark's own complaints, when something failed (a stop always logs the
  # aborted batch's write as ERROR).
  [ $fails -eq $fails0 ] || grep -E 'ERROR|Exception' "$d"/job*.out | head -n 20 | sed 's/^/     /'
  kafka_target_down
  echo "     ($line: $((SECONDS - t0)) s)"
}

for line in ${SPARK_LINES:-spark35 spark4}; do run_line "$line"; done
[ $fails -eq 0 ] && echo "spark test: passed" || echo "spark test: $fails failed"
[ $fails -eq 0 ]

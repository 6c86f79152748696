#!/bin/bash
# Apache Kafka's Java client (kafka-clients 4.x, tests/kafka/java) against
# a 3-broker Strata cluster's Kafka listeners:
#   basic     Admin describeCluster (the controller a live broker),
#             createTopics (3 partitions, RF 3), describeTopics, listOffsets,
#             deleteTopics; an idempotent acks=all producer's 3000 keyed
#             records with headers, each acknowledged; 3 consumers of one
#             group read them all with commitSync, committed = end offsets;
#             they fetch through sessions (KIP-227): the brokers' /metrics
#             count sessions made and incremental fetches served
#   consumer848  two consumers with group.protocol=consumer (KIP-848) share
#             a topic, read every record once, commit the ends; one leaves
#   classic-groups  group.protocol=classic on 6-partition topics, each
#             consumer in its own thread with a rebalance listener:
#             cooperative-sticky (3 members, a 4th joins, one leaves: kept
#             partitions never revoked, every record read, commits at the
#             ends); static members (one closes without LeaveGroup and
#             comes back with its group.instance.id: the others see no
#             rebalance, it gets its partitions back); a static member that
#             stops polling is dropped by the rebalance timeouts
#             (max.poll.interval.ms 6 s) and its partitions move on
#   failover  an idempotent producer's paced stream while this script
#             kill -9s the leader of partition 0 and starts it again:
#             every record acknowledged and then read once, in order;
#             the restarted broker back in every ISR
# KAFKA_TEST_TARGET=apache runs the same against Apache Kafka
# (tests/kafka/apache_kafka.sh). The first run fetches the Maven
# dependencies (make java-deps does it ahead); later runs build offline.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
. tests/kafka/lib.sh
strata_need "the Java Kafka-client test" java mvn
dir=$(mktemp -d /tmp/strata-javatest.XXXXXX)
driver_pid=
trap '[ -n "$driver_pid" ] && kill "$driver_pid" 2>/dev/null; kafka_target_down; rm -rf "$dir"' EXIT
jar=tests/kafka/java/target/kafka-java-test.jar

kafka_build tests/kafka/java "$dir/mvn.log" || exit 1
kafka_target_up "$dir" 3 || exit 1
echo "cluster: $KAFKA_TEST_TARGET, bootstrap $KAFKA_BOOTSTRAP"

# The driver prints one ok/FAIL line per check; its log is shown on failure.
run_driver() { # name args...
  local name=$1
  shift
  java -Xmx256m -jar "$jar" "$@" >"$dir/$name.out" 2>&1
  local rc=$?
  grep -E '^(ok|FAIL) ' "$dir/$name.out"
  if [ $rc -ne 0 ]; then
    bad "$name driver exited $rc"
    grep -vE '^(ok|FAIL|ACKED) ' "$dir/$name.out" | tail -n 40
  fi
}

t0=$SECONDS
run_driver basic basic "$KAFKA_BOOTSTRAP" 3 3000
echo "     (basic: $((SECONDS - t0)) s)"

# KIP-227: the Java consumers of "basic" read through fetch sessions: the
# brokers made sessions and served incremental fetches (their /metrics),
# and "basic" checked that every record was read.
if [ "$KAFKA_TEST_TARGET" != apache ]; then
  created=0 incremental=0
  for i in 1 2 3; do
    m=$(curl -s "http://127.0.0.$i:$((STRATA_CLUSTER_PORT + 3))/metrics" |
      grep '^strata_kafka_fetch_session_events_total')
    created=$((created + $(echo "$m" | awk '/event="created"/{print $2}' | grep . || echo 0)))
    incremental=$((incremental + $(echo "$m" | awk '/event="incremental"/{print $2}' | grep . || echo 0)))
  done
  [ "$created" -gt 0 ] && [ "$incremental" -gt 0 ] &&
    ok "fetch sessions (KIP-227): $created made, $incremental incremental fetches served" ||
    bad "fetch sessions (KIP-227): $created made, $incremental incremental fetches (want both > 0)"
fi

# KIP-848: a consumer group on the consumer protocol (ConsumerGroupHeartbeat).
t0=$SECONDS
run_driver consumer848 consumer848 "$KAFKA_BOOTSTRAP" 1500
echo "     (consumer848: $((SECONDS - t0)) s)"

# Classic groups: cooperative-sticky, static membership, poll timeout.
t0=$SECONDS
run_driver classic-groups classic-groups "$KAFKA_BOOTSTRAP"
echo "     (classic-groups: $((SECONDS - t0)) s)"

# Failover: 3000 records over 10 s; kill the leader of partition 0 once a
# third are acknowledged, start it again 3 s later.
t0=$SECONDS
java -Xmx256m -jar "$jar" failover "$KAFKA_BOOTSTRAP" failover 3000 10 >"$dir/failover.out" 2>&1 &
driver_pid=$!
if kafka_wait_line "$dir/failover.out" '^LEADER [0-9]+$' 60 &&
  kafka_wait_line "$dir/failover.out" '^ACKED (1[0-9]{3}|[2-9][0-9]{3})$' 60; then
  leader=$(awk '/^LEADER /{print $2; exit}' "$dir/failover.out")
  acked=$(awk '/^ACKED /{n=$2} END{print n}' "$dir/failover.out")
  [ "$acked" -lt 3000 ] || bad "the stream had ended ($acked acks) before the kill"
  kafka_target_kill "$leader" >/dev/null && ok "killed broker $leader (leader of partition 0) with -9 after $acked acks" ||
    bad "kill -9 broker $leader"
  sleep 3
  kafka_target_restart "$leader" >/dev/null && ok "broker $leader started again" || bad "restart broker $leader"
else
  bad "the failover producer did not reach 1000 acknowledged records: $(grep -vE '^ACKED' "$dir/failover.out" | tail -n 20)"
fi
wait "$driver_pid"
rc=$?
driver_pid=
grep -E '^(ok|FAIL) ' "$dir/failover.out"
if [ $rc -ne 0 ]; then
  bad "failover driver exited $rc"
  grep -vE '^(ok|FAIL|ACKED) ' "$dir/failover.out" | tail -n 40
fi
echo "     (failover: $((SECONDS - t0)) s)"

n=$(cat "$dir"/basic.out "$dir"/consumer848.out "$dir"/classic-groups.out "$dir"/failover.out | grep -c '^FAIL ')
fails=$((fails + n))
[ $fails -eq 0 ] && echo "java client test: passed" || echo "java client test: $fails failed"
[ $fails -eq 0 ]

#!/bin/bash
# Kafka's CreatePartitions from a real Kafka client: confluent-kafka's
# AdminClient (tests/kafka/create_partitions.py) against a 3-broker cluster
# through the Kafka listener grows a topic 2 -> 5 at RF 3 (validate_only
# first changes nothing); the new partitions get leaders and full ISRs and
# take and serve records by the Kafka protocol; shrinking, the same count,
# an unknown topic and explicit assignments are refused with Kafka's error
# codes and messages. The native CLI then sees 5 partitions too.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
PY=/usr/bin/python3
strata_need "Kafka CreatePartitions from confluent-kafka" $PY
if ! $PY -c 'import confluent_kafka' 2>/dev/null; then
  [ "$(id -u)" = 0 ] && { echo "FAIL: confluent_kafka: not importable; run scripts/deps.sh --install (Debian package python3-confluent-kafka)"; exit 1; }
  strata_skip "Kafka CreatePartitions: needs python3-confluent-kafka (scripts/deps.sh --install installs it)"
fi
dir=$(mktemp -d /tmp/strata-kafkaparts.XXXXXX)
trap 'scripts/cluster.sh down >/dev/null 2>&1; rm -rf "$dir"' EXIT
strata_cluster_up "$dir" 3 || exit 1
port=$STRATA_CLUSTER_PORT
S="timeout 30 $STRATA_BIN -b 127.0.0.1:$port"
$S topic create grow --partitions 2 --replication-factor 3 >/dev/null || { bad "topic create"; exit 1; }

timeout 120 $PY tests/kafka/create_partitions.py "127.0.0.1:$((port + 2))" grow >"$dir/py.out" 2>&1
rc=$?
cat "$dir/py.out"
fails=$((fails + $(grep -c '^FAIL' "$dir/py.out")))
[ $rc -eq 0 ] || grep -q '^FAIL' "$dir/py.out" || bad "the Kafka client check exited $rc"

n=$($S topic describe grow 2>/dev/null | grep -c 'Partition: ')
[ "$n" = 5 ] && ok "strata topic describe shows 5 partitions" ||
  bad "strata topic describe shows $n partitions, not 5"

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"

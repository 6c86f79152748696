#!/bin/bash
# Metadata through real clients (tests/kafka/metadata.py): kcat -L, the
# AdminClient of confluent-kafka-python and kafka-python's KafkaAdminClient
# list exactly the cluster's 3 brokers with their Kafka addresses
# (127.0.0.i:PORT+2), a controller that is a live broker, and a 3-partition
# topic's partitions each with a leader and 3 replicas all in sync, the same
# leaders and replica order as `strata topic describe`; an unknown topic is
# UNKNOWN_TOPIC_OR_PARTITION and is not created by asking.
. "$(dirname "$0")/clients.sh"
strata_need "kafka metadata" kcat
kt_need_py confluent_kafka:python3-confluent-kafka kafka:python3-kafka
kt_up metadata
kt_topic 3 meta$X
native=()
if [ "$KT_STRATA" = 1 ]; then
  $S topic describe meta$X >"$dir/native" || bad "strata topic describe meta"
  native=("$dir/native")
fi
kt_run "$dir/md.out" timeout 90 $PY $KT/metadata.py "$KBOOT" "${KAFKA_TEST_BROKERS:?KAFKA_TEST_BROKERS}" meta$X 3 \
  "${native[@]+"${native[@]}"}"
kt_end

#!/bin/bash
# Topic administration through real clients (tests/kafka/admin.py):
# confluent-kafka's AdminClient and kafka-python's KafkaAdminClient create
# topics (partitions, replication factor 3, retention.ms, read back with
# DescribeConfigs), grow them with CreatePartitions (a record then lands in
# the new partition), delete them (gone from Metadata; the name can be used
# again, empty); exact errors: an existing topic TOPIC_ALREADY_EXISTS, an
# unknown one UNKNOWN_TOPIC_OR_PARTITION, replication factor 4 on 3 brokers
# INVALID_REPLICATION_FACTOR, 0 partitions or fewer than now
# INVALID_PARTITIONS.
. "$(dirname "$0")/clients.sh"
kt_need_py confluent_kafka:python3-confluent-kafka kafka:python3-kafka
kt_up admin
kt_run "$dir/admin.out" timeout 120 $PY $KT/admin.py "$KBOOT" "$X"
if [ "$KT_STRATA" = 1 ]; then
  # The native side sees what the Kafka side made and removed. The broker
  # asked here may apply a delete a moment after the Kafka client's answer
  # (under ASan one run still listed adm-kp right after it): 10 s to show it.
  listed() { out=$($S topic list 2>&1); grep -qw "adm-ck" <<<"$out" && ! grep -qw "adm-kp" <<<"$out"; }
  for _ in $(seq 1 50); do listed && break; sleep 0.2; done
  if listed; then
    ok "strata topic list: adm-ck (made again) listed, adm-kp (deleted) not"
  else bad "strata topic list after the Kafka admin calls: $out"; fi
fi
kt_end

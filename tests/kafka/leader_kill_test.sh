#!/bin/bash
# The partition leader killed -9 under an idempotent confluent-kafka
# producer (tests/kafka/lk.py): the producer (enable.idempotence, acks=all)
# writes 0..N-1 to one partition while its leader is killed -9 and
# restarted (scripts/cluster.sh kill/restart, by its pid file); every record
# is acknowledged, value i at offset i, another broker leads, a consumer
# reads every number exactly once in order, and the restarted broker rejoins
# the ISR. (Against another Kafka: KAFKA_TEST_KILL/KAFKA_TEST_RESTART.)
. "$(dirname "$0")/clients.sh"
kt_need_py confluent_kafka:python3-confluent-kafka
kt_up lk
if [ "$KT_STRATA" = 1 ]; then
  kill_cmd="scripts/cluster.sh kill {id}" restart_cmd="scripts/cluster.sh restart {id}"
elif [ -n "${KAFKA_TEST_KILL:-}" ] && [ -n "${KAFKA_TEST_RESTART:-}" ]; then
  kill_cmd=$KAFKA_TEST_KILL restart_cmd=$KAFKA_TEST_RESTART
else
  strata_skip "leader kill: KAFKA_TEST_KILL and KAFKA_TEST_RESTART not set for $KBOOT"
fi
kt_topic 1 lk$X
kt_run "$dir/lk.out" timeout 150 $PY $KT/lk.py "$KBOOT" "lk$X" "${KT_RECORDS:-4000}" "$kill_cmd" "$restart_cmd"
kt_end

#!/bin/bash
# Traps other Kafka-compatible brokers fell into, each a named check
# (tests/kafka/traps.py, raw requests through kwire.py):
#  1 ApiVersions v99: error 35 in a v0 body and header listing key 18; the
#    v0 retry advertises the exact versions older librdkafka checks;
#  2 an idempotent producer's epoch bump (KIP-360, as the Java client does
#    it alone): epoch 1 from sequence 0 accepted, epoch 0 then refused (47),
#    duplicates answered with their first offset and not appended, a gap in
#    sequence refused (45);
#  3 a sessionless Fetch (v11, v12) answers every partition asked for, also
#    those with nothing new;
#  4 OFFSET_OUT_OF_RANGE exactly (none at the HW; at HW+1, far above, -5),
#    and the latest offset does not go back when the leader is killed -9;
#  5 Metadata's controller_id is a listed broker;
#  6 versions Kafka 4.0 removed still work: ListOffsets v0, OffsetCommit v1,
#    JoinGroup v0 and v1 (with SyncGroup v0). Asserted on Strata only, as
#    are Produce v0 and JoinGroup v0 in 1: Apache Kafka 4 (KAFKA_TEST_TARGET=
#    apache, which passes the rest) no longer serves them.
. "$(dirname "$0")/clients.sh"
kt_need_py confluent_kafka:python3-confluent-kafka kafka:python3-kafka
kt_up traps
strata=()
if [ "$KT_STRATA" = 1 ]; then
  kill_cmd="scripts/cluster.sh kill {id}" strata=(--strata)
else
  kill_cmd=${KAFKA_TEST_KILL:-}
fi
kt_topic 1 trap-idem$X trap-oor$X
kt_topic 6 trap-fetch$X
kt_run "$dir/traps.out" timeout 120 $PY $KT/traps.py "$KBOOT" trap-idem$X trap-fetch$X 6 trap-oor$X "trap-g$X" "$kill_cmd" "${strata[@]+"${strata[@]}"}"
kt_end

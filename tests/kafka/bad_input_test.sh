#!/bin/bash
# Hostile bytes on a broker's Kafka port (tests/kafka/bad_input.py, raw
# sockets): truncated frames and headers, length prefixes of 2^31-1, 200 MB,
# -5 and 0 (closed), unknown API keys, ApiVersions v99 (error 35, a v0 body
# listing key 18, a v0 response header, the connection still usable),
# other APIs at v99 (not advertised; refused), Produce v2 (UNSUPPORTED_VERSION
# per partition), negative and huge array counts, strings and batches longer
# than their frame, random garbage, 1000 pipelined requests (answered in
# order), a request trickled a byte at a time, connections reset with
# thousands of answers unread. After each the broker
# answers ApiVersions on a new connection and /livez on its admin port,
# and a topic's stored batches (fetched raw) and its records as the native
# CLI prints them are exactly as before; its RSS grows less than 64 MB.
. "$(dirname "$0")/clients.sh"
kt_need_py confluent_kafka:python3-confluent-kafka
# Under AddressSanitizer (make asan) freed memory waits in a quarantine
# (256 MB by default): kept small so that the RSS check still says something.
if grep -qa __asan_init "$STRATA_BROKER_BIN" 2>/dev/null; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
fi
kt_up bad
kt_topic 2 kept$X
extra=()
if [ "$KT_STRATA" = 1 ]; then
  n="$STRATA_BIN --bootstrap 127.0.0.1:$STRATA_CLUSTER_PORT --timeout 10000 consume -t kept --from-beginning --print-offset --print-timestamp --print-key --print-headers"
  extra=(--livez "http://127.0.0.1:$APORT/livez" --pid "$(cat "$STRATA_CLUSTER_DIR/broker-1.pid")"
    --native "$n -p 0 && $n -p 1" --strata)
fi
kt_run "$dir/bad.out" timeout 300 $PY $KT/bad_input.py "${KBOOT%%,*}" "$KBOOT" "kept$X" 2 "${extra[@]+"${extra[@]}"}"
kt_end

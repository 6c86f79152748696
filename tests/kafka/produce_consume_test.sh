#!/bin/bash
# Records through real clients, for each codec (none gzip snappy lz4 zstd):
# a confluent-kafka idempotent producer (acks=all), a kafka-python producer
# and kcat -P each write N records with keys (some null), headers (none,
# binary, repeated keys, empty values) and timestamps (kcat: the broker's
# clock, checked against the test's); confluent-kafka and kafka-python
# consumers (assign, from the beginning) and kcat -C each read every one
# back exactly (key, value, headers, timestamp, CreateTime, each producer's
# partition and offset, offsets 0..n-1 per partition in production order,
# no duplicates); the stored batches, fetched raw, are RecordBatch v2
# compressed with that codec (librdkafka silently sends uncompressed
# batches to a broker whose Produce versions do not start at 0). kafkajs
# (none, gzip, snappy): an idempotent producer, then a kafkajs consumer
# group, and the three other consumers, read its records the same way.
. "$(dirname "$0")/clients.sh"
strata_need "kafka produce/consume" kcat
kt_need_py confluent_kafka:python3-confluent-kafka kafka:python3-kafka lz4:python3-lz4 \
  snappy:python3-snappy zstandard:python3-zstandard
kt_need_kafkajs
N=${KT_RECORDS:-300}
P=2
CODECS="none gzip snappy lz4 zstd"
JS_CODECS="none gzip snappy"
kt_up pc
topics=()
for c in $CODECS; do topics+=("pc-ck-$c$X" "pc-kp-$c$X" "pc-kcat-$c$X"); done
for c in $JS_CODECS; do topics+=("pc-js-$c$X"); done
kt_topic $P "${topics[@]}"
now_ms() { date +%s%3N; }

ck=() kp=() kc=() js=() chk=()
for c in $CODECS; do
  ck+=("pc-ck-$c$X:$c") kp+=("pc-kp-$c$X:$c") kc+=("pc-kcat-$c$X")
  chk+=("pc-ck-$c$X:$c:idem" "pc-kp-$c$X:$c")
done
for c in $JS_CODECS; do js+=("pc-js-$c$X:$c") chk+=("pc-js-$c$X:$c:idem"); done
kt_run "$dir/ck.out" timeout 60 $PY $KT/pc.py produce-ck "$KBOOT" "$N" "$dir" "${ck[@]}"
kt_run "$dir/kp.out" timeout 60 $PY $KT/pc.py produce-kp "$KBOOT" "$N" "$dir" "${kp[@]}"
$PY $KT/pc.py kcat-lines "$N" "$dir" "${kc[@]}"
for c in $CODECS; do
  t=pc-kcat-$c$X
  t0=$(now_ms)
  if timeout 60 kcat -P -b "$KBOOT" -t "$t" -K '|' -z "$c" -H h1=v1 -H h2=x=y -X acks=all \
    -X enable.idempotence=true -l "$dir/$t.lines" 2>"$dir/$t.err"; then
    ok "kcat -P -z $c: $N records to $t"
    chk+=("$t:$c:idem:ts=$t0-$(now_ms)")
  else bad "kcat -P -z $c: $(sort "$dir/$t.err" | uniq -c | head -n 3 | tr '\n' ' ')"; rm -f "$dir/$t.json"; fi
done
kt_run "$dir/js.out" env NODE_PATH="$KAFKAJS_DIR/node_modules" timeout 90 node $KT/pc.js "$KBOOT" "$N" "$dir" "${js[@]}"
for c in $JS_CODECS; do
  t=pc-js-$c$X
  [ -f "$dir/$t.got.json" ] &&
    kt_run "$dir/$t.cmp" $PY $KT/pc.py compare "kafkajs consumer group reads $t" "$dir/$t.json" "$dir/$t.got.json"
done
kt_run "$dir/check.out" timeout 120 $PY $KT/pc.py check "$KBOOT" $P "$dir" "${chk[@]}"
kt_end

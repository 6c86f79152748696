#!/bin/bash
# The native client and Kafka clients on the same records (Strata only):
# records written by `strata produce` (keys, headers, uncompressed and zstd)
# are read by confluent-kafka and kafka-python exactly as `strata consume`
# prints them (offset, timestamp, key, headers, value); records written by
# an idempotent confluent-kafka producer (uncompressed and zstd, keys,
# headers, explicit timestamps) are printed by `strata consume` exactly as
# produced, at the offsets the producer was told.
. "$(dirname "$0")/clients.sh"
kt_need_py confluent_kafka:python3-confluent-kafka kafka:python3-kafka
[ -z "${KAFKA_TEST_BOOTSTRAP:-}" ] && [ "${KAFKA_TEST_TARGET:-strata}" = strata ] ||
  strata_skip "interop: needs Strata's native CLI (KAFKA_TEST_BOOTSTRAP or KAFKA_TEST_TARGET set)"
kt_up interop
N=200
kt_topic 1 io io2
PRINT=(-p 0 --from-beginning --print-offset --print-timestamp --print-key --print-headers)

seq 1 $N | awk '{ printf "nkey-%d|nvalue-%d %s\n", $1, $1, substr("vvvvvvvvvvvvvvvvvvvv", 1, $1 % 20) }' >"$dir/lines"
if $S produce -t io -p 0 -k '|' -H src=strata -H kind=plain <"$dir/lines" >/dev/null 2>"$dir/p.err" &&
  $S produce -t io -p 0 -k '|' -H src=strata -H kind=zstd --compression zstd <"$dir/lines" >/dev/null 2>>"$dir/p.err"; then
  ok "strata produce: $N records, then $N zstd-compressed, to io-0"
else bad "strata produce: $(cat "$dir/p.err")"; fi
$S consume -t io "${PRINT[@]}" >"$dir/native" 2>"$dir/c.err" || bad "strata consume io: $(cat "$dir/c.err")"
n=$(wc -l <"$dir/native")
[ "$n" = $((2 * N)) ] && ok "strata consume reads back $n records" || bad "strata consume read $n records, want $((2 * N))"
kt_run "$dir/read.out" timeout 60 $PY $KT/interop.py read "$KBOOT" io "$dir/native"

if kt_run "$dir/write.out" timeout 60 $PY $KT/interop.py write "$KBOOT" io2 $N "$dir/want"; then
  $S consume -t io2 "${PRINT[@]}" >"$dir/got" 2>"$dir/c2.err" || bad "strata consume io2: $(cat "$dir/c2.err")"
  if cmp -s "$dir/want" "$dir/got"; then
    ok "strata consume prints the $((2 * N)) records confluent-kafka wrote exactly (offset, timestamp, key, headers, value)"
  else
    bad "strata consume io2 differs from what confluent-kafka wrote: $(diff "$dir/want" "$dir/got" | head -n 6 | tr '\n' ' ')"
  fi
fi
kt_end

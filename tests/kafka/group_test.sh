#!/bin/bash
# A consumer group of three confluent-kafka consumers (tests/kafka/group.py)
# on a 6-partition topic holding 6000 records: once all three hold
# partitions, one is killed -9 mid-stream; the other two take over all six
# partitions (after the session timeout) and every record is consumed at
# least once; stopped (SIGTERM: commit, close) the group's committed
# offsets, read back with OffsetFetch, equal the end offsets, and on Strata
# `strata group describe` shows the same committed offsets and log ends.
. "$(dirname "$0")/clients.sh"
kt_need_py confluent_kafka:python3-confluent-kafka
kt_up group
G=kgroup$X
kt_topic 6 grp$X
kt_run "$dir/group.out" timeout 120 $PY $KT/group.py run "$KBOOT" "grp$X" 6 "$G" 6000 "$dir"
if [ "$KT_STRATA" = 1 ] && [ -s "$dir/end" ]; then
  $S group describe "$G" >"$dir/describe" 2>&1
  # topic partition committed log-end lag ...
  got=$(awk -v t="grp$X" '$1 == t { print $2, $3 }' "$dir/describe" | sort -n)
  if [ "$got" = "$(cat "$dir/end")" ]; then ok "strata group describe $G: the committed offsets, = the end offsets"
  else bad "strata group describe $G: got (partition committed) $(echo $got), want $(echo $(cat "$dir/end")): $(cat "$dir/describe")"; fi
  got=$(awk -v t="grp$X" '$1 == t { print $2, $4 }' "$dir/describe" | sort -n)
  if [ "$got" = "$(cat "$dir/end")" ]; then ok "strata group describe $G: the log end offsets"
  else bad "strata group describe $G: log ends (partition log-end) $(echo $got), want $(echo $(cat "$dir/end"))"; fi
fi
kt_end

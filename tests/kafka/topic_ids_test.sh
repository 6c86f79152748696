#!/bin/bash
# Kafka topic ids, end to end on the Kafka listener (tests/kafka/topic_ids.py
# speaks the protocol raw):
#   standalone  a topic's id is non-zero, answered by Metadata, Fetch v13/v17
#               by id and DescribeTopicPartitions (paged by its cursor); the
#               same after a kill -9 and restart; a new one after a delete and
#               create again
#   cluster     every broker answers the controller's id; kill -9 the
#               controller and start it again: the same ids; the protocol
#               checks against a broker; delete and create again: a new id
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
strata_need "the topic id test" python3
build=${STRATA_BUILD:-build}
cli=$build/strata
dir=$(mktemp -d /tmp/strata-topicids.XXXXXX)
trap 'strata_stop_all; [ -n "${STRATA_CLUSTER_DIR:-}" ] && scripts/cluster.sh down >/dev/null 2>&1; rm -rf "$dir"' EXIT
ids() { python3 tests/kafka/topic_ids.py ids "$1" | awk -v t="$2" '$1 == t {print $2}'; }
protocol() { # ADDR TOPIC RECORDS
  local out
  out=$(python3 tests/kafka/topic_ids.py check "$@" 2>&1)
  echo "$out" | grep -E '^(ok|FAIL) '
  fails=$((fails + $(echo "$out" | grep -c '^FAIL ')))
  echo "$out" | grep -q '^ok ' || { bad "topic_ids.py check: $out"; }
}

# ---- standalone ----
kport=$(strata_free_port) || exit 1
start() {
  strata_start_broker "$dir/standalone" any --set kafka.listeners=127.0.0.1:"$kport" || return 1
  strata_wait_port 127.0.0.1 "$kport" 15
}
start || { bad "standalone broker did not start"; exit 1; }
bs=127.0.0.1:$STRATA_BROKER_PORT
"$cli" -b "$bs" topic create ids --partitions 3 >/dev/null || bad "create topic ids"
printf 'a\nb\nc\nd\n' | "$cli" -b "$bs" produce -t ids -p 0 >/dev/null 2>&1 || bad "produce"
id1=$(ids 127.0.0.1:"$kport" ids)
[ -n "$id1" ] && [ "$id1" != 00000000000000000000000000000000 ] && ok "standalone: topic ids has id $id1" ||
  bad "standalone: no id for topic ids ('$id1')"
protocol 127.0.0.1:"$kport" ids 4
{ kill -9 "$STRATA_BROKER_PID" && wait "$STRATA_BROKER_PID"; } 2>/dev/null
start || bad "standalone broker did not start again"
bs=127.0.0.1:$STRATA_BROKER_PORT
id2=$(ids 127.0.0.1:"$kport" ids)
[ "$id2" = "$id1" ] && ok "standalone: the same id after kill -9 and restart" || bad "standalone: id $id1, after restart '$id2'"
"$cli" -b "$bs" topic delete ids >/dev/null && "$cli" -b "$bs" topic create ids --partitions 1 >/dev/null ||
  bad "delete and create ids again"
id3=$(ids 127.0.0.1:"$kport" ids)
[ -n "$id3" ] && [ "$id3" != "$id1" ] && ok "standalone: deleted and created again, a new id ($id3)" ||
  bad "standalone: re-created topic has id '$id3' (was $id1)"
strata_stop_all

# ---- cluster ----
strata_cluster_up "$dir" 3 || { bad "cluster did not start"; exit 1; }
port=$STRATA_CLUSTER_PORT
kp=$((port + 2))
boot=127.0.0.1:$port
"$cli" -b "$boot" topic create cids --partitions 3 --replication-factor 3 >/dev/null || bad "create topic cids"
printf 'a\nb\n' | "$cli" -b "$boot" produce -t cids -p 0 >/dev/null 2>&1 || bad "produce to cids"
all_ids() { for i in 1 2 3; do ids 127.0.0.$i:"$kp" cids; done | sort -u | tr '\n' ' '; }
want=
for _ in $(seq 50); do
  want=$(all_ids)
  [ "$(echo $want | wc -w)" = 1 ] && [ "${want// /}" != 00000000000000000000000000000000 ] && break
  sleep 0.2
done
want=${want// /}
[ ${#want} = 32 ] && ok "cluster: the 3 brokers answer one id for cids ($want)" || bad "cluster: ids '$want'"
scripts/cluster.sh kill controller >/dev/null || bad "kill -9 the controller"
scripts/cluster.sh restart controller >/dev/null || bad "restart the controller"
# Brokers take the restarted controller's image; ids must not move.
sleep 2
"$cli" -b "$boot" topic create after-restart --partitions 1 >/dev/null || bad "create a topic after the restart"
got=
for _ in $(seq 50); do
  got=$(all_ids)
  [ -n "$(for i in 1 2 3; do ids 127.0.0.$i:"$kp" after-restart; done | grep -v '^$' | sort -u)" ] && break
  sleep 0.2
done
[ "${got// /}" = "$want" ] && ok "cluster: the same id on every broker after the controller's kill -9 and restart" ||
  bad "cluster: ids after the controller's restart '$got', before $want"
grep -q "topic ids\|topic id" "$STRATA_CLUSTER_DIR/controller.log" 2>/dev/null && bad "the controller re-gave ids" || true
leader=$("$cli" -b "$boot" topic describe cids | awk '/Partition: 0/{for (i=1;i<=NF;i++) if ($i=="Leader:") print $(i+1)}')
[ -n "$leader" ] && protocol 127.0.0.$leader:"$kp" cids 2 || bad "no leader for cids-0"
"$cli" -b "$boot" topic delete cids >/dev/null || bad "delete cids"
sleep 1
"$cli" -b "$boot" topic create cids --partitions 1 --replication-factor 3 >/dev/null || bad "create cids again"
new=
for _ in $(seq 50); do
  new=$(ids 127.0.0.1:"$kp" cids)
  [ -n "$new" ] && [ "$new" != "$want" ] && break
  sleep 0.2
done
[ -n "$new" ] && [ "$new" != "$want" ] && ok "cluster: deleted and created again, a new id ($new)" ||
  bad "cluster: re-created cids has id '$new' (was $want)"

[ $fails -eq 0 ] && echo "topic id test: passed" || echo "topic id test: $fails failed"
[ $fails -eq 0 ]

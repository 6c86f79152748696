#!/bin/bash
# The admin port against a live 3-broker cluster (scripts/cluster.sh), with
# Debian's promtool: every scrape passes `promtool check metrics`; a group
# that read 3,000 of 30,000 records shows a lag of 27,000 summed over its
# partitions; killing a follower makes its leader report an under-replicated
# partition within seconds; /readyz and the JSON endpoints say the same as
# the cluster does; every metric the shipped rules and dashboard use is in a
# live scrape (tests/metrics/names_check.sh).
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
strata_need "the admin port's metrics test" promtool curl
dir=$(mktemp -d /tmp/strata-admintest.XXXXXX)
trap 'scripts/cluster.sh down >/dev/null 2>&1; rm -rf "$dir"' EXIT

strata_cluster_up "$dir" 3 || exit 1
port=$STRATA_CLUSTER_PORT
admin() { echo "http://127.0.0.$1:$((port + 3))"; } # broker i's admin URL
ctl="http://127.0.0.1:$((port + 4))"
S="$STRATA_BIN -b 127.0.0.1:$port"
grep -q "console:  http://127.0.0.1:$((port + 3))/" "$dir/up.out" && ok "cluster.sh prints the console URL" ||
  bad "cluster.sh prints the console URL: $(cat "$dir/up.out")"

# Every node ready, and the scrapes lint clean.
for i in 1 2 3; do
  code=$(curl -s -o "$dir/ready" -w '%{http_code}' "$(admin $i)/readyz")
  [ "$code" = 200 ] && ok "broker $i /readyz 200" || bad "broker $i /readyz: $code $(cat "$dir/ready")"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$ctl/readyz")
[ "$code" = 200 ] && ok "controller /readyz 200" || bad "controller /readyz: $code"

$S topic create lag --partitions 3 --replication-factor 3 >/dev/null || bad "topic create"
seq 1 30000 | $S produce -t lag >/dev/null 2>&1 || bad "produce 30000"
n=$(timeout 60 $S consume -t lag -g lagging -n 3000 --from-beginning 2>/dev/null | wc -l)
[ "$n" = 3000 ] && ok "the group read 3000 records" || bad "the group read $n records, not 3000"

# acks=all answers observed stage by stage (broker/ack_probe.c): summed over
# the three brokers, every stage of the chain counted at least once.
$S topic create acks --partitions 1 --replication-factor 3 >/dev/null || bad "topic create acks"
$STRATA_BIN bench produce -b 127.0.0.1:$port --topic acks --record-size 100 --records 300 \
  --acks all --linger-ms 0 >/dev/null 2>&1 || bad "bench produce acks=all"
for stage in leader_fsync follower_sent first_follower second_follower hw answer total; do
  n=$(for i in 1 2 3; do curl -s "$(admin $i)/metrics"; done |
    awk -v s="strata_ack_stage_seconds_count{stage=\"$stage\"}" '$1 == s {n += $2} END {print n + 0}')
  [ "$n" -gt 0 ] && ok "acks=all stage $stage observed ($n answers)" || bad "acks=all stage $stage: $n answers"
done

for i in 1 2 3; do curl -s "$(admin $i)/metrics" >"$dir/scrape-$i.txt"; done
curl -s "$ctl/metrics" >"$dir/scrape-ctl.txt"
for f in scrape-1 scrape-2 scrape-3 scrape-ctl; do
  if promtool check metrics <"$dir/$f.txt" >"$dir/lint" 2>&1; then ok "promtool check metrics: $f"
  else bad "promtool check metrics: $f: $(head -5 "$dir/lint")"; fi
done

# The coordinator's lag (HW minus committed) summed over the group's
# partitions; only the coordinator exports the group.
lag=$(cat "$dir"/scrape-[123].txt |
  awk '/^strata_consumer_group_lag_records\{group="lagging"/ { s += $NF } END { print s + 0 }')
[ "$lag" = 27000 ] && ok "group lag 27000 over its partitions" || bad "group lag $lag, wanted 27000"
sum=$(cat "$dir"/scrape-[123].txt |
  awk '/^strata_consumer_group_lag_sum_records\{group="lagging"/ { s += $NF } END { print s + 0 }')
[ "$sum" = 27000 ] && ok "strata_consumer_group_lag_sum_records 27000" || bad "lag sum $sum"
grep -q '"group":"lagging"' <(for i in 1 2 3; do curl -s "$(admin $i)/v1/groups"; done) &&
  ok "/v1/groups names the group" || bad "/v1/groups does not name the group"
in=$(cat "$dir"/scrape-[123].txt | awk '/^strata_topic_records_in_total\{topic="lag"/ { s += $NF } END { print s + 0 }')
[ "$in" = 30000 ] && ok "strata_topic_records_in_total 30000 over the leaders" || bad "records in: $in"
grep -q '^strata_controller_active 1$' "$dir/scrape-ctl.txt" && ok "controller active" || bad "strata_controller_active"
grep -q '^strata_controller_brokers{state="registered"} 3$' "$dir/scrape-ctl.txt" &&
  ok "controller counts 3 brokers" || bad "controller broker count"
grep -q 'strata_request_duration_seconds_bucket{api="produce",le="+Inf"}' "$dir"/scrape-[123].txt &&
  ok "produce latency histogram" || bad "no produce latency histogram"

# The rules and dashboard name only metrics a live cluster exports.
if [ -x tests/metrics/names_check.sh ]; then
  if tests/metrics/names_check.sh "$dir"/scrape-*.txt >"$dir/names" 2>&1; then ok "rules and dashboard metrics all scraped"
  else bad "rules/dashboard name metrics no scrape has: $(cat "$dir/names")"; fi
fi

# Kill broker 3: the leaders of the partitions it followed report them
# under-replicated (each broker leads one of the three partitions).
scripts/cluster.sh kill 3 >/dev/null
urp=0
for _ in $(seq 100); do
  urp=$(curl -s "$(admin 1)/metrics" | awk '/^strata_broker_under_replicated_partitions / { print $2 }')
  [ "${urp:-0}" -ge 1 ] && break
  sleep 0.1
done
[ "${urp:-0}" -ge 1 ] && ok "broker 1 reports $urp under-replicated partition(s) after the kill" ||
  bad "broker 1 reports no under-replicated partition 10 s after the kill"
curl -s "$(admin 1)/v1/partitions?under_replicated=1" | grep -q '"under_replicated":true' &&
  ok "/v1/partitions?under_replicated=1 lists it" || bad "/v1/partitions?under_replicated=1"
fenced=$(curl -s "$ctl/metrics" | awk '/^strata_controller_brokers\{state="fenced"\}/ { print $2 }')
[ "${fenced:-0}" = 1 ] && ok "controller counts the killed broker fenced" || bad "fenced brokers: $fenced"

# Nothing served on unknown paths, and a HEAD has no body.
code=$(curl -s -o /dev/null -w '%{http_code}' "$(admin 1)/nope")
[ "$code" = 404 ] && ok "unknown path 404" || bad "unknown path: $code"
len=$(curl -s -I "$(admin 1)/metrics" | tr -d '\r' | awk 'tolower($1) == "content-length:" { print $2 }')
body=$(curl -s --head "$(admin 1)/livez" -o - | tr -d '\r' | sed -n '/^$/,$p' | wc -c)
[ "${len:-0}" -gt 1000 ] && [ "$body" -le 1 ] && ok "HEAD: length, no body" || bad "HEAD: length $len body $body"

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }

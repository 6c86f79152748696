#!/bin/bash
# The console against a live 3-broker cluster in headless Chromium
# (tests/console/console_check.sh): the page loads with no console error and
# names the brokers, the topic and the group after its first refresh; then,
# with a follower killed -9, it shows that broker fenced and the partitions
# it followed under-replicated. `make console-shot` takes the picture.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
strata_need "the console's browser test" chromium python3
dir=$(mktemp -d /tmp/strata-consoletest.XXXXXX)
trap 'scripts/cluster.sh down >/dev/null 2>&1; rm -rf "$dir"' EXIT
fails=0
strata_cluster_up "$dir" 3 || exit 1
port=$STRATA_CLUSTER_PORT
S="$STRATA_BIN -b 127.0.0.1:$port"
url=http://127.0.0.1:$((port + 3))/
$S topic create sensors --partitions 3 --replication-factor 3 >/dev/null || exit 1
seq 1 3000 | $S produce -t sensors >/dev/null 2>&1 || exit 1
timeout 60 $S consume -t sensors -g dashboards -n 500 --from-beginning >/dev/null 2>&1

if tests/console/console_check.sh "$url" --broker 1 --broker 2 --broker 3 --topic sensors \
  --group dashboards; then echo "ok   the console names the brokers, the topic and the group"
else echo "FAIL the console on a healthy cluster"; fails=$((fails + 1)); fi

# Broker 3 follows sensors-0 (led by broker 1): killed, it is fenced and
# sensors-0 is under-replicated.
scripts/cluster.sh kill 3 >/dev/null
for _ in $(seq 100); do
  curl -s "http://127.0.0.1:$((port + 3))/v1/partitions?under_replicated=1" | grep -q '"topic":"sensors"' && break
  sleep 0.1
done
if tests/console/console_check.sh "$url" --broker 1 --broker 2 --fenced 3 --topic sensors \
  --group dashboards --under-replicated sensors:0; then
  echo "ok   the console shows the killed broker fenced and sensors-0 under-replicated"
else echo "FAIL the console after a follower was killed"; fails=$((fails + 1)); fi
[ $fails -eq 0 ] || exit 1

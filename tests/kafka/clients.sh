# Sourced by tests/kafka/*_test.sh: the real, unmodified Kafka clients that
# scripts/deps.sh installs (kcat, confluent-kafka-python, kafka-python;
# kafkajs from npm into $STRATA_BUILD/kafkajs by make) against Strata's Kafka
# listener.
#
# Each test starts a 3-broker cluster (scripts/cluster.sh: broker i's Kafka
# port is 127.0.0.i:PORT+2) and stops it on exit; KAFKA_TEST_TARGET=apache
# starts Apache Kafka laid out the same way instead (tests/kafka/lib.sh,
# apache_kafka.sh), to check the tests themselves. With KAFKA_TEST_BOOTSTRAP
# set (HOST:PORT[,...]) a test runs against that broker instead, any Kafka,
# and skips what only Strata has (the native CLI, the admin port, broker
# pids); KAFKA_TEST_BROKERS ("1=HOST:PORT,2=...") is then what Metadata
# must list, and KAFKA_TEST_KILL / KAFKA_TEST_RESTART (commands, "{id}" for a
# broker id) kill -9 and restart a broker of it.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
KT=tests/kafka
fails=0
dir=
ok() { echo "ok   $1"; }
bad() {
  echo "FAIL $1"
  fails=$((fails + 1))
  [ -z "$dir" ] || echo "FAIL $1" >>"$dir/fails"
}
# kt_run OUTFILE CMD...: run a helper, show its lines, count its FAILs (and
# its failing exit without a FAIL line as one).
kt_run() {
  local out=$1 rc
  shift
  "$@" >"$out" 2>&1
  rc=$?
  cat "$out"
  local n
  n=$(grep -c '^FAIL' "$out")
  fails=$((fails + n))
  grep '^FAIL' "$out" >>"$dir/fails"
  if [ "$rc" != 0 ] && [ "$n" = 0 ]; then bad "$* exited $rc"; fi
  return "$rc"
}

# kt_need_py MODULE:DEBIAN_PACKAGE...: Debian's python3 must import each.
kt_need_py() {
  local m missing=()
  [ -x $PY ] || missing+=("$PY (python3)")
  for m in "$@"; do
    [ -x $PY ] && $PY -c "import ${m%%:*}" 2>/dev/null || missing+=("python3 module ${m%%:*} (${m#*:})")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    for m in "${missing[@]}"; do echo "FAIL: $m: not installed; run scripts/deps.sh --install" >&2; done
    exit 1
  fi
  strata_skip "needs ${missing[*]} (not installed; scripts/deps.sh --install installs it)"
}

# kafkajs: installed by make ($(BUILD)/kafkajs, npm ci from tests/kafka/node).
KAFKAJS_DIR=$STRATA_BUILD/kafkajs
kt_need_kafkajs() {
  strata_need "kafkajs" node
  [ -f "$KAFKAJS_DIR/node_modules/kafkajs/package.json" ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "FAIL: kafkajs not in $KAFKAJS_DIR/node_modules (make $KAFKAJS_DIR/node_modules/kafkajs/package.json installs it with npm ci)" >&2
    exit 1
  fi
  strata_skip "kafkajs: not installed in $KAFKAJS_DIR (make test installs it)"
}

# kt_up NAME: a temp dir ($dir), cleanup on exit, and a cluster (or the
# external broker): sets KBOOT (the Kafka bootstrap list), KT_STRATA (1 on
# Strata), and on Strata KPORT, S (the native CLI with its bootstrap), APORT;
# X is a suffix for topic and group names (empty on a fresh cluster, random
# on an external broker that keeps the last run's topics).
kt_up() {
  dir=$(mktemp -d "/tmp/strata-k-$1.XXXXXX")
  trap kt_down EXIT
  X=
  if [ "${KAFKA_TEST_TARGET:-strata}" = apache ]; then
    KT_STRATA=0 KT_APACHE=1
    . tests/kafka/lib.sh
    kafka_target_up "$dir" 3 || { bad "Apache Kafka up"; exit 1; }
    KBOOT=$KAFKA_BOOTSTRAP
    KAFKA_TEST_BROKERS=1=127.0.0.1:$KAFKA_PORT,2=127.0.0.2:$KAFKA_PORT,3=127.0.0.3:$KAFKA_PORT
    KAFKA_TEST_KILL="bash -c '. scripts/lib.sh; . tests/kafka/lib.sh; kafka_target_kill {id}'"
    KAFKA_TEST_RESTART="bash -c '. scripts/lib.sh; . tests/kafka/lib.sh; kafka_target_restart {id}'"
    echo "# against Apache Kafka in $KAFKA_PEER_DIR, Kafka port $KAFKA_PORT"
    return 0
  fi
  if [ -n "${KAFKA_TEST_BOOTSTRAP:-}" ]; then
    KT_STRATA=0
    X=-$RANDOM$RANDOM
    KBOOT=$KAFKA_TEST_BOOTSTRAP
    echo "# against $KBOOT (KAFKA_TEST_BOOTSTRAP)"
    return 0
  fi
  KT_STRATA=1
  strata_cluster_up "$dir" 3 || { bad "cluster up"; exit 1; }
  KPORT=$((STRATA_CLUSTER_PORT + 2))
  APORT=$((STRATA_CLUSTER_PORT + 3))
  KBOOT=127.0.0.1:$KPORT,127.0.0.2:$KPORT,127.0.0.3:$KPORT
  KAFKA_TEST_BROKERS=1=127.0.0.1:$KPORT,2=127.0.0.2:$KPORT,3=127.0.0.3:$KPORT
  S="timeout 30 $STRATA_BIN --bootstrap 127.0.0.1:$STRATA_CLUSTER_PORT"
  local i
  for i in 1 2 3; do
    strata_wait_port 127.0.0.$i "$KPORT" 10 2>/dev/null ||
      { bad "broker $i: no Kafka listener on 127.0.0.$i:$KPORT (kafka.listeners)"; exit 1; }
  done
  echo "# cluster in $STRATA_CLUSTER_DIR, native port $STRATA_CLUSTER_PORT, Kafka port $KPORT"
}

# kt_topic PARTITIONS NAME...: topics with replication factor 3, made with
# the native CLI on Strata (so that a Kafka CreateTopics bug shows in
# admin_test alone) or the AdminClient elsewhere, then waited for until
# Metadata on the Kafka port shows every replica in sync.
kt_topic() {
  local parts=$1 name names=
  shift
  for name in "$@"; do names="$names'$name', "; done
  if [ "$KT_STRATA" = 1 ]; then
    for name in "$@"; do
      $S topic create "$name" --partitions "$parts" --replication-factor 3 >/dev/null ||
        { bad "strata topic create $name"; exit 1; }
    done
    timeout 60 $PY -c "import sys; sys.path.insert(0, '$KT'); import ktlib
for t in [$names]:
    seen = ktlib.wait_topic('$KBOOT', t, $parts, 3)
    if seen is not None: ktlib.bad('topic %s: not $parts partitions with 3 replicas in sync: %s' % (t, seen))
ktlib.finish()" || { fails=$((fails + 1)); exit 1; }
  else
    timeout 60 $PY -c "import sys; sys.path.insert(0, '$KT'); import ktlib
ktlib.create_topics('$KBOOT', [(t, $parts, None) for t in [$names]])" || { fails=$((fails + 1)); exit 1; }
  fi
}

# What the brokers warned about, for a failed test.
kt_broker_logs() {
  local f
  [ "${KT_STRATA:-0}" = 1 ] || return 0
  for f in "$STRATA_CLUSTER_DIR"/broker-*.log; do
    [ -f "$f" ] || continue
    grep -aE " (WARN|ERROR) " "$f" | tail -n 3 | cut -c1-200 | sed "s|^|# $(basename "$f"): |"
  done
}

kt_down() {
  local rc=$?
  [ -n "${kt_ended:-}" ] || [ "$rc" = 0 ] || kt_broker_logs
  if [ "${KT_STRATA:-0}" = 1 ]; then scripts/cluster.sh down >/dev/null 2>&1; fi
  if [ -n "${KT_APACHE:-}" ]; then kafka_target_down; fi
  strata_stop_all
  rm -rf "$dir"
  exit $rc
}

# kt_end: on failure the brokers' last warnings and the failures again (make
# test shows a test's last 20 lines), then the closing line; the exit status
# says whether anything failed.
kt_end() {
  kt_ended=1
  if [ "$fails" = 0 ]; then echo "all passed"; exit 0; fi
  kt_broker_logs
  echo "# the failures:"
  cut -c1-300 "$dir/fails" | head -n 12
  echo "$fails failed"
  exit 1
}

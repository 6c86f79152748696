#!/bin/bash
# Apache Kafka 4.x as a peer for benchmarks and client tests: the broker from
# Maven Central (org.apache.kafka:kafka_2.13, bench/kafka-peer/pom.xml), run
# with plain `java -cp` in KRaft mode on 127.0.0.1, every file in DIR.
#
#   scripts/kafka-peer.sh fetch                 resolve the jars (Maven) into $KAFKA_PEER_LIBS
#   scripts/kafka-peer.sh up1 DIR PORT [--flush-every-message]
#       one combined broker+controller: clients on 127.0.0.1:PORT, its
#       controller on PORT+1; --flush-every-message sets
#       log.flush.interval.messages=1 (an fsync per produce, like Strata's
#       log.flush.policy=always)
#   scripts/kafka-peer.sh up3 DIR PORT
#       three combined broker+controller nodes (a 3-voter quorum): clients on
#       127.0.0.1:PORT, PORT+1, PORT+2, controllers on PORT+3..PORT+5;
#       default.replication.factor=3, min.insync.replicas=2
#   scripts/kafka-peer.sh down DIR              stop the nodes DIR's pid files name (TERM, then KILL)
#   scripts/kafka-peer.sh run CLASS [ARGS...]   a Kafka main class with the jars, e.g.
#       run org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:PORT --list
#   scripts/kafka-peer.sh classpath             print the class path
#
# up1/up3 fetch first when the jars are missing, format the storage, start
# the JVMs (heap -Xmx$KAFKA_PEER_HEAP, default 1g) and wait until every node
# logged "Kafka Server started"; the bootstrap address goes to stdout
# (127.0.0.1:PORT[,...]), logs to DIR/node-I.log, pids to DIR/node-I.pid.
# `down` kills only those pids, and only while they still are a java process
# with DIR on its command line. The data stays in DIR; the caller removes it.
# Environment: KAFKA_VERSION (default 4.0.2; any 4.x Maven Central serves),
# KAFKA_PEER_LIBS (default build/kafka-peer/libs-$KAFKA_VERSION),
# KAFKA_PEER_HEAP, KAFKA_PEER_LOG_LEVEL (the broker's slf4j level, info).
# Needs java (17+) and mvn: scripts/deps.sh installs them.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFKA_VERSION=${KAFKA_VERSION:-4.0.2}
LIBS=${KAFKA_PEER_LIBS:-$ROOT/build/kafka-peer/libs-$KAFKA_VERSION}
HEAP=${KAFKA_PEER_HEAP:-1g}

die() { echo "kafka-peer: $*" >&2; exit 1; }
need() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || die "$c: command not found (scripts/deps.sh --install)"; done; }
abs() { mkdir -p "$1" && (cd "$1" && pwd); }

fetch() {
  [ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] && [ -f "$LIBS/kafka-tools-$KAFKA_VERSION.jar" ] && return 0
  need mvn
  echo "kafka-peer: resolving Apache Kafka $KAFKA_VERSION into $LIBS" >&2
  local tmp=$LIBS.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$(dirname "$LIBS")"
  mvn -q -B -f "$ROOT/bench/kafka-peer/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
    >"$LIBS.mvn.log" 2>&1 ||
    { cat "$LIBS.mvn.log" >&2; rm -rf "$tmp"; die "mvn could not resolve Kafka $KAFKA_VERSION"; }
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
}

cp_of() { echo "$LIBS/*"; }

# The storage tool's main class moved from Scala (kafka.tools.StorageTool) to
# Java in some 4.x: take the one the jars hold (a zip's names are plain text).
storage_class() {
  if cat "$LIBS"/kafka-*.jar | grep -qa 'org/apache/kafka/tools/StorageTool.class'; then
    echo org.apache.kafka.tools.StorageTool
  else
    echo kafka.tools.StorageTool
  fi
}

# A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not
# starting with "-" (kafka-storage would take it for an option; Kafka's own
# Uuid.randomUuid avoids those too).
new_cluster_id() {
  local id=-
  while [ "${id#-}" != "$id" ]; do id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'); done
  echo "$id"
}

# write_config DIR ID N PORT EXTRA: node ID of an N-node combined cluster.
write_config() {
  local dir=$1 id=$2 n=$3 port=$4 extra=$5 voters="" i rf=1 isr=1
  for i in $(seq 1 "$n"); do voters="$voters${voters:+,}$i@127.0.0.1:$((port + n + i - 1))"; done
  [ "$n" -ge 3 ] && { rf=3; isr=2; }
  cat >"$dir/node-$id.properties" <<EOF
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$((port + id - 1)),CONTROLLER://127.0.0.1:$((port + n + id - 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$((port + id - 1))
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data-$id
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.network.threads=2
num.io.threads=4
$extra
EOF
}

# start_node DIR ID: format node ID's storage, then run it in the background.
start_node() {
  local dir=$1 id=$2 cfg=$1/node-$2.properties
  java -Xmx256m -cp "$(cp_of)" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    "$(storage_class)" format -t "$(cat "$dir/cluster.id")" -c "$cfg" --ignore-formatted \
    >>"$dir/node-$id.log" 2>&1 || { tail -n 20 "$dir/node-$id.log" >&2; die "node $id: storage format failed"; }
  # setsid: the node is its own process group, so a Ctrl-C meant for the
  # caller's foreground job does not reach it; `down` stops it.
  setsid java -Xms256m -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel="${KAFKA_PEER_LOG_LEVEL:-info}" \
    -Dorg.slf4j.simpleLogger.showDateTime=true -Dkafka.peer.dir="$dir" \
    -cp "$(cp_of)" kafka.Kafka "$cfg" >>"$dir/node-$id.log" 2>&1 </dev/null &
  echo $! >"$dir/node-$id.pid"
}

# Any socket on TCP port $1, in any state, on any address (/proc/net/tcp*).
port_used() {
  awk -v p="$(printf '%04X' "$1")" 'FNR > 1 { sub(/.*:/, "", $2); if ($2 == p) found = 1 }
    END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Is pid file $1's process alive and ours (java, started for this DIR)?
ours() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "-Dkafka.peer.dir=$2 " || return 1
  [ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)" != Z ]
}

up() {
  local n=$1 dir port=$3 extra="" deadline id ready
  [ $# -ge 3 ] || die "usage: kafka-peer.sh up$n DIR PORT"
  [[ $port =~ ^[0-9]+$ ]] && [ "$port" -ge 1024 ] && [ $((port + 2 * n)) -le 65535 ] || die "bad port: $port"
  dir=$(abs "$2")
  shift 3
  for a in "$@"; do
    case "$a" in
    --flush-every-message) extra="log.flush.interval.messages=1" ;;
    *) die "unknown option: $a" ;;
    esac
  done
  need java
  fetch
  for id in $(seq 0 $((2 * n - 1))); do
    port_used $((port + id)) && die "port $((port + id)) is in use (this needs $port..$((port + 2 * n - 1)))"
  done
  for id in $(seq 1 "$n"); do ours "$dir/node-$id.pid" "$dir" && die "node $id already runs (kafka-peer.sh down $dir)"; done
  [ -f "$dir/cluster.id" ] || new_cluster_id >"$dir/cluster.id"
  for id in $(seq 1 "$n"); do write_config "$dir" "$id" "$n" "$port" "$extra"; done
  for id in $(seq 1 "$n"); do start_node "$dir" "$id"; done
  deadline=$((SECONDS + ${KAFKA_PEER_START_TIMEOUT:-90}))
  while :; do
    ready=0
    for id in $(seq 1 "$n"); do
      ours "$dir/node-$id.pid" "$dir" || { tail -n 30 "$dir/node-$id.log" >&2; down "$dir"; die "node $id exited"; }
      grep -q "Kafka Server started" "$dir/node-$id.log" && ready=$((ready + 1))
    done
    [ $ready = "$n" ] && break
    [ $SECONDS -lt $deadline ] || { down "$dir"; die "not started within ${KAFKA_PEER_START_TIMEOUT:-90} s (logs in $dir)"; }
    sleep 0.3
  done
  local bs=""
  for id in $(seq 1 "$n"); do bs="$bs${bs:+,}127.0.0.1:$((port + id - 1))"; done
  echo "$bs"
}

# Stop every node DIR's pid files name: TERM all, wait up to 30 s (a
# controlled shutdown), then KILL what is left.
down() {
  local dir pids=() f pid
  dir=$(cd "$1" 2>/dev/null && pwd) || return 0
  for f in "$dir"/node-*.pid; do
    [ -f "$f" ] || continue
    if ours "$f" "$dir"; then pid=$(cat "$f"); kill "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done
  for _ in $(seq 300); do
    local left=0
    for pid in "${pids[@]+"${pids[@]}"}"; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ $left = 0 ] && break
    sleep 0.1
  done
  for f in "$dir"/node-*.pid; do
    [ -f "$f" ] || continue
    ours "$f" "$dir" && kill -9 "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  return 0
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
fetch) fetch ;;
up1) up 1 "$@" ;;
up3) up 3 "$@" ;;
down) [ $# -eq 1 ] || die "usage: kafka-peer.sh down DIR"; down "$1" ;;
run)
  [ $# -ge 1 ] || die "usage: kafka-peer.sh run CLASS [ARGS...]"
  need java
  fetch
  cls=$1
  shift
  exec java -Xmx"${KAFKA_TOOL_HEAP:-512m}" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$(cp_of)" "$cls" "$@"
  ;;
classpath) fetch; cp_of ;;
*) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

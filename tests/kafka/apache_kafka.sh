#!/bin/bash
# Apache Kafka (KRaft, from Maven Central's jars) as a stand-in for Strata,
# laid out like scripts/cluster.sh's cluster so a test can run against
# either: node i (broker and controller in one process) serves Kafka on
# 127.0.0.i:PORT+2, as Strata's broker i does, and its controller on
# 127.0.0.i:PORT+5. For checking the Kafka tests themselves.
#
#   tests/kafka/apache_kafka.sh up [N]      format and start N nodes (default 3)
#   tests/kafka/apache_kafka.sh down        stop them (TERM, then KILL)
#   tests/kafka/apache_kafka.sh kill ID     kill -9 node ID
#   tests/kafka/apache_kafka.sh restart ID  start node ID again
#   tests/kafka/apache_kafka.sh jars        fetch the jars (Maven) and print the folder
#
# Settings: KAFKA_PEER_DIR (default /tmp/strata-apache-kafka), KAFKA_PEER_PORT
# (default STRATA_CLUSTER_PORT or 19092), KAFKA_PEER_HEAP (default 384m).
set -eu
cd "$(dirname "$0")"
DIR=${KAFKA_PEER_DIR:-/tmp/strata-apache-kafka}
PORT=${KAFKA_PEER_PORT:-${STRATA_CLUSTER_PORT:-19092}}
KPORT=$((PORT + 2))
CPORT=$((PORT + 5))
LIB=$PWD/peer/target/lib

jars() {
  if ! ls "$LIB"/kafka_2.13-*.jar >/dev/null 2>&1; then
    (cd peer && { mvn -q -o package >/dev/null 2>&1 || mvn -q package; }) >&2
  fi
}

alive() { [ -f "$DIR/node-$1.pid" ] && kill -0 "$(cat "$DIR/node-$1.pid")" 2>/dev/null; }

wait_port() { # host port seconds
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# The properties of node $1 in a cluster of $2.
props() {
  local i=$1 n=$2 voters="" j
  for j in $(seq 1 "$n"); do voters="$voters${voters:+,}$j@127.0.0.$j:$CPORT"; done
  cat <<P
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.$i:$KPORT,CONTROLLER://127.0.0.$i:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.$i:$KPORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DIR/node-$i/data
offsets.topic.replication.factor=$n
transaction.state.log.replication.factor=$n
transaction.state.log.min.isr=1
num.partitions=1
group.initial.rebalance.delay.ms=0
P
}

java_cmd() { # main class, args... (exec_java=1: exec it)
  ${exec_java:+exec} java -Xmx"${KAFKA_PEER_HEAP:-384m}" -Xss1m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$DIR/log4j2.properties" -cp "$LIB/*" "$@"
}

start_node() {
  local i=$1
  alive "$i" && return 0
  # exec: the pid file must hold the JVM's pid, not a subshell's (kill -9
  # of a backgrounded function's subshell left the node running).
  (exec_java=1 java_cmd kafka.Kafka "$DIR/node-$i/server.properties") >>"$DIR/node-$i.log" 2>&1 &
  echo $! >"$DIR/node-$i.pid"
}

case "${1:-}" in
up)
  n=${2:-3}
  jars
  mkdir -p "$DIR"
  cat >"$DIR/log4j2.properties" <<'L'
rootLogger.level=WARN
rootLogger.appenderRef.out.ref=OUT
appender.out.type=Console
appender.out.name=OUT
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
L
  for i in $(seq 1 "$n"); do
    mkdir -p "$DIR/node-$i"
    props "$i" "$n" >"$DIR/node-$i/server.properties"
    [ -f "$DIR/node-$i/data/meta.properties" ] ||
      java_cmd kafka.tools.StorageTool format -t MkU3OEVBNTcwNTJENDM2Qg \
        -c "$DIR/node-$i/server.properties" >>"$DIR/node-$i.log" 2>&1
  done
  for i in $(seq 1 "$n"); do start_node "$i"; done
  for i in $(seq 1 "$n"); do
    wait_port 127.0.0.$i $KPORT 60 || { echo "node $i did not listen:" >&2; tail -n 20 "$DIR/node-$i.log" >&2; exit 1; }
  done
  echo "$n" >"$DIR/nodes"
  echo "apache kafka up: 127.0.0.{1..$n}:$KPORT, folder $DIR"
  ;;
down)
  for f in "$DIR"/node-*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  ;;
kill)
  i=${2:?which node}
  alive "$i" && kill -9 "$(cat "$DIR/node-$i.pid")" && echo "killed node $i"
  rm -f "$DIR/node-$i.pid"
  ;;
restart)
  i=${2:?which node}
  start_node "$i"
  wait_port 127.0.0.$i $KPORT 60 || { echo "node $i did not listen:" >&2; tail -n 20 "$DIR/node-$i.log" >&2; exit 1; }
  ;;
jars) jars; echo "$LIB" ;;
*) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

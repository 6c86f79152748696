#!/bin/bash
# A local Strata cluster for people and tests: one controller and N brokers
# as processes on loopback (broker i on 127.0.0.i), logs, data and PIDs in
# one folder.
#
#   scripts/cluster.sh up [N]        start the controller and N brokers (default 3)
#   scripts/cluster.sh down          stop them (TERM, then KILL); data stays
#   scripts/cluster.sh purge         down, then remove the folder
#   scripts/cluster.sh status        processes, then `strata cluster status`
#   scripts/cluster.sh kill ID       kill -9 broker ID ("controller" for the controller)
#   scripts/cluster.sh stop ID       SIGSTOP it (a pause); `cont ID` resumes it
#   scripts/cluster.sh restart ID    start broker ID (or the controller) again
#
# Settings (environment): STRATA_CLUSTER_DIR (default /tmp/strata-cluster),
# STRATA_CLUSTER_PORT (brokers listen on 127.0.0.i:PORT, default 19092; the
# controller on 127.0.0.1:PORT+1; Kafka-protocol listeners: broker i on
# 127.0.0.i:PORT+2; admin HTTP ports, docs/admin.md: broker i
# on 127.0.0.i:PORT+3, the controller on 127.0.0.1:PORT+4), STRATA_BROKER_SETS / STRATA_CONTROLLER_SETS
# (extra "key=value ..." settings), STRATA_BUILD (binaries, default build).
#
# STRATA_CLUSTER_SECURE=1: TLS on every listener and link, SCRAM, ACLs. On
# the first `up` a throwaway CA and the nodes' certificates are made in
# FOLDER/certs (scripts/certs.sh), random passwords in FOLDER/secrets; the
# controller listens on SSL:// and requires client certificates (a broker is
# User:broker-i by its certificate), creates the user admin at its first
# start (--bootstrap-user), and the brokers listen on SASL_SSL:// (native
# and Kafka; SCRAM-SHA-256/512) and log in to each other as broker-i. The
# authorizer is on, super.users = admin, controller, broker-1..N.
# FOLDER/admin.properties (security.protocol, ssl.ca.location, sasl.*) works
# for `strata --command-config` and `kcat -F`.
set -eu
cd "$(dirname "$0")/.."
BUILD=${STRATA_BUILD:-build}
DIR=${STRATA_CLUSTER_DIR:-/tmp/strata-cluster}
PORT=${STRATA_CLUSTER_PORT:-19092}
CPORT=$((PORT + 1))
KPORT=$((PORT + 2))
APORT=$((PORT + 3))
CAPORT=$((PORT + 4))

wait_port() { # host port seconds
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "timed out waiting for $1:$2" >&2
  return 1
}

alive() { [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

SECURE=${STRATA_CLUSTER_SECURE:-0}
[ "$SECURE" = 0 ] || [ "$SECURE" = 1 ] || { echo "STRATA_CLUSTER_SECURE is 0 or 1" >&2; exit 2; }
RULES='RULE:^CN=(.*?),.*$/$1/,DEFAULT'
# The CLI as admin (over TLS + SCRAM when secure).
cli() {
  if [ "$SECURE" = 1 ]; then "$BUILD/strata" --command-config "$DIR/admin.properties" "$@"
  else "$BUILD/strata" "$@"; fi
}

# Secure mode's certificates, passwords and admin.properties, made once per folder.
secure_init() { # brokers
  local n=$1 i
  mkdir -p "$DIR/secrets" && chmod 700 "$DIR/secrets"
  [ -f "$DIR/certs/ca.pem" ] || scripts/certs.sh "$DIR/certs" "$n" admin >/dev/null
  for i in admin $(seq -f 'broker-%g' 1 "$n"); do
    [ -s "$DIR/secrets/$i.password" ] ||
      (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$DIR/secrets/$i.password")
  done
  [ -f "$DIR/admin.properties" ] || (umask 077 && cat >"$DIR/admin.properties" <<PROPS
security.protocol=SASL_SSL
ssl.ca.location=$DIR/certs/ca.pem
sasl.mechanism=SCRAM-SHA-512
sasl.username=admin
sasl.password=$(cat "$DIR/secrets/admin.password")
PROPS
)
}

super_users() {
  local s="User:admin;User:controller" i
  for i in $(seq 1 "$(cat "$DIR/brokers" 2>/dev/null || echo 3)"); do s="$s;User:broker-$i"; done
  echo "$s"
}

# The settings of a secure node whose certificate is NAME.
secure_sets() { # name
  echo ssl.certificate.location="$DIR/certs/$1.pem"
  echo ssl.key.location="$DIR/certs/$1.key"
  echo ssl.ca.location="$DIR/certs/ca.pem"
  echo "ssl.principal.mapping.rules=$RULES"
  echo authorizer.enabled=true
  echo "super.users=$(super_users)"
}

start_controller() {
  mkdir -p "$DIR"
  alive controller && return 0
  local sets=() scheme=
  if [ "$SECURE" = 1 ]; then
    scheme=SSL://
    sets+=(--set ssl.client.auth=required --bootstrap-user admin
      --bootstrap-password-file "$DIR/secrets/admin.password")
    while IFS= read -r kv; do sets+=(--set "$kv"); done < <(secure_sets controller)
  fi
  for kv in ${STRATA_CONTROLLER_SETS:-}; do sets+=(--set "$kv"); done
  "$BUILD/strata-controller" --set data.dir="$DIR/controller" --set listeners=${scheme}127.0.0.1:$CPORT \
    --set admin.listeners=127.0.0.1:$CAPORT \
    "${sets[@]+"${sets[@]}"}" >>"$DIR/controller.log" 2>&1 &
  echo $! >"$DIR/controller.pid"
  wait_port 127.0.0.1 $CPORT 15 && sleep 0.1 && alive controller ||
    { echo "controller did not start:" >&2; tail -n 5 "$DIR/controller.log" >&2; return 1; }
}

start_broker() {
  local id=$1
  alive "broker-$id" && return 0
  local sets=() scheme= cscheme=
  if [ "$SECURE" = 1 ]; then
    scheme=SASL_SSL:// cscheme=SSL://
    sets+=(--set ssl.client.auth=requested --set sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
      --set sasl.mechanism=SCRAM-SHA-512 --set sasl.username=broker-$id
      --set sasl.password.file="$DIR/secrets/broker-$id.password")
    while IFS= read -r kv; do sets+=(--set "$kv"); done < <(secure_sets "broker-$id")
  fi
  for kv in ${STRATA_BROKER_SETS:-}; do sets+=(--set "$kv"); done
  "$BUILD/strata-broker" --set broker.id="$id" --set log.dir="$DIR/broker-$id" \
    --set listeners=${scheme}127.0.0.$id:$PORT --set controller=${cscheme}127.0.0.1:$CPORT \
    --set admin.listeners=127.0.0.$id:$APORT --set kafka.listeners=${scheme}127.0.0.$id:$KPORT \
    "${sets[@]+"${sets[@]}"}" >>"$DIR/broker-$id.log" 2>&1 &
  echo $! >"$DIR/broker-$id.pid"
  wait_port 127.0.0.$id $PORT 15 && sleep 0.1 && alive "broker-$id" ||
    { echo "broker $id did not start:" >&2; tail -n 5 "$DIR/broker-$id.log" >&2; return 1; }
}

stop_one() { # name
  alive "$1" || { rm -f "$DIR/$1.pid"; return 0; }
  local pid
  pid=$(cat "$DIR/$1.pid")
  kill -CONT "$pid" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$DIR/$1.pid"
}

name_of() { if [ "$1" = controller ]; then echo controller; else echo "broker-$1"; fi; }

cmd=${1:-}
case "$cmd" in
up)
  n=${2:-3}
  [ -x "$BUILD/strata-broker" ] || { echo "build first: make" >&2; exit 1; }
  mkdir -p "$DIR"
  echo "$n" >"$DIR/brokers"
  [ "$SECURE" = 0 ] || secure_init "$n"
  start_controller
  for i in $(seq 1 "$n"); do start_broker "$i"; done
  if [ "$SECURE" = 1 ] && [ ! -f "$DIR/secrets/users-made" ]; then
    # The brokers' own SCRAM users (their follower links log in with them),
    # made by admin through broker 1 once it has its first metadata.
    for i in $(seq 1 "$n"); do
      made=0
      for _ in $(seq 60); do
        cli --bootstrap 127.0.0.1:$PORT user create "broker-$i" --password-file "$DIR/secrets/broker-$i.password" \
          >>"$DIR/cli.log" 2>&1 && { made=1; break; }
        sleep 0.5
      done
      [ $made = 1 ] || { echo "could not create user broker-$i:" >&2; tail -n 3 "$DIR/cli.log" >&2; exit 1; }
    done
    touch "$DIR/secrets/users-made"
  fi
  # Brokers register within a heartbeat; wait until the controller knows them all.
  for _ in $(seq 100); do
    c=$(cli cluster status --bootstrap 127.0.0.1:$PORT 2>/dev/null | grep -c " alive$" || true)
    [ "$c" -ge "$n" ] && break
    sleep 0.1
  done
  echo "cluster up: controller 127.0.0.1:$CPORT, brokers 127.0.0.{1..$n}:$PORT, folder $DIR"
  if [ "$SECURE" = 1 ]; then
    echo "secure:   TLS + SCRAM everywhere, ACLs on; as admin: $BUILD/strata --command-config $DIR/admin.properties ..."
    echo "kafka:    127.0.0.{1..$n}:$KPORT   (kcat -F $DIR/admin.properties -b 127.0.0.1:$KPORT -L)"
  else
    echo "kafka:    127.0.0.{1..$n}:$KPORT   (Kafka clients: kcat -b 127.0.0.1:$KPORT -L)"
  fi
  echo "console:  http://127.0.0.1:$APORT/   (any broker's admin port serves it)"
  echo "metrics:  http://127.0.0.{1..$n}:$APORT/metrics, controller http://127.0.0.1:$CAPORT/metrics"
  ;;
down)
  for f in "$DIR"/broker-*.pid; do [ -e "$f" ] && stop_one "$(basename "$f" .pid)"; done
  stop_one controller
  ;;
purge)
  "$0" down
  case "$DIR" in /tmp/*) rm -rf "$DIR" ;; *) echo "not removing $DIR (only /tmp folders)" >&2 ;; esac
  ;;
status)
  for f in "$DIR"/*.pid; do
    [ -e "$f" ] || continue
    n=$(basename "$f" .pid)
    if alive "$n"; then echo "$n: running (pid $(cat "$f"))"; else echo "$n: not running"; fi
  done
  cli cluster status --bootstrap "${STRATA_BOOTSTRAP:-127.0.0.1:$PORT}" || true
  ;;
kill)
  n=$(name_of "${2:?which broker id}")
  alive "$n" && kill -9 "$(cat "$DIR/$n.pid")" && echo "killed $n"
  rm -f "$DIR/$n.pid"
  ;;
stop) n=$(name_of "${2:?which broker id}"); alive "$n" && kill -STOP "$(cat "$DIR/$n.pid")" ;;
cont) n=$(name_of "${2:?which broker id}"); alive "$n" && kill -CONT "$(cat "$DIR/$n.pid")" ;;
restart)
  id=${2:?which broker id}
  if [ "$id" = controller ]; then start_controller; else start_broker "$id"; fi
  ;;
*)
  sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'
  [ "$cmd" = --help ] || [ "$cmd" = -h ] || [ "$cmd" = help ]
  ;;
esac

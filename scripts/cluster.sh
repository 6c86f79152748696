#!/bin/bash
# A local Strata cluster for people and tests: one controller and N brokers
# as processes on loopback (broker i on 127.0.0.i), logs, data and PIDs in
# one folder.
#
#   scripts/cluster.sh up [N]        start the controller and N brokers (default 3)
#   scripts/cluster.sh down          stop them (TERM, then KILL); data stays
#   scripts/cluster.sh purge         down, then remove the folder
#   scripts/cluster.sh status        processes, then `strata cluster status`
#   scripts/cluster.sh kill ID       kill -9 broker ID ("controller" for the controller;
#                                    controller-1..3 with STRATA_CONTROLLERS=3)
#   scripts/cluster.sh stop ID       SIGSTOP it (a pause); `cont ID` resumes it
#   scripts/cluster.sh restart ID    start broker ID (or a controller) again; `start ID` the same
#   scripts/cluster.sh controllers   each controller's address, pid and whether it runs
#
# STRATA_CONTROLLERS=3 (at `up`; the folder remembers it): a controller
# quorum of three, controller-1..3, each with its own data folder
# (FOLDER/controller-K), node.id=K and controller.quorum.voters naming all
# three; the brokers get the list (controller=A,B,C) and find the active
# one. Ports on 127.0.0.1: controller-1 PORT+1 (admin PORT+4) as the single
# controller has, controller-2 PORT+5 (admin PORT+7), controller-3 PORT+6
# (admin PORT+8). Default (unset or 1): one controller, as always. With
# STRATA_TLS=1 (or STRATA_CLUSTER_SECURE=1) the controllers talk to each
# other over mutual TLS on their SSL:// listeners, each with the shared
# controller certificate (User:controller, a super user when secure).
#
# Settings (environment): STRATA_CLUSTER_DIR (default /tmp/strata-cluster),
# STRATA_CLUSTER_PORT (brokers listen on 127.0.0.i:PORT, default 19092; the
# controller on 127.0.0.1:PORT+1; Kafka-protocol listeners: broker i on
# 127.0.0.i:PORT+2; admin HTTP ports, docs/admin.md: broker i
# on 127.0.0.i:PORT+3, the controller on 127.0.0.1:PORT+4), STRATA_BROKER_SETS / STRATA_CONTROLLER_SETS
# (extra "key=value ..." settings), STRATA_BUILD (binaries, default build).
# STRATA_TLS=1: TLS on every link: SSL:// listeners (native, Kafka,
# controller), mutual TLS between the nodes, certificates from a throwaway CA
# made at `up` into the folder's tls/ (scripts/cluster-certs.sh); clients
# use --command-config FOLDER/tls/client.properties (kcat -F reads it too).
# STRATA_CLUSTER_SECURE=1: STRATA_TLS=1 plus SCRAM logins and ACLs: brokers
# listen on SASL_SSL:// (native and Kafka; SCRAM-SHA-256/512), log in to each
# other as broker-i, reach the controller with mutual TLS (User:broker-i by
# certificate, ssl.principal.mapping.rules); the authorizer is on everywhere,
# super.users = admin, controller, broker-1..N. The controller creates the
# user admin at its first start (--bootstrap-user); `up` then creates the
# brokers' users. Random passwords in FOLDER/secrets; as admin:
# --command-config FOLDER/admin.properties (kcat -F reads it too).
set -eu
cd "$(dirname "$0")/.."
BUILD=${STRATA_BUILD:-build}
DIR=${STRATA_CLUSTER_DIR:-/tmp/strata-cluster}
PORT=${STRATA_CLUSTER_PORT:-19092}
CPORT=$((PORT + 1))
KPORT=$((PORT + 2))
APORT=$((PORT + 3))
CAPORT=$((PORT + 4))
# The number of controllers: what the folder's cluster was started with,
# else STRATA_CONTROLLERS (1 or 3).
NCTL=${STRATA_CONTROLLERS:-1}
[ -f "$DIR/controllers" ] && [ "${1:-}" != up ] && NCTL=$(cat "$DIR/controllers")
case "$NCTL" in 1 | 3) ;; *) echo "STRATA_CONTROLLERS: 1 or 3, not '$NCTL'" >&2; exit 2 ;; esac
. scripts/lib.sh # strata_ctl_port, strata_ctl_aport: the quorum's port layout
ctl_port() { strata_ctl_port "$PORT" "$1"; }
ctl_aport() { strata_ctl_aport "$PORT" "$1"; }
# controller.quorum.voters and the brokers' controller list.
VOTERS=
CTL_LIST=
TLS=${STRATA_TLS:-0}
SECURE=${STRATA_CLUSTER_SECURE:-0}
[ "$SECURE" = 1 ] && TLS=1
SCHEME=
[ "$TLS" = 1 ] && SCHEME=SSL://
BSCHEME=$SCHEME # the brokers' listeners
[ "$SECURE" = 1 ] && BSCHEME=SASL_SSL://
for k in $(seq 1 "$NCTL"); do
  VOTERS="$VOTERS${VOTERS:+,}$k@127.0.0.1:$(ctl_port "$k")"
  CTL_LIST="$CTL_LIST${CTL_LIST:+,}${SCHEME}127.0.0.1:$(ctl_port "$k")"
done
CLIENT_SETS=()
[ "$TLS" = 1 ] && CLIENT_SETS=(--command-config "$DIR/tls/client.properties")
[ "$SECURE" = 1 ] && CLIENT_SETS=(--command-config "$DIR/admin.properties")

# The ssl.* settings of node $1 (controller, broker-N) with STRATA_TLS=1.
tls_sets() {
  [ "$TLS" = 1 ] || return 0
  printf '%s\n' --set "ssl.certificate.location=$DIR/tls/$1.pem" --set "ssl.key.location=$DIR/tls/$1.key" \
    --set "ssl.ca.location=$DIR/tls/ca.pem" --set ssl.client.auth=required
}
# STRATA_CLUSTER_SECURE=1: the authorizer and, for brokers (secure_sets
# broker ID), SCRAM: what it accepts and its own login.
secure_sets() {
  [ "$SECURE" = 1 ] || return 0
  local su="User:admin;User:controller" i
  for i in $(seq 1 "$(cat "$DIR/brokers" 2>/dev/null || echo 3)"); do su="$su;User:broker-$i"; done
  printf '%s\n' --set 'ssl.principal.mapping.rules=RULE:^CN=(.*?),.*$/$1/,DEFAULT' \
    --set authorizer.enabled=true --set "super.users=$su"
  [ "$1" = broker ] || return 0
  printf '%s\n' --set ssl.client.auth=requested --set sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512 \
    --set sasl.mechanism=SCRAM-SHA-512 --set "sasl.username=broker-$2" \
    --set "sasl.password.file=$DIR/secrets/broker-$2.password"
}
# Passwords and admin.properties (made once per folder).
secure_prepare() { # brokers
  [ "$SECURE" = 1 ] || return 0
  local u
  mkdir -p "$DIR/secrets" && chmod 700 "$DIR/secrets"
  for u in admin $(seq -f 'broker-%g' 1 "$1"); do
    [ -s "$DIR/secrets/$u.password" ] ||
      (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$DIR/secrets/$u.password")
  done
  [ -f "$DIR/admin.properties" ] || (umask 077 && printf '%s\n' "security.protocol=SASL_SSL" \
    "ssl.ca.location=$DIR/tls/ca.pem" "sasl.mechanism=SCRAM-SHA-512" "sasl.username=admin" \
    "sasl.password=$(cat "$DIR/secrets/admin.password")" >"$DIR/admin.properties")
}
# The brokers' own SCRAM users (their follower links log in with them),
# made by admin through broker 1 once it has its first metadata.
secure_users() { # brokers
  [ "$SECURE" = 1 ] && [ ! -f "$DIR/secrets/users-made" ] || return 0
  local i made
  for i in $(seq 1 "$1"); do
    made=0
    for _ in $(seq 60); do
      "$BUILD/strata" "${CLIENT_SETS[@]}" --bootstrap 127.0.0.1:$PORT user create "broker-$i" \
        --password-file "$DIR/secrets/broker-$i.password" >>"$DIR/cli.log" 2>&1 && { made=1; break; }
      sleep 0.5
    done
    [ $made = 1 ] || { echo "could not create user broker-$i:" >&2; tail -n 3 "$DIR/cli.log" >&2; return 1; }
  done
  touch "$DIR/secrets/users-made"
}

# Certificates for up to $1 brokers (made once per folder).
tls_prepare() {
  [ "$TLS" = 1 ] || return 0
  [ -f "$DIR/tls/broker-$1.pem" ] && return 0
  scripts/cluster-certs.sh "$DIR/tls" "$1" 127.0.0.1 >/dev/null
}

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
# Wait (up to 10 s) until process $1 has exited (gone, or a zombie): until
# then its ports are still bound, and a restart at once fails with "address
# already in use" (seen under ASan, whose exit takes longer).
gone() {
  local _ st
  for _ in $(seq 200); do
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [ -z "$st" ] || [ "$st" = Z ] && return 0
    sleep 0.05
  done
  return 1
}

# start_controller [K]: the single controller, or controller-K of three
# (all three share the controller certificate: its SAN is 127.0.0.1).
start_controller() {
  local k=${1:-1} name=controller port=$CPORT aport=$CAPORT qsets=()
  if [ "$NCTL" -gt 1 ]; then
    name=controller-$k
    port=$(ctl_port "$k")
    aport=$(ctl_aport "$k")
    qsets=(--set node.id="$k" --set controller.quorum.voters="$VOTERS")
  fi
  mkdir -p "$DIR"
  alive $name && return 0
  local sets=()
  for kv in ${STRATA_CONTROLLER_SETS:-}; do sets+=(--set "$kv"); done
  mapfile -t tsets < <(tls_sets controller; secure_sets controller)
  [ "$SECURE" = 0 ] || tsets+=(--bootstrap-user admin --bootstrap-password-file "$DIR/secrets/admin.password")
  "$BUILD/strata-controller" --set data.dir="$DIR/$name" --set listeners=${SCHEME}127.0.0.1:$port \
    "${qsets[@]+"${qsets[@]}"}" "${tsets[@]+"${tsets[@]}"}" \
    --set admin.listeners=127.0.0.1:$aport \
    "${sets[@]+"${sets[@]}"}" >>"$DIR/$name.log" 2>&1 &
  echo $! >"$DIR/$name.pid"
  wait_port 127.0.0.1 "$port" 15 && sleep 0.1 && alive $name ||
    { echo "$name did not start:" >&2; tail -n 5 "$DIR/$name.log" >&2; return 1; }
}
# Every controller (with three, in turn: each listens at once; the quorum
# elects its leader once a majority runs).
start_controllers() {
  local k
  for k in $(seq 1 "$NCTL"); do start_controller "$k"; done
}

start_broker() {
  local id=$1
  alive "broker-$id" && return 0
  local sets=()
  for kv in ${STRATA_BROKER_SETS:-}; do sets+=(--set "$kv"); done
  tls_prepare "$id"
  mapfile -t tsets < <(tls_sets "broker-$id"; secure_sets broker "$id")
  "$BUILD/strata-broker" --set broker.id="$id" --set log.dir="$DIR/broker-$id" \
    --set listeners=${BSCHEME}127.0.0.$id:$PORT --set controller="$CTL_LIST" \
    --set admin.listeners=127.0.0.$id:$APORT --set kafka.listeners=${BSCHEME}127.0.0.$id:$KPORT \
    "${tsets[@]+"${tsets[@]}"}" \
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

# The process name of an ID: a broker's number, "controller", or
# controller-K (with three; "controller" alone is then refused: say which).
name_of() {
  case "$1" in
  controller)
    [ "$NCTL" = 1 ] || { echo "$NCTL controllers: say which, controller-1..$NCTL" >&2; exit 2; }
    echo controller ;;
  controller-[0-9]*)
    [ "$NCTL" -gt 1 ] && [ "${1#controller-}" -ge 1 ] && [ "${1#controller-}" -le "$NCTL" ] ||
      { echo "no $1 (controllers: $([ "$NCTL" = 1 ] && echo controller || echo "controller-1..$NCTL"))" >&2; exit 2; }
    echo "$1" ;;
  *) echo "broker-$1" ;;
  esac
}

cmd=${1:-}
case "$cmd" in
up)
  n=${2:-3}
  [ -x "$BUILD/strata-broker" ] || { echo "build first: make" >&2; exit 1; }
  mkdir -p "$DIR"
  echo "$n" >"$DIR/brokers"
  echo "$NCTL" >"$DIR/controllers"
  tls_prepare "$n"
  secure_prepare "$n"
  start_controllers
  for i in $(seq 1 "$n"); do start_broker "$i"; done
  secure_users "$n"
  # Brokers register within a heartbeat; wait until the controller knows them all.
  for _ in $(seq 100); do
    c=$("$BUILD/strata" cluster status --bootstrap 127.0.0.1:$PORT "${CLIENT_SETS[@]+"${CLIENT_SETS[@]}"}" 2>/dev/null | grep -c " alive$" || true)
    [ "$c" -ge "$n" ] && break
    sleep 0.1
  done
  if [ "$NCTL" = 1 ]; then
    echo "cluster up: controller 127.0.0.1:$CPORT, brokers 127.0.0.{1..$n}:$PORT, folder $DIR"
  else
    echo "cluster up: controllers $CTL_LIST (quorum $VOTERS), brokers 127.0.0.{1..$n}:$PORT, folder $DIR"
  fi
  if [ "$SECURE" = 1 ]; then echo "kafka:    127.0.0.{1..$n}:$KPORT   (SASL_SSL: kcat -F $DIR/admin.properties -b 127.0.0.1:$KPORT -L)"
  else echo "kafka:    127.0.0.{1..$n}:$KPORT   (Kafka clients: kcat -b 127.0.0.1:$KPORT -L)"; fi
  if [ "$SECURE" = 1 ]; then
    echo "secure:   TLS + SCRAM on every link, ACLs on; as admin: strata --command-config $DIR/admin.properties (kcat -F the same file)"
  elif [ "$TLS" = 1 ]; then
    echo "tls:      every link; clients: strata --command-config $DIR/tls/client.properties (kcat -F the same file)"
  fi
  echo "console:  http://127.0.0.1:$APORT/   (any broker's admin port serves it)"
  if [ "$NCTL" = 1 ]; then
    echo "metrics:  http://127.0.0.{1..$n}:$APORT/metrics, controller http://127.0.0.1:$CAPORT/metrics"
  else
    echo "metrics:  http://127.0.0.{1..$n}:$APORT/metrics, controllers http://127.0.0.1:{$(ctl_aport 1),$(ctl_aport 2),$(ctl_aport 3)}/metrics"
  fi
  ;;
down)
  for f in "$DIR"/broker-*.pid; do [ -e "$f" ] && stop_one "$(basename "$f" .pid)"; done
  for f in "$DIR"/controller*.pid; do [ -e "$f" ] && stop_one "$(basename "$f" .pid)"; done
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
  "$BUILD/strata" cluster status --bootstrap "${STRATA_BOOTSTRAP:-127.0.0.1:$PORT}" \
    "${CLIENT_SETS[@]+"${CLIENT_SETS[@]}"}" || true
  ;;
kill)
  n=$(name_of "${2:?which broker id}")
  if alive "$n"; then
    pid=$(cat "$DIR/$n.pid")
    kill -9 "$pid" && gone "$pid" && echo "killed $n"
  fi
  rm -f "$DIR/$n.pid"
  ;;
stop) n=$(name_of "${2:?which broker id}"); alive "$n" && kill -STOP "$(cat "$DIR/$n.pid")" ;;
cont) n=$(name_of "${2:?which broker id}"); alive "$n" && kill -CONT "$(cat "$DIR/$n.pid")" ;;
restart | start)
  id=${2:?which broker id}
  n=$(name_of "$id")
  case "$n" in
  controller) start_controller ;;
  controller-*) start_controller "${n#controller-}" ;;
  *) start_broker "$id" ;;
  esac
  ;;
controllers)
  for k in $(seq 1 "$NCTL"); do
    n=controller; [ "$NCTL" = 1 ] || n=controller-$k
    if alive $n; then st="running (pid $(cat "$DIR/$n.pid"))"; else st="not running"; fi
    echo "$n: ${SCHEME}127.0.0.1:$(ctl_port "$k") admin 127.0.0.1:$(ctl_aport "$k") $st"
  done
  ;;
*)
  sed -n '2,/^set -eu/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  [ "$cmd" = --help ] || [ "$cmd" = -h ] || [ "$cmd" = help ]
  ;;
esac

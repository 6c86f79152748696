#!/bin/bash
# `make demo`: start a local Strata cluster (a quorum of three controllers,
# controller-1..3 on 127.0.0.1, and three brokers on 127.0.0.1-3; print
# `strata cluster status`, whose quorum lines name the active one), create iot_sensor_data (6 partitions, replication factor 3,
# min.insync.replicas 2), run the IoT sensor simulator into it with acks=all,
# and show a live per-site summary read back from the log. Ctrl-C stops
# everything and removes the data.
#   STRATA_DEMO_PORT     broker port (default 19092; controllers on PORT+1, PORT+5
#                        and PORT+6, as scripts/cluster.sh puts them)
#   STRATA_DEMO_CONTROLLERS  1 or 3 (default 3; scripts/cluster.sh's STRATA_CONTROLLERS)
#   STRATA_DEMO_DIR      keep data and logs here instead of a temp dir
#   STRATA_DEMO_SECONDS  stop after this many seconds (default: run until Ctrl-C)
#   STRATA_DEMO_RATE     sensor readings per second (default 2000)
#   STRATA_DEMO_REBALANCE_AFTER  seconds until one of the three consumers of the
#                        group demo-alerts is killed, to show a rebalance (default 20;
#                        0: never)
#   STRATA_DEMO_SECURE=1 the same through a secure cluster (scripts/cluster.sh's
#                        STRATA_CLUSTER_SECURE): a throwaway CA made with openssl in
#                        the temp folder, TLS on every listener and link, SCRAM
#                        logins, the authorizer on; the sensors, consumers and summary
#                        run as the user "demo", allowed only on iot_sensor_data and
#                        the group demo-alerts; a kcat command that works is printed.
#                        The three controllers talk to each other over mutual TLS
#                        (User:controller, a super user)
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh
export STRATA_CLUSTER_PORT=${STRATA_DEMO_PORT:-19092}
rate=${STRATA_DEMO_RATE:-2000}
if [ -n "${STRATA_DEMO_DIR:-}" ]; then dir=$STRATA_DEMO_DIR; keep=1; else dir=$(mktemp -d /tmp/strata-demo.XXXXXX); keep=0; fi
export STRATA_CLUSTER_DIR=$dir
cleanup() {
  strata_stop_all
  scripts/cluster.sh down >/dev/null 2>&1 || true
  [ "$keep" = 1 ] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

secure=${STRATA_DEMO_SECURE:-0}
kport=$((STRATA_CLUSTER_PORT + 2))
nctl=${STRATA_DEMO_CONTROLLERS:-3}
case "$nctl" in 1 | 3) ;; *) echo "STRATA_DEMO_CONTROLLERS: 1 or 3, not '$nctl'" >&2; exit 2 ;; esac
if [ "$secure" = 1 ]; then
  command -v openssl >/dev/null || { echo "STRATA_DEMO_SECURE=1 needs openssl (scripts/deps.sh --install)" >&2; exit 1; }
  export STRATA_CLUSTER_SECURE=1
  ctls="$nctl controllers (a quorum)"; [ "$nctl" = 1 ] && ctls="1 controller"
  echo "Starting a secure Strata cluster: $ctls + 3 brokers on loopback, TLS + SCRAM on"
  echo "every listener and link (mutual TLS between the controllers), ACLs on"
  echo "(throwaway CA, data and logs in $dir)"
elif [ "$nctl" = 3 ]; then
  echo "Starting a Strata cluster: 3 controllers (a quorum: one active, two following its"
  echo "metadata log) + 3 brokers on loopback (data and logs in $dir)"
else
  echo "Starting a Strata cluster: 1 controller + 3 brokers on loopback (data and logs in $dir)"
fi
export STRATA_CONTROLLERS=$nctl
scripts/cluster.sh up 3
export STRATA_BOOTSTRAP=127.0.0.1:$STRATA_CLUSTER_PORT
admin=()
[ "$secure" = 1 ] && admin=(--command-config "$dir/admin.properties")
# The quorum has elected its active controller (the brokers registered
# through it); its lines say which: `controller N (active)`.
echo
"$STRATA_BIN" ${admin[@]+"${admin[@]}"} cluster status
active=$("$STRATA_BIN" ${admin[@]+"${admin[@]}"} cluster status 2>/dev/null |
  sed -n 's/^controller \([0-9]*\) (active).*/\1/p' | head -1)
echo
if [ "$secure" = 1 ]; then
  # The user the demo runs as, its password made here and given on stdin, and
  # what it may do: write and read iot_sensor_data, be in demo-alerts.
  (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$dir/secrets/demo.password")
  "$STRATA_BIN" ${admin[@]+"${admin[@]}"} user create demo <"$dir/secrets/demo.password"
  "$STRATA_BIN" ${admin[@]+"${admin[@]}"} acl add --allow-principal User:demo --operation Write --operation Read \
    --operation Describe --topic iot_sensor_data
  "$STRATA_BIN" ${admin[@]+"${admin[@]}"} acl add --allow-principal User:demo --operation Read --operation Describe \
    --group demo-alerts
  (umask 077 && cat >"$dir/demo.properties" <<PROPS
security.protocol=SASL_SSL
ssl.ca.location=$dir/tls/ca.pem
sasl.mechanism=SCRAM-SHA-512
sasl.username=demo
sasl.password=$(cat "$dir/secrets/demo.password")
PROPS
)
  "$STRATA_BIN" ${admin[@]+"${admin[@]}"} acl list
  export STRATA_COMMAND_CONFIG=$dir/demo.properties # every strata below runs as demo
fi
"$STRATA_BIN" ${admin[@]+"${admin[@]}"} topic create iot_sensor_data --partitions 6 --replication-factor 3 \
  --config min.insync.replicas=2 --config retention.ms=3600000
"$STRATA_BIN" ${admin[@]+"${admin[@]}"} topic describe iot_sensor_data
echo
echo "Sensors publish $rate readings/s keyed by sensor id with acks=all (each acknowledged"
echo "reading is fsynced on at least 2 of 3 brokers). The summary is read back from the log."
if [ "${STRATA_DEMO_REBALANCE_AFTER:-20}" -gt 0 ]; then
  echo "Three consumers in the group demo-alerts share the partitions; one of them is killed"
  echo "after ${STRATA_DEMO_REBALANCE_AFTER:-20} s, and the others take over its partitions (watch the group panel)."
else
  echo "Three consumers in the group demo-alerts share the partitions (watch the group panel)."
fi
echo "Watch it in a browser: http://127.0.0.1:$((STRATA_CLUSTER_PORT + 3))/ (the console; Prometheus"
echo "metrics at /metrics on every broker's admin port, docs/admin.md)."
echo "Read it with any Kafka client: each broker speaks Kafka's protocol on 127.0.0.i:$kport:"
if [ "$secure" = 1 ]; then
  echo "    kcat -b 127.0.0.1:$kport -X security.protocol=SASL_SSL -X ssl.ca.location=$dir/tls/ca.pem \\"
  echo "      -X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=demo -X sasl.password=$(cat "$dir/secrets/demo.password") \\"
  echo "      -C -t iot_sensor_data -o -5 -e -f '%k %s\\n'"
  echo "  (or: kcat -F $dir/demo.properties -b 127.0.0.1:$kport -C -t iot_sensor_data -o -5 -e;"
  echo "   strata --command-config $dir/demo.properties consume -t iot_sensor_data)"
else
  echo "    kcat -b 127.0.0.1:$kport -C -t iot_sensor_data -o -5 -e -f '%k %s\\n'"
fi
env="STRATA_CLUSTER_DIR=$dir"
[ "$STRATA_CLUSTER_PORT" = 19092 ] || env="STRATA_CLUSTER_PORT=$STRATA_CLUSTER_PORT $env" # status asks there
[ "$secure" = 1 ] && env="STRATA_CLUSTER_SECURE=1 $env" # status then logs in as admin
echo "Try, in another terminal: $env scripts/cluster.sh kill 2"
if [ "$nctl" = 3 ]; then
  echo "                          $env scripts/cluster.sh kill controller-${active:-1}"
  echo "                          (the active controller: another one takes over within a few seconds)"
fi
echo "                          $env scripts/cluster.sh status"
sleep 2
"$STRATA_BIN" demo sensors --topic iot_sensor_data --rate "$rate" --acks all >>"$dir/sensors.log" 2>&1 &
_strata_pids+=("$!")
# A consumer group of three: the coordinator spreads the 6 partitions over them.
workers=()
for i in 1 2 3; do
  "$STRATA_BIN" consume --group demo-alerts --topic iot_sensor_data >/dev/null 2>>"$dir/group.log" &
  workers+=("$!")
  _strata_pids+=("$!")
  disown "$!" # its kill -9 below is the point, not news for the terminal
done
after=${STRATA_DEMO_REBALANCE_AFTER:-20}
if [ "$after" -gt 0 ]; then
  # Kill one consumer (no goodbye): after its session timeout the other two take its partitions.
  (sleep "$after"; kill -9 "${workers[0]}" 2>/dev/null) &
  _strata_pids+=("$!")
fi
summary_args=(demo summary --topic iot_sensor_data --group demo-alerts)
if [ -n "${STRATA_DEMO_SECONDS:-}" ]; then summary_args+=(--duration "$STRATA_DEMO_SECONDS"); fi
"$STRATA_BIN" "${summary_args[@]}"

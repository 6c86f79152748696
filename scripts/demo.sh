#!/bin/bash
# `make demo`: start a local Strata broker, create the iot_sensor_data topic,
# run the IoT sensor simulator into it and show a live per-site summary read
# back from the log. Ctrl-C stops everything and removes the data.
#   STRATA_DEMO_PORT     broker port (default 19092)
#   STRATA_DEMO_DIR      keep data and logs here instead of a temp dir
#   STRATA_DEMO_SECONDS  stop after this many seconds (default: run until Ctrl-C)
#   STRATA_DEMO_RATE     sensor readings per second (default 2000)
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh
port=${STRATA_DEMO_PORT:-19092}
rate=${STRATA_DEMO_RATE:-2000}
if [ -n "${STRATA_DEMO_DIR:-}" ]; then dir=$STRATA_DEMO_DIR; keep=1; else dir=$(mktemp -d /tmp/strata-demo.XXXXXX); keep=0; fi
cleanup() {
  strata_stop_all
  [ "$keep" = 1 ] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "Starting a Strata broker on 127.0.0.1:$port (data and logs in $dir)"
strata_start_broker "$dir" "$port"
export STRATA_BOOTSTRAP=127.0.0.1:$port
"$STRATA_BIN" topic create iot_sensor_data --partitions 6 --replication-factor 1 \
  --config retention.ms=3600000
"$STRATA_BIN" topic describe iot_sensor_data
echo "Sensors publish $rate readings/s keyed by sensor id; the summary below is read back from the log."
"$STRATA_BIN" demo sensors --topic iot_sensor_data --rate "$rate" >>"$dir/sensors.log" 2>&1 &
_strata_pids+=("$!")
summary_args=(demo summary --topic iot_sensor_data)
if [ -n "${STRATA_DEMO_SECONDS:-}" ]; then summary_args+=(--duration "$STRATA_DEMO_SECONDS"); fi
"$STRATA_BIN" "${summary_args[@]}"

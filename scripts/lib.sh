# Shared shell helpers for the demo, bench and cluster test scripts.
# Sourced, not run. Every process started here is stopped by its PID.

STRATA_BUILD=${STRATA_BUILD:-build}
STRATA_BIN=${STRATA_BIN:-$STRATA_BUILD/strata}
STRATA_BROKER_BIN=${STRATA_BROKER_BIN:-$STRATA_BUILD/strata-broker}
_strata_pids=()

# Wait until host:port accepts TCP connections, up to $3 seconds.
strata_wait_port() {
  local host=$1 port=$2 deadline=$((SECONDS + ${3:-15}))
  while [ $SECONDS -lt $deadline ]; do
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "timed out waiting for $host:$port" >&2
  return 1
}

# strata_start_broker DATA_DIR PORT [extra --set args...]: start one broker in
# the background, logging to DATA_DIR/broker.log; sets STRATA_BROKER_PID.
strata_start_broker() {
  local dir=$1 port=$2
  shift 2
  mkdir -p "$dir"
  "$STRATA_BROKER_BIN" --set log.dir="$dir/data" --set listeners=127.0.0.1:"$port" \
    "$@" >>"$dir/broker.log" 2>&1 &
  STRATA_BROKER_PID=$!
  _strata_pids+=("$STRATA_BROKER_PID")
  strata_wait_port 127.0.0.1 "$port" 15 || { tail -n 20 "$dir/broker.log" >&2; return 1; }
}

# Stop every process this script started (TERM, then KILL after 5 s).
strata_stop_all() {
  local pid
  for pid in "${_strata_pids[@]+"${_strata_pids[@]}"}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${_strata_pids[@]+"${_strata_pids[@]}"}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  _strata_pids=()
  return 0
}

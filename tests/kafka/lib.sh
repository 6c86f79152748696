# Shared by the Kafka-client tests (tests/kafka/*_test.sh, tests/spark/):
# building their Maven projects, and the cluster they run against. Sourced
# after scripts/lib.sh, from the repository's root.
#
# The cluster is Strata's (scripts/cluster.sh, Kafka listener of broker i
# on 127.0.0.i:PORT+2) unless KAFKA_TEST_TARGET=apache, which runs Apache
# Kafka laid out the same way (tests/kafka/apache_kafka.sh) to check the
# tests themselves. Node ids are 1..N in both.

KAFKA_TEST_TARGET=${KAFKA_TEST_TARGET:-strata}

# kafka_build DIR LOG: `mvn package` in DIR, offline first (the
# dependencies are in ~/.m2 after the first run or `make java-deps`), then
# online; its output to LOG, the tail shown when it fails.
kafka_build() {
  local d=$1 log=$2
  (cd "$d" && mvn -q -o -B package >"$log" 2>&1) && return 0
  echo "offline build of $d failed; fetching its dependencies from Maven Central"
  (cd "$d" && mvn -q -B package >"$log" 2>&1) && return 0
  echo "FAIL mvn package in $d:"
  tail -n 30 "$log"
  return 1
}

# kafka_target_up DIR N: N brokers; sets KAFKA_BOOTSTRAP (every broker's
# Kafka address) and KAFKA_PORT, the Kafka port of each.
kafka_target_up() {
  local dir=$1 n=$2 i port
  if [ "$KAFKA_TEST_TARGET" = apache ]; then
    for _ in $(seq 20); do
      port=$(strata_free_port) || return 1
      _strata_port_used $((port + 2)) || _strata_port_used $((port + 5)) || break
    done
    export KAFKA_PEER_DIR=$dir/apache KAFKA_PEER_PORT=$port
    tests/kafka/apache_kafka.sh up "$n" >"$dir/up.out" 2>&1 || { cat "$dir/up.out"; return 1; }
  else
    strata_cluster_up "$dir" "$n" || return 1
    port=$STRATA_CLUSTER_PORT
  fi
  KAFKA_PORT=$((port + 2))
  KAFKA_BOOTSTRAP=
  for i in $(seq 1 "$n"); do
    strata_wait_port 127.0.0.$i $KAFKA_PORT 20 ||
      { echo "FAIL no Kafka listener on 127.0.0.$i:$KAFKA_PORT ($KAFKA_TEST_TARGET broker $i)"; return 1; }
    KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP${KAFKA_BOOTSTRAP:+,}127.0.0.$i:$KAFKA_PORT
  done
  export KAFKA_BOOTSTRAP KAFKA_PORT
}

# kafka_target_kill ID: kill -9 broker ID. kafka_target_restart ID: start it again.
kafka_target_kill() {
  if [ "$KAFKA_TEST_TARGET" = apache ]; then tests/kafka/apache_kafka.sh kill "$1"
  else scripts/cluster.sh kill "$1"; fi
}

kafka_target_restart() {
  if [ "$KAFKA_TEST_TARGET" = apache ]; then tests/kafka/apache_kafka.sh restart "$1"
  else scripts/cluster.sh restart "$1"; fi
  strata_wait_port 127.0.0.$1 "$KAFKA_PORT" 30
}

kafka_target_down() {
  if [ "$KAFKA_TEST_TARGET" = apache ]; then
    [ -n "${KAFKA_PEER_DIR:-}" ] && tests/kafka/apache_kafka.sh down >/dev/null 2>&1
  else
    [ -n "${STRATA_CLUSTER_DIR:-}" ] && scripts/cluster.sh down >/dev/null 2>&1
  fi
  return 0
}

# kafka_wait_line FILE REGEX SECONDS: wait until a line of FILE matches.
kafka_wait_line() {
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# kafka_npm_install SRC LOG: the npm project SRC (package.json and
# package-lock.json under tests/kafka/) installed with `npm ci` into
# $STRATA_BUILD/npm/$(basename SRC), unless the lock file there is already
# SRC's; prints that directory. npm's cache makes a repeat install quick;
# the first one fetches from the npm registry. Its output to LOG, the tail
# shown when it fails.
kafka_npm_install() {
  local src=$1 log=$2 dest
  dest=$STRATA_BUILD/npm/$(basename "$src")
  if ! cmp -s "$src/package-lock.json" "$dest/.installed" 2>/dev/null; then
    mkdir -p "$dest" && rm -f "$dest/.installed" &&
      cp "$src/package.json" "$src/package-lock.json" "$dest/" || return 1
    if ! npm ci --prefix "$dest" --prefer-offline --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
      echo "FAIL npm ci in $dest:" >&2
      tail -n 30 "$log" >&2
      return 1
    fi
    cp "$src/package-lock.json" "$dest/.installed"
  fi
  echo "$dest"
}

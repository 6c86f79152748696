#!/bin/bash
# What a broker pays per partition: descriptors, RSS and idle CPU of each
# process at 1k, 3k and 10k partitions (issue 15, "measure first").
#
#   bench/scale-measure.sh [BROKERS] [RF]     (defaults: 1 broker, RF 1)
#
# Starts scripts/cluster.sh in its own folder and port range, grows one topic
# per step (topic create + alter), waits IDLE_S seconds, and prints one line
# per process and step. Settings: STRATA_BUILD (default build),
# SCALE_PORT (default 28092), SCALE_STEPS (default "1000 3000 10000"),
# IDLE_S (default 10), SCALE_ULIMIT (ulimit -n for the processes).
set -eu
cd "$(dirname "$0")/.."
N=${1:-1}
RF=${2:-1}
export STRATA_BUILD=${STRATA_BUILD:-build}
export STRATA_CLUSTER_PORT=${SCALE_PORT:-28092}
export STRATA_CLUSTER_DIR=${SCALE_DIR:-/tmp/strata-scale-$$}
STEPS=${SCALE_STEPS:-"1000 3000 10000"}
IDLE_S=${IDLE_S:-10}
[ -n "${SCALE_ULIMIT:-}" ] && ulimit -n "$SCALE_ULIMIT"
CLI="$STRATA_BUILD/strata -b 127.0.0.1:$STRATA_CLUSTER_PORT --timeout 60000"
cleanup() { scripts/cluster.sh purge >/dev/null 2>&1 || true; }
trap cleanup EXIT
scripts/cluster.sh up "$N" >/dev/null
tick=$(getconf CLK_TCK)
# pid name: descriptors, RSS (KiB), CPU % over IDLE_S seconds
sample() {
  local pid=$1 name=$2 t0 t1 fds rss
  t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
  sleep "$IDLE_S"
  t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
  fds=$(ls "/proc/$pid/fd" | wc -l)
  rss=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status")
  printf '%-8s %-12s fds=%-6s rss_kib=%-8s idle_cpu=%s%%\n' "$3" "$name" "$fds" "$rss" \
    "$(echo "scale=2; ($t1-$t0)*100/$tick/$IDLE_S" | bc)"
}
have=0
for want in $STEPS; do
  t0=$(date +%s.%N)
  if [ "$have" = 0 ]; then
    $CLI topic create scale -p "$want" -r "$RF" >/dev/null
  else
    $CLI topic alter scale -p "$want" >/dev/null
  fi
  t1=$(date +%s.%N)
  have=$want
  echo "step $want partitions (RF $RF, $N broker(s)): create/grow took $(echo "$t1-$t0" | bc) s"
  sleep 2
  for pidf in "$STRATA_CLUSTER_DIR"/*.pid; do
    sample "$(cat "$pidf")" "$(basename "$pidf" .pid)" "$want" &
  done
  wait
done

#!/bin/bash
# A fault drill: an acks=all workload writes while a fault hits the cluster
# ROUNDS times, then the history and every replica's log go through the
# checker: no acknowledged write lost, no duplicate, no reorder, replicas
# identical, and how long writes stalled. The real binaries run in network
# namespaces (tests/fault/testbed.sh). Scenarios:
#   partition-leader      cut d-0's leader off from the controller and the other
#                         brokers (clients still reach it); heal
#   pause-leader          SIGSTOP d-0's leader (longer than its session); SIGCONT
#   kill-leader           kill -9 d-0's leader; start it again
#   partition-controller  cut the controller off from every broker; heal
#   split                 minority/majority: d-0's leader stays with the controller,
#                         the other two brokers are cut off from both; heal
#   oneway-leader         d-0's leader hears nothing from the controller and the
#                         other brokers (its own packets still go out); heal
#   full-disk             every broker's log.dir is a small ext4 on a loop file
#                         (tests/fault/disk.sh); d-0's leader's is filled to the
#                         last block; the filler is removed
#   full-disk-follower    the same for a follower of d-0
#   slow-disk             every fsync/fdatasync of d-0's leader waits SLOW_DISK_MS
#                         (default 300) first (LD_PRELOAD tests/shim/slow_disk.c,
#                         no kernel feature needed); the delay is lifted
#   slow-disk-follower    the same for a follower of d-0
#   tests/fault/drill.sh SCENARIO [ROUNDS]   (ROUNDS default FAULT_ROUNDS or 1; as root)
# STRATA_TLS=1: TLS on every link (SSL:// listeners, mutual TLS between the
# nodes, the workload and the CLI over TLS), certificates for the nodes'
# addresses from a throwaway CA (scripts/cluster-certs.sh) in the drill's
# folder; without namespaces it becomes `strata drill --tls`.
# Without network namespaces (not root, or STRATA_FAULT_NO_NETNS=1 to try
# that path as root) it falls back to loopback addresses with a fault proxy:
# `strata drill SCENARIO --net proxy` for partition-leader, pause-leader and
# kill-leader; the others need root and are skipped (exit 77, "SKIP: why").
# As root a missing command (ip, nft, mkfs.ext4, ...) fails the drill, named.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${STRATA_BUILD:-build}
SCENARIO=${1:-partition-leader}
ROUNDS=${2:-${FAULT_ROUNDS:-1}}
case "$SCENARIO" in
partition-leader | pause-leader | kill-leader | partition-controller | split | oneway-leader) ;;
full-disk | full-disk-follower | slow-disk | slow-disk-follower) ;;
*) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
. scripts/lib.sh # strata_skip, strata_need
no_netns= # why there are none
if [ -n "${STRATA_FAULT_NO_NETNS:-}" ]; then no_netns="STRATA_FAULT_NO_NETNS is set"
elif [ "$(id -u)" != 0 ]; then no_netns="not root"; fi
if [ -n "$no_netns" ]; then
  echo "no network namespaces ($no_netns): falling back to loopback addresses with a fault proxy"
  case "$SCENARIO" in
  partition-leader | pause-leader | kill-leader)
    echo "SKIP: $SCENARIO in network namespaces: needs root ($no_netns); strata drill --net proxy runs instead"
    tls=()
    [ "${STRATA_TLS:-0}" = 1 ] && tls=(--tls)
    exec "$BUILD/strata" drill "$SCENARIO" --runs "$ROUNDS" --net proxy --no-progress "${tls[@]+"${tls[@]}"}" ;;
  *)
    strata_skip "$SCENARIO: needs network namespaces, so root ($no_netns); without them only" \
      "partition-leader, pause-leader and kill-leader run (through a fault proxy)" ;;
  esac
fi
# As root the real drill runs, or fails naming the command it lacks.
strata_need "$SCENARIO" ip
case "$SCENARIO" in
partition-leader | partition-controller | split | oneway-leader) strata_need "$SCENARIO" nft ;;
full-disk | full-disk-follower)
  strata_need "$SCENARIO" losetup mkfs.ext4 mount umount truncate fallocate df dd ;;
esac
. tests/fault/testbed.sh
. tests/fault/disk.sh
SLOW_DISK_MS=${SLOW_DISK_MS:-300}
shim= # slow-disk*: every broker runs with the shim; its control file slows it
case "$SCENARIO" in
slow-disk | slow-disk-follower)
  shim=$(realpath "$BUILD/strata-slow-disk.so") || { echo "missing $BUILD/strata-slow-disk.so (make builds it)" >&2; exit 1; } ;;
esac
dir=$(mktemp -d /tmp/strata-drill.XXXXXX)
pids=()
writer=
declare -A bpid
cleanup() {
  local rc=$? p
  set +e # every step runs, whatever the one before returned
  if [ -n "$writer" ]; then kill -9 "$writer" 2>/dev/null; wait "$writer" 2>/dev/null; fi
  for p in "${pids[@]+"${pids[@]}"}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" 2>/dev/null || true; done
  tb_down
  disk_down
  if [ $rc != 0 ] && [ -z "${STRATA_KEEP_TEST_DIR:-}" ]; then
    echo "logs:" >&2
    tail -n 5 "$dir"/*.log >&2 2>/dev/null || true
  fi
  [ -n "${STRATA_KEEP_TEST_DIR:-}" ] && echo "kept $dir" >&2 || rm -rf "$dir"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tb_up ctl b1 b2 b3
case "$SCENARIO" in # the cuts need nftables inside a namespace: find out now, not mid-drill
partition-leader | partition-controller | split | oneway-leader)
  tb_rules ctl || { echo "FAIL: $SCENARIO: nft cannot make a table in a network namespace (above)" >&2; exit 1; }
  tb_heal ctl ;;
esac
ctl=$(tb_ip ctl)
sch= # STRATA_TLS=1: every address SSL://, every node its certificate (tls_sets NAME)
tls_sets() { :; }
if [ "${STRATA_TLS:-0}" = 1 ]; then
  scripts/cluster-certs.sh "$dir/tls" 3 "$ctl" "$(tb_ip b1)" "$(tb_ip b2)" "$(tb_ip b3)" >/dev/null
  sch=SSL://
  tls_sets() { echo --set ssl.certificate.location="$dir/tls/$1.pem" --set ssl.key.location="$dir/tls/$1.key" \
    --set ssl.ca.location="$dir/tls/ca.pem" --set ssl.client.auth=required; }
  export STRATA_COMMAND_CONFIG=$dir/tls/client.properties # the CLI and the workload
  echo "TLS on every link (certificates in $dir/tls)"
fi
# shellcheck disable=SC2046 # tls_sets gives words
(tb_exec ctl "$BUILD/strata-controller" --set data.dir="$dir/ctl" --set listeners="$sch$ctl:9093" $(tls_sets controller) \
  >>"$dir/ctl.log" 2>&1) &
pids+=($!)
start_broker() {
  local b=$1 ip envs=(env)
  ip=$(tb_ip b$b)
  [ -z "$shim" ] || envs+=(LD_PRELOAD="$shim" STRATA_SLOW_DISK="$dir/slow-b$b"
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
  (tb_exec b$b "${envs[@]}" "$BUILD/strata-broker" --set broker.id=$b --set log.dir="$dir/b$b" \
    --set listeners="$sch$ip:9092" --set controller="$sch$ctl:9093" --set replica.lag.time.max.ms=2000 \
    $(tls_sets "broker-$b") \
    >>"$dir/b$b.log" 2>&1) &
  pids+=($!)
  bpid[$b]=$!
}
for b in 1 2 3; do
  case "$SCENARIO" in
  full-disk | full-disk-follower) disk_up "$dir/b$b" 64 ;;
  esac
  start_broker $b
done
export STRATA_BOOTSTRAP="$(tb_ip b1):9092,$(tb_ip b2):9092,$(tb_ip b3):9092"
for _ in $(seq 100); do
  [ "$("$BUILD/strata" cluster status 2>/dev/null | grep -c ' alive$')" = 3 ] && break
  sleep 0.1
done
topic_cfg=()
case "$SCENARIO" in # small segments: the disk faults hit rolls too
full-disk | full-disk-follower | slow-disk | slow-disk-follower) topic_cfg=(--config segment.bytes=65536) ;;
esac
"$BUILD/strata" topic create d --partitions 3 --replication-factor 3 \
  --config min.insync.replicas=2 "${topic_cfg[@]}" >/dev/null
seconds=$((4 + ROUNDS * 8))
"$BUILD/tests/fault/workload" write "$STRATA_BOOTSTRAP" d "$seconds" >"$dir/history" 2>"$dir/writer.err" &
writer=$!
sleep 3
# A replica of d-0 other than its leader $1.
follower_of_d0() {
  "$BUILD/strata" topic describe d | grep -o 'Replicas: [0-9,]*' | head -1 | cut -d' ' -f2 \
    | tr , '\n' | grep -vx "$1" | head -1
}
for r in $(seq 1 "$ROUNDS"); do
  leader=$("$BUILD/strata" topic describe d | grep -o 'Leader: [0-9]*' | head -1 | awk '{print $2}')
  case "$SCENARIO" in
  partition-leader)
    echo "round $r: cutting broker $leader (leader of d-0) off from the controller and the other brokers"
    for n in ctl b1 b2 b3; do [ "$n" = "b$leader" ] || tb_cut "b$leader" "$n"; done ;;
  pause-leader)
    echo "round $r: pausing broker $leader (leader of d-0)"
    kill -STOP "${bpid[$leader]}" ;;
  kill-leader)
    echo "round $r: kill -9 broker $leader (leader of d-0)"
    kill -9 "${bpid[$leader]}"; wait "${bpid[$leader]}" 2>/dev/null || true ;;
  partition-controller)
    echo "round $r: cutting the controller off from every broker"
    for n in b1 b2 b3; do tb_cut ctl "$n"; done ;;
  split)
    echo "round $r: split: {controller, broker $leader} | the other brokers"
    for n in b1 b2 b3; do
      [ "$n" = "b$leader" ] && continue
      tb_cut "$n" ctl; tb_cut "$n" "b$leader"
    done ;;
  oneway-leader)
    echo "round $r: broker $leader (leader of d-0) stops hearing the controller and the other brokers"
    for n in ctl b1 b2 b3; do [ "$n" = "b$leader" ] || tb_cut_oneway "b$leader" "$n"; done ;;
  full-disk)
    disk_fill "$dir/b$leader"
    echo "round $r: filled broker $leader's disk (leader of d-0): $(disk_avail "$dir/b$leader") bytes free" ;;
  full-disk-follower)
    target=$(follower_of_d0 "$leader")
    disk_fill "$dir/b$target"
    echo "round $r: filled broker $target's disk (follower of d-0): $(disk_avail "$dir/b$target") bytes free" ;;
  slow-disk)
    target=$leader
    echo "$SLOW_DISK_MS" >"$dir/slow-b$target"
    echo "round $r: broker $target's disk (leader of d-0) waits ${SLOW_DISK_MS} ms per sync" ;;
  slow-disk-follower)
    target=$(follower_of_d0 "$leader")
    echo "$SLOW_DISK_MS" >"$dir/slow-b$target"
    echo "round $r: broker $target's disk (follower of d-0) waits ${SLOW_DISK_MS} ms per sync" ;;
  esac
  sleep 4
  d0=$("$BUILD/strata" topic describe d --bootstrap "$(tb_ip b$((leader % 3 + 1))):9092" \
    | grep 'Partition: 0' || true)
  echo "round $r: d-0 is led by broker $(echo "$d0" | grep -o 'Leader: [0-9]*' | awk '{print $2}')" \
    "(isr $(echo "$d0" | grep -o 'Isr: [0-9,]*' | awk '{print $2}')); healing"
  case "$SCENARIO" in
  partition-leader) tb_heal "b$leader" ;;
  pause-leader) kill -CONT "${bpid[$leader]}" ;;
  kill-leader) start_broker "$leader" ;;
  partition-controller) tb_heal ctl ;;
  split) for n in b1 b2 b3; do tb_heal "$n"; done ;;
  oneway-leader) tb_heal "b$leader" ;;
  full-disk) disk_free "$dir/b$leader" ;;
  full-disk-follower) disk_free "$dir/b$target" ;;
  slow-disk | slow-disk-follower)
    rm -f "$dir/slow-b$target"
    echo "round $r: broker $target's disk is fast again after $(cat "$dir/slow-b$target.hits" 2>/dev/null | wc -c) slowed sync(s) so far" ;;
  esac
  sleep 4
done
wait "$writer"
writer=
sleep 3 # followers catch up
"$BUILD/tests/fault/workload" read "$STRATA_BOOTSTRAP" d >>"$dir/history" 2>>"$dir/reader.err"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
for b in 1 2 3; do "$BUILD/tests/fault/workload" dump "b$b" "$dir/b$b" d >>"$dir/history"; done
echo "history: $(grep -c '^W' "$dir/history") writes, $(grep -c '^R' "$dir/history") reads, $(grep -c '^L' "$dir/history") replica records"
echo "scenario $SCENARIO, $ROUNDS round(s):"
# d-0 alone, the partition every fault aims at (the checker's gap spans all
# partitions): W lines are "W invoke_us done_us partition value ok offset".
awk '$1 == "W" && $4 == 0 && $6 == "ok" { print $3, $3 - $2 }' "$dir/history" | sort -n | awk '
  NR > 1 && $1 - prev > gap { gap = $1 - prev }
  $2 > slow { slow = $2 }
  { prev = $1 }
  END { printf "d-0: %d acknowledged writes; longest gap between them %.1f ms; slowest acknowledgement %.1f ms\n", NR, gap / 1000, slow / 1000 }'
"$BUILD/tests/fault/workload" check 3000 <"$dir/history" 3>"$dir/report.json"

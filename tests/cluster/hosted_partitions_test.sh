#!/bin/bash
# A broker opens logs only for the partition replicas the controller assigns
# it (issue 15: resources proportional to what a broker does; the hosting
# rule of broker/topics.h). Real processes: scripts/cluster.sh, 4 brokers,
# topic h of 40 partitions at RF 2 (each broker hosts 20, not 40).
#  1. Each broker's log.dir holds exactly the h-<p> directories of the
#     partitions whose replica set `strata topic describe` lists it in; a
#     Fetch to a broker that is no replica gets NOT_LEADER_OR_FOLLOWER.
#  2. acks=all records produced to every partition are all read back.
#  3. Broker 2 killed (-9) and restarted: same directories, every
#     acknowledged record still read, no partition offline (cluster status,
#     the brokers' /v1/cluster totals, the controller's
#     /metrics), no broker's offline retry loop (broker/offline.c) touched
#     a partition.
#  4. Leftover directories of partitions broker 2 does not host (an older
#     version opened all): opened at its start, closed once the image says
#     it is no replica; an empty one is removed, one with records kept.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
strata_need "the hosted partitions test" curl
dir=$(mktemp -d /tmp/strata-hosted.XXXXXX)
trap 'scripts/cluster.sh down >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
export STRATA_BROKER_SETS="log.level=info broker.session.timeout.ms=3000"
strata_cluster_up "$dir" 4 || exit 1
port=$STRATA_CLUSTER_PORT
C=$STRATA_CLUSTER_DIR
cli() { "$STRATA_BIN" -b "127.0.0.1:$port,127.0.0.3:$port" --timeout 20000 "$@"; }
NP=40
wait_for() { # timeout_s, command...
  local deadline=$((SECONDS + $1))
  shift
  until "$@" || [ $SECONDS -ge $deadline ]; do sleep 0.3; done
  "$@"
}
# "part replicas isr" of every partition of h, from cluster status
status() { cli cluster status --topic h 2>/dev/null | awk '$1 == "h" { print $2, $5, $6 }'; }
full_isrs() { [ "$(status | awk 'split($3, a, ",") == 2 { c++ } END { print c + 0 }')" = $NP ]; }
# the partitions (sorted) whose replicas, as topic describe gives them, include broker $1
assigned() {
  cli topic describe h 2>/dev/null | awk -v b="$1" '
    { for (i = 1; i <= NF; i++) if ($i ~ /^[Pp]artition:?$/) p = $(i + 1); else if ($i ~ /^[Rr]eplicas:?$/) r = $(i + 1) }
    p != "" && r != "" { n = split(r, a, ","); for (k = 1; k <= n; k++) if (a[k] == b) print p; p = ""; r = "" }' |
    sort -n | tr '\n' ' '
}
# the h-<p> directories in broker $1's log.dir
dirs() { ls "$C/broker-$1" | sed -n 's/^h-\([0-9]*\)$/\1/p' | sort -n | tr '\n' ' '; }
same_dirs() { # label
  local b a d all=1
  for b in 1 2 3 4; do
    a=$(assigned $b)
    d=$(dirs $b)
    if [ -z "$a" ] || [ "$a" != "$d" ]; then
      bad "$1: broker $b holds h-{$d}, assigned h-{$a}"
      all=0
    fi
  done
  [ $all = 1 ] && ok "$1: every broker holds exactly its assigned partitions ($(echo $(assigned 1) | wc -w) of $NP on broker 1)"
}
# records read back per partition: "p count" lines
read_all() {
  cli consume -t h --from-beginning --print-offset -n $1 2>/dev/null |
    awk -F'\t' '{ split($1, a, ":"); c[a[1]]++ } END { for (p in c) print p, c[p] }' | sort -n
}
expect_counts() { # per-partition count, label
  local got
  got=$(read_all $(($1 * NP)) | awk -v n="$1" '$2 == n { c++ } END { print c + 0 }')
  [ "$got" = $NP ] && ok "$2: all $NP partitions read back $1 records each" ||
    bad "$2: $got of $NP partitions read back $1 records: $(read_all $(($1 * NP)) | tr '\n' ';')"
}
no_offline() { # label
  local st off=0 b
  st=$(cli cluster status 2>/dev/null)
  echo "$st" | grep -q "OFFLINE" && bad "$1: cluster status shows OFFLINE: $(echo "$st" | grep OFFLINE | head -3)"
  for b in 1 2 3 4; do
    o=$(curl -s "http://127.0.0.$b:$((port + 3))/v1/cluster" | grep -o '"offline":[0-9]*' | head -1)
    [ "$o" = '"offline":0' ] || { off=1; bad "$1: broker $b /v1/cluster says '$o'"; }
  done
  o=$(curl -s "http://127.0.0.1:$((port + 4))/metrics" | awk '$1 == "strata_controller_offline_partitions" { print $2 }')
  [ "$o" = 0 ] || { off=1; bad "$1: the controller's strata_controller_offline_partitions is '$o'"; }
  # the offline retry loop (broker/offline.c) never touches an unhosted partition
  local re="cannot open its log\|still cannot open\|back online"
  if grep -q "$re" "$C"/broker-*.log; then
    bad "$1: the offline loop ran: $(grep -h "$re" "$C"/broker-*.log | head -2)"
  elif [ $off = 0 ] && ! echo "$st" | grep -q OFFLINE; then
    ok "$1: no partition offline anywhere"
  fi
}

cli topic create h -p $NP -r 2 >"$dir/out" 2>&1 || { bad "create: $(cat "$dir/out")"; exit 1; }
wait_for 30 full_isrs || bad "not every partition of h has its full ISR: $(status | tr '\n' ';')"

# ---- 1 ----
same_dirs "after create"

# A broker asked for a partition it does not host answers as for any
# non-leader: NOT_LEADER_OR_FOLLOWER (6), over the Kafka wire (Fetch v4).
b1_not=$(seq 0 $((NP - 1)) | awk -v a=" $(assigned 1)" 'index(a, " " $1 " ") == 0 { print; exit }')
err=$(PYTHONPATH=tests/kafka python3 -c '
import sys, kwire
c = kwire.Conn("127.0.0.1", int(sys.argv[1]))
print(kwire.fetch(c, "h", int(sys.argv[2]), 0)[0])' $((port + 2)) "$b1_not" 2>&1)
[ "$err" = 6 ] && ok "broker 1, no replica of h-$b1_not: Fetch answers NOT_LEADER_OR_FOLLOWER" ||
  bad "broker 1, no replica of h-$b1_not: Fetch answers '$err', not 6"

# ---- 2 ----
for p in $(seq 0 $((NP - 1))); do
  seq 1 25 | sed "s/^/h$p-/" | cli produce -t h -p $p --acks all >"$dir/out" 2>&1 ||
    bad "produce h-$p: $(tail -1 "$dir/out")"
done
expect_counts 25 "before the kill"

# ---- 3 ----
scripts/cluster.sh kill 2 >/dev/null
for p in $(seq 0 $((NP - 1))); do # acks=all while broker 2 is down
  seq 26 50 | sed "s/^/h$p-/" | cli produce -t h -p $p --acks all >"$dir/out" 2>&1 ||
    bad "produce h-$p with broker 2 down: $(tail -1 "$dir/out")"
done
scripts/cluster.sh restart 2 >/dev/null 2>&1 || bad "broker 2 did not restart: $(tail -3 "$C/broker-2.log")"
wait_for 60 full_isrs && ok "broker 2 is back in every ISR it belongs to" ||
  bad "not every ISR is full again: $(status | tr '\n' ';')"
same_dirs "after kill -9 and restart"
expect_counts 50 "after kill -9 and restart"
no_offline "after restart"
# ---- 4 ----
# Directories of partitions broker 2 does not host, as a version that opened
# every partition left them: one empty (as those were), one with records (a
# copy of a replica's). Both are opened at its start, before the image says
# who hosts what, and closed once it does (topics_unhost): the empty one is
# removed, the one with records kept (deleting it is not done yet).
set -- $(seq 0 $((NP - 1)) | awk -v a=" $(assigned 2)" 'index(a, " " $1 " ") == 0' | head -2)
empty=$1 full=$2
scripts/cluster.sh kill 2 >/dev/null
mkdir "$C/broker-2/h-$empty"
cp -r "$C/broker-1/h-$full" "$C/broker-2/h-$full" 2>/dev/null ||
  cp -r "$C/broker-3/h-$full" "$C/broker-2/h-$full"
scripts/cluster.sh restart 2 >/dev/null 2>&1 || bad "broker 2 did not restart: $(tail -3 "$C/broker-2.log")"
wait_for 60 full_isrs || bad "not every ISR is full again: $(status | tr '\n' ';')"
closed() { grep -q "h-$1: no longer a replica here: its log closed ($2" "$C/broker-2.log"; }
wait_for 10 closed $empty empty && [ ! -e "$C/broker-2/h-$empty" ] &&
  ok "broker 2 closed the empty leftover h-$empty and removed its directory" ||
  bad "the empty leftover h-$empty: $(grep "h-$empty: no longer" "$C/broker-2.log"; ls -d "$C/broker-2/h-$empty" 2>&1)"
wait_for 10 closed $full kept && [ -d "$C/broker-2/h-$full" ] &&
  ok "broker 2 closed h-$full, which has records, and kept it on disk" ||
  bad "the leftover with records h-$full: $(grep "h-$full: no longer" "$C/broker-2.log")"
pid=$(cat "$C/broker-2.pid")
held=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -c "/h-\($empty\|$full\)/")
[ "$held" = 0 ] && ok "broker 2 holds no descriptor into either" ||
  bad "broker 2 holds $held descriptors into h-$empty or h-$full"
rm -rf "$C/broker-2/h-$full"
same_dirs "with the leftovers closed"
expect_counts 50 "with the leftovers closed"
no_offline "with the leftovers closed"
[ "${fails:-0}" = 0 ]

#!/bin/bash
# One partition's log that a broker cannot open takes that replica alone
# offline (issue 15, broker/offline.h). Real processes: scripts/cluster.sh,
# 3 brokers; topics o (4 partitions) and k (2), RF 3, records in each.
#  1. Broker 2 stopped, its directory of o-1 replaced by a file, restarted:
#     it comes up; `strata cluster status` shows o-1's replica on 2 offline
#     with the reason; o-1's ISR leaves 2 out; every other partition gets its
#     full ISR back.
#  2. Then for 8 s: no leader, epoch or ISR changes anywhere, and broker 2
#     burns no CPU retrying (bounded backoff).
#  3. Brokers 1 and 3 killed: o-1 is NOT elected on broker 2 (it stays
#     offline) while broker 2 takes the partitions it holds.
#  4. 1 and 3 back, the file removed: broker 2 opens o-1 again by itself,
#     reports it, and rejoins o-1's ISR; its records are all there.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
export STRATA_BUILD
dir=$(mktemp -d /tmp/strata-offline.XXXXXX)
export STRATA_CLUSTER_DIR=$dir/c
base=$(strata_free_port) || exit 1
export STRATA_CLUSTER_PORT=$base
trap 'scripts/cluster.sh down >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
export STRATA_BROKER_SETS="log.level=info broker.session.timeout.ms=3000"
scripts/cluster.sh up 3 >"$dir/up.out" 2>&1 || { cat "$dir/up.out"; exit 1; }
cli() { "$STRATA_BIN" --bootstrap "${BOOT:-127.0.0.1:$base,127.0.0.2:$base,127.0.0.3:$base}" --timeout 20000 "$@"; }
# "topic part leader epoch replicas isr" per partition, and the line of o-1
snap() { cli cluster status 2>/dev/null | awk '$1 == "o" || $1 == "k" { print $1, $2, $3, $4, $5, $6 }'; }
line() { cli cluster status --topic o 2>/dev/null | awk '$1 == "o" && $2 == 1'; }
# partitions other than o-1 with a full ISR
others_full() { snap | awk '!($1 == "o" && $2 == 1) { if (split($6, a, ",") == 3) c++ } END { print c + 0 }'; }
# ... and led by their preferred replica (the controller moves leadership
# back to it once it is in sync again: a change that is not the test's)
settled() { [ "$(snap | awk '!($1 == "o" && $2 == 1) { split($5, r, ","); if (split($6, a, ",") == 3 && $3 == r[1]) c++ } END { print c + 0 }')" = 5 ]; }
five_full() { [ "$(others_full)" = 5 ]; }
wait_for() { # timeout_s, command...: until the command succeeds (re-run each time)
  local deadline=$((SECONDS + $1))
  shift
  until "$@" || [ $SECONDS -ge $deadline ]; do sleep 0.3; done
  "$@"
}

cli topic create o -p 4 -r 3 >"$dir/out" 2>&1 && cli topic create k -p 2 -r 3 >>"$dir/out" 2>&1 ||
  { bad "create: $(cat "$dir/out")"; exit 1; }
wait_for 20 five_full || bad "no full ISRs at start"
for t in "o 0" "o 1" "o 2" "o 3" "k 0" "k 1"; do
  set -- $t
  seq 1 100 | cli produce -t $1 -p $2 --acks all >"$dir/out" 2>&1 || bad "produce $1-$2: $(tail -1 "$dir/out")"
done

# ---- 1 ----
scripts/cluster.sh kill 2 >/dev/null
rm -rf "$STRATA_CLUSTER_DIR/broker-2/o-1"
echo "not a directory" >"$STRATA_CLUSTER_DIR/broker-2/o-1"
scripts/cluster.sh restart 2 >/dev/null 2>&1 && ok "broker 2 starts with one partition it cannot open" ||
  bad "broker 2 did not start: $(tail -3 "$STRATA_CLUSTER_DIR/broker-2.log")"
grep -q "o-1: cannot open its log.*Not a directory" "$STRATA_CLUSTER_DIR/broker-2.log" &&
  ok "its log says so: $(grep -m1 -o "o-1: cannot open its log.*Not a directory" "$STRATA_CLUSTER_DIR/broker-2.log")" ||
  bad "no 'cannot open' line in broker 2's log"
shows() { line | grep -q "REPLICA-OFFLINE:2(Not a directory)"; }
wait_for 15 shows && ok "cluster status: $(line | tr -s ' ')" || bad "cluster status shows no offline replica: $(line)"
isr_o1() { line | awk '{ print $6 }'; }
[[ ",$(isr_o1)," != *,2,* ]] && ok "o-1's ISR leaves broker 2 out ($(isr_o1))" || bad "o-1's ISR holds 2: $(isr_o1)"
wait_for 30 settled && ok "every other partition has its full ISR again" ||
  bad "$(others_full) of 5 other partitions have a full ISR: $(snap | tr '\n' ';')"

# ---- 2 ----
before=$(snap)
pid=$(cat "$STRATA_CLUSTER_DIR/broker-2.pid")
c0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
sleep 8
c1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
after=$(snap)
[ "$before" = "$after" ] && ok "8 s later: no leader, epoch or ISR changed anywhere" ||
  bad "changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ';')"
cpu=$(( (c1 - c0) * 100 / $(getconf CLK_TCK) / 8 ))
[ $cpu -lt 5 ] && ok "broker 2 used $((c1 - c0)) CPU ticks in 8 s (no retry loop)" ||
  bad "broker 2 used ${cpu}% CPU while one partition is offline"
tries=$(grep -c "o-1: \(cannot open its log\|still cannot\)" "$STRATA_CLUSTER_DIR/broker-2.log")
[ "$tries" -le 3 ] && ok "the reason is logged $tries time(s), not at every try" ||
  bad "logged $tries times"

# ---- 3 ----
scripts/cluster.sh kill 1 >/dev/null
scripts/cluster.sh kill 3 >/dev/null
led2() { BOOT=127.0.0.2:$base snap | awk '$3 == 2' | wc -l; }
led2_all() { [ "$(led2)" = 5 ]; }
wait_for 30 led2_all && ok "with 1 and 3 gone, broker 2 leads the 5 partitions it holds" ||
  bad "broker 2 leads $(led2) of 5: $(BOOT=127.0.0.2:$base snap | tr '\n' ';')"
o1=$(BOOT=127.0.0.2:$base snap | awk '$1 == "o" && $2 == 1 { print $3 }')
[ "$o1" != 2 ] && ok "o-1 is not elected on broker 2, which cannot open it (leader $o1)" ||
  bad "o-1 elected on broker 2"
scripts/cluster.sh restart 1 >/dev/null 2>&1
scripts/cluster.sh restart 3 >/dev/null 2>&1

# ---- 4 ----
wait_for 40 five_full || bad "other partitions not full after 1 and 3 came back"
rm -f "$STRATA_CLUSTER_DIR/broker-2/o-1"
t0=$SECONDS
full_o1() { [ "$(isr_o1 | tr ',' '\n' | sort | tr '\n' ' ')" = "1 2 3 " ] && ! line | grep -q OFFLINE; }
wait_for 45 full_o1 && ok "file removed: broker 2 opened o-1 again and rejoined its ISR in $((SECONDS - t0)) s" ||
  bad "o-1 after the repair: $(line)"
got=$(BOOT=127.0.0.2:$base cli consume -t o -p 1 --from-beginning --timeout 5000 -n 100 2>/dev/null | wc -l)
[ "$got" = 100 ] && ok "o-1's 100 records read back" || bad "$got of 100 records of o-1 read back"
[ $fails = 0 ] && echo "all passed" || echo "FAILED: $fails"
exit $((fails > 0))

#!/bin/bash
# Issue 14: the zombie controller. 3 controllers and 3 brokers, each in its
# own network namespace (tests/fault/testbed.sh), acks=all writes running
# with the history checker. The ACTIVE controller is cut off from the other
# two controllers with nftables (only controller<->controller traffic; the
# brokers and clients still reach it). Checked:
#   - it stops deciding within the check-quorum time (1.5 x
#     controller.quorum.fetch.timeout.ms, read from controller/qnode.h, plus
#     1 s): its strata_controller_active goes 0 and its high watermark does
#     not move for the rest of the cut;
#   - admin requests sent to it (one at the cut, one after it stopped) get
#     NOT_CONTROLLER or time out, never success, and the topics they asked
#     for never exist (nothing it appended commits, before or after healing);
#   - the other two elect a leader, the brokers follow it: a topic created
#     through the new leader appears on every broker; broker leading d-0
#     killed -9 during the cut has its partitions re-elected by the new
#     leader; writes to every partition keep being acknowledged;
#   - healed, the old leader rejoins as a follower of the new leader (same
#     leader and epoch: its return deposes nobody), at the leader's high
#     watermark and log end, its quorum.log byte for byte the leader's;
#   - every acknowledged record read back exactly once, in order, replicas
#     identical (tests/fault/workload check).
# Root only (namespaces, nftables); not root it is skipped, saying so.
#   tests/fault/quorum_partition_test.sh     (STRATA_BUILD=build-x; about 35 s)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${STRATA_BUILD:-build}
. scripts/lib.sh # strata_skip, strata_need
[ "$(id -u)" = 0 ] || strata_skip "quorum partition: needs root (network namespaces, nftables)"
strata_need "quorum partition" ip nft curl cmp
. tests/fault/testbed.sh
S=$BUILD/strata
W=$BUILD/tests/fault/workload
FETCH_MS=$(sed -n 's/^#define QNODE_FETCH_TIMEOUT_MS \([0-9]*\).*/\1/p' controller/qnode.h)
[ -n "$FETCH_MS" ] || { echo "FAIL: no QNODE_FETCH_TIMEOUT_MS in controller/qnode.h" >&2; exit 1; }
STOP_BOUND_MS=$((FETCH_MS * 3 / 2 + 1000)) # check-quorum, plus this machine's noise
dir=$(mktemp -d /tmp/strata-qpart.XXXXXX)
pids=()
writer=
declare -A cpid bpid
cleanup() {
  local rc=$? p
  set +e
  if [ -n "$writer" ]; then kill -9 "$writer" 2>/dev/null; wait "$writer" 2>/dev/null; fi
  for p in "${pids[@]+"${pids[@]}"}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" 2>/dev/null || true; done
  tb_down
  if [ $rc != 0 ] && [ -z "${STRATA_KEEP_TEST_DIR:-}" ]; then
    echo "logs:" >&2
    tail -n 8 "$dir"/*.log >&2 2>/dev/null || true
  fi
  [ -n "${STRATA_KEEP_TEST_DIR:-}" ] && echo "kept $dir" >&2 || rm -rf "$dir"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tb_up c1 c2 c3 b1 b2 b3
tb_rules c1 || { echo "FAIL: nft cannot make a table in a network namespace (above)" >&2; exit 1; }
tb_heal c1
VOTERS="1@$(tb_ip c1):9093,2@$(tb_ip c2):9093,3@$(tb_ip c3):9093"
CTLS="$(tb_ip c1):9093,$(tb_ip c2):9093,$(tb_ip c3):9093"
start_controller() {
  local k=$1 ip
  ip=$(tb_ip c$k)
  (tb_exec c$k "$BUILD/strata-controller" --set data.dir="$dir/c$k" --set listeners="$ip:9093" \
    --set admin.listeners="$ip:9095" --set node.id="$k" --set controller.quorum.voters="$VOTERS" \
    >>"$dir/c$k.log" 2>&1) &
  pids+=($!)
  cpid[$k]=$!
}
start_broker() {
  local b=$1 ip
  ip=$(tb_ip b$b)
  (tb_exec b$b "$BUILD/strata-broker" --set broker.id="$b" --set log.dir="$dir/b$b" \
    --set listeners="$ip:9092" --set controller="$CTLS" --set replica.lag.time.max.ms=2000 \
    >>"$dir/b$b.log" 2>&1) &
  pids+=($!)
  bpid[$b]=$!
}
now_ms() { echo $(($("$W" now) / 1000)); }
# metric K NAME: controller K's sample of NAME (empty when it does not answer)
metric() {
  curl -s --max-time 1 "http://$(tb_ip c$1):9095/metrics" 2>/dev/null |
    awk -v n="$2" '$1 == n { print $2; exit }' || true
}
# role K: controller K's quorum role
role() {
  curl -s --max-time 1 "http://$(tb_ip c$1):9095/metrics" 2>/dev/null |
    sed -n 's/^strata_controller_quorum_role{role="\([a-z]*\)"} 1$/\1/p' || true
}
active_ctl() { # the one controller whose strata_controller_active is 1 (among $@)
  local k found=
  for k in "$@"; do [ "$(metric "$k" strata_controller_active)" = 1 ] && found="$found$k"; done
  echo "$found"
}
leader_of() { # topic partition [bootstrap]: its leader as that broker says
  "$S" topic describe "$1" --bootstrap "${3:-$STRATA_BOOTSTRAP}" --timeout 2000 2>/dev/null |
    grep "Partition: $2	" | grep -o 'Leader: [-0-9]*' | awk '{print $2}' || true
}
topic_exists() { # name: 0 when a broker lists it, 1 when the list (read) lacks it, 2 unread
  local list
  list=$("$S" topic list --timeout 3000 2>/dev/null) || return 2
  grep -q "^$1	" <<<"$list"
}

for k in 1 2 3; do start_controller $k; done
for b in 1 2 3; do start_broker $b; done
export STRATA_BOOTSTRAP="$(tb_ip b1):9092,$(tb_ip b2):9092,$(tb_ip b3):9092"
old=
end=$(($(now_ms) + 15000))
while [ "$(now_ms)" -lt $end ]; do
  old=$(active_ctl 1 2 3)
  [ ${#old} = 1 ] && [ "$("$S" cluster status 2>/dev/null | grep -c ' alive$')" = 3 ] && break
  sleep 0.1
done
[ ${#old} = 1 ] || { echo "FAIL: no single active controller after 15 s (active: '$old')"; exit 1; }
others=()
for k in 1 2 3; do [ "$k" = "$old" ] || others+=("$k"); done
ok "controller $old active, 3 brokers registered (quorum check time $((FETCH_MS * 3 / 2)) ms)"
"$S" topic create d --partitions 3 --replication-factor 3 --config min.insync.replicas=2 >/dev/null
# Positive control: an admin request straight to the active controller works
# (so the refusals below are the zombie's, not the CLI's).
"$W" create "$(tb_ip c$old):9093" before-cut 5000 >"$dir/out" 2>&1 &&
  ok "topic created by asking controller $old directly" || { bad "direct create: $(cat "$dir/out")"; }

"$W" write "$STRATA_BOOTSTRAP" d 120 >"$dir/history" 2>"$dir/writer.err" &
writer=$!
sleep 3

hw0=$(metric "$old" strata_controller_quorum_high_watermark)
epoch0=$(metric "$old" strata_controller_quorum_epoch)
t_cut=$(now_ms)
tb_cut "c$old" "c${others[0]}"
tb_cut "c$old" "c${others[1]}"
echo "cut controller $old (active, epoch $epoch0, high watermark $hw0) off from controllers ${others[*]}"
# An admin request at once, while it may still believe it leads.
"$W" create "$(tb_ip c$old):9093" zombie-early 3000 >"$dir/zombie-early" 2>&1 &
early=$!

# It stops deciding within the check-quorum time.
t_stop=
while [ $(($(now_ms) - t_cut)) -lt 10000 ]; do
  [ "$(metric "$old" strata_controller_active)" = 0 ] && { t_stop=$(now_ms); break; }
  sleep 0.05
done
if [ -z "$t_stop" ]; then
  bad "controller $old still active 10 s after the cut (strata_controller_active: $(metric "$old" strata_controller_active || true)$([ -n "$(metric "$old" strata_controller_active)" ] || echo "no answer"))"
elif [ $((t_stop - t_cut)) -le $STOP_BOUND_MS ]; then
  ok "controller $old stopped deciding $((t_stop - t_cut)) ms after the cut (bound $STOP_BOUND_MS ms; role $(role "$old"))"
else
  bad "controller $old stopped deciding only $((t_stop - t_cut)) ms after the cut (bound $STOP_BOUND_MS ms)"
fi
hw_stop=$(metric "$old" strata_controller_quorum_high_watermark)

# The other two elect a leader.
new=
end=$(($(now_ms) + 10000))
while [ "$(now_ms)" -lt $end ]; do
  new=$(active_ctl "${others[@]}")
  [ ${#new} = 1 ] && break
  sleep 0.1
done
if [ ${#new} = 1 ]; then
  epoch1=$(metric "$new" strata_controller_quorum_epoch)
  ok "controller $new active, epoch $epoch1, $(($(now_ms) - t_cut)) ms after the cut"
else
  bad "no new active controller among ${others[*]} 10 s after the cut ('$new')"
  exit 1
fi

# A topic created through the new leader appears on every broker.
"$W" create "$(tb_ip c$new):9093" during-cut 5000 >"$dir/out" 2>&1 ||
  bad "create through controller $new: $(cat "$dir/out")"
seen=0
end=$(($(now_ms) + 5000))
while [ "$(now_ms)" -lt $end ]; do
  seen=0
  for b in 1 2 3; do [ -n "$(leader_of during-cut 0 "$(tb_ip b$b):9092")" ] && seen=$((seen + 1)); done
  [ $seen = 3 ] && break
  sleep 0.1
done
[ $seen = 3 ] && ok "topic during-cut, created through controller $new, is on all 3 brokers" ||
  bad "topic during-cut on $seen broker(s) of 3"

# A broker killed during the cut: its partitions are re-elected (by the new leader: the only one deciding).
victim=$(leader_of d 0)
[ -n "$victim" ] && [ "$victim" -ge 1 ] || { bad "d-0 has no leader before the broker kill"; exit 1; }
led=$("$S" topic describe d --timeout 2000 | grep -c "Leader: $victim	" || true)
t_kill=$(now_ms)
kill -9 "${bpid[$victim]}"
wait "${bpid[$victim]}" 2>/dev/null || true
survivor=$(tb_ip "b$((victim % 3 + 1))"):9092
moved=
end=$(($(now_ms) + 10000))
while [ "$(now_ms)" -lt $end ]; do
  l=$(leader_of d 0 "$survivor")
  [ -n "$l" ] && [ "$l" != "$victim" ] && [ "$l" -ge 1 ] && { moved=$l; break; }
  sleep 0.1
done
[ -n "$moved" ] && ok "broker $victim (leader of $led partition(s) of d) killed -9: d-0 led by broker $moved after $(($(now_ms) - t_kill)) ms" ||
  bad "d-0 still led by broker $victim 10 s after its kill"

# Admin requests to the cut controller never succeed.
"$W" create "$(tb_ip c$old):9093" zombie-late 2000 >"$dir/zombie-late" 2>&1 && zl=0 || zl=$?
wait $early && ze=0 || ze=$?
for w in early late; do
  rc=$ze
  [ $w = late ] && rc=$zl
  said=$(tr '\n' ' ' <"$dir/zombie-$w" | cut -c1-120)
  if [ "$rc" = 0 ]; then
    bad "topic create sent to the cut controller ($w) succeeded: $said"
  elif grep -q "^NOT_CONTROLLER: \|^TIMEOUT: " "$dir/zombie-$w"; then
    ok "topic create sent to the cut controller ($w) refused: $said"
  else
    bad "topic create sent to the cut controller ($w) failed, but neither NOT_CONTROLLER nor a timeout: $said"
  fi
done

# It committed nothing during the cut; the new leader did.
hw_end=$(metric "$old" strata_controller_quorum_high_watermark)
hw_new=$(metric "$new" strata_controller_quorum_high_watermark)
[ "$(metric "$old" strata_controller_active)" = 0 ] || bad "controller $old active again before the heal"
[ -n "$hw_stop" ] && [ "$hw_end" = "$hw_stop" ] && [ "$hw_new" -gt "$hw_end" ] &&
  ok "cut controller's high watermark stayed $hw_end (cut at $hw0); the new leader's is $hw_new" ||
  bad "high watermarks: cut controller $hw0 at the cut, $hw_stop when it stopped, $hw_end now; new leader $hw_new"

t_heal=$(now_ms)
tb_heal "c$old"
echo "healed after $((t_heal - t_cut)) ms; restarting broker $victim"
start_broker "$victim"

# The old leader rejoins as a follower with the new leader's log.
joined=
end=$(($(now_ms) + 10000))
while [ "$(now_ms)" -lt $end ]; do
  r=$(role "$old")
  l=$(metric "$old" strata_controller_quorum_leader)
  h=$(metric "$old" strata_controller_quorum_high_watermark)
  e=$(metric "$old" strata_controller_quorum_log_end_offset)
  nh=$(metric "$new" strata_controller_quorum_high_watermark)
  ne=$(metric "$new" strata_controller_quorum_log_end_offset)
  if [ "$r" = follower ] && [ "$l" = "$new" ] && [ -n "$h" ] && [ "$h" = "$nh" ] && [ "$e" = "$ne" ]; then
    joined=1
    break
  fi
  sleep 0.1
done
[ -n "$joined" ] && ok "controller $old rejoined as a follower of $new $(($(now_ms) - t_heal)) ms after the heal (high watermark $h, log end $e)" ||
  bad "controller $old after the heal: role '$r', leader '$l', high watermark $h/$nh, log end $e/$ne (its/the leader's)"
[ "$(active_ctl 1 2 3)" = "$new" ] && [ "$(metric "$new" strata_controller_quorum_epoch)" = "$epoch1" ] &&
  ok "controller $new still leads epoch $epoch1 (the rejoin deposed nobody)" ||
  bad "after the heal: active '$(active_ctl 1 2 3)', epoch $(metric "$new" strata_controller_quorum_epoch) (was $new, $epoch1)"
a=$(stat -c %s "$dir/c$old/quorum.log") b=$(stat -c %s "$dir/c$new/quorum.log")
n=$((a < b ? a : b))
cmp -s -n "$n" "$dir/c$old/quorum.log" "$dir/c$new/quorum.log" && [ "$a" = "$b" ] &&
  ok "controller $old's quorum.log is the leader's byte for byte ($a bytes)" ||
  bad "quorum.log: controller $old $a bytes, leader $b bytes, first $n bytes $(cmp -s -n "$n" "$dir/c$old/quorum.log" "$dir/c$new/quorum.log" && echo equal || echo differ)"

# Whole again, then the writer stops and everything is read back.
end=$(($(now_ms) + 15000))
while [ "$(now_ms)" -lt $end ]; do
  [ "$("$S" topic describe d --timeout 2000 2>/dev/null | grep -c 'Isr: [0-9],[0-9],[0-9]')" = 3 ] && break
  sleep 0.1
done
sleep 2
kill -TERM "$writer" 2>/dev/null || true
wait "$writer" || bad "the writer exited $?"
writer=
for t in zombie-early zombie-late; do
  topic_exists "$t" && rc=0 || rc=$?
  case $rc in
  1) ok "topic $t (asked of the cut controller) does not exist" ;;
  0) bad "topic $t, asked of the cut controller, exists" ;;
  *) bad "topic list failed" ;;
  esac
done
sleep 2 # followers catch up
"$W" read "$STRATA_BOOTSTRAP" d >>"$dir/history" 2>>"$dir/reader.err"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
for b in 1 2 3; do "$W" dump "b$b" "$dir/b$b" d >>"$dir/history"; done
echo "history: $(grep -c '^W' "$dir/history") writes, $(grep -c '^R' "$dir/history") reads, $(grep -c '^L' "$dir/history") replica records"
# Per partition: acknowledged writes sent during the cut, and the longest
# gap between acknowledgements (W lines: "W invoke_us done_us partition value ok offset").
for p in 0 1 2; do
  awk -v p="$p" -v c="$((t_cut * 1000))" -v h="$((t_heal * 1000))" -v k="$((t_kill * 1000))" '
    $1 == "W" && $4 == p && $6 == "ok" {
      if ($2 >= c && $3 <= h) during++
      if ($2 >= k && (first == 0 || $3 < first)) first = $3
      print $3
    }
    END { printf "%d %d\n", during, first ? (first - k) / 1000 : -1 > "/dev/stderr" }' \
    "$dir/history" 2>"$dir/p$p.stat" | sort -n | awk 'NR > 1 && $1 - prev > gap { gap = $1 - prev } { prev = $1 }
      END { printf "%d\n", gap / 1000 }' >"$dir/p$p.gap"
  read -r during first <"$dir/p$p.stat"
  gap=$(cat "$dir/p$p.gap")
  echo "d-$p: $during writes acknowledged during the cut; longest gap $gap ms; first write sent after the broker kill acknowledged $first ms after it"
  [ "$during" -gt 0 ] || bad "d-$p: no write acknowledged during the cut"
done
"$W" check 5000 <"$dir/history" 3>"$dir/report.json" || bad "history check (above)"
[ $fails = 0 ] && echo "all checks passed" || { echo "$fails check(s) failed"; exit 1; }

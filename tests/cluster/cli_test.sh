#!/bin/bash
# The `strata` CLI end to end against a real broker: every command's --help,
# bad flags and an unreachable broker (one line, non-zero exit), topics,
# produce with keys and headers, consume from beginning / offset / timestamp /
# end with the print options, follow mode, bench and the demo commands.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
dir=$(mktemp -d /tmp/strata-clitest.XXXXXX)
trap 'strata_stop_all; rm -rf "$dir"' EXIT
# expect NAME WANT_EXIT CMD...: run, compare the exit status.
expect() {
  local name=$1 want=$2
  shift 2
  "$@" >"$dir/out" 2>"$dir/err"
  local rc=$?
  if { [ "$want" = nonzero ] && [ $rc -ne 0 ]; } || [ "$want" = "$rc" ]; then ok "$name"; else
    bad "$name (exit $rc, wanted $want)"; head -5 "$dir/out" "$dir/err"; fi
}
S=$STRATA_BIN

for c in "" "topic" "topic create" "topic list" "topic describe" "topic alter" "topic delete" produce consume \
  "bench" "bench produce" "bench consume" "demo" "demo sensors" "demo summary"; do
  # shellcheck disable=SC2086
  expect "help: strata $c --help" 0 $S $c --help
done
expect "unknown command" 2 $S frobnicate
expect "bad flag" nonzero $S consume --topic x --no-such-flag
[ "$(wc -l <"$dir/err")" -eq 1 ] && ok "bad flag gives one line" || bad "bad flag gives one line: $(cat "$dir/err")"
expect "bad --acks" nonzero $S produce --topic x --acks 2
expect "unreachable broker" 1 $S topic list --bootstrap 127.0.0.1:1 --timeout 1000
grep -q "cannot connect to 127.0.0.1:1" "$dir/err" && ok "unreachable broker message" || bad "unreachable message: $(cat "$dir/err")"

strata_start_broker "$dir" any --set log.level=warn || exit 1
port=$STRATA_BROKER_PORT
export STRATA_BOOTSTRAP=127.0.0.1:$port

expect "topic create" 0 $S topic create events --partitions 2 --config retention.ms=3600000
expect "topic create again" 1 $S topic create events
grep -q "already exists" "$dir/err" && ok "exists message" || bad "exists message"
expect "topic create bad config" 1 $S topic create other --config retention.ms=soon
# Growing a topic on a standalone broker (it decides alone, as a controller would).
expect "topic create grown" 0 $S topic create grown --partitions 2
expect "topic alter without --partitions" 1 $S topic alter grown
grep -q -- "--partitions N (the new total) is required" "$dir/err" && ok "says --partitions is required" ||
  bad "alter without --partitions: $(cat "$dir/err")"
expect "topic alter --validate-only" 0 $S topic alter grown --partitions 3 --validate-only
[ "$($S topic describe grown | grep -c 'Partition: ')" = 2 ] && ok "validate-only changed nothing" ||
  bad "validate-only changed the topic"
expect "topic alter to 3" 0 $S topic alter grown --partitions 3
grep -q "topic grown now has 3 partition(s)" "$dir/out" && ok "alter says the new count" || bad "alter: $(cat "$dir/out")"
[ "$($S topic describe grown | grep -c 'Partition: ')" = 3 ] && ok "describe shows 3 partitions" ||
  bad "describe after alter: $($S topic describe grown)"
echo grown-2 | $S produce --topic grown --partition 2 >/dev/null 2>&1 &&
  [ "$($S consume --topic grown --partition 2 --from-beginning --count 1 2>/dev/null)" = grown-2 ] &&
  ok "a record on the new partition reads back" || bad "produce/consume on the new partition"
expect "topic alter shrinking" 1 $S topic alter grown --partitions 2
grep -q "Topic currently has 3 partitions, which is higher than the requested 2." "$dir/err" &&
  ok "shrinking refused with Kafka's message" || bad "shrink message: $(cat "$dir/err")"
expect "topic alter unknown topic" 1 $S topic alter nosuch --partitions 2
grep -q "topic 'nosuch' does not exist" "$dir/err" && ok "unknown topic message" || bad "unknown topic message: $(cat "$dir/err")"
expect "topic list" 0 $S topic list
grep -q "^events" "$dir/out" && ok "list shows events" || bad "list shows events"
# Global options before the command too, as Kafka's tools, rpk and kubectl take them;
# one after the command wins, and either beats STRATA_BOOTSTRAP.
expect "--bootstrap before the command" 0 env -u STRATA_BOOTSTRAP $S --bootstrap "127.0.0.1:$port" topic list
grep -q "^events" "$dir/out" && ok "list through a leading --bootstrap" || bad "leading --bootstrap: $(cat "$dir/out" "$dir/err")"
expect "-b and --timeout= before the command" 0 env -u STRATA_BOOTSTRAP $S -b "127.0.0.1:$port" --timeout=5000 topic describe events
expect "leading --bootstrap beats STRATA_BOOTSTRAP" 1 $S --bootstrap 127.0.0.1:1 --timeout 1000 topic list
grep -q "cannot connect to 127.0.0.1:1" "$dir/err" && ok "leading --bootstrap is used" || bad "leading --bootstrap: $(cat "$dir/err")"
expect "--bootstrap after the command wins" 0 $S -b 127.0.0.1:1 topic list -b "127.0.0.1:$port"
expect "a command's option before the command" 2 $S --topic events consume
grep -q "before the command go only" "$dir/err" && ok "says what goes before the command" || bad "leading --topic: $(cat "$dir/err")"

ts0=$(($(date +%s) * 1000))
printf 'k1:one\nk2:two\nk3:three\nk1:four\n' | $S produce --topic events --key-separator : --header src=cli >"$dir/out" 2>"$dir/err"
[ $? -eq 0 ] && grep -q "produced 4 record" "$dir/err" && ok "produce 4" || bad "produce 4: $(cat "$dir/err")"
sleep 1.1
ts1=$(($(date +%s) * 1000))
printf 'late\n' | $S produce --topic events --partition 0 >/dev/null 2>&1 && ok "produce to partition" || bad "produce to partition"
expect "topic describe" 0 $S topic describe events
grep -q "retention.ms=3600000" "$dir/out" && grep -q "Offsets: 0\.\." "$dir/out" && ok "describe shows configs and offsets" || bad "describe: $(cat "$dir/out")"

expect "consume all" 0 $S consume --topic events --from-beginning --print-key --print-headers
[ "$(wc -l <"$dir/out")" -eq 5 ] && ok "5 records back" || bad "5 records back: $(cat "$dir/out")"
grep -q "^k1	src=cli	one$" "$dir/out" && grep -q "^k1	src=cli	four$" "$dir/out" && ok "key, headers, value" || bad "key/headers/value: $(cat "$dir/out")"
# The same key always lands on the same partition, in order.
$S consume --topic events --from-beginning --print-key --print-offset | awk -F'\t' '$2=="k1"{print $1}' >"$dir/k1"
[ "$(cut -d: -f1 "$dir/k1" | sort -u | wc -l)" -eq 1 ] && ok "one partition per key" || bad "one partition per key"
expect "consume count" 0 $S consume --topic events --from-beginning --count 2
[ "$(wc -l <"$dir/out")" -eq 2 ] && ok "count 2" || bad "count 2"
expect "consume offset" 0 $S consume --topic events --partition 0 --offset 1 --print-offset
head -1 "$dir/out" | grep -q "^0:1	" && ok "starts at offset 1" || bad "offset: $(cat "$dir/out")"
expect "consume from timestamp" 0 $S consume --topic events --from-timestamp "$ts1"
[ "$(cat "$dir/out")" = "late" ] && ok "timestamp seek" || bad "timestamp seek: $(cat "$dir/out")"
expect "consume timestamps printed" 0 $S consume --topic events --from-beginning --print-timestamp --count 1
ts=$(cut -f1 "$dir/out")
[ "$ts" -ge "$ts0" ] 2>/dev/null && ok "timestamps are create times" || bad "timestamp $ts < $ts0"
expect "consume from end" 0 $S consume --topic events
[ ! -s "$dir/out" ] && ok "end: nothing old" || bad "end printed: $(cat "$dir/out")"
expect "consume unknown topic" 1 $S consume --topic nope
expect "consume offset without partition" 1 $S consume --topic events --offset 3

# Follow mode sees a record produced after it started.
$S consume --topic events --follow --count 1 >"$dir/follow" 2>&1 &
fpid=$!
sleep 1
printf 'fresh\n' | $S produce --topic events >/dev/null 2>&1
for _ in $(seq 50); do kill -0 $fpid 2>/dev/null || break; sleep 0.1; done
if kill -0 $fpid 2>/dev/null; then kill $fpid; bad "follow did not see the new record"; else
  [ "$(cat "$dir/follow")" = fresh ] && ok "follow" || bad "follow printed: $(cat "$dir/follow")"; fi

expect "bench produce" 0 $S bench produce --topic events --records 20000 --record-size 200 --compression zstd
grep -q "records/s" "$dir/out" && grep -q "p99" "$dir/out" && ok "bench report" || bad "bench report: $(cat "$dir/out")"
expect "bench consume" 0 $S bench consume --topic events --records 20000
expect "demo sensors" 0 $S demo sensors --topic events --rate 500 --duration 2
expect "demo summary" 0 $S demo summary --topic events --from-beginning --duration 2
grep -q "plant" "$dir/out" && ok "summary lists sites" || bad "summary: $(head -3 "$dir/out")"
expect "topic delete" 0 $S topic delete events
expect "topic delete again" 1 $S topic delete events

echo "$fails failure(s)"
[ "$fails" -eq 0 ]

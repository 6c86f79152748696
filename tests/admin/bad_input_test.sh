#!/bin/bash
# The admin port against hostile clients (tests/admin/bad_input.py), on one
# standalone broker holding records: garbage (binary, a TLS ClientHello, no
# HTTP version) is refused with 400/505 or a close; a head over 8 KiB gets
# 431; a 1 MB request line 414/431 before the server read it all; POST/PUT
# 405, a body 400. Slowloris clients are cut at the 5 s head deadline while
# /livez and /metrics answer within 1 s on new connections; a flood of 2000
# idle connections (and more opened during it) never makes the broker hold
# more than admin.connections.max of them, and scrapes still get in, even
# one accepted in the same burst as the idle ones. Through
# both, produce and consume on the client port stay about as fast as before
# (a server that stalls its loop fails here). Afterwards the broker's RSS is
# within 20 MB of before, its admin sockets are all closed, /metrics passes
# promtool check metrics, and every record produced at the start reads back.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
PY=/usr/bin/python3
H=tests/admin/bad_input.py
AMAX=64        # admin.connections.max
FLOOD=2000     # idle connections opened at once
RECORDS=2000
dir=$(mktemp -d /tmp/strata-badadmin.XXXXXX)
trap 'strata_stop_all; rm -rf "$dir"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1" | tee -a "$dir/fails"; fails=$((fails + 1)); }
# helper_lines OUTFILE: show a helper's ok/FAIL lines, count its failures.
helper_lines() {
  cat "$1"
  grep '^FAIL' "$1" >>"$dir/fails"
  fails=$((fails + $(grep -c '^FAIL' "$1")))
}
now_ms() { date +%s%3N; }
# forget PID...: processes that have exited (waited for) are no longer stopped by PID.
forget() {
  local p keep=()
  for p in "${_strata_pids[@]}"; do [[ " $* " == *" $p "* ]] || keep+=("$p"); done
  _strata_pids=("${keep[@]+"${keep[@]}"}")
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$BPID/status" 2>/dev/null || echo 0; }
[ -x $PY ] || { echo "FAIL $PY: not found (Debian package python3)"; exit 1; }
if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then bad "promtool: command not found (Debian package prometheus; scripts/deps.sh --install)"
  else echo "# promtool not installed (Debian package prometheus): its check is skipped"; fi
fi

# Under AddressSanitizer (make asan) each connection costs the loop several
# times more, and freed memory waits in a quarantine: the flood may delay the
# client port longer (1 s of slack, not 200 ms), and the quarantine is kept
# small so that RSS still says something. 500 ms otherwise: on a loaded
# 2-core machine (other builds and JVMs) a consume of 2000 records once took
# 451 ms under the slowloris against 11 ms before; a real stall of the loop by
# the admin port would cost seconds.
slack=500
if grep -qa __asan_init "$STRATA_BROKER_BIN" 2>/dev/null; then
  slack=1000
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
fi

# One broker; another admin port if the one picked was taken meanwhile.
# log.flush.policy=os: the client port's timings measure the loop, not this
# machine's disk (an fdatasync now and then takes 200 ms here).
for try in 1 2 3; do
  APORT=$(strata_free_port) || exit 1
  strata_start_broker "$dir/b$try" any --set log.level=warn --set log.flush.policy=os \
    --set admin.listeners=127.0.0.1:$APORT --set admin.connections.max=$AMAX && break
  [ $try = 3 ] && exit 1
done
BPID=$STRATA_BROKER_PID
export STRATA_BOOTSTRAP=127.0.0.1:$STRATA_BROKER_PORT
S="timeout 30 $STRATA_BIN"
echo "# broker pid $BPID, client port $STRATA_BROKER_PORT, admin port $APORT"

$S topic create kept --partitions 3 >/dev/null && $S topic create load --partitions 2 >/dev/null ||
  { bad "topic create"; exit 1; }
seq -f 'record-%g' 1 $RECORDS >"$dir/kept.want"
$S produce -t kept <"$dir/kept.want" >/dev/null 2>&1 && ok "produced $RECORDS records to kept" ||
  bad "produce $RECORDS records to kept"

# The client port's speed: a produce of RECORDS records and a consume of
# kept (wall ms each), and a rate-limited bench's worst latency.
timed_produce() {
  local t0
  t0=$(now_ms)
  seq 1 $RECORDS | $S produce -t load >/dev/null 2>&1 || { echo fail; return; }
  echo $(($(now_ms) - t0))
}
timed_consume() {
  local t0 n
  t0=$(now_ms)
  n=$($S consume -t kept --from-beginning -n $RECORDS 2>/dev/null | wc -l)
  [ "$n" = $RECORDS ] || { echo fail; return; }
  echo $(($(now_ms) - t0))
}
# bench OUT SECONDS: in the background; bench_max OUT prints its max latency in ms.
bench() { $S bench produce -t load --rate 2000 --duration "$2" --acks 1 >"$1" 2>&1; }
bench_max() { awk '/^latency:/ { v = $NF == "ms" ? $(NF-1) : $NF; sub(/ms$/, "", v); print int(v + 0.999) }' "$1"; }
# over BASE DURING: DURING failed or is more than 3 x BASE + slack (500 ms).
over() { [ "$2" = fail ] || [ -z "$2" ] || [ "$2" -gt $((3 * $1 + slack)) ]; }
# better A B: the shorter of two timings ("fail" loses).
better() {
  if [ "$1" = fail ] || [ -z "$1" ]; then echo "$2"
  elif [ "$2" = fail ] || [ -z "$2" ] || [ "$1" -le "$2" ]; then echo "$1"
  else echo "$2"; fi
}
# slower WHAT BASE DURING: fail if DURING > 3 x BASE + slack (500 ms).
slower() {
  if [ "$3" = fail ] || [ -z "$3" ]; then bad "$1 failed under attack"
  elif [ "$3" -gt $((3 * $2 + slack)) ]; then bad "$1: $3 ms under attack, $2 ms before (limit 3x + $slack ms)"
  else ok "$1: $3 ms under attack, $2 ms before"; fi
}

# Baselines (worst of three; the bench after a warm-up).
bp=0 bc=0
for _ in 1 2 3; do
  p=$(timed_produce) c=$(timed_consume)
  [ "$p" = fail ] || [ "$c" = fail ] && { bad "baseline produce/consume failed"; exit 1; }
  [ "$p" -gt $bp ] && bp=$p
  [ "$c" -gt $bc ] && bc=$c
done
bench "$dir/bench0" 1
bench "$dir/bench0" 2
bb=$(bench_max "$dir/bench0")
[ -n "$bb" ] || { bad "baseline bench: $(cat "$dir/bench0")"; exit 1; }
echo "# before: produce $RECORDS ${bp} ms, consume $RECORDS ${bc} ms, bench worst latency ${bb} ms"
rss0=$(rss_kb)

# 1-4: garbage, oversized heads, a 1 MB request line, other methods, bodies.
$PY $H probe "$APORT" >"$dir/probe.out" 2>&1
helper_lines "$dir/probe.out"
_strata_alive "$BPID" && ok "the broker survived the bad requests" || bad "the broker died on a bad request"

# A scrape caught in a burst of idle connections is answered, not evicted
# (more than AMAX after it, under the listen queue's 128 in all).
$PY $H amid "$APORT" "$BPID" 10 $((AMAX + 36)) >"$dir/amid.out" 2>&1
helper_lines "$dir/amid.out"

# attack NAME CMD...: run CMD (the attack, in the background) with a bench
# beside it; a watcher for WATCH seconds once $dir/ready exists; then a timed
# produce and consume; then the bench's worst latency against the baseline.
attack() {
  local name=$1 watch=$2 apid bpid wpid p c m
  shift 2
  rm -f "$dir/ready"
  bench "$dir/bench-$name" 4 &
  bpid=$!
  _strata_pids+=("$bpid")
  sleep 0.2
  "$@" >"$dir/attack-$name.out" 2>&1 &
  apid=$!
  _strata_pids+=("$apid")
  for _ in $(seq 100); do [ -e "$dir/ready" ] && break; sleep 0.05; done
  $PY $H watch "$APORT" "$BPID" "$watch" $AMAX "$name" >"$dir/watch-$name.out" 2>&1 &
  wpid=$!
  _strata_pids+=("$wpid")
  p=$(timed_produce)
  c=$(timed_consume)
  # Over the limit: once more while the attack goes on, the better try
  # counts. A loop stalled by the attack slows both tries; one scheduler
  # stall of a loaded 2-core machine (832 ms once against 644) only one.
  if kill -0 "$apid" 2>/dev/null && { over "$bp" "$p" || over "$bc" "$c"; }; then
    p=$(better "$p" "$(timed_produce)")
    c=$(better "$c" "$(timed_consume)")
  fi
  wait "$bpid" "$wpid" "$apid"
  forget "$bpid" "$wpid" "$apid"
  helper_lines "$dir/attack-$name.out"
  helper_lines "$dir/watch-$name.out"
  slower "$name: produce $RECORDS records" "$bp" "$p"
  slower "$name: consume $RECORDS records" "$bc" "$c"
  m=$(bench_max "$dir/bench-$name")
  slower "$name: bench produce worst latency (2000/s)" "$bb" "${m:-fail}"
}

# 5: slowloris clients, one byte a second; 7: the client port meanwhile.
slowloris() { touch "$dir/ready"; exec $PY $H slowloris "$APORT" 8; }
attack slowloris 4 slowloris

# 6: a flood of idle connections, and more during it; 7 again.
attack flood 3.5 $PY $H flood "$APORT" $FLOOD 4 300 "$dir/ready"
sleep 0.5

# The flood has closed its end: the broker holds no admin socket.
n=-1
for _ in $(seq 20); do
  n=$($PY $H socks "$APORT" "$BPID")
  [ "$n" = 0 ] && break
  sleep 0.1
done
[ "$n" = 0 ] && ok "after the flood the broker holds no admin socket" ||
  bad "after the flood the broker still holds $n admin sockets"

# 8: memory.
rss1=$(rss_kb)
[ $((rss1 - rss0)) -le 20480 ] && ok "RSS ${rss0} kB before, ${rss1} kB after (within 20 MB)" ||
  bad "RSS grew from ${rss0} kB to ${rss1} kB (over 20 MB)"

# 9: still serving, the scrape lints, the counters saw it all, the records are there.
_strata_alive "$BPID" && ok "the broker is still running" || bad "the broker died"
code=$($PY $H get "$APORT" /metrics "$dir/metrics.txt")
[ "$code" = 200 ] && ok "/metrics after it all: 200" || bad "/metrics after it all: $code"
if command -v promtool >/dev/null 2>&1; then
  if promtool check metrics <"$dir/metrics.txt" >"$dir/lint" 2>&1; then ok "promtool check metrics"
  else bad "promtool check metrics: $(head -5 "$dir/lint")"; fi
fi
metric() { awk -v k="$1" '$1 == k { print $2 }' "$dir/metrics.txt"; }
conns=$(metric 'strata_connections{listener="admin"}')
evicted=$(metric 'strata_connections_rejected_total{listener="admin",reason="max_connections"}')
timedout=$(metric 'strata_connections_rejected_total{listener="admin",reason="timeout"}')
badreq=$(metric 'strata_connections_rejected_total{listener="admin",reason="bad_request"}')
[ "$conns" = 1 ] && ok 'strata_connections{listener="admin"} is 1 (this scrape)' ||
  bad "strata_connections{listener=\"admin\"} is '$conns' after it all, not 1"
[ "${evicted:-0}" -ge $((FLOOD - AMAX)) ] && [ "${timedout:-0}" -ge 8 ] && [ "${badreq:-0}" -ge 15 ] &&
  ok "rejected: $evicted over max_connections, $timedout timed out, $badreq bad requests" ||
  bad "rejected counters: max_connections '$evicted' (want >= $((FLOOD - AMAX))), timeout '$timedout' (>= 8), bad_request '$badreq' (>= 15)"
$S consume -t kept --from-beginning -n $RECORDS 2>/dev/null | sort >"$dir/kept.got"
if sort "$dir/kept.want" | cmp -s - "$dir/kept.got"; then ok "all $RECORDS records of kept read back"
else bad "kept reads back $(wc -l <"$dir/kept.got") records, not the $RECORDS produced"; fi

# Again at the end (scripts/run-tests.sh shows a test's last lines only).
[ $fails -eq 0 ] || { cat "$dir/fails"; echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"

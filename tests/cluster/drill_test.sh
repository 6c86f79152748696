#!/bin/bash
# `strata drill` end to end, one run each of kill-leader, kill-consumer,
# partition-leader through the fault proxy (--net proxy, as without root) and
# partition-leader with nftables (as root, where a missing nft fails the test;
# not root, it is skipped, saying so): exit 0, a run line with a failover time, the
# summary, and a checker verdict of OK that counted both writes and the
# group's reads (a drill that wrote or read nothing fails here). Then
# kill-leader twice with --client kafka (librdkafka's idempotent producer and
# group consumers over the brokers' Kafka listeners), held to the same and
# to its report naming librdkafka; and kill-leader with --tls (TLS on every
# link, clients included), its report saying so; and kill-controller on a
# quorum of 3 controllers (its default: the active controller and a
# partition leader killed -9, another controller takes over), and with
# --controllers 1 (the one controller killed and restarted). Also: --help
# lists every scenario, and a bad scenario, flag, client or controller
# count exits 2.
set -u
cd "$(dirname "$0")/../.."
S=${STRATA_BUILD:-build}/strata
dir=$(mktemp -d /tmp/strata-drilltest.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

$S drill --help >"$dir/help" 2>&1 && ok "drill --help" || bad "drill --help"
for s in kill-leader pause-leader partition-leader kill-controller rolling-restart kill-consumer \
  kill-coordinator slow-disk; do
  grep -q "^  $s " "$dir/help" && ok "--help lists $s" || bad "--help lists $s"
done
$S drill no-such-scenario >/dev/null 2>&1; [ $? = 2 ] && ok "unknown scenario exits 2" || bad "unknown scenario exits 2"
$S drill kill-leader --runs 0 >/dev/null 2>&1; [ $? = 2 ] && ok "--runs 0 exits 2" || bad "--runs 0 exits 2"

$S drill partition-leader --net bogus >/dev/null 2>&1; [ $? = 2 ] && ok "--net bogus exits 2" || bad "--net bogus exits 2"
$S drill kill-leader --client bogus >/dev/null 2>&1; [ $? = 2 ] && ok "--client bogus exits 2" || bad "--client bogus exits 2"
for n in 0 2; do
  $S drill kill-controller --controllers $n >/dev/null 2>&1; [ $? = 2 ] && ok "--controllers $n exits 2" || bad "--controllers $n exits 2"
done

runs=("kill-leader" "kill-consumer" "partition-leader --net proxy" "kill-leader --client kafka --runs 2"
  "kill-leader --tls" "kill-controller" "kill-controller --controllers 1")
# With nftables as root (and then nft must be there); skipped otherwise.
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: drill partition-leader --net nft: needs root (nftables); ran through the fault proxy only"
elif command -v nft >/dev/null; then runs+=("partition-leader --net nft")
else bad "drill partition-leader --net nft: nft: command not found; run scripts/deps.sh --install"; fi
for run in "${runs[@]}"; do
  s=${run// /_}
  n=1 # runs, unless the run says
  case "$run" in *"--runs "*) n=${run##*--runs } n=${n%% *} ;; *) run="$run --runs 1" ;; esac
  # shellcheck disable=SC2086 # the run's words are the scenario and its flags
  $S drill $run --rate 500 --no-progress --json "$dir/$s.json" >"$dir/$s.out" 2>"$dir/$s.err"
  rc=$?
  said=1 # a run with --net says which network faults it uses, one with --client kafka its client
  case "$run" in *--net*) grep -q "^  network faults: " "$dir/$s.out" || said=0 ;; esac
  case "$run" in *--tls*) grep -q "^  security: TLS on every link" "$dir/$s.out" || said=0 ;; esac
  case "$run" in "kill-controller --runs 1") grep -q " + 3 controllers, " "$dir/$s.out" &&
    grep -q "^  run 1/1: killed controller [0-9] (active), then broker .* took over" "$dir/$s.out" ||
    said=0 ;; esac
  case "$run" in *"--controllers 1"*) grep -q " + controller, " "$dir/$s.out" &&
    grep -q "^  run 1/1: killed the controller: " "$dir/$s.out" || said=0 ;; esac
  case "$run" in *"--client kafka"*) grep -q "^  client: kafka (librdkafka " "$dir/$s.out" || said=0 ;;
  *) grep -q "^  client: native " "$dir/$s.out" || said=0 ;; esac
  writes=$(grep -o '^OK: [0-9]* acknowledged writes' "$dir/$s.out" | grep -o '[0-9]*')
  reads=$(grep -o '[0-9]* reads;' "$dir/$s.out" | grep -o '[0-9]*')
  if [ $rc = 0 ] && [ $said = 1 ] && grep -q "^  run $n/$n: .*failover [0-9.]* ms, recovery [0-9.]* ms" "$dir/$s.out" &&
    grep -q "^  failover  p50" "$dir/$s.out" && [ "${writes:-0}" -gt 1000 ] &&
    [ "${reads:-0}" -ge "${writes:-0}" ] && grep -q '"verdict":"ok"' "$dir/$s.json"; then
    ok "drill $run: $(grep '^  run [0-9]*/' "$dir/$s.out" | sed 's/^ *//' | paste -sd';')"
  else
    bad "drill $run (exit $rc)"
    cat "$dir/$s.out" "$dir/$s.err"
  fi
done
[ $fails = 0 ]

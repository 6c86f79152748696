#!/bin/bash
# More partitions than descriptors (issue 15): a broker under `ulimit -n 128`
# hosts 300 partitions (900 segment and index files, 300 directories),
# produces to and consumes from every one, restarts over them and serves them
# all again; it never holds more descriptors than its limit allows, and no
# partition reports a file it could not open. Every acknowledged record was
# fdatasynced first although its file's descriptor had been closed and
# opened again in between (the fsync shim logs each sync with the file's
# size). One broker, no controller.
#   SCALE_TEST_PORT: the broker's port (default: any free one)
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
dir=$(mktemp -d /tmp/strata-fdtest.XXXXXX)
trap 'strata_stop_all; rm -rf "$dir"' EXIT
LIMIT=128
PARTS=300
ulimit -n $LIMIT || { echo "cannot set ulimit -n $LIMIT"; exit 1; }
SHIM=$STRATA_BUILD/tests/fsync_log.so
[ -f "$SHIM" ] || { echo "FAIL missing $SHIM (make $SHIM)"; exit 1; }
start() {
  LD_PRELOAD=$SHIM STRATA_FSYNC_LOG=$dir/fsyncs \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    strata_start_broker "$dir" "${SCALE_TEST_PORT:-any}" --set log.level=warn \
    --set max.connections=16 --set admin.listeners= || exit 1
  export STRATA_BOOTSTRAP=127.0.0.1:$STRATA_BROKER_PORT
}
# Every partition's one record, read back in one consume over all of them.
check_all() {
  local what=$1
  "$STRATA_BIN" consume -t many --from-beginning --timeout 30000 >"$dir/got" 2>"$dir/err"
  sort -u "$dir/got" >"$dir/got.sorted"
  if cmp -s "$dir/want" "$dir/got.sorted"; then ok "$what: all $PARTS partitions read back"; else
    bad "$what: $(wc -l <"$dir/got.sorted") of $PARTS records read back"; head -3 "$dir/err"; fi
  local n
  n=$(ls "/proc/$STRATA_BROKER_PID/fd" | wc -l)
  [ "$n" -le $LIMIT ] && ok "$what: broker holds $n descriptors (limit $LIMIT)" ||
    bad "$what: broker holds $n descriptors"
}

start
"$STRATA_BIN" topic create many -p $PARTS >"$dir/out" 2>&1 && ok "created $PARTS partitions" ||
  { bad "create: $(cat "$dir/out")"; exit 1; }
: >"$dir/want"
for i in $(seq 0 $((PARTS - 1))); do
  echo "p$i" >>"$dir/want"
  echo "p$i" | "$STRATA_BIN" produce -t many -p "$i" >"$dir/out" 2>&1 ||
    { bad "produce to partition $i: $(cat "$dir/out")"; break; }
done
sort -u -o "$dir/want" "$dir/want"
check_all "after produce"
# Each partition's segment, at its size now, was covered by an fdatasync.
unsynced=0
for i in $(seq 0 $((PARTS - 1))); do
  seg=$dir/data/many-$i/00000000000000000000.log
  size=$(stat -c %s "$seg")
  awk -v p="$seg" -v s="$size" '$3 == p && $2 >= s { found = 1 } END { exit !found }' \
    "$dir/fsyncs" || unsynced=$((unsynced + 1))
done
[ $unsynced -eq 0 ] && ok "every partition's acknowledged bytes were fdatasynced" ||
  bad "$unsynced partitions have acknowledged bytes no fdatasync covered"

# A clean stop and a start over more partitions than descriptors: recovery
# opens each log's files and gives them back.
strata_stop_all
start
check_all "after restart"

if grep -E "cannot open|Too many open files" "$dir/broker.log" >"$dir/errs"; then
  bad "the broker could not open a file: $(head -2 "$dir/errs")"
else ok "no file the broker could not open"; fi
grep -q "open-file limit $LIMIT" "$dir/broker.log" && ok "the broker logs its descriptor budget" ||
  bad "no descriptor budget line in the log"

echo "$fails failed"
[ $fails -eq 0 ]

#!/bin/bash
# make test's short run of more testbed drills, one round each, beside
# tests/fault/drill.sh's partition-leader: a minority/majority split, the
# leader's disk filled to the last block, and a slow follower disk (make
# faults runs every scenario FAULT_ROUNDS times). Fails when any of them
# does. Without root drill.sh skips them (its "SKIP:" lines pass through);
# exits 77 when every one was skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
bad=0
ran=0
for sc in split full-disk slow-disk-follower; do
  echo "== $sc"
  bash tests/fault/drill.sh "$sc" 1
  rc=$?
  case $rc in
  0) ran=$((ran + 1)) ;;
  77) ;;
  *) echo "FAILED: $sc (exit $rc)"; bad=1 ;;
  esac
done
[ $bad = 0 ] && [ $ran = 0 ] && exit 77
exit $bad

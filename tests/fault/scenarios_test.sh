#!/bin/bash
# make test's short run of more testbed drills, one round each, beside
# tests/fault/drill.sh's partition-leader: a minority/majority split, the
# leader's disk filled to the last block, and a slow follower disk (make
# faults runs every scenario FAULT_ROUNDS times). Without root drill.sh says
# what it falls back to or skips. Fails when any of them does.
set -uo pipefail
cd "$(dirname "$0")/../.."
bad=0
for sc in split full-disk slow-disk-follower; do
  echo "== $sc"
  bash tests/fault/drill.sh "$sc" 1 || { echo "FAILED: $sc"; bad=1; }
done
exit $bad

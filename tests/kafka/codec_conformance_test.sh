#!/bin/bash
# The Kafka codec against an independent implementation: kafka-python
# 2.0.2's protocol classes (Debian python3-kafka) write requests and
# responses of every api and version they have (tests/kafka/codec_vectors.py);
# $STRATA_BUILD/tests/kafka/codec_check decodes each with our tables, checks
# every value and re-encodes to the same bytes. kafka-python's own known
# transcription bugs are listed in codec_vectors.py and must still differ.
# Without python3-kafka it fails naming it as root, and is skipped otherwise.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
build=${STRATA_BUILD:-build}
check=$build/tests/kafka/codec_check
[ -x "$check" ] || { echo "FAIL: $check not built (make $check)"; exit 1; }
if ! /usr/bin/python3 -c 'import kafka.protocol' 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "FAIL: the Kafka codec conformance: python3-kafka not installed; run scripts/deps.sh --install" >&2
    exit 1
  fi
  strata_skip "the Kafka codec conformance: needs python3-kafka (scripts/deps.sh --install installs it)"
fi
out=$(mktemp /tmp/strata-codec-vectors.XXXXXX)
trap 'rm -f "$out"' EXIT
/usr/bin/python3 tests/kafka/codec_vectors.py >"$out" || { echo "FAIL: codec_vectors.py"; exit 1; }
n=$(grep -cv '^#' "$out")
# a kafka-python that wrote next to nothing would make this pass vacuously
[ "$n" -ge 150 ] || { echo "FAIL: only $n vectors from kafka-python"; exit 1; }
"$check" <"$out"

#!/bin/bash
# Kafka's four codecs end to end on one broker with its Kafka listener:
#   - `strata produce --compression C` for none, gzip, snappy, lz4 and zstd:
#     the stored batches carry codec C (attributes bits 0-2 of the segment's
#     first batch, stored as sent) and `strata consume` reads every record back
#     byte for byte (short lines, long ones across snappy's 32 KiB chunks and
#     lz4's 64 KiB blocks);
#   - librdkafka (kcat -z C, through the Kafka listener: raw snappy, its own
#     LZ4 frames) writes, and `strata consume` reads it back exactly;
#   - kcat reads back exactly what `strata produce` wrote with each codec
#     (snappy-java framing, our LZ4 frames with a content checksum);
#   - a bad --compression is refused with the codec list.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
strata_need "the Kafka codecs against librdkafka" kcat
dir=$(mktemp -d /tmp/strata-compresstest.XXXXXX)
trap 'strata_stop_all; rm -rf "$dir"' EXIT
S=$STRATA_BIN

# 400 records: numbered short lines, every 50th 40-120 KB of varied text.
awk 'BEGIN {
  srand(7);
  for (i = 0; i < 400; i++) {
    if (i % 50 == 7) {
      n = 40000 + int(rand() * 80000); s = "long-" i ":";
      while (length(s) < n) s = s sprintf("%d,sensor-%d,%.3f;", i, int(rand() * 1000), rand() * 100);
      print s;
    } else {
      printf "record %d value %d %s\n", i, int(rand() * 1e6), (i % 3 ? "temperature" : "humidity");
    }
  }
}' >"$dir/in"
want=$(wc -l <"$dir/in")

expect_fail() {
  local name=$1
  shift
  if "$@" </dev/null >"$dir/out" 2>"$dir/err"; then bad "$name (exit 0)"; else ok "$name"; fi
}
expect_fail "bad --compression refused" $S produce --topic x --compression brotli \
  --bootstrap 127.0.0.1:1
grep -q "none, gzip, snappy, lz4 or zstd" "$dir/err" && ok "names the codecs" ||
  bad "names the codecs: $(cat "$dir/err")"

kport=$(strata_free_port) || exit 1
strata_start_broker "$dir/b" any --set log.level=warn \
  --set kafka.listeners=127.0.0.1:"$kport" --set kafka.advertised.listeners=127.0.0.1:"$kport" || exit 1
export STRATA_BOOTSTRAP=127.0.0.1:$STRATA_BROKER_PORT
strata_wait_port 127.0.0.1 "$kport" 15 || { bad "Kafka listener on $kport"; exit 1; }

# codec_of TOPIC: the attributes' codec bits of the first batch in partition 0.
codec_of() {
  local f
  f=$(find "$dir/b/data" -path "*$1*" -name '*.log' -size +0 2>/dev/null | sort | head -1)
  [ -n "$f" ] || { echo "no segment"; return; }
  echo $(($(od -An -tu1 -j22 -N1 "$f") & 7))
}

# same NAME FILE: FILE holds exactly the input's records, in order.
same() {
  if cmp -s "$dir/in" "$2"; then ok "$1"; else
    bad "$1: $(wc -l <"$2") of $want lines; first difference: $(cmp "$dir/in" "$2" 2>&1 | head -1)"
  fi
}

n=0
for c in none gzip snappy lz4 zstd; do
  t=strata-$c
  $S topic create "$t" --partitions 1 >/dev/null 2>"$dir/err" || bad "create $t: $(cat "$dir/err")"
  if $S produce --topic "$t" --compression "$c" <"$dir/in" >/dev/null 2>"$dir/err"; then
    ok "strata produce --compression $c"
  else
    bad "strata produce --compression $c: $(cat "$dir/err")"
  fi
  [ "$(codec_of "$t")" = "$n" ] && ok "$c: stored batch has codec $n" ||
    bad "$c: stored batch has codec $(codec_of "$t"), wanted $n"
  timeout 60 $S consume --topic "$t" --from-beginning --count "$want" >"$dir/got" 2>"$dir/err"
  same "$c: strata consume reads strata's records back" "$dir/got"
  timeout 60 kcat -C -b 127.0.0.1:"$kport" -t "$t" -p 0 -o beginning -e -q -f '%s\n' \
    >"$dir/got" 2>"$dir/err"
  same "$c: kcat (librdkafka) reads strata's records back" "$dir/got"
  [ "$c" = none ] || {
    k=kcat-$c
    $S topic create "$k" --partitions 1 >/dev/null 2>"$dir/err" || bad "create $k: $(cat "$dir/err")"
    if timeout 60 kcat -P -b 127.0.0.1:"$kport" -t "$k" -p 0 -z "$c" -X message.max.bytes=10000000 \
      <"$dir/in" 2>"$dir/err"; then ok "kcat -z $c produce"; else bad "kcat -z $c produce: $(head -c 300 "$dir/err")"; fi
    [ "$(codec_of "$k")" = "$n" ] && ok "kcat $c: stored batch has codec $n" ||
      bad "kcat $c: stored batch has codec $(codec_of "$k"), wanted $n"
    timeout 60 $S consume --topic "$k" --from-beginning --count "$want" >"$dir/got" 2>"$dir/err"
    same "$c: strata consume reads librdkafka's records back" "$dir/got"
  }
  n=$((n + 1))
done

echo "$fails failed"
[ $fails -eq 0 ]

#!/bin/bash
# TLS on the server side (issue 17), with real tools and certificates made
# now by tests/security/tls_certs.sh in a temp dir:
#   broker 1: listeners=SSL://, kafka.listeners=SSL://, admin.listeners=HTTPS://,
#             ssl.client.auth=required, a principal mapping rule
#   broker 2: listeners=PLAINTEXT:// (a TLS client on a plaintext port), an HTTP admin port,
#             kafka.listeners=SSL:// without client auth (SIGHUP rotation)
#   a controller with listeners=SSL:// and an HTTPS admin port
# The strata CLI reaches broker 1's native TLS listener through
# tests/security/tls_check.py's proxy (libstrata's own TLS is the tlsclient
# work); kcat (librdkafka) speaks TLS to the Kafka listener itself.
# TLS_TEST_PORT=N: use ports N..N+9 instead of free ones.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
strata_need "the TLS test" openssl kcat curl python3 timeout
STRATA_CTRL_BIN=${STRATA_CTRL_BIN:-$STRATA_BUILD/strata-controller}
dir=$(mktemp -d /tmp/strata-tlstest.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}" "${_strata_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}" "${_strata_pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT

tests/security/tls_certs.sh "$dir" || { echo "FAIL: tls_certs.sh"; exit 1; }
cp "$dir/server.pem" "$dir/live.pem"
cp "$dir/server.key" "$dir/live.key"
if [ -n "${TLS_TEST_PORT:-}" ]; then
  p1=$TLS_TEST_PORT
else
  for _ in $(seq 20); do
    p1=$(strata_free_port) || exit 1
    free=1
    for k in 1 2 3 4 5 6 7 8 9; do _strata_port_used $((p1 + k)) && free=0; done
    [ $free = 1 ] && break
  done
fi
kp1=$((p1 + 1)) ap1=$((p1 + 2)) proxy=$((p1 + 3)) p2=$((p1 + 4)) kp2=$((p1 + 5))
cp=$((p1 + 6)) cap=$((p1 + 7)) ap2=$((p1 + 8))
ssl="--set ssl.certificate.location=$dir/server.pem --set ssl.key.location=$dir/server.key --set ssl.ca.location=$dir/ca.pem"
CA="-X security.protocol=ssl -X ssl.ca.location=$dir/ca.pem"
ME="$CA -X ssl.certificate.location=$dir/client.pem -X ssl.key.location=$dir/client.key"

# shellcheck disable=SC2086
strata_start_broker "$dir/b1" "$p1" --set listeners=SSL://127.0.0.1:$p1 \
  --set kafka.listeners=SSL://127.0.0.1:$kp1 --set admin.listeners=HTTPS://127.0.0.1:$ap1 \
  $ssl --set ssl.client.auth=required --set 'ssl.principal.mapping.rules=RULE:^CN=(.*?),.*$/$1/,DEFAULT' \
  --set advertised.listeners=127.0.0.1:$proxy --set log.level=debug || exit 1
b1=$STRATA_BROKER_PID
# shellcheck disable=SC2086
strata_start_broker "$dir/b2" "$p2" --set listeners=PLAINTEXT://127.0.0.1:$p2 \
  --set kafka.listeners=SSL://127.0.0.1:$kp2 --set admin.listeners=127.0.0.1:$ap2 \
  --set ssl.certificate.location="$dir/live.pem" --set ssl.key.location="$dir/live.key" || exit 1
b2=$STRATA_BROKER_PID
log1=$dir/b1/broker.log

# A slow-drip handshake (one byte of a record header, then nothing) is cut
# at the 10 s deadline; measured in the background while the rest runs.
(
  exec 3<>/dev/tcp/127.0.0.1/$p1
  printf '\026' >&3
  t0=$(date +%s%N)
  timeout 20 cat <&3 >/dev/null
  echo $((($(date +%s%N) - t0) / 1000000)) >"$dir/drip.ms"
) &
pids+=($!)
drip=$!

# ---- the native listener over TLS (the CLI through the proxy) ----
python3 tests/security/tls_check.py proxy $proxy $p1 "$dir" 2>"$dir/proxy.err" &
pids+=($!)
strata_wait_port 127.0.0.1 $proxy 10 || bad "proxy did not listen"
S="$STRATA_BIN -b 127.0.0.1:$proxy"
$S topic create tls --partitions 1 >/dev/null 2>"$dir/err" && ok "native over TLS: topic create" ||
  bad "native over TLS: topic create: $(cat "$dir/err")"
seq 1 1000 | $S produce -t tls >/dev/null 2>"$dir/err" || bad "native over TLS: produce: $(cat "$dir/err")"
n=$(timeout 30 $S consume -t tls --from-beginning -n 1000 2>/dev/null | wc -l)
[ "$n" = 1000 ] && ok "native over TLS: 1000 records produced and consumed" || bad "native over TLS: consumed $n of 1000"
grep -q "established, principal User:alice" "$log1" &&
  ok "the client certificate maps to User:alice (RULE:^CN=(.*?),.*\$/\$1/)" ||
  bad "no 'principal User:alice' in the broker log"

# ---- the Kafka listener over TLS (kcat) ----
# shellcheck disable=SC2086
seq 1 1000 | timeout 30 kcat -P -b 127.0.0.1:$kp1 $ME -t tls 2>"$dir/err" &&
  ok "kcat produce over SSL" || bad "kcat produce over SSL: $(head -c 300 "$dir/err")"
# shellcheck disable=SC2086
n=$(timeout 30 kcat -C -b 127.0.0.1:$kp1 $ME -t tls -o beginning -e -q 2>/dev/null | wc -l)
[ "$n" = 2000 ] && ok "kcat consume over SSL: 2000 records" || bad "kcat consume over SSL: $n of 2000"
# A 3 MB record: encrypted slice by slice, read back whole.
head -c 2300000 /dev/urandom | base64 -w 0 >"$dir/big"
echo >>"$dir/big"
# shellcheck disable=SC2086
timeout 30 kcat -P -b 127.0.0.1:$kp1 $ME -X message.max.bytes=8000000 -t tls <"$dir/big" 2>"$dir/err" ||
  bad "kcat produce of a 3 MB record: $(head -c 300 "$dir/err")"
# shellcheck disable=SC2086
timeout 30 kcat -C -b 127.0.0.1:$kp1 $ME -X fetch.message.max.bytes=8000000 -t tls -o 2000 -c 1 -e -q \
  >"$dir/big.back" 2>/dev/null
cmp -s "$dir/big" "$dir/big.back" && ok "a 3 MB record round-trips over SSL" ||
  bad "the 3 MB record came back as $(wc -c <"$dir/big.back") bytes"

# ---- refusals: client certificates (ssl.client.auth=required) ----
refused() { # what, kcat args...
  local what=$1
  shift
  if timeout 20 kcat -L -b 127.0.0.1:$kp1 -m 5 "$@" >"$dir/out" 2>&1 && grep -q "topic \"tls\"" "$dir/out"; then
    bad "$what: kcat got metadata"
  else
    ok "$what is refused"
  fi
}
# shellcheck disable=SC2086
refused "no client certificate" $CA
# shellcheck disable=SC2086
refused "a client certificate from another CA" $CA -X ssl.certificate.location="$dir/other-client.pem" \
  -X ssl.key.location="$dir/other-client.key"
# shellcheck disable=SC2086
refused "an expired client certificate" $CA -X ssl.certificate.location="$dir/expired.pem" \
  -X ssl.key.location="$dir/expired.key"
# shellcheck disable=SC2086
refused "a client certificate not yet valid" $CA -X ssl.certificate.location="$dir/future.pem" \
  -X ssl.key.location="$dir/future.key"
grep -q "certificate is not yet valid" "$log1" && ok "the broker logs why: certificate is not yet valid" ||
  bad "no 'certificate is not yet valid' in the broker log"
grep -q "certificate has expired" "$log1" && ok "the broker logs why: certificate has expired" ||
  bad "no 'certificate has expired' in the broker log"

# ---- protocol versions and renegotiation ----
s_client() { # port, args...
  local port=$1
  shift
  echo Q | timeout "${S_TIMEOUT:-10}" openssl s_client -connect 127.0.0.1:"$port" -CAfile "$dir/ca.pem" \
    -cert "$dir/client.pem" -key "$dir/client.key" "$@" 2>&1
}
for v in tls1 tls1_1; do
  s_client $kp1 -$v -cipher 'DEFAULT@SECLEVEL=0' >"$dir/out"
  grep -q "alert protocol version" "$dir/out" && ok "-$v is refused (protocol_version alert)" ||
    bad "-$v: $(grep -iE 'error|Protocol' "$dir/out" | head -3)"
done
for v in tls1_2 tls1_3; do
  s_client $kp1 -$v >"$dir/out"
  grep -q "Verify return code: 0" "$dir/out" && grep -q "Cipher is [A-Z]" "$dir/out" &&
    ok "-$v handshakes" || bad "-$v: $(grep -iE 'error|alert' "$dir/out" | head -3)"
done
(echo R; sleep 1) | timeout 10 openssl s_client -connect 127.0.0.1:$kp1 -tls1_2 -CAfile "$dir/ca.pem" \
  -cert "$dir/client.pem" -key "$dir/client.key" >"$dir/out" 2>&1
grep -q "RENEGOTIATING" "$dir/out" && grep -q "no renegotiation" "$dir/out" &&
  ok "renegotiation is refused (no_renegotiation alert)" ||
  bad "renegotiation: $(grep -iE 'RENEG|error|alert' "$dir/out" | head -3)"

# ---- the wrong protocol on a port ----
t0=$(date +%s%N)
(
  exec 3<>/dev/tcp/127.0.0.1/$p1
  printf '\0\0\0\x20\0\0\0\x08plaintext frame on a TLS port....' >&3
  timeout 5 cat <&3 >/dev/null
)
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -lt 4000 ] && ok "plaintext bytes on a TLS port: closed at once (${ms} ms)" ||
  bad "plaintext bytes on a TLS port: still open after ${ms} ms"
s_client $p2 >"$dir/out"
if grep -q "Cipher is [A-Z]" "$dir/out"; then bad "TLS to a plaintext port handshook"; else ok "TLS to a plaintext port fails"; fi
$STRATA_BIN -b 127.0.0.1:$p2 topic list >/dev/null 2>&1 && ok "the plaintext port serves on afterwards" ||
  bad "the plaintext port does not answer after the TLS attempt"
kill -0 $b1 2>/dev/null && kill -0 $b2 2>/dev/null && ok "both brokers are up" || bad "a broker died"

# ---- at most TLS_HANDSHAKES_MAX (64) handshakes at once ----
# 64 connections that never speak take every slot: a real client then waits
# unread; once they close it goes through.
idle=()
for _ in $(seq 64); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$kp1" && idle+=("$fd")
done
S_TIMEOUT=3 s_client $kp1 >"$dir/out"
grep -q "Cipher is [A-Z]" "$dir/out" && bad "a 65th handshake ran while 64 were in progress" ||
  ok "a 65th concurrent handshake waits (64 slots taken)"
for fd in "${idle[@]}"; do exec {fd}>&-; done
sleep 0.5
s_client $kp1 >"$dir/out"
grep -q "Cipher is [A-Z]" "$dir/out" && ok "once the idle ones close, handshakes run again" ||
  bad "no handshake after the idle connections closed: $(grep -iE 'error|alert' "$dir/out" | head -3)"

# ---- EOF mid-frame, over TLS ----
python3 tests/security/tls_check.py midframe $kp1 "$dir" tls || fails=$((fails + 1))
python3 tests/security/tls_check.py badframe $kp1 "$dir" || fails=$((fails + 1))

# ---- HTTPS admin ----
code=$(curl -s -o "$dir/metrics" -w '%{http_code}' --cacert "$dir/ca.pem" --cert "$dir/client.pem" \
  --key "$dir/client.key" "https://127.0.0.1:$ap1/metrics")
[ "$code" = 200 ] && grep -q '^strata_build_info' "$dir/metrics" && ok "HTTPS /metrics with curl" ||
  bad "HTTPS /metrics: $code"
want=$(date -d "$(openssl x509 -in "$dir/server.pem" -noout -enddate | cut -d= -f2)" +%s)
grep -q "^strata_tls_certificate_expiry_timestamp_seconds{kind=\"cert\"} $want\$" "$dir/metrics" &&
  ok "strata_tls_certificate_expiry_timestamp_seconds is the certificate's notAfter" ||
  bad "expiry metric: $(grep expiry "$dir/metrics") (notAfter $want)"
fl=$(awk '/^strata_tls_handshake_failures_total / { print $2 }' "$dir/metrics")
[ "${fl:-0}" -ge 3 ] && ok "strata_tls_handshake_failures_total counts the refusals ($fl)" ||
  bad "strata_tls_handshake_failures_total $fl, wanted >= 3"
curl -s -o /dev/null --max-time 5 --cacert "$dir/ca.pem" "https://127.0.0.1:$ap1/metrics" &&
  bad "HTTPS /metrics without a client certificate answered" ||
  ok "HTTPS /metrics without a client certificate is refused (ssl.client.auth=required)"
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$ap1/metrics" && bad "plain HTTP on the HTTPS port answered" ||
  ok "plain HTTP on the HTTPS port is refused"

# ---- SIGHUP: rotation without a restart ----
python3 tests/security/tls_check.py rotation $kp2 "$dir" \
  "cp '$dir/server2.pem' '$dir/live.pem' && cp '$dir/server2.key' '$dir/live.key' && kill -HUP $b2" ||
  fails=$((fails + 1))
grep -q "SIGHUP: TLS certificate reloaded" "$dir/b2/broker.log" && ok "the broker logs the reload" ||
  bad "no reload line in broker 2's log"
curl -s --max-time 5 "http://127.0.0.1:$ap2/livez" >/dev/null && ok "a plain HTTP admin port stays HTTP after SIGHUP" ||
  bad "broker 2's HTTP admin port does not answer HTTP after SIGHUP"

# ---- the controller ----
"$STRATA_CTRL_BIN" --set data.dir="$dir/ctl" --set listeners=SSL://127.0.0.1:$cp \
  --set admin.listeners=HTTPS://127.0.0.1:$cap --set ssl.certificate.location="$dir/server.pem" \
  --set ssl.key.location="$dir/server.key" >"$dir/ctl.log" 2>&1 &
ctl=$!
pids+=($ctl)
strata_wait_port 127.0.0.1 $cp 10 || bad "the controller did not listen"
s_client $cp -verify_hostname localhost >"$dir/out"
grep -q "Verify return code: 0" "$dir/out" && grep -q "subject=.*CN = broker-1" "$dir/out" &&
  ok "the controller's listener speaks TLS" || bad "controller TLS: $(grep -iE 'error|alert' "$dir/out" | head -3)"
curl -s --cacert "$dir/ca.pem" "https://127.0.0.1:$cap/metrics" | grep -q '^strata_build_info' &&
  ok "the controller's HTTPS /metrics" || bad "the controller's HTTPS /metrics"

# ---- the slow drip ----
wait $drip
ms=$(cat "$dir/drip.ms" 2>/dev/null || echo 0)
[ "$ms" -ge 9000 ] && [ "$ms" -lt 15000 ] && ok "a slow-drip handshake is closed at the deadline (${ms} ms)" ||
  bad "slow-drip handshake closed after ${ms} ms (deadline 10000)"

kill -0 $b1 2>/dev/null && kill -0 $b2 2>/dev/null && kill -0 $ctl 2>/dev/null && ok "every server is still up" ||
  bad "a server died"
# A clean stop, then nothing in the logs from the sanitizers (make asan).
for p in $b1 $b2 $ctl; do kill "$p" 2>/dev/null; done
for p in $b1 $b2 $ctl; do wait "$p" 2>/dev/null; done
if grep -lE "Sanitizer|runtime error" "$dir"/b1/broker.log "$dir"/b2/broker.log "$dir/ctl.log" >"$dir/san"; then
  bad "sanitizer reports in: $(cat "$dir/san")"
  grep -hE -A12 "Sanitizer|runtime error" "$dir"/b1/broker.log "$dir"/b2/broker.log "$dir/ctl.log" | head -60
else
  ok "no sanitizer report in the servers' logs"
fi
[ $fails = 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"

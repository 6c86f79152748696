#!/bin/bash
# SASL everywhere on one controller and one broker, all SASL_PLAINTEXT: the
# controller's first user comes from --bootstrap-user (broker-1), the broker
# logs in as it to the controller (sasl.password.file), and alice is made the
# operator's way (`strata user create`, password on stdin, over the SASL
# native listener, through the controller's log to the broker's image).
# Then: libstrata (the CLI with --command-config) produces and consumes as
# alice and is refused with a wrong password or none; kcat SCRAM-SHA-512
# produces and consumes; tests/kafka/sasl_clients.py runs confluent-kafka
# (SCRAM-SHA-512, PLAIN), kafka-python (SCRAM-SHA-256, v0 handshake with
# bare tokens) and raw frames: nothing but ApiVersions and the SASL requests
# before login, a 100 MB length prefix closed unbuffered, a replayed
# client-final and a tampered nonce refused, authzid != user refused, wrong
# password and unknown user answered alike after the 100 ms delay, the 10 s
# login deadline. Last, strata_authentications_total counted both results
# and no log holds a password. SASL_TEST_PORT=N uses ports N..N+3.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
strata_need "SASL client test" kcat curl
for m in confluent_kafka:python3-confluent-kafka kafka:python3-kafka; do
  $PY -c "import ${m%%:*}" 2>/dev/null && continue
  [ "$(id -u)" = 0 ] && { echo "FAIL: python3 module ${m%%:*} (${m#*:}) not installed; run scripts/deps.sh --install"; exit 1; }
  strata_skip "SASL client test: needs python3 module ${m%%:*} (${m#*:})"
done
dir=$(mktemp -d /tmp/strata-sasl.XXXXXX)
cleanup() {
  strata_stop_all
  if [ "$fails" = 0 ]; then rm -rf "$dir"; else echo "logs kept in $dir"; fi
}
trap cleanup EXIT

# four neighbouring free ports: controller, native, Kafka, admin
# (SASL_TEST_PORT=N: N..N+3)
port=${SASL_TEST_PORT:-}
for _ in $(seq 20); do
  [ -n "${SASL_TEST_PORT:-}" ] && break
  port=$(strata_free_port) || exit 1
  _strata_port_used $((port + 1)) || _strata_port_used $((port + 2)) ||
    _strata_port_used $((port + 3)) || break
done
CPORT=$port NPORT=$((port + 1)) KPORT=$((port + 2)) APORT=$((port + 3))
PASS='s3cret,=pass word'
BPASS='broker-1 pw'

# The cluster's first user comes from the controller's --bootstrap-user
# (password in the environment), and the broker logs in as it to the SASL
# controller and on its own SASL native listener; alice is then made with
# `strata user create` over that listener, as an operator would.
STRATA_BOOTSTRAP_PASSWORD=$BPASS "$STRATA_BUILD/strata-controller" --bootstrap-user broker-1 \
  --set data.dir="$dir/controller" --set listeners=SASL_PLAINTEXT://127.0.0.1:$CPORT \
  --set admin.listeners= >"$dir/controller.log" 2>&1 &
_strata_pids+=($!)
strata_wait_port 127.0.0.1 $CPORT 15 || { bad "controller did not start"; exit 1; }
printf '%s\n' "$BPASS" >"$dir/broker.password"
"$STRATA_BUILD/strata-broker" --set broker.id=1 --set log.dir="$dir/broker" \
  --set listeners=SASL_PLAINTEXT://127.0.0.1:$NPORT --set controller=SASL_PLAINTEXT://127.0.0.1:$CPORT \
  --set sasl.mechanism=SCRAM-SHA-256 --set sasl.username=broker-1 \
  --set sasl.password.file="$dir/broker.password" \
  --set admin.listeners=127.0.0.1:$APORT --set kafka.listeners=SASL_PLAINTEXT://127.0.0.1:$KPORT \
  --set sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN \
  --set offsets.topic.replication.factor=1 >"$dir/broker.log" 2>&1 &
_strata_pids+=($!)
strata_wait_port 127.0.0.1 $KPORT 15 || { bad "broker did not start"; cat "$dir/broker.log"; exit 1; }

printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.username=broker-1\nsasl.password=%s\n' \
  "$BPASS" >"$dir/admin.properties"
S="timeout 30 $STRATA_BIN --bootstrap 127.0.0.1:$NPORT --command-config $dir/admin.properties"
for _ in $(seq 50); do $S topic create sasl -p 2 -r 1 >"$dir/topic.out" 2>&1 && break; sleep 0.2; done
grep -q created "$dir/topic.out" && ok "topic created over the SASL native listener (broker logged in to the controller)" ||
  { bad "topic create: $(cat "$dir/topic.out")"; exit 1; }
if printf '%s\n' "$PASS" | $S user create alice >"$dir/user.out" 2>&1; then
  ok "strata user create alice (password on stdin, over SASL as the bootstrap user)"
else
  bad "strata user create: $(cat "$dir/user.out")"; exit 1
fi
timeout 10 $STRATA_BIN --bootstrap 127.0.0.1:$NPORT topic list >"$dir/anon.out" 2>&1 &&
  bad "the native SASL listener answered topic list without a login" ||
  ok "the native SASL listener refuses a client without a login: $(tail -n 1 "$dir/anon.out")"
sed 's/broker-1/alice/; s/^sasl.password=.*/sasl.password='"$PASS"'/' "$dir/admin.properties" >"$dir/alice.properties"
seq 1 5 | sed 's/^/native-/' | timeout 20 $STRATA_BIN --bootstrap 127.0.0.1:$NPORT \
  --command-config "$dir/alice.properties" produce -t sasl -p 1 >"$dir/native-p.out" 2>&1 &&
  ok "libstrata (CLI) SCRAM-SHA-512 as alice: produced" || bad "native produce: $(cat "$dir/native-p.out")"
n=$(timeout 20 $STRATA_BIN --bootstrap 127.0.0.1:$NPORT --command-config "$dir/alice.properties" \
  consume -t sasl -p 1 --from-beginning -n 5 2>"$dir/native-c.err" | grep -c '^native-')
[ "$n" = 5 ] && ok "libstrata (CLI) as alice: 5 records consumed" || bad "native consume: $n ($(cat "$dir/native-c.err"))"
printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=alice\nsasl.password=nope\n' >"$dir/bad.properties"
timeout 10 $STRATA_BIN --bootstrap 127.0.0.1:$NPORT --command-config "$dir/bad.properties" topic list \
  >"$dir/bad.out" 2>&1 && bad "a wrong password listed topics" ||
  { grep -qi 'authentication failed' "$dir/bad.out" && ok "libstrata with a wrong password: $(tail -n 1 "$dir/bad.out")" ||
    bad "wrong password: $(cat "$dir/bad.out")"; }

# the broker learns the user from its next metadata image
K=(-b 127.0.0.1:$KPORT -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=SCRAM-SHA-512
  -X sasl.username=alice -X "sasl.password=$PASS")
for _ in $(seq 50); do timeout 10 kcat "${K[@]}" -L >"$dir/kcat-L.out" 2>&1 && break; sleep 0.2; done
grep -q 'topic "sasl"' "$dir/kcat-L.out" && ok "kcat SCRAM-SHA-512: metadata after login" ||
  bad "kcat -L: $(tail -n 3 "$dir/kcat-L.out")"
seq 1 20 | sed 's/^/kcat-/' | timeout 20 kcat "${K[@]}" -P -t sasl -p 0 >"$dir/kcat-P.out" 2>&1 &&
  ok "kcat SCRAM-SHA-512: 20 records produced" || bad "kcat -P: $(tail -n 3 "$dir/kcat-P.out")"
n=$(timeout 20 kcat "${K[@]}" -C -t sasl -p 0 -o beginning -e -q 2>"$dir/kcat-C.err" | grep -c '^kcat-')
[ "$n" = 20 ] && ok "kcat SCRAM-SHA-512: 20 records consumed" || bad "kcat -C: $n records ($(tail -n 2 "$dir/kcat-C.err"))"

timeout 180 $PY tests/kafka/sasl_clients.py 127.0.0.1:$KPORT sasl alice "$PASS" >"$dir/clients.out" 2>&1
rc=$?
cat "$dir/clients.out"
fails=$((fails + $(grep -c '^FAIL' "$dir/clients.out")))
[ $rc = 0 ] || grep -q '^FAIL' "$dir/clients.out" || bad "sasl_clients.py exited $rc"
timeout 30 $PY tests/kafka/sasl_clients.py 127.0.0.1:$KPORT sasl alice "$PASS" --deadline >"$dir/deadline.out" 2>&1
cat "$dir/deadline.out"
fails=$((fails + $(grep -c '^FAIL' "$dir/deadline.out")))

m=$(curl -s "http://127.0.0.1:$APORT/metrics" | grep '^strata_authentications_total')
s=$(echo "$m" | sed -n 's/.*result="success"} //p')
f=$(echo "$m" | sed -n 's/.*result="failure"} //p')
[ "${s:-0}" -ge 5 ] && [ "${f:-0}" -ge 5 ] && ok "strata_authentications_total: success $s, failure $f" ||
  bad "strata_authentications_total: '$m'"
if grep -qF -e "$PASS" -e "$BPASS" "$dir"/*.log; then bad "a log line holds the password"; else ok "no log holds the password"; fi
strata_stop_all # a clean stop: sanitizer reports (make asan) land in the logs now
if grep -lE 'runtime error|AddressSanitizer|LeakSanitizer' "$dir"/*.log >/dev/null 2>&1; then
  bad "sanitizer report in $(grep -lE 'runtime error|AddressSanitizer|LeakSanitizer' "$dir"/*.log | xargs)"
else
  ok "no sanitizer report in the logs"
fi
echo "$fails failed"
[ "$fails" = 0 ]

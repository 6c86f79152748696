#!/bin/bash
# Authentication refusals on a secure cluster (tests/security/lib.sh), with
# real clients and with raw bytes (attacks.py), and the connection state
# they leave behind:
# - kcat, confluent-kafka and the strata CLI with a wrong password or an
#   unknown user are refused, naming authentication; plaintext clients on
#   the TLS ports are refused;
# - raw SASL (Kafka framing, SCRAM written by hand): wrong password and
#   unknown user give SASL_AUTHENTICATION_FAILED with the same message after
#   the failure delay, and an unknown user gets a plausible salt; a tampered
#   client-final nonce and a replayed client-final fail (CVE-2024-56128);
#   `n,a=admin,` for bob and PLAIN authzid != user fail (CVE-2017-12610); an
#   unknown mechanism gets UNSUPPORTED_SASL_MECHANISM; before authentication
#   only ApiVersions/SaslHandshake/SaslAuthenticate are served (NATS
#   CVE-2023-47090); malformed SCRAM messages are refused;
# - TLS: client certificates from another CA or expired, and none where
#   required, are refused on every port; TLS 1.0/1.1 refused; plaintext bytes
#   on a TLS port get no answer;
# - after all of it every broker's strata_connections{listener="client"} is
#   back where it was: no connection state left behind; no log holds a password.
SEC_PYMODS="confluent_kafka:python3-confluent-kafka"
. "$(dirname "$0")/lib.sh"
sec_need_tools kcat curl
sec_up refusals
sec_topic sec-r 1 || exit 1
sec_acl --allow-principal User:alice --operation Describe --topic sec-r || bad "acl add Describe sec-r for alice"
export SEC_USERS="alice=$PW_alice bob=$PW_bob admin=$PW_admin"
base=()
for i in 1 2 3; do base[$i]=$(sec_conns $i); done
[ -n "${base[1]}" ] && ok "strata_connections{listener=\"client\"} before: ${base[*]:1}" ||
  bad "no strata_connections metric on http://127.0.0.1:$APORT/metrics"

# Real clients.
sec_props "$dir/wrong.properties" alice SCRAM-SHA-512
sed -i "s/^sasl.password=.*/sasl.password=${PW_alice}x/" "$dir/wrong.properties"
sec_props "$dir/nobody.properties" alice SCRAM-SHA-512
sed -i "s/^sasl.username=.*/sasl.username=nobody/" "$dir/nobody.properties"
for who in wrong nobody; do
  timeout 30 kcat -F "$dir/$who.properties" -b "$KBOOT" -L -m 8 >"$dir/kcat-$who.out" 2>&1 &&
    bad "kcat -L with $who.properties succeeded" ||
    { grep -qi "authenticat" "$dir/kcat-$who.out" &&
        ok "kcat with $who credentials: refused ($(grep -oi '[^:]*authenticat[^.]*' "$dir/kcat-$who.out" | head -n 1 | cut -c1-80))" ||
        bad "kcat with $who credentials failed without naming authentication: $(tail -n 2 "$dir/kcat-$who.out" | tr '\n' ' ')"; }
  [ "${SEC_NATIVE:-SASL_SSL}" = SSL ] && continue # the native port has no SASL in that mode
  timeout 30 "$STRATA_BIN" --command-config "$dir/$who.properties" --bootstrap 127.0.0.1:$PORT topic list \
    >"$dir/cli-$who.out" 2>&1 && bad "strata topic list with $who credentials succeeded" ||
    { grep -qi "authenticat" "$dir/cli-$who.out" &&
        ok "strata CLI with $who credentials: refused ($(head -n 1 "$dir/cli-$who.out" | cut -c1-100))" ||
        bad "strata CLI with $who credentials failed without naming authentication: $(head -n 2 "$dir/cli-$who.out" | tr '\n' ' ')"; }
done
SEC_PW="${PW_alice}x" sec_run "$dir/cw.out" timeout 60 $PY $ST/clients.py wrong-auth "$KBOOT" "$CERTS/ca.pem" alice - sec-r
SEC_PW="$PW_alice" sec_run "$dir/cu.out" timeout 60 $PY $ST/clients.py wrong-auth "$KBOOT" "$CERTS/ca.pem" nobody - sec-r
# Plaintext clients on TLS ports.
timeout 20 kcat -b "$KBOOT" -L -m 5 >"$dir/kcat-plain.out" 2>&1 && bad "plaintext kcat -L on the SASL_SSL port succeeded" ||
  ok "plaintext kcat on the SASL_SSL port: refused"
timeout 20 "$STRATA_BIN" --bootstrap 127.0.0.1:$PORT --timeout 5000 topic list >"$dir/cli-plain.out" 2>&1 &&
  bad "plaintext strata topic list on the SASL_SSL port succeeded" ||
  ok "plaintext strata CLI on the native SASL_SSL port: refused ($(head -n 1 "$dir/cli-plain.out" | cut -c1-80))"
# TLS without SASL on a SASL_SSL port: the CLI must not get in either.
[ "${SEC_NATIVE:-SASL_SSL}" = SSL ] || {
printf 'security.protocol=SSL\nssl.ca.location=%s\n' "$CERTS/ca.pem" >"$dir/ssl-only.properties"
timeout 20 "$STRATA_BIN" --command-config "$dir/ssl-only.properties" --bootstrap 127.0.0.1:$PORT --timeout 5000 topic list \
  >"$dir/cli-ssl.out" 2>&1 && bad "strata over TLS without SASL listed topics on a SASL_SSL port" ||
  ok "strata over TLS without SASL on a SASL_SSL port: refused"
}

# Raw SASL and TLS.
sec_run "$dir/sasl.out" timeout 120 $PY $ST/attacks.py sasl --kafka 127.0.0.1:$KPORT --topic sec-r --certs "$CERTS"
sec_run "$dir/tls.out" timeout 120 $PY $ST/attacks.py tls --kafka 127.0.0.2:$KPORT --native 127.0.0.2:$PORT \
  --controller 127.0.0.1:$CPORT --certs "$CERTS"

# No connection state left behind (the failure delay and the close take a moment).
deadline=$((SECONDS + 15))
while [ $SECONDS -lt $deadline ]; do
  same=1
  for i in 1 2 3; do [ "$(sec_conns $i)" = "${base[$i]}" ] || same=0; done
  [ $same = 1 ] && break
  sleep 0.5
done
now=()
for i in 1 2 3; do now[$i]=$(sec_conns $i); done
[ $same = 1 ] && ok "every refused connection is gone: strata_connections{listener=\"client\"} back to ${base[*]:1}" ||
  bad "open client connections after the refusals: ${now[*]:1} (before: ${base[*]:1})"
grep -h "strata_authentications_total" <(curl -s "http://127.0.0.1:$APORT/metrics") | grep -q 'result="failure"' &&
  ok "strata_authentications_total{result=\"failure\"} counts them ($(curl -s "http://127.0.0.1:$APORT/metrics" | grep 'strata_authentications_total.*failure' | head -n 1))" ||
  bad "no strata_authentications_total{result=\"failure\"} on broker 1's /metrics"
for i in 1 2 3; do kill -0 "$(eval echo \$BROKER_PID_$i)" 2>/dev/null || bad "broker $i died"; done
sec_no_secrets
sec_end

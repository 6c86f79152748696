#!/bin/bash
# Security settings that cannot work stop startup, naming the setting
# (research note §6: CVE-2026-110985, OAUTHBEARER failing open when a setting
# was missing; CVE-2025-27817/27818/27819: nothing selects code, files or
# URLs the operator did not configure; NATS CVE-2023-47090: no implicit
# no-auth user). Each case starts strata-broker or strata-controller with
# one thing wrong and expects it to exit non-zero within 8 s, saying which
# key: an enabled SASL mechanism Strata cannot serve (GSSAPI, OAUTHBEARER) or
# an empty list on a SASL listener; a TLS listener without certificate or
# key, or with a file that is not there; ssl.client.auth=required without a
# CA; an unknown ssl.client.auth or listener scheme; a bad principal mapping
# rule; an outgoing SASL link without a password; the authorizer on with
# authentication and neither super.users nor a bootstrap user; HTTPS admin
# without a certificate. First, the same settings with nothing wrong start.
. "$(dirname "$0")/lib.sh"
sec_need_tools
dir=$(mktemp -d /tmp/strata-sec-config.XXXXXX)
trap 'for p in "${_sec_pids[@]+"${_sec_pids[@]}"}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT
CERTS=$dir/certs
certs_make "$CERTS" 1 || { bad "certificates"; exit 1; }
port=$(sec_base_port) || { bad "no free port"; exit 1; }
echo "secret-broker-password" >"$dir/pw"
BROKER_OK=(--set broker.id=1 --set log.dir="$dir/b" --set listeners=SASL_SSL://127.0.0.1:$port
  --set admin.listeners= --set ssl.certificate.location="$CERTS/broker-1.pem"
  --set ssl.key.location="$CERTS/broker-1.key" --set ssl.ca.location="$CERTS/ca.pem"
  --set ssl.client.auth=requested --set sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
  --set authorizer.enabled=true --set "super.users=User:admin")
CTRL_OK=(--set data.dir="$dir/c" --set listeners=SSL://127.0.0.1:$((port + 1)) --set admin.listeners=
  --set ssl.certificate.location="$CERTS/controller.pem" --set ssl.key.location="$CERTS/controller.key"
  --set ssl.ca.location="$CERTS/ca.pem" --set ssl.client.auth=required --set authorizer.enabled=true
  --set "super.users=User:admin")

# starts BIN PORT ARGS...: it listens within 10 s; then stopped.
starts() {
  local bin=$1 p=$2 pid
  shift 2
  "$STRATA_BUILD/$bin" "$@" >"$dir/start.out" 2>&1 &
  pid=$!
  _sec_pids+=("$pid")
  if strata_wait_port 127.0.0.1 "$p" 10 2>/dev/null && kill -0 $pid 2>/dev/null; then
    ok "$bin with valid TLS/SASL/authorizer settings starts and listens"
  else
    bad "$bin with valid settings did not start: $(tail -n 3 "$dir/start.out" | tr '\n' ' ')"
  fi
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  rm -rf "$dir/b" "$dir/c"
}

# refused LABEL KEY BIN ARGS...: BIN exits non-zero within 8 s naming KEY.
refused() {
  local label=$1 key=$2 bin=$3 rc
  shift 3
  rm -rf "$dir/b" "$dir/c"
  timeout -k 2 8 "$STRATA_BUILD/$bin" "$@" >"$dir/out" 2>&1
  rc=$?
  if [ $rc = 124 ] || [ $rc = 137 ]; then
    bad "$label: $bin started anyway (still running after 8 s)"
  elif [ $rc = 0 ]; then
    bad "$label: $bin exited 0"
  elif grep -qF -- "$key" "$dir/out"; then
    ok "$label: $bin refuses to start ($(grep -F -- "$key" "$dir/out" | head -n 1 | cut -c1-110))"
  else
    bad "$label: $bin exited $rc without naming $key: $(head -n 2 "$dir/out" | tr '\n' ' ' | cut -c1-200)"
  fi
}

starts strata-broker $port "${BROKER_OK[@]}"
starts strata-controller $((port + 1)) "${CTRL_OK[@]}"
B=strata-broker
refused "GSSAPI enabled (Strata has no Kerberos)" sasl.enabled.mechanisms $B "${BROKER_OK[@]}" \
  --set sasl.enabled.mechanisms=SCRAM-SHA-512,GSSAPI
refused "OAUTHBEARER enabled (no token validation to back it)" sasl.enabled.mechanisms $B "${BROKER_OK[@]}" \
  --set sasl.enabled.mechanisms=OAUTHBEARER
refused "SASL_SSL listener with no mechanism enabled" sasl.enabled.mechanisms $B "${BROKER_OK[@]}" \
  --set sasl.enabled.mechanisms=
refused "SSL listener without a certificate" ssl.certificate.location $B "${BROKER_OK[@]}" \
  --set ssl.certificate.location=
refused "SSL listener without a key" ssl.key.location $B "${BROKER_OK[@]}" --set ssl.key.location=
refused "certificate file that does not exist" ssl.certificate.location $B "${BROKER_OK[@]}" \
  --set ssl.certificate.location="$dir/nope.pem"
refused "key that does not match the certificate" ssl.key.location $B "${BROKER_OK[@]}" \
  --set ssl.key.location="$CERTS/alice.key"
refused "ssl.client.auth=maybe" ssl.client.auth $B "${BROKER_OK[@]}" --set ssl.client.auth=maybe
refused "listener scheme FOO://" listeners $B "${BROKER_OK[@]}" --set listeners=FOO://127.0.0.1:$port
refused "malformed ssl.principal.mapping.rules" ssl.principal.mapping.rules $B "${BROKER_OK[@]}" \
  --set 'ssl.principal.mapping.rules=RULE:^CN=(.*?,.*$/$1/'
refused "authorizer on with SASL and no super.users" super.users $B "${BROKER_OK[@]}" --set super.users=
refused "SASL_SSL listeners (followers log in to them) without this broker's sasl.username/password" sasl. $B \
  "${BROKER_OK[@]}" --set controller=SSL://127.0.0.1:$((port + 1))
refused "SASL link to the controller without sasl.password" sasl.password $B "${BROKER_OK[@]}" \
  --set controller=SASL_SSL://127.0.0.1:$((port + 1)) --set sasl.mechanism=SCRAM-SHA-512 --set sasl.username=broker-1
refused "sasl.password.file that does not exist" sasl.password.file $B "${BROKER_OK[@]}" \
  --set controller=SASL_SSL://127.0.0.1:$((port + 1)) --set sasl.mechanism=SCRAM-SHA-512 --set sasl.username=broker-1 \
  --set sasl.password.file="$dir/nope"
refused "outgoing sasl.mechanism GSSAPI" sasl.mechanism $B "${BROKER_OK[@]}" \
  --set controller=SASL_SSL://127.0.0.1:$((port + 1)) --set sasl.mechanism=GSSAPI --set sasl.username=broker-1 \
  --set sasl.password.file="$dir/pw"
refused "HTTPS admin listener without a certificate" ssl.certificate.location $B "${BROKER_OK[@]}" \
  --set listeners=127.0.0.1:$port --set ssl.certificate.location= --set admin.listeners=HTTPS://127.0.0.1:$((port + 3))
refused "authorizer on, client certificates required (mTLS principals), no super.users" super.users $B \
  "${BROKER_OK[@]}" --set listeners=SSL://127.0.0.1:$port --set ssl.client.auth=required --set super.users=
C=strata-controller
refused "controller: ssl.client.auth=required without a CA" ssl.ca.location $C "${CTRL_OK[@]}" --set ssl.ca.location=
refused "controller: authorizer on, client certificates, no super user nor bootstrap user" super.users $C \
  "${CTRL_OK[@]}" --set super.users=
refused "controller: SSL listener without a key" ssl.key.location $C "${CTRL_OK[@]}" --set ssl.key.location=
refused "controller: --bootstrap-user without a password" bootstrap $C "${CTRL_OK[@]}" --bootstrap-user admin
grep -rqF "secret-broker-password" "$dir"/out "$dir"/start.out 2>/dev/null && bad "a password file's content was printed" ||
  ok "no output printed the password file's content"
[ $fails = 0 ] && echo "all passed" || { echo "$fails failed"; exit 1; }

#!/bin/bash
# docker/compose.yml and its secure override, without Docker (this machine
# has no daemon; `make docker-test` is the real thing): each file parses,
# and the controllers and brokers it describes, started as local processes
# with its settings (tests/docker/compose_local.py maps only addresses and
# paths), come up as a quorum of 3 controllers with one active, 3 brokers
# registered and healthy by the containers' own health checks, and take
# acks=all writes. The secure one over TLS, SCRAM and ACLs: the brokers'
# users made as in its secure-setup services, the controllers' health check
# (mutual TLS as admin) answered, and the controller certificate naming the
# controllers' fixed addresses.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
strata_need "the compose files' check" python3 openssl
python3 -c 'import yaml' 2>/dev/null || { [ "$(id -u)" != 0 ] &&
  strata_skip "compose files: python3-yaml not installed (scripts/deps.sh --install)"
  echo "FAIL: python3-yaml missing; run scripts/deps.sh --install"; exit 1; }
S=$STRATA_BIN
dir=$(mktemp -d /tmp/strata-composetest.XXXXXX)
stop() { [ -f "$1/pids" ] && for p in $(cat "$1/pids"); do kill "$p" 2>/dev/null; done; rm -f "$1/pids"; }
trap 'for d in "$dir"/*/; do stop "$d"; done; rm -rf "$dir"' EXIT

for v in plain secure; do
  d=$dir/$v
  mkdir -p "$d"
  files=(docker/compose.yml)
  cc=()
  if [ $v = secure ]; then
    files+=(docker/compose.secure.yml)
    docker/secure-init.sh "$d/secure" >/dev/null || { bad "secure-init.sh"; continue; }
    sed "s#/secure/#$d/secure/#" "$d/secure/admin.properties" >"$d/admin.properties"
    sed "s#/secure/#$d/secure/#" "$d/secure/admin-mtls.properties" >"$d/mtls.properties"
    cc=(--command-config "$d/admin.properties")
    san=$(openssl x509 -in "$d/secure/certs/controller.pem" -noout -ext subjectAltName)
    for k in 1 2 3; do
      grep -q "IP Address:172.28.13.20$k" <<<"$san" || bad "the controller certificate lacks 172.28.13.20$k: $san"
    done
  fi
  base=
  for _ in $(seq 20); do
    base=$(strata_free_port) || exit 1
    used=0
    for k in $(seq 1 40); do _strata_port_used $((base + k)) && { used=1; break; }; done
    [ $used = 0 ] && break
  done
  out=$(python3 tests/docker/compose_local.py "$STRATA_BUILD" "$d" "$base" "${files[@]}") ||
    { bad "$v: compose_local.py failed"; continue; }
  set -- $out
  bs=$2 cs=$4 n=$6
  [ "$n" = 6 ] && ok "$v: ${files[*]}: 3 controllers and 3 brokers started" || bad "$v: $n processes started, not 6"
  if [ $v = secure ]; then
    # the secure-setup services: the brokers' users, once the cluster answers
    for i in 1 2 3; do
      for _ in $(seq 40); do
        $S "${cc[@]}" --bootstrap "$bs" user create "broker-$i" \
          --password-file "$d/secure/secrets/broker-$i.password" >/dev/null 2>&1 && break
        sleep 0.5
      done
    done
    $S --command-config "$d/mtls.properties" ping --bootstrap "$cs" --timeout 2000 >/dev/null &&
      ok "$v: controller-1's health check (mutual TLS as admin)" || bad "$v: controller-1's health check"
  fi
  st=
  for _ in $(seq 60); do
    st=$($S "${cc[@]}" cluster status --bootstrap "$bs" 2>/dev/null)
    [ "$(grep -c ' alive$' <<<"$st")" = 3 ] && [ "$(grep -c '^controller [1-3] (active) ' <<<"$st")" = 1 ] && break
    sleep 0.5
  done
  [ "$(grep -c '^controller [1-3] ' <<<"$st")" = 3 ] && [ "$(grep -c '^controller [1-3] (active) ' <<<"$st")" = 1 ] &&
    [ "$(grep -c ' alive$' <<<"$st")" = 3 ] &&
    ok "$v: a quorum of 3, $(grep -o '^controller [1-3] (active)' <<<"$st"), 3 brokers alive" ||
    { bad "$v: cluster status"; echo "$st"; tail -n 3 "$d"/*.log; }
  $S "${cc[@]}" ping --bootstrap "$bs" --timeout 2000 >/dev/null && ok "$v: broker-1's health check" ||
    bad "$v: broker-1's health check"
  if $S "${cc[@]}" --bootstrap "$bs" topic create t --partitions 3 --replication-factor 3 \
    --config min.insync.replicas=2 >/dev/null && seq 1 300 | $S "${cc[@]}" --bootstrap "$bs" produce -t t --acks all 2>&1 |
    grep -q "produced 300 record"; then ok "$v: 300 acks=all writes to a topic of RF 3"
  else bad "$v: acks=all writes"; tail -n 3 "$d"/*.log; fi
  stop "$d"
done
[ $fails = 0 ]

#!/bin/bash
# Files for docker/compose.secure.yml, made once into docker/secure/ (or DIR):
#   certs/     a throwaway CA, broker-1..3 (SAN DNS:broker-N and IP:127.0.0.1 for
#              the Kafka ports published on this host), controller (shared by
#              controller-1..3: SAN also their fixed addresses, IP:PREFIX.201-203
#              with STRATA_NET_PREFIX as in compose.yml, default 172.28.13), admin
#              (scripts/certs.sh; bring your own CA's files here instead)
#   secrets/   random passwords: admin (the controller's --bootstrap-user) and
#              broker-1..3 (each broker's SCRAM login to the others)
#   admin.properties  for `strata --command-config` inside the containers
#              (paths under /secure), admin-host.properties for kcat -F on
#              this host, admin-mtls.properties (admin's client certificate, for
#              the controller's SSL port: its health check)
# The containers run as uid 10001: as root, the files are given to it
# (keys and passwords stay 0600).
#
#   docker/secure-init.sh [DIR]
set -eu
cd "$(dirname "$0")/.."
dir=${1:-docker/secure}
[ -e "$dir/certs/ca.pem" ] && { echo "$dir already holds a CA; remove it to start over" >&2; exit 1; }
mkdir -p "$dir/secrets"
p=${STRATA_NET_PREFIX:-172.28.13}
CERTS_SAN_EXTRA=IP:127.0.0.1 CERTS_CONTROLLER_SAN_EXTRA=IP:$p.201,IP:$p.202,IP:$p.203 \
  scripts/certs.sh "$dir/certs" 3 admin
for u in admin broker-1 broker-2 broker-3; do
  (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$dir/secrets/$u.password")
done
props() { # CA path
  echo "security.protocol=SASL_SSL"
  echo "ssl.ca.location=$1"
  echo "sasl.mechanism=SCRAM-SHA-512"
  echo "sasl.username=admin"
  echo "sasl.password=$(cat "$dir/secrets/admin.password")"
}
(umask 077 && props /secure/certs/ca.pem >"$dir/admin.properties" &&
  props "$(realpath "$dir")/certs/ca.pem" >"$dir/admin-host.properties" &&
  printf 'security.protocol=SSL\nssl.ca.location=/secure/certs/ca.pem\nssl.certificate.location=%s\nssl.key.location=%s\n' \
    /secure/certs/admin.pem /secure/certs/admin.key >"$dir/admin-mtls.properties")
rm -f "$dir"/certs/*.srl
if [ "$(id -u)" = 0 ]; then chown -R 10001 "$dir"; chown "$(stat -c %u .)" "$dir/admin-host.properties"; fi
echo "made $dir: certs/, secrets/, admin.properties (containers), admin-host.properties (kcat -F on this host)"

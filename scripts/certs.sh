#!/bin/bash
# A throwaway certificate authority and the certificates of a local cluster,
# made with openssl (PEM files, EC P-256 keys, valid 30 days). For demos and
# tests: a real deployment uses its own CA.
#
#   scripts/certs.sh DIR [BROKERS] [CLIENT...]
#
# into DIR:
#   ca.pem ca.key                the CA (ssl.ca.location of every node and client)
#   broker-N.pem broker-N.key    N = 1..BROKERS (default 3): subject
#                                O=strata,CN=broker-N (its RFC 2253 DN is
#                                "CN=broker-N,O=strata"), SAN IP:127.0.0.N,
#                                DNS:localhost and DNS:broker-N (a compose service
#                                name); usable as server and client certificate (a
#                                broker listens and connects)
#   controller.pem controller.key  CN=controller, SAN IP:127.0.0.1, DNS:localhost,
#                                DNS:controller
#   CERTS_SAN_EXTRA="IP:10.0.0.5,DNS:host" adds names to every node certificate,
#   CERTS_CONTROLLER_SAN_EXTRA to the controller's only (a quorum's addresses)
#   CLIENT.pem CLIENT.key        a client certificate, CN=CLIENT (default: admin)
# With ssl.principal.mapping.rules=RULE:^CN=(.*?),.*$/$1/,DEFAULT a broker's
# certificate maps to the principal User:broker-N.
# Sourced instead of run, it defines certs_key, certs_ca, certs_leaf and
# certs_cluster.
set -u

certs_key() { # FILE: a new P-256 key, readable by its owner only
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null)
}

certs_ca() { # DIR NAME CN: a self-signed CA, NAME.pem/NAME.key
  certs_key "$1/$2.key" &&
    openssl req -x509 -new -key "$1/$2.key" -out "$1/$2.pem" -days 30 -subj "/O=strata/CN=$3" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

certs_leaf() { # DIR CA NAME CN SAN USAGE: NAME.pem/.key signed by CA (SAN may be empty)
  local d=$1 ca=$2 name=$3 cn=$4 san=$5 usage=$6
  certs_key "$d/$name.key" || return 1
  openssl req -new -key "$d/$name.key" -out "$d/$name.csr" -subj "/O=strata/CN=$cn" 2>/dev/null || return 1
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$d/$name.ext"
  openssl x509 -req -in "$d/$name.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" -CAcreateserial \
    -CAserial "$d/$ca.srl" -days 30 -sha256 -extfile "$d/$name.ext" -out "$d/$name.pem" 2>/dev/null || return 1
  rm -f "$d/$name.csr" "$d/$name.ext"
}

certs_cluster() { # DIR [BROKERS] [CLIENT...]
  local d=$1 n=${2:-3} i u
  shift 2 2>/dev/null || shift $#
  command -v openssl >/dev/null || { echo "openssl: command not found (scripts/deps.sh --install)" >&2; return 1; }
  mkdir -p "$d" || return 1
  certs_ca "$d" ca "Strata throwaway CA" || { echo "certs: the CA failed" >&2; return 1; }
  for i in $(seq 1 "$n"); do
    certs_leaf "$d" ca "broker-$i" "broker-$i" "IP:127.0.0.$i,DNS:localhost,DNS:broker-$i${CERTS_SAN_EXTRA:+,$CERTS_SAN_EXTRA}" \
      serverAuth,clientAuth ||
      { echo "certs: broker-$i failed" >&2; return 1; }
  done
  certs_leaf "$d" ca controller controller "IP:127.0.0.1,DNS:localhost,DNS:controller${CERTS_SAN_EXTRA:+,$CERTS_SAN_EXTRA}${CERTS_CONTROLLER_SAN_EXTRA:+,$CERTS_CONTROLLER_SAN_EXTRA}" \
    serverAuth,clientAuth ||
    { echo "certs: controller failed" >&2; return 1; }
  [ $# -gt 0 ] || set -- admin
  for u in "$@"; do
    certs_leaf "$d" ca "$u" "$u" "" clientAuth || { echo "certs: $u failed" >&2; return 1; }
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  [ $# -ge 1 ] || { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
  certs_cluster "$@"
fi

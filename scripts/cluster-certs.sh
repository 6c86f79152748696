#!/bin/bash
# Throwaway certificates for a local cluster with TLS on every link
# (scripts/cluster.sh with STRATA_TLS=1, the TLS bench): a CA and, signed by
# it, one certificate per node with its IP address as subjectAltName (usable
# as server and as client: mutual TLS between nodes) and one for clients.
# EC P-256, valid two days. Into DIR:
#   ca.pem ca.key                        the CA ("Strata local CA")
#   controller.pem controller.key        CN=controller, IP CONTROLLER_IP
#   broker-I.pem broker-I.key            CN=broker-I, IP 127.0.0.I (I = 1..N), or the
#                                        I-th BROKER_IP when they are given
#   client.pem client.key                CN=client (no address)
#   client.properties                    security.protocol=SSL and the paths:
#                                        strata --command-config, kcat -F
# Usage: scripts/cluster-certs.sh DIR N [CONTROLLER_IP [BROKER_IP...]]   (needs openssl)
set -eu
dir=$1 n=$2 cip=${3:-127.0.0.1}
shift $(($# < 3 ? $# : 3))
bips=("$@")
command -v openssl >/dev/null || { echo "cluster-certs.sh: needs openssl (scripts/deps.sh)" >&2; exit 1; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$dir"
o() { openssl "$@" 2>/dev/null || { echo "cluster-certs.sh: openssl $1 failed" >&2; openssl "$@" >&2; exit 1; }; }
key() { o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; chmod 600 "$1"; }
key ca.key
o req -x509 -new -key ca.key -subj "/O=strata/CN=Strata local CA" -days 2 -out ca.pem \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
leaf() { # name cn [ip]
  key "$1.key"
  o req -new -key "$1.key" -subj "/O=strata/CN=$2" -out "$1.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [ -z "${3:-}" ] || echo "subjectAltName=IP:$3"
  } >"$1.ext"
  o x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "$1.ext" \
    -out "$1.pem"
  rm -f "$1.csr" "$1.ext"
}
leaf controller controller "$cip"
for i in $(seq 1 "$n"); do leaf "broker-$i" "broker-$i" "${bips[$((i - 1))]:-127.0.0.$i}"; done
leaf client client
rm -f ca.srl
cat >client.properties <<PROPS
# strata --command-config $dir/client.properties, kcat -F $dir/client.properties
security.protocol=SSL
ssl.ca.location=$dir/ca.pem
ssl.certificate.location=$dir/client.pem
ssl.key.location=$dir/client.key
PROPS

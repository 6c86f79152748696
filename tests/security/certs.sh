#!/bin/bash
# Test certificates, made fresh with openssl each run (nothing secret is kept
# in the repository):
#
#   tests/security/certs.sh DIR [BROKERS]
#
# into DIR (which the caller creates and removes), all PEM, EC P-256 keys:
#   ca.pem ca.key                the cluster's CA
#   broker-N.pem broker-N.key    N = 1..BROKERS (default 3): subject
#                                O=strata,CN=broker-N (RFC 2253: "CN=broker-N,O=strata"),
#                                SAN IP:127.0.0.N and DNS:localhost; server and client
#                                use (a broker serves and also connects)
#   controller.pem controller.key  CN=controller, SAN IP:127.0.0.1, DNS:localhost
#   admin, alice, bob, carol (.pem/.key)  client certificates, CN=<name>
#   other-ca.pem other-ca.key    a second, unrelated CA
#   other-alice.pem other-alice.key  CN=alice signed by the other CA (must be refused)
#   expired-alice.pem expired-alice.key  CN=alice from the cluster CA, valid only on
#                                2020-01-01 (openssl ca -startdate/-enddate; no faketime)
#   wrong-host.pem wrong-host.key  CN=broker-1 for SAN IP:127.0.0.99 only (host check)
# Sourced instead of run, it defines certs_make DIR [BROKERS].
set -u

_certs_key() { # FILE: a new P-256 key
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

_certs_ca() { # DIR NAME CN: a self-signed CA
  _certs_key "$1/$2.key" &&
    openssl req -x509 -new -key "$1/$2.key" -out "$1/$2.pem" -days 30 -subj "/O=strata/CN=$3" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

_certs_leaf() { # DIR CA NAME CN SAN USAGE: NAME.pem/.key signed by CA, valid 30 days
  local d=$1 ca=$2 name=$3 cn=$4 san=$5 usage=$6
  _certs_key "$d/$name.key" || return 1
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

# An expired certificate: `openssl x509 -req` in OpenSSL 3.0 has no
# -not_before/-not_after, `openssl ca` has -startdate/-enddate.
_certs_expired() { # DIR NAME CN
  local d=$1 name=$2 cn=$3 db=$1/cadb
  mkdir -p "$db" && : >"$db/index.txt" && echo 1000 >"$db/serial" || return 1
  cat >"$db/ca.cnf" <<EOF
[ ca ]
default_ca = test
[ test ]
database = $db/index.txt
new_certs_dir = $db
serial = $db/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
organizationName = optional
commonName = supplied
[ ext ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
EOF
  _certs_key "$d/$name.key" || return 1
  openssl req -new -key "$d/$name.key" -out "$db/$name.csr" -subj "/O=strata/CN=$cn" 2>/dev/null &&
    openssl ca -batch -config "$db/ca.cnf" -cert "$d/ca.pem" -keyfile "$d/ca.key" -in "$db/$name.csr" \
      -out "$d/$name.pem" -startdate 20200101000000Z -enddate 20200102000000Z -extensions ext -notext \
      >/dev/null 2>&1 || return 1
  rm -rf "$db"
}

certs_make() { # DIR [BROKERS]
  local d=$1 n=${2:-3} i u
  command -v openssl >/dev/null || { echo "FAIL: openssl: command not found (scripts/deps.sh --install)" >&2; return 1; }
  mkdir -p "$d" || return 1
  _certs_ca "$d" ca "Strata Test CA" || { echo "certs: CA failed" >&2; return 1; }
  for i in $(seq 1 "$n"); do
    _certs_leaf "$d" ca "broker-$i" "broker-$i" "IP:127.0.0.$i,DNS:localhost" serverAuth,clientAuth ||
      { echo "certs: broker-$i failed" >&2; return 1; }
  done
  _certs_leaf "$d" ca controller controller "IP:127.0.0.1,DNS:localhost" serverAuth,clientAuth ||
    { echo "certs: controller failed" >&2; return 1; }
  for u in admin alice bob carol; do
    _certs_leaf "$d" ca "$u" "$u" "" clientAuth || { echo "certs: $u failed" >&2; return 1; }
  done
  _certs_ca "$d" other-ca "Some Other CA" &&
    _certs_leaf "$d" other-ca other-alice alice "" clientAuth || { echo "certs: other CA failed" >&2; return 1; }
  _certs_expired "$d" expired-alice alice || { echo "certs: expired certificate failed" >&2; return 1; }
  _certs_leaf "$d" ca wrong-host broker-1 "IP:127.0.0.99" serverAuth,clientAuth ||
    { echo "certs: wrong-host failed" >&2; return 1; }
  chmod 600 "$d"/*.key
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  [ $# -ge 1 ] || { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
  certs_make "$@"
fi

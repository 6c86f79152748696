#!/bin/bash
# The security tests' certificates, made fresh with openssl each run (nothing
# secret is kept in the repository):
#
#   tests/security/certs.sh DIR [BROKERS]
#
# into DIR (which the caller creates and removes), all PEM, EC P-256 keys:
#   scripts/certs.sh's cluster: ca, broker-1..BROKERS (SAN IP:127.0.0.N,
#     DNS:localhost), controller, and client certificates admin, alice, bob,
#     carol (CN=<name>)
#   other-ca.pem/.key            a second, unrelated CA
#   other-alice.pem/.key         CN=alice signed by the other CA (must be refused)
#   expired-alice.pem/.key       CN=alice from the cluster CA, valid only on
#                                2020-01-01 (`openssl ca -startdate/-enddate`:
#                                OpenSSL 3.0's `x509 -req` has no -not_after,
#                                so no faketime is needed)
#   future-alice.pem/.key        CN=alice from the cluster CA, not valid before 2099
# Sourced instead of run, it defines certs_make DIR [BROKERS].
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/certs.sh"

# A certificate valid only from FROM to TO (openssl ca's YYYYMMDDHHMMSSZ),
# through `openssl ca` and a throwaway database: expired or not yet valid.
_certs_dated() { # DIR NAME CN FROM TO
  local d=$1 name=$2 cn=$3 from=$4 to=$5 db=$1/cadb
  mkdir -p "$db" && : >"$db/index.txt" && echo 1000 >"$db/serial" || return 1
  cat >"$db/ca.cnf" <<CNF
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
CNF
  certs_key "$d/$name.key" || return 1
  openssl req -new -key "$d/$name.key" -out "$db/$name.csr" -subj "/O=strata/CN=$cn" 2>/dev/null &&
    openssl ca -batch -config "$db/ca.cnf" -cert "$d/ca.pem" -keyfile "$d/ca.key" -in "$db/$name.csr" \
      -out "$d/$name.pem" -startdate "$from" -enddate "$to" -extensions ext -notext \
      >/dev/null 2>&1 || return 1
  rm -rf "$db"
}

certs_make() { # DIR [BROKERS]
  local d=$1 n=${2:-3}
  command -v openssl >/dev/null || { echo "FAIL: openssl: command not found (scripts/deps.sh --install)" >&2; return 1; }
  certs_cluster "$d" "$n" admin alice bob carol || return 1
  certs_ca "$d" other-ca "Some Other CA" &&
    certs_leaf "$d" other-ca other-alice alice "" clientAuth || { echo "certs: other CA failed" >&2; return 1; }
  _certs_dated "$d" expired-alice alice 20200101000000Z 20200102000000Z ||
    { echo "certs: expired certificate failed" >&2; return 1; }
  _certs_dated "$d" future-alice alice 20990101000000Z 20990102000000Z ||
    { echo "certs: not-yet-valid certificate failed" >&2; return 1; }
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  [ $# -ge 1 ] || { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
  certs_make "$@"
fi

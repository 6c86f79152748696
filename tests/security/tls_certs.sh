#!/bin/bash
# Throwaway certificates for the TLS tests, into DIR (made by the caller,
# removed by the caller):
#   ca.pem ca.key                  the test CA
#   server.pem server.key          CN=broker-1,O=strata; SAN IP 127.0.0.1..3, DNS localhost
#   server2.pem server2.key        CN=broker-1-rotated,O=strata (same SANs): the SIGHUP rotation
#   client.pem client.key          CN=alice,OU=eng,O=strata
#   expired.pem expired.key        CN=old,O=strata, valid 2020-01-01..2020-01-02
#   future.pem future.key          CN=early,O=strata, valid from 2099-01-01 (not yet valid)
#   other-ca.pem                   another CA
#   other-client.pem other-client.key   CN=mallory,O=strata signed by the other CA
# Usage: tests/security/tls_certs.sh DIR
set -eu
d=$1
cd "$d"
o() { openssl "$@" 2>/dev/null; }
key() { o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
ca() { # name cn
  key "$1.key"
  o req -x509 -new -key "$1.key" -subj "/CN=$2/O=strata" -days 2 -out "$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # name subject ca ext...
  local n=$1 subj=$2 c=$3
  shift 3
  key "$n.key"
  o req -new -key "$n.key" -subj "$subj" -out "$n.csr"
  printf '%s\n' "$@" >"$n.ext"
  o x509 -req -in "$n.csr" -CA "$c.pem" -CAkey "$c.key" -CAcreateserial -days 2 \
    -extfile "$n.ext" -out "$n.pem"
  rm -f "$n.csr" "$n.ext"
}
ca ca "Strata Test CA"
ca other-ca "Other CA"
san="subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,DNS:localhost"
leaf server "/O=strata/CN=broker-1" ca "$san" "extendedKeyUsage=serverAuth,clientAuth"
leaf server2 "/O=strata/CN=broker-1-rotated" ca "$san" "extendedKeyUsage=serverAuth,clientAuth"
leaf client "/O=strata/OU=eng/CN=alice" ca "extendedKeyUsage=clientAuth"
leaf other-client "/O=strata/CN=mallory" other-ca "extendedKeyUsage=clientAuth"
# Expired: openssl x509 in 3.0 cannot set a start date, openssl ca can.
key expired.key
o req -new -key expired.key -subj "/O=strata/CN=old" -out expired.csr
mkdir -p cadb && : >cadb/index.txt && echo 1000 >cadb/serial
cat >cadb/ca.cnf <<CNF
[ca]
default_ca = d
[d]
database = cadb/index.txt
serial = cadb/serial
new_certs_dir = cadb
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
organizationName = optional
CNF
o ca -batch -config cadb/ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
  -startdate 20200101000000Z -enddate 20200102000000Z
key future.key
o req -new -key future.key -subj "/O=strata/CN=early" -out future.csr
o ca -batch -config cadb/ca.cnf -cert ca.pem -keyfile ca.key -in future.csr -out future.pem \
  -startdate 20990101000000Z -enddate 20990102000000Z
rm -rf cadb expired.csr future.csr ./*.srl
for f in ca server server2 client expired future other-ca other-client; do [ -s "$f.pem" ] || { echo "tls_certs.sh: $f.pem not made" >&2; exit 1; }; done

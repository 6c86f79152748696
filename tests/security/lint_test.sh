#!/bin/bash
# CVE-2021-38153 (Kafka compared SCRAM secrets with Arrays.equals): no
# memcmp/strcmp/strncmp/bcmp on proofs, signatures, passwords or keys in
# common/scram.c and common/sasl.c; only CRYPTO_memcmp
# (tests/security/secret_compare.py). The lint is first shown to catch a
# copy of scram.c with one CRYPTO_memcmp turned into memcmp, and a copy with
# a strcmp on a password, so a lint that finds nothing proves something.
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
[ -x $PY ] || { echo "FAIL: $PY (python3) not installed; run scripts/deps.sh --install"; exit 1; }
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
files=(common/scram.c common/sasl.c)
for f in "${files[@]}"; do [ -f "$f" ] || bad "$f missing (the sasl work is not merged)"; done
[ $fails = 0 ] || exit 1
tmp=$(mktemp -d /tmp/strata-sec-lint.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# The lint catches what it is for.
if grep -q "CRYPTO_memcmp(" common/scram.c; then
  sed '0,/CRYPTO_memcmp(/s//memcmp(/' common/scram.c >"$tmp/scram_broken.c"
  $PY tests/security/secret_compare.py "$tmp/scram_broken.c" common/sasl.c >"$tmp/out" &&
    bad "the lint missed a CRYPTO_memcmp turned into memcmp" ||
    ok "the lint flags scram.c with one CRYPTO_memcmp made memcmp: $(head -n 1 "$tmp/out" | sed 's|.*/||' | cut -c1-100)"
else
  bad "common/scram.c has no CRYPTO_memcmp"
fi
printf 'int f(const char *password, const char *given);\nint f(const char *password, const char *given) {\n  return strcmp(given,\n                password) == 0;\n}\n' >"$tmp/pw.c"
$PY tests/security/secret_compare.py "$tmp/pw.c" common/scram.c >"$tmp/out2" && bad "the lint missed strcmp on a password across lines" ||
  ok "the lint flags a strcmp on a password split over two lines"
# The real files.
if $PY tests/security/secret_compare.py "${files[@]}" >"$tmp/real"; then
  ok "no memcmp/strcmp on proofs, signatures, passwords or keys in ${files[*]}; CRYPTO_memcmp used ($(cat "${files[@]}" | grep -c 'CRYPTO_memcmp(') calls)"
else
  while IFS= read -r l; do bad "$l"; done <"$tmp/real"
fi
[ $fails = 0 ] && echo "all passed" || { echo "$fails failed"; exit 1; }

"""Lint for CVE-2021-38153 (Kafka compared secrets with Arrays.equals, a
timing oracle): in the C files given, no memcmp/strcmp/strncmp/bcmp/strcasecmp
call may take a proof, signature, password, stored or server key, salted
password, HMAC, digest or secret as an argument; those comparisons must be
CRYPTO_memcmp, and the files together must use CRYPTO_memcmp.
Calls are read across lines (the parenthesis that closes the call).

usage: secret_compare.py FILE...   exit 1 and one line per finding"""
import re
import sys

CALL = re.compile(r"\b(memcmp|strcmp|strncmp|bcmp|strcasecmp|strncasecmp|timingsafe_bcmp_not)\s*\(")
SECRET = re.compile(r"proof|signature|\bsig\b|\bsig_|password|passwd|\bpw\b|\bpass\b|stored|server_key|"
                    r"client_key|salted|secret|hmac|digest|\bmac\b|cred\b|cred\.|cred->", re.I)


def strip_comments(src):
    src = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), src, flags=re.S)
    src = re.sub(r"//[^\n]*", "", src)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', src)


def findings(path):
    with open(path) as f:
        src = strip_comments(f.read())
    out = []
    for m in CALL.finditer(src):
        depth, i = 1, m.end()
        while i < len(src) and depth:
            depth += {"(": 1, ")": -1}.get(src[i], 0)
            i += 1
        args = src[m.end():i - 1]
        if SECRET.search(args):
            line = src.count("\n", 0, m.start()) + 1
            out.append("%s:%d: %s(%s) compares a secret in variable time; use CRYPTO_memcmp"
                       % (path, line, m.group(1), " ".join(args.split())))
    return out, "CRYPTO_memcmp" in src


bad, constant_time = [], False
for p in sys.argv[1:]:
    f, ct = findings(p)
    bad += f
    constant_time = constant_time or ct
if not constant_time:
    bad.append("%s: no CRYPTO_memcmp at all (proofs, signatures and passwords must use it)"
               % " ".join(sys.argv[1:]))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)

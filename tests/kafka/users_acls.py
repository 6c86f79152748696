"""users_acls_test's Kafka-side checks: ACLs created, described and
deleted through kafka-python's KafkaAdminClient (CreateAcls, DescribeAcls,
DeleteAcls), and SCRAM users through AlterUserScramCredentials and
DescribeUserScramCredentials (KIP-554) written by hand here (neither
python3-kafka 2.0 nor confluent-kafka 1.7 has them; both are flexible-only
APIs, so the bytes below are KIP-482's compact encoding).

usage: users_acls.py BOOTSTRAP STEP
  STEP "write": creates ACLs and the user carol (password carol-Kafka-991),
               checks the refusals
  STEP "check": the state "write" left (and the CLI's), after restarts
  STEP "delete": deletes carol and the ACL of User:mallory
  STEP "gone": checks they are gone
"""
import hashlib
import os
import socket
import struct
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from ktlib import check, finish  # noqa: E402

from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType,  # noqa: E402
                         KafkaAdminClient, ResourcePattern, ResourcePatternFilter,
                         ResourceType)
from kafka.admin.acl_resource import ACLResourcePatternType  # noqa: E402

boot, step = sys.argv[1], sys.argv[2]
host, port = boot.split(",")[0].rsplit(":", 1)

SHA256, SHA512 = 1, 2
UNSUPPORTED_SASL_MECHANISM, RESOURCE_NOT_FOUND, DUPLICATE_RESOURCE = 33, 91, 92
UNACCEPTABLE_CREDENTIAL = 93
CAROL_PW = b"carol-Kafka-991"


# ---- KIP-482 compact encoding, enough for APIs 50 and 51 v0 ----

def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cstr(s):
    if s is None:
        return uvarint(0)
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


def carray(items, enc):
    if items is None:
        return uvarint(0)
    return uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


TAGS = uvarint(0)


class R:
    def __init__(self, b):
        self.b, self.p = b, 0

    def take(self, n):
        v = self.b[self.p:self.p + n]
        if len(v) != n:
            raise ValueError("short answer")
        self.p += n
        return v

    def i8(self): return struct.unpack(">b", self.take(1))[0]
    def i16(self): return struct.unpack(">h", self.take(2))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]

    def uvarint(self):
        n = shift = 0
        while True:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def cstr(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1).decode()

    def carray(self, dec):
        n = self.uvarint()
        return None if n == 0 else [dec(self) for _ in range(n - 1)]

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


def call(api, body, corr=7):
    """One flexible request (header v2) on a fresh connection; the answer
    body after the response header v1."""
    hdr = struct.pack(">hhi", api, 0, corr) + struct.pack(">h", 4) + b"test" + TAGS
    msg = hdr + body
    s = socket.create_connection((host, int(port)), timeout=15)
    try:
        s.sendall(struct.pack(">i", len(msg)) + msg)
        n = struct.unpack(">i", recv(s, 4))[0]
        r = R(recv(s, n))
    finally:
        s.close()
    if r.i32() != corr:
        raise ValueError("correlation id")
    r.tags()
    return r


def recv(s, n):
    out = b""
    while len(out) < n:
        b = s.recv(n - len(out))
        if not b:
            raise ValueError("closed")
        out += b
    return out


def alter(deletions, upsertions):
    """AlterUserScramCredentials: {user: (error, message)}."""
    body = carray(deletions, lambda d: cstr(d[0]) + struct.pack(">b", d[1]) + TAGS)
    body += carray(upsertions, lambda u: cstr(u[0]) + struct.pack(">bi", u[1], u[2]) +
                   cstr(u[3]) + cstr(u[4]) + TAGS)
    r = call(51, body + TAGS)
    r.i32()

    def result(r):
        user, err, msg = r.cstr(), r.i16(), r.cstr()
        r.tags()
        return user, (err, msg)
    return dict(r.carray(result))


def describe(users):
    """DescribeUserScramCredentials: (top error, {user: (error, [(mech, iterations)])})."""
    body = carray(users, lambda u: cstr(u) + TAGS) + TAGS
    r = call(50, body)
    r.i32()
    top = r.i16()
    r.cstr()

    def info(r):
        m, it = r.i8(), r.i32()
        r.tags()
        return m, it

    def result(r):
        user, err = r.cstr(), r.i16()
        r.cstr()
        infos = r.carray(info)
        r.tags()
        return user, (err, sorted(infos or []))
    return top, dict(r.carray(result))


def upsertion(user, mech, iterations, password, salt=None):
    salt = salt or os.urandom(24)
    h = "sha256" if mech == SHA256 else "sha512"
    return (user, mech, iterations, salt, hashlib.pbkdf2_hmac(h, password, salt, iterations))


# ---- ACLs through kafka-python ----

adm = KafkaAdminClient(bootstrap_servers=boot, request_timeout_ms=20000)

MALLORY = ACL(principal="User:mallory", host="*", operation=ACLOperation.READ,
              permission_type=ACLPermissionType.DENY,
              resource_pattern=ResourcePattern(ResourceType.TOPIC, "pay",
                                               ACLResourcePatternType.PREFIXED))
DAVE = ACL(principal="User:dave", host="10.0.0.7", operation=ACLOperation.ALTER,
           permission_type=ACLPermissionType.ALLOW,
           resource_pattern=ResourcePattern(ResourceType.CLUSTER, "kafka-cluster",
                                            ACLResourcePatternType.LITERAL))


def acls(principal=None, rtype=ResourceType.ANY, name=None,
         pattern=ACLResourcePatternType.ANY):
    f = ACLFilter(principal=principal, host=None, operation=ACLOperation.ANY,
                  permission_type=ACLPermissionType.ANY,
                  resource_pattern=ResourcePatternFilter(rtype, name, pattern))
    got, err = adm.describe_acls(f)
    check(err.errno == 0, "DescribeAcls answers without error", str(err))
    return {(a.principal, a.host, a.operation, a.permission_type, a.resource_pattern.resource_type,
             a.resource_pattern.resource_name, a.resource_pattern.pattern_type) for a in got}


def key(a):
    return (a.principal, a.host, a.operation, a.permission_type, a.resource_pattern.resource_type,
            a.resource_pattern.resource_name, a.resource_pattern.pattern_type)


if step == "write":
    res = adm.create_acls([MALLORY, DAVE])
    check(len(res["succeeded"]) == 2 and not res["failed"], "CreateAcls adds two ACLs",
          str(res["failed"]))
    bad = ACL(principal="mallory", host="*", operation=ACLOperation.READ,
              permission_type=ACLPermissionType.ALLOW,
              resource_pattern=ResourcePattern(ResourceType.TOPIC, "t",
                                               ACLResourcePatternType.LITERAL))
    res = adm.create_acls([bad])
    check(len(res["failed"]) == 1 and not res["succeeded"],
          "CreateAcls refuses a principal without a type (INVALID_REQUEST)", str(res))
    a = alter([], [upsertion("carol", SHA256, 4096, CAROL_PW),
                   upsertion("carol", SHA512, 8192, CAROL_PW)])
    check(a.get("carol") == (0, None), "AlterUserScramCredentials upserts carol's two "
          "credentials (one result per user)", str(a))
    a = alter([], [upsertion("erin", SHA256, 100, b"x")])
    check(a.get("erin", (0,))[0] == UNACCEPTABLE_CREDENTIAL,
          "too few iterations: UNACCEPTABLE_CREDENTIAL", str(a))
    a = alter([], [upsertion("erin", 3, 4096, b"x")])
    check(a.get("erin", (0,))[0] == UNSUPPORTED_SASL_MECHANISM,
          "an unknown mechanism: UNSUPPORTED_SASL_MECHANISM", str(a))
    u = upsertion("erin", SHA256, 4096, b"x")
    a = alter([], [u[:4] + (u[4][:20],)])
    check(a.get("erin", (0,))[0] == UNACCEPTABLE_CREDENTIAL,
          "a SaltedPassword of the wrong length: UNACCEPTABLE_CREDENTIAL", str(a))
    a = alter([("nobody", SHA256)], [])
    check(a.get("nobody", (0,))[0] == RESOURCE_NOT_FOUND,
          "deleting a credential that does not exist: RESOURCE_NOT_FOUND", str(a))
    a = alter([("erin", SHA256)], [upsertion("erin", SHA256, 4096, b"x")])
    check(a.get("erin", (0,))[0] == DUPLICATE_RESOURCE,
          "one user and mechanism twice in a request: DUPLICATE_RESOURCE", str(a))
    top, d = describe(["erin"])
    check(d.get("erin", (0,))[0] == RESOURCE_NOT_FOUND, "no refused alteration created erin",
          str(d))

if step in ("write", "check"):
    got = acls()
    check(key(MALLORY) in got and key(DAVE) in got, "DescribeAcls (ANY) lists the Kafka "
          "client's ACLs", str(got))
    check(any(k[0] == "User:alice" and k[5] == "orders" for k in got),
          "DescribeAcls lists the ACLs the CLI added", str(got))
    m = acls(rtype=ResourceType.TOPIC, name="payments", pattern=ACLResourcePatternType.MATCH)
    check(m == {key(MALLORY)}, "MATCH on topic payments finds the PREFIXED pay ACL only", str(m))
    m = acls(principal="User:dave")
    check(m == {key(DAVE)}, "a principal filter finds dave's ACL only", str(m))
    top, d = describe(None)
    check(top == 0 and d.get("carol", (1,))[0] == 0 and d["carol"][1] == [(1, 4096), (2, 8192)],
          "DescribeUserScramCredentials (all users) shows carol's mechanisms and iterations",
          str(d))
    check("alice" in d and "bob" in d, "and the users the CLI created", str(sorted(d)))
    top, d = describe(["carol", "nobody", "carol"])
    check(d.get("nobody", (0,))[0] == RESOURCE_NOT_FOUND, "an unknown user: RESOURCE_NOT_FOUND",
          str(d))
    check(d.get("carol", (0,))[0] == DUPLICATE_RESOURCE, "a user asked twice: DUPLICATE_RESOURCE",
          str(d))

if step == "delete":
    a = alter([("carol", SHA256), ("carol", SHA512)], [])
    check(a.get("carol") == (0, None), "AlterUserScramCredentials deletes carol", str(a))
    f = ACLFilter(principal="User:mallory", host=None, operation=ACLOperation.ANY,
                  permission_type=ACLPermissionType.ANY,
                  resource_pattern=ResourcePatternFilter(ResourceType.ANY, None,
                                                         ACLResourcePatternType.ANY))
    res = adm.delete_acls([f])
    matched = [key(m[0]) for r in res for m in r[1]] if res else []
    check(matched == [key(MALLORY)], "DeleteAcls removes and returns mallory's ACL", str(res))

if step == "gone":
    top, d = describe(["carol"])
    check(d.get("carol", (0,))[0] == RESOURCE_NOT_FOUND, "carol is gone", str(d))
    got = acls()
    check(key(MALLORY) not in got and key(DAVE) in got, "mallory's ACL is gone, dave's stays",
          str(got))

adm.close()
finish()

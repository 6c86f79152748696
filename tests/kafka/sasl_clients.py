"""SASL on a broker's SASL_PLAINTEXT Kafka listener (tests/kafka/sasl_test.sh):
real clients (confluent-kafka SCRAM-SHA-512 and PLAIN, kafka-python
SCRAM-SHA-256 with its v0 handshake and bare tokens) and raw frames for what
no client sends (requests before login, a 100 MB length prefix, a tampered
nonce, a replayed client-final, the failure delay, the login deadline).

usage: sasl_clients.py HOST:PORT TOPIC USER PASSWORD [--deadline]
Prints "ok ..." / "FAIL ..." lines; exits 1 on any FAIL.
"""
import base64
import hashlib
import hmac
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire  # noqa: E402

API_SASL_HANDSHAKE, API_SASL_AUTHENTICATE = 17, 36
ILLEGAL_SASL_STATE, SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM = 34, 58, 33

fails = 0


def ok(msg):
    print("ok   " + msg, flush=True)


def bad(msg):
    global fails
    fails += 1
    print("FAIL " + msg, flush=True)


def check(cond, msg):
    (ok if cond else bad)(msg)


# ---- raw SASL over Kafka frames ---------------------------------------------

def handshake(conn, mech, version=1):
    r = kwire.Reader(conn.request(API_SASL_HANDSHAKE, version, kwire.string(mech)))
    err = r.i16()
    mechs = r.array(lambda r: r.string())
    return err, mechs


def authenticate(conn, token):
    """SaslAuthenticate v1: (error, message, token)."""
    r = kwire.Reader(conn.request(API_SASL_AUTHENTICATE, 1, kwire.i32(len(token)) + token))
    err = r.i16()
    msg = r.string()
    tok = r.bytes_()
    r.i64()
    return err, msg, tok


class Scram:
    """RFC 5802 client over hashlib, with hooks to misbehave."""

    def __init__(self, user, password, h=hashlib.sha512):
        self.user, self.password, self.h = user, password, h
        self.cnonce = base64.b64encode(os.urandom(18)).decode()

    def first(self):
        self.bare = "n=%s,r=%s" % (self.user, self.cnonce)
        return ("n,," + self.bare).encode()

    def final(self, server_first, nonce=None):
        attrs = dict(a.split("=", 1) for a in server_first.decode().split(","))
        nonce = attrs["r"] if nonce is None else nonce
        salt, it = base64.b64decode(attrs["s"]), int(attrs["i"])
        salted = hashlib.pbkdf2_hmac(self.h().name, self.password.encode(), salt, it)
        ckey = hmac.new(salted, b"Client Key", self.h).digest()
        stored = self.h(ckey).digest()
        wo_proof = "c=biws,r=" + nonce
        auth = ",".join([self.bare, server_first.decode(), wo_proof]).encode()
        sig = hmac.new(stored, auth, self.h).digest()
        proof = bytes(a ^ b for a, b in zip(ckey, sig))
        return (wo_proof + ",p=" + base64.b64encode(proof).decode()).encode()


def connect(host, port):
    return kwire.Conn(host, port, timeout=5.0)


def raw_cases(host, port, topic, user, password):
    # ApiVersions before login lists the SASL APIs
    c = connect(host, port)
    err, keys = kwire.api_versions(c, 0)
    check(err == 0 and API_SASL_HANDSHAKE in keys and API_SASL_AUTHENTICATE in keys,
          "ApiVersions before login is answered and lists SaslHandshake/SaslAuthenticate")
    # Metadata before login: closed, no answer
    c.send_raw(kwire.frame(kwire.header_v1(kwire.API_METADATA, 1, 7) + kwire.i32(-1)))
    check(c.closed_within(3), "Metadata before SASL login: the connection is closed")
    c.close()

    # Produce after a handshake but before authentication: closed
    c = connect(host, port)
    err, _ = handshake(c, "SCRAM-SHA-512")
    check(err == 0, "SaslHandshake SCRAM-SHA-512 accepted (error %d)" % err)
    c.send_raw(kwire.frame(kwire.header_v1(kwire.API_PRODUCE, 3, 8) + b"\x00" * 16))
    check(c.closed_within(3), "Produce between handshake and authentication: closed")
    c.close()

    # an unknown mechanism: UNSUPPORTED_SASL_MECHANISM with the list, may retry
    c = connect(host, port)
    err, mechs = handshake(c, "GSSAPI")
    check(err == UNSUPPORTED_SASL_MECHANISM and "SCRAM-SHA-512" in (mechs or []),
          "SaslHandshake GSSAPI: UNSUPPORTED_SASL_MECHANISM listing %s" % mechs)
    err, _ = handshake(c, "SCRAM-SHA-512")
    check(err == 0, "then SCRAM-SHA-512 on the same connection is accepted")
    c.close()

    # CVE-2022-34917: a 100 MB length prefix before login closes, unbuffered
    c = connect(host, port)
    c.send_raw(struct.pack(">i", 100 << 20) + b"\x00\x12\x00\x00")
    check(c.closed_within(3), "100 MB length prefix before login: closed at once")
    c.close()
    c = connect(host, port)
    c.send_raw(struct.pack(">i", 600 << 10) + b"\x00\x12\x00\x00")
    check(c.closed_within(3), "600 KiB frame before login (cap 512 KiB): closed")
    c.close()

    # a good SCRAM exchange by hand, and the server's signature
    c = connect(host, port)
    handshake(c, "SCRAM-SHA-512")
    s = Scram(user, password)
    err, _, sf = authenticate(c, s.first())
    check(err == 0 and sf.startswith(b"r=" + s.cnonce.encode()), "server-first extends our nonce")
    fin = s.final(sf)
    err, _, sfin = authenticate(c, fin)
    check(err == 0 and sfin.startswith(b"v="), "raw SCRAM-SHA-512 login succeeds (error %d)" % err)
    err, _ = kwire.api_versions(c, 0)
    check(err == 0, "requests run after login")
    c.close()

    # CVE-2024-56128: replaying that client-final on a new connection fails
    c = connect(host, port)
    handshake(c, "SCRAM-SHA-512")
    s2 = Scram(user, password)
    s2.cnonce = s.cnonce  # the same client-first as the recorded exchange
    err, _, sf2 = authenticate(c, s2.first())
    t0 = time.monotonic()
    err, msg, _ = authenticate(c, fin)
    took = time.monotonic() - t0
    check(err == SASL_AUTHENTICATION_FAILED, "replayed client-final: SASL_AUTHENTICATION_FAILED (%d)" % err)
    check(took >= 0.09, "the failure is answered after the 100 ms delay (%.0f ms)" % (took * 1000))
    check(c.closed_within(3), "and the connection is closed")
    c.close()

    # a tampered nonce with a proof computed over it
    c = connect(host, port)
    handshake(c, "SCRAM-SHA-512")
    s = Scram(user, password)
    err, _, sf = authenticate(c, s.first())
    forged = sf.decode().split(",")[0][2:][:-1] + "X"
    err, _, _ = authenticate(c, s.final(sf, nonce=forged))
    check(err == SASL_AUTHENTICATION_FAILED, "tampered client-final nonce: SASL_AUTHENTICATION_FAILED (%d)" % err)
    c.close()

    # authzid other than the user (CVE-2017-12610)
    c = connect(host, port)
    handshake(c, "SCRAM-SHA-512")
    err, _, _ = authenticate(c, ("n,a=admin,n=%s,r=abcdef" % user).encode())
    check(err == SASL_AUTHENTICATION_FAILED, "SCRAM authzid admin for %s: refused (%d)" % (user, err))
    c.close()
    c = connect(host, port)
    handshake(c, "PLAIN")
    err, _, _ = authenticate(c, ("admin\0%s\0%s" % (user, password)).encode())
    check(err == SASL_AUTHENTICATION_FAILED, "PLAIN authzid admin for %s: refused (%d)" % (user, err))
    c.close()

    # wrong password and unknown user: the same error, the same message
    answers = []
    for u, p in ((user, password + "x"), ("nosuchuser", password)):
        c = connect(host, port)
        handshake(c, "SCRAM-SHA-512")
        s = Scram(u, p)
        err, _, sf = authenticate(c, s.first())
        ok_first = err == 0
        err, msg, _ = authenticate(c, s.final(sf))
        answers.append((ok_first, err, msg))
        c.close()
    check(answers[0] == answers[1] and answers[0][1] == SASL_AUTHENTICATION_FAILED,
          "wrong password and unknown user get the same answers: %s" % answers)

    # a second handshake after login: ILLEGAL_SASL_STATE
    c = connect(host, port)
    handshake(c, "PLAIN")
    err, _, _ = authenticate(c, ("\0%s\0%s" % (user, password)).encode())
    check(err == 0, "PLAIN login by hand")
    err, _ = handshake(c, "PLAIN")
    check(err == ILLEGAL_SASL_STATE, "SaslHandshake after login: ILLEGAL_SASL_STATE (%d)" % err)
    c.close()


def deadline_case(host, port):
    c = connect(host, port)
    handshake(c, "SCRAM-SHA-512")
    t0 = time.monotonic()
    closed = c.closed_within(13)
    took = time.monotonic() - t0
    check(closed and 9.0 <= took <= 12.5,
          "a login that never finishes is closed at the 10 s deadline (%.1f s)" % took)
    c.close()


def client_cases(boot, topic, user, password):
    from confluent_kafka import Consumer, KafkaException, Producer
    for mech in ("SCRAM-SHA-512", "PLAIN"):
        conf = {"bootstrap.servers": boot, "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanisms": mech, "sasl.username": user, "sasl.password": password}
        p = Producer(dict(conf, **{"message.timeout.ms": 15000}))
        errs = []
        for i in range(10):
            p.produce(topic, value=("%s-%d" % (mech, i)).encode(),
                      on_delivery=lambda e, m: errs.append(e) if e else None)
        left = p.flush(20)
        check(left == 0 and not errs, "confluent-kafka %s: 10 records produced (%s)" % (mech, errs[:1]))
        c = Consumer(dict(conf, **{"group.id": "g-" + mech, "auto.offset.reset": "earliest"}))
        c.subscribe([topic])
        got, deadline = set(), time.time() + 30
        while time.time() < deadline and len([v for v in got if v.startswith(mech)]) < 10:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got.add(m.value().decode())
        c.close()
        check(len([v for v in got if v.startswith(mech)]) == 10,
              "confluent-kafka %s: the 10 records consumed" % mech)
    # a wrong password: an authentication error, not a hang
    conf = {"bootstrap.servers": boot, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": user,
            "sasl.password": password + "x", "error_cb": lambda e: seen.append(e)}
    seen = []
    p = Producer(conf)
    deadline = time.time() + 10
    while time.time() < deadline and not seen:
        p.poll(0.2)
    check(any("Authentication" in str(e) or "authentication" in str(e) for e in seen),
          "confluent-kafka with a wrong password reports an authentication failure: %s" %
          [str(e) for e in seen[:1]])


def kafka_python_case(boot, topic, user, password):
    import kafka
    kw = dict(bootstrap_servers=boot.split(","), security_protocol="SASL_PLAINTEXT",
              sasl_mechanism="SCRAM-SHA-256", sasl_plain_username=user,
              sasl_plain_password=password, api_version=(2, 0, 0))
    try:
        p = kafka.KafkaProducer(**kw)
        for i in range(5):
            p.send(topic, ("kp-%d" % i).encode())
        p.flush(20)
        p.close()
        ok("kafka-python SCRAM-SHA-256 (v0 handshake, bare tokens): 5 records produced")
    except Exception as e:  # noqa: BLE001
        bad("kafka-python SCRAM-SHA-256 produce: %r" % e)


def main():
    hostport, topic, user, password = sys.argv[1:5]
    host, port = hostport.rsplit(":", 1)
    if "--deadline" in sys.argv:
        deadline_case(host, port)
    else:
        raw_cases(host, port, topic, user, password)
        client_cases(hostport, topic, user, password)
        kafka_python_case(hostport, topic, user, password)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()

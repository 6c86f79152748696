"""The bytes of authentication, by hand, for the security tests: what no
client library lets a test do wrong on purpose (a tampered SCRAM nonce, a
forged authzid, a 100 MB length prefix before authentication, a replica
fetch from a client). Standard library only (Debian's /usr/bin/python3).

- TLS connections (ssl module) with or without a client certificate;
- Kafka's SaslHandshake (17) v1 and SaslAuthenticate (36) v1 over
  tests/kafka/kwire.py's framing;
- a SCRAM-SHA-256/512 client (RFC 5802) whose every step can be altered;
- Strata's native frames (proto/strata.proto) with a small protobuf
  encoder/decoder, for BrokerRegister, BrokerHeartbeat, AlterIsr and
  follower Fetch; native error names from common/errors.h.
"""
import base64
import hashlib
import hmac
import os
import re
import socket
import ssl
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "kafka"))
import kwire  # noqa: E402
from kwire import Reader, i16, i32, string  # noqa: E402

API_SASL_HANDSHAKE, API_SASL_AUTHENTICATE = 17, 36
# Kafka's error codes the tests expect.
K_TOPIC_AUTHORIZATION_FAILED = 29
K_GROUP_AUTHORIZATION_FAILED = 30
K_CLUSTER_AUTHORIZATION_FAILED = 31
K_UNSUPPORTED_SASL_MECHANISM = 33
K_ILLEGAL_SASL_STATE = 34
K_SASL_AUTHENTICATION_FAILED = 58


# ---- connections -------------------------------------------------------------

def tls_context(ca=None, cert=None, key=None, check_host=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = check_host
    if ca:
        ctx.load_verify_locations(ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


class Conn(kwire.Conn):
    """kwire.Conn, over TLS when given a context."""

    def __init__(self, host, port, ctx=None, timeout=5.0):
        raw = socket.create_connection((host, int(port)), timeout=timeout)
        if ctx is not None:
            try:
                raw = ctx.wrap_socket(raw, server_hostname=host)
            except Exception:
                raw.close()
                raise
        self.sock = raw
        self.corr = 0


def hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


# ---- SASL over Kafka's framing ----------------------------------------------------

def sasl_handshake(conn, mech):
    """SaslHandshake v1: (error, enabled mechanisms)."""
    r = Reader(conn.request(API_SASL_HANDSHAKE, 1, string(mech)))
    err = r.i16()
    mechs = r.array(lambda r: r.string()) or []
    return err, mechs


def sasl_authenticate(conn, data):
    """SaslAuthenticate v1: (error, message, server bytes)."""
    r = Reader(conn.request(API_SASL_AUTHENTICATE, 1, i32(len(data)) + data))
    err = r.i16()
    msg = r.string()
    out = r.bytes_() or b""
    return err, msg, out


def _saslname(u):
    return u.replace("=", "=3D").replace(",", "=2C")


class Scram:
    """One SCRAM client exchange. gs2 is the GS2 header ("n,," normally;
    "n,a=admin," to claim another identity)."""

    def __init__(self, mech, user, password, gs2="n,,", nonce=None):
        self.hash = {"SCRAM-SHA-256": hashlib.sha256, "SCRAM-SHA-512": hashlib.sha512}[mech]
        self.hname = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mech]
        self.user, self.password, self.gs2 = user, password, gs2
        self.cnonce = nonce or base64.b64encode(os.urandom(24)).decode()
        self.bare = "n=%s,r=%s" % (_saslname(user), self.cnonce)

    def first(self):
        return (self.gs2 + self.bare).encode()

    def final(self, server_first, nonce_override=None, proof_override=None):
        """The client-final message for SERVER_FIRST; NONCE_OVERRIDE replaces
        the combined nonce (RFC 5802 requires client nonce + server nonce)."""
        sf = server_first.decode()
        attrs = dict(kv.split("=", 1) for kv in sf.split(","))
        nonce, salt, it = attrs["r"], base64.b64decode(attrs["s"]), int(attrs["i"])
        if not nonce.startswith(self.cnonce):
            raise ValueError("server nonce does not start with the client's")
        salted = hashlib.pbkdf2_hmac(self.hname, self.password.encode(), salt, it)
        ck = hmac.new(salted, b"Client Key", self.hash).digest()
        stored = self.hash(ck).digest()
        self.server_key = hmac.new(salted, b"Server Key", self.hash).digest()
        use_nonce = nonce_override if nonce_override is not None else nonce
        without = "c=%s,r=%s" % (base64.b64encode(self.gs2.encode()).decode(), use_nonce)
        self.auth_message = "%s,%s,%s" % (self.bare, sf, without)
        sig = hmac.new(stored, self.auth_message.encode(), self.hash).digest()
        proof = bytes(a ^ b for a, b in zip(ck, sig))
        if proof_override is not None:
            proof = proof_override
        self.server_nonce = nonce
        return ("%s,p=%s" % (without, base64.b64encode(proof).decode())).encode()

    def verify(self, server_final):
        want = hmac.new(self.server_key, self.auth_message.encode(), self.hash).digest()
        return server_final.decode() == "v=" + base64.b64encode(want).decode()


def scram_login(conn, mech, user, password, gs2="n,,", tamper_nonce=False, keep=None):
    """A whole SCRAM exchange on CONN: (error of the step that failed or 0,
    message, detail). KEEP, a dict, receives the client-final sent."""
    err, mechs = sasl_handshake(conn, mech)
    if err:
        return err, "handshake", mechs
    s = Scram(mech, user, password, gs2)
    err, msg, sf = sasl_authenticate(conn, s.first())
    if err:
        return err, msg, "client-first"
    override = None
    if tamper_nonce:
        n = s.__dict__.get("server_nonce")
        attrs = dict(kv.split("=", 1) for kv in sf.decode().split(","))
        n = attrs["r"]
        override = n[:-4] + ("AAAA" if n[-4:] != "AAAA" else "BBBB")
    cf = s.final(sf, nonce_override=override)
    if keep is not None:
        keep["client_final"] = cf
        keep["client_first"] = s.first()
    err, msg, sfin = sasl_authenticate(conn, cf)
    if err:
        return err, msg, "client-final"
    if not s.verify(sfin):
        return -1, "server signature does not verify", sfin
    return 0, None, "authenticated"


def scram_login_v0(conn, mech, user, password):
    """SCRAM after a v0 SaslHandshake, as kafka-python 2.0 does it: the
    tokens then travel bare (a 4-byte length and the bytes, no Kafka
    header). 0, or a description of what went wrong."""
    r = Reader(conn.request(API_SASL_HANDSHAKE, 0, string(mech)))
    err = r.i16()
    if err:
        return "handshake error %d" % err
    s = Scram(mech, user, password)

    def exchange(token):
        conn.send_raw(i32(len(token)) + token)
        n = struct.unpack(">i", conn.recv_exact(4))[0]
        return conn.recv_exact(n)
    try:
        sf = exchange(s.first())
        sfin = exchange(s.final(sf))
    except kwire.Closed as e:
        return "closed: %s" % e
    return 0 if s.verify(sfin) else "server signature does not verify"


def plain_login(conn, authzid, user, password):
    err, mechs = sasl_handshake(conn, "PLAIN")
    if err:
        return err, "handshake", mechs
    data = ("%s\0%s\0%s" % (authzid, user, password)).encode()
    err, msg, _ = sasl_authenticate(conn, data)
    return err, msg, "plain"


# ---- Strata's native frames -------------------------------------------------------

def _varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb(*fields):
    """A protobuf message from (number, value) pairs: ints as varints,
    str/bytes as length-delimited, a list as repeated fields (packed ints
    are not needed: proto3 decoders accept unpacked too)."""
    out = b""
    for num, v in fields:
        vals = v if isinstance(v, list) else [v]
        for x in vals:
            if isinstance(x, bool) or isinstance(x, int):
                out += _varint(num << 3) + _varint(int(x))
            else:
                b = x.encode() if isinstance(x, str) else x
                out += _varint(num << 3 | 2) + _varint(len(b)) + b
    return out


def pb_parse(buf):
    """{number: [values]}: varints as ints, length-delimited as bytes
    (packed repeated ints stay bytes: unpack with pb_packed)."""
    out, pos = {}, 0

    def varint():
        nonlocal pos
        shift = n = 0
        while True:
            b = buf[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n
    while pos < len(buf):
        key = varint()
        num, wt = key >> 3, key & 7
        if wt == 0:
            v = varint()
        elif wt == 2:
            ln = varint()
            v = buf[pos:pos + ln]
            pos += ln
        elif wt == 1:
            v = buf[pos:pos + 8]
            pos += 8
        elif wt == 5:
            v = buf[pos:pos + 4]
            pos += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def pb_ints(msg, num):
    """Every int of repeated field NUM, packed or not; int32 sign restored."""
    res = []
    for v in msg.get(num, []):
        res.extend([v] if isinstance(v, int) else _unpack(v))
    return [x - (1 << 64) if x >= 1 << 63 else x for x in res]


def _unpack(b):
    vals, pos = [], 0
    while pos < len(b):
        shift = n = 0
        while True:
            c = b[pos]
            pos += 1
            n |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                break
        vals.append(n)
    return vals


def native_errors():
    """{name: wire code} from common/errors.h."""
    names = {}
    with open(os.path.join(ROOT, "common", "errors.h")) as f:
        for m in re.finditer(r"X\((\w+),\s*(\d+),", f.read()):
            names[m.group(1)] = int(m.group(2))
    return names


# Header fields and body field numbers (proto/strata.proto).
NATIVE_BODY = {
    "api_versions_req": 20, "produce_req": 28, "fetch_req": 30,
    "broker_register_req": 40, "broker_heartbeat_req": 42, "alter_isr_req": 44,
    "sasl_handshake_req": 90, "sasl_authenticate_req": 92,
}
NATIVE_API = {"api_versions_req": 18, "produce_req": 0, "fetch_req": 1, "broker_register_req": 62,
              "broker_heartbeat_req": 63, "alter_isr_req": 56,
              "sasl_handshake_req": 17, "sasl_authenticate_req": 36}


class NativeConn:
    def __init__(self, host, port, ctx=None, timeout=5.0):
        raw = socket.create_connection((host, int(port)), timeout=timeout)
        if ctx is not None:
            try:
                raw = ctx.wrap_socket(raw, server_hostname=host)
            except Exception:
                raw.close()
                raise
        self.sock = raw
        self.corr = 0

    def close(self):
        self.sock.close()

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            try:
                b = self.sock.recv(n - len(out))
            except (ConnectionResetError, ssl.SSLError) as e:
                raise kwire.Closed("connection closed: %s" % e)
            if not b:
                raise kwire.Closed("closed after %d of %d bytes" % (len(out), n))
            out += b
        return out

    def request(self, body_name, body, payload=b""):
        """Sends one request; returns (header dict, body message dict)."""
        self.corr += 1
        hdr = pb((1, NATIVE_API[body_name]), (2, 0), (3, self.corr), (7, "strata-sectest"),
                 (NATIVE_BODY[body_name], body))
        self.sock.sendall(struct.pack(">II", 4 + len(hdr) + len(payload), len(hdr)) + hdr + payload)
        n, hl = struct.unpack(">II", self.recv_exact(8))
        rest = self.recv_exact(n - 4)
        h = pb_parse(rest[:hl])
        resp_body = {}
        for num, vals in h.items():
            if num >= 20 and vals and isinstance(vals[0], bytes):
                resp_body = pb_parse(vals[0])
        return h, resp_body


def native_error(h):
    """The frame-level error code of a native answer header (0: none)."""
    return h.get(5, [0])[0]


def native_scram_login(conn, mech, user, password):
    """SCRAM on a native connection (SaslHandshake/SaslAuthenticate bodies
    90/92, errors in the header): 0, or the failing step's header error code."""
    h, b = conn.request("sasl_handshake_req", pb((1, mech)))
    if native_error(h):
        return native_error(h)
    s = Scram(mech, user, password)
    h, b = conn.request("sasl_authenticate_req", pb((1, s.first())))
    if native_error(h):
        return native_error(h)
    h, b = conn.request("sasl_authenticate_req", pb((1, s.final(b.get(1, [b""])[0]))))
    if native_error(h):
        return native_error(h)
    return 0 if s.verify(b.get(1, [b""])[0]) else -1

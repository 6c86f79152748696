"""The security tests' raw-socket cases, one subcommand each; every check
prints "ok ..." or "FAIL ..." (tests/security/lib.sh counts them).

usage: attacks.py CASE [--key value ...]
  common: --certs DIR; passwords from the environment, SEC_USERS="name=password ...";
          --plain 1: no TLS (SASL_PLAINTEXT listeners)
  sasl      --kafka HOST:PORT [--topic T]  SASL refusals on a Kafka port (T: a topic
            alice may describe, for the bare-token login case)
  tls       --kafka H:P --native H:P --controller H:P   TLS refusals
  bigframe  --target H:P --pid PID     100 MB length prefix before authentication
  native    --native H:P --controller H:P --topic T [--native-sasl 0]
            unauthenticated / client principals on internal APIs (--native-sasl 0:
            the native port has no SASL, skip the SCRAM login there)
  replica-fetch --kafka H:P --topic T  a SCRAM client's replica fetch
"""
import base64
import os
import socket
import ssl
import sys
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)  # ssl.TLSVersion.TLSv1 on purpose
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import secwire as sw  # noqa: E402
import kwire  # noqa: E402
from ktlib import bad, check, finish, ok  # noqa: E402

args = {}
case = sys.argv[1]
i = 2
while i < len(sys.argv):
    args[sys.argv[i].lstrip("-")] = sys.argv[i + 1]
    i += 2
USERS = dict(kv.split("=", 1) for kv in os.environ.get("SEC_USERS", "").split())
CERTS = args.get("certs", "")


def cert(name):
    return os.path.join(CERTS, name + ".pem"), os.path.join(CERTS, name + ".key")


PLAIN = args.get("plain") == "1"  # SASL_PLAINTEXT listeners (no TLS): for partial runs


def ctx(client=None, ca="ca"):
    if PLAIN and client is None:
        return None
    c, k = cert(client) if client else (None, None)
    return sw.tls_context(os.path.join(CERTS, ca + ".pem"), c, k)


def closed(conn, seconds=3.0):
    """The server closed the connection (EOF/reset/TLS alert) within SECONDS."""
    conn.sock.settimeout(seconds)
    try:
        while True:
            if not conn.sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError) as e:
        return not isinstance(e, socket.timeout)


def kafka_conn(hp, client=None):
    return sw.Conn(*sw.hostport(hp), ctx=ctx(client))


# ---- SASL ----------------------------------------------------------------------

def scram_case(hp, mech, user, password, label, expect_ok=False, **kw):
    """One SCRAM exchange on a new TLS connection; returns (err, msg, secs)."""
    c = kafka_conn(hp)
    t0 = time.time()
    try:
        err, msg, detail = sw.scram_login(c, mech, user, password, **kw)
    except kwire.Closed as e:
        err, msg, detail = "closed", str(e), ""
    secs = time.time() - t0
    if expect_ok:
        check(err == 0, "%s: authenticated" % label, "error %s %s (%s)" % (err, msg, detail))
    else:
        check(err == sw.K_SASL_AUTHENTICATION_FAILED,
              "%s: refused with SASL_AUTHENTICATION_FAILED (58)" % label,
              "got error %s %r at %s" % (err, msg, detail))
        check(closed(c), "%s: then the broker closes the connection" % label)
    c.close()
    return err, msg, secs


def case_sasl():
    hp = args["kafka"]
    alice, bob = USERS["alice"], USERS["bob"]
    # Positive controls first: the exchange code itself is right.
    scram_case(hp, "SCRAM-SHA-512", "alice", alice, "SCRAM-SHA-512 alice, right password", expect_ok=True)
    scram_case(hp, "SCRAM-SHA-256", "bob", bob, "SCRAM-SHA-256 bob, right password", expect_ok=True)
    c = kafka_conn(hp)
    err, msg, _ = sw.plain_login(c, "", "alice", alice)
    check(err == 0, "PLAIN alice (empty authzid): authenticated", "error %s %r" % (err, msg))
    if err == 0:
        try:
            _, _, topics = kwire.metadata(c, [])
            ok("after authentication Metadata answers")
        except Exception as e:
            bad("after authentication Metadata: %s" % e)
    c.close()

    # A v0 handshake (bare tokens, kafka-python's way): the very first request
    # after the login already runs as the user (alice may describe TOPIC).
    topic = args.get("topic")
    if topic:
        c = kafka_conn(hp)
        try:
            err = sw.scram_login_v0(c, "SCRAM-SHA-256", "alice", alice)
            if check(err == 0, "SCRAM-SHA-256 after a v0 SaslHandshake (bare tokens): authenticated", str(err)):
                _, _, topics = kwire.metadata(c, [topic])
                terr = topics.get(topic, (-1, {}))[0]
                check(terr == 0, "the first request after a bare-token login runs as User:alice "
                      "(Metadata for %s: no error)" % topic,
                      "error %d: the login's principal was not in place yet" % terr)
        except Exception as e:
            bad("v0 bare-token login then Metadata: %r" % e)
        c.close()

    # Wrong password and unknown user: the same error and message, and about
    # the same time (RFC 5802 §9: unknown users get a fake salt, no oracle).
    e1, m1, t1 = scram_case(hp, "SCRAM-SHA-512", "alice", alice + "x", "wrong password")
    e2, m2, t2 = scram_case(hp, "SCRAM-SHA-512", "nosuchuser", "whatever", "unknown user")
    check(e1 == e2 and m1 == m2, "wrong password and unknown user give the same error and message",
          "wrong password: %s %r; unknown user: %s %r" % (e1, m1, e2, m2))
    check(t1 >= 0.09 and t2 >= 0.09, "a failed authentication is answered after the failure delay (>= 100 ms)",
          "%.3f s and %.3f s" % (t1, t2))
    check(abs(t1 - t2) < 0.25, "wrong password and unknown user take about the same time",
          "%.3f s vs %.3f s" % (t1, t2))
    c = kafka_conn(hp)
    try:
        err, _ = sw.sasl_handshake(c, "SCRAM-SHA-512")
        s = sw.Scram("SCRAM-SHA-512", "nosuchuser", "x")
        err, msg, sf = sw.sasl_authenticate(c, s.first())
        attrs = dict(kv.split("=", 1) for kv in sf.decode().split(","))
        check(err == 0 and "s" in attrs and int(attrs.get("i", 0)) >= 4096,
              "an unknown user gets a server-first with a salt and iterations like a real one",
              "error %s, %r" % (err, sf))
    except Exception as e:
        bad("unknown user's server-first: %s" % e)
    c.close()

    # CVE-2024-56128: the client-final nonce must be client + server nonce.
    scram_case(hp, "SCRAM-SHA-512", "alice", alice, "SCRAM client-final with a tampered nonce",
               tamper_nonce=True)
    # ... and a client-final replayed on a new connection (new server nonce) fails.
    keep = {}
    c = kafka_conn(hp)
    err, _, _ = sw.scram_login(c, "SCRAM-SHA-512", "alice", alice, keep=keep)
    c.close()
    if err == 0:
        c = kafka_conn(hp)
        try:
            sw.sasl_handshake(c, "SCRAM-SHA-512")
            sw.sasl_authenticate(c, keep["client_first"])  # same client nonce
            err, msg, _ = sw.sasl_authenticate(c, keep["client_final"])
        except kwire.Closed as e:
            err, msg = "closed", str(e)
        check(err == sw.K_SASL_AUTHENTICATION_FAILED,
              "a client-final replayed on a new connection is refused (SASL_AUTHENTICATION_FAILED)",
              "got %s %r" % (err, msg))
        c.close()

    # CVE-2017-12610: no impersonation through the authorization id.
    scram_case(hp, "SCRAM-SHA-512", "bob", bob, "SCRAM as bob with gs2 header n,a=admin,",
               gs2="n,a=admin,")
    scram_case(hp, "SCRAM-SHA-512", "alice", alice, "SCRAM channel binding p=tls-unique (-PLUS)",
               gs2="p=tls-unique,,")
    c = kafka_conn(hp)
    try:
        err, msg, _ = sw.plain_login(c, "admin", "bob", bob)
    except kwire.Closed as e:
        err, msg = "closed", str(e)
    check(err == sw.K_SASL_AUTHENTICATION_FAILED,
          "PLAIN admin\\0bob\\0<bob's password> (authzid != user) refused", "got %s %r" % (err, msg))
    c.close()
    c = kafka_conn(hp)
    try:
        err, msg, _ = sw.plain_login(c, "bob", "bob", bob)
    except kwire.Closed as e:
        err, msg = "closed", str(e)
    check(err == 0, "PLAIN bob\\0bob\\0<password> (authzid == user) accepted", "got %s %r" % (err, msg))
    c.close()

    # Unknown mechanisms: UNSUPPORTED_SASL_MECHANISM with the enabled list.
    for mech in ("GSSAPI", "OAUTHBEARER", "SCRAM-SHA-1", "NOPE"):
        c = kafka_conn(hp)
        try:
            err, mechs = sw.sasl_handshake(c, mech)
        except kwire.Closed as e:
            err, mechs = "closed", str(e)
        check(err == sw.K_UNSUPPORTED_SASL_MECHANISM and "SCRAM-SHA-512" in mechs,
              "SaslHandshake %s: UNSUPPORTED_SASL_MECHANISM (33) listing the enabled ones" % mech,
              "got %s %r" % (err, mechs))
        c.close()

    # NATS CVE-2023-47090: before authentication nothing but ApiVersions,
    # SaslHandshake and SaslAuthenticate.
    c = kafka_conn(hp)
    try:
        err, keys = kwire.api_versions(c)
        check(err == 0 and 17 in keys and 36 in keys,
              "ApiVersions before authentication answers and lists SaslHandshake and SaslAuthenticate",
              "error %s, keys %s" % (err, sorted(keys)))
    except Exception as e:
        bad("ApiVersions before authentication: %s" % e)
    for name, key, ver, body in (("Metadata", 3, 1, kwire.i32(-1)),
                                 ("Produce", 0, 3, kwire.string(None) + kwire.i16(1) + kwire.i32(1000) +
                                  kwire.i32(0)),
                                 ("CreateTopics", 19, 0, kwire.i32(0) + kwire.i32(1000))):
        c2 = kafka_conn(hp)
        try:
            resp = c2.request(key, ver, body)
            bad("%s before authentication was answered (%d bytes)" % (name, len(resp)))
        except (kwire.Closed, ssl.SSLError, OSError):
            ok("%s before authentication: connection closed, no answer" % name)
        c2.close()
    c.close()

    # A SaslAuthenticate before SaslHandshake is out of order.
    c = kafka_conn(hp)
    try:
        err, msg, _ = sw.sasl_authenticate(c, b"n,,n=alice,r=abc")
        check(err != 0, "SaslAuthenticate before SaslHandshake refused", "got error 0")
    except (kwire.Closed, OSError):
        ok("SaslAuthenticate before SaslHandshake: connection closed")
    c.close()

    # Malformed SCRAM messages are refused (never crash; the next login works).
    for label, first in (("no nonce", b"n,,n=alice"), ("NUL in the user name", b"n,,n=al\0ice,r=abc"),
                         ("1 MB user name", b"n,,n=" + b"a" * (1 << 20) + b",r=abc"),
                         ("duplicate attribute", b"n,,n=alice,n=bob,r=abc"),
                         ("bad gs2 flag", b"x,,n=alice,r=abc")):
        c = kafka_conn(hp)
        try:
            sw.sasl_handshake(c, "SCRAM-SHA-512")
            err, msg, _ = sw.sasl_authenticate(c, first)
            check(err != 0, "malformed client-first (%s) refused" % label, "got error 0")
        except (kwire.Closed, OSError):
            ok("malformed client-first (%s): connection closed" % label)
        c.close()
    scram_case(hp, "SCRAM-SHA-512", "alice", alice, "after the malformed ones, alice", expect_ok=True)


# ---- TLS ------------------------------------------------------------------------

def tls_refused(hp, client, ca, label, kafka=True):
    """A TLS connection with CLIENT's certificate that the server must refuse:
    the handshake fails, or the first request finds the connection closed (a
    TLS 1.3 server's alert arrives after the client's handshake ends)."""
    try:
        c = (sw.Conn if kafka else sw.NativeConn)(*sw.hostport(hp), ctx=ctx(client, ca))
    except ConnectionRefusedError:
        bad("%s: nothing listens on %s" % (label, hp))
        return
    except (ssl.SSLError, OSError) as e:
        ok("%s: handshake refused (%s)" % (label, type(e).__name__))
        return
    try:
        if kafka:
            kwire.api_versions(c)
        else:
            c.request("api_versions_req", b"")
        bad("%s: the server answered a request" % label)
    except (kwire.Closed, ssl.SSLError, OSError) as e:
        ok("%s: refused (%s)" % (label, str(e)[:60]))
    c.close()


def case_tls():
    k, n, ctl = args["kafka"], args["native"], args["controller"]
    # Positive controls.
    try:
        c = sw.NativeConn(*sw.hostport(ctl), ctx=ctx("alice"))
        c.request("api_versions_req", b"")
        ok("controller port: a client certificate from the cluster CA completes TLS")
        c.close()
    except Exception as e:
        bad("controller port with alice's certificate: %s" % e)
    tls_refused(ctl, None, "ca", "controller port without a client certificate (ssl.client.auth=required)",
                kafka=False)
    tls_refused(ctl, "other-alice", "ca", "controller port, client certificate from another CA", kafka=False)
    tls_refused(ctl, "expired-alice", "ca", "controller port, expired client certificate", kafka=False)
    tls_refused(ctl, "future-alice", "ca", "controller port, client certificate not valid yet", kafka=False)
    tls_refused(k, "other-alice", "ca", "Kafka port, client certificate from another CA", kafka=True)
    tls_refused(k, "expired-alice", "ca", "Kafka port, expired client certificate", kafka=True)
    tls_refused(k, "future-alice", "ca", "Kafka port, client certificate not valid yet", kafka=True)
    tls_refused(n, "other-alice", "ca", "native port, client certificate from another CA", kafka=False)
    # Plaintext on a TLS port: no answer, the connection closes.
    for label, hp, native in (("Kafka", k, False), ("native", n, True), ("controller", ctl, True)):
        try:
            c = sw.NativeConn(*sw.hostport(hp)) if native else sw.Conn(*sw.hostport(hp))
            if native:
                c.request("api_versions_req", b"")
            else:
                kwire.api_versions(c)
            bad("plaintext ApiVersions on the %s TLS port was answered" % label)
        except ConnectionRefusedError:
            bad("plaintext ApiVersions on the %s TLS port: nothing listens on %s" % (label, hp))
        except (kwire.Closed, ValueError, OSError) as e:
            ok("plaintext ApiVersions on the %s TLS port: closed without an answer (%s)" % (label, str(e)[:50]))
    # TLS 1.0/1.1 refused.
    for ver in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        cx = ctx()
        try:
            cx.minimum_version = ver
            cx.maximum_version = ver
            cx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            continue
        try:
            sw.Conn(*sw.hostport(k), ctx=cx).close()
            bad("%s accepted on the Kafka port" % ver.name)
        except ConnectionRefusedError:
            bad("%s: nothing listens on %s" % (ver.name, k))
        except (ssl.SSLError, OSError):
            ok("%s refused on the Kafka port" % ver.name)
    # The server's certificate names its address (clients verify it).
    try:
        c = sw.Conn(*sw.hostport(k), ctx=sw.tls_context(os.path.join(CERTS, "ca.pem"), check_host=True))
        ok("the Kafka port's certificate verifies for %s (SAN IP)" % k)
        c.close()
    except Exception as e:
        bad("host check of %s's certificate: %s" % (k, e))


# ---- 100 MB length prefix before authentication (CVE-2022-34917) -------------------

def rss_kb(pid):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def case_bigframe():
    hp, pid = args["target"], args["pid"]
    label = args.get("label", hp)
    before = rss_kb(pid)
    sent_total = 0
    peak = before
    for rnd in range(3):
        c = sw.Conn(*sw.hostport(hp), ctx=ctx())
        c.sock.settimeout(5)
        sent = 0
        chunk = os.urandom(64 << 10)
        closed_early = False
        t0 = time.time()
        try:
            c.sock.sendall(kwire.i32(100 << 20) + kwire.i32(12))
            while sent < (8 << 20) and time.time() - t0 < 10:
                c.sock.sendall(chunk)
                sent += len(chunk)
                peak = max(peak, rss_kb(pid))
        except (ssl.SSLError, OSError, BrokenPipeError):
            closed_early = True
        if not closed_early:
            closed_early = closed(c, 3)
        sent_total += sent
        peak = max(peak, rss_kb(pid))
        check(closed_early and sent < (8 << 20),
              "%s: a 100 MB length prefix before authentication closes the connection (round %d, "
              "closed after %d KiB sent)" % (label, rnd + 1, sent >> 10),
              "still open after %d KiB" % (sent >> 10))
        c.close()
    time.sleep(0.3)
    after = rss_kb(pid)
    check(peak - before < 4 << 10 and after - before < 4 << 10,
          "%s: broker RSS stays flat (before %d KiB, peak %d KiB, after %d KiB)" % (label, before, peak, after),
          "grew by %d KiB at peak" % (peak - before))


# ---- internal APIs from the wrong principal ---------------------------------------------

ERR = sw.native_errors()


def native_refused(conn_fn, body_name, body, label, want=("CLUSTER_AUTHORIZATION_FAILED",)):
    """A native request that must be refused with one of WANT (error names)
    in the frame header or the body's error_code, or by closing."""
    try:
        c = conn_fn()
    except ConnectionRefusedError:
        bad("%s: nothing listens there" % label)
        return
    except (ssl.SSLError, OSError) as e:
        ok("%s: refused at the TLS handshake (%s)" % (label, type(e).__name__))
        return
    try:
        h, b = c.request(body_name, body)
    except (kwire.Closed, ssl.SSLError, OSError) as e:
        if "closed" in want:
            ok("%s: connection closed, no answer" % label)
        else:
            bad("%s: connection closed, wanted an answer with %s" % (label, "/".join(want)))
        c.close()
        return
    codes = {sw.native_error(h)}
    if body_name == "fetch_req":
        for part in b.get(1, []):
            codes |= set(sw.pb_parse(part).get(3, [0]))
    names = {n for n, v in ERR.items() if v in codes}
    wanted = [w for w in want if w != "closed"]
    missing = [w for w in wanted if w not in ERR]
    if missing:
        bad("%s: common/errors.h has no %s (authz not merged?)" % (label, "/".join(missing)))
    elif names & set(wanted):
        ok("%s: %s" % (label, "/".join(sorted(names & set(wanted)))))
    else:
        bad("%s: answered with error codes %s (%s), wanted %s" % (label, sorted(codes), sorted(names),
                                                                   "/".join(wanted)))
    c.close()


def case_native():
    n, ctl, topic = args["native"], args["controller"], args["topic"]
    gate = tuple(args.get("gate", "closed,SASL_AUTHENTICATION_FAILED,ILLEGAL_SASL_STATE,"
                                  "CLUSTER_AUTHORIZATION_FAILED").split(","))
    reg = sw.pb((1, 1), (2, "127.0.0.66"), (3, 1), (7, ""))
    hb = sw.pb((1, 1), (2, 1), (3, 0))
    isr = sw.pb((1, 1), (2, 1), (3, topic), (4, 0), (5, 0), (6, 0), (7, [1]), (8, [1]))
    part = sw.pb((1, topic), (2, 0), (3, 0), (4, 1 << 20), (5, -1), (6, 0))
    rfetch = sw.pb((1, 0), (2, 0), (3, 1 << 20), (4, part), (5, 2), (6, 1))
    # A broker's native port without SASL: TLS done, not authenticated.
    native = lambda: sw.NativeConn(*sw.hostport(n), ctx=ctx())
    # (a broker serves no BrokerRegister at all: UNSUPPORTED_VERSION is a refusal too)
    native_refused(native, "broker_register_req", reg, "unauthenticated BrokerRegister on a broker's native port",
                   gate + ("UNSUPPORTED_VERSION",))
    native_refused(native, "fetch_req", rfetch, "unauthenticated follower Fetch (replica_id 2) on a broker's native port",
                   gate)
    # ... even with a client certificate (requested, not a SASL login).
    nat_alice = lambda: sw.NativeConn(*sw.hostport(n), ctx=ctx("alice"))
    native_refused(nat_alice, "fetch_req", rfetch,
                   "follower Fetch with alice's certificate but no SASL on a SASL_SSL port", gate)
    # An authenticated client (SCRAM on the native port) is no follower (CVE-2018-1288).
    def nat_scram():
        c = sw.NativeConn(*sw.hostport(n), ctx=ctx())
        err = sw.native_scram_login(c, "SCRAM-SHA-512", "alice", USERS["alice"])
        if err:
            bad("alice's SCRAM login on the native port: error %s" % err)
        return c
    if args.get("native-sasl", "1") == "1":
        native_refused(nat_scram, "fetch_req", rfetch, "follower Fetch (replica_id 2) from User:alice after SCRAM")
    # The controller: certificates required; a client's certificate is not a broker's.
    as_alice = lambda: sw.NativeConn(*sw.hostport(ctl), ctx=ctx("alice"))
    native_refused(as_alice, "broker_register_req", reg, "BrokerRegister as User:alice (client certificate)")
    native_refused(as_alice, "broker_heartbeat_req", hb, "BrokerHeartbeat as User:alice")
    native_refused(as_alice, "alter_isr_req", isr, "AlterIsr (ISR {1}) as User:alice")
    as_b2 = lambda: sw.NativeConn(*sw.hostport(ctl), ctx=ctx("broker-2"))
    native_refused(as_b2, "broker_register_req", reg, "BrokerRegister of broker 1 with broker-2's certificate")
    native_refused(as_b2, "alter_isr_req", isr, "AlterIsr for broker 1 with broker-2's certificate")
    anon = lambda: sw.NativeConn(*sw.hostport(ctl), ctx=ctx())
    native_refused(anon, "broker_register_req", reg, "BrokerRegister without a client certificate",
                   ("closed", "CLUSTER_AUTHORIZATION_FAILED"))


def case_replica_fetch():
    hp, topic = args["kafka"], args["topic"]
    c = kafka_conn(hp)
    err, msg, _ = sw.scram_login(c, "SCRAM-SHA-512", "alice", USERS["alice"])
    if not check(err == 0, "alice authenticates on %s" % hp, "error %s %r" % (err, msg)):
        return
    # Fetch v4 with replica_id 2 (a follower's) from a client principal.
    body = (kwire.i32(2) + kwire.i32(0) + kwire.i32(0) + kwire.i32(1 << 20) + kwire.i8(0) +
            kwire.array([topic], lambda t: kwire.string(t) + kwire.array(
                [0], lambda p: kwire.i32(p) + kwire.i64(0) + kwire.i32(1 << 20))))
    try:
        r = kwire.Reader(c.request(kwire.API_FETCH, 4, body))
        r.i32()
        errs, recs = [], b""
        for _ in range(r.i32()):
            r.string()
            for _ in range(r.i32()):
                r.i32()
                errs.append(r.i16())
                r.i64()
                r.i64()
                r.array(lambda r: (r.i64(), r.i64()))
                recs += r.bytes_() or b""
        check(errs and all(e == sw.K_CLUSTER_AUTHORIZATION_FAILED for e in errs) and not recs,
              "Kafka Fetch with replica_id 2 from User:alice: CLUSTER_AUTHORIZATION_FAILED, no records",
              "errors %s, %d record bytes" % (errs, len(recs)))
    except kwire.Closed as e:
        bad("Kafka replica Fetch from alice: connection closed (%s), wanted CLUSTER_AUTHORIZATION_FAILED" % e)
    c.close()


{"sasl": case_sasl, "tls": case_tls, "bigframe": case_bigframe, "native": case_native,
 "replica-fetch": case_replica_fetch}[case]()
finish()

"""bad_input_test's attacks on one broker's Kafka port, raw sockets.

usage: bad_input.py HOST:PORT BOOT TOPIC PARTITIONS [--livez URL] [--pid PID]
                    [--native "CMD..."] [--strata]

Seeds TOPIC with records (confluent-kafka), then sends frames no client
would: truncated frames and headers, oversized/zero/negative length
prefixes, unknown API keys, unsupported versions (ApiVersions v99 must get
error 35 with a v0 body listing key 18 in a v0 response header; others are
refused or not advertised), random garbage, negative and huge array counts,
strings longer than their frame. After each: a new connection's ApiVersions
answers, /livez answers 200 (--livez), the broker process lives (--pid),
and TOPIC's stored batches, fetched raw, are byte for byte as before, as is
the output of the native CLI (--native: a command printing every record).
With --strata, Strata's contract is asserted where Kafka leaves a choice
(Produce v0-2: UNSUPPORTED_VERSION per partition).
"""
import os
import random
import socket
import struct
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire  # noqa: E402
from kwire import array, frame, header_v1, i8, i16, i32, i64, string  # noqa: E402
from ktlib import bad, check, finish, ok  # noqa: E402

args = sys.argv[1:]
target, boot, topic, parts = args[0], args[1], args[2], int(args[3])
opt = {}
i = 4
while i < len(args):
    if args[i] == "--strata":
        opt["strata"] = True
        i += 1
    else:
        opt[args[i][2:]] = args[i + 1]
        i += 2
host, port = kwire.split_hostport(target)


def seed():
    from confluent_kafka import Producer
    errors = []
    for codec in ("none", "zstd"):
        p = Producer({"bootstrap.servers": boot, "enable.idempotence": True, "acks": "all",
                      "compression.type": codec, "linger.ms": 5})
        for i in range(150):
            p.produce(topic, value=b"kept-%s-%d" % (codec.encode(), i), key=b"k%d" % i,
                      headers=[("h", b"v%d" % i)], on_delivery=lambda e, m: e and errors.append(str(e)))
        p.flush(30)
    if not check(not errors, "seeded %s with 300 records (uncompressed and zstd)" % topic, str(errors[:3])):
        finish()


def stored():
    """TOPIC's batches, raw, per partition; the native CLI's output."""
    raw = {p: [b["raw"] for b in kwire.read_partition(boot, topic, p)] for p in range(parts)}
    native = None
    if "native" in opt:
        r = subprocess.run(opt["native"], shell=True, capture_output=True, timeout=30)
        native = (r.returncode, r.stdout)
    return raw, native


def rss_kb():
    try:
        for line in open("/proc/%s/status" % opt["pid"]):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (KeyError, OSError):
        pass
    return 0


def healthy(after, base):
    """The broker answers and holds the same data, after ATTACK."""
    problems = []
    if "pid" in opt and not os.path.exists("/proc/%s" % opt["pid"]):
        bad("after %s: the broker (pid %s) is gone" % (after, opt["pid"]))
        finish()
    try:
        c = kwire.Conn(host, port, timeout=5)
        err, keys = kwire.api_versions(c, 0)
        c.close()
        if err or 18 not in keys:
            problems.append("ApiVersions v0 on a new connection: error %d, keys %s" % (err, sorted(keys)))
    except Exception as e:  # noqa: BLE001
        problems.append("ApiVersions v0 on a new connection: %r" % e)
    if "livez" in opt:
        try:
            code = urllib.request.urlopen(opt["livez"], timeout=5).status
        except Exception as e:  # noqa: BLE001
            code = repr(e)
        if code != 200:
            problems.append("/livez: %s" % code)
    try:
        raw, native = stored()
        if raw != base[0]:
            problems.append("the stored batches of %s differ from before" % topic)
        if native != base[1]:
            problems.append("the native CLI's reading of %s differs from before: %s" % (topic, str(native)[:200]))
    except Exception as e:  # noqa: BLE001
        problems.append("reading %s: %r" % (topic, e))
    check(not problems, "after %s: the broker answers, its data unchanged" % after, "; ".join(problems))


def conn():
    return kwire.Conn(host, port, timeout=5)


def closed_or_answered(c, corr):
    """'closed' when the broker closes the connection within 5 s, 'answered'
    when it sends a frame with correlation id CORR, else a description."""
    c.sock.settimeout(5)
    try:
        head = c.recv_exact(4)
        n = struct.unpack(">i", head)[0]
        body = c.recv_exact(min(n, 1 << 20)) if n > 0 else b""
        got = struct.unpack(">i", body[:4])[0] if len(body) >= 4 else None
        return "answered" if got == corr else "a frame of %d bytes with correlation id %s" % (n, got)
    except kwire.Closed:
        return "closed"
    except socket.timeout:
        return "neither closed nor answered in 5 s"
    except OSError as e:
        return "closed" if isinstance(e, (ConnectionResetError, BrokenPipeError)) else repr(e)


def send(c, data):
    try:
        c.send_raw(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False  # closed already: fine


# ---- the attacks ---------------------------------------------------------------
def expect_closed(name, data, wait=5):
    c = conn()
    send(c, data)
    got = c.closed_within(wait)
    c.close()
    check(got, "%s: the broker closes the connection" % name, "still open after %d s" % wait)


def expect_closed_or_answer(name, data, corr):
    """A malformed request: closed, or answered (an error). Kafka 4.0 leaves
    some hanging (a Produce v3 whose records length is -9); Strata must not
    (--strata)."""
    c = conn()
    send(c, data)
    got = closed_or_answered(c, corr)
    c.close()
    allowed = ("closed", "answered") + (() if "strata" in opt else ("neither closed nor answered in 5 s",))
    check(got in allowed, "%s: refused (%s)" % (name, got), got)


def truncated(name, data):
    """A frame cut short, then our side closes: nothing to answer."""
    c = conn()
    send(c, data)
    time.sleep(0.2)
    c.close()
    ok("%s: sent %d bytes and closed" % (name, len(data)))


def req(api_key, version, body, corr=7, client_id="bad-input"):
    return frame(header_v1(api_key, version, corr, client_id) + body)


def api_versions_v99():
    """As a Java client or librdkafka opens with v3/v4: request header v2
    (client id, then empty tagged fields), a flexible body."""
    c = conn()
    hdr = i16(18) + i16(99) + i32(4242) + string("bad-input") + b"\x00"
    body = bytes([6]) + b"tests" + bytes([4]) + b"1.0" + b"\x00"  # compact strings, no tags
    c.send_raw(frame(hdr + body))
    try:
        resp = c.recv_frame()
    except Exception as e:  # noqa: BLE001
        bad("ApiVersions v99: no answer: %r" % e)
        c.close()
        return
    r = kwire.Reader(resp)
    problems = []
    try:
        corr = r.i32()
        if corr != 4242:
            problems.append("correlation id %d" % corr)
        err = r.i16()  # right after the correlation id: response header v0
        keys = r.array(lambda r: (r.i16(), r.i16(), r.i16()))
        if err != 35:
            problems.append("error %d, want 35 (UNSUPPORTED_VERSION)" % err)
        k18 = [k for k in keys or [] if k[0] == 18]
        if not k18 or k18[0][1] != 0 or k18[0][2] < 2:
            problems.append("key 18 listed as %s, want min 0, max >= 2" % k18)
        if r.left():
            problems.append("%d bytes after the v0 body" % r.left())
    except ValueError as e:
        problems.append("not a v0 body: %s" % e)
    check(not problems, "ApiVersions v99: error 35 in a v0 body (header v0) listing ApiVersions 0..%s" %
          (k18[0][2] if not problems else "?"), "; ".join(problems) + "; answer %s" % resp[:64].hex())
    # The connection stays usable: Kafka clients retry on it with a version listed.
    try:
        err, keys = kwire.api_versions(c, 0)
        check(err == 0 and 18 in keys, "ApiVersions v0 on the same connection after v99 answers",
              "error %d" % err)
    except Exception as e:  # noqa: BLE001
        bad("ApiVersions v0 on the same connection after v99: %r" % e)
    c.close()


def advertised():
    c = conn()
    err, keys = kwire.api_versions(c, 0)
    c.close()
    return keys


def unsupported_versions(keys):
    for key, name in ((3, "Metadata"), (0, "Produce"), (1, "Fetch"), (19, "CreateTopics")):
        hi = keys.get(key, (None, -1))[1]
        v = 99
        check(hi < v, "%s v%d is not advertised (max %s)" % (name, v, hi))
        expect_closed_or_answer("%s v%d" % (name, v), req(key, v, b"\x00" * 16, corr=99), 99)


def produce_v2(keys):
    """Produce v2 (message format 0/1, which Strata does not take): one
    partition with an empty message set."""
    body = i16(-1) + i32(5000) + array([topic], lambda t: string(t) + array(
        [0], lambda p: i32(p) + i32(0)))
    c = conn()
    send(c, req(0, 2, body, corr=31))
    try:
        r = kwire.Reader(c.recv_frame())
        corr = r.i32()
        errs = []
        for _ in range(r.i32()):
            r.string()
            for _ in range(r.i32()):
                r.i32()
                errs.append(r.i16())
                r.i64()
                r.i64()
        got = "answered, correlation id %d, partition errors %s" % (corr, errs)
        good = corr == 31 and errs == [35]
    except (kwire.Closed, ValueError, OSError) as e:
        got, good = "closed (%s)" % e, "strata" not in opt
    c.close()
    want = "UNSUPPORTED_VERSION (35) for the partition" + ("" if "strata" in opt else ", or a close")
    check(good, "Produce v2: %s" % want, got)


def negative_counts():
    # Metadata v1: topics -1 is null (all topics), -2 is nothing.
    expect_closed_or_answer("Metadata v1, topic array count -2", req(3, 1, i32(-2), corr=11), 11)
    expect_closed_or_answer("Metadata v1, topic array count 2^31-1, no topics", req(3, 1, i32(0x7fffffff), corr=12), 12)
    expect_closed_or_answer("CreateTopics v0, topic array count -100",
                            req(19, 0, i32(-100) + i32(1000), corr=13), 13)
    body = i16(-1) + i16(1) + i32(1000) + i32(-7)
    expect_closed_or_answer("Produce v3, topic array count -7", req(0, 3, body, corr=14), 14)
    body = i16(-1) + i16(1) + i32(1000) + array([topic], lambda t: string(t) + i32(-3))
    expect_closed_or_answer("Produce v3, partition array count -3", req(0, 3, body, corr=15), 15)
    body = (i32(-1) + i32(0) + i32(0) + i32(1 << 20) + i8(0) +
            array([topic], lambda t: string(t) + i32(0x10000000)))
    expect_closed_or_answer("Fetch v4, partition array count 2^28", req(1, 4, body, corr=16), 16)
    body = i16(-1) + i16(1) + i32(1000) + array([topic], lambda t: string(t) + array(
        [0], lambda p: i32(p) + i32(-9)))
    expect_closed_or_answer("Produce v3, records length -9", req(0, 3, body, corr=17), 17)


def bad_strings():
    expect_closed_or_answer("Metadata v1, a topic name of 30000 bytes in a 16-byte frame",
                            req(3, 1, i32(1) + i16(30000) + b"abcdefgh", corr=21), 21)
    expect_closed_or_answer("Metadata v1, a topic name of length -5",
                            req(3, 1, i32(1) + i16(-5), corr=22), 22)
    c_id = i16(18) + i16(0) + i32(23) + i16(-7)
    expect_closed_or_answer("ApiVersions v0, client id length -7", frame(c_id), 23)
    c_id = i16(18) + i16(0) + i32(24) + i16(500) + b"short"
    expect_closed_or_answer("ApiVersions v0, client id longer than the frame", frame(c_id), 24)
    # A record batch whose length field lies (Produce v3, magic 2).
    batch = i64(0) + i32(100000) + i32(0) + i8(2) + b"\x00" * 40
    body = i16(-1) + i16(1) + i32(1000) + array([topic], lambda t: string(t) + array(
        [0], lambda p: i32(p) + i32(len(batch)) + batch))
    c = conn()
    send(c, req(0, 3, body, corr=25))
    got = closed_or_answered(c, 25)
    c.close()
    check(got in ("closed", "answered"), "Produce v3, a record batch claiming 100000 bytes in 57: refused (%s)" % got,
          got)


def garbage(seed_):
    rnd = random.Random(seed_)
    data = bytes(rnd.getrandbits(8) for _ in range(4096))
    c = conn()
    send(c, data)
    got = closed_or_answered(c, -12345)
    c.close()
    # Random bytes read as a length prefix are mostly huge or negative: a close.
    check(got in ("closed", "neither closed nor answered in 5 s"),
          "4 KiB of random bytes (seed %d): %s" % (seed_, got), got)


def framed_garbage(seed_):
    rnd = random.Random(seed_)
    data = bytes(rnd.getrandbits(8) for _ in range(60))
    expect_closed_or_answer("a 60-byte frame of random bytes (seed %d)" % seed_, frame(data),
                            struct.unpack(">i", data[4:8])[0])


def pipelined():
    """1000 ApiVersions requests in one write: 1000 answers, in order."""
    c = conn()
    c.send_raw(b"".join(req(18, 0, b"", corr=k) for k in range(1, 1001)))
    corrs = []
    try:
        for _ in range(1000):
            corrs.append(struct.unpack(">i", c.recv_frame()[:4])[0])
    except Exception as e:  # noqa: BLE001
        corrs.append(repr(e))
    c.close()
    check(corrs == list(range(1, 1001)), "1000 pipelined ApiVersions requests: 1000 answers in order",
          "got %d, first wrong %s" % (len(corrs), [x for k, x in enumerate(corrs) if x != k + 1][:3]))


def reset_unread():
    """50 connections, each 500 pipelined ApiVersions requests and then a
    reset (SO_LINGER 0) without reading an answer: the broker's writes to a
    reset socket are that connection's error, not a SIGPIPE that ends the
    process (seen: one such client killed a broker silently; this many
    killed one without the fix 3 times of 3)."""
    data = b"".join(req(18, 0, b"", corr=k) for k in range(500))
    for _ in range(50):
        c = conn()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            c.send_raw(data)
        except OSError:
            pass  # the broker may have closed it first
        time.sleep(0.002)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    ok("50 connections reset with 500 unread answers each")


def trickle():
    """One ApiVersions request a byte at a time: answered."""
    c = conn()
    for b in req(18, 0, b"", corr=777):
        c.send_raw(bytes([b]))
        time.sleep(0.005)
    try:
        got = struct.unpack(">i", c.recv_frame()[:4])[0]
    except Exception as e:  # noqa: BLE001
        got = repr(e)
    c.close()
    check(got == 777, "an ApiVersions request sent a byte at a time is answered", str(got))


def main():
    seed()
    base = stored()
    if base[1] is not None and (base[1][0] != 0 or not base[1][1]):
        bad("the native CLI could not read %s: exit %d" % (topic, base[1][0]))
    rss0 = rss_kb()
    keys = advertised()
    attacks = [
        ("a frame cut short", lambda: truncated("a frame of 100 bytes cut after 10", i32(100) + b"\x00\x12\x00\x00" + b"x" * 6)),
        ("a header cut short", lambda: expect_closed(
            "a 2-byte frame (shorter than any request header)", i32(2) + b"\x00\x12")),
        ("a length prefix of 2^31-1", lambda: expect_closed("a length prefix of 2^31-1", i32(0x7fffffff) + b"\x00" * 64)),
        ("a length prefix of 200 MB", lambda: expect_closed("a length prefix of 200 MB", i32(200 << 20) + b"\x00" * 64)),
        ("a negative length prefix", lambda: expect_closed("a length prefix of -5", i32(-5) + b"\x00" * 16)),
        ("a zero length prefix", lambda: expect_closed("a length prefix of 0", i32(0) + i32(0))),
        ("unknown API key 9999", lambda: expect_closed_or_answer("API key 9999", req(9999, 0, b"", corr=41), 41)),
        ("API key -1", lambda: expect_closed_or_answer("API key -1", req(-1, 0, b"", corr=42), 42)),
        ("ApiVersions v99", api_versions_v99),
        ("unsupported versions", lambda: unsupported_versions(keys)),
        ("Produce v2", lambda: produce_v2(keys)),
        ("negative and huge array counts", negative_counts),
        ("strings longer than their frame", bad_strings),
        ("random bytes", lambda: [garbage(s) for s in (1, 2, 3)]),
        ("framed random bytes", lambda: [framed_garbage(s) for s in (4, 5, 6, 7, 8)]),
        ("1000 pipelined requests", pipelined),
        ("a request trickled a byte at a time", trickle),
        ("resets with unread answers", reset_unread),
    ]
    for name, fn in attacks:
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            bad("%s: the test itself failed: %r" % (name, e))
        healthy(name, base)
    if "pid" in opt:
        grew = (rss_kb() - rss0) // 1024
        check(grew < 64, "the broker's RSS grew %d MB through it all" % grew, "more than 64 MB")
    finish()


main()

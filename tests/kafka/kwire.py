"""The Kafka wire protocol by hand, for the tests that must see bytes no
client library shows: the compression codec of a stored batch, the exact
answer to an ApiVersions of an unknown version, and frames no client would
send (bad_input.py). Non-flexible versions only, standard library only.
"""
import socket
import struct

API_PRODUCE, API_FETCH, API_METADATA, API_VERSIONS = 0, 1, 3, 18
UNSUPPORTED_VERSION = 35
CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


class Closed(Exception):
    """The peer closed the connection (or reset it) before a whole answer."""


def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def array(items, enc):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def header_v1(api_key, version, corr, client_id="strata-kafka-test"):
    return i16(api_key) + i16(version) + i32(corr) + string(client_id)


def frame(payload):
    return i32(len(payload)) + payload


class Reader:
    """Decodes big-endian fields from one response body; running past its
    end raises ValueError (a short or malformed answer)."""

    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.buf):
            raise ValueError("answer ends at byte %d, wanted %d more at %d" %
                             (len(self.buf), n, self.pos))
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self): return struct.unpack(">b", self.take(1))[0]
    def i16(self): return struct.unpack(">h", self.take(2))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]
    def i64(self): return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def bytes_(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def array(self, dec):
        n = self.i32()
        if n < 0:
            return None
        return [dec(self) for _ in range(n)]

    def left(self):
        return len(self.buf) - self.pos


class Conn:
    """One TCP connection to a broker's Kafka port."""

    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.corr = 0

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            try:
                b = self.sock.recv(n - len(out))
            except ConnectionResetError:
                raise Closed("connection reset")
            if not b:
                raise Closed("closed after %d of %d bytes" % (len(out), n))
            out += b
        return out

    def recv_frame(self):
        n = struct.unpack(">i", self.recv_exact(4))[0]
        if n < 4 or n > 64 << 20:
            raise ValueError("answer frame length %d" % n)
        return self.recv_exact(n)

    def request(self, api_key, version, body, corr=None):
        """Sends one request (header v1) and returns the answer's body after
        checking its correlation id (header v0)."""
        if corr is None:
            self.corr += 1
            corr = self.corr
        self.send_raw(frame(header_v1(api_key, version, corr) + body))
        resp = self.recv_frame()
        got = struct.unpack(">i", resp[:4])[0]
        if got != corr:
            raise ValueError("correlation id %d, sent %d" % (got, corr))
        return resp[4:]

    def closed_within(self, seconds):
        """True when the peer closes (EOF or reset) within SECONDS, reading
        and dropping anything it sends first."""
        self.sock.settimeout(seconds)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def api_versions(conn, version=0):
    """ApiVersions vVERSION (0-2): (error, {key: (min, max)})."""
    r = Reader(conn.request(API_VERSIONS, version, b""))
    err = r.i16()
    keys = r.array(lambda r: (r.i16(), r.i16(), r.i16()))
    if version >= 1:
        r.i32()  # throttle_time_ms
    return err, {k: (lo, hi) for k, lo, hi in keys or []}


def metadata(conn, topics=None):
    """Metadata v1: (brokers {id: (host, port)}, controller id,
    topics {name: (error, {partition: (error, leader, replicas, isr)})})."""
    r = Reader(conn.request(API_METADATA, 1, array(topics, string)))
    brokers = {}
    for _ in range(r.i32()):
        nid, host, port = r.i32(), r.string(), r.i32()
        r.string()  # rack
        brokers[nid] = (host, port)
    controller = r.i32()
    out = {}
    for _ in range(r.i32()):
        terr, name = r.i16(), r.string()
        r.i8()  # is_internal
        parts = {}
        for _ in range(r.i32()):
            perr, p, leader = r.i16(), r.i32(), r.i32()
            replicas = r.array(lambda r: r.i32())
            isr = r.array(lambda r: r.i32())
            parts[p] = (perr, leader, replicas, isr)
        out[name] = (terr, parts)
    return brokers, controller, out


def fetch(conn, topic, partition, offset, max_bytes=16 << 20):
    """Fetch v4 of one partition, no wait: (error, high watermark, records
    bytes or b"")."""
    body = (i32(-1) + i32(0) + i32(0) + i32(max_bytes) + i8(0) +
            array([topic], lambda t: string(t) + array(
                [partition], lambda p: i32(p) + i64(offset) + i32(max_bytes))))
    r = Reader(conn.request(API_FETCH, 4, body))
    r.i32()  # throttle
    err, hw, recs = -1, -1, b""
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            r.i32()
            err, hw = r.i16(), r.i64()
            r.i64()  # last stable offset
            r.array(lambda r: (r.i64(), r.i64()))
            recs = r.bytes_() or b""
    return err, hw, recs


def batches(recs):
    """Splits a Fetch's records into whole RecordBatch v2 batches (a partial
    last one, which Fetch may return, is left out): a list of dicts with
    base_offset, last_offset, magic, producer_id, codec, count, raw
    bytes."""
    out, pos = [], 0
    while pos + 61 <= len(recs):
        base, length = struct.unpack(">qi", recs[pos:pos + 12])
        if pos + 12 + length > len(recs):
            break
        raw = recs[pos:pos + 12 + length]
        magic = raw[16]
        attrs, last_delta = struct.unpack(">hi", raw[21:27])
        producer_id = struct.unpack(">q", raw[43:51])[0]
        count = struct.unpack(">i", raw[57:61])[0]
        out.append({"base_offset": base, "last_offset": base + last_delta, "magic": magic,
                    "producer_id": producer_id,
                    "codec": CODECS.get(attrs & 7, "codec%d" % (attrs & 7)),
                    "count": count, "raw": raw})
        pos += 12 + length
    return out


def split_hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def leader_conn(bootstrap, topic, partition, timeout=5.0):
    """A connection to the leader of TOPIC-PARTITION, found through the
    first bootstrap address."""
    c = Conn(*split_hostport(bootstrap.split(",")[0]), timeout=timeout)
    try:
        brokers, _, topics = metadata(c, [topic])
    finally:
        c.close()
    perr, leader, _, _ = topics[topic][1][partition]
    if perr or leader not in brokers:
        raise ValueError("%s-%d: error %d, leader %d" % (topic, partition, perr, leader))
    return Conn(*brokers[leader], timeout=timeout)


def read_partition(bootstrap, topic, partition):
    """Every whole batch of TOPIC-PARTITION from offset 0 to the high
    watermark, read from its leader."""
    c = leader_conn(bootstrap, topic, partition)
    try:
        out, offset = [], 0
        while True:
            err, hw, recs = fetch(c, topic, partition, offset)
            if err:
                raise ValueError("fetch %s-%d at %d: error %d" % (topic, partition, offset, err))
            got = batches(recs)
            if not got:
                if offset < hw:
                    raise ValueError("fetch %s-%d at %d: no whole batch below hw %d" %
                                     (topic, partition, offset, hw))
                return out
            out += got
            offset = got[-1]["last_offset"] + 1
    finally:
        c.close()

#!/usr/bin/env python3
"""Topic ids on the Kafka listener, spoken raw (no client library decides
for us): tests/kafka/topic_ids_test.sh runs it.

  topic_ids.py ids HOST:PORT            every topic's "name id" (Metadata v12)
  topic_ids.py check HOST:PORT TOPIC N  ok/FAIL lines: Metadata by id (name ""
      and null), an unknown id (UNKNOWN_TOPIC_ID, null name), Fetch v13 and v17
      by id (TOPIC's N records from partition 0; an unknown id is
      UNKNOWN_TOPIC_ID per partition), DescribeTopicPartitions paged one
      partition at a time (the cursors walk every partition in order) and a
      cursor outside the topics asked for (INVALID_REQUEST)."""
import socket
import struct
import sys

UNKNOWN_TOPIC_ID, INVALID_REQUEST = 100, 42


def uv(n):
    out = b''
    while True:
        b, n = n & 0x7f, n >> 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cs(x):
    if x is None:
        return uv(0)
    x = x.encode()
    return uv(len(x) + 1) + x


class R:
    def __init__(self, b):
        self.b, self.i = b, 0

    def take(self, n):
        if self.i + n > len(self.b):
            raise ValueError('short answer')
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def i8(self): return struct.unpack('>b', self.take(1))[0]
    def i16(self): return struct.unpack('>h', self.take(2))[0]
    def i32(self): return struct.unpack('>i', self.take(4))[0]
    def i64(self): return struct.unpack('>q', self.take(8))[0]

    def uv(self):
        n = sh = 0
        while True:
            c = self.take(1)[0]
            n |= (c & 0x7f) << sh
            sh += 7
            if not c & 0x80:
                return n

    def cstr(self):
        n = self.uv()
        return None if n == 0 else self.take(n - 1).decode()

    def cbytes(self):
        n = self.uv()
        return None if n == 0 else self.take(n - 1)

    def tags(self):
        for _ in range(self.uv()):
            self.uv()
            self.take(self.uv())

    def carr(self, f):
        n = self.uv()
        return None if n == 0 else [f() for _ in range(n - 1)]


def call(addr, key, ver, body, corr=7):
    host, port = addr.rsplit(':', 1)
    hdr = struct.pack('>hhih', key, ver, corr, 1) + b'x' + uv(0)
    msg = hdr + body
    s = socket.create_connection((host, int(port)), timeout=15)
    s.sendall(struct.pack('>i', len(msg)) + msg)

    def rd(n):
        d = b''
        while len(d) < n:
            c = s.recv(n - len(d))
            if not c:
                raise EOFError('connection closed')
            d += c
        return d
    r = R(rd(struct.unpack('>i', rd(4))[0]))
    s.close()
    assert r.i32() == corr
    r.tags()
    return r


def metadata(addr, topics):
    """topics: None (all) or [(id bytes, name or None)] -> [(err, name, id, nparts)]"""
    body = uv(0) if topics is None else uv(len(topics) + 1) + b''.join(
        tid + cs(name) + uv(0) for tid, name in topics)
    r = call(addr, 3, 12, body + b'\x00\x00' + uv(0))
    r.i32()

    def broker():
        x = (r.i32(), r.cstr(), r.i32(), r.cstr())
        r.tags()
        return x
    r.carr(broker)
    r.cstr()
    r.i32()

    def part():
        e, pi = r.i16(), r.i32()
        r.i32(), r.i32()
        for _ in range(3):
            r.carr(r.i32)
        r.tags()
        return (e, pi)

    def topic():
        e, n, tid = r.i16(), r.cstr(), r.take(16)
        r.i8()
        ps = r.carr(part)
        r.i32()
        r.tags()
        return (e, n, tid, len(ps or []))
    return r.carr(topic)


def fetch(addr, ver, tid, partitions):
    """Fetch by topic id from offset 0 -> (topic id echoed, [(partition, err, hw, records bytes)])"""
    body = b''
    if ver < 15:
        body += struct.pack('>i', -1)
    body += struct.pack('>iiibii', 100, 1, 1 << 20, 0, 0, -1)
    parts = b''.join(struct.pack('>iiqiqi', p, -1, 0, -1, -1, 1 << 20) + uv(0) for p in partitions)
    body += uv(2) + tid + uv(len(partitions) + 1) + parts + uv(0)
    body += uv(1) + cs('') + uv(0)
    r = call(addr, 1, ver, body)
    r.i32(), r.i16(), r.i32()
    out = []

    def part():
        pi, e, hw = r.i32(), r.i16(), r.i64()
        r.i64(), r.i64()

        def ab():
            r.i64(), r.i64()
            r.tags()
        r.carr(ab)
        r.i32()
        rec = r.cbytes()
        r.tags()
        return (pi, e, hw, len(rec or b''))

    def topic():
        t = r.take(16)
        ps = r.carr(part)
        r.tags()
        out.append((t, ps))
    r.carr(topic)
    return out


def dtp(addr, names, limit, cursor):
    body = uv(len(names) + 1) + b''.join(cs(n) + uv(0) for n in names) + struct.pack('>i', limit)
    body += b'\xff' if cursor is None else b'\x01' + cs(cursor[0]) + struct.pack('>i', cursor[1]) + uv(0)
    r = call(addr, 75, 0, body + uv(0))
    r.i32()

    def part():
        e, pi = r.i16(), r.i32()
        r.i32(), r.i32()
        for _ in range(5):
            r.carr(r.i32)
        r.tags()
        return pi

    def topic():
        e, n, tid = r.i16(), r.cstr(), r.take(16)
        r.i8()
        ps = r.carr(part)
        r.i32()
        r.tags()
        return (e, n, tid, ps)
    topics = r.carr(topic)
    nxt = None
    if r.i8() >= 0:
        nxt = (r.cstr(), r.i32())
        r.tags()
    return topics, nxt


fails = 0


def check(good, what, why=''):
    global fails
    print(('ok   ' if good else 'FAIL ') + what + ('' if good else ': ' + str(why)))
    fails += 0 if good else 1


def main():
    cmd, addr = sys.argv[1], sys.argv[2]
    if cmd == 'ids':
        for e, n, tid, _ in metadata(addr, None):
            print(n, tid.hex())
        return 0
    topic, nrec = sys.argv[3], int(sys.argv[4])
    every = metadata(addr, None)
    mine = [t for t in every if t[1] == topic]
    check(len(mine) == 1 and mine[0][2] != bytes(16), 'Metadata v12: %s has a topic id' % topic, every)
    if len(mine) != 1:
        return 1
    tid, nparts = mine[0][2], mine[0][3]
    for name in ('', None):
        got = metadata(addr, [(tid, name)])
        check(got == [(0, topic, tid, nparts)],
              'Metadata v12 by id (name %r): the topic' % name, got)
    bad = bytes([0x42] * 16)
    got = metadata(addr, [(bad, '')])
    check(got == [(UNKNOWN_TOPIC_ID, None, bad, 0)], 'Metadata by an unknown id: UNKNOWN_TOPIC_ID, null name', got)
    for ver in (13, 17):
        got = fetch(addr, ver, tid, [0])
        ok = len(got) == 1 and got[0][0] == tid and got[0][1][0][:3] == (0, 0, nrec) and \
            (got[0][1][0][3] > 0) == (nrec > 0)
        check(ok, 'Fetch v%d by id: partition 0, high watermark %d, records' % (ver, nrec), got)
        got = fetch(addr, ver, bad, [0, 1])
        check(len(got) == 1 and got[0][0] == bad and [p[1] for p in got[0][1]] == [UNKNOWN_TOPIC_ID] * 2,
              'Fetch v%d by an unknown id: UNKNOWN_TOPIC_ID for each partition' % ver, got)
    # DescribeTopicPartitions of every topic, one partition per page.
    want = sorted((n, p) for e, n, t, np in every for p in range(np))
    seen, cursor, pages = [], None, 0
    while pages < 1000:
        topics, cursor = dtp(addr, [], 1, cursor)
        pages += 1
        for e, n, t, ps in topics:
            seen += [(n, p) for p in ps]
            if n == topic and t != tid:
                check(False, 'DescribeTopicPartitions: the same id as Metadata', t.hex())
        if cursor is None:
            break
    check(seen == want and pages == len(want),
          'DescribeTopicPartitions, 1 partition a page: %d pages walk every partition in order' % pages,
          (seen, want))
    topics, cursor = dtp(addr, [topic], 2000, None)
    check(len(topics) == 1 and topics[0][:3] == (0, topic, tid) and topics[0][3] == list(range(nparts))
          and cursor is None, 'DescribeTopicPartitions of %s: its id and partitions, no cursor' % topic, topics)
    topics, cursor = dtp(addr, [topic], 10, ('zzz-not-asked', 0))
    check([t[0] for t in topics] == [INVALID_REQUEST], 'DescribeTopicPartitions with a cursor outside the '
          'topics asked for: INVALID_REQUEST', topics)
    topics, cursor = dtp(addr, [topic, 'no-such-topic'], 2000, None)
    check(sorted((t[0], t[1]) for t in topics) == [(0, topic), (3, 'no-such-topic')],
          'DescribeTopicPartitions of a missing topic: UNKNOWN_TOPIC_OR_PARTITION', topics)
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())

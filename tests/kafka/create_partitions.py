"""Kafka's CreatePartitions through confluent-kafka's AdminClient against a
Strata cluster (tests/kafka/create_partitions_test.sh runs it). One "ok" or
"FAIL" line per check; exit 1 when any failed.

usage: create_partitions.py BOOTSTRAP TOPIC   (TOPIC exists with 2 partitions, RF 3)
"""
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions

boot, topic = sys.argv[1], sys.argv[2]
fails = 0


def ok(what):
    print("ok   " + what)


def bad(what):
    global fails
    fails += 1
    print("FAIL " + what)


admin = AdminClient({"bootstrap.servers": boot, "log_level": 4})


def grow(count, assignments=None, validate_only=False, name=None):
    """The topic's result: None when done, else the KafkaError."""
    name = name or topic
    np = NewPartitions(name, count, assignments) if assignments else NewPartitions(name, count)
    fut = admin.create_partitions([np], validate_only=validate_only, request_timeout=15)[name]
    try:
        fut.result(timeout=20)
        return None
    except Exception as e:  # KafkaException carrying a KafkaError
        return e.args[0] if e.args and isinstance(e.args[0], KafkaError) else e


def partitions(wait_for=None):
    """topic's partitions as listed (partition id -> metadata), waiting up to
    15 s for wait_for of them with a leader and 3 in-sync replicas."""
    deadline = time.time() + 15
    while True:
        md = admin.list_topics(topic, timeout=10).topics[topic].partitions
        full = [p for p in md.values() if p.leader >= 0 and len(p.isrs) == 3]
        if wait_for is None or len(full) >= wait_for or time.time() > deadline:
            return md
        time.sleep(0.2)


def expect(err, code, text, what):
    if err is None:
        bad(what + ": accepted")
    elif not isinstance(err, KafkaError) or err.code() != code:
        bad("%s: %s, not %s" % (what, err, code))
    elif text not in err.str():
        bad("%s: message %r lacks %r" % (what, err.str(), text))
    else:
        ok("%s: %s (%s)" % (what, err.name(), err.str()))


# validate_only: checked, nothing changes.
err = grow(5, validate_only=True)
if err is None and len(partitions()) == 2:
    ok("validate_only to 5 accepted; the topic still has 2 partitions")
else:
    bad("validate_only: %s, %d partitions" % (err, len(partitions())))

err = grow(5)
if err is None:
    ok("create_partitions %s 2 -> 5" % topic)
else:
    bad("create_partitions 2 -> 5: %s" % err)
md = partitions(wait_for=5)
full = sorted(p.id for p in md.values() if p.leader >= 0 and len(p.isrs) == 3)
if full == [0, 1, 2, 3, 4]:
    ok("5 partitions listed, each with a leader and 3 in-sync replicas")
else:
    bad("partitions with a leader and full ISR: %s of %s" % (full, sorted(md)))

# Records to the new partitions through the Kafka protocol, and back.
delivered = []
prod = Producer({"bootstrap.servers": boot, "acks": "all", "log_level": 4})
for p in (2, 3, 4):
    for i in range(10):
        prod.produce(topic, value=b"%d-%d" % (p, i), partition=p,
                     on_delivery=lambda e, m: delivered.append(e is None))
left = prod.flush(20)
if left == 0 and len(delivered) == 30 and all(delivered):
    ok("30 records produced to partitions 2-4 (acks=all)")
else:
    bad("produce to the new partitions: %d left, %d delivered, errors %d"
        % (left, len(delivered), delivered.count(False)))
cons = Consumer({"bootstrap.servers": boot, "group.id": "create-partitions-check",
                 "enable.auto.commit": False})
cons.assign([TopicPartition(topic, p, 0) for p in (2, 3, 4)])
got = {}
deadline = time.time() + 20
while sum(len(v) for v in got.values()) < 30 and time.time() < deadline:
    m = cons.poll(1.0)
    if m is None or m.error():
        continue
    got.setdefault(m.partition(), []).append(m.value().decode())
cons.close()
want = {p: ["%d-%d" % (p, i) for i in range(10)] for p in (2, 3, 4)}
if got == want:
    ok("the 30 records read back from partitions 2-4, in order")
else:
    bad("read back %s" % got)

expect(grow(3), KafkaError.INVALID_PARTITIONS,
       "Topic currently has 5 partitions, which is higher than the requested 3.",
       "shrinking to 3")
expect(grow(5), KafkaError.INVALID_PARTITIONS, "already has 5 partitions", "the same count")
expect(grow(3, name="no-such-topic"), KafkaError.UNKNOWN_TOPIC_OR_PART, "does not exist",
       "an unknown topic")
expect(grow(6, assignments=[[1, 2, 3]]), KafkaError.INVALID_REPLICA_ASSIGNMENT,
       "not supported", "explicit assignments")


def raw_create_partitions(version, name, count, validate_only):
    """One CreatePartitions request of this version by hand (librdkafka
    sends v0 only; Java sends v3, flexible): (error code, message)."""
    import socket
    import struct

    def uvarint(n):
        out = b""
        while True:
            b, n = n & 0x7F, n >> 7
            out += bytes([b | (0x80 if n else 0)])
            if not n:
                return out

    flexible = version >= 2
    nm = name.encode()
    hdr = struct.pack(">hhih", 37, version, 7, 3) + b"raw"
    if flexible:
        hdr += b"\0"  # no tagged fields
        body = uvarint(2) + uvarint(len(nm) + 1) + nm + struct.pack(">i", count) + uvarint(0) + b"\0"
    else:
        body = struct.pack(">i", 1) + struct.pack(">h", len(nm)) + nm + struct.pack(">ii", count, -1)
    body += struct.pack(">i?", 10000, validate_only) + (b"\0" if flexible else b"")
    msg = hdr + body
    host, port = boot.split(",")[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=20) as so:
        so.sendall(struct.pack(">i", len(msg)) + msg)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
            chunk = so.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed")
            buf += chunk
    r = buf[4:]
    pos = 4 + (1 if flexible else 0) + 4  # correlation id, header tags, throttle

    def varint_at(i):
        n = shift = 0
        while True:
            b = r[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n, i

    if flexible:
        _, pos = varint_at(pos)  # results: one
        ln, pos = varint_at(pos)
        pos += ln - 1
        code = struct.unpack(">h", r[pos:pos + 2])[0]
        ln, pos = varint_at(pos + 2)
        text = r[pos:pos + ln - 1].decode() if ln else None
    else:
        pos += 4
        ln = struct.unpack(">h", r[pos:pos + 2])[0]
        pos += 2 + ln
        code = struct.unpack(">h", r[pos:pos + 2])[0]
        ln = struct.unpack(">h", r[pos + 2:pos + 4])[0]
        text = r[pos + 4:pos + 4 + ln].decode() if ln >= 0 else None
    return code, text


for v in (0, 1, 2, 3):
    try:
        code, text = raw_create_partitions(v, topic, 2, False)
        if code == 37 and text and "currently has 5" in text:
            ok("raw CreatePartitions v%d: INVALID_PARTITIONS (%s)" % (v, text))
        else:
            bad("raw CreatePartitions v%d: error %d %r" % (v, code, text))
        code, text = raw_create_partitions(v, topic, 9, True)
        if code == 0:
            ok("raw CreatePartitions v%d validate_only to 9: accepted" % v)
        else:
            bad("raw CreatePartitions v%d validate_only: error %d %r" % (v, code, text))
    except Exception as e:  # a decoding failure of ours or the broker's
        bad("raw CreatePartitions v%d: %r" % (v, e))

n = len(partitions())
if n == 5:
    ok("after the refusals the topic still has 5 partitions")
else:
    bad("after the refusals the topic has %d partitions" % n)
sys.exit(1 if fails else 0)

"""produce_consume_test's producers and checker.

  pc.py produce-ck BOOT N DIR TOPIC:CODEC...  confluent-kafka, idempotent, acks=all
  pc.py produce-kp BOOT N DIR TOPIC:CODEC...  kafka-python, acks=all
  pc.py kcat-lines N DIR TOPIC...             lines for kcat -P -K '|', and what it must store
  pc.py compare WHO EXPECTED GOT              GOT (pc.js's reading) is exactly EXPECTED
  pc.py check BOOT PARTS DIR TOPIC:CODEC[:idem][:ts=T0-T1]...
      every record of DIR/TOPIC.json read back exactly by a confluent-kafka
      consumer and a kafka-python consumer (assign, from the beginning), and
      by kcat -C; each stored batch compressed with CODEC (with idem: and
      carrying a producer id); records without a timestamp in the JSON must
      have one in [T0, T1] (ms).

The producers write what they sent to DIR/TOPIC.json (nothing when a
record was not acknowledged; check then leaves the topic out). EXPECTED (JSON, in
production order): a list of records {id, key, value,
headers: [[k, v]...], ts, partition, offset}; keys, values and header values
are hex (null for null), ts/partition/offset null when the producer could
not say. Records are matched by id (the value, or the key when the value is
null); per partition the offsets must run 0..n-1 and follow production order.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import kwire  # noqa: E402
from ktlib import bad, check, finish  # noqa: E402


def hx(b):
    return None if b is None else (b.encode() if isinstance(b, str) else bytes(b)).hex()


def make_records(n, now_ms):
    """N records: keys (every 10th null), compressible values with some
    binary bytes, headers (none on every 5th, a repeated key on every 7th),
    timestamps one ms apart from a minute ago; the last one a null value."""
    out = []
    for i in range(n):
        key = None if i % 10 == 3 else b"key-%d" % i
        value = b"value-%06d-" % i + b"abcdefgh" * (i % 40) + bytes([i % 256, 0, 255])
        if i == n - 1:
            value = None
        headers = [] if i % 5 == 0 else [("idx", str(i).encode()), ("bin", bytes([i % 256, 0]))]
        if i % 7 == 0:
            headers += [("dup", b"a"), ("dup", b"b"), ("empty", b"")]
        out.append((key, value, headers, now_ms - 60000 + i))
    return out


def rec(key, value, headers, ts, partition=None, offset=None):
    kid = value if value is not None else key
    return {"id": hx(kid), "key": hx(key), "value": hx(value),
            "headers": [[k, hx(v)] for k, v in headers or []], "ts": ts,
            "partition": partition, "offset": offset}


def produce_ck(boot, n, d, specs):
    """An idempotent confluent-kafka producer per topic:codec of SPECS."""
    from confluent_kafka import Producer
    for topic, codec in specs:
        p = Producer({"bootstrap.servers": boot, "enable.idempotence": True, "acks": "all",
                      "compression.type": codec, "linger.ms": 20, "batch.num.messages": 40,
                      "message.timeout.ms": 30000})
        recs = make_records(n, int(time.time() * 1000))
        got = [None] * n
        errors = []

        def dr(i):
            def cb(err, m):
                if err is not None:
                    errors.append("record %d: %s" % (i, err))
                else:
                    got[i] = (m.partition(), m.offset())
            return cb
        for i, (k, v, h, ts) in enumerate(recs):
            p.produce(topic, value=v, key=k, headers=h, timestamp=ts, on_delivery=dr(i))
            p.poll(0)
        left = p.flush(30)
        if not check(left == 0 and not errors and None not in got,
                     "confluent-kafka (idempotent, acks=all, %s): %d records delivered to %s" % (codec, n, topic),
                     "%d not delivered, errors %s" % (got.count(None), errors[:3])):
            continue
        json.dump([rec(k, v, h, ts, *(got[i] or (None, None))) for i, (k, v, h, ts) in enumerate(recs)],
                  open("%s/%s.json" % (d, topic), "w"))


def produce_kp(boot, n, d, specs):
    """A kafka-python producer (acks=all) per topic:codec of SPECS."""
    from kafka import KafkaProducer
    for topic, codec in specs:
        p = KafkaProducer(bootstrap_servers=boot.split(","), acks="all",
                          compression_type=None if codec == "none" else codec, linger_ms=20,
                          batch_size=4096, request_timeout_ms=15000, client_id="strata-kafka-test")
        recs = make_records(n, int(time.time() * 1000))
        futs = [p.send(topic, value=v, key=k, headers=h, timestamp_ms=ts) for k, v, h, ts in recs]
        p.flush(30)
        got, errors = [], []
        for i, f in enumerate(futs):
            try:
                md = f.get(timeout=1)
                got.append((md.partition, md.offset))
            except Exception as e:  # noqa: BLE001
                got.append((None, None))
                errors.append("record %d: %s" % (i, short(e)))
        p.close(5)
        if not check(not errors, "kafka-python (acks=all, %s): %d records delivered to %s" % (codec, n, topic),
                     "%d errors, first %s" % (len(errors), errors[:2])):
            continue
        json.dump([rec(k, v, h, ts, *got[i]) for i, (k, v, h, ts) in enumerate(recs)],
                  open("%s/%s.json" % (d, topic), "w"))


def kcat_lines(n, d, topics):
    """For kcat -P -K '|' -H h1=v1 -H h2=x=y: DIR/TOPIC.lines (key|value)
    and what kcat must store, DIR/TOPIC.json."""
    hs = [("h1", b"v1"), ("h2", b"x=y")]
    for topic in topics:
        with open("%s/%s.lines" % (d, topic), "w") as f:
            for i in range(n):
                f.write("kcat-key-%d|kcat-value-%d %s\n" % (i, i, "z" * (i % 50)))
        json.dump([rec(b"kcat-key-%d" % i, b"kcat-value-%d %s" % (i, b"z" * (i % 50)), hs, None)
                   for i in range(n)], open("%s/%s.json" % (d, topic), "w"))


def short(e, n=300):
    s = repr(e)
    return s if len(s) <= n else s[:n] + "..."


def consume_ck(boot, topics, parts, n):
    """Every record of TOPICS (PARTS partitions each) through one
    confluent-kafka consumer (assign, from the beginning), N per topic:
    ({topic: [record]}, errors)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": boot, "group.id": "strata-kafka-test-unused",
                  "enable.auto.commit": False, "enable.partition.eof": False})
    c.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(parts)])
    out, errors, deadline = {t: [] for t in topics}, [], time.time() + 20
    total = n * len(topics)

    def take(ms):
        for m in ms:
            if m.error():
                errors.append(str(m.error()))
                continue
            tt, ts = m.timestamp()
            out[m.topic()].append(dict(rec(m.key(), m.value(), m.headers(), ts, m.partition(), m.offset()),
                                       tstype="create" if tt == 1 else tt))
    while sum(map(len, out.values())) < total and time.time() < deadline:
        take(c.consume(num_messages=1000, timeout=0.5))
    take(c.consume(num_messages=1000, timeout=0.3))  # more than N shows as a duplicate
    c.close()
    return out, errors


def consume_kp(boot, topics, parts, n):
    """The same through one kafka-python consumer (assign, seek_to_beginning)."""
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=boot.split(","), group_id=None, enable_auto_commit=False,
                      client_id="strata-kafka-test", request_timeout_ms=15000)
    tps = [TopicPartition(t, p) for t in topics for p in range(parts)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    out, deadline = {t: [] for t in topics}, time.time() + 20
    total = n * len(topics)

    def take(polled):
        for tp, ms in polled.items():
            for m in ms:
                out[tp.topic].append(dict(rec(m.key, m.value, m.headers, m.timestamp, m.partition, m.offset),
                                          tstype="create" if m.timestamp_type == 0 else m.timestamp_type))
    while sum(map(len, out.values())) < total and time.time() < deadline:
        take(c.poll(timeout_ms=500, max_records=2000))
    take(c.poll(timeout_ms=300))
    c.close()
    return out, []


def consume_kcat(boot, topics, parts, n):
    """The same through kcat -C -J, one run per topic. kcat writes the bytes
    of keys and values >= 0x80 as they are and escapes the others, so the
    JSON is read as latin-1 (one char per byte), split at newlines alone
    (str.splitlines also splits at 0x1c-0x1e and 0x85)."""
    out, errors = {}, []
    for t in topics:
        r = subprocess.run(["kcat", "-C", "-b", boot, "-t", t, "-o", "beginning", "-e", "-J", "-q"],
                           capture_output=True, timeout=30)
        if r.returncode:
            errors.append("%s: %s" % (t, r.stderr.decode("latin-1").strip()[:300]))
        out[t] = []
        for line in r.stdout.decode("latin-1").split("\n"):
            if not line:
                continue
            j = json.loads(line)
            hs = [x.encode("latin-1") if x is not None else None for x in j.get("headers") or []]
            headers = [(hs[i].decode(), hs[i + 1]) for i in range(0, len(hs), 2)]
            enc = (lambda x: None if x is None else x.encode("latin-1"))
            out[t].append(dict(rec(enc(j["key"]), enc(j["payload"]), headers, j["ts"], j["partition"],
                                   j["offset"]), tstype=j.get("tstype")))
    return out, errors


def compare(who, want, got, errors, t0, t1):
    """Exactly WANT, read back as GOT: see the module's doc."""
    if errors:
        bad("%s: errors while consuming: %s" % (who, errors[:3]))
        return
    byid = {w["id"]: (i, w) for i, w in enumerate(want)}
    problems = []
    seen = set()
    per_part = {}
    for g in got:
        if g["id"] not in byid:
            problems.append("unexpected record %s" % g)
            continue
        if g["id"] in seen:
            problems.append("record %s read twice" % g["id"])
            continue
        seen.add(g["id"])
        i, w = byid[g["id"]]
        for f in ("key", "value", "headers"):
            if g[f] != w[f]:
                problems.append("record %d: %s %s, want %s" % (i, f, g[f], w[f]))
        if w["ts"] is not None and g["ts"] != w["ts"]:
            problems.append("record %d: timestamp %s, want %s" % (i, g["ts"], w["ts"]))
        if w["ts"] is None and not (t0 <= g["ts"] <= t1):
            problems.append("record %d: timestamp %s not in [%d, %d]" % (i, g["ts"], t0, t1))
        if g.get("tstype", "create") != "create":
            problems.append("record %d: timestamp type %s, want CreateTime" % (i, g.get("tstype")))
        for f in ("partition", "offset"):
            if w[f] is not None and g[f] != w[f]:
                problems.append("record %d: %s %s, producer said %s" % (i, f, g[f], w[f]))
        per_part.setdefault(g["partition"], []).append((g["offset"], i))
    missing = [i for i, w in enumerate(want) if w["id"] not in seen]
    if missing:
        problems.append("%d records not read, first %s" % (len(missing), missing[:5]))
    for p, v in sorted(per_part.items()):
        v.sort()
        if [o for o, _ in v] != list(range(len(v))):
            problems.append("partition %d: offsets %s... not 0..%d" % (p, [o for o, _ in v][:8], len(v) - 1))
        idx = [i for _, i in v]
        if idx != sorted(idx):
            problems.append("partition %d: records out of production order" % p)
    check(not problems, "%s: %d records read back exactly (key, value, headers, timestamp, offsets 0..n-1 "
          "per partition in order)" % (who, len(want)), "; ".join(problems[:6]))


def check_batches(boot, topic, codec, parts, n, idempotent):
    """The stored batches as Fetch v4 returns them: magic 2, compressed
    with CODEC, N records in all; an idempotent producer's carry its
    producer id. A client may send a batch that would not shrink
    uncompressed (librdkafka does), but not all of them: librdkafka sends
    every batch uncompressed, silently, to a broker whose advertised Produce
    versions do not start at 0."""
    total, problems, compressed = 0, [], 0
    for p in range(parts):
        try:
            bs = kwire.read_partition(boot, topic, p)
        except Exception as e:  # noqa: BLE001
            problems.append("partition %d: %r" % (p, e))
            continue
        total += sum(b["count"] for b in bs)
        compressed += sum(b["codec"] == codec for b in bs)
        for b in bs:
            if b["magic"] != 2 or b["codec"] not in (codec, "none") or (idempotent and b["producer_id"] < 0):
                problems.append("partition %d batch at %d: magic %d, codec %s, producer id %d" %
                                (p, b["base_offset"], b["magic"], b["codec"], b["producer_id"]))
                break
    if total != n:
        problems.append("%d records in the batches, want %d" % (total, n))
    if not compressed:
        problems.append("no batch is compressed with %s" % codec)
    check(not problems, "%s: every stored batch is RecordBatch v2%s%s" %
          (topic, " (%d compressed with %s, the others not at all)" % (compressed, codec) if codec != "none" else "",
           ", with a producer id" if idempotent else ""), "; ".join(problems[:4]))


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd in ("produce-ck", "produce-kp"):
        specs = [tuple(x.split(":")) for x in a[3:]]
        (produce_ck if cmd == "produce-ck" else produce_kp)(a[0], int(a[1]), a[2], specs)
    elif cmd == "kcat-lines":
        kcat_lines(int(a[0]), a[1], a[2:])
    elif cmd == "compare":
        compare(a[0], json.load(open(a[1])), json.load(open(a[2])), [], 0, 0)
    elif cmd == "check":
        boot, parts, d = a[0], int(a[1]), a[2]
        specs = []
        for x in a[3:]:
            f = x.split(":")
            ts = [y[3:].split("-") for y in f[2:] if y.startswith("ts=")]
            specs.append((f[0], f[1], "idem" in f[2:], tuple(map(int, ts[0])) if ts else (0, 0)))
        # A topic whose producer failed (it said so) has nothing to check.
        specs = [x for x in specs if os.path.exists("%s/%s.json" % (d, x[0]))]
        if not specs:
            finish()
        want = {t: json.load(open("%s/%s.json" % (d, t))) for t, _, _, _ in specs}
        topics = [t for t, _, _, _ in specs]
        for who, fn in (("confluent-kafka consumer", consume_ck), ("kafka-python consumer", consume_kp),
                        ("kcat -C", consume_kcat)):
            try:
                got, errors = fn(boot, topics, parts, len(want[topics[0]]))
            except Exception as e:  # noqa: BLE001
                bad("%s reading %d topics: %s" % (who, len(topics), short(e)))
                continue
            for t, _, _, (t0, t1) in specs:
                compare("%s reads %s" % (who, t), want[t], got[t], errors, t0, t1)
        for t, codec, idem, _ in specs:
            check_batches(boot, t, codec, parts, len(want[t]), idem)
    else:
        sys.exit("unknown command " + cmd)
    finish()


main()

"""interop_test's Kafka side.

  interop.py read BOOT TOPIC NATIVE
      NATIVE is `strata consume -p 0 --from-beginning --print-offset
      --print-timestamp --print-key --print-headers` of TOPIC (lines
      "0:OFFSET<TAB>TS<TAB>KEY<TAB>K=V,K=V<TAB>VALUE"); a confluent-kafka
      consumer and a kafka-python consumer (assign partition 0, from the
      beginning) must read exactly those records: offset, timestamp
      (CreateTime), key, headers in order, value.
  interop.py write BOOT TOPIC N OUT
      an idempotent confluent-kafka producer writes N records to partition 0
      of TOPIC uncompressed, then N zstd-compressed, with keys, two headers
      and explicit timestamps; OUT gets the lines strata consume (same
      flags) must print for them, offsets from the delivery reports.
"""
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from ktlib import bad, check, finish  # noqa: E402


def native_lines(path):
    out = []
    for line in open(path, "rb").read().decode().split("\n"):
        if not line:
            continue
        po, ts, key, hs, value = line.split("\t", 4)
        part, off = po.split(":")
        headers = [tuple(h.split("=", 1)) for h in hs.split(",")] if hs else []
        out.append((int(part), int(off), int(ts), key, headers, value))
    return out


def read(boot, topic, native):
    want = native_lines(native)
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": boot, "group.id": "strata-kafka-test-unused", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got, errors, deadline = [], [], time.time() + 20
    while len(got) < len(want) and time.time() < deadline:
        for m in c.consume(num_messages=1000, timeout=0.5):
            if m.error():
                errors.append(str(m.error()))
                continue
            tt, ts = m.timestamp()
            got.append((m.partition(), m.offset(), ts if tt == 1 else ("type", tt, ts), m.key().decode(),
                        [(k, v.decode()) for k, v in m.headers() or []], m.value().decode()))
    c.close()
    diff = [(i, w, g) for i, (w, g) in enumerate(zip(want, got)) if w != g]
    check(not errors and got == want, "confluent-kafka reads the %d records strata produce wrote to %s "
          "as strata consume prints them (offset, timestamp, key, headers, value)" % (len(want), topic),
          "read %d; errors %s; first differences (index, native, kafka) %s" % (len(got), errors[:2], diff[:2]))

    from kafka import KafkaConsumer, TopicPartition as KTP
    kc = KafkaConsumer(bootstrap_servers=boot.split(","), group_id=None, enable_auto_commit=False,
                       client_id="strata-kafka-test")
    kc.assign([KTP(topic, 0)])
    kc.seek_to_beginning()
    got, deadline = [], time.time() + 20
    while len(got) < len(want) and time.time() < deadline:
        for _, ms in kc.poll(timeout_ms=500).items():
            got += [(m.partition, m.offset, m.timestamp if m.timestamp_type == 0 else ("type", m.timestamp_type),
                     m.key.decode(), [(k, v.decode()) for k, v in m.headers], m.value.decode()) for m in ms]
    kc.close()
    diff = [(i, w, g) for i, (w, g) in enumerate(zip(want, got)) if w != g]
    check(got == want, "kafka-python reads them the same", "read %d; first differences %s" % (len(got), diff[:2]))


def write(boot, topic, n, out):
    from confluent_kafka import Producer
    now = int(time.time() * 1000)
    lines = []
    for codec in ("none", "zstd"):
        p = Producer({"bootstrap.servers": boot, "enable.idempotence": True, "acks": "all",
                      "compression.type": codec, "linger.ms": 10})
        got, errors = {}, []
        for i in range(n):
            key, value = "ck-key-%s-%d" % (codec, i), "ck-value-%s-%d %s" % (codec, i, "w" * (i % 30))
            hs = [("from", b"confluent"), ("codec", codec.encode())]
            ts = now - 30000 + len(lines) + i

            def dr(err, m, i=i, key=key, value=value, ts=ts):
                if err:
                    errors.append(str(err))
                else:
                    got[i] = "%d:%d\t%d\t%s\tfrom=confluent,codec=%s\t%s" % (m.partition(), m.offset(), ts, key,
                                                                           codec, value)
            p.produce(topic, value=value, key=key, headers=hs, partition=0, timestamp=ts, on_delivery=dr)
            p.poll(0)
        p.flush(30)
        if not check(len(got) == n and not errors, "confluent-kafka (%s): %d records to %s-0" % (codec, n, topic),
                     "%d acknowledged, errors %s" % (len(got), errors[:3])):
            finish()
        lines += [got[i] for i in range(n)]
    with open(out, "w") as f:
        f.write("".join(x + "\n" for x in sorted(lines, key=lambda x: int(x.split("\t")[0].split(":")[1]))))


if __name__ == "__main__":
    a = sys.argv[2:]
    if sys.argv[1] == "read":
        read(*a)
    elif sys.argv[1] == "write":
        write(a[0], a[1], int(a[2]), a[3])
    else:
        bad("unknown command %s" % sys.argv[1])
    finish()

"""leader_kill_test's driver: an idempotent confluent-kafka producer
(enable.idempotence, acks=all) writes the numbers 0..N-1 to partition 0 of
TOPIC at about 1000 records/s; a quarter of the way in, KILL (a shell
command, {id} = the partition's leader) kill -9s the leader, and once
another broker leads the partition RESTART starts it again. Every record must be acknowledged, value i
at offset i, and a consumer must then read exactly 0..N-1 in order, each
once, at offsets 0..N-1.

usage: lk.py BOOT TOPIC N KILL RESTART
"""
import subprocess
import sys
import threading
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from ktlib import bad, check, finish, ok, wait_topic  # noqa: E402

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402

boot, topic, n, kill_cmd, restart_cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]


def leader(not_=None, timeout=15):
    """The leader of TOPIC-0 (not NOT_) as Metadata says; a broker may learn
    of a new topic or a new leader a moment after another one."""
    a = AdminClient({"bootstrap.servers": boot})
    deadline, seen = time.time() + timeout, None
    while time.time() < deadline:
        try:
            p = a.list_topics(topic=topic, timeout=5).topics[topic].partitions.get(0)
            seen = p.leader if p else None
            if seen is not None and seen >= 0 and seen != not_:
                return seen
        except Exception as e:  # noqa: BLE001
            seen = repr(e)
        time.sleep(0.2)
    raise RuntimeError("no leader for %s-0 in %d s: %s" % (topic, timeout, seen))


try:
    lead = leader()
except RuntimeError as e:
    bad(str(e))
    finish()
ok("%s-0: leader is broker %d" % (topic, lead))
p = Producer({"bootstrap.servers": boot, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
              "log_level": 2,  # the refused connections to the killed broker are expected
              "message.timeout.ms": 60000, "retry.backoff.ms": 100})
acked, errors = {}, []


def dr(err, m):
    if err is not None:
        errors.append("%s: %s" % (m.value(), err))
    else:
        acked[int(m.value())] = m.offset()


def run(cmd):
    r = subprocess.run(cmd.replace("{id}", str(lead)), shell=True, capture_output=True, text=True, timeout=60)
    if r.returncode:
        bad("%s: exit %d: %s" % (cmd, r.returncode, (r.stdout + r.stderr).strip()[-300:]))


def fault():
    run(kill_cmd)
    ok("killed -9 broker %d, the leader, after %d of %d records were acknowledged" % (lead, len(acked), n))
    # Another broker takes over while it is down (Kafka may hand the
    # leadership back to it, the preferred replica, once it is back).
    try:
        ok("broker %d took over the partition" % leader(not_=lead, timeout=30))
    except RuntimeError as e:
        bad("while broker %d was down: %s" % (lead, e))
    time.sleep(0.5)
    run(restart_cmd)
    ok("restarted broker %d" % lead)


t = None
t0 = time.time()
for i in range(n):
    while True:
        try:
            p.produce(topic, value=str(i).encode(), partition=0, on_delivery=dr)
            break
        except BufferError:
            p.poll(0.05)
    if i % 50 == 49:
        p.poll(0)
        time.sleep(max(0.0, t0 + (i + 1) / 1000.0 - time.time()))
    if t is None and len(acked) >= n // 4:
        t = threading.Thread(target=fault)
        t.start()
left = p.flush(60)
if t is not None:
    t.join()
else:
    bad("the leader was never killed: only %d acknowledged while producing" % len(acked))
check(left == 0 and not errors and len(acked) == n,
      "all %d records acknowledged in %.1f s" % (n, time.time() - t0),
      "%d in flight, %d acknowledged, errors %s" % (left, len(acked), errors[:3]))
wrong = [(i, acked.get(i)) for i in range(n) if acked.get(i) != i]
check(not wrong, "the producer saw record i at offset i, for every i",
      "%d differ, first (value, offset) %s" % (len(wrong), wrong[:5]))

c = Consumer({"bootstrap.servers": boot, "group.id": "strata-kafka-test-unused", "enable.auto.commit": False})
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
got, deadline = [], time.time() + 30
while len(got) < n and time.time() < deadline:
    for m in c.consume(num_messages=1000, timeout=0.5):
        if m.error():
            errors.append(str(m.error()))
        else:
            got.append((int(m.value()), m.offset()))
got += [(int(m.value()), m.offset()) for m in c.consume(num_messages=100, timeout=0.5) if not m.error()]
c.close()
check([v for v, _ in got] == list(range(n)) and [o for _, o in got] == list(range(n)),
      "a consumer reads 0..%d exactly once each, in order, at offsets 0..%d" % (n - 1, n - 1),
      "read %d records; first differences %s; errors %s" %
      (len(got), [(k, x) for k, x in enumerate(got) if x != (k, k)][:5], errors[:3]))
seen = wait_topic(boot, topic, 1, 3, timeout=20)
check(seen is None, "broker %d is back in the ISR" % lead, str(seen))
finish()

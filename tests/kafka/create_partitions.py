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


admin = AdminClient({"bootstrap.servers": boot})


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
prod = Producer({"bootstrap.servers": boot, "acks": "all"})
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
n = len(partitions())
if n == 5:
    ok("after the refusals the topic still has 5 partitions")
else:
    bad("after the refusals the topic has %d partitions" % n)
sys.exit(1 if fails else 0)

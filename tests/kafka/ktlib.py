"""Shared by the tests/kafka Python helpers: the ok/FAIL lines the shell
tests count, and waits on cluster metadata through confluent-kafka.
Run with Debian's /usr/bin/python3 (python3-confluent-kafka, python3-kafka)."""
import sys
import time

fails = 0


def ok(msg):
    print("ok   " + msg, flush=True)


def bad(msg):
    global fails
    fails += 1
    print("FAIL " + msg, flush=True)


def check(cond, msg, detail=""):
    """ok MSG when COND, else FAIL MSG: DETAIL."""
    if cond:
        ok(msg)
    else:
        bad(msg + (": " + detail if detail else ""))
    return cond


def finish():
    sys.exit(1 if fails else 0)


def admin(bootstrap):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def wait_topic(bootstrap, topic, partitions, rf, timeout=20.0, full_isr=True):
    """Waits until every broker's Metadata shows TOPIC with PARTITIONS
    partitions, each with a leader and RF replicas (and, with FULL_ISR, RF
    in sync): a broker may learn of a topic a moment after another one.
    Returns None, or what was last seen when it timed out."""
    import kwire
    a = admin(bootstrap)
    deadline = time.time() + timeout
    seen = "no answer"

    def good(parts):
        return len(parts) == partitions and all(
            leader >= 0 and len(replicas) == rf and (not full_isr or len(isr) == rf)
            for leader, replicas, isr in parts.values())
    while time.time() < deadline:
        try:
            md = a.list_topics(topic=topic, timeout=5)
            t = md.topics.get(topic)
            if t is None or t.error is not None:
                seen = "topic error %s" % (t.error if t else "missing")
            else:
                seen = {p: (m.leader, m.replicas, m.isrs) for p, m in t.partitions.items()}
                if good(seen):
                    for b in md.brokers.values():
                        c = kwire.Conn(b.host, b.port)
                        try:
                            _, _, ts = kwire.metadata(c, [topic])
                        finally:
                            c.close()
                        err, ps = ts.get(topic, (-1, {}))
                        seen = "broker %d: error %d, %s" % (b.id, err, ps)
                        if err or not good({p: v[1:] for p, v in ps.items() if not v[0]}):
                            break
                    else:
                        return None
        except Exception as e:  # noqa: BLE001 - any failure: try again until the deadline
            seen = repr(e)
        time.sleep(0.2)
    return seen


def create_topics(bootstrap, specs, timeout=20.0):
    """Creates topics [(name, partitions, configs or None)] with replication
    factor 3 through confluent-kafka's AdminClient and waits until each is
    fully in sync; FAILs and exits when that does not happen."""
    from confluent_kafka.admin import NewTopic
    a = admin(bootstrap)
    fs = a.create_topics([NewTopic(n, p, 3, config=c or {}) for n, p, c in specs],
                         operation_timeout=15, request_timeout=20)
    for name, f in fs.items():
        try:
            f.result(timeout=timeout)
        except Exception as e:  # noqa: BLE001
            bad("create topic %s: %s" % (name, e))
            finish()
    for name, p, _ in specs:
        seen = wait_topic(bootstrap, name, p, 3, timeout)
        if seen is not None:
            bad("topic %s: not %d partitions with 3 replicas in sync after %gs: %s" %
                (name, p, timeout, seen))
            finish()


def end_offsets(bootstrap, topic, partitions):
    """{partition: high watermark} through a confluent-kafka consumer."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "strata-kafka-test-watermarks",
                  "enable.auto.commit": False})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)}
    finally:
        c.close()

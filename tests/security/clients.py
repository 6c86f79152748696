"""Real Kafka clients over SASL_SSL against the secure cluster; prints ok/FAIL.

usage: clients.py CASE BOOTSTRAP CA USER PASSWORD TOPIC [GROUP]
(PASSWORD "-": the environment variable SEC_PW)
  confluent  confluent-kafka-python (librdkafka), SCRAM-SHA-512: produce 100
             records, consume them back in group GROUP and commit
  kafkapy    kafka-python, SCRAM-SHA-256: the same
  deny-write confluent-kafka: producing to TOPIC must fail with
             TOPIC_AUTHORIZATION_FAILED
  deny-group confluent-kafka: consuming TOPIC in GROUP (no READ on the
             group) must fail with GROUP_AUTHORIZATION_FAILED, and a commit too
  end        print TOPIC partition 0's high watermark (as USER)
  wrong-auth confluent-kafka with these credentials: must fail to
             authenticate (the error names authentication)
Run with Debian's /usr/bin/python3.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kafka"))
from ktlib import bad, check, finish, ok  # noqa: E402

case, boot, ca, user, pw, topic = sys.argv[1:7]
if pw == "-":  # from the environment: argv shows in ps and in failure messages
    pw = os.environ["SEC_PW"]
group = sys.argv[7] if len(sys.argv) > 7 else "sec-group"
N = 100


def conf(mech="SCRAM-SHA-512", **extra):
    c = {"bootstrap.servers": boot, "security.protocol": "SASL_SSL", "ssl.ca.location": ca,
         "sasl.mechanisms": mech, "sasl.username": user, "sasl.password": pw,
         "socket.timeout.ms": 10000}
    c.update(extra)
    return c


def confluent():
    from confluent_kafka import Consumer, Producer
    p = Producer(conf(**{"enable.idempotence": True, "acks": "all"}))
    errs = []
    for i in range(N):
        p.produce(topic, key=b"k%d" % i, value=b"confluent-%d" % i,
                  on_delivery=lambda e, m: errs.append(e) if e else None)
    left = p.flush(30)
    check(left == 0 and not errs, "confluent-kafka SCRAM-SHA-512 over TLS: %d records acknowledged" % N,
          "%d left, errors %s" % (left, errs[:3]))
    c = Consumer(conf(**{"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    c.subscribe([topic])
    got = []
    deadline = time.time() + 40
    while time.time() < deadline and len([v for v in got if v.startswith(b"confluent-")]) < N:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            bad("confluent-kafka consumer: %s" % m.error())
            break
        got.append(m.value())
    mine = [v for v in got if v.startswith(b"confluent-")]
    check(sorted(mine) == sorted(b"confluent-%d" % i for i in range(N)),
          "confluent-kafka consumer (group %s) reads the %d records back" % (group, N),
          "read %d of them" % len(mine))
    try:
        c.commit(asynchronous=False)
        ok("confluent-kafka commits the group's offsets")
    except Exception as e:
        bad("confluent-kafka commit: %s" % e)
    c.close()


def kafkapy():
    from kafka import KafkaConsumer, KafkaProducer
    kw = dict(bootstrap_servers=boot.split(","), security_protocol="SASL_SSL", ssl_cafile=ca,
              ssl_check_hostname=True, sasl_mechanism="SCRAM-SHA-256", sasl_plain_username=user,
              sasl_plain_password=pw, request_timeout_ms=20000, api_version_auto_timeout_ms=10000)
    try:
        p = KafkaProducer(acks="all", **kw)
        futs = [p.send(topic, key=b"k%d" % i, value=b"kafkapy-%d" % i) for i in range(N)]
        p.flush(30)
        done = [f.get(timeout=10) for f in futs]
        ok("kafka-python SCRAM-SHA-256 over TLS: %d records acknowledged" % len(done))
        p.close()
    except Exception as e:
        bad("kafka-python producer: %r" % e)
        return
    try:
        c = KafkaConsumer(topic, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                          consumer_timeout_ms=20000, **kw)
        got = []
        for m in c:
            if m.value.startswith(b"kafkapy-"):
                got.append(m.value)
            if len(got) >= N:
                break
        check(sorted(got) == sorted(b"kafkapy-%d" % i for i in range(N)),
              "kafka-python consumer (group %s) reads the %d records back" % (group, N),
              "read %d" % len(got))
        c.commit()
        ok("kafka-python commits the group's offsets")
        c.close()
    except Exception as e:
        bad("kafka-python consumer: %r" % e)


def deny_write():
    from confluent_kafka import KafkaError, Producer
    p = Producer(conf(**{"acks": "all", "message.timeout.ms": 15000, "enable.idempotence": False}))
    errs = []
    for i in range(5):
        p.produce(topic, value=b"denied-%d" % i, on_delivery=lambda e, m: errs.append(e))
    p.flush(20)
    codes = {e.code() if e else 0 for e in errs}
    check(codes == {KafkaError.TOPIC_AUTHORIZATION_FAILED},
          "confluent-kafka produce as %s to %s: TOPIC_AUTHORIZATION_FAILED" % (user, topic),
          "delivery results %s" % [str(e) for e in errs[:3]])


def deny_group():
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
    c = Consumer(conf(**{"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    c.subscribe([topic])
    seen = None
    deadline = time.time() + 20
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error():
            seen = m.error()
            break
        if m is not None:
            bad("consumer of group %s without READ on it received a record" % group)
            break
    check(seen is not None and seen.code() == KafkaError.GROUP_AUTHORIZATION_FAILED,
          "consumer as %s in group %s (no READ on the group): GROUP_AUTHORIZATION_FAILED" % (user, group),
          "got %s" % seen)
    c.close()
    c = Consumer(conf(**{"group.id": group, "enable.auto.commit": False}))
    try:
        c.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
        bad("commit as %s in group %s succeeded" % (user, group))
    except KafkaException as e:
        code = e.args[0].code()
        check(code == KafkaError.GROUP_AUTHORIZATION_FAILED,
              "OffsetCommit as %s in group %s: GROUP_AUTHORIZATION_FAILED" % (user, group), str(e))
    c.close()


def end():
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer(conf(**{"group.id": "sec-watermarks"}))
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    print(hi)
    c.close()


def wrong_auth():
    from confluent_kafka import KafkaError, Producer
    errs = []
    p = Producer(conf(error_cb=lambda e: errs.append(e)))
    deadline = time.time() + 15
    while time.time() < deadline and not any(e.code() == KafkaError._AUTHENTICATION for e in errs):
        p.poll(0.5)
    auth = [e for e in errs if e.code() == KafkaError._AUTHENTICATION]
    check(auth, "confluent-kafka as %s with these credentials: authentication refused (%s)"
          % (user, str(auth[0])[:100] if auth else ""), "errors seen: %s" % [str(e) for e in errs[:3]])


{"confluent": confluent, "kafkapy": kafkapy, "deny-write": deny_write, "deny-group": deny_group,
 "end": end, "wrong-auth": wrong_auth}[case]()
if case != "end":
    finish()

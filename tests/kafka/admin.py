"""admin_test's checks: topics created, described, grown and deleted
through confluent-kafka's AdminClient and kafka-python's KafkaAdminClient,
with the exact errors Kafka gives.

usage: admin.py BOOTSTRAP [SUFFIX]
  SUFFIX: added to every topic name (runs against a long-lived broker)
"""
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from ktlib import bad, check, end_offsets, finish, wait_topic  # noqa: E402

from confluent_kafka import KafkaError, KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic  # noqa: E402

boot = sys.argv[1]
sfx = sys.argv[2] if len(sys.argv) > 2 else ""
a = AdminClient({"bootstrap.servers": boot})


def code_of(f):
    """The Kafka error code a confluent-kafka admin future failed with
    (0 when it succeeded)."""
    try:
        f.result(timeout=30)
        return 0
    except KafkaException as e:
        return e.args[0].code()


def want_code(what, f, code, name):
    got = code_of(f)
    return check(got == code, "%s: %s" % (what, name),
                 "got %s (%d)" % (KafkaError(got).name() if got else "success", got))


def wait_gone(topic, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if topic not in a.list_topics(timeout=10).topics:
            return True
        time.sleep(0.2)
    return False


def produce_one(topic, partition):
    """[(error, partition, offset)] of one record produced to TOPIC-PARTITION."""
    p = Producer({"bootstrap.servers": boot, "acks": "all", "message.timeout.ms": 15000})
    got = []
    p.produce(topic, b"one", partition=partition,
              on_delivery=lambda err, m: got.append((err and str(err), m.partition(), m.offset())))
    p.flush(20)
    return got


def grown(topic, n, what):
    seen = wait_topic(boot, topic, n, 3)
    check(seen is None, "%s: Metadata shows %d partitions with 3 replicas in sync" % (what, n), str(seen))


# ---- confluent-kafka-python 1.7.0 ---------------------------------------------
T = "adm-ck" + sfx
fs = a.create_topics([NewTopic(T, 4, 3, config={"retention.ms": "3600000"})],
                     operation_timeout=15, request_timeout=20)
if want_code("AdminClient.create_topics(%s, 4 partitions, rf 3, retention.ms)" % T, fs[T], 0, "created"):
    grown(T, 4, "AdminClient: %s" % T)
    # A broker may learn of a new topic a moment after another one: the
    # first answers may be UNKNOWN_TOPIC_OR_PARTITION (Kafka's too).
    deadline = time.time() + 10
    while True:
        try:
            rs = a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, T)])
            entries = list(rs.values())[0].result(timeout=30)
            v = entries.get("retention.ms")
            check(v is not None and v.value == "3600000",
                  "AdminClient.describe_configs: %s retention.ms=3600000" % T,
                  "got %s" % (v.value if v else "no retention.ms"))
            break
        except KafkaException as e:
            if e.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART and time.time() < deadline:
                time.sleep(0.2)
                continue
            bad("AdminClient.describe_configs(%s): %r" % (T, e))
            break
    fs = a.create_topics([NewTopic(T, 4, 3)], operation_timeout=15, request_timeout=20)
    want_code("AdminClient.create_topics(%s) again" % T, fs[T], KafkaError.TOPIC_ALREADY_EXISTS,
              "TOPIC_ALREADY_EXISTS")
    fs = a.create_partitions([NewPartitions(T, 6)], operation_timeout=15, request_timeout=20)
    if want_code("AdminClient.create_partitions(%s, 6)" % T, fs[T], 0, "grown"):
        grown(T, 6, "AdminClient.create_partitions: %s" % T)
        # The new partition takes records: one to partition 5 lands at offset 0.
        got = produce_one(T, 5)
        check(got == [(None, 5, 0)], "a record produced to new partition %s-5 is at offset 0" % T, str(got))
    fs = a.create_partitions([NewPartitions(T, 3)], operation_timeout=15, request_timeout=20)
    want_code("AdminClient.create_partitions(%s, 3) (fewer)" % T, fs[T], KafkaError.INVALID_PARTITIONS,
              "INVALID_PARTITIONS")
    fs = a.delete_topics([T], operation_timeout=15, request_timeout=20)
    if want_code("AdminClient.delete_topics(%s)" % T, fs[T], 0, "deleted"):
        check(wait_gone(T), "AdminClient: %s is gone from Metadata" % T)
        # The name is free again, and the new topic starts empty.
        deadline, code = time.time() + 15, -1
        while time.time() < deadline:
            code = code_of(a.create_topics([NewTopic(T, 1, 3)], operation_timeout=15,
                                           request_timeout=20)[T])
            if code != KafkaError.TOPIC_ALREADY_EXISTS:
                break
            time.sleep(0.3)
        if check(code == 0, "AdminClient: %s created again after its deletion" % T, "error %d" % code):
            seen = wait_topic(boot, T, 1, 3)
            check(seen is None and end_offsets(boot, T, 1) == {0: 0},
                  "the new %s has 1 partition and no records" % T, str(seen))
            check(produce_one(T, 0) == [(None, 0, 0)],
                  "a record produced to the new %s-0 is at offset 0" % T, str(produce_one(T, 0)))
fs = a.delete_topics(["adm-nope" + sfx], operation_timeout=15, request_timeout=20)
want_code("AdminClient.delete_topics(adm-nope)", fs["adm-nope" + sfx], KafkaError.UNKNOWN_TOPIC_OR_PART,
          "UNKNOWN_TOPIC_OR_PARTITION")
fs = a.create_topics([NewTopic("adm-rf4" + sfx, 1, 4)], operation_timeout=15, request_timeout=20)
want_code("AdminClient.create_topics(adm-rf4, rf 4 on 3 brokers)", fs["adm-rf4" + sfx],
          KafkaError.INVALID_REPLICATION_FACTOR, "INVALID_REPLICATION_FACTOR")
fs = a.create_topics([NewTopic("adm-zero" + sfx, 0, 3)], operation_timeout=15, request_timeout=20)
want_code("AdminClient.create_topics(adm-zero, 0 partitions)", fs["adm-zero" + sfx],
          KafkaError.INVALID_PARTITIONS, "INVALID_PARTITIONS")

# ---- kafka-python 2.0.2 -------------------------------------------------------
import kafka.errors as Errors  # noqa: E402
from kafka.admin import ConfigResource as KConfigResource  # noqa: E402
from kafka.admin import ConfigResourceType, KafkaAdminClient  # noqa: E402
from kafka.admin import NewPartitions as KNewPartitions  # noqa: E402
from kafka.admin import NewTopic as KNewTopic  # noqa: E402


def kp_error(what, fn, want_errno, name):
    """Runs FN; checks it raised the kafka-python error with WANT_ERRNO (or
    nothing, for 0)."""
    try:
        r, got, detail = fn(), 0, "succeeded"
    except Exception as e:  # noqa: BLE001
        r, got = None, getattr(e, "errno", None)
        detail = "%s: %s" % (type(e).__name__, str(e)[:300])
    check(got == want_errno, "%s: %s" % (what, name), detail)
    return r, got == want_errno


K = "adm-kp" + sfx
try:
    ka = KafkaAdminClient(bootstrap_servers=boot.split(","), request_timeout_ms=20000,
                          client_id="strata-kafka-test")
except Exception as e:  # noqa: BLE001
    bad("KafkaAdminClient: %r" % e)
    finish()
_, good = kp_error("KafkaAdminClient.create_topics(%s, 2 partitions, rf 3, retention.ms)" % K,
                   lambda: ka.create_topics([KNewTopic(K, 2, 3, topic_configs={"retention.ms": "7200000"})],
                                            timeout_ms=15000), 0, "created")
if good:
    grown(K, 2, "KafkaAdminClient: %s" % K)
    try:
        r = ka.describe_configs([KConfigResource(ConfigResourceType.TOPIC, K)])[0]
        res = r.resources[0]
        entries = {e[0]: e[1] for e in res[4]}
        check(res[0] == 0 and entries.get("retention.ms") == "7200000",
              "KafkaAdminClient.describe_configs: %s retention.ms=7200000" % K,
              "error %d, retention.ms %s" % (res[0], entries.get("retention.ms")))
    except Exception as e:  # noqa: BLE001
        bad("KafkaAdminClient.describe_configs(%s): %r" % (K, e))
    kp_error("KafkaAdminClient.create_topics(%s) again" % K,
             lambda: ka.create_topics([KNewTopic(K, 2, 3)], timeout_ms=15000),
             Errors.TopicAlreadyExistsError.errno, "TopicAlreadyExistsError (36)")
    _, good = kp_error("KafkaAdminClient.create_partitions(%s, 5)" % K,
                       lambda: ka.create_partitions({K: KNewPartitions(5)}, timeout_ms=15000), 0, "grown")
    if good:
        grown(K, 5, "KafkaAdminClient.create_partitions: %s" % K)
    _, good = kp_error("KafkaAdminClient.delete_topics(%s)" % K,
                       lambda: ka.delete_topics([K], timeout_ms=15000), 0, "deleted")
    if good:
        check(wait_gone(K), "KafkaAdminClient: %s is gone from Metadata" % K)
kp_error("KafkaAdminClient.delete_topics(adm-kp-nope)", lambda: ka.delete_topics(["adm-kp-nope" + sfx], timeout_ms=15000),
         Errors.UnknownTopicOrPartitionError.errno, "UnknownTopicOrPartitionError (3)")
ka.close()
finish()

"""metadata_test's checks: kcat -L, confluent-kafka's AdminClient
list_topics and kafka-python's KafkaAdminClient describe_cluster and
describe_topics each see exactly the expected brokers (id, host, port), a
live controller, and TOPIC's partitions each with a leader among 3 replicas
all in sync; the three clients agree on every leader.

usage: metadata.py BOOTSTRAP BROKERS TOPIC PARTITIONS [NATIVE]
  BROKERS: 1=HOST:PORT,2=HOST:PORT,...
  NATIVE: `strata topic describe TOPIC`'s output; the leaders and the
  replica lists (in order) must be the same on the Kafka port.
"""
import json
import subprocess
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from ktlib import bad, check, finish, ok  # noqa: E402

boot, brokers_arg, topic, nparts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
want = {}
for kv in brokers_arg.split(","):
    i, hp = kv.split("=")
    host, port = hp.rsplit(":", 1)
    want[int(i)] = (host, int(port))
ids = sorted(want)


def check_parts(who, parts):
    """PARTS: {partition: (leader, replicas, isr)}."""
    check(sorted(parts) == list(range(nparts)), "%s: %s has partitions 0..%d" % (who, topic, nparts - 1),
          "got %s" % sorted(parts))
    good = True
    for p, (leader, replicas, isr) in sorted(parts.items()):
        if leader not in want or sorted(replicas) != ids or sorted(isr) != ids:
            good = False
            bad("%s: %s-%d: leader %s replicas %s isr %s, want a leader among %s, replicas and isr %s" %
                (who, topic, p, leader, replicas, isr, ids, ids))
    if good:
        ok("%s: every partition of %s has a leader, replicas %s, isr %s" % (who, topic, ids, ids))
    return {p: v[0] for p, v in parts.items()}


leaders = {}

# kcat -L (librdkafka 2.0.2), as JSON and as text.
r = subprocess.run(["kcat", "-L", "-J", "-b", boot, "-t", topic, "-m", "10"],
                   capture_output=True, text=True, timeout=30)
if check(r.returncode == 0, "kcat -L -J exits 0", "exit %d: %s" % (r.returncode, r.stderr.strip())):
    try:
        md = json.loads(r.stdout)
        got = {}
        for b in md["brokers"]:
            host, port = b["name"].rsplit(":", 1)
            got[b["id"]] = (host, int(port))
        check(got == want, "kcat -L: brokers %s" % want, "got %s" % got)
        ts = [t for t in md["topics"] if t["topic"] == topic]
        if check(len(ts) == 1 and "error" not in ts[0], "kcat -L: topic %s without error" % topic,
                 json.dumps(ts)):
            leaders["kcat"] = check_parts("kcat -L", {
                p["partition"]: (p["leader"], [x["id"] for x in p["replicas"]],
                                 [x["id"] for x in p["isrs"]]) for p in ts[0]["partitions"]})
    except (ValueError, KeyError) as e:
        bad("kcat -L -J: unexpected output (%s): %s" % (e, r.stdout[:500]))
r = subprocess.run(["kcat", "-L", "-b", boot, "-t", topic, "-m", "10"],
                   capture_output=True, text=True, timeout=30)
lines = [ln.strip() for ln in r.stdout.splitlines()]
for i in ids:
    line = "broker %d at %s:%d" % (i, *want[i])
    check(line in lines or line + " (controller)" in lines, "kcat -L prints '%s'" % line, r.stdout)
check(("topic \"%s\" with %d partitions:" % (topic, nparts)) in lines,
      "kcat -L prints topic \"%s\" with %d partitions" % (topic, nparts), r.stdout)

# confluent-kafka-python 1.7.0 (librdkafka 2.0.2): AdminClient.list_topics.
from confluent_kafka.admin import AdminClient  # noqa: E402
from confluent_kafka import KafkaError  # noqa: E402
a = AdminClient({"bootstrap.servers": boot})
try:
    md = a.list_topics(timeout=10)
    got = {b.id: (b.host, b.port) for b in md.brokers.values()}
    check(got == want, "AdminClient.list_topics: brokers %s" % want, "got %s" % got)
    check(md.controller_id in want, "AdminClient.list_topics: controller %d is a live broker" % md.controller_id,
          "brokers %s" % sorted(got))
    t = md.topics.get(topic)
    if check(t is not None and t.error is None, "AdminClient.list_topics lists %s" % topic,
             "topics %s" % sorted(md.topics)):
        leaders["confluent"] = check_parts("AdminClient.list_topics", {
            p: (m.leader, m.replicas, m.isrs) for p, m in t.partitions.items()})
    md = a.list_topics(topic=topic + "-missing", timeout=10)
    t = md.topics.get(topic + "-missing")
    check(t is not None and t.error is not None and t.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART,
          "AdminClient.list_topics(%s-missing): UNKNOWN_TOPIC_OR_PARTITION" % topic,
          "got %s" % (t.error if t else None))
    md = a.list_topics(timeout=10)
    check(topic + "-missing" not in md.topics, "asking for %s-missing did not create it" % topic)
except Exception as e:  # noqa: BLE001
    bad("AdminClient.list_topics: %r" % e)

# kafka-python 2.0.2: KafkaAdminClient.describe_cluster and describe_topics.
from kafka.admin import KafkaAdminClient  # noqa: E402
try:
    ka = KafkaAdminClient(bootstrap_servers=boot.split(","), request_timeout_ms=10000,
                          client_id="strata-kafka-test")
    try:
        c = ka.describe_cluster()
        got = {b["node_id"]: (b["host"], b["port"]) for b in c["brokers"]}
        check(got == want, "KafkaAdminClient.describe_cluster: brokers %s" % want, "got %s" % got)
        check(c["controller_id"] in want,
              "KafkaAdminClient.describe_cluster: controller %s is a live broker" % c["controller_id"],
              "brokers %s" % sorted(got))
        ts = [t for t in ka.describe_topics([topic]) if t["topic"] == topic]
        if check(len(ts) == 1 and ts[0]["error_code"] == 0,
                 "KafkaAdminClient.describe_topics: %s without error" % topic, str(ts)):
            leaders["kafka-python"] = check_parts("KafkaAdminClient.describe_topics", {
                p["partition"]: (p["leader"], p["replicas"], p["isr"]) for p in ts[0]["partitions"]})
    finally:
        ka.close()
except Exception as e:  # noqa: BLE001
    bad("KafkaAdminClient: %r" % e)

if len(sys.argv) > 5:
    native = {}
    for line in open(sys.argv[5]):
        f = dict(kv.split(": ", 1) for kv in line.strip().split("\t") if ": " in kv)
        if "Partition" in f:
            native[int(f["Partition"])] = (int(f["Leader"]), [int(x) for x in f["Replicas"].split(",")])
    kafka = {}
    try:
        t = a.list_topics(topic=topic, timeout=10).topics[topic]
        kafka = {p: (m.leader, m.replicas) for p, m in t.partitions.items()}
    except Exception as e:  # noqa: BLE001
        kafka = repr(e)
    check(native and kafka == native, "leaders and replica lists (in order) as strata topic describe says",
          "Kafka port %s, native %s" % (kafka, native))

vals = list(leaders.values())
check(len(vals) == 3 and all(v == vals[0] for v in vals), "the three clients agree on the leaders",
      str(leaders))
finish()

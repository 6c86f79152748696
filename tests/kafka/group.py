"""group_test's driver and members.

  group.py run BOOT TOPIC PARTITIONS GROUP N DIR
      produces N records (values 0..N-1), starts three member processes of
      GROUP, kill -9s one of them once all three have partitions and it is
      mid-stream, and checks: every record consumed at least once; the two
      others end up owning every partition; after they stop (SIGTERM: commit,
      leave) the group's committed offsets equal the end offsets. Writes the
      end offsets to DIR/end ("partition offset" lines).
  group.py member BOOT TOPIC GROUP OUT
      one confluent-kafka consumer of GROUP (subscribe, eager rebalance,
      offsets stored after each record is written, commits every 50
      records and on revoke), slowed to about
      400 records/s; appends "partition offset value" per record to OUT and
      "assigned p,p,..." at each assignment, flushed before each commit.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ktlib import bad, check, finish, ok  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402

SESSION_MS = 6000  # Kafka's group.min.session.timeout.ms


def member(boot, topic, group, out):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    f = open(out, "a", buffering=1)
    # Offsets are stored by hand once a record is written: with automatic
    # storing, librdkafka 2.0.2's consume() stores the offsets of a batch
    # before the rebalance callback that runs inside it, whose commit then
    # covers records it drops as outdated (never given to the application).
    c = Consumer({"bootstrap.servers": boot, "group.id": group, "enable.auto.commit": False,
                  "enable.auto.offset.store": False,
                  "error_cb": lambda e: f.write("error %s\n" % e),
                  "auto.offset.reset": "earliest", "session.timeout.ms": SESSION_MS,
                  "heartbeat.interval.ms": 500, "partition.assignment.strategy": "range"})

    def commit():
        f.flush()
        try:
            c.commit(asynchronous=False)
        except KafkaException as e:
            if e.args[0].code() != -168:  # _NO_OFFSET: nothing consumed since the last commit
                f.write("commit-error %s\n" % e.args[0])

    def on_assign(cons, parts):
        f.write("assigned %s\n" % ",".join(str(p.partition) for p in parts))

    def on_revoke(cons, parts):
        commit()
        f.write("revoked %s\n" % ",".join(str(p.partition) for p in parts))
    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    n = 0
    while not stop:
        for m in c.consume(num_messages=20, timeout=0.2):
            if m.error():
                f.write("error %s\n" % m.error())
                continue
            f.write("%d %d %s\n" % (m.partition(), m.offset(), m.value().decode()))
            c.store_offsets(message=m)
            n += 1
            time.sleep(0.0025)
            if n % 50 == 0:
                commit()
    commit()
    c.close()
    f.write("closed\n")


def read_member(path):
    """(values seen, last assignment, record count, {partition: count})
    from a member's file."""
    vals, assigned, count, per = set(), [], 0, {}
    try:
        for line in open(path):
            w = line.split()
            if w and w[0] == "assigned":
                assigned = [int(x) for x in w[1].split(",")] if len(w) > 1 else []
            elif len(w) == 3 and w[0].isdigit():
                vals.add(int(w[2]))
                count += 1
                per[int(w[0])] = per.get(int(w[0]), 0) + 1
    except FileNotFoundError:
        pass
    return vals, assigned, count, per


def run(boot, topic, parts, group, n, d):
    p = Producer({"bootstrap.servers": boot, "acks": "all", "enable.idempotence": True, "linger.ms": 10})
    errs = []
    for i in range(n):
        p.produce(topic, value=str(i).encode(), key=b"k%d" % i,
                  on_delivery=lambda err, m: err and errs.append(str(err)))
        p.poll(0)
    left = p.flush(30)
    if not check(left == 0 and not errs, "produced %d records to %s" % (n, topic), "%s" % errs[:3]):
        finish()
    c = Consumer({"bootstrap.servers": boot, "group.id": group, "enable.auto.commit": False})
    end = {q: c.get_watermark_offsets(TopicPartition(topic, q), timeout=10)[1] for q in range(parts)}
    c.close()
    check(sum(end.values()) == n and all(v > 0 for v in end.values()),
          "end offsets %s sum to %d, every partition has records" % (end, n))
    with open(d + "/end", "w") as f:
        for q in sorted(end):
            f.write("%d %d\n" % (q, end[q]))

    outs = ["%s/member-%d" % (d, i) for i in range(3)]
    procs = [subprocess.Popen([sys.executable, __file__, "member", boot, topic, group, o]) for o in outs]
    victim, survivors = 0, [1, 2]
    try:
        # Kill once every member holds partitions and the victim has read
        # some records of its own but not all of them.
        deadline, state = time.time() + 30, None
        while time.time() < deadline:
            state = [read_member(o) for o in outs]
            owned = [s[1] for s in state]
            if all(owned) and sorted(sum(owned, [])) == list(range(parts)) and state[victim][2] >= 100:
                break
            time.sleep(0.05)
        else:
            errs = [ln.strip() for o in outs for ln in open(o) if ln.startswith("error")]
            bad("the three members did not split the %d partitions and start reading within 30 s: "
                "(assigned, read) %s; errors %s" % (parts, [(s[1], s[2]) for s in (state or [])], errs[:3]))
            return
        _, vparts, _, per = state[victim]
        vcount = sum(per.get(q, 0) for q in vparts)
        mine = sum(end[q] for q in vparts)
        procs[victim].kill()
        procs[victim].wait()
        check(vcount < mine, "killed -9 member %d mid-stream: it had read %d of the %d records of its "
              "partitions %s" % (victim, vcount, mine, vparts), "it had read them all before the kill")
        t_kill = time.time()
        deadline = time.time() + 40
        while time.time() < deadline:
            seen = set().union(*[read_member(o)[0] for o in outs])
            took = sorted(sum((read_member(outs[i])[1] for i in survivors), []))
            if len(seen) == n and took == list(range(parts)):
                break
            time.sleep(0.1)
        seen = set().union(*[read_member(o)[0] for o in outs])
        took = sorted(sum((read_member(outs[i])[1] for i in survivors), []))
        check(took == list(range(parts)), "the two other members own all %d partitions after the kill "
              "(%.1f s later)" % (parts, time.time() - t_kill), "they own %s" % took)
        missing = sorted(set(range(n)) - seen)
        if not check(not missing, "every one of the %d records consumed at least once" % n,
                     "%d never consumed, first %s" % (len(missing), missing[:10])):
            reached = {}
            for o in outs:
                for line in open(o):
                    w = line.split()
                    if len(w) == 3 and w[0].isdigit():
                        reached[int(w[0])] = max(reached.get(int(w[0]), -1), int(w[1]))
            bad("per partition the last offset read / the end offset: %s" %
                {q: "%d/%d" % (reached.get(q, -1), end[q]) for q in range(parts)})
        dups = sum(read_member(o)[2] for o in outs) - n
        ok("%d records consumed twice (the victim's uncommitted ones, at least once is allowed)" % dups)
    finally:
        for i in survivors:
            if procs[i].poll() is None:
                procs[i].send_signal(signal.SIGTERM)
        for i in survivors:
            try:
                procs[i].wait(timeout=20)
            except subprocess.TimeoutExpired:
                procs[i].kill()
                bad("member %d did not stop within 20 s of SIGTERM" % i)
        for pr in procs:
            if pr.poll() is None:
                pr.kill()
    for i in survivors:
        errs = [ln.strip() for ln in open(outs[i]) if ln.startswith(("error", "commit-error"))]
        check(not errs and open(outs[i]).read().endswith("closed\n"),
              "member %d: no errors, committed and closed on SIGTERM" % i, str(errs[:3]))
    c = Consumer({"bootstrap.servers": boot, "group.id": group, "enable.auto.commit": False})
    try:
        got = {tp.partition: tp.offset for tp in
               c.committed([TopicPartition(topic, q) for q in range(parts)], timeout=10)}
    except KafkaException as e:
        got = str(e)
    c.close()
    check(got == end, "the group's committed offsets (OffsetFetch) equal the end offsets %s" % end,
          "committed %s" % got)


if __name__ == "__main__":
    a = sys.argv[2:]
    if sys.argv[1] == "member":
        member(*a)
    else:
        run(a[0], a[1], int(a[2]), a[3], int(a[4]), a[5])
        finish()

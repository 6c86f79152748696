package strata.kafkatest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

/**
 * Classic consumer groups (group.protocol=classic: JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup) beyond the basic mode's plain eager group:
 *
 *   cooperative  three CooperativeStickyAssignor consumers on a 6-partition
 *                topic, a fourth joins, one leaves: partitions a member
 *                keeps are never revoked (incremental rebalances), every
 *                record is read, commits end at the end offsets
 *   static       three members with group.instance.id; one closes without
 *                leaving and comes back within session.timeout.ms: the
 *                others see no rebalance, it gets its partitions back
 *   poll-timeout a static member stops polling while a fourth joins; as in
 *                Kafka the join phase ends after the rebalance timeout
 *                (max.poll.interval.ms) with the static member kept and
 *                given partitions, and when it does not SyncGroup within
 *                another rebalance timeout the coordinator drops it and its
 *                partitions move to the others (well before its 30 s
 *                session would end); polling again, it is told they are
 *                lost and rejoins
 *
 * Each consumer runs in its own thread and records what its
 * ConsumerRebalanceListener saw, so the checks read the client's own view.
 */
final class ClassicGroups {
  private static final int PARTITIONS = 6;
  private static final int BATCH = 300;
  private final String bootstrap;
  private final Checks c;
  private final String stamp = Long.toString(System.currentTimeMillis());

  ClassicGroups(String bootstrap, Checks c) {
    this.bootstrap = bootstrap;
    this.c = c;
  }

  /** One listener call: what kind and which partitions. */
  private record Event(String kind, Set<TopicPartition> parts, long atMs) {
    @Override
    public String toString() {
      List<Integer> ps = new ArrayList<>();
      for (TopicPartition tp : parts) ps.add(tp.partition());
      ps.sort(null);
      return kind + ps + "@" + atMs;
    }
  }

  private final long t0 = System.nanoTime();

  private long now() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }

  /** A consumer polling in its own thread; every record goes into seen. */
  private final class Worker implements ConsumerRebalanceListener, Runnable {
    final String name;
    final Properties props;
    final String topic;
    final Map<String, Integer> seen;
    final List<Event> events = new ArrayList<>();
    final Set<TopicPartition> owned = new HashSet<>();
    final AtomicInteger dups;
    volatile boolean stop;
    volatile boolean paused;
    volatile boolean leave = true; /* close() with the default membership operation */
    KafkaConsumer<String, String> k;
    Thread thread;

    Worker(String name, Properties props, String topic, Map<String, Integer> seen, AtomicInteger dups) {
      this.name = name;
      this.props = props;
      this.topic = topic;
      this.seen = seen;
      this.dups = dups;
    }

    Worker start() {
      thread = new Thread(this, name);
      thread.setDaemon(true);
      thread.start();
      return this;
    }

    @Override
    public void run() {
      try {
        k = new KafkaConsumer<>(props);
        k.subscribe(List.of(topic), this);
        while (!stop) {
          if (paused) {
            Thread.sleep(50);
            continue;
          }
          try {
            ConsumerRecords<String, String> recs = k.poll(Duration.ofMillis(100));
            for (ConsumerRecord<String, String> r : recs) {
              if (seen.merge(r.key(), 1, Integer::sum) > 1) dups.incrementAndGet();
              if (!r.value().equals("v" + r.key().substring(1))) c.fail(name + ": record " + r + " mangled");
            }
            if (!recs.isEmpty()) k.commitSync();
          } catch (KafkaException e) {
            // CommitFailed / RebalanceInProgress after a rebalance: the next poll rejoins.
            Checks.note(name + ": " + e);
          }
        }
        if (leave) k.close();
        else k.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.REMAIN_IN_GROUP));
      } catch (Exception e) {
        c.fail(name + ": consumer thread: " + e);
        e.printStackTrace(System.out);
      }
    }

    void close(boolean leaveGroup) throws InterruptedException {
      leave = leaveGroup;
      stop = true;
      thread.join(30000);
    }

    private void event(String kind, Collection<TopicPartition> ps) {
      synchronized (this) {
        events.add(new Event(kind, new HashSet<>(ps), now()));
        if (kind.equals("assigned")) owned.addAll(ps);
        else owned.removeAll(ps);
      }
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> ps) {
      event("revoked", ps);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> ps) {
      event("assigned", ps);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> ps) {
      event("lost", ps);
    }

    synchronized Set<TopicPartition> owned() {
      return new HashSet<>(owned);
    }

    synchronized int eventCount() {
      return events.size();
    }

    /** The partitions of the given kind in events [from, to). */
    synchronized Set<TopicPartition> during(String kind, int from, int to) {
      Set<TopicPartition> s = new HashSet<>();
      for (Event e : events.subList(from, to))
        if (e.kind.equals(kind)) s.addAll(e.parts);
      return s;
    }

    synchronized String history() {
      return name + " " + events;
    }
  }

  private Properties consumer(String id, String group) {
    Properties p = Clients.consumer(bootstrap, id, group);
    p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
    p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1000);
    p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10000);
    return p;
  }

  private void produce(String topic, int from, int n) throws Exception {
    try (KafkaProducer<String, String> p = new KafkaProducer<>(Clients.producer(bootstrap, "pclassic"))) {
      for (int i = from; i < from + n; i++) p.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
      p.flush();
    }
  }

  private static boolean waitFor(java.util.function.BooleanSupplier cond, long seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      if (cond.getAsBoolean()) return true;
      Thread.sleep(50);
    }
    return cond.getAsBoolean();
  }

  /** The workers own every partition, each at least one, none twice. */
  private static boolean spread(List<Worker> ws) {
    Set<TopicPartition> union = new HashSet<>();
    int sum = 0;
    for (Worker w : ws) {
      Set<TopicPartition> o = w.owned();
      if (o.isEmpty()) return false;
      union.addAll(o);
      sum += o.size();
    }
    return union.size() == PARTITIONS && sum == PARTITIONS;
  }

  /** spread(ws) holding for a quiet second (a cooperative rebalance takes two rounds). */
  private boolean settle(List<Worker> ws, String what, long seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      if (waitFor(() -> spread(ws), 1) && !waitFor(() -> !spread(ws), 1)) {
        c.ok(what + ": " + owners(ws));
        return true;
      }
    }
    StringBuilder h = new StringBuilder();
    for (Worker w : ws) h.append("\n     ").append(w.history());
    c.fail(what + ": " + owners(ws) + h);
    return false;
  }

  private static String owners(List<Worker> ws) {
    StringBuilder b = new StringBuilder();
    for (Worker w : ws) {
      List<Integer> ps = new ArrayList<>();
      for (TopicPartition tp : w.owned()) ps.add(tp.partition());
      ps.sort(null);
      b.append(w.name).append('=').append(ps).append(' ');
    }
    return b.toString().trim();
  }

  private void consumed(Map<String, Integer> seen, int total, String what) throws InterruptedException {
    waitFor(() -> seen.size() >= total, 30);
    c.check(seen.size() == total, what + ": every one of " + total + " records read", "read " + seen.size());
  }

  /** The group's committed offsets reach the end offsets (the last commitSync may trail the read). */
  private void commitsAtEnd(Admin admin, String topic, String group) throws Exception {
    List<TopicPartition> tps = Clients.partitions(topic, PARTITIONS);
    Map<TopicPartition, Long> ends = Clients.offsets(admin, tps, OffsetSpec.latest());
    Map<TopicPartition, OffsetAndMetadata> got = Map.of();
    for (int i = 0; i < 50; i++) {
      got = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
          .get(Clients.WAIT_S, TimeUnit.SECONDS);
      boolean good = true;
      for (TopicPartition tp : tps) good &= got.get(tp) != null && got.get(tp).offset() == ends.get(tp);
      if (good) {
        c.ok(group + ": committed offsets equal the end offsets");
        return;
      }
      Thread.sleep(200);
    }
    c.fail(group + ": committed offsets equal the end offsets: " + got + " ends " + ends);
  }

  private String topic(Admin admin, String name) throws Exception {
    String t = "java-classic-" + name + "-" + stamp;
    Clients.createTopic(admin, t, PARTITIONS, (short) 3);
    Clients.awaitTopic(admin, t, PARTITIONS, 3, Duration.ofSeconds(20));
    return t;
  }

  void run() throws Exception {
    try (Admin admin = Clients.admin(bootstrap)) {
      List<String> topics = new ArrayList<>();
      try {
        cooperative(admin, topics);
      } catch (Exception e) {
        c.fail("cooperative part: " + e);
        e.printStackTrace(System.out);
      }
      try {
        staticMembers(admin, topics);
      } catch (Exception e) {
        c.fail("static part: " + e);
        e.printStackTrace(System.out);
      }
      try {
        pollTimeout(admin, topics);
      } catch (Exception e) {
        c.fail("poll-timeout part: " + e);
        e.printStackTrace(System.out);
      }
      admin.deleteTopics(topics).all().get(Clients.WAIT_S, TimeUnit.SECONDS);
    }
  }

  /**
   * Checks that between event marks from and to, each worker that owned a
   * partition before and after never had it revoked or re-assigned: the
   * incremental (KIP-429) promise. Returns how many partitions moved.
   */
  private int incremental(List<Worker> ws, Map<Worker, Set<TopicPartition>> before,
      Map<Worker, Integer> from, String what) {
    int moved = 0;
    boolean good = true;
    StringBuilder why = new StringBuilder();
    for (Worker w : ws) {
      if (!before.containsKey(w)) continue;
      Set<TopicPartition> kept = new HashSet<>(before.get(w));
      kept.retainAll(w.owned());
      moved += before.get(w).size() - kept.size();
      int to = w.eventCount();
      Set<TopicPartition> revoked = w.during("revoked", from.get(w), to);
      revoked.addAll(w.during("lost", from.get(w), to));
      Set<TopicPartition> again = w.during("assigned", from.get(w), to);
      revoked.retainAll(kept);
      again.retainAll(kept);
      if (!revoked.isEmpty() || !again.isEmpty()) {
        good = false;
        why.append(' ').append(w.history());
      }
    }
    c.check(good, what + ": no member had a partition it kept revoked or re-assigned", why.toString());
    return moved;
  }

  private void cooperative(Admin admin, List<String> topics) throws Exception {
    String topic = topic(admin, "coop");
    topics.add(topic);
    String group = topic + "-group";
    Map<String, Integer> seen = new ConcurrentHashMap<>();
    AtomicInteger dups = new AtomicInteger();
    List<Worker> ws = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      Properties p = consumer("coop-" + i, group);
      p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
      ws.add(new Worker("coop-" + i, p, topic, seen, dups));
    }
    List<Worker> live = new ArrayList<>(ws.subList(0, 3));
    for (Worker w : live) w.start();
    if (!settle(live, "cooperative: 3 members share the 6 partitions", 30)) return;
    produce(topic, 0, BATCH);
    consumed(seen, BATCH, "cooperative, 3 members");

    Map<Worker, Set<TopicPartition>> before = new HashMap<>();
    Map<Worker, Integer> mark = new HashMap<>();
    for (Worker w : live) {
      before.put(w, w.owned());
      mark.put(w, w.eventCount());
    }
    live.add(ws.get(3).start());
    if (!settle(live, "cooperative: a 4th member joins, 4 share the 6", 30)) return;
    int moved = incremental(live, before, mark, "cooperative join");
    c.check(moved == ws.get(3).owned().size(), "cooperative join: only the " + moved
        + " partition(s) the new member took were revoked from the others", owners(live));
    produce(topic, BATCH, BATCH);
    consumed(seen, 2 * BATCH, "cooperative, 4 members");

    before.clear();
    mark.clear();
    Worker gone = ws.get(1);
    live.remove(gone);
    for (Worker w : live) {
      before.put(w, w.owned());
      mark.put(w, w.eventCount());
    }
    gone.close(true);
    if (!settle(live, "cooperative: " + gone.name + " leaves, 3 share the 6", 30)) return;
    incremental(live, before, mark, "cooperative leave");
    int revokedAfterLeave = 0;
    for (Worker w : live) revokedAfterLeave += w.during("revoked", mark.get(w), w.eventCount()).size();
    c.check(revokedAfterLeave == 0, "cooperative leave: the others only gained partitions",
        revokedAfterLeave + " revoked");
    produce(topic, 2 * BATCH, BATCH);
    consumed(seen, 3 * BATCH, "cooperative, after the leave");
    commitsAtEnd(admin, topic, group);
    c.check(dups.get() == 0, "cooperative: no record read twice", dups.get() + " duplicates");
    for (Worker w : live) w.close(true);
  }

  private void staticMembers(Admin admin, List<String> topics) throws Exception {
    String topic = topic(admin, "static");
    topics.add(topic);
    String group = topic + "-group";
    Map<String, Integer> seen = new ConcurrentHashMap<>();
    AtomicInteger dups = new AtomicInteger();
    List<Worker> live = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      Properties p = consumer("static-" + i, group);
      p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "instance-" + i + "-" + stamp);
      live.add(new Worker("static-" + i, p, topic, seen, dups).start());
    }
    if (!settle(live, "static: 3 members share the 6 partitions", 30)) return;
    produce(topic, 0, BATCH);
    consumed(seen, BATCH, "static, 3 members");

    Worker one = live.get(0), two = live.get(1), three = live.get(2);
    Set<TopicPartition> had1 = one.owned(), had2 = two.owned(), had3 = three.owned();
    int ev1 = one.eventCount(), ev3 = three.eventCount();
    long t0 = System.nanoTime();
    two.close(false); /* no LeaveGroup: the member stays until session.timeout.ms */
    produce(topic, BATCH, BATCH);
    Thread.sleep(1000);
    Worker back = new Worker("static-2-again", two.props, topic, seen, dups).start();
    live.set(1, back);
    boolean got = waitFor(() -> !back.owned().isEmpty(), 20);
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    c.check(got && back.owned().equals(had2), "static: the restarted instance got its partitions back ("
        + ms + " ms after the close)", "had " + had2 + " now " + back.owned() + " " + back.history());
    consumed(seen, 2 * BATCH, "static, across the restart");
    Thread.sleep(1500); /* a rebalance would reach the others' listeners by now */
    c.check(one.eventCount() == ev1 && three.eventCount() == ev3 && one.owned().equals(had1)
            && three.owned().equals(had3),
        "static: the other two members saw no rebalance", one.history() + " " + three.history());
    produce(topic, 2 * BATCH, BATCH);
    consumed(seen, 3 * BATCH, "static, after the restart");
    commitsAtEnd(admin, topic, group);
    c.check(dups.get() == 0, "static: no record read twice", dups.get() + " duplicates");
    for (Worker w : live) w.close(true);
  }

  private void pollTimeout(Admin admin, List<String> topics) throws Exception {
    String topic = topic(admin, "poll");
    topics.add(topic);
    String group = topic + "-group";
    Map<String, Integer> seen = new ConcurrentHashMap<>();
    AtomicInteger dups = new AtomicInteger();
    List<Worker> live = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      Properties p = consumer("poll-" + i, group);
      // The group's rebalance timeout is the largest member's max.poll.interval.ms.
      p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 6000);
      if (i == 3) {
        // Static, with a long session: it sends no LeaveGroup when its poll
        // timer expires and its session outlasts the test's wait, so only
        // the coordinator's rebalance timeouts (join, then sync) drop it.
        p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "stuck-" + stamp);
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 30000);
      }
      live.add(new Worker("poll-" + i, p, topic, seen, dups));
    }
    Worker stuck = live.get(2), late = live.remove(3);
    for (Worker w : live) w.start();
    if (!settle(live, "poll-timeout: 3 members share the 6 partitions", 30)) return;
    produce(topic, 0, BATCH);
    consumed(seen, BATCH, "poll-timeout, 3 members");

    stuck.paused = true;
    long t0 = System.nanoTime();
    Checks.note("poll-timeout: " + stuck.name + " stops polling at " + now() + " ms");
    late.start();
    List<Worker> others = new ArrayList<>(live);
    others.remove(stuck);
    others.add(late);
    boolean moved = settle(others, "poll-timeout: the stalled member dropped, the other 3 share the 6", 25);
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    Checks.note("the rebalance without the stalled member settled " + ms + " ms after it stopped polling");
    for (Worker w : others) Checks.note(w.history());
    if (!moved) return;
    produce(topic, BATCH, BATCH);
    consumed(seen, 2 * BATCH, "poll-timeout, while one member is stalled");

    int mark = stuck.eventCount();
    stuck.paused = false;
    others.add(stuck);
    if (settle(others, "poll-timeout: the stalled member polls again and rejoins, 4 share the 6", 30)) {
      Set<TopicPartition> gave = stuck.during("lost", mark, stuck.eventCount());
      gave.addAll(stuck.during("revoked", mark, stuck.eventCount()));
      c.check(!gave.isEmpty(), "poll-timeout: the stalled member was told its old partitions are gone",
          stuck.history());
    }
    produce(topic, 2 * BATCH, BATCH);
    consumed(seen, 3 * BATCH, "poll-timeout, after the rejoin");
    commitsAtEnd(admin, topic, group);
    Checks.note("poll-timeout: " + dups.get() + " records read twice");
    for (Worker w : others) w.close(true);
  }
}

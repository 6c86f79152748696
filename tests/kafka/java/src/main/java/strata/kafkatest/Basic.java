package strata.kafkatest;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Parts (a) to (c): the Admin calls (cluster, create, describe, list
 * offsets, delete), an idempotent acks=all producer writing keyed records
 * with headers, and three consumers of one group sharing the topic with
 * synchronous commits.
 */
final class Basic {
  private static final int PARTITIONS = 3;
  private final String bootstrap;
  private final int brokers;
  private final int records;
  private final Checks c;
  private final String topic = "java-test-" + System.currentTimeMillis();
  private final String group = topic + "-group";

  Basic(String bootstrap, int brokers, int records, Checks c) {
    this.bootstrap = bootstrap;
    this.brokers = brokers;
    this.records = records;
    this.c = c;
  }

  void run() throws Exception {
    try (Admin admin = Clients.admin(bootstrap)) {
      cluster(admin);
      create(admin);
      List<TopicPartition> tps = Clients.partitions(topic, PARTITIONS);
      Map<TopicPartition, Long> counts = produce();
      Map<TopicPartition, Long> early = Clients.offsets(admin, tps, OffsetSpec.earliest());
      Map<TopicPartition, Long> late = Clients.offsets(admin, tps, OffsetSpec.latest());
      boolean good = true;
      for (TopicPartition tp : tps)
        good &= early.get(tp) == 0 && late.get(tp).equals(counts.getOrDefault(tp, 0L));
      c.check(good, "listOffsets after produce: earliest 0, latest = records acknowledged per partition",
          "earliest " + early + " latest " + late + " acknowledged " + counts);
      try {
        consumeInGroup(admin, tps, late);
      } catch (Exception e) {
        // Let deleteTopics still be tried when the group part fails.
        c.fail("consumer group part: " + e);
      }
      delete(admin);
    }
  }

  /** describeCluster: every broker, a cluster id, and a controller among the live brokers. */
  private void cluster(Admin admin) throws Exception {
    DescribeClusterResult dc = admin.describeCluster();
    Collection<Node> nodes = dc.nodes().get(Clients.WAIT_S, TimeUnit.SECONDS);
    Node ctl = dc.controller().get(Clients.WAIT_S, TimeUnit.SECONDS);
    String id = dc.clusterId().get(Clients.WAIT_S, TimeUnit.SECONDS);
    Set<Integer> ids = new HashSet<>();
    for (Node n : nodes) ids.add(n.id());
    c.check(nodes.size() == brokers, "describeCluster lists " + brokers + " brokers", "got " + nodes);
    c.check(ctl != null && ids.contains(ctl.id()), "describeCluster: the controller is a live broker",
        "controller " + ctl + ", brokers " + ids);
    c.check(id != null && !id.isEmpty(), "describeCluster: a cluster id", "cluster id " + id);
  }

  private void create(Admin admin) throws Exception {
    Clients.createTopic(admin, topic, PARTITIONS, (short) 3);
    c.ok("createTopics " + topic + " (3 partitions, replication factor 3)");
    TopicDescription d = Clients.awaitTopic(admin, topic, PARTITIONS, 3, Duration.ofSeconds(20));
    boolean good = d != null && d.partitions().size() == PARTITIONS;
    StringBuilder why = new StringBuilder(String.valueOf(d));
    if (good) {
      for (TopicPartitionInfo p : d.partitions()) {
        Set<Integer> reps = new HashSet<>();
        for (Node n : p.replicas()) reps.add(n.id());
        good &= reps.size() == 3 && p.leader() != null && reps.contains(p.leader().id())
            && p.isr().size() == 3;
      }
    }
    c.check(good, "describeTopics: 3 partitions, 3 distinct replicas each, a leader, 3 in sync", why.toString());
    List<TopicPartition> tps = Clients.partitions(topic, PARTITIONS);
    Map<TopicPartition, Long> early = Clients.offsets(admin, tps, OffsetSpec.earliest());
    Map<TopicPartition, Long> late = Clients.offsets(admin, tps, OffsetSpec.latest());
    boolean zero = early.size() == PARTITIONS && late.size() == PARTITIONS;
    for (TopicPartition tp : tps) zero &= early.get(tp) == 0 && late.get(tp) == 0;
    c.check(zero, "listOffsets on the new topic: earliest 0 and latest 0", "earliest " + early + " latest " + late);
  }

  static String key(int i) {
    return "key-" + i;
  }

  static String value(int i) {
    return "value-" + i + "-" + "x".repeat(i % 50);
  }

  /** (b) Keyed records with two headers each; every one must be acknowledged. */
  private Map<TopicPartition, Long> produce() throws Exception {
    AtomicInteger acked = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicLong firstError = new AtomicLong(-1);
    StringBuffer err = new StringBuffer();
    Map<TopicPartition, Set<Long>> offs = new ConcurrentHashMap<>();
    try (KafkaProducer<String, String> p =
        new KafkaProducer<>(Clients.producer(bootstrap, "strata-java-test-producer"))) {
      for (int i = 0; i < records; i++) {
        RecordHeaders h = new RecordHeaders();
        h.add("seq", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
        h.add("origin", "strata-java-test".getBytes(StandardCharsets.UTF_8));
        p.send(new ProducerRecord<>(topic, null, key(i), value(i), h), (md, e) -> {
          if (e != null) {
            if (failed.getAndIncrement() == 0) err.append(e);
            return;
          }
          acked.incrementAndGet();
          offs.computeIfAbsent(new TopicPartition(md.topic(), md.partition()), k -> ConcurrentHashMap.newKeySet())
              .add(md.offset());
        });
      }
      p.flush();
    }
    c.check(acked.get() == records && failed.get() == 0,
        "idempotent acks=all producer: " + records + " keyed records with headers acknowledged",
        acked.get() + " acknowledged, " + failed.get() + " failed, first error " + err);
    Map<TopicPartition, Long> counts = new HashMap<>();
    boolean dense = true;
    for (Map.Entry<TopicPartition, Set<Long>> e : offs.entrySet()) {
      long n = e.getValue().size();
      counts.put(e.getKey(), n);
      for (long o = 0; o < n; o++) dense &= e.getValue().contains(o);
    }
    c.check(dense && offs.size() == PARTITIONS,
        "acknowledged offsets are 0..n-1 in each of the 3 partitions", "offsets by partition: " + counts);
    return counts;
  }

  /**
   * (c) Three consumers of one group, each in its own thread, subscribe to
   * the topic and commit synchronously after every batch. They run until
   * every record has been read and the group has settled with one
   * partition per member; then the committed offsets must be the end
   * offsets.
   */
  private void consumeInGroup(Admin admin, List<TopicPartition> tps, Map<TopicPartition, Long> end)
      throws Exception {
    Map<String, Integer> seen = new ConcurrentHashMap<>();
    AtomicInteger dups = new AtomicInteger();
    AtomicInteger bad = new AtomicInteger();
    AtomicInteger commitFailures = new AtomicInteger();
    StringBuffer badWhy = new StringBuffer();
    final boolean[] stop = {false};
    List<Thread> threads = new ArrayList<>();
    List<Throwable> crashes = new ArrayList<>();
    for (int m = 0; m < 3; m++) {
      String id = "strata-java-test-consumer-" + m;
      Thread t = new Thread(() -> {
        try (KafkaConsumer<String, String> k = new KafkaConsumer<>(Clients.consumer(bootstrap, id, group))) {
          k.subscribe(List.of(topic));
          while (!isStopped(stop)) {
            ConsumerRecords<String, String> recs = k.poll(Duration.ofMillis(200));
            for (ConsumerRecord<String, String> r : recs) {
              String why = checkRecord(r);
              if (why != null && bad.getAndIncrement() == 0) badWhy.append(why);
              if (seen.merge(r.key(), 1, Integer::sum) > 1) dups.incrementAndGet();
            }
            if (!recs.isEmpty()) {
              try {
                k.commitSync(Duration.ofSeconds(Clients.WAIT_S));
              } catch (org.apache.kafka.common.KafkaException e) {
                // A rebalance in progress fails the commit; the records are read again.
                commitFailures.incrementAndGet();
                Checks.note(id + ": commitSync failed: " + e);
              }
            }
          }
        } catch (Throwable e) {
          synchronized (crashes) {
            crashes.add(e);
          }
        }
      }, id);
      t.start();
      threads.add(t);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    boolean settled = false;
    String lastGroup = "";
    while (System.nanoTime() < deadline && crashes.isEmpty()) {
      if (seen.size() >= records) {
        ConsumerGroupDescription g = admin.describeConsumerGroups(List.of(group)).all()
            .get(Clients.WAIT_S, TimeUnit.SECONDS).get(group);
        lastGroup = g.toString();
        settled = g.members().size() == 3;
        Set<TopicPartition> all = new HashSet<>();
        for (MemberDescription md : g.members()) {
          settled &= md.assignment().topicPartitions().size() == 1;
          all.addAll(md.assignment().topicPartitions());
        }
        settled &= all.size() == 3;
        if (settled) break;
      }
      Thread.sleep(250);
    }
    synchronized (stop) {
      stop[0] = true;
    }
    for (Thread t : threads) t.join(60000);
    c.check(crashes.isEmpty(), "3 group consumers ran without an exception", String.valueOf(crashes));
    c.check(settled, "describeConsumerGroups: 3 members with one partition each", "last seen: " + lastGroup);
    c.check(seen.size() == records, "the group read every record (" + records + ")",
        "read " + seen.size() + " distinct keys");
    if (seen.isEmpty()) return; // nothing read: the checks below would pass vacuously
    c.check(bad.get() == 0, "every record read carries its key, value and headers", bad + " bad, first: " + badWhy);
    if (commitFailures.get() == 0)
      c.check(dups.get() == 0, "no record read twice (every commit succeeded)", dups + " records read again");
    else
      Checks.note(dups + " records read again after " + commitFailures + " failed commits (allowed)");
    Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
        .partitionsToOffsetAndMetadata().get(Clients.WAIT_S, TimeUnit.SECONDS);
    boolean eq = true;
    Map<TopicPartition, Long> got = new HashMap<>();
    for (TopicPartition tp : tps) {
      OffsetAndMetadata om = committed.get(tp);
      got.put(tp, om == null ? null : om.offset());
      eq &= om != null && om.offset() == end.get(tp);
    }
    c.check(eq, "committed offsets equal the end offsets", "committed " + got + ", end " + end);
    ConsumerGroupDescription g = admin.describeConsumerGroups(List.of(group)).all()
        .get(Clients.WAIT_S, TimeUnit.SECONDS).get(group);
    c.check(g.members().isEmpty(), "the group has no members once its consumers closed", g.toString());
  }

  private static boolean isStopped(boolean[] stop) {
    synchronized (stop) {
      return stop[0];
    }
  }

  /** Null when the record's key, value and headers agree with what was produced. */
  private static String checkRecord(ConsumerRecord<String, String> r) {
    Header seq = r.headers().lastHeader("seq");
    Header origin = r.headers().lastHeader("origin");
    if (seq == null || origin == null) return "missing header at " + r.partition() + "/" + r.offset();
    int i;
    try {
      i = Integer.parseInt(new String(seq.value(), StandardCharsets.UTF_8));
    } catch (NumberFormatException e) {
      return "bad seq header at " + r.partition() + "/" + r.offset();
    }
    if (!key(i).equals(r.key()) || !value(i).equals(r.value())
        || !"strata-java-test".equals(new String(origin.value(), StandardCharsets.UTF_8)))
      return "record " + r.partition() + "/" + r.offset() + " key " + r.key() + " does not match seq " + i;
    return null;
  }

  /** deleteTopics, then the topic must vanish from listTopics and describeTopics. */
  private void delete(Admin admin) throws Exception {
    admin.deleteTopics(List.of(topic)).all().get(Clients.WAIT_S, TimeUnit.SECONDS);
    c.ok("deleteTopics " + topic);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    boolean gone = false;
    String why = "";
    while (!gone && System.nanoTime() < deadline) {
      Set<String> names = admin.listTopics().names().get(Clients.WAIT_S, TimeUnit.SECONDS);
      if (!names.contains(topic)) {
        try {
          admin.describeTopics(List.of(topic)).allTopicNames().get(Clients.WAIT_S, TimeUnit.SECONDS);
          why = "describeTopics still describes it";
        } catch (java.util.concurrent.ExecutionException e) {
          gone = e.getCause() instanceof UnknownTopicOrPartitionException;
          why = "describeTopics failed with " + e.getCause();
        }
      } else {
        why = "listTopics still lists it";
      }
      if (!gone) Thread.sleep(200);
    }
    c.check(gone, "the deleted topic is gone from listTopics and describeTopics", why);
  }
}

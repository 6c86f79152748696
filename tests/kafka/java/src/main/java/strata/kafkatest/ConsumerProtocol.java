package strata.kafkatest;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * KIP-848's consumer protocol (group.protocol=consumer: ConsumerGroupHeartbeat,
 * topics by id): two consumers of one group share a 3-partition topic, read
 * every record once with commitSync, and the committed offsets are the ends;
 * then one leaves and the other takes every partition.
 */
final class ConsumerProtocol {
  private static final int PARTITIONS = 3;
  private final String bootstrap;
  private final int records;
  private final Checks c;
  private final String topic = "java-848-" + System.currentTimeMillis();
  private final String group = topic + "-group";

  ConsumerProtocol(String bootstrap, int records, Checks c) {
    this.bootstrap = bootstrap;
    this.records = records;
    this.c = c;
  }

  private Properties consumer(String id) {
    Properties p = Clients.consumer(bootstrap, id, group);
    p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
    return p;
  }

  /** Admin describeConsumerGroups (ConsumerGroupDescribe): a consumer-protocol group of 2. */
  private void describe(Admin admin) throws Exception {
    ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all()
        .get(Clients.WAIT_S, TimeUnit.SECONDS).get(group);
    Set<TopicPartition> parts = new HashSet<>();
    int n = 0;
    if (d != null)
      for (MemberDescription m : d.members()) {
        parts.addAll(m.assignment().topicPartitions());
        n++;
      }
    c.check(d != null && d.type() == GroupType.CONSUMER && n == 2 && parts.size() == PARTITIONS,
        "describeConsumerGroups: a consumer-protocol group, 2 members holding the 3 partitions",
        String.valueOf(d));
  }

  void run() throws Exception {
    try (Admin admin = Clients.admin(bootstrap)) {
      Clients.createTopic(admin, topic, PARTITIONS, (short) 3);
      Clients.awaitTopic(admin, topic, PARTITIONS, 3, Duration.ofSeconds(20));
      try (KafkaProducer<String, String> p = new KafkaProducer<>(Clients.producer(bootstrap, "p848"))) {
        for (int i = 0; i < records; i++) p.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
        p.flush();
      }
      List<TopicPartition> tps = Clients.partitions(topic, PARTITIONS);
      Map<TopicPartition, Long> ends = Clients.offsets(admin, tps, OffsetSpec.latest());
      long total = 0;
      for (long v : ends.values()) total += v;
      c.check(total == records, "produced " + records + " records", "ends " + ends);

      Set<String> seen = new HashSet<>();
      int dup = 0;
      Map<String, Set<TopicPartition>> owners = new HashMap<>();
      try (KafkaConsumer<String, String> a = new KafkaConsumer<>(consumer("c848-a"));
          KafkaConsumer<String, String> b = new KafkaConsumer<>(consumer("c848-b"))) {
        a.subscribe(List.of(topic));
        b.subscribe(List.of(topic));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (seen.size() < records && System.nanoTime() < deadline) {
          for (KafkaConsumer<String, String> k : List.of(a, b)) {
            for (ConsumerRecord<String, String> r : k.poll(Duration.ofMillis(200))) {
              if (!seen.add(r.key())) dup++;
              if (!r.value().equals("v" + r.key().substring(1))) c.fail("record " + r + " mangled");
            }
            k.commitSync();
          }
        }
        // Settle: both members should end up with partitions.
        long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < settle && (a.assignment().isEmpty() || b.assignment().isEmpty())) {
          a.poll(Duration.ofMillis(100));
          b.poll(Duration.ofMillis(100));
        }
        owners.put("a", new HashSet<>(a.assignment()));
        owners.put("b", new HashSet<>(b.assignment()));
        c.check(seen.size() == records, "the KIP-848 group read every record (" + records + ")",
            "read " + seen.size());
        c.check(dup == 0, "no record read twice", dup + " duplicates");
        Set<TopicPartition> both = new HashSet<>(owners.get("a"));
        both.retainAll(owners.get("b"));
        Set<TopicPartition> union = new HashSet<>(owners.get("a"));
        union.addAll(owners.get("b"));
        c.check(both.isEmpty() && union.size() == PARTITIONS && !owners.get("a").isEmpty()
                && !owners.get("b").isEmpty(),
            "the 2 members share the 3 partitions, none twice", String.valueOf(owners));
        describe(admin);
        Map<TopicPartition, OffsetAndMetadata> committed = a.committed(new HashSet<>(tps));
        boolean good = true;
        for (TopicPartition tp : tps)
          good &= committed.get(tp) != null && committed.get(tp).offset() == ends.get(tp);
        c.check(good, "committed offsets equal the end offsets", committed + " ends " + ends);
        b.close();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < until && a.assignment().size() < PARTITIONS) a.poll(Duration.ofMillis(200));
        c.check(a.assignment().size() == PARTITIONS, "after the other member leaves, one member has all 3",
            String.valueOf(a.assignment()));
      }
      admin.deleteTopics(List.of(topic)).all().get(Clients.WAIT_S, TimeUnit.SECONDS);
    }
  }
}

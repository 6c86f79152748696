package strata.kafkatest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Part (d): an idempotent acks=all producer writes a paced stream while the
 * calling script kills -9 the leader of partition 0 and starts it again.
 * The driver prints "LEADER id" once the topic is ready and "ACKED n" as
 * acknowledgements arrive, so the script can time the kill; afterwards
 * every partition must hold exactly the records sent to it, once each, in
 * the order sent.
 */
final class Failover {
  private static final int PARTITIONS = 3;
  private final String bootstrap;
  private final String topic;
  private final int records;
  private final int seconds;
  private final Checks c;

  Failover(String bootstrap, String topic, int records, int seconds, Checks c) {
    this.bootstrap = bootstrap;
    this.topic = topic;
    this.records = records;
    this.seconds = seconds;
    this.c = c;
  }

  void run() throws Exception {
    List<TopicPartition> tps = Clients.partitions(topic, PARTITIONS);
    try (Admin admin = Clients.admin(bootstrap)) {
      Clients.createTopic(admin, topic, PARTITIONS, (short) 3);
      TopicDescription d = Clients.awaitTopic(admin, topic, PARTITIONS, 3, Duration.ofSeconds(20));
      if (!c.check(d != null && d.partitions().get(0).isr().size() == 3,
          "failover topic " + topic + " ready with 3 in-sync replicas", String.valueOf(d)))
        return;
      System.out.println("LEADER " + d.partitions().get(0).leader().id());
      System.out.flush();
      int[] sentPer = produce();
      if (sentPer == null) return;
      Map<TopicPartition, Long> end = Clients.offsets(admin, tps, OffsetSpec.latest());
      verify(tps, end, sentPer);
      // The restarted broker catches up and is back in every ISR.
      TopicDescription after = Clients.awaitTopic(admin, topic, PARTITIONS, 3, Duration.ofSeconds(30));
      boolean full = after != null;
      if (full)
        for (var p : after.partitions()) full &= p.isr().size() == 3;
      c.check(full, "every partition has 3 in-sync replicas again after the restart", String.valueOf(after));
    }
  }

  /** Record i goes to partition i % 3 with value "i"; returns the count sent to each. */
  private int[] produce() throws Exception {
    AtomicInteger acked = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    StringBuffer err = new StringBuffer();
    int[] per = new int[PARTITIONS];
    // Offsets acknowledged for each record, to compare with what is read back.
    long[] ackOffset = new long[records];
    long start = System.nanoTime();
    long nextReport = 0;
    try (KafkaProducer<String, String> p =
        new KafkaProducer<>(Clients.producer(bootstrap, "strata-java-test-failover"))) {
      for (int i = 0; i < records; i++) {
        int part = i % PARTITIONS;
        per[part]++;
        final int seq = i;
        p.send(new ProducerRecord<>(topic, part, "f-" + i, Integer.toString(i)), (md, e) -> {
          if (e != null) {
            if (failed.getAndIncrement() == 0) err.append(e);
            return;
          }
          ackOffset[seq] = md.offset();
          acked.incrementAndGet();
        });
        // Pace the stream over the given seconds so the kill lands mid-stream.
        long due = start + TimeUnit.SECONDS.toNanos(seconds) * (i + 1) / records;
        long now;
        while ((now = System.nanoTime()) < due) {
          if (now >= nextReport) {
            System.out.println("ACKED " + acked.get());
            System.out.flush();
            nextReport = now + TimeUnit.MILLISECONDS.toNanos(250);
          }
          Thread.sleep(Math.max(0, Math.min(5, (due - now) / 1000000)));
        }
      }
      p.flush();
    }
    System.out.println("ACKED " + acked.get());
    double took = (System.nanoTime() - start) / 1e9;
    if (!c.check(acked.get() == records && failed.get() == 0,
        "idempotent producer: all " + records + " records acknowledged across the leader's kill ("
            + String.format("%.1f", took) + " s)",
        acked.get() + " acknowledged, " + failed.get() + " failed, first error " + err))
      return null;
    boolean inOrder = true;
    long[] last = {-1, -1, -1};
    for (int i = 0; i < records; i++) {
      inOrder &= ackOffset[i] > last[i % PARTITIONS];
      last[i % PARTITIONS] = ackOffset[i];
    }
    c.check(inOrder, "acknowledged offsets rise in the order the records were sent", "they do not");
    return per;
  }

  /** Reads each partition from its start to its end offset and compares with what was sent. */
  private void verify(List<TopicPartition> tps, Map<TopicPartition, Long> end, int[] sentPer) {
    Map<Integer, List<Integer>> got = new HashMap<>();
    for (int p = 0; p < PARTITIONS; p++) got.put(p, new ArrayList<>());
    try (KafkaConsumer<String, String> k =
        new KafkaConsumer<>(Clients.consumer(bootstrap, "strata-java-test-failover-reader", null))) {
      k.assign(tps);
      k.seekToBeginning(tps);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        boolean done = true;
        for (TopicPartition tp : tps) done &= k.position(tp) >= end.get(tp);
        if (done) break;
        for (ConsumerRecord<String, String> r : k.poll(Duration.ofMillis(500)))
          got.get(r.partition()).add(Integer.parseInt(r.value()));
      }
    }
    for (int p = 0; p < PARTITIONS; p++) {
      List<Integer> want = new ArrayList<>();
      for (int i = p; i < records; i += PARTITIONS) want.add(i);
      List<Integer> have = got.get(p);
      String why = "";
      if (!have.equals(want)) {
        int lost = 0;
        int dup = 0;
        java.util.Set<Integer> uniq = new java.util.HashSet<>(have);
        dup = have.size() - uniq.size();
        for (int w : want) if (!uniq.contains(w)) lost++;
        int firstDiff = 0;
        while (firstDiff < Math.min(have.size(), want.size()) && have.get(firstDiff).equals(want.get(firstDiff)))
          firstDiff++;
        why = "read " + have.size() + " of " + want.size() + ", " + lost + " lost, " + dup + " duplicated, "
            + "first difference at index " + firstDiff + ": "
            + (firstDiff < have.size() ? have.get(firstDiff) : "end") + " instead of "
            + (firstDiff < want.size() ? want.get(firstDiff) : "end") + "; end offset " + end.get(tps.get(p));
      }
      c.check(have.equals(want), "partition " + p + ": the " + sentPer[p]
          + " records sent, each once, in order (end offset " + end.get(tps.get(p)) + ")", why);
    }
  }
}

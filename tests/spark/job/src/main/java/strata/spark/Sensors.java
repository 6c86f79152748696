package strata.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Spark test's input and verdict, with the Kafka client Spark ships:
 *
 *   topics  BOOTSTRAP IN OUT                   create both (3 partitions, RF 3), print "LEADER p id"
 *   produce BOOTSTRAP IN N SECONDS             N readings paced over SECONDS (event time
 *                                              advancing as fast as the clock), then one far
 *                                              later reading that closes every window
 *   check   BOOTSTRAP OUT N SECONDS WINDOW_MS  wait for every window of the N readings on OUT,
 *                                              then compare each with the expected values
 *
 * Prints "ok"/"FAIL" lines; exits 1 when a check failed.
 */
public final class Sensors {
  private static int failed;

  private Sensors() {}

  public static void main(String[] args) throws Exception {
    try {
      if (args.length == 4 && args[0].equals("topics")) topics(args[1], args[2], args[3]);
      else if (args.length == 5 && args[0].equals("produce"))
        produce(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]));
      else if (args.length == 6 && args[0].equals("check"))
        check(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]), Long.parseLong(args[5]));
      else {
        System.err.println("usage: see Sensors.java");
        System.exit(2);
      }
    } catch (Exception e) {
      verdict(false, "unexpected exception", e.toString());
      e.printStackTrace(System.out);
    }
    System.out.flush();
    Runtime.getRuntime().halt(failed == 0 ? 0 : 1);
  }

  private static boolean verdict(boolean good, String what, String why) {
    if (good) System.out.println("ok   " + what);
    else {
      failed++;
      System.out.println("FAIL " + what + ": " + why);
    }
    System.out.flush();
    return good;
  }

  private static long stepMs(int n, int seconds) {
    return Math.max(1, seconds * 1000L / n);
  }

  private static Admin admin(String bootstrap) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
    return Admin.create(p);
  }

  private static void topics(String bootstrap, String in, String out) throws Exception {
    try (Admin a = admin(bootstrap)) {
      a.createTopics(List.of(new NewTopic(in, 3, (short) 3), new NewTopic(out, 3, (short) 3)))
          .all().get(30, TimeUnit.SECONDS);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      TopicDescription d = null;
      boolean ready = false;
      while (!ready && System.nanoTime() < deadline) {
        Map<String, TopicDescription> m = a.describeTopics(List.of(in, out)).allTopicNames().get(30, TimeUnit.SECONDS);
        ready = true;
        for (TopicDescription t : m.values())
          for (TopicPartitionInfo p : t.partitions()) ready &= p.leader() != null && p.isr().size() == 3;
        d = m.get(in);
        if (!ready) Thread.sleep(200);
      }
      if (!verdict(ready, "topics " + in + " and " + out + ": 3 partitions, 3 in-sync replicas each", String.valueOf(d)))
        return;
      for (TopicPartitionInfo p : d.partitions()) System.out.println("LEADER " + p.partition() + " " + p.leader().id());
    }
  }

  /**
   * Readings 0..n-1 keyed by sensor (the producer's partitioner spreads
   * them over the partitions), paced so event time keeps up with the
   * clock, and never more than 1 s of event time unacknowledged, so no
   * partition runs ahead of another by more than that however long a
   * failover stalls one (the job's watermark delay is 5 s). The closing
   * reading goes out only after all others are acknowledged.
   */
  private static void produce(String bootstrap, String topic, int n, int seconds) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "strata-spark-test-sensors");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    long step = stepMs(n, seconds);
    AtomicInteger acked = new AtomicInteger();
    AtomicInteger bad = new AtomicInteger();
    StringBuffer err = new StringBuffer();
    long start = System.nanoTime();
    long nextReport = 0;
    try (KafkaProducer<String, String> k = new KafkaProducer<>(p)) {
      for (int i = 0; i < n; i++) {
        // At most 100 readings (1 s of event time) unacknowledged: a
        // partition whose leader is down holds the whole stream back
        // rather than falling behind the others past the watermark.
        while (i - acked.get() - bad.get() >= 100) Thread.sleep(1);
        k.send(new ProducerRecord<>(topic, SensorStream.key(i), SensorStream.value(i, step)), (md, e) -> {
          if (e == null) acked.incrementAndGet();
          else if (bad.getAndIncrement() == 0) err.append(e);
        });
        long due = start + TimeUnit.MILLISECONDS.toNanos(step * (i + 1));
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
      k.flush();
      System.out.println("ACKED " + acked.get());
      if (!verdict(acked.get() == n && bad.get() == 0, n + " sensor readings acknowledged (idempotent, acks=all)",
          acked.get() + " acknowledged, " + bad.get() + " failed, first error " + err))
        return;
      // One reading a minute past the end moves the watermark past every window.
      long late = SensorStream.ts(n, step) + 60000;
      k.send(new ProducerRecord<>(topic, "s-0000", SensorStream.value("s-0000", late, 2200, 4500, "plant-a"))).get();
      verdict(true, "closing reading at +60 s acknowledged", "");
    }
  }

  private static final class Window {
    long n;
    long temp;
    long hum;
  }

  /** The windows the readings fall in, keyed as the job keys them: "site|start ms". */
  private static Map<String, Window> expected(int n, long step, long windowMs) {
    Map<String, Window> m = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      long ts = SensorStream.ts(i, step);
      long startMs = ts - Math.floorMod(ts, windowMs);
      Window w = m.computeIfAbsent(SensorStream.SITES[SensorStream.site(i)] + "|" + startMs, x -> new Window());
      w.n++;
      w.temp += SensorStream.tempCenti(i);
      w.hum += SensorStream.humCenti(i);
    }
    return m;
  }

  /**
   * Reads OUT until every expected window is there (up to 120 s), then
   * checks: each one has the count, exact sums and averages of its
   * readings; a window written more than once was written identically each
   * time; no window was written that the readings do not make.
   */
  private static void check(String bootstrap, String topic, int n, int seconds, long windowMs) throws Exception {
    Map<String, Window> want = expected(n, stepMs(n, seconds), windowMs);
    Map<String, List<String>> got = new HashMap<>();
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "strata-spark-test-check");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    int records = 0;
    try (KafkaConsumer<String, String> k = new KafkaConsumer<>(p)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (int i = 0; i < 3; i++) tps.add(new TopicPartition(topic, i));
      k.assign(tps);
      k.seekToBeginning(tps);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      long settle = 0;
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : k.poll(Duration.ofMillis(500))) {
          got.computeIfAbsent(r.key(), x -> new ArrayList<>()).add(r.value());
          records++;
        }
        if (got.keySet().containsAll(want.keySet())) {
          // Every window is in; read on 3 s more for any rewrites in flight.
          if (settle == 0) settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
          else if (System.nanoTime() > settle) break;
        }
      }
    }
    System.out.println("     read " + records + " records, " + got.size() + " windows, expected " + want.size());
    List<String> missing = new ArrayList<>();
    for (String key : want.keySet()) if (!got.containsKey(key)) missing.add(key);
    verdict(missing.isEmpty(), "every one of the " + want.size() + " (site, window) averages written",
        missing.size() + " missing, first " + (missing.isEmpty() ? "" : missing.get(0)));
    List<String> extra = new ArrayList<>();
    for (String key : got.keySet()) if (!want.containsKey(key)) extra.add(key);
    verdict(extra.isEmpty(), "no window written that the readings do not make", "unexpected " + extra);
    ObjectMapper json = new ObjectMapper();
    int wrong = 0;
    int twice = 0;
    int differ = 0;
    String firstWrong = "";
    for (Map.Entry<String, List<String>> e : got.entrySet()) {
      List<String> vs = e.getValue();
      if (vs.size() > 1) {
        twice++;
        for (String v : vs)
          if (!v.equals(vs.get(0))) {
            differ++;
            if (firstWrong.isEmpty()) firstWrong = e.getKey() + " written as " + vs;
            break;
          }
      }
      Window w = want.get(e.getKey());
      if (w == null) continue;
      for (String v : vs) {
        JsonNode j = json.readTree(v);
        String[] parts = e.getKey().split("\\|");
        long start = Long.parseLong(parts[1]);
        boolean good = j.path("site").asText().equals(parts[0])
            && j.path("window_start").asLong() == start
            && j.path("window_end").asLong() == start + windowMs
            && j.path("n").asLong() == w.n
            && j.path("temp_centi_sum").asLong() == w.temp
            && j.path("hum_centi_sum").asLong() == w.hum
            && Math.abs(j.path("avg_temperature").asDouble() - w.temp / (double) w.n / 100.0) < 1e-9
            && Math.abs(j.path("avg_humidity").asDouble() - w.hum / (double) w.n / 100.0) < 1e-9;
        if (!good) {
          if (wrong++ == 0 && firstWrong.isEmpty())
            firstWrong = e.getKey() + ": got " + v + ", want n " + w.n + " temp_centi_sum " + w.temp
                + " hum_centi_sum " + w.hum;
        }
      }
    }
    verdict(wrong == 0, "every window's count, sums and averages match the readings", wrong + " wrong; " + firstWrong);
    verdict(differ == 0, "windows written more than once (" + twice + ") are identical each time",
        differ + " differ; " + firstWrong);
  }
}

/* rdkafka_bench: a producer throughput and latency run with librdkafka, the
 * C Kafka client, so that Strata's Kafka listener can be weighed against its
 * native listener (`strata bench produce`, libstrata, also C) with clients of
 * the same kind: a Java client on this 2-core machine would measure the JVM.
 *
 *   rdkafka_bench BOOTSTRAP TOPIC RECORD_SIZE ACKS(0|1|all) RECORDS [idempotent|plain]
 *   rdkafka_bench consume BOOTSTRAP TOPIC RECORDS  (partition 0 from the start,
 *                                                no group: as strata bench consume)
 *   rdkafka_bench create BOOTSTRAP RF TOPIC...   (1 partition each; RF 3:
 *                                                min.insync.replicas 2)
 *
 * TCP_NODELAY on both: libstrata sets it on every connection (conn.c),
 * librdkafka only with socket.nagle.disable=true (its default is false).
 *
 * Batching as each client does by default, with the same linger: librdkafka's
 * own batch.size (1000000), batch.num.messages (10000) and
 * max.in.flight (1000000) against libstrata's 256 KiB batches packed up to
 * 8 MiB a request, 5 requests in flight; linger 5 ms on both; no
 * compression, partition 0. The consumer asks for up to 8 MiB a partition
 * (strata bench consume's partition_max_bytes). With acks=all the producer
 * is idempotent unless "plain" is given (librdkafka's own default):
 * librdkafka 2.0.2 (and its later versions, PR #4989) caps an idempotent
 * producer at one ProduceRequest in flight per partition (it compares the
 * count of messages in flight, not requests, with 5) and busy-polls while
 * it waits; see kafka_bench.sh. Prints
 *   RESULT rps=... mbps=... avg_ms=... p50_ms=... p99_ms=... errors=N
 * with latency from produce() to the delivery report; exits 1 on any error.
 * RDKAFKA_BENCH_CONF="key=value ..." sets more librdkafka properties (last). */
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct run {
  int64_t *lat_us; /* one per delivered record */
  uint64_t ok, failed;
  rd_kafka_resp_err_t first_error;
};

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The record's opaque carries its send time. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *arg) {
  (void)rk;
  struct run *r = arg;
  if (m->err) {
    if (!r->failed++) r->first_error = m->err;
    return;
  }
  r->lat_us[r->ok++] = mono_us() - (int64_t)(intptr_t)m->_private;
}

/* RDKAFKA_BENCH_CONF's space-separated key=value pairs, for experiments. */
static int set(rd_kafka_conf_t *c, const char *k, const char *v);
static int set_extra(rd_kafka_conf_t *c) {
  const char *env = getenv("RDKAFKA_BENCH_CONF");
  if (!env) return 0;
  char *dup = strdup(env), *save = NULL;
  if (!dup) return -1;
  int rc = 0;
  for (char *kv = strtok_r(dup, " ", &save); kv && !rc; kv = strtok_r(NULL, " ", &save)) {
    char *eq = strchr(kv, '=');
    if (!eq) {
      fprintf(stderr, "rdkafka_bench: RDKAFKA_BENCH_CONF: %s: not key=value\n", kv);
      rc = -1;
      break;
    }
    *eq = 0;
    rc = set(c, kv, eq + 1);
  }
  free(dup);
  return rc;
}

/* The k-th smallest of v[0..n) (Hoare's selection, v reordered): the
 * latency quantiles in O(n). A full qsort of a million latencies cost this
 * process about 0.1 s after the run, which the CPU table charged to
 * librdkafka (libstrata's bench keeps a histogram instead). */
static int64_t select_kth(int64_t *v, size_t n, size_t k) {
  size_t lo = 0, hi = n - 1;
  while (lo < hi) {
    int64_t pivot = v[lo + (hi - lo) / 2];
    size_t i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) {
        int64_t t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        if (j == 0) break;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return v[k];
  }
  return v[k];
}

static int set(rd_kafka_conf_t *c, const char *k, const char *v) {
  char err[256];
  if (rd_kafka_conf_set(c, k, v, err, sizeof err) == RD_KAFKA_CONF_OK) return 0;
  fprintf(stderr, "rdkafka_bench: %s=%s: %s\n", k, v, err);
  return -1;
}

/* Topics through the admin API in one request: a JVM start per topic
 * (kafka-topics) costs the bench more than its runs. */
static int create_topics(const char *boot, int rf, char **names, int n) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (set(conf, "bootstrap.servers", boot)) return 1;
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "rdkafka_bench: %s\n", errstr);
    return 1;
  }
  rd_kafka_NewTopic_t **nt = calloc((size_t)n, sizeof *nt);
  if (!nt) return 1;
  for (int i = 0; i < n; i++) {
    nt[i] = rd_kafka_NewTopic_new(names[i], 1, rf, errstr, sizeof errstr);
    if (!nt[i]) {
      fprintf(stderr, "rdkafka_bench: %s: %s\n", names[i], errstr);
      return 1;
    }
    if (rf >= 3) rd_kafka_NewTopic_set_config(nt[i], "min.insync.replicas", "2");
  }
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opt, 30000, errstr, sizeof errstr);
  rd_kafka_CreateTopics(rk, nt, (size_t)n, opt, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 60000);
  int rc = 0;
  if (!ev || rd_kafka_event_error(ev)) {
    fprintf(stderr, "rdkafka_bench: CreateTopics: %s\n",
            ev ? rd_kafka_event_error_string(ev) : "no answer in 60 s");
    rc = 1;
  } else {
    size_t cnt;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        fprintf(stderr, "rdkafka_bench: %s: %s\n", rd_kafka_topic_result_name(res[i]),
                rd_kafka_err2str(e));
        rc = 1;
      }
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opt);
  rd_kafka_NewTopic_destroy_array(nt, (size_t)n);
  free(nt);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return rc;
}

/* What consume's callback counts: records, bytes, the first record's
 * arrival (the clock is read once per callback batch after that). */
struct creader {
  long long n, left;
  uint64_t bytes;
  int64_t first_us;
  int failed;
};

static void on_record(rd_kafka_message_t *m, void *opaque) {
  struct creader *cr = opaque;
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
  if (m->err) {
    if (!cr->failed++) fprintf(stderr, "rdkafka_bench: consume: %s\n", rd_kafka_message_errstr(m));
    return;
  }
  if (cr->left <= 0) return; /* past the count asked: not ours to time */
  cr->n++;
  cr->left--;
  cr->bytes += m->len + m->key_len;
  if (!cr->first_us) cr->first_us = mono_us();
}

/* Read RECORDS records of partition 0 from its first offset with the simple
 * (group-less) consumer: what strata bench consume does natively, so the two
 * fetch paths are weighed without a group join in either. The clock runs
 * from the first record to the last (librdkafka takes up to a second to
 * learn the partition's leader and connect to it: start-up, not fetching;
 * ConsumerPerformance's fetch.* rates leave their start-up out too). */
static int consume(const char *boot, const char *topic, long long want) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (set(conf, "bootstrap.servers", boot) || set(conf, "socket.nagle.disable", "true") ||
      set(conf, "enable.auto.commit", "false") ||
      set(conf, "enable.auto.offset.store", "false") ||
      set(conf, "queued.max.messages.kbytes", "262144") || set(conf, "fetch.wait.max.ms", "100") ||
      set(conf, "fetch.message.max.bytes", "8388608") ||
      set_extra(conf))
    return 1;
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "rdkafka_bench: %s\n", errstr);
    return 1;
  }
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
  int64_t start = 0, last = mono_us();
  if (rd_kafka_consume_start(t, 0, RD_KAFKA_OFFSET_BEGINNING)) {
    fprintf(stderr, "rdkafka_bench: consume_start: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
    return 1;
  }
  struct creader cr = {0};
  int rc = 0;
  while (cr.n < want && !cr.failed) {
    /* rd_kafka_consume_callback: the legacy consumer's cheapest way to take
     * records (its header: "higher throughput performance than both
     * rd_kafka_consume() and rd_kafka_consume_batch()"); libstrata's
     * strata_consumer_poll likewise hands out records in place */
    cr.left = want - cr.n;
    long long before = cr.n;
    int got = rd_kafka_consume_callback(t, 0, 1000, on_record, &cr);
    if (got < 0) {
      fprintf(stderr, "rdkafka_bench: consume: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
      rc = 1;
      break;
    }
    if (cr.n > before) last = mono_us();
    if (!start) start = cr.first_us;
    if (mono_us() - last > 10000000) break; /* 10 s without a record */
  }
  if (cr.failed) rc = 1;
  long long n = cr.n;
  uint64_t bytes = cr.bytes;
  double secs = start ? (double)(last - start) / 1e6 : 0;
  rd_kafka_consume_stop(t, 0);
  rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk);
  if (rc || n < want) {
    fprintf(stderr, "rdkafka_bench: consumed %lld of %lld records\n", n, want);
    return 1;
  }
  if (secs <= 0) secs = 1e-6;
  printf("RESULT rps=%.0f mbps=%.2f consumed=%lld\n", (double)n / secs, (double)bytes / secs / 1e6, n);
  return 0;
}

/* Record i's value: a slice of the pool at a moving offset (every record
 * differs; the same stride as strata bench produce's). */
static char *value_of(char *vals, long long i) { return vals + ((uint64_t)i * 7919u) % (8u << 20); }

/* One rd_kafka_produce per record (RDKAFKA_BENCH_API=produce, for
 * comparison): librdkafka then reads two clocks and takes the partition's
 * lock per record. */
static int produce_each(rd_kafka_t *rk, rd_kafka_topic_t *t, char *vals, long size, long long n) {
  for (long long i = 0; i < n;) {
    /* no F_COPY: the pool outlives the producer, so librdkafka copies each
     * value once, into its request, as libstrata copies it once into its
     * batch (with F_COPY it would be copied twice and allocated for) */
    if (rd_kafka_produce(t, 0, 0, value_of(vals, i), (size_t)size, NULL, 0,
                         (void *)(intptr_t)mono_us()) == 0) {
      i++;
      if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
    } else if (rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 1);
    } else {
      fprintf(stderr, "rdkafka_bench: produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
      return 1;
    }
  }
  return 0;
}

/* The records handed to librdkafka PRODUCE_BATCH at a time with
 * rd_kafka_produce_batch (the default): its documented bulk API takes the
 * partition's lock and reads the clocks once per call, not per record. Each
 * record's latency runs from the call that handed it over. */
#define PRODUCE_BATCH 1024
static int produce_batches(rd_kafka_t *rk, rd_kafka_topic_t *t, char *vals, long size,
                           long long n) {
  rd_kafka_message_t *m = calloc(PRODUCE_BATCH, sizeof *m);
  if (!m) return 1;
  for (long long i = 0; i < n;) {
    int cnt = n - i < PRODUCE_BATCH ? (int)(n - i) : PRODUCE_BATCH;
    void *now = (void *)(intptr_t)mono_us();
    for (int k = 0; k < cnt; k++) {
      memset(&m[k], 0, sizeof m[k]);
      m[k].payload = value_of(vals, i + k); /* no F_COPY, as above */
      m[k].len = (size_t)size;
      m[k]._private = now;
    }
    int took = rd_kafka_produce_batch(t, 0, 0, m, cnt);
    /* a full queue refuses the rest of the call (it only drains in
     * rd_kafka_poll, on this thread): resend from the first refused */
    for (int k = took; k < cnt; k++)
      if (m[k].err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        fprintf(stderr, "rdkafka_bench: produce_batch: %s\n",
                rd_kafka_err2str(m[k].err ? m[k].err : RD_KAFKA_RESP_ERR__FAIL));
        free(m);
        return 1;
      }
    for (int k = 0; k < took; k++)
      if (m[k].err) {
        fprintf(stderr, "rdkafka_bench: produce_batch: record %d refused, a later one taken\n", k);
        free(m);
        return 1;
      }
    i += took;
    rd_kafka_poll(rk, took < cnt ? 1 : 0);
  }
  free(m);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "consume")) {
    long long want = atoll(argv[4]);
    if (want < 1) return 2;
    return consume(argv[2], argv[3], want);
  }
  if (argc >= 5 && !strcmp(argv[1], "create")) {
    int rf = atoi(argv[3]);
    if (rf < 1 || rf > 32) {
      fprintf(stderr, "rdkafka_bench: bad replication factor\n");
      return 2;
    }
    return create_topics(argv[2], rf, argv + 4, argc - 4);
  }
  if (argc != 6 && argc != 7) {
    fprintf(stderr, "usage: rdkafka_bench BOOTSTRAP TOPIC RECORD_SIZE ACKS RECORDS [idempotent|plain]\n"
                    "       rdkafka_bench consume BOOTSTRAP TOPIC RECORDS\n"
                    "       rdkafka_bench create BOOTSTRAP RF TOPIC...\n");
    return 2;
  }
  long size = atol(argv[3]);
  long long n = atoll(argv[5]);
  const char *acks = argv[4];
  const char *mode = argc == 7 ? argv[6] : "idempotent";
  int idempotent = !strcmp(acks, "all") && !strcmp(mode, "idempotent");
  if (size < 1 || size > (8 << 20) || n < 1 ||
      (strcmp(acks, "0") && strcmp(acks, "1") && strcmp(acks, "all")) ||
      (strcmp(mode, "idempotent") && strcmp(mode, "plain"))) {
    fprintf(stderr, "rdkafka_bench: bad record size, acks, record count or mode\n");
    return 2;
  }
  struct run r = {0};
  r.lat_us = malloc((size_t)n * sizeof *r.lat_us);
  /* a pool of varied bytes; each record a slice at a moving offset */
  size_t pool = (8u << 20) + (size_t)size;
  char *vals = malloc(pool);
  if (!r.lat_us || !vals) return 1;
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < pool; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    vals[i] = (char)(' ' + x % 95);
  }
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char errstr[512];
  if (set(conf, "bootstrap.servers", argv[1]) || set(conf, "socket.nagle.disable", "true") ||
      set(conf, "acks", acks) ||
      set(conf, "linger.ms", "5") ||
      /* librdkafka's own default: a longer queue (1000000 was tried) only
       * grows its heap with records waiting (fresh pages to fault in: 0.07 s
       * more system CPU per million 100 B records) and their latency */
      set(conf, "queue.buffering.max.messages", "100000") ||
      set(conf, "queue.buffering.max.kbytes", "1048576") ||
      set(conf, "enable.idempotence", idempotent ? "true" : "false") ||
      set(conf, "compression.codec", "none") || set_extra(conf))
    return 1;
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &r);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "rdkafka_bench: %s\n", errstr);
    return 1;
  }
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, argv[2], NULL);
  const char *api = getenv("RDKAFKA_BENCH_API");
  int one_by_one = api && !strcmp(api, "produce");
  int64_t start = mono_us();
  if (one_by_one ? produce_each(rk, t, vals, size, n) : produce_batches(rk, t, vals, size, n))
    return 1;
  rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, 120000);
  double secs = (double)(mono_us() - start) / 1e6;
  rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk);
  if (ferr || r.failed || r.ok != (uint64_t)n) {
    fprintf(stderr, "rdkafka_bench: %llu of %lld delivered, %llu failed (%s)\n",
            (unsigned long long)r.ok, n, (unsigned long long)r.failed,
            rd_kafka_err2str(ferr ? ferr : r.first_error));
    return 1;
  }
  double sum = 0;
  for (uint64_t i = 0; i < r.ok; i++) sum += (double)r.lat_us[i];
  int64_t p50 = select_kth(r.lat_us, r.ok, r.ok / 2);
  int64_t p99 = select_kth(r.lat_us, r.ok, r.ok * 99 / 100);
  printf("RESULT rps=%.0f mbps=%.2f avg_ms=%.2f p50_ms=%.2f p99_ms=%.2f errors=0\n",
         (double)n / secs, (double)n * (double)size / secs / 1e6, sum / (double)r.ok / 1e3,
         (double)p50 / 1e3, (double)p99 / 1e3);
  free(r.lat_us);
  free(vals);
  return 0;
}

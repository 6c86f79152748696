/* strata bench produce|consume: throughput (records/s, MB/s) and produce
 * latency percentiles, measured from strata_produce to the delivery report. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/common.h"
#include "client/cli/histogram.h"
#include "client/cli/sensors.h"

static const struct opt bench_produce_opts[] = {
    CLI_COMMON_OPTS,
    {"topic", 't', OPT_VALUE, "TOPIC", "topic to write (required)"},
    {"record-size", 's', OPT_VALUE, "BYTES", "value size (default 100)"},
    {"records", 'n', OPT_VALUE, "N", "records to send (default 1000000; k/m suffixes)"},
    {"duration", 'd', OPT_VALUE, "SECONDS", "send for this long instead of --records"},
    {"rate", 0, OPT_VALUE, "RECORDS/S", "throttle to this rate (latency runs)"},
    {"acks", 'a', OPT_VALUE, "0|1|all", "acknowledgement level (default 1)"},
    {"no-idempotence", 0, OPT_FLAG, NULL, "with acks=all: no producer id and sequences"},
    CLI_COMPRESSION_OPTS,
    {"batch-size", 0, OPT_VALUE, "BYTES", "producer batch size (default 262144)"},
    {"linger-ms", 0, OPT_VALUE, "MS", "producer linger (default 5)"},
    {"partition", 'p', OPT_VALUE, "N", "partition (default: spread keyless)"},
};

struct bench_state {
  struct histogram hist;
  uint64_t ok, failed;
  int first_error;
  int64_t *sent_us; /* ring of send times by sequence */
  uint64_t ring;
};

static void bench_delivery(const strata_delivery *d, void *arg) {
  struct bench_state *s = arg;
  if (d->error) {
    s->failed++;
    if (!s->first_error) s->first_error = d->error;
    return;
  }
  s->ok++;
  uint64_t seq = (uint64_t)(uintptr_t)d->opaque;
  int64_t lat = cli_mono_us() - s->sent_us[seq % s->ring];
  histogram_record(&s->hist, (uint64_t)(lat > 0 ? lat : 0));
}

/* Values are slices of a pool of simulated sensor readings (the JSON the
 * demo produces, back to back): every record differs, and zstd sees data
 * shaped like the IoT streams Strata is for, neither one repeated value
 * (flattering) nor random bytes (which no codec helps). */
#define VALUE_POOL (8u << 20)
static int fill_values(char *buf, size_t n) {
  struct sensor_fleet fleet;
  if (sensors_init(&fleet, 1000, 7)) return -1;
  size_t off = 0;
  int64_t ts = 1764000000000LL;
  while (off < n) {
    char key[32], json[SENSOR_JSON_MAX + 1];
    size_t kl;
    size_t jl = sensors_next(&fleet, ts++, key, sizeof key, &kl, json, sizeof json);
    json[jl++] = '\n';
    size_t take = jl < n - off ? jl : n - off;
    memcpy(buf + off, json, take);
    off += take;
  }
  sensors_free(&fleet);
  return 0;
}

static int bench_produce(int argc, char **argv) {
  struct opts o;
  if (opts_parse(&o, bench_produce_opts, sizeof bench_produce_opts / sizeof bench_produce_opts[0],
                 argc, argv))
    return cli_fail("bench produce", o.err);
  if (o.help) {
    opts_print_help("bench produce --topic TOPIC [options]",
                    "Produce as fast as possible (or at --rate) and report throughput and latency.",
                    bench_produce_opts, sizeof bench_produce_opts / sizeof bench_produce_opts[0]);
    return 0;
  }
  const char *topic = opts_str(&o, "topic", NULL);
  if (!topic) return cli_fail("bench produce", "--topic is required");
  int64_t size, records, duration, rate, batch, linger, part;
  if (opts_i64(&o, "record-size", 100, 1, 8 << 20, 1, &size) ||
      opts_i64(&o, "records", 1000000, 1, INT64_MAX, 1, &records) ||
      opts_i64(&o, "duration", 0, 0, 86400, 0, &duration) ||
      opts_i64(&o, "rate", 0, 0, 100000000, 1, &rate) ||
      opts_i64(&o, "batch-size", 256 << 10, 1024, 8 << 20, 0, &batch) ||
      opts_i64(&o, "linger-ms", 5, 0, 10000, 0, &linger) ||
      opts_i64(&o, "partition", -1, 0, 9999, 0, &part))
    return cli_fail("bench produce", o.err);
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg);
  if (cli_acks(opts_str(&o, "acks", "1"), &cfg.acks))
    return cli_fail("bench produce", "--acks must be 0, 1 or all");
  cfg.enable_idempotence = !opts_has(&o, "no-idempotence");
  int crc = cli_compression_opts(&o, "bench produce", &cfg.compression, &cfg.compression_level);
  if (crc) return crc;
  cfg.batch_size = (size_t)batch;
  cfg.linger_ms = (int)linger;
  int t = cli_timeout(&o);
  if (t < 0) return cli_fail("bench produce", o.err);
  cfg.request_timeout_ms = t;
  struct bench_state *st = calloc(1, sizeof *st);
  char *value = malloc(VALUE_POOL + (size_t)size);
  if (!st || !value) return cli_fail("bench produce", "out of memory");
  histogram_init(&st->hist);
  st->ring = 1u << 22;
  st->sent_us = calloc(st->ring, sizeof *st->sent_us);
  if (!st->sent_us) return cli_fail("bench produce", "out of memory");
  if (fill_values(value, VALUE_POOL + (size_t)size)) return cli_fail("bench produce", "out of memory");
  char err[256];
  strata_producer *p = cli_producer_new(&o, &cfg, bench_delivery, st, err,
                                           sizeof err);
  if (!p) return cli_fail("bench produce", err);
  int64_t start = cli_mono_us();
  /* Each record's timestamp is the wall time at start plus the monotonic
   * time since, from the turn's one reading: passed in, it spares
   * strata_produce a second clock read per record (5% of the producer's
   * CPU at 1 KiB). A run's few seconds drift from the wall clock by far
   * less than the millisecond the timestamp has. */
  int64_t wall0_ms = cli_now_ms();
  int64_t end_us = duration ? start + duration * 1000000 : INT64_MAX;
  uint64_t sent = 0;
  int rc = 0;
  /* One clock reading per turn: it ends a timed run, paces a rated one and
   * is the record's send time (nothing that takes time runs between it and
   * strata_produce; after a poll the turn starts over with a new reading). */
  for (;;) {
    int64_t now = cli_mono_us();
    if (rc || (duration ? now >= end_us : sent >= (uint64_t)records)) break;
    if (rate) {
      int64_t due = start + (int64_t)(sent * 1000000 / (uint64_t)rate);
      if (due > now) {
        /* Rounded up: less than a millisecond to wait was a poll(0), so a
         * paced run spun a whole core between records (at 1,000/s, 85% of
         * one of this machine's two, taken from the brokers it measures).
         * An answer still wakes the poll at once, so latencies stay exact;
         * a record may leave up to a millisecond late (and the next at once). */
        strata_producer_poll(p, (int)((due - now + 999) / 1000));
        continue;
      }
    }
    if (strata_producer_outstanding(p) >= st->ring - 1) {
      strata_producer_poll(p, 1);
      continue;
    }
    st->sent_us[sent % st->ring] = now;
    const char *v = value + (sent * 7919u) % VALUE_POOL;
    rc = strata_produce(p, topic, (int32_t)part, NULL, 0, v, (size_t)size,
                        wall0_ms + (now - start) / 1000, NULL, 0, (void *)(uintptr_t)sent);
    if (rc == STRATA_EQUEUE_FULL) {
      rc = 0;
      strata_producer_poll(p, 1);
      continue;
    }
    if (!rc) sent++;
    if ((sent & 1023) == 0 || rate) strata_producer_poll(p, 0);
  }
  if (!rc) rc = strata_producer_flush(p, cfg.request_timeout_ms);
  double secs = (double)(cli_mono_us() - start) / 1e6;
  strata_producer_free(p);
  if (rc) return cli_fail("bench produce", strata_strerror(rc));
  double rps = (double)st->ok / secs;
  printf("produce: %" PRIu64 " records of %" PRId64 " B in %.2f s: %.0f records/s, %.1f MB/s"
         " (acks=%s, compression=%s)\n",
         st->ok, size, secs, rps, rps * (double)size / 1e6, opts_str(&o, "acks", "1"),
         opts_str(&o, "compression", "none"));
  printf("latency: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
         (double)histogram_quantile(&st->hist, 0.5) / 1000.0,
         (double)histogram_quantile(&st->hist, 0.99) / 1000.0,
         (double)histogram_quantile(&st->hist, 0.999) / 1000.0,
         (double)st->hist.max / 1000.0);
  int failed = st->failed != 0;
  if (failed)
    fprintf(stderr, "strata: bench produce: %" PRIu64 " records failed (%s)\n", st->failed,
            strata_strerror(st->first_error));
  free(st->sent_us);
  free(st);
  free(value);
  return failed;
}

static const struct opt bench_consume_opts[] = {
    CLI_COMMON_OPTS,
    {"topic", 't', OPT_VALUE, "TOPIC", "topic to read from the beginning (required)"},
    {"records", 'n', OPT_VALUE, "N", "stop after N records (default: the whole log)"},
};

static int bench_consume(int argc, char **argv) {
  struct opts o;
  if (opts_parse(&o, bench_consume_opts, sizeof bench_consume_opts / sizeof bench_consume_opts[0],
                 argc, argv))
    return cli_fail("bench consume", o.err);
  if (o.help) {
    opts_print_help("bench consume --topic TOPIC [--records N]",
                    "Read a topic from the beginning and report throughput (timed from the first record to the last).",
                    bench_consume_opts, sizeof bench_consume_opts / sizeof bench_consume_opts[0]);
    return 0;
  }
  const char *topic = opts_str(&o, "topic", NULL);
  if (!topic) return cli_fail("bench consume", "--topic is required");
  int64_t records;
  if (opts_i64(&o, "records", -1, 1, INT64_MAX, 1, &records))
    return cli_fail("bench consume", o.err);
  strata_consumer_config cfg;
  strata_consumer_config_defaults(&cfg);
  cfg.partition_max_bytes = 8u << 20;
  int t = cli_timeout(&o);
  if (t < 0) return cli_fail("bench consume", o.err);
  cfg.request_timeout_ms = t;
  char err[256];
  strata_consumer *c = cli_consumer_new(&o, &cfg, err, sizeof err);
  if (!c) return cli_fail("bench consume", err);
  int rc = strata_consumer_assign_topic(c, topic, STRATA_OFFSET_BEGINNING);
  /* The clock runs from the first record to the last: connecting, the
   * metadata and the first fetch's round trip are start-up, not reading
   * (bench/rdkafka_bench.c times librdkafka's consumer the same way). */
  uint64_t n = 0, bytes = 0;
  int64_t start = 0, last = 0;
  int idle = 0;
  while (!rc && (records < 0 || n < (uint64_t)records) && idle < 2) {
    const strata_message *m;
    rc = strata_consumer_poll(c, 1000, &m);
    if (rc == 1) {
      last = cli_mono_us();
      if (!start) start = last;
      n++;
      bytes += (uint64_t)(m->value_len > 0 ? m->value_len : 0) +
               (uint64_t)(m->key_len > 0 ? m->key_len : 0);
      idle = 0;
      rc = 0;
    } else if (rc == 0) {
      idle++;
    }
  }
  double secs = (double)(last - start) / 1e6;
  strata_consumer_free(c);
  if (rc < 0) return cli_fail("bench consume", strata_strerror(rc));
  if (secs <= 0) secs = 1e-6;
  printf("consume: %" PRIu64 " records in %.2f s: %.0f records/s, %.1f MB/s\n", n, secs,
         (double)n / secs, (double)bytes / secs / 1e6);
  return records > 0 && n < (uint64_t)records;
}

int cmd_bench(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : "";
  if (!strcmp(sub, "produce")) return bench_produce(argc - 2, argv + 2);
  if (!strcmp(sub, "consume")) return bench_consume(argc - 2, argv + 2);
  int help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
  fprintf(help ? stdout : stderr, "usage: strata bench produce|consume [--help]\n");
  return help ? 0 : 2;
}

#include "drill/kmember.h"
#include "drill/kproducer.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define KMEMBER_PARTITIONS_MAX 256

static volatile sig_atomic_t stopping;
static void on_term(int s) { (void)s; stopping = 1; }

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct kmember {
  FILE *out;
  const char *name, *group, *topic;
  int owned[KMEMBER_PARTITIONS_MAX];
  int64_t next[KMEMBER_PARTITIONS_MAX];      /* offset after the last record read; -1: none */
  int64_t committed[KMEMBER_PARTITIONS_MAX]; /* last commit this member made */
};

/* Commit the read position of one owned partition when it moved; the C
 * line is written only once the coordinator took it (a synchronous commit
 * whose per-partition error is checked too). */
static void commit_one(struct kmember *m, rd_kafka_t *rk, int32_t p) {
  if (p < 0 || p >= KMEMBER_PARTITIONS_MAX || !m->owned[p]) return;
  int64_t pos = m->next[p];
  if (pos < 0 || pos == m->committed[p]) return;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, m->topic, p)->offset = pos;
  if (!rd_kafka_commit(rk, l, 0) && !l->elems[0].err) {
    m->committed[p] = pos;
    fprintf(m->out, "C %" PRId64 " %s %d %" PRId64 "\n", mono_us(), m->group, p, pos);
  }
  rd_kafka_topic_partition_list_destroy(l);
}

static void commit_all(struct kmember *m, rd_kafka_t *rk) {
  for (int32_t p = 0; p < KMEMBER_PARTITIONS_MAX; p++) commit_one(m, rk, p);
}

/* Ownership starts (o) with an assignment; it ends with a revocation (x,
 * after committing what was read) or, when librdkafka says the assignment
 * was lost (session timed out, fenced), without a commit (l). */
static void own(struct kmember *m, const rd_kafka_topic_partition_list_t *l, char kind) {
  for (int i = 0; i < l->cnt; i++) {
    int32_t p = l->elems[i].partition;
    if (p < 0 || p >= KMEMBER_PARTITIONS_MAX) continue;
    m->owned[p] = kind == 'o';
    m->next[p] = m->committed[p] = -1;
    fprintf(m->out, "%c %" PRId64 " %s %d\n", kind, mono_us(), m->name, p);
  }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  struct kmember *m = opaque;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, parts);
    own(m, parts, 'o');
    return;
  }
  int lost = rd_kafka_assignment_lost(rk);
  if (!lost)
    for (int i = 0; i < parts->cnt; i++) commit_one(m, rk, parts->elems[i].partition);
  rd_kafka_assign(rk, NULL);
  own(m, parts, lost ? 'l' : 'x');
}

/* librdkafka's log to the member's stderr (its log file in the folder). */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  fprintf(stderr, "%d %s %s\n", level, fac, buf);
}

int drill_kmember_main(const char *bootstrap, const strata_security *sec, const char *topic,
                       const char *group, const char *name, const char *history_path) {
  signal(SIGTERM, on_term);
  signal(SIGINT, SIG_IGN); /* the drill stops its members itself */
  static struct kmember m;
  m.name = name, m.group = group, m.topic = topic;
  for (int i = 0; i < KMEMBER_PARTITIONS_MAX; i++) m.next[i] = m.committed[i] = -1;
  m.out = fopen(history_path, "a");
  if (!m.out) return 2;
  setvbuf(m.out, NULL, _IOLBF, 0);
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  static const char *const set[][2] = {
      {"enable.auto.commit", "false"}, /* commits are recorded, so the member makes them */
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"session.timeout.ms", "3000"}, /* as the native members' */
      {"heartbeat.interval.ms", "500"},
      {"topic.metadata.refresh.interval.ms", "1000"},
      {"fetch.wait.max.ms", "100"},
      {"socket.timeout.ms", "5000"}, /* as the producer's: a paused broker is given up after 5 s */
  };
  int bad = rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ||
            rd_kafka_conf_set(conf, "group.id", group, err, sizeof err) ||
            rd_kafka_conf_set(conf, "client.id", name, err, sizeof err) ||
            kproducer_conf_security(conf, sec, err, sizeof err);
  for (size_t i = 0; !bad && i < sizeof set / sizeof set[0]; i++)
    bad = rd_kafka_conf_set(conf, set[i][0], set[i][1], err, sizeof err) != RD_KAFKA_CONF_OK;
  rd_kafka_conf_set_log_cb(conf, on_log);
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  rd_kafka_conf_set_opaque(conf, &m);
  rd_kafka_t *rk = bad ? NULL : rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    fprintf(stderr, "member %s: %s\n", name, err);
    fclose(m.out);
    return 2;
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (e) {
    fprintf(stderr, "member %s: cannot subscribe: %s\n", name, rd_kafka_err2str(e));
    rd_kafka_destroy(rk);
    fclose(m.out);
    return 2;
  }
  int64_t next_commit = mono_us() + 200000;
  while (!stopping) {
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
    if (msg && !msg->err && msg->partition >= 0 && msg->partition < KMEMBER_PARTITIONS_MAX &&
        m.owned[msg->partition]) {
      fprintf(m.out, "R %" PRId64 " %s %d %" PRId64 " %.*s\n", mono_us(), name, msg->partition,
              msg->offset, (int)msg->len, (const char *)msg->payload);
      m.next[msg->partition] = msg->offset + 1;
    } else if (msg && msg->err && msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      fprintf(stderr, "member %s: %s\n", name, rd_kafka_message_errstr(msg));
    }
    if (msg) rd_kafka_message_destroy(msg);
    if (mono_us() >= next_commit) {
      next_commit = mono_us() + 200000;
      commit_all(&m, rk);
    }
  }
  commit_all(&m, rk);
  rd_kafka_consumer_close(rk); /* leaves the group: its revoke lines come from here */
  rd_kafka_destroy(rk);
  fclose(m.out);
  return 0;
}

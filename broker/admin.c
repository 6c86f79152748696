#include "broker/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/console.h"
#include "broker/integrity.h"
#include "broker/kafka_fetch_session.h"
#include "broker/rsess.h"
#include "common/admin_answer.h"
#include "common/errors.h"
#include "common/prom.h"
#include "common/textbuf.h"
#include "proto/strata.pb-c.h"
#include "replication/replica.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

void admin_init(struct broker_admin *a, struct broker *b) {
  memset(a, 0, sizeof *a);
  a->b = b;
}

/* Totals as leader over every topic: what /v1/rates samples. */
static struct admin_rate totals(const struct broker *b) {
  struct admin_rate r = {b->wall_ms, 0, 0, 0};
  for (size_t i = 0; i < b->topics.n; i++) {
    r.bytes_in += b->topics.v[i]->bytes_in;
    r.bytes_out += b->topics.v[i]->bytes_out;
    r.records_in += b->topics.v[i]->records_in;
  }
  return r;
}

void admin_sample(struct broker_admin *a) {
  a->rates[a->next] = totals(a->b);
  a->next = (a->next + 1) % ADMIN_RATES_MAX;
  if (a->nrates < ADMIN_RATES_MAX) a->nrates++;
}

/* ---- partitions as this broker sees them ---- */

static int led_here(const struct broker *b, const struct partition *p) {
  return !b->cluster || p->rep.role == ROLE_LEADER;
}

static int offline(const struct broker *b, const struct partition *p) {
  return b->cluster && p->rep.leader < 0 && p->rep.isr.nreplicas > 0;
}

static int under_replicated(const struct broker *b, const struct partition *p) {
  return b->cluster && p->rep.role == ROLE_LEADER && p->rep.isr.nisr < p->rep.isr.nreplicas;
}

static int under_min_isr(const struct broker *b, const struct partition *p) {
  return b->cluster && p->rep.role == ROLE_LEADER && p->rep.isr.nisr < p->topic->min_insync;
}

/* Records the leader has that follower `f` has not fetched. */
static int64_t follower_lag(const struct partition *p, const struct follower *f) {
  int64_t end = seglog_end_offset(p->log), start = seglog_start_offset(p->log);
  int64_t at = f->fetch_offset >= 0 ? f->fetch_offset : start;
  return end > at ? end - at : 0;
}

static int is_internal(const char *topic) { return topic[0] == '_' && topic[1] == '_'; }

const char *admin_not_ready(const struct broker *b) {
  if (!b->cluster) return NULL;
  if (b->foreign_controller) return "the controller belongs to another cluster";
  if (b->broker_epoch <= 0) return "not registered with the controller";
  if (b->image_version <= 0) return "no metadata image yet";
  const struct peer *me = broker_peer(b, b->cfg.id);
  if (me && me->fenced) return "fenced by the controller";
  if (broker_cut_off(b)) return "cut off from the controller";
  return NULL;
}

/* ---- /metrics ---- */

static const char *api_name(int slot, char *buf, size_t len) {
  if (slot == METRICS_API_FETCH_FOLLOWER) return "fetch_follower";
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&strata__api_key__descriptor, slot);
  if (!v) {
    snprintf(buf, len, "api_%d", slot);
    return buf;
  }
  const char *n = strncmp(v->name, "API_", 4) ? v->name : v->name + 4;
  size_t i = 0;
  for (; n[i] && i + 1 < len; i++) buf[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] + 32 : n[i]);
  buf[i] = 0;
  return buf;
}

static void tp_labels(struct textbuf *t, const char *name, const struct partition *p) {
  textbuf_printf(t, "%s{topic=\"", name);
  textbuf_prom_label(t, p->topic->name);
  textbuf_printf(t, "\",partition=\"%u\"}", p->id);
}

static void topic_counter(struct textbuf *t, const struct broker *b, const char *name,
                          const char *help, size_t field) {
  prom_family(t, name, "counter", help);
  for (size_t i = 0; i < b->topics.n; i++) {
    const struct topic *tp = b->topics.v[i];
    textbuf_printf(t, "%s{topic=\"", name);
    textbuf_prom_label(t, tp->name);
    textbuf_printf(t, "\"} %llu\n", (unsigned long long)*(const uint64_t *)((const char *)tp + field));
  }
}

/* One loop over the partitions per family keeps each family's samples
 * together, as the format requires; a scrape costs O(partitions). */
static void partition_metrics(struct textbuf *t, const struct broker *b) {
  uint64_t leaders = 0, followers = 0, urp = 0, umi = 0;
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++) {
      const struct partition *p = b->topics.v[i]->parts[k];
      leaders += led_here(b, p);
      followers += b->cluster && p->rep.role == ROLE_FOLLOWER;
      urp += under_replicated(b, p);
      umi += under_min_isr(b, p);
    }
  prom_family(t, "strata_broker_partitions", "gauge", "Partition replicas on this broker by role.");
  textbuf_printf(t, "strata_broker_partitions{role=\"leader\"} %llu\n", (unsigned long long)leaders);
  textbuf_printf(t, "strata_broker_partitions{role=\"follower\"} %llu\n",
                 (unsigned long long)followers);
  prom_family(t, "strata_broker_under_replicated_partitions", "gauge",
              "Partitions led here whose ISR is smaller than their replica set.");
  prom_sample_u(t, "strata_broker_under_replicated_partitions", urp);
  prom_family(t, "strata_broker_under_min_isr_partitions", "gauge",
              "Partitions led here whose ISR is below min.insync.replicas (acks=all refused).");
  prom_sample_u(t, "strata_broker_under_min_isr_partitions", umi);
  prom_family(t, "strata_log_corrupt_batches_total", "counter",
              "Damaged batches (CRC, header or length check failed) found in this broker's logs "
              "by reads and the scrubber since it started.");
  prom_sample_u(t, "strata_log_corrupt_batches_total", b->metrics.corrupt_batches);
  prom_family(t, "strata_log_damaged_partitions", "gauge",
              "Partition replicas here with a damaged batch found, or repairing from the leader.");
  prom_sample_u(t, "strata_log_damaged_partitions", integrity_damaged_count(b));
  prom_family(t, "strata_log_scrub_bytes_total", "counter", "Bytes the scrubber read and checked.");
  prom_sample_u(t, "strata_log_scrub_bytes_total", b->metrics.scrub_bytes);

  static const struct {
    const char *name, *help;
  } fam[] = {
      {"strata_partition_under_replicated", "1 when the partition (led here) lacks ISR members."},
      {"strata_partition_high_watermark", "Offset below which records are committed."},
      {"strata_partition_log_start_offset", "First offset kept in the partition's log."},
      {"strata_partition_log_end_offset", "Offset the partition's next record gets."},
      {"strata_partition_size_bytes", "Bytes of the partition's segments on disk."},
  };
  for (int f = 0; f < 5; f++) {
    prom_family(t, fam[f].name, "gauge", fam[f].help);
    for (size_t i = 0; i < b->topics.n; i++)
      for (uint32_t k = 0; k < b->topics.v[i]->npart; k++) {
        const struct partition *p = b->topics.v[i]->parts[k];
        if (!led_here(b, p)) continue;
        int64_t v = f == 0   ? under_replicated(b, p)
                    : f == 1 ? broker_high_watermark(b, p)
                    : f == 2 ? seglog_start_offset(p->log)
                    : f == 3 ? seglog_end_offset(p->log)
                             : (int64_t)seglog_size_bytes(p->log);
        tp_labels(t, fam[f].name, p);
        textbuf_printf(t, " %lld\n", (long long)v);
      }
  }
  prom_family(t, "strata_partition_replica_lag_records", "gauge",
              "Records the leader has that a follower has not fetched.");
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++) {
      const struct partition *p = b->topics.v[i]->parts[k];
      if (!b->cluster || p->rep.role != ROLE_LEADER) continue;
      for (uint32_t r = 0; r < p->rep.isr.nreplicas; r++) {
        int32_t id = p->rep.isr.replicas[r];
        if (id == b->cfg.id) continue;
        const struct follower *fo = isr_follower(&p->rep.isr, id);
        struct follower unknown = {.id = id, .fetch_offset = -1};
        textbuf_puts(t, "strata_partition_replica_lag_records{topic=\"");
        textbuf_prom_label(t, p->topic->name);
        textbuf_printf(t, "\",partition=\"%u\",replica=\"%d\"} %lld\n", p->id, id,
                       (long long)follower_lag(p, fo ? fo : &unknown));
      }
    }
}

static int64_t partition_hw_here(const struct broker *b, const struct partition *p) {
  if (b->cluster && p->rep.role == ROLE_NONE) return -1;
  return broker_high_watermark(b, p);
}

static void group_metrics(struct textbuf *t, const struct broker *b) {
  const struct coordinator *c = &b->coord;
  prom_family(t, "strata_consumer_group_members", "gauge", "Members of a group coordinated here.");
  for (size_t i = 0; i < c->n; i++) {
    textbuf_puts(t, "strata_consumer_group_members{group=\"");
    textbuf_prom_label(t, c->groups[i]->g.id);
    textbuf_printf(t, "\"} %zu\n", c->groups[i]->g.nmembers);
  }
  prom_family(t, "strata_consumer_group_rebalances_total", "counter",
              "Group epoch bumps (membership or subscription changes) since this coordinator loaded it.");
  for (size_t i = 0; i < c->n; i++) {
    textbuf_puts(t, "strata_consumer_group_rebalances_total{group=\"");
    textbuf_prom_label(t, c->groups[i]->g.id);
    textbuf_printf(t, "\"} %d\n", c->groups[i]->g.epoch > 0 ? c->groups[i]->g.epoch : 0);
  }
  enum group_lag_metrics mode = b->cfg.group_lag_metrics;
  if (mode == GROUP_LAG_OFF) return;
  if (mode == GROUP_LAG_PARTITION) {
    for (int f = 0; f < 2; f++) {
      const char *name = f ? "strata_consumer_group_lag_records" : "strata_consumer_group_committed_offset";
      prom_family(t, name, "gauge",
                  f ? "High watermark minus the group's committed offset (from the coordinator)."
                    : "The group's committed offset (from the coordinator).");
      for (size_t i = 0; i < c->n; i++) {
        const struct cgroup *g = c->groups[i];
        for (size_t k = 0; k < g->noffsets; k++) {
          const struct committed *o = &g->offsets[k];
          int64_t v = o->offset;
          if (f) {
            const struct partition *p = topics_partition(&b->topics, o->topic, o->partition);
            int64_t hw = p ? partition_hw_here(b, p) : -1;
            if (hw < 0) continue;
            v = hw > o->offset ? hw - o->offset : 0;
          }
          textbuf_printf(t, "%s{group=\"", name);
          textbuf_prom_label(t, g->g.id);
          textbuf_puts(t, "\",topic=\"");
          textbuf_prom_label(t, o->topic);
          textbuf_printf(t, "\",partition=\"%u\"} %lld\n", o->partition, (long long)v);
        }
      }
    }
  }
  for (int f = 0; f < 2; f++) {
    const char *name = f ? "strata_consumer_group_lag_max_records" : "strata_consumer_group_lag_sum_records";
    prom_family(t, name, "gauge",
                f ? "The largest partition lag of a group." : "Lag summed over a group's partitions.");
    for (size_t i = 0; i < c->n; i++) {
      const struct cgroup *g = c->groups[i];
      int64_t sum = 0, max = 0;
      for (size_t k = 0; k < g->noffsets; k++) {
        const struct committed *o = &g->offsets[k];
        const struct partition *p = topics_partition(&b->topics, o->topic, o->partition);
        int64_t hw = p ? partition_hw_here(b, p) : -1;
        int64_t lag = hw > o->offset ? hw - o->offset : 0;
        sum += lag;
        if (lag > max) max = lag;
      }
      textbuf_printf(t, "%s{group=\"", name);
      textbuf_prom_label(t, g->g.id);
      textbuf_printf(t, "\"} %lld\n", (long long)(f ? max : sum));
    }
  }
}

static void render_metrics(struct broker_admin *a, struct textbuf *t) {
  const struct broker *b = a->b;
  const struct broker_metrics *m = &b->metrics;
  prom_family(t, "strata_build_info", "gauge", "Always 1: the version and role of this server.");
  textbuf_printf(t, "strata_build_info{version=\"%s\",role=\"broker\",id=\"%d\"} 1\n", STRATA_VERSION,
                 b->cfg.id);
  prom_process(t);
  prom_family(t, "strata_event_loop_idle_seconds_total", "counter",
              "Time the event loop waited for events (rate: idle fraction).");
  prom_sample_d(t, "strata_event_loop_idle_seconds_total", a->loop_idle_s);
  prom_disk(t, b->cfg.log_dir);

  prom_family(t, "strata_log_fsync_duration_seconds", "histogram",
              "Duration of one log sync (fdatasync of appended segments).");
  prom_histogram_write(t, "strata_log_fsync_duration_seconds", "log=\"partition\"", &m->fsync);
  ack_probe_write(t, &m->ack);
  prom_family(t, "strata_log_fsync_errors_total", "counter", "Log syncs that failed (EIO).");
  textbuf_printf(t, "strata_log_fsync_errors_total{log=\"partition\"} %llu\n",
                 (unsigned long long)m->fsync_errors);
  /* The partition logs' descriptor cache (broker/fdcache.h): opens per
   * second high and steady means the cache is too small for the partitions
   * in use (raise ulimit -n, or lower max.connections). */
  prom_family(t, "strata_log_open_files", "gauge",
              "Partition log files open now (the descriptor cache), and its capacity.");
  textbuf_printf(t, "strata_log_open_files{kind=\"open\"} %u\n", b->log_fds.n);
  textbuf_printf(t, "strata_log_open_files{kind=\"max\"} %u\n", b->log_fds.max);
  prom_family(t, "strata_log_file_opens_total", "counter",
              "Partition log files opened (again) on use, and closed to make room.");
  textbuf_printf(t, "strata_log_file_opens_total{kind=\"opened\"} %llu\n",
                 (unsigned long long)b->log_fds.opens);
  textbuf_printf(t, "strata_log_file_opens_total{kind=\"evicted\"} %llu\n",
                 (unsigned long long)b->log_fds.evictions);

  prom_connections(t, a->client_conns, m->conns_opened, m->conns_refused, &a->admin_conns);
  prom_authentications(t, m->auth_success, m->auth_failure);
  if (b->kafka_sessions) { /* Kafka fetch sessions (KIP-227), once a Fetch v7+ came */
    const struct kfs_cache *fc = b->kafka_sessions;
    prom_family(t, "strata_kafka_fetch_sessions", "gauge",
                "Kafka fetch sessions (KIP-227) held now, and the cache's slots.");
    textbuf_printf(t, "strata_kafka_fetch_sessions{kind=\"open\"} %zu\n", fc->n);
    textbuf_printf(t, "strata_kafka_fetch_sessions{kind=\"slots\"} %zu\n", fc->slots);
    prom_family(t, "strata_kafka_fetch_session_events_total", "counter",
                "Kafka fetch sessions created, refused (cache full), evicted, closed; "
                "incremental fetches served and refused (70 not found, 71 epoch, 106 topic ids).");
    const struct { const char *n; uint64_t v; } ev[] = {
        {"created", fc->stats.created},       {"refused_full", fc->stats.refused_full},
        {"evicted", fc->stats.evicted},       {"closed", fc->stats.closed},
        {"incremental", fc->stats.incremental}, {"not_found", fc->stats.not_found},
        {"bad_epoch", fc->stats.bad_epoch},   {"topic_id_mismatch", fc->stats.topic_id_mismatch}};
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
      textbuf_printf(t, "strata_kafka_fetch_session_events_total{event=\"%s\"} %llu\n", ev[i].n,
                     (unsigned long long)ev[i].v);
  }
  if (b->cluster) { /* replica fetch sessions (KIP-227 on the native follower fetch) */
    const struct rsess_cache *rc = b->replica_sessions;
    const struct follow_index *fx = &b->follow;
    prom_family(t, "strata_replica_fetch_session_events_total", "counter",
                "Follower fetch sessions (KIP-227): as follower, full and incremental fetches "
                "sent and sessions started over; as leader, sessions created, incremental "
                "fetches served and refused.");
    const struct { const char *n; uint64_t v; } ev[] = {
        {"follower_full", fx->full_fetches},
        {"follower_incremental", fx->incremental_fetches},
        {"follower_reset", fx->session_resets},
        {"leader_created", rc ? rc->stats.created : 0},
        {"leader_incremental", rc ? rc->stats.incremental : 0},
        {"leader_refused", rc ? rc->stats.refused : 0}};
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
      textbuf_printf(t, "strata_replica_fetch_session_events_total{event=\"%s\"} %llu\n",
                     ev[i].n, (unsigned long long)ev[i].v);
  }
  prom_tls(t, a->tls_not_after, a->tls_failures);

  prom_family(t, "strata_request_duration_seconds", "histogram",
              "From a request's frame read to its answer queued, by API.");
  for (int s = 0; s <= METRICS_API_SLOTS; s++) {
    if (!m->request[s].count) continue;
    char nb[48], lb[64];
    snprintf(lb, sizeof lb, "api=\"%s\"", api_name(s, nb, sizeof nb));
    prom_histogram_write(t, "strata_request_duration_seconds", lb, &m->request[s]);
  }
  prom_family(t, "strata_requests_total", "counter",
              "Answers by API and error (none: success; a produce counts its first partition's).");
  for (int s = 0; s <= METRICS_API_SLOTS; s++) {
    char nb[48];
    const char *api = NULL;
    for (int e = 0; e < METRICS_ERRORS; e++) {
      if (!m->answers[s][e]) continue;
      if (!api) api = api_name(s, nb, sizeof nb);
      char en[48];
      const char *n = e ? strata_errname(-e) : "none";
      size_t k = 0;
      for (; n[k] && k + 1 < sizeof en; k++) en[k] = (char)(n[k] >= 'A' && n[k] <= 'Z' ? n[k] + 32 : n[k]);
      en[k] = 0;
      textbuf_printf(t, "strata_requests_total{api=\"%s\",error=\"%s\"} %llu\n", api, en,
                     (unsigned long long)m->answers[s][e]);
    }
  }
  prom_family(t, "strata_requests_waiting", "gauge",
              "Parked requests: acks=all produces and long-poll fetches.");
  textbuf_printf(t, "strata_requests_waiting{kind=\"produce\"} %zu\n", a->waiting_produce);
  textbuf_printf(t, "strata_requests_waiting{kind=\"fetch\"} %zu\n", a->waiting_fetch);

  prom_family(t, "strata_broker_controller_connected", "gauge",
              "1 while this broker holds a live session with the controller.");
  prom_sample_u(t, "strata_broker_controller_connected",
                b->cluster && b->broker_epoch > 0 && !broker_cut_off(b));
  if (b->cluster) {
    prom_family(t, "strata_broker_metadata_age_seconds", "gauge",
                "Seconds since the last heartbeat the controller answered was sent.");
    prom_sample_d(t, "strata_broker_metadata_age_seconds",
                  b->controller_contact_ms > 0 ? (double)(b->now_ms - b->controller_contact_ms) / 1000
                                               : -1);
  }
  partition_metrics(t, b);
  topic_counter(t, b, "strata_isr_shrinks_total", "ISR shrinks of partitions led here.",
                offsetof(struct topic, isr_shrinks));
  topic_counter(t, b, "strata_isr_expands_total", "ISR expansions of partitions led here.",
                offsetof(struct topic, isr_expands));
  topic_counter(t, b, "strata_topic_bytes_in_total", "Batch bytes appended for producers (as leader).",
                offsetof(struct topic, bytes_in));
  topic_counter(t, b, "strata_topic_bytes_out_total", "Batch bytes sent to consumers (as leader).",
                offsetof(struct topic, bytes_out));
  topic_counter(t, b, "strata_topic_records_in_total", "Records appended for producers (as leader).",
                offsetof(struct topic, records_in));
  prom_family(t, "strata_replication_bytes_total", "counter",
              "Batch bytes replicated: in as follower, out as leader.");
  textbuf_printf(t, "strata_replication_bytes_total{direction=\"in\"} %llu\n",
                 (unsigned long long)m->replication_in);
  textbuf_printf(t, "strata_replication_bytes_total{direction=\"out\"} %llu\n",
                 (unsigned long long)m->replication_out);
  group_metrics(t, b);
}

/* ---- JSON ---- */

static void json_ids(struct textbuf *t, const int32_t *v, uint32_t n) {
  textbuf_puts(t, "[");
  for (uint32_t i = 0; i < n; i++) textbuf_printf(t, "%s%d", i ? "," : "", v[i]);
  textbuf_puts(t, "]");
}

#define ADMIN_QUORUM_WANT_MS 10000 /* keep asking the quorum this long after a /v1/cluster */

/* The controllers: the one this broker's session found active (its
 * address), the configured list, and the quorum as the active controller
 * last described it (each member's role, log end and lag). Asking for it
 * makes the session ask the quorum for a while (SESSION_QUORUM): the
 * console polls, so the quorum is at most a couple of seconds old. */
static void json_controller(struct broker *b, struct textbuf *t) {
  b->quorum_want_until_ms = b->now_ms + ADMIN_QUORUM_WANT_MS;
  textbuf_printf(t, "\"controller\":{\"id\":%d,\"connected\":%s,\"address\":",
                 b->cluster ? b->controller_id : -1,
                 b->cluster && b->broker_epoch > 0 && !broker_cut_off(b) ? "true" : "false");
  textbuf_json_str(t, b->cluster ? b->controller_at : "");
  textbuf_puts(t, ",\"controllers\":[");
  for (int i = 0; b->cluster && i < b->cfg.ncontrollers; i++) {
    char addr[300];
    snprintf(addr, sizeof addr, "%s:%d", b->cfg.controllers[i].host, b->cfg.controllers[i].port);
    if (i) textbuf_puts(t, ",");
    textbuf_json_str(t, addr);
  }
  textbuf_puts(t, "],\"quorum\":");
  const struct broker_quorum *q = &b->quorum;
  if (!b->cluster || !q->known) {
    textbuf_puts(t, "null},");
    return;
  }
  textbuf_printf(t, "{\"epoch\":%d,\"leader\":%d,\"high_watermark\":%lld,\"log_end_offset\":%lld,"
                 "\"age_ms\":%lld,\"members\":[", q->epoch, q->leader_id, (long long)q->high_watermark,
                 (long long)q->log_end_offset, (long long)(b->now_ms - q->at_ms));
  for (uint32_t i = 0; i < q->n; i++) {
    const struct broker_quorum_member *m = &q->m[i];
    const char *role = m->id == q->leader_id ? "leader" : m->voter ? "follower" : "observer";
    long long lag = m->log_end_offset < 0 ? -1
                    : q->log_end_offset > m->log_end_offset ? q->log_end_offset - m->log_end_offset : 0;
    textbuf_printf(t, "%s{\"id\":%d,\"role\":\"%s\",\"voter\":%s,\"log_end_offset\":%lld,"
                   "\"lag\":%lld}", i ? "," : "", m->id, role, m->voter ? "true" : "false",
                   (long long)m->log_end_offset, lag);
  }
  textbuf_puts(t, "]}},");
}

static void render_cluster(struct broker_admin *a, struct textbuf *t) {
  const struct broker *b = a->b;
  const char *why = admin_not_ready(b);
  textbuf_puts(t, "{\"node\":{\"role\":\"broker\",");
  textbuf_printf(t, "\"id\":%d,\"version\":\"%s\",\"cluster_id\":", b->cfg.id, STRATA_VERSION);
  textbuf_json_str(t, b->cluster_id);
  textbuf_printf(t, ",\"ready\":%s,\"reason\":", why ? "false" : "true");
  textbuf_json_str(t, why ? why : "");
  textbuf_printf(t, ",\"time_ms\":%lld},", (long long)b->wall_ms);
  json_controller(a->b, t);
  textbuf_puts(t, "\"brokers\":[");
  if (!b->cluster)
    admin_json_broker(t, 1, b->cfg.id, b->cfg.host, (unsigned)b->cfg.port, b->cfg.rack, 0, 0,
                      b->admin_addr);
  for (size_t i = 0; b->cluster && i < b->npeers; i++) {
    const struct peer *p = &b->peers[i];
    admin_json_broker(t, i == 0, p->id, p->host, (unsigned)p->port, p->rack, p->epoch, p->fenced,
                      p->admin);
  }
  uint64_t parts = 0, leaders = 0, followers = 0, urp = 0, umi = 0, off = 0;
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++) {
      const struct partition *p = b->topics.v[i]->parts[k];
      parts++;
      leaders += led_here(b, p);
      followers += b->cluster && p->rep.role == ROLE_FOLLOWER;
      urp += under_replicated(b, p);
      umi += under_min_isr(b, p);
      off += offline(b, p);
    }
  struct admin_rate r = totals(b);
  textbuf_printf(t,
                 "],\"totals\":{\"topics\":%zu,\"partitions\":%llu,\"leaders\":%llu,"
                 "\"followers\":%llu,\"under_replicated\":%llu,\"under_min_isr\":%llu,"
                 "\"offline\":%llu,\"bytes_in_total\":%llu,\"bytes_out_total\":%llu,"
                 "\"records_in_total\":%llu}}\n",
                 b->topics.n, (unsigned long long)parts, (unsigned long long)leaders,
                 (unsigned long long)followers, (unsigned long long)urp, (unsigned long long)umi,
                 (unsigned long long)off, (unsigned long long)r.bytes_in,
                 (unsigned long long)r.bytes_out, (unsigned long long)r.records_in);
}

/* By name, internal topics (__consumer_offsets) last: a console's first
 * page shows the user's topics. Every broker sorts the same way, so a page
 * asked of each holds the same partitions. */
static int by_name(const void *x, const void *y) {
  const char *a = (*(struct topic *const *)x)->name, *b = (*(struct topic *const *)y)->name;
  if (is_internal(a) != is_internal(b)) return is_internal(a) - is_internal(b);
  return strcmp(a, b);
}

/* The topics sorted by name, those whose name contains filter (NULL: all). */
static struct topic **sorted_topics(const struct broker *b, const char *filter, size_t *n) {
  struct topic **v = malloc((b->topics.n + 1) * sizeof *v);
  *n = 0;
  if (!v) return NULL;
  for (size_t i = 0; i < b->topics.n; i++)
    if (!filter || !*filter || strstr(b->topics.v[i]->name, filter)) v[(*n)++] = b->topics.v[i];
  qsort(v, *n, sizeof *v, by_name);
  return v;
}

static size_t query_size(const struct http_request *req, const char *key, size_t dflt, size_t max) {
  char v[32];
  if (!http_query_get(req, key, v, sizeof v) || !*v) return dflt;
  char *end;
  unsigned long long n = strtoull(v, &end, 10);
  if (*end || v[0] == '-') return dflt;
  return n > max ? max : (size_t)n;
}

static void render_topics(struct broker_admin *a, const struct http_request *req, struct textbuf *t) {
  const struct broker *b = a->b;
  char filter[256];
  http_query_get(req, "filter", filter, sizeof filter);
  size_t offset = query_size(req, "offset", 0, SIZE_MAX / 2);
  size_t limit = query_size(req, "limit", PAGE_DEFAULT, PAGE_MAX);
  size_t n;
  struct topic **v = sorted_topics(b, filter, &n);
  textbuf_printf(t, "{\"total\":%zu,\"offset\":%zu,\"limit\":%zu,\"topics\":[", n, offset, limit);
  for (size_t i = offset, shown = 0; v && i < n && shown < limit; i++, shown++) {
    const struct topic *tp = v[i];
    uint64_t urp = 0, off = 0;
    for (uint32_t k = 0; k < tp->npart; k++) {
      urp += under_replicated(b, tp->parts[k]);
      off += offline(b, tp->parts[k]);
    }
    textbuf_printf(t, "%s{\"name\":", shown ? "," : "");
    textbuf_json_str(t, tp->name);
    textbuf_printf(t,
                   ",\"partitions\":%u,\"internal\":%s,\"under_replicated\":%llu,\"offline\":%llu,"
                   "\"bytes_in_total\":%llu,\"bytes_out_total\":%llu,\"records_in_total\":%llu}",
                   tp->npart, is_internal(tp->name) ? "true" : "false", (unsigned long long)urp,
                   (unsigned long long)off, (unsigned long long)tp->bytes_in,
                   (unsigned long long)tp->bytes_out, (unsigned long long)tp->records_in);
  }
  textbuf_puts(t, "]}\n");
  free(v);
}

static void partition_json(struct textbuf *t, const struct broker *b, const struct partition *p) {
  textbuf_puts(t, "{\"topic\":");
  textbuf_json_str(t, p->topic->name);
  const char *role = !b->cluster || p->rep.role == ROLE_LEADER ? "leader"
                     : p->rep.role == ROLE_FOLLOWER            ? "follower"
                                                               : "none";
  int32_t self = b->cfg.id;
  textbuf_printf(t, ",\"partition\":%u,\"leader\":%d,\"leader_epoch\":%d,\"replicas\":", p->id,
                 b->cluster ? p->rep.leader : self, b->cluster ? p->rep.leader_epoch : 0);
  if (b->cluster) json_ids(t, p->rep.isr.replicas, p->rep.isr.nreplicas);
  else json_ids(t, &self, 1);
  textbuf_puts(t, ",\"isr\":");
  if (b->cluster) json_ids(t, p->rep.isr.isr, p->rep.isr.nisr);
  else json_ids(t, &self, 1);
  textbuf_printf(t,
                 ",\"role\":\"%s\",\"high_watermark\":%lld,\"log_start\":%lld,\"log_end\":%lld,"
                 "\"under_replicated\":%s,\"offline\":%s,\"replica_lag\":[",
                 role, (long long)partition_hw_here(b, p), (long long)seglog_start_offset(p->log),
                 (long long)seglog_end_offset(p->log), under_replicated(b, p) ? "true" : "false",
                 offline(b, p) ? "true" : "false");
  if (b->cluster && p->rep.role == ROLE_LEADER) {
    int first = 1;
    for (uint32_t r = 0; r < p->rep.isr.nreplicas; r++) {
      int32_t id = p->rep.isr.replicas[r];
      if (id == self) continue;
      const struct follower *fo = isr_follower(&p->rep.isr, id);
      struct follower unknown = {.id = id, .fetch_offset = -1};
      textbuf_printf(t, "%s{\"replica\":%d,\"lag\":%lld}", first ? "" : ",", id,
                     (long long)follower_lag(p, fo ? fo : &unknown));
      first = 0;
    }
  }
  textbuf_puts(t, "]}");
}

static void render_partitions(struct broker_admin *a, const struct http_request *req,
                              struct textbuf *t) {
  const struct broker *b = a->b;
  char filter[256], topic[256], urp_only[8];
  http_query_get(req, "filter", filter, sizeof filter);
  int exact = http_query_get(req, "topic", topic, sizeof topic) && *topic;
  http_query_get(req, "under_replicated", urp_only, sizeof urp_only);
  int only = !strcmp(urp_only, "1") || !strcmp(urp_only, "true");
  size_t offset = query_size(req, "offset", 0, SIZE_MAX / 2);
  size_t limit = query_size(req, "limit", PAGE_DEFAULT, PAGE_MAX);
  size_t n;
  struct topic **v = sorted_topics(b, exact ? NULL : filter, &n);
  size_t total = 0, shown = 0;
  textbuf_puts(t, "{\"partitions\":[");
  for (size_t i = 0; v && i < n; i++) {
    if (exact && strcmp(v[i]->name, topic)) continue;
    for (uint32_t k = 0; k < v[i]->npart; k++) {
      const struct partition *p = v[i]->parts[k];
      if (only && !under_replicated(b, p) && !offline(b, p)) continue;
      if (total++ < offset || shown >= limit) continue;
      if (shown++) textbuf_puts(t, ",");
      partition_json(t, b, p);
    }
  }
  textbuf_printf(t, "],\"total\":%zu,\"offset\":%zu,\"limit\":%zu}\n", total, offset, limit);
  free(v);
}

static void render_groups(struct broker_admin *a, struct textbuf *t) {
  const struct broker *b = a->b;
  const struct coordinator *c = &b->coord;
  textbuf_puts(t, "{\"groups\":[");
  for (size_t i = 0; i < c->n; i++) {
    const struct cgroup *cg = c->groups[i];
    const struct group *g = &cg->g;
    textbuf_printf(t, "%s{\"group\":", i ? "," : "");
    textbuf_json_str(t, g->id);
    textbuf_printf(t, ",\"coordinator\":%d,\"epoch\":%d,\"members\":[", b->cfg.id, g->epoch);
    for (size_t m = 0; m < g->nmembers; m++) {
      const struct group_member *gm = g->members[m];
      textbuf_printf(t, "%s{\"id\":", m ? "," : "");
      textbuf_json_str(t, gm->id);
      textbuf_puts(t, ",\"instance_id\":");
      textbuf_json_str(t, gm->instance_id);
      textbuf_printf(t, ",\"epoch\":%d,\"assignment\":[", gm->epoch);
      for (size_t k = 0; k < gm->nassigned; k++) {
        const struct tp *x = &gm->assigned[k];
        textbuf_printf(t, "%s{\"topic\":", k ? "," : "");
        textbuf_json_str(t, x->topic < g->ntopics ? g->topic_names[x->topic] : "?");
        textbuf_printf(t, ",\"partition\":%u}", x->partition);
      }
      textbuf_puts(t, "]}");
    }
    textbuf_puts(t, "],\"offsets\":[");
    int64_t total = 0;
    for (size_t k = 0; k < cg->noffsets; k++) {
      const struct committed *o = &cg->offsets[k];
      const struct partition *p = topics_partition(&b->topics, o->topic, o->partition);
      int64_t hw = p ? partition_hw_here(b, p) : -1;
      textbuf_printf(t, "%s{\"topic\":", k ? "," : "");
      textbuf_json_str(t, o->topic);
      textbuf_printf(t, ",\"partition\":%u,\"committed\":%lld,\"high_watermark\":%lld", o->partition,
                     (long long)o->offset, (long long)hw);
      if (hw >= 0) {
        int64_t lag = hw > o->offset ? hw - o->offset : 0;
        total += lag;
        textbuf_printf(t, ",\"lag\":%lld", (long long)lag);
      }
      textbuf_puts(t, "}");
    }
    textbuf_printf(t, "],\"lag_total\":%lld}", (long long)total);
  }
  textbuf_puts(t, "]}\n");
}

static void render_rates(struct broker_admin *a, struct textbuf *t) {
  textbuf_puts(t, "{\"interval_ms\":1000,\"samples\":[");
  size_t first = (a->next + ADMIN_RATES_MAX - a->nrates) % ADMIN_RATES_MAX;
  for (size_t i = 0; i < a->nrates; i++) {
    const struct admin_rate *r = &a->rates[(first + i) % ADMIN_RATES_MAX];
    textbuf_printf(t, "%s{\"time_ms\":%lld,\"bytes_in\":%llu,\"bytes_out\":%llu,\"records_in\":%llu}",
                   i ? "," : "", (long long)r->time_ms, (unsigned long long)r->bytes_in,
                   (unsigned long long)r->bytes_out, (unsigned long long)r->records_in);
  }
  textbuf_puts(t, "]}\n");
}

/* ---- routing ---- */


#define JSON "application/json"
#define TEXT "text/plain; charset=utf-8"

void admin_route(struct broker_admin *a, const struct http_request *req, struct http_answer *out) {
  struct textbuf t;
  textbuf_init(&t);
  out->status = 200;
  out->content_type = JSON;
  out->cors = 1;
  if (admin_is_path(req, "/")) {
    out->content_type = "text/html; charset=utf-8";
    out->cors = 0;
    textbuf_put(&t, console_html, console_html_len);
  } else if (admin_is_path(req, "/metrics")) {
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
    render_metrics(a, &t);
  } else if (admin_is_path(req, "/livez")) {
    textbuf_puts(&t, "{\"status\":\"live\"}\n");
  } else if (admin_is_path(req, "/readyz")) {
    const char *why = admin_not_ready(a->b);
    if (why) {
      out->status = 503;
      textbuf_puts(&t, "{\"status\":\"not ready\",\"reason\":");
      textbuf_json_str(&t, why);
      textbuf_puts(&t, "}\n");
    } else {
      textbuf_puts(&t, "{\"status\":\"ready\"}\n");
    }
  } else if (admin_is_path(req, "/v1/cluster")) {
    render_cluster(a, &t);
  } else if (admin_is_path(req, "/v1/topics")) {
    render_topics(a, req, &t);
  } else if (admin_is_path(req, "/v1/partitions")) {
    render_partitions(a, req, &t);
  } else if (admin_is_path(req, "/v1/groups")) {
    render_groups(a, &t);
  } else if (admin_is_path(req, "/v1/rates")) {
    render_rates(a, &t);
  } else {
    out->status = 404;
    out->content_type = TEXT;
    textbuf_puts(&t, "not found: see docs/admin.md for the endpoints\n");
  }
  admin_answer_body(&t, out);
}

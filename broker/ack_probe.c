/* The acks=all stage probe: see ack_probe.h. */
#include "broker/ack_probe.h"

#include "broker/broker.h"
#include "broker/response.h"
#include "broker/topics.h"

#include <stdlib.h>

#include "common/prom.h"
#include "common/textbuf.h"

const char *const ack_stage_names[ACK_STAGES] = {
    "leader_fsync", "follower_sent", "first_follower", "second_follower",
    "hw", "answer", "total"};

void ack_probe_append(struct broker *b, struct partition *p, int64_t end) {
  if (!b->now_us) return;
  if (!p->probe && !(p->probe = calloc(1, sizeof *p->probe))) return;
  struct ack_probe_entry *e = &p->probe->e[p->probe->next++ % ACK_PROBE_RING];
  if (e->end) b->metrics.ack.overwritten++; /* more than the ring waiting: a stall */
  *e = (struct ack_probe_entry){.end = end, .t_append = b->now_us, .first_id = -1};
  if (seglog_durable_offset(p->log) >= end) e->t_durable = b->now_us;
}

void ack_probe_durable(struct broker *b, struct partition *p, int64_t durable) {
  if (!p->probe || !b->now_us) return;
  for (int i = 0; i < ACK_PROBE_RING; i++) {
    struct ack_probe_entry *e = &p->probe->e[i];
    if (e->end && !e->t_durable && e->end <= durable) e->t_durable = b->now_us;
  }
}

void ack_probe_sent(struct broker *b, struct partition *p, int64_t upto) {
  if (!p->probe || !b->now_us) return;
  for (int i = 0; i < ACK_PROBE_RING; i++) {
    struct ack_probe_entry *e = &p->probe->e[i];
    if (e->end && !e->t_sent && e->end <= upto) e->t_sent = b->now_us;
  }
}

void ack_probe_reported(struct broker *b, struct partition *p, int32_t id, int64_t durable) {
  if (!p->probe || !b->now_us) return;
  for (int i = 0; i < ACK_PROBE_RING; i++) {
    struct ack_probe_entry *e = &p->probe->e[i];
    if (!e->end || e->end > durable || e->t_all) continue;
    if (!e->t_first) {
      e->t_first = b->now_us;
      e->first_id = id;
    } else if (e->first_id != id) {
      e->t_all = b->now_us;
    }
  }
}

const int64_t ack_probe_bounds_us[ACK_PROBE_BUCKETS] = {
    50,   100,  150,  200,   300,   400,   500,   700,   1000,  1500,   2000,
    3000, 4000, 5000, 7000, 10000, 15000, 20000, 30000, 50000, 100000, 1000000};

static void observe(struct broker *b, enum ack_stage st, int64_t from, int64_t to) {
  if (!from || !to || to < from) return;
  struct ack_probe_hist *h = &b->metrics.ack.h[st];
  int64_t us = to - from;
  int i = 0;
  while (i < ACK_PROBE_BUCKETS && us > ack_probe_bounds_us[i]) i++;
  h->counts[i]++;
  h->count++;
  h->sum_us += us;
  if (us > h->max_us) h->max_us = us;
}

void ack_probe_write(struct textbuf *t, const struct ack_probe_metrics *m) {
  const char *name = "strata_ack_stage_seconds";
  prom_family(t, name, "histogram",
              "acks=all answers led here, per stage: leader_fsync (handled to fsynced), "
              "follower_sent (handled to a follower's fetch answered with it), first_follower "
              "and second_follower (sent to that follower's fetch reporting it fsynced), hw "
              "(handled to the last of these), answer (that to the answer leaving), total.");
  for (int s = 0; s < ACK_STAGES; s++) {
    const struct ack_probe_hist *h = &m->h[s];
    if (!h->count) continue;
    uint64_t cum = 0;
    for (int i = 0; i < ACK_PROBE_BUCKETS; i++) {
      cum += h->counts[i];
      textbuf_printf(t, "%s_bucket{stage=\"%s\",le=\"%g\"} %llu\n", name, ack_stage_names[s],
                     (double)ack_probe_bounds_us[i] / 1e6, (unsigned long long)cum);
    }
    textbuf_printf(t, "%s_bucket{stage=\"%s\",le=\"+Inf\"} %llu\n", name, ack_stage_names[s],
                   (unsigned long long)h->count);
    textbuf_printf(t, "%s_sum{stage=\"%s\"} %.6f\n", name, ack_stage_names[s],
                   (double)h->sum_us / 1e6);
    textbuf_printf(t, "%s_count{stage=\"%s\"} %llu\n", name, ack_stage_names[s],
                   (unsigned long long)h->count);
  }
  prom_family(t, "strata_ack_stage_unmatched_total", "counter",
              "acks=all appends whose stages were not kept (more were waiting at once than the "
              "ring holds: a stall; total still counts their answers).");
  textbuf_printf(t, "strata_ack_stage_unmatched_total %llu\n", (unsigned long long)m->overwritten);
  prom_family(t, "strata_ack_stage_max_seconds", "gauge",
              "The longest of each acks=all stage since the broker started.");
  for (int s = 0; s < ACK_STAGES; s++)
    if (m->h[s].count)
      textbuf_printf(t, "strata_ack_stage_max_seconds{stage=\"%s\"} %.6f\n", ack_stage_names[s],
                     (double)m->h[s].max_us / 1e6);
}

static int64_t max64(int64_t a, int64_t c) { return a > c ? a : c; }

void ack_probe_answered(struct broker *b, const struct response *r, int64_t arrived_us) {
  if (!b->now_us) return;
  int any = 0;
  for (size_t i = 0; i < r->nwaits; i++) any |= r->waits[i].hw;
  if (any) observe(b, ACK_STAGE_TOTAL, arrived_us, b->now_us); /* every one, ring or not */
  for (size_t i = 0; i < r->nwaits; i++) {
    const struct wait_item *w = &r->waits[i];
    struct partition *p = w->p;
    if (!w->hw || !p->probe) continue;
    for (int k = 0; k < ACK_PROBE_RING; k++) {
      struct ack_probe_entry *e = &p->probe->e[k];
      if (e->end != w->offset) continue;
      observe(b, ACK_STAGE_FSYNC, e->t_append, e->t_durable);
      observe(b, ACK_STAGE_SENT, e->t_append, e->t_sent);
      observe(b, ACK_STAGE_FIRST, e->t_sent, e->t_first);
      observe(b, ACK_STAGE_ALL, e->t_sent, e->t_all);
      /* the high watermark needs every ISR member: the later of the two */
      int64_t last = max64(e->t_durable, max64(e->t_first, e->t_all));
      if (e->t_durable && e->t_first) {
        observe(b, ACK_STAGE_HW, e->t_append, last);
        observe(b, ACK_STAGE_ANSWER, last, b->now_us);
      }
      e->end = 0;
      break;
    }
  }
}


/* Offline partitions: the rules of offline.h. */
#include "broker/offline.h"

#include <inttypes.h>
#include <string.h>

#include "broker/broker.h"
#include "common/trace.h"

void offline_marked(struct broker *b, struct partition *p, const int32_t *ids,
                    const int32_t *errnos, uint32_t n) {
  p->noffline_ids = 0;
  p->offline_marked = 0;
  for (uint32_t i = 0; i < n && i < REPLICAS_MAX; i++) {
    p->offline_ids[p->noffline_ids] = ids[i];
    p->offline_errnos[p->noffline_ids++] = errnos[i];
    if (ids[i] == b->cfg.id) p->offline_marked = 1;
  }
}

/* One try to open p's log again, if due; the next one waits twice as long
 * (bounded). 1 when it opened. */
static int retry(struct broker *b, struct partition *p) {
  if (b->now_ms < p->offline_retry_ms) return 0;
  int was = p->offline_errno;
  if (!topics_reopen(&b->topics, p, b->now_ms)) {
    trace_info("%s-%u: its log opens again: back online on this broker", p->topic->name, p->id);
    p->offline_backoff_ms = 0;
    return 1;
  }
  int64_t next = p->offline_backoff_ms ? 2 * p->offline_backoff_ms : OFFLINE_RETRY_MIN_MS;
  p->offline_backoff_ms = next > OFFLINE_RETRY_MAX_MS ? OFFLINE_RETRY_MAX_MS : next;
  p->offline_retry_ms = b->now_ms + p->offline_backoff_ms;
  if (p->offline_errno != was)
    trace_error("%s-%u: still cannot open its log: %s (next try in %" PRId64 " ms)",
                p->topic->name, p->id, strerror(p->offline_errno), p->offline_backoff_ms);
  return 0;
}

int offline_tick(struct broker *b, void (*report)(void *arg, struct partition *p, int what),
                 void *arg) {
  if (!b->offline_walk) return 0;
  int any = 0, reopened = 0;
  for (size_t i = 0; i < b->topics.n; i++) {
    struct topic *tp = b->topics.v[i];
    for (uint32_t k = 0; k < tp->npart; k++) {
      struct partition *p = tp->parts[k];
      if (!p || p->deleted || (!topics_offline(p) && !p->offline_marked)) continue;
      any = 1;
      if (topics_offline(p) && retry(b, p)) reopened = 1;
      if (!b->cluster) continue;
      /* Tell the controller until its image agrees (it answers with a new
       * image; a lost answer is asked again a second later). */
      int want = topics_offline(p) ? 3 : 4; /* an unhosted one is not offline */
      int told = want == 3 ? p->offline_marked : !p->offline_marked;
      if (!told && !p->damage_sending && b->now_ms - p->damage_sent_ms >= OFFLINE_REPORT_MS) {
        p->damage_sent_ms = b->now_ms;
        report(arg, p, want);
      }
    }
  }
  b->offline_walk = any;
  return reopened;
}

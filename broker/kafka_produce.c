/* Kafka Produce (v3-8 served; v0-2 advertised, as librdkafka checks the
 * minimum, and refused per partition) as the native produce: the same
 * validation, idempotence dedupe, acks and durability waits. */
#include <string.h>

#include "broker/broker.h"
#include "broker/dispatch.h"
#include "broker/kafka_call.h"
#include "common/batch.h"
#include "common/errors.h"

/* Record batches (magic 2) came with Produce v3. */
#define PRODUCE_SERVED_MIN 3

/* Every partition of the request answered with err. */
static void *produce_refuse(struct kafka_call *k, int16_t err) {
  const struct kafka_produce_req *q = k->req;
  struct kafka_produce_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_produce_resp_desc, m);
  int32_t nt = q->n_topic_data > 0 ? q->n_topic_data : 0;
  m->responses = kc_alloc(k, (size_t)nt * sizeof *m->responses);
  for (int32_t i = 0; i < nt; i++) {
    const struct kafka_produce_req_topic_produce_data *t = &q->topic_data[i];
    struct kafka_produce_resp_topic_produce_response *rt = &m->responses[m->n_responses++];
    kafka_defaults(&kafka_produce_resp_topic_produce_response_desc, rt);
    rt->name = t->name;
    int32_t np = t->n_partition_data > 0 ? t->n_partition_data : 0;
    rt->partition_responses = kc_alloc(k, (size_t)np * sizeof *rt->partition_responses);
    for (int32_t j = 0; j < np; j++) {
      struct kafka_produce_resp_partition_produce_response *rp =
          &rt->partition_responses[rt->n_partition_responses++];
      kafka_defaults(&kafka_produce_resp_partition_produce_response_desc, rp);
      rp->index = t->partition_data[j].index;
      rp->error_code = err;
      rp->base_offset = -1;
    }
  }
  return m;
}

/* zstd came with Produce v7 (KIP-110): an older request carrying it is
 * refused with UNSUPPORTED_COMPRESSION_TYPE, as Kafka does. */
static int zstd_in(const struct kbytes *recs) {
  size_t off = 0, len = recs->len > 0 ? (size_t)recs->len : 0;
  while (off < len) {
    struct batch_header h;
    if (batch_header_decode(recs->p + off, len - off, &h)) return 0; /* validation says why */
    if ((h.attributes & 7) == BATCH_COMPRESSION_ZSTD) return 1;
    off += batch_total_size(&h);
  }
  return 0;
}

static void produce_start(struct broker *b, struct kafka_call *k, struct response *r) {
  struct kafka_produce_req *q = k->req;
  if (k->version < PRODUCE_SERVED_MIN) {
    k->resp = produce_refuse(k, KERR_UNSUPPORTED_VERSION);
    return;
  }
  if (q->transactional_id) { /* transactions are not served (README) */
    k->resp = produce_refuse(k, KERR_INVALID_REQUEST);
    return;
  }
  if (q->acks != 0 && q->acks != 1 && q->acks != -1) {
    k->resp = produce_refuse(k, KERR_INVALID_REQUIRED_ACKS);
    return;
  }
  size_t n = 0;
  for (int32_t i = 0; i < q->n_topic_data; i++) {
    n += q->topic_data[i].n_partition_data > 0 ? (size_t)q->topic_data[i].n_partition_data : 0;
    for (int32_t j = 0; k->version < 7 && j < q->topic_data[i].n_partition_data; j++)
      if (zstd_in(&q->topic_data[i].partition_data[j].records)) {
        k->resp = produce_refuse(k, KERR_UNSUPPORTED_COMPRESSION_TYPE);
        return;
      }
  }
  if (n > REQUEST_PARTITIONS_MAX) {
    k->resp = produce_refuse(k, KERR_INVALID_REQUEST);
    return;
  }
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_PRODUCE);
  Strata__ProduceRequest *pr = kc_alloc(k, sizeof *pr);
  strata__produce_request__init(pr);
  pr->acks = q->acks;
  pr->timeout_ms = q->timeout_ms > 0 ? (uint32_t)q->timeout_ms : 0;
  pr->partitions = kc_alloc(k, (n + 1) * sizeof *pr->partitions);
  h->body_case = STRATA__HEADER__BODY_PRODUCE_REQ;
  h->produce_req = pr;
  /* The native produce takes one payload, partitions back to back: move each
   * partition's records down over the Kafka framing between them (always
   * towards the frame's start, so nothing not yet moved is overwritten). */
  uint8_t *payload = NULL, *dst = NULL;
  uint32_t total = 0;
  for (int32_t i = 0; i < q->n_topic_data; i++) {
    const struct kafka_produce_req_topic_produce_data *t = &q->topic_data[i];
    for (int32_t j = 0; j < t->n_partition_data; j++) {
      const struct kafka_produce_req_partition_produce_data *d = &t->partition_data[j];
      Strata__ProducePartition *pp = kc_alloc(k, sizeof *pp);
      strata__produce_partition__init(pp);
      pp->topic = (char *)(t->name ? t->name : "");
      pp->partition = d->index < 0 ? UINT32_MAX : (uint32_t)d->index;
      uint32_t len = d->records.len > 0 ? (uint32_t)d->records.len : 0;
      if (len) {
        if (!payload) payload = dst = d->records.p;
        memmove(dst, d->records.p, len);
        dst += len;
      }
      pp->payload_bytes = len;
      total += len;
      pr->partitions[pr->n_partitions++] = pp;
    }
  }
  dispatch_handle(b, &k->who, h, payload, total, r);
}

static void *produce_answer(struct broker *b, struct kafka_call *k, const struct response *r) {
  (void)b;
  const Strata__Header *rep = kc_reply(r);
  const Strata__ProduceResponse *nr =
      rep->body_case == STRATA__HEADER__BODY_PRODUCE_RESP ? rep->produce_resp : NULL;
  struct kafka_produce_resp *m =
      produce_refuse(k, nr ? KERR_NONE : kafka_err((int)rep->error_code));
  if (!nr) return m;
  size_t at = 0;
  for (int32_t i = 0; i < m->n_responses; i++) {
    struct kafka_produce_resp_topic_produce_response *rt = &m->responses[i];
    for (int32_t j = 0; j < rt->n_partition_responses; j++, at++) {
      struct kafka_produce_resp_partition_produce_response *rp = &rt->partition_responses[j];
      if (at >= nr->n_partitions) {
        rp->error_code = KERR_UNKNOWN_SERVER_ERROR;
        continue;
      }
      const Strata__ProducePartitionResult *x = nr->partitions[at];
      rp->error_code = kafka_err((int)x->error_code);
      rp->base_offset = x->error_code ? -1 : x->base_offset;
      rp->log_append_time_ms = x->log_append_time;
      rp->log_start_offset = x->error_code ? -1 : x->log_start_offset;
      if (x->error_code && x->error_message && *x->error_message)
        rp->error_message = kc_strdup(k, x->error_message);
    }
  }
  return m;
}

const struct kafka_handler kafka_produce_handler = {KAFKA_PRODUCE, 0, 12, produce_start,
                                                    produce_answer};

/* The Kafka front door: the table of APIs served and their versions,
 * ApiVersions, and the walk from a frame to an answer (kafka_front.h). */
#include "broker/kafka_front.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/kafka_call.h"
#include "broker/kafka_groups.h"
#include "broker/sasl_handlers.h"
#include "common/bytes.h"
#include "common/errors.h"
#include "common/http_request.h"
#include "common/trace.h"

static void api_versions_start(struct broker *b, struct kafka_call *k, struct response *r);

static const struct kafka_handler api_versions_handler = {KAFKA_API_VERSIONS, 0, 4,
                                                          api_versions_start, NULL};

/* What the listener serves, by key. A version outside [min, max] is not
 * advertised and gets UNSUPPORTED_VERSION where its answer can say so. */
static const struct kafka_handler *const handlers[] = {
    &kafka_produce_handler,       &kafka_fetch_handler,
    &kafka_list_offsets_handler,  &kafka_metadata_handler,
    &kafka_find_coordinator_handler, &api_versions_handler,
    &kafka_create_topics_handler, &kafka_delete_topics_handler,
    &kafka_init_producer_id_handler, &kafka_offset_commit_handler,
    &kafka_offset_fetch_handler,  &kafka_describe_configs_handler,
    &kafka_delete_groups_handler, &kafka_describe_cluster_handler,
    &kafka_offset_for_leader_epoch_handler,
    &kafka_join_group_handler,    &kafka_sync_group_handler,
    &kafka_heartbeat_handler,     &kafka_leave_group_handler,
    &kafka_list_groups_handler,   &kafka_describe_groups_handler,
    &kafka_create_partitions_handler, &kafka_offset_delete_handler,
    &kafka_describe_topic_partitions_handler, &kafka_consumer_group_heartbeat_handler,
    &kafka_consumer_group_describe_handler,
    &kafka_sasl_handshake_handler, &kafka_sasl_authenticate_handler,
    &kafka_create_acls_handler, &kafka_describe_acls_handler, &kafka_delete_acls_handler,
    &kafka_describe_user_scram_credentials_handler, &kafka_alter_user_scram_credentials_handler,
};

static const struct kafka_handler *handler(int key) {
  for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
    if (handlers[i]->key == key) return handlers[i];
  return NULL;
}

/* ---- helpers of every translator ---- */

void *kc_alloc(struct kafka_call *k, size_t n) {
  void *p = arena_alloc(&k->arena, n ? n : 1);
  if (!p) {
    trace_error("out of memory answering a Kafka request");
    abort();
  }
  return p;
}

char *kc_strdup(struct kafka_call *k, const char *s) {
  size_t n = strlen(s ? s : "");
  char *o = kc_alloc(k, n + 1);
  memcpy(o, s ? s : "", n);
  return o;
}

Strata__Header *kc_native(struct kafka_call *k, uint32_t api_key) {
  Strata__Header *h = kc_alloc(k, sizeof *h);
  strata__header__init(h);
  h->api_key = api_key;
  h->api_version = 0;
  h->correlation_id = (uint32_t)k->h.correlation_id;
  h->client_id = kc_strdup(k, k->h.client_id ? k->h.client_id : "");
  k->native = h;
  return h;
}

const Strata__Header *kc_reply(const struct response *r) {
  return r->forwarded ? r->forwarded : &r->hdr;
}

int16_t kafka_err(int code) {
  if (code < 0) code = -code;
  switch (code) {
  case 0: return KERR_NONE;
  case -STRATA_ECORRUPT: return KERR_CORRUPT_MESSAGE;
  case -STRATA_ETOO_LARGE: return KERR_MESSAGE_TOO_LARGE;
  case -STRATA_EUNKNOWN_TOPIC: return KERR_UNKNOWN_TOPIC_OR_PARTITION;
  case -STRATA_EINVALID_REQUEST: return KERR_INVALID_REQUEST;
  case -STRATA_EUNSUPPORTED_VERSION: return KERR_UNSUPPORTED_VERSION;
  case -STRATA_EOFFSET_OUT_OF_RANGE: return KERR_OFFSET_OUT_OF_RANGE;
  case -STRATA_ENOT_LEADER: return KERR_NOT_LEADER_OR_FOLLOWER;
  case -STRATA_ENOT_ENOUGH_REPLICAS: return KERR_NOT_ENOUGH_REPLICAS;
  case -STRATA_ETIMEOUT: return KERR_REQUEST_TIMED_OUT;
  case -STRATA_ETOPIC_EXISTS: return KERR_TOPIC_ALREADY_EXISTS;
  case -STRATA_EINVALID_CONFIG: return KERR_INVALID_CONFIG;
  case -STRATA_EIO: return KERR_KAFKA_STORAGE_ERROR;
  case -STRATA_EINVALID_PARTITIONS: return KERR_INVALID_PARTITIONS;
  case -STRATA_EINVALID_REPLICATION_FACTOR: return KERR_INVALID_REPLICATION_FACTOR;
  case -STRATA_ENETWORK: return KERR_NETWORK_EXCEPTION;
  case -STRATA_EINVALID_TOPIC: return KERR_INVALID_TOPIC_EXCEPTION;
  case -STRATA_EINVALID_RECORD: return KERR_INVALID_RECORD;
  case -STRATA_ECOMPRESSION: return KERR_CORRUPT_MESSAGE;
  case -STRATA_EUNSUPPORTED_COMPRESSION: return KERR_UNSUPPORTED_COMPRESSION_TYPE;
  case -STRATA_ENOT_ENOUGH_REPLICAS_AFTER_APPEND: return KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
  case -STRATA_EFENCED_LEADER_EPOCH: return KERR_FENCED_LEADER_EPOCH;
  case -STRATA_EUNKNOWN_LEADER_EPOCH: return KERR_UNKNOWN_LEADER_EPOCH;
  case -STRATA_EOUT_OF_ORDER_SEQUENCE: return KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
  case -STRATA_EDUPLICATE_SEQUENCE: return KERR_DUPLICATE_SEQUENCE_NUMBER;
  case -STRATA_EINVALID_PRODUCER_EPOCH: return KERR_INVALID_PRODUCER_EPOCH;
  case -STRATA_EBROKER_NOT_AVAILABLE: return KERR_LEADER_NOT_AVAILABLE;
  case -STRATA_EUNREACHABLE: return KERR_BROKER_NOT_AVAILABLE;
  case -STRATA_ERECORD_LIST_TOO_LARGE: return KERR_MESSAGE_TOO_LARGE;
  case -STRATA_EINVALID_ARGUMENT: return KERR_INVALID_REQUEST;
  case -STRATA_ESHUTTING_DOWN: return KERR_BROKER_NOT_AVAILABLE;
  case -STRATA_ENOT_CONTROLLER: return KERR_NOT_CONTROLLER;
  case -STRATA_ESTALE_BROKER_EPOCH: return KERR_STALE_BROKER_EPOCH;
  case -STRATA_EILLEGAL_GENERATION: return KERR_ILLEGAL_GENERATION;
  case -STRATA_EUNKNOWN_MEMBER: return KERR_UNKNOWN_MEMBER_ID;
  case -STRATA_EREBALANCE_IN_PROGRESS: return KERR_REBALANCE_IN_PROGRESS;
  case -STRATA_ECOORDINATOR_NOT_AVAILABLE: return KERR_COORDINATOR_NOT_AVAILABLE;
  case -STRATA_ENOT_COORDINATOR: return KERR_NOT_COORDINATOR;
  case -STRATA_EGROUP_NOT_EMPTY: return KERR_NON_EMPTY_GROUP;
  case -STRATA_EUNKNOWN_GROUP: return KERR_GROUP_ID_NOT_FOUND;
  case -STRATA_EINCONSISTENT_CLUSTER_ID: return KERR_INCONSISTENT_CLUSTER_ID;
  case -STRATA_ETOPIC_AUTHORIZATION_FAILED: return KERR_TOPIC_AUTHORIZATION_FAILED;
  case -STRATA_EGROUP_AUTHORIZATION_FAILED: return KERR_GROUP_AUTHORIZATION_FAILED;
  case -STRATA_ECLUSTER_AUTHORIZATION_FAILED: return KERR_CLUSTER_AUTHORIZATION_FAILED;
  case -STRATA_ESASL_AUTHENTICATION_FAILED: return KERR_SASL_AUTHENTICATION_FAILED;
  case -STRATA_EILLEGAL_SASL_STATE: return KERR_ILLEGAL_SASL_STATE;
  case -STRATA_EUNSUPPORTED_SASL_MECHANISM: return KERR_UNSUPPORTED_SASL_MECHANISM;
  case -STRATA_ERESOURCE_NOT_FOUND: return KERR_RESOURCE_NOT_FOUND;
  case -STRATA_EDUPLICATE_RESOURCE: return KERR_DUPLICATE_RESOURCE;
  case -STRATA_EUNACCEPTABLE_CREDENTIAL: return KERR_UNACCEPTABLE_CREDENTIAL;
  default: return KERR_UNKNOWN_SERVER_ERROR;
  }
}

struct kuuid kafka_topic_id(const struct broker *b, const char *name) {
  struct kuuid u = {{0}};
  const struct topic *t = name ? topics_find(&b->topics, name) : NULL;
  if (t) memcpy(u.b, t->id, sizeof u.b);
  return u;
}

const char *kafka_topic_by_id(const struct broker *b, const struct kuuid *id) {
  const struct topic *t = topics_find_id(&b->topics, id->b);
  return t ? t->name : NULL;
}

int kafka_reachable(const struct broker *b, int32_t id) {
  if (!b->cluster) return id == b->cfg.id && b->kafka_addr[0];
  const struct peer *pe = id >= 0 ? broker_peer((struct broker *)b, id) : NULL;
  return pe && !pe->fenced && pe->kafka[0];
}

static int32_t *ids_copy(struct kafka_call *k, const int32_t *v, uint32_t n) {
  int32_t *o = kc_alloc(k, (n + 1) * sizeof *o);
  memcpy(o, v, n * sizeof *o);
  return o;
}

void kafka_placement_of(struct broker *b, struct kafka_call *k, const struct partition *p,
                        struct kafka_placement *o) {
  memset(o, 0, sizeof *o);
  if (!b->cluster) { /* a standalone broker leads all, epoch 0 */
    o->leader = b->cfg.id;
    o->replicas = ids_copy(k, &b->cfg.id, 1);
    o->isr = ids_copy(k, &b->cfg.id, 1);
    o->nreplicas = o->nisr = 1;
    o->offline = kc_alloc(k, sizeof(int32_t));
    return;
  }
  const struct isr_state *s = &p->rep.isr;
  o->leader = p->rep.leader;
  o->leader_epoch = p->rep.leader_epoch;
  o->replicas = ids_copy(k, s->replicas, s->nreplicas);
  o->nreplicas = (int32_t)s->nreplicas;
  o->isr = ids_copy(k, s->isr, s->nisr);
  o->nisr = (int32_t)s->nisr;
  o->offline = kc_alloc(k, (s->nreplicas + 1) * sizeof(int32_t));
  for (uint32_t r = 0; r < s->nreplicas; r++)
    if (!kafka_reachable(b, s->replicas[r])) o->offline[o->noffline++] = s->replicas[r];
  if (o->leader < 0 || !kafka_reachable(b, o->leader)) {
    o->leader = -1;
    o->error = KERR_LEADER_NOT_AVAILABLE;
  }
}

int kafka_split_addr(struct kafka_call *k, const char *addr, const char **host,
                     int32_t *port) {
  char h[256];
  int p;
  if (!addr || !*addr || http_split_hostport(addr, h, sizeof h, &p) || p <= 0) return 0;
  *host = kc_strdup(k, h);
  *port = p;
  return 1;
}

static int has_top_error(const struct kstruct *s) {
  for (int i = 0; i < s->nfields; i++)
    if (!strcmp(s->fields[i].name, "ErrorCode") && s->fields[i].kind == KF_INT16 &&
        !s->fields[i].array)
      return 1;
  return 0;
}

void *kafka_error_answer(struct kafka_call *k, int16_t err) {
  const struct kstruct *s = k->api->resp;
  void *o = kc_alloc(k, s->size);
  kafka_defaults(s, o);
  for (int i = 0; i < s->nfields; i++)
    if (!strcmp(s->fields[i].name, "ErrorCode") && s->fields[i].kind == KF_INT16 &&
        !s->fields[i].array)
      memcpy((char *)o + s->fields[i].off, &err, sizeof err);
  return o;
}

/* ---- ApiVersions ---- */

static struct kafka_api_versions_resp *api_list(struct broker *b, struct kafka_call *k,
                                                int16_t err) {
  struct kafka_api_versions_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_api_versions_resp_desc, m);
  m->error_code = err;
  size_t n = sizeof handlers / sizeof handlers[0];
  m->api_keys = kc_alloc(k, n * sizeof *m->api_keys);
  for (size_t i = 0; i < n; i++) {
    /* the SASL APIs only where a login is asked for (a SASL_* listener) */
    if ((handlers[i]->key == KAFKA_SASL_HANDSHAKE || handlers[i]->key == KAFKA_SASL_AUTHENTICATE) &&
        !broker_sasl_listener(b))
      continue;
    struct kafka_api_versions_resp_api_version *v = &m->api_keys[m->n_api_keys++];
    v->api_key = (int16_t)handlers[i]->key;
    v->min_version = (int16_t)handlers[i]->min;
    v->max_version = (int16_t)handlers[i]->max;
  }
  return m;
}

static void api_versions_start(struct broker *b, struct kafka_call *k, struct response *r) {
  (void)r;
  k->resp = api_list(b, k, KERR_NONE);
}

/* ---- the walk ---- */

struct kafka_call *kafka_start(struct broker *b, uint8_t *frame, uint32_t len,
                               const char *peer, const struct principal *who,
                               struct response *r) {
  struct kafka_call *k = calloc(1, sizeof *k);
  if (!k) abort();
  snprintf(k->peer, sizeof k->peer, "%s", peer ? peer : "");
  if (who) k->who = *who;
  else snprintf(k->who.name, sizeof k->who.name, "%s", PRINCIPAL_ANONYMOUS);
  arena_init(&k->arena);
  size_t used = 0;
  int rc = kafka_decode_req_header(frame, len, &k->arena, &k->h, &used);
  if (rc) {
    trace_warn("kafka: unreadable request header (%d bytes); closing", (int)len);
    kafka_call_free(k);
    return NULL;
  }
  k->api = kafka_api(k->h.api_key);
  k->hd = handler(k->h.api_key);
  k->version = k->h.api_version;
  int in_tables = k->api && k->version >= k->api->vmin && k->version <= k->api->vmax;
  k->flexible = in_tables && kafka_flexible(k->api, k->version);
  if (k->h.api_key == KAFKA_API_VERSIONS &&
      (!in_tables || k->version > api_versions_handler.max)) {
    /* KIP-511: a version we do not know gets error 35 in a v0 body (with a
     * v0 header), listing our versions so the client retries with one. */
    k->version = 0;
    k->flexible = 0;
    k->resp = api_list(b, k, KERR_UNSUPPORTED_VERSION);
    return k;
  }
  if (!in_tables) {
    trace_warn("kafka: api key %d version %d is unknown here; closing", k->h.api_key,
               k->h.api_version);
    kafka_call_free(k);
    return NULL;
  }
  k->req = kc_alloc(k, k->api->req->size);
  rc = kafka_decode(k->api->req, k->version, k->flexible, frame + used, len - used, &k->arena,
                    KAFKA_DECODE_BUDGET, k->req, NULL);
  if (rc) {
    trace_warn("kafka: malformed %s v%d request (error %d); closing", k->api->name, k->version,
               rc);
    kafka_call_free(k);
    return NULL;
  }
  if (!k->hd || k->version < k->hd->min || k->version > k->hd->max) {
    /* Not served: say so where the answer has a top-level error code; the
     * produce translator says it per partition (Produce 0-2 are advertised,
     * as librdkafka checks, and refused); other answers cannot say it. */
    if (has_top_error(k->api->resp)) {
      k->resp = kafka_error_answer(k, KERR_UNSUPPORTED_VERSION);
      return k;
    }
    if (!k->hd || k->h.api_key != KAFKA_PRODUCE) {
      trace_warn("kafka: %s v%d is not served and its answer has no error code; closing",
                 k->api->name, k->version);
      kafka_call_free(k);
      return NULL;
    }
  }
  const struct principal *outer = b->caller;
  b->caller = &k->who; /* the Kafka-only handlers' checks read it too */
  authz_forget(b);
  k->hd->start(b, k, r);
  b->caller = outer;
  return k;
}

Strata__Header *kafka_native(struct kafka_call *k) { return k->native; }

int kafka_finish(struct broker *b, struct kafka_call *k, const struct response *r,
                 struct kbuf *out) {
  void *resp = k->resp ? k->resp : k->hd->answer(b, k, r);
  size_t at = out->len;
  kbuf_be32(out, 0);
  kafka_encode_resp_header(out, k->h.api_key, k->flexible, k->h.correlation_id);
  int rc = kafka_encode(k->api->resp, k->version, k->flexible, resp, out);
  if (rc || out->oom) {
    trace_error("kafka: cannot encode a %s v%d answer (error %d)", k->api->name, k->version, rc);
    return rc ? rc : KAFKA_ENOMEM;
  }
  be32_store(out->p + at, (uint32_t)(out->len - at - 4 + out->ref_bytes));
  return 0;
}

void kafka_call_free(struct kafka_call *k) {
  if (!k) return;
  kafka_unpark(k);
  arena_reset(&k->arena);
  free(k);
}

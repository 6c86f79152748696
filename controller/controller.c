#include "controller.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "common/random_id.h"
#include "common/scram.h"
#include "common/topic_config.h"
#include "common/trace.h"
#include "controller/ctrl_authz.h"
#include "controller/quorum_wire.h"
#include "controller/secadmin.h"

/* What a controller that decides does first: mint the cluster id of a new
 * cluster, and give topics recorded before topic ids an id (each recorded
 * once). A single controller does it at open, a quorum's leader once it is
 * ready (its records commit like any decision's). */
static int settle(struct controller *ctl, char *err, size_t err_len) {
  int rc;
  if (!ctl->c.cluster_id[0]) {
    struct ctrl_out out = {0};
    Strata__MetadataRecord *r = calloc(1, sizeof *r);
    if (!r) return STRATA_ENOMEM;
    strata__metadata_record__init(r);
    r->rec_case = STRATA__METADATA_RECORD__REC_CLUSTER_ID;
    r->cluster_id = malloc(40);
    if (!r->cluster_id) return STRATA_ENOMEM;
    if ((rc = random_id_hex(r->cluster_id, 40))) {
      snprintf(err, err_len, "cannot draw a cluster id: %s", strerror(errno));
      free(r->cluster_id);
      free(r);
      return rc;
    }
    out.recs[out.n++] = r;
    if ((rc = metalog_commit(&ctl->log, &ctl->c, &out))) return rc;
    trace_info("new cluster %s", ctl->c.cluster_id);
  }
  /* Topics from before topic ids: each gets one now, recorded once. */
  for (;;) {
    struct ctrl_out out = {0};
    if ((rc = ctrl_assign_missing_topic_ids(&ctl->c, &out))) {
      ctrl_out_reset(&out);
      snprintf(err, err_len, "cannot draw topic ids: %s", strerror(errno));
      return rc;
    }
    if (!out.n) break;
    trace_info("gave %zu topic(s) recorded before topic ids an id", out.n);
    if ((rc = metalog_commit(&ctl->log, &ctl->c, &out))) return rc;
  }
  return 0;
}

static void forget_boot_user(struct controller *ctl) {
  if (ctl->boot_password) memset(ctl->boot_password, 0, ctl->boot_password_len);
  free(ctl->boot_password);
  free(ctl->boot_user);
  ctl->boot_user = ctl->boot_password = NULL;
  ctl->boot_password_len = 0;
}

static int quorum_submit(void *arg, struct ctrl *c, struct ctrl_out *out) {
  struct controller *ctl = arg;
  (void)c;
  int64_t end = 0;
  int rc = qnode_submit(ctl->qn, out, &end);
  if (!rc && end > ctl->wait_offset) ctl->wait_offset = end;
  return rc;
}

static void quorum_ready(void *arg, int64_t now) {
  struct controller *ctl = arg;
  char err[256] = "";
  if (settle(ctl, err, sizeof err)) trace_error("quorum: %s", err[0] ? err : "cannot settle");
  ctrl_start(&ctl->c, now); /* every broker gets a full session to find us */
  if (ctl->boot_user) {
    int created = 0;
    if (controller_bootstrap_user(ctl, ctl->boot_user, ctl->boot_password, ctl->boot_password_len,
                                  &created, err, sizeof err))
      trace_error("cannot create the bootstrap user: %s", err[0] ? err : "?");
    else if (created)
      trace_info("bootstrap user %s created (SCRAM-SHA-256, SCRAM-SHA-512)", ctl->boot_user);
    forget_boot_user(ctl);
  }
}

/* Quorum mode's open: the state starts empty and fills as records commit. */
static int open_quorum(struct controller *ctl, const char *dir, int64_t now_ms, char *err,
                       size_t err_len) {
  if (mkdir(dir, 0700) && errno != EEXIST) {
    snprintf(err, err_len, "cannot create %s: %s", dir, strerror(errno));
    return STRATA_EIO;
  }
  const char *old[] = {"metadata.log", "snapshot"};
  for (size_t i = 0; i < 2; i++) {
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, old[i]);
    if (!stat(path, &st) && st.st_size > 0) {
      snprintf(err, err_len, "%s holds a single controller's metadata (%s): a quorum starts from "
               "empty data directories (moving a single controller's metadata into a quorum is "
               "not supported yet; docs/quorum.md)", dir, old[i]);
      return STRATA_EINVALID_CONFIG;
    }
  }
  ctl->qn = calloc(1, sizeof *ctl->qn);
  if (!ctl->qn) return STRATA_ENOMEM;
  ctl->log.fd = -1;
  ctl->log.submit = quorum_submit;
  ctl->log.submit_arg = ctl;
  ctl->qn->on_ready = quorum_ready;
  ctl->qn->arg = ctl;
  return qnode_open(ctl->qn, ctl->quorum_cfg, dir, &ctl->c, now_ms, err, err_len);
}

int controller_open(struct controller *ctl, const char *dir, int32_t id,
                    const struct ctrl_config *cfg, int64_t now_ms, char *err, size_t err_len) {
  int (*new_topic_id)(void *, uint8_t *) = ctl->c.new_topic_id;
  void *new_topic_id_ctx = ctl->c.new_topic_id_ctx;
  ctrl_init(&ctl->c, id, cfg);
  ctl->image = NULL; /* (a closed controller freed its own) */
  ctl->image_version = 0;
  ctl->c.new_topic_id = new_topic_id;
  ctl->c.new_topic_id_ctx = new_topic_id_ctx;
  if (ctl->quorum_cfg) return open_quorum(ctl, dir, now_ms, err, err_len);
  int rc = metalog_open(&ctl->log, dir, &ctl->c, err, err_len);
  if (rc) return rc;
  if ((rc = settle(ctl, err, err_len))) return rc;
  ctrl_start(&ctl->c, now_ms);
  memset(&ctl->c.stats, 0, sizeof ctl->c.stats); /* the replay's are history */
  return 0;
}

int controller_bootstrap_user(struct controller *ctl, const char *name, const char *password,
                              size_t password_len, int *created, char *err, size_t err_len) {
  *created = 0;
  if (ctl->c.sec.nusers) return 0;
  static const enum scram_mech mechs[] = {SCRAM_SHA_256, SCRAM_SHA_512};
  struct ctrl_out out = {0};
  int rc = 0;
  for (size_t i = 0; i < 2 && !rc; i++) {
    struct scram_credential cred;
    rc = scram_credential_make(mechs[i], password, password_len, SCRAM_ITERATIONS_DEFAULT, NULL,
                               0, &cred);
    if (rc) {
      snprintf(err, err_len, "cannot derive the bootstrap user's keys: %s", strata_strerror(rc));
      break;
    }
    Strata__ScramCredential m = STRATA__SCRAM_CREDENTIAL__INIT;
    m.user = (char *)name;
    m.mechanism = cred.mech;
    m.iterations = cred.iterations;
    m.salt = (ProtobufCBinaryData){cred.salt_len, cred.salt};
    m.stored_key = (ProtobufCBinaryData){cred.key_len, cred.stored_key};
    m.server_key = (ProtobufCBinaryData){cred.key_len, cred.server_key};
    rc = ctrl_user_upsert(&ctl->c, &m, &out, err, err_len);
    memset(&cred, 0, sizeof cred);
  }
  if (!rc) rc = metalog_commit(&ctl->log, &ctl->c, &out);
  ctrl_out_reset(&out);
  if (!rc) *created = 1;
  return rc;
}

void controller_close(struct controller *ctl) {
  forget_boot_user(ctl);
  metalog_close(&ctl->log);
  if (ctl->qn) {
    qnode_close(ctl->qn);
    free(ctl->qn);
    ctl->qn = NULL;
  }
  ctrl_free(&ctl->c);
  authorizer_config_free(&ctl->authz);
  if (ctl->image) ctrl_image_free(ctl->image);
  ctl->image = NULL;
}

void controller_tick(struct controller *ctl, int64_t now_ms) {
  struct ctrl_out out = {0};
  if (!controller_active(ctl)) return; /* only the deciding leader fences and elects */
  if (ctl->qn) ctl->qn->now = now_ms;
  ctrl_tick(&ctl->c, now_ms, &out);
  if (metalog_commit(&ctl->log, &ctl->c, &out)) trace_error("could not persist a tick's decisions");
}

static void *aalloc(struct arena *a, size_t n) {
  void *p = arena_alloc(a, n);
  if (!p) abort();
  return p;
}

static Strata__TopicResult *topic_result(struct arena *a, const char *name, int rc, const char *msg) {
  Strata__TopicResult *t = aalloc(a, sizeof *t);
  strata__topic_result__init(t);
  t->name = arena_strdup(a, name);
  t->error_code = (uint32_t)-rc;
  t->error_message = arena_strdup(a, rc ? (msg && *msg ? msg : strata_strerror(rc)) : "");
  return t;
}

static void set_error(Strata__Header *resp, struct arena *a, int rc, const char *msg) {
  resp->error_code = (uint32_t)-rc;
  resp->error_message = arena_strdup(a, msg && *msg ? msg : strata_strerror(rc));
  resp->body_case = STRATA__HEADER__BODY__NOT_SET;
}

int controller_quorum_allowed(const struct controller *ctl, const struct principal *who,
                              const Strata__Header *req) {
  char err[256];
  if (!ctrl_authorize(&ctl->authz, ctrl_acls(&ctl->c), who, req, err, sizeof err)) return 1;
  static uint64_t refused; /* a misconfigured peer sends several a second: not every one logged */
  if (refused++ % 1000 == 0)
    trace_warn("quorum message refused (%llu so far): %s", (unsigned long long)refused, err);
  return 0;
}

int64_t controller_answer_offset(const struct controller *ctl) {
  if (!ctl->qn) return 0;
  return ctl->qn->applied > ctl->wait_offset ? ctl->qn->applied : ctl->wait_offset;
}

int controller_active(const struct controller *ctl) { return !ctl->qn || ctl->qn->ready; }

int controller_image_ok(const struct controller *ctl) {
  return !ctl->qn || (ctl->qn->ready && !qnode_pending(ctl->qn));
}

void controller_quorum_start(struct controller *ctl, int64_t now_ms) {
  if (ctl->qn) qnode_start(ctl->qn, now_ms);
}

void controller_not_active(const struct controller *ctl, Strata__Header *resp, struct arena *a) {
  const char *host = "";
  int port = 0;
  int32_t leader = ctl->qn ? qnode_leader(ctl->qn, &host, &port) : -1;
  char addr[300] = "";
  if (leader >= 0) snprintf(addr, sizeof addr, "%s:%d", host, port);
  resp->error_code = (uint32_t)-STRATA_ENOT_CONTROLLER;
  resp->error_message = arena_strdup(
      a, leader < 0 ? "not the active controller; no leader known yet"
                    : leader == ctl->c.id ? "the active controller is starting (replaying the log)"
                                          : "not the active controller");
  resp->controller_leader_id = leader;
  resp->controller_leader_address = arena_strdup(a, addr);
  resp->body_case = STRATA__HEADER__BODY__NOT_SET;
}

/* DescribeQuorum (KIP-595), from every controller. A single controller
 * answers as the one voter and leader of epoch 0, its log the records
 * applied. */
static void describe_quorum(struct controller *ctl, Strata__Header *resp, struct arena *a) {
  struct quorum_description d;
  if (ctl->qn) {
    quorum_describe(&ctl->qn->q, &d);
  } else {
    memset(&d, 0, sizeof d);
    d.role = QUORUM_LEADER;
    d.leader = ctl->c.id;
    d.hw = d.log_end = ctl->c.version;
    d.voters[0].key.id = ctl->c.id;
    d.voters[0].end_offset = ctl->c.version;
    d.voters[0].last_fetch_ms = -1;
    d.nvoters = 1;
  }
  struct quorum_wire_describe *w = aalloc(a, sizeof *w);
  quorum_wire_describe(&d, w);
  resp->body_case = STRATA__HEADER__BODY_DESCRIBE_QUORUM_RESP;
  resp->describe_quorum_resp = &w->resp;
  if (ctl->qn && !controller_active(ctl)) { /* the hint, for a tool that wants the active one */
    const char *host;
    int port;
    int32_t leader = qnode_leader(ctl->qn, &host, &port);
    char addr[300] = "";
    if (leader >= 0) snprintf(addr, sizeof addr, "%s:%d", host, port);
    resp->controller_leader_id = leader;
    resp->controller_leader_address = arena_strdup(a, addr);
  } else {
    resp->controller_leader_id = ctl->c.id;
  }
}

void controller_handle(struct controller *ctl, const struct principal *who,
                       const Strata__Header *req, Strata__Header *resp, struct arena *a,
                       int64_t now) {
  struct ctrl *c = &ctl->c;
  struct ctrl_out out = {0};
  char err[256] = "";
  int rc = 0;
  resp->api_key = req->api_key;
  resp->api_version = req->api_version;
  resp->correlation_id = req->correlation_id;
  resp->is_response = 1;
  ctl->wait_offset = 0;
  if (ctl->qn) ctl->qn->now = now;
  if (req->body_case == STRATA__HEADER__BODY_DESCRIBE_QUORUM_REQ) { /* from any controller */
    if ((rc = ctrl_authorize(&ctl->authz, ctrl_acls(&ctl->c), who, req, err, sizeof err))) {
      set_error(resp, a, rc, err);
      return;
    }
    describe_quorum(ctl, resp, a);
    return;
  }
  /* Only the active controller decides or answers: its state is the one
   * that is complete (a follower's lags, a candidate's may be behind). */
  if (!controller_active(ctl) && req->body_case != STRATA__HEADER__BODY_API_VERSIONS_REQ) {
    controller_not_active(ctl, resp, a);
    return;
  }
  /* before anything changes: a refused AlterIsr leaves the ISR and HW be */
  if ((rc = ctrl_authorize(&ctl->authz, ctrl_acls(&ctl->c), who, req, err, sizeof err))) {
    trace_warn("refused: %s", err);
    set_error(resp, a, rc, err);
    return;
  }
  switch (req->body_case) {
  case STRATA__HEADER__BODY_BROKER_REGISTER_REQ: {
    const Strata__BrokerRegisterRequest *q = req->broker_register_req;
    rc = ctrl_register(c, q, now, &out);
    if (!rc) rc = metalog_commit(&ctl->log, c, &out);
    if (rc) break;
    Strata__BrokerRegisterResponse *m = aalloc(a, sizeof *m);
    strata__broker_register_response__init(m);
    m->broker_epoch = ctrl_broker(c, q->broker_id)->epoch;
    trace_info("broker %d registered from %s:%u (epoch %lld)", q->broker_id, q->host, q->port,
               (long long)m->broker_epoch);
    resp->body_case = STRATA__HEADER__BODY_BROKER_REGISTER_RESP;
    resp->broker_register_resp = m;
    break;
  }
  case STRATA__HEADER__BODY_BROKER_HEARTBEAT_REQ: {
    const Strata__BrokerHeartbeatRequest *q = req->broker_heartbeat_req;
    rc = ctrl_heartbeat(c, q->broker_id, q->broker_epoch, now, &out);
    if (!rc) rc = metalog_commit(&ctl->log, c, &out);
    if (rc) break;
    Strata__BrokerHeartbeatResponse *m = aalloc(a, sizeof *m);
    strata__broker_heartbeat_response__init(m);
    if (q->metadata_version != c->version && controller_image_ok(ctl))
      m->image = controller_image(ctl); /* kept by ctl */
    m->controller_id_plus1 = c->id + 1; /* we answer: we are the active one */
    resp->body_case = STRATA__HEADER__BODY_BROKER_HEARTBEAT_RESP;
    resp->broker_heartbeat_resp = m;
    break;
  }
  case STRATA__HEADER__BODY_ALTER_ISR_REQ: {
    const Strata__AlterIsrRequest *q = req->alter_isr_req;
    rc = ctrl_alter_isr(c, q, &out, err, sizeof err);
    if (!rc) rc = metalog_commit(&ctl->log, c, &out);
    if (!rc) trace_info("ISR of %s-%u changed by its leader %d", q->topic, q->partition, q->broker_id);
    Strata__AlterIsrResponse *m = aalloc(a, sizeof *m);
    strata__alter_isr_response__init(m);
    struct ctrl_topic *t = ctrl_topic(c, q->topic);
    if (t && q->partition < t->npart) {
      const struct ctrl_partition *p = &t->parts[q->partition];
      Strata__PartitionState *s = aalloc(a, sizeof *s);
      strata__partition_state__init(s);
      s->partition = q->partition;
      s->leader = p->leader;
      s->leader_epoch = p->leader_epoch;
      s->partition_epoch = p->partition_epoch;
      s->isr = aalloc(a, p->nisr * sizeof(int32_t) + 1);
      memcpy(s->isr, p->isr, p->nisr * sizeof(int32_t));
      s->n_isr = p->nisr;
      s->replicas = aalloc(a, p->nreplicas * sizeof(int32_t) + 1);
      memcpy(s->replicas, p->replicas, p->nreplicas * sizeof(int32_t));
      s->n_replicas = p->nreplicas;
      m->state = s;
    }
    resp->body_case = STRATA__HEADER__BODY_ALTER_ISR_RESP;
    resp->alter_isr_resp = m;
    if (rc) {
      resp->error_code = (uint32_t)-rc;
      resp->error_message = arena_strdup(a, err[0] ? err : strata_strerror(rc));
    }
    ctrl_out_reset(&out);
    return;
  }
  case STRATA__HEADER__BODY_CREATE_TOPICS_REQ: {
    const Strata__CreateTopicsRequest *q = req->create_topics_req;
    Strata__CreateTopicsResponse *m = aalloc(a, sizeof *m);
    strata__create_topics_response__init(m);
    m->results = aalloc(a, (q->n_topics + 1) * sizeof *m->results);
    for (size_t i = 0; i < q->n_topics; i++) {
      const Strata__TopicSpec *s = q->topics[i];
      int trc = topic_name_check(s->name);
      err[0] = 0;
      if (trc) snprintf(err, sizeof err, "'%s' is not a legal topic name", s->name);
      if (!trc && s->n_configs <= TOPIC_CONFIGS_MAX) {
        const char *keys[TOPIC_CONFIGS_MAX], *vals[TOPIC_CONFIGS_MAX];
        for (size_t k = 0; k < s->n_configs; k++) {
          keys[k] = s->configs[k]->key;
          vals[k] = s->configs[k]->value;
        }
        trc = topic_configs_validate(keys, vals, s->n_configs, err, sizeof err);
      }
      if (!trc) trc = ctrl_create_topic(c, s, ctl->default_partitions, &out, err, sizeof err);
      if (!trc) trc = metalog_commit(&ctl->log, c, &out);
      if (!trc) trace_info("created topic %s", s->name);
      ctrl_out_reset(&out);
      m->results[m->n_results++] = topic_result(a, s->name, trc, err);
    }
    resp->body_case = STRATA__HEADER__BODY_CREATE_TOPICS_RESP;
    resp->create_topics_resp = m;
    return;
  }
  case STRATA__HEADER__BODY_CREATE_PARTITIONS_REQ: {
    const Strata__CreatePartitionsRequest *q = req->create_partitions_req;
    Strata__CreatePartitionsResponse *m = aalloc(a, sizeof *m);
    strata__create_partitions_response__init(m);
    m->results = aalloc(a, (q->n_topics + 1) * sizeof *m->results);
    for (size_t i = 0; i < q->n_topics; i++) {
      const Strata__PartitionsSpec *s = q->topics[i];
      err[0] = 0;
      int trc = ctrl_create_partitions(c, s->name, s->count, q->validate_only, &out, err,
                                       sizeof err);
      if (!trc && !q->validate_only) trc = metalog_commit(&ctl->log, c, &out);
      if (!trc && !q->validate_only)
        trace_info("topic %s grew to %u partitions", s->name, s->count);
      ctrl_out_reset(&out);
      Strata__PartitionsResult *pr = aalloc(a, sizeof *pr);
      strata__partitions_result__init(pr);
      pr->name = arena_strdup(a, s->name);
      pr->error_code = (uint32_t)-trc;
      pr->error_message = arena_strdup(a, trc ? (err[0] ? err : strata_strerror(trc)) : "");
      pr->count = trc || q->validate_only ? 0 : s->count;
      m->results[m->n_results++] = pr;
    }
    resp->body_case = STRATA__HEADER__BODY_CREATE_PARTITIONS_RESP;
    resp->create_partitions_resp = m;
    return;
  }
  case STRATA__HEADER__BODY_DELETE_TOPICS_REQ: {
    const Strata__DeleteTopicsRequest *q = req->delete_topics_req;
    Strata__DeleteTopicsResponse *m = aalloc(a, sizeof *m);
    strata__delete_topics_response__init(m);
    m->results = aalloc(a, (q->n_names + 1) * sizeof *m->results);
    for (size_t i = 0; i < q->n_names; i++) {
      int trc = ctrl_delete_topic(c, q->names[i], &out);
      if (!trc) trc = metalog_commit(&ctl->log, c, &out);
      if (!trc) trace_info("deleted topic %s", q->names[i]);
      ctrl_out_reset(&out);
      m->results[m->n_results++] = topic_result(a, q->names[i], trc, NULL);
    }
    resp->body_case = STRATA__HEADER__BODY_DELETE_TOPICS_RESP;
    resp->delete_topics_resp = m;
    return;
  }
  case STRATA__HEADER__BODY_ELECT_LEADERS_REQ: {
    uint32_t changed = 0;
    rc = ctrl_elect_preferred(c, req->elect_leaders_req->topic, &out, &changed);
    if (!rc) rc = metalog_commit(&ctl->log, c, &out);
    if (rc) break;
    Strata__ElectLeadersResponse *m = aalloc(a, sizeof *m);
    strata__elect_leaders_response__init(m);
    m->changed = changed;
    resp->body_case = STRATA__HEADER__BODY_ELECT_LEADERS_RESP;
    resp->elect_leaders_resp = m;
    break;
  }
  case STRATA__HEADER__BODY_INIT_PRODUCER_ID_REQ: {
    int64_t id = -1;
    rc = ctrl_alloc_producer_ids(c, &out, req->init_producer_id_req->count, &id);
    if (!rc) rc = metalog_commit(&ctl->log, c, &out);
    if (rc) break;
    Strata__InitProducerIdResponse *m = aalloc(a, sizeof *m);
    strata__init_producer_id_response__init(m);
    m->producer_id = id;
    resp->body_case = STRATA__HEADER__BODY_INIT_PRODUCER_ID_RESP;
    resp->init_producer_id_resp = m;
    break;
  }
  case STRATA__HEADER__BODY_ADD_RAFT_VOTER_REQ:
  case STRATA__HEADER__BODY_REMOVE_RAFT_VOTER_REQ: {
    /* KIP-853 voter changes: the VotersRecord is in effect once appended;
     * the answer leaves once it commits (wait_offset), or NOT_CONTROLLER
     * if this leader loses its seat first (then it may or may not commit:
     * DescribeQuorum tells). */
    int add = req->body_case == STRATA__HEADER__BODY_ADD_RAFT_VOTER_REQ;
    const ProtobufCBinaryData *dir =
        add ? &req->add_raft_voter_req->directory_id : &req->remove_raft_voter_req->directory_id;
    struct quorum_key k = {.id = add ? req->add_raft_voter_req->voter_id
                                     : req->remove_raft_voter_req->voter_id};
    if (!ctl->qn) {
      rc = STRATA_EINVALID_REQUEST;
      snprintf(err, sizeof err, "this controller runs alone (no controller.quorum.voters): there "
               "are no voters to change");
      break;
    }
    if (dir->len != QUORUM_DIR_LEN) {
      rc = STRATA_EINVALID_REQUEST;
      snprintf(err, sizeof err, "a directory id is %d bytes (32 hex digits), got %zu",
               QUORUM_DIR_LEN, dir->len);
      break;
    }
    memcpy(k.dir, dir->data, QUORUM_DIR_LEN);
    int64_t end = 0;
    rc = qnode_change_voters(ctl->qn, add, &k, add ? req->add_raft_voter_req->host : NULL,
                             add ? (int)req->add_raft_voter_req->port : 0, &end, err, sizeof err);
    if (rc == STRATA_ENOT_CONTROLLER) {
      controller_not_active(ctl, resp, a);
      ctrl_out_reset(&out);
      return;
    }
    if (rc) break;
    if (end > ctl->wait_offset) ctl->wait_offset = end;
    if (add) {
      Strata__AddRaftVoterResponse *m = aalloc(a, sizeof *m);
      strata__add_raft_voter_response__init(m);
      resp->body_case = STRATA__HEADER__BODY_ADD_RAFT_VOTER_RESP;
      resp->add_raft_voter_resp = m;
    } else {
      Strata__RemoveRaftVoterResponse *m = aalloc(a, sizeof *m);
      strata__remove_raft_voter_response__init(m);
      resp->body_case = STRATA__HEADER__BODY_REMOVE_RAFT_VOTER_RESP;
      resp->remove_raft_voter_resp = m;
    }
    break;
  }
  case STRATA__HEADER__BODY_API_VERSIONS_REQ: {
    Strata__ApiVersionsResponse *m = aalloc(a, sizeof *m);
    strata__api_versions_response__init(m);
    m->software_version = arena_strdup(a, "strata-controller");
    resp->body_case = STRATA__HEADER__BODY_API_VERSIONS_RESP;
    resp->api_versions_resp = m;
    break;
  }
  default:
    if (secadmin_handle(ctl, req, resp, a)) return; /* users and ACLs */
    rc = STRATA_EUNSUPPORTED_VERSION;
    snprintf(err, sizeof err, "the controller does not serve api key %u", req->api_key);
  }
  ctrl_out_reset(&out);
  if (rc) set_error(resp, a, rc, err);
}

void controller_disconnected(struct controller *ctl, int32_t broker_id, int64_t now_ms) {
  ctrl_disconnected(&ctl->c, broker_id, now_ms);
}

/* In quorum mode the key is the offset applied, not the version: a leader
 * that reverts rebuilds its state from the log, and the version it counts
 * then need not match the one it counted deciding. Images go out only with
 * nothing pending, so one applied offset is one committed state. */
static int64_t image_key(const struct controller *ctl) {
  return ctl->qn ? ctl->qn->applied : ctl->c.version;
}

Strata__MetadataImage *controller_image(struct controller *ctl) {
  if (ctl->image && ctl->image_version == image_key(ctl)) return ctl->image;
  /* Answers are sent (packed) before the next request is handled, so no
   * answer still points at the image of an older version. */
  if (ctl->image) ctrl_image_free(ctl->image);
  ctl->image = ctrl_image(&ctl->c);
  ctl->image_version = image_key(ctl);
  return ctl->image;
}

void controller_response_done(Strata__Header *resp) {
  if (resp->body_case == STRATA__HEADER__BODY_BROKER_HEARTBEAT_RESP)
    resp->broker_heartbeat_resp->image = NULL; /* the controller's (controller_image) */
}

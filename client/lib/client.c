/* strata_client: bootstrap connection, metadata, admin calls. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/lib/internal.h"
#include "common/errors.h"
#include "common/wire.h"

int client_bootstrap(struct conn *c, const char *bootstrap, int timeout_ms,
                     const struct client_sec *sec, char *err, size_t err_len) {
  int count = 0;
  char host[256];
  int port;
  if (parse_hostport(bootstrap, 0, host, sizeof host, &port, &count)) {
    snprintf(err, err_len, "bad bootstrap address '%s' (expected host:port[,host:port])",
             bootstrap);
    return STRATA_EINVALID_ARGUMENT;
  }
  int rc = STRATA_EUNREACHABLE;
  /* Start at a different address each time: a client that reconnects
   * because a broker's view was stale asks another one. */
  static unsigned rotation;
  int start = (int)(__atomic_fetch_add(&rotation, 1u, __ATOMIC_RELAXED) % (unsigned)count);
  for (int k = 0; k < count; k++) {
    int i = (start + k) % count;
    if (parse_hostport(bootstrap, (size_t)i, host, sizeof host, &port, NULL)) {
      snprintf(err, err_len, "bad bootstrap address '%s'", bootstrap);
      return STRATA_EINVALID_ARGUMENT;
    }
    conn_init(c);
    if (!(rc = conn_open(c, host, port, timeout_ms, sec, err, err_len))) return 0;
  }
  return rc;
}

strata_client *strata_client_new(const char *bootstrap, int timeout_ms,
                                 char *err, size_t err_len) {
  return strata_client_new_secure(bootstrap, timeout_ms, NULL, err, err_len);
}

strata_client *strata_client_new_secure(const char *bootstrap, int timeout_ms,
                                        const strata_security *sec, char *err, size_t err_len) {
  strata_client *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
  snprintf(c->bootstrap, sizeof c->bootstrap, "%s", bootstrap);
  if (client_sec_init(&c->sec, sec, err, err_len) ||
      client_bootstrap(&c->conn, bootstrap, c->timeout_ms, &c->sec, err, err_len)) {
    client_sec_free(&c->sec);
    free(c);
    return NULL;
  }
  return c;
}

void strata_client_free(strata_client *c) {
  if (!c) return;
  conn_close(&c->conn);
  client_sec_free(&c->sec);
  free(c);
}

int client_ensure(strata_client *c) {
  if (conn_is_open(&c->conn)) return 0;
  char err[256];
  return client_bootstrap(&c->conn, c->bootstrap, c->timeout_ms, &c->sec, err, sizeof err);
}

/* The address a NOT_CONTROLLER answer names ("[SCHEME://]HOST:PORT"); 0
 * when it names one. */
static int hint_of(const Strata__Header *r, char *host, size_t host_len, int *port) {
  const char *a = r ? r->controller_leader_address : NULL;
  if (!a || !*a) return -1;
  const char *sep = strstr(a, "://");
  if (sep) a = sep + 3;
  return parse_hostport(a, 0, host, host_len, port, NULL) ? -1 : 0;
}

/* A call the controller answers: an admin request a broker relays, or one
 * sent to a controller itself. NOT_CONTROLLER means "not me" (a controller
 * that is not the active one: its answer names the active one, reached
 * next) or "not now" (a broker between controllers, an election): asked
 * again, on another bootstrap address, after a pause that doubles from 50
 * ms to 1 s, until timeout_ms has passed; then the last answer stands. A
 * refused request is never applied, so asking again is safe. */
int client_admin_call(strata_client *c, Strata__Header *h, Strata__Header **r) {
  int64_t deadline = conn_now_ms() + c->timeout_ms;
  int64_t pause = 50;
  for (int tries = 0;; tries++) {
    *r = NULL;
    int rc = client_ensure(c);
    if (rc) return rc;
    rc = conn_call(&c->conn, h, NULL, 0, c->timeout_ms, r, NULL, NULL);
    if (rc != STRATA_ENOT_CONTROLLER || conn_now_ms() + pause >= deadline) return rc;
    char host[256];
    int port;
    int hinted = !hint_of(*r, host, sizeof host, &port);
    wire_header_free(*r);
    *r = NULL;
    conn_close(&c->conn);
    if (!hinted || tries >= 2) { /* hints that lead nowhere slow down too */
      struct timespec ts = {0, (long)pause * 1000000L};
      nanosleep(&ts, NULL);
      pause = pause * 2 > 1000 ? 1000 : pause * 2;
    }
    if (hinted) {
      char err[256];
      conn_init(&c->conn);
      if (conn_open(&c->conn, host, port, c->timeout_ms, &c->sec, err, sizeof err))
        conn_close(&c->conn); /* the bootstrap list next */
    }
  }
}

int client_find_coordinator(struct conn *via, const char *group, int timeout_ms, char *host,
                            size_t host_len, int *port) {
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_FIND_COORDINATOR);
  Strata__FindCoordinatorRequest q = STRATA__FIND_COORDINATOR_REQUEST__INIT;
  q.group_id = (char *)group;
  h.body_case = STRATA__HEADER__BODY_FIND_COORDINATOR_REQ;
  h.find_coordinator_req = &q;
  Strata__Header *r = NULL;
  int rc = conn_call(via, &h, NULL, 0, timeout_ms, &r, NULL, NULL);
  if (!rc && r->body_case != STRATA__HEADER__BODY_FIND_COORDINATOR_RESP) rc = STRATA_ECORRUPT;
  if (!rc) {
    snprintf(host, host_len, "%s", r->find_coordinator_resp->host);
    *port = (int)r->find_coordinator_resp->port;
  }
  wire_header_free(r);
  return rc;
}

void client_header(Strata__Header *h, uint32_t api) {
  strata__header__init(h);
  h->api_key = api;
  h->client_id = (char *)"libstrata";
}

void strata_metadata_free(strata_metadata *m) {
  if (!m) return;
  for (size_t i = 0; i < m->ntopics; i++) {
    strata_topic_info *t = &m->topics[i];
    for (size_t k = 0; k < t->npartitions; k++) {
      free(t->partitions[k].replicas);
      free(t->partitions[k].isr);
      free(t->partitions[k].replica_offsets);
      free(t->partitions[k].damaged);
      free(t->partitions[k].offline);
      free(t->partitions[k].offline_errno);
    }
    for (size_t k = 0; k < t->nconfigs; k++) {
      free(t->config_keys[k]);
      free(t->config_values[k]);
    }
    free(t->config_keys);
    free(t->config_values);
    free(t->partitions);
    free(t->name);
  }
  free(m->topics);
  free(m->brokers);
  free(m);
}

static int32_t *dup_ids(const int32_t *v, size_t n) {
  int32_t *o = malloc((n ? n : 1) * sizeof *o);
  if (o && n) memcpy(o, v, n * sizeof *o);
  return o;
}

/* Copy a MetadataResponse into the public, self-owned form. */
static int metadata_copy(const Strata__MetadataResponse *r, strata_metadata **out) {
  strata_metadata *m = calloc(1, sizeof *m);
  if (!m) return STRATA_ENOMEM;
  m->controller_id = r->controller_id;
  snprintf(m->cluster_id, sizeof m->cluster_id, "%s", r->cluster_id ? r->cluster_id : "");
  m->brokers = calloc(r->n_brokers + 1, sizeof *m->brokers);
  m->topics = calloc(r->n_topics + 1, sizeof *m->topics);
  if (!m->brokers || !m->topics) goto oom;
  for (size_t i = 0; i < r->n_brokers; i++) {
    m->brokers[i].id = r->brokers[i]->id;
    snprintf(m->brokers[i].host, sizeof m->brokers[i].host, "%s", r->brokers[i]->host);
    m->brokers[i].port = (int)r->brokers[i]->port;
    snprintf(m->brokers[i].rack, sizeof m->brokers[i].rack, "%s", r->brokers[i]->rack);
    m->brokers[i].fenced = r->brokers[i]->fenced;
    snprintf(m->brokers[i].kafka, sizeof m->brokers[i].kafka, "%s",
             r->brokers[i]->kafka ? r->brokers[i]->kafka : "");
    m->nbrokers++;
  }
  for (size_t i = 0; i < r->n_topics; i++) {
    const Strata__TopicMetadata *t = r->topics[i];
    strata_topic_info *ti = &m->topics[m->ntopics++];
    ti->name = strdup(t->name);
    ti->error = strata_error_from_wire(t->error_code);
    ti->partitions = calloc(t->n_partitions + 1, sizeof *ti->partitions);
    ti->config_keys = calloc(t->n_configs + 1, sizeof(char *));
    ti->config_values = calloc(t->n_configs + 1, sizeof(char *));
    if (!ti->name || !ti->partitions || !ti->config_keys || !ti->config_values) goto oom;
    for (size_t k = 0; k < t->n_partitions; k++) {
      const Strata__PartitionMetadata *p = t->partitions[k];
      strata_partition_info *pi = &ti->partitions[ti->npartitions++];
      pi->partition = p->partition;
      pi->error = strata_error_from_wire(p->error_code);
      pi->leader = p->leader;
      pi->leader_epoch = p->leader_epoch;
      pi->replicas = dup_ids(p->replicas, p->n_replicas);
      pi->nreplicas = p->n_replicas;
      pi->isr = dup_ids(p->isr, p->n_isr);
      pi->nisr = p->n_isr;
      pi->high_watermark = p->high_watermark;
      pi->log_end_offset = p->log_end_offset;
      if (p->n_replica_offsets == p->n_replicas && p->n_replicas) {
        pi->replica_offsets = malloc(p->n_replicas * sizeof(int64_t));
        if (!pi->replica_offsets) goto oom;
        memcpy(pi->replica_offsets, p->replica_offsets, p->n_replicas * sizeof(int64_t));
      }
      pi->damaged = dup_ids(p->damaged, p->n_damaged);
      pi->ndamaged = p->n_damaged;
      size_t noff = p->n_offline < p->n_offline_errno ? p->n_offline : p->n_offline_errno;
      pi->offline = dup_ids(p->offline, noff);
      pi->offline_errno = dup_ids(p->offline_errno, noff);
      pi->noffline = noff;
      if (!pi->replicas || !pi->isr || !pi->damaged || !pi->offline || !pi->offline_errno) goto oom;
    }
    for (size_t k = 0; k < t->n_configs; k++) {
      ti->config_keys[k] = strdup(t->configs[k]->key);
      ti->config_values[k] = strdup(t->configs[k]->value);
      ti->nconfigs++;
      if (!ti->config_keys[k] || !ti->config_values[k]) goto oom;
    }
  }
  *out = m;
  return 0;
oom:
  strata_metadata_free(m);
  return STRATA_ENOMEM;
}

int client_metadata(struct conn *c, int timeout_ms, const char *const *topics,
                    size_t ntopics, strata_metadata **out) {
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_METADATA);
  Strata__MetadataRequest q = STRATA__METADATA_REQUEST__INIT;
  q.topics = (char **)topics;
  q.n_topics = ntopics;
  h.body_case = STRATA__HEADER__BODY_METADATA_REQ;
  h.metadata_req = &q;
  Strata__Header *r = NULL;
  int rc = conn_call(c, &h, NULL, 0, timeout_ms, &r, NULL, NULL);
  if (!rc && r->body_case != STRATA__HEADER__BODY_METADATA_RESP) rc = STRATA_ECORRUPT;
  if (!rc) rc = metadata_copy(r->metadata_resp, out);
  wire_header_free(r);
  return rc;
}

int strata_metadata_get(strata_client *c, const char *const *topics,
                        size_t ntopics, strata_metadata **out) {
  int rc = client_ensure(c);
  return rc ? rc : client_metadata(&c->conn, c->timeout_ms, topics, ntopics, out);
}

static int topic_result_error(const Strata__TopicResult *t, char *err, size_t err_len) {
  int rc = strata_error_from_wire(t->error_code);
  if (rc && err) snprintf(err, err_len, "%s", t->error_message && *t->error_message
                                                  ? t->error_message : strata_strerror(rc));
  return rc;
}

int strata_topic_create(strata_client *c, const char *name, uint32_t partitions,
                        uint32_t replication_factor, const char *const *keys,
                        const char *const *values, size_t n, char *err,
                        size_t err_len) {
  int rc = client_ensure(c);
  if (rc) return rc;
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_CREATE_TOPICS);
  Strata__TopicSpec spec = STRATA__TOPIC_SPEC__INIT;
  spec.name = (char *)name;
  spec.partitions = partitions;
  spec.replication_factor = replication_factor;
  Strata__TopicSpec__ConfigsEntry *entries = calloc(n + 1, sizeof *entries);
  Strata__TopicSpec__ConfigsEntry **ep = calloc(n + 1, sizeof *ep);
  if (!entries || !ep) {
    free(entries);
    free(ep);
    return STRATA_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    strata__topic_spec__configs_entry__init(&entries[i]);
    entries[i].key = (char *)keys[i];
    entries[i].value = (char *)values[i];
    ep[i] = &entries[i];
  }
  spec.configs = ep;
  spec.n_configs = n;
  Strata__TopicSpec *specs[1] = {&spec};
  Strata__CreateTopicsRequest q = STRATA__CREATE_TOPICS_REQUEST__INIT;
  q.topics = specs;
  q.n_topics = 1;
  q.timeout_ms = (uint32_t)c->timeout_ms;
  h.body_case = STRATA__HEADER__BODY_CREATE_TOPICS_REQ;
  h.create_topics_req = &q;
  Strata__Header *r = NULL;
  rc = client_admin_call(c, &h, &r);
  free(entries);
  free(ep);
  if (rc && r && err) snprintf(err, err_len, "%s", r->error_message);
  if (!rc && (r->body_case != STRATA__HEADER__BODY_CREATE_TOPICS_RESP ||
              r->create_topics_resp->n_results != 1))
    rc = STRATA_ECORRUPT;
  if (!rc) rc = topic_result_error(r->create_topics_resp->results[0], err, err_len);
  wire_header_free(r);
  return rc;
}

int strata_topic_delete(strata_client *c, const char *name, char *err,
                        size_t err_len) {
  int rc = client_ensure(c);
  if (rc) return rc;
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_DELETE_TOPICS);
  char *names[1] = {(char *)name};
  Strata__DeleteTopicsRequest q = STRATA__DELETE_TOPICS_REQUEST__INIT;
  q.names = names;
  q.n_names = 1;
  h.body_case = STRATA__HEADER__BODY_DELETE_TOPICS_REQ;
  h.delete_topics_req = &q;
  Strata__Header *r = NULL;
  rc = client_admin_call(c, &h, &r);
  if (rc && r && err) snprintf(err, err_len, "%s", r->error_message);
  if (!rc && (r->body_case != STRATA__HEADER__BODY_DELETE_TOPICS_RESP ||
              r->delete_topics_resp->n_results != 1))
    rc = STRATA_ECORRUPT;
  if (!rc) rc = topic_result_error(r->delete_topics_resp->results[0], err, err_len);
  wire_header_free(r);
  return rc;
}

int strata_topic_add_partitions(strata_client *c, const char *name, uint32_t count,
                                int validate_only, char *err, size_t err_len) {
  int rc = client_ensure(c);
  if (rc) return rc;
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_CREATE_PARTITIONS);
  Strata__PartitionsSpec spec = STRATA__PARTITIONS_SPEC__INIT;
  spec.name = (char *)name;
  spec.count = count;
  Strata__PartitionsSpec *specs[1] = {&spec};
  Strata__CreatePartitionsRequest q = STRATA__CREATE_PARTITIONS_REQUEST__INIT;
  q.topics = specs;
  q.n_topics = 1;
  q.timeout_ms = (uint32_t)c->timeout_ms;
  q.validate_only = validate_only != 0;
  h.body_case = STRATA__HEADER__BODY_CREATE_PARTITIONS_REQ;
  h.create_partitions_req = &q;
  Strata__Header *r = NULL;
  rc = client_admin_call(c, &h, &r);
  if (rc && r && err) snprintf(err, err_len, "%s", r->error_message);
  if (!rc && (r->body_case != STRATA__HEADER__BODY_CREATE_PARTITIONS_RESP ||
              r->create_partitions_resp->n_results != 1))
    rc = STRATA_ECORRUPT;
  if (!rc) {
    const Strata__PartitionsResult *t = r->create_partitions_resp->results[0];
    rc = strata_error_from_wire(t->error_code);
    if (rc && err)
      snprintf(err, err_len, "%s",
               t->error_message && *t->error_message ? t->error_message : strata_strerror(rc));
  }
  wire_header_free(r);
  return rc;
}

int client_list_offset(struct conn *c, int timeout_ms, const char *topic,
                       uint32_t partition, int64_t timestamp, int64_t *offset,
                       int64_t *found_ts) {
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_LIST_OFFSETS);
  Strata__ListOffsetsPartition lp = STRATA__LIST_OFFSETS_PARTITION__INIT;
  lp.topic = (char *)topic;
  lp.partition = partition;
  lp.timestamp = timestamp;
  Strata__ListOffsetsPartition *lps[1] = {&lp};
  Strata__ListOffsetsRequest q = STRATA__LIST_OFFSETS_REQUEST__INIT;
  q.partitions = lps;
  q.n_partitions = 1;
  h.body_case = STRATA__HEADER__BODY_LIST_OFFSETS_REQ;
  h.list_offsets_req = &q;
  Strata__Header *r = NULL;
  int rc = conn_call(c, &h, NULL, 0, timeout_ms, &r, NULL, NULL);
  if (!rc && (r->body_case != STRATA__HEADER__BODY_LIST_OFFSETS_RESP ||
              r->list_offsets_resp->n_partitions != 1))
    rc = STRATA_ECORRUPT;
  if (!rc) {
    const Strata__ListOffsetsPartitionResult *pr = r->list_offsets_resp->partitions[0];
    rc = strata_error_from_wire(pr->error_code);
    *offset = pr->offset;
    if (found_ts) *found_ts = pr->timestamp;
  }
  wire_header_free(r);
  return rc;
}

/* Only the partition's leader answers ListOffsets: when the broker we are
 * connected to is not it, ask the leader its metadata names, on a
 * connection of its own. */
int strata_list_offset(strata_client *c, const char *topic, uint32_t partition,
                       int64_t timestamp, int64_t *offset, int64_t *found_ts) {
  int rc = client_ensure(c);
  if (rc) return rc;
  rc = client_list_offset(&c->conn, c->timeout_ms, topic, partition, timestamp, offset, found_ts);
  if (rc != STRATA_ENOT_LEADER) return rc;
  strata_metadata *m = NULL;
  const char *topics[] = {topic};
  if (client_metadata(&c->conn, c->timeout_ms, topics, 1, &m)) return rc;
  const strata_broker_info *leader = NULL;
  if (m->ntopics == 1 && partition < m->topics[0].npartitions)
    for (size_t i = 0; i < m->nbrokers; i++)
      if (m->brokers[i].id == m->topics[0].partitions[partition].leader) leader = &m->brokers[i];
  if (leader) {
    struct conn lc;
    char err[256];
    conn_init(&lc);
    if (!conn_open(&lc, leader->host, leader->port, c->timeout_ms, &c->sec, err, sizeof err))
      rc = client_list_offset(&lc, c->timeout_ms, topic, partition, timestamp, offset, found_ts);
    conn_close(&lc);
  }
  strata_metadata_free(m);
  return rc;
}

int strata_elect_preferred(strata_client *c, const char *topic, uint32_t *changed) {
  int rc = client_ensure(c);
  if (rc) return rc;
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_ELECT_LEADERS);
  Strata__ElectLeadersRequest q = STRATA__ELECT_LEADERS_REQUEST__INIT;
  q.topic = (char *)(topic ? topic : "");
  h.body_case = STRATA__HEADER__BODY_ELECT_LEADERS_REQ;
  h.elect_leaders_req = &q;
  Strata__Header *r = NULL;
  rc = client_admin_call(c, &h, &r);
  if (!rc && r->body_case != STRATA__HEADER__BODY_ELECT_LEADERS_RESP) rc = STRATA_ECORRUPT;
  if (!rc && changed) *changed = r->elect_leaders_resp->changed;
  wire_header_free(r);
  return rc;
}

int strata_describe_quorum(strata_client *c, strata_quorum_info **out) {
  *out = NULL;
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_DESCRIBE_QUORUM);
  Strata__DescribeQuorumRequest q = STRATA__DESCRIBE_QUORUM_REQUEST__INIT;
  h.body_case = STRATA__HEADER__BODY_DESCRIBE_QUORUM_REQ;
  h.describe_quorum_req = &q;
  Strata__Header *r = NULL;
  int rc = client_admin_call(c, &h, &r);
  if (!rc && r->body_case != STRATA__HEADER__BODY_DESCRIBE_QUORUM_RESP) rc = STRATA_ECORRUPT;
  if (!rc) rc = strata_error_from_wire(r->describe_quorum_resp->error_code);
  if (rc) {
    wire_header_free(r);
    return rc;
  }
  /* A controller that is not the leader answers with its own view (its
   * peers' progress unknown to it) and names the leader: ask that one, at
   * its address, for the view that counts. Its own view stays when the
   * leader cannot be reached. */
  char host[256];
  int port;
  if (strcmp(r->describe_quorum_resp->role, "leader") && !hint_of(r, host, sizeof host, &port)) {
    struct conn k;
    char err[256];
    Strata__Header *lr = NULL;
    conn_init(&k);
    if (!conn_open(&k, host, port, c->timeout_ms, &c->sec, err, sizeof err) &&
        !conn_call(&k, &h, NULL, 0, c->timeout_ms, &lr, NULL, NULL) &&
        lr->body_case == STRATA__HEADER__BODY_DESCRIBE_QUORUM_RESP &&
        !lr->describe_quorum_resp->error_code &&
        !strcmp(lr->describe_quorum_resp->role, "leader")) {
      wire_header_free(r);
      r = lr;
      lr = NULL;
    }
    wire_header_free(lr);
    conn_close(&k);
  }
  const Strata__DescribeQuorumResponse *m = r->describe_quorum_resp;
  strata_quorum_info *o = calloc(1, sizeof *o);
  size_t n = m->n_voters + m->n_observers;
  if (!o || !(o->replicas = calloc(n + 1, sizeof *o->replicas))) abort();
  snprintf(o->role, sizeof o->role, "%s", m->role ? m->role : "");
  o->epoch = m->epoch;
  o->leader_id = m->leader_id;
  o->high_watermark = m->high_watermark;
  o->log_start_offset = m->log_start_offset;
  o->log_end_offset = m->log_end_offset;
  for (size_t i = 0; i < n; i++) {
    int voter = i < m->n_voters;
    const Strata__QuorumReplicaState *v = voter ? m->voters[i] : m->observers[i - m->n_voters];
    strata_quorum_replica *x = &o->replicas[o->nreplicas++];
    x->id = v->replica ? v->replica->id : -1;
    x->voter = voter;
    x->log_end_offset = v->log_end_offset;
    x->last_fetch_ms = v->last_fetch_ms;
    if (v->replica && v->replica->directory_id.len == 16)
      for (size_t b = 0; b < 16; b++)
        snprintf(x->directory_id + 2 * b, 3, "%02x", v->replica->directory_id.data[b]);
  }
  wire_header_free(r);
  *out = o;
  return 0;
}

/* 32 hex digits into 16 bytes; -1 otherwise. */
static int dir_parse(const char *hex, uint8_t out[16]) {
  if (!hex || strlen(hex) != 32) return -1;
  for (int i = 0; i < 16; i++) {
    unsigned v;
    char two[3] = {hex[2 * i], hex[2 * i + 1], 0};
    char *end;
    v = (unsigned)strtoul(two, &end, 16);
    if (*end || !isxdigit((unsigned char)two[0]) || !isxdigit((unsigned char)two[1])) return -1;
    out[i] = (uint8_t)v;
  }
  return 0;
}

/* AddRaftVoter / RemoveRaftVoter: sent like every admin call (hints
 * followed); the answer comes once the VotersRecord committed. */
static int change_voter(strata_client *c, int add, int32_t id, const char *dir_hex,
                        const char *host, int port, char *err, size_t err_len) {
  uint8_t dir[16];
  if (err_len) err[0] = 0;
  if (id < 0 || dir_parse(dir_hex, dir)) {
    snprintf(err, err_len, "the directory id is 32 hex digits (strata cluster status lists them)");
    return STRATA_EINVALID_ARGUMENT;
  }
  Strata__Header h;
  Strata__AddRaftVoterRequest aq = STRATA__ADD_RAFT_VOTER_REQUEST__INIT;
  Strata__RemoveRaftVoterRequest rq = STRATA__REMOVE_RAFT_VOTER_REQUEST__INIT;
  if (add) {
    client_header(&h, STRATA__API_KEY__API_ADD_RAFT_VOTER);
    aq.voter_id = id;
    aq.directory_id.data = dir;
    aq.directory_id.len = 16;
    aq.host = (char *)(host ? host : "");
    aq.port = port > 0 ? (uint32_t)port : 0;
    h.body_case = STRATA__HEADER__BODY_ADD_RAFT_VOTER_REQ;
    h.add_raft_voter_req = &aq;
  } else {
    client_header(&h, STRATA__API_KEY__API_REMOVE_RAFT_VOTER);
    rq.voter_id = id;
    rq.directory_id.data = dir;
    rq.directory_id.len = 16;
    h.body_case = STRATA__HEADER__BODY_REMOVE_RAFT_VOTER_REQ;
    h.remove_raft_voter_req = &rq;
  }
  Strata__Header *r = NULL;
  int rc = client_admin_call(c, &h, &r);
  if (rc && r && r->error_message && *r->error_message)
    snprintf(err, err_len, "%s", r->error_message);
  else if (rc == STRATA_EUNSUPPORTED_VERSION)
    snprintf(err, err_len, "%s (is --bootstrap the controllers' addresses, not a broker's?)",
             strata_strerror(rc));
  else if (rc)
    snprintf(err, err_len, "%s", strata_strerror(rc));
  if (!rc && r->body_case != (add ? STRATA__HEADER__BODY_ADD_RAFT_VOTER_RESP
                                  : STRATA__HEADER__BODY_REMOVE_RAFT_VOTER_RESP)) {
    rc = STRATA_ECORRUPT;
    snprintf(err, err_len, "an answer of another kind");
  }
  wire_header_free(r);
  return rc;
}

int strata_controller_add_voter(strata_client *c, int32_t id, const char *directory_id,
                                const char *host, int port, char *err, size_t err_len) {
  return change_voter(c, 1, id, directory_id, host, port, err, err_len);
}

int strata_controller_remove_voter(strata_client *c, int32_t id, const char *directory_id,
                                   char *err, size_t err_len) {
  return change_voter(c, 0, id, directory_id, NULL, 0, err, err_len);
}

void strata_quorum_info_free(strata_quorum_info *q) {
  if (!q) return;
  free(q->replicas);
  free(q);
}

int strata_ping(strata_client *c, char *version, size_t version_len) {
  int rc = client_ensure(c);
  if (rc) return rc;
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_API_VERSIONS);
  Strata__ApiVersionsRequest q = STRATA__API_VERSIONS_REQUEST__INIT;
  h.body_case = STRATA__HEADER__BODY_API_VERSIONS_REQ;
  h.api_versions_req = &q;
  Strata__Header *r = NULL;
  rc = conn_call(&c->conn, &h, NULL, 0, c->timeout_ms, &r, NULL, NULL);
  if (!rc && r->body_case != STRATA__HEADER__BODY_API_VERSIONS_RESP) rc = STRATA_ECORRUPT;
  if (!rc && version) snprintf(version, version_len, "%s", r->api_versions_resp->software_version);
  wire_header_free(r);
  return rc;
}

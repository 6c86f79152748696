/* Kafka DescribeTopicPartitions (API 75, v0, KIP-966): what the Kafka
 * 3.9/4.x AdminClient's describeTopics asks first. Answered from this
 * broker's metadata image like Metadata, with Kafka's paging: topics in
 * name order from the cursor's topic (and, in it, the cursor's partition),
 * at most ResponsePartitionLimit partitions (and Kafka's 2000), and a
 * NextCursor naming where the next page starts when some were left. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/kafka_call.h"
#include "broker/offsets_log.h"

#define DTP_PARTITIONS_MAX 2000 /* Kafka's max.request.partition.size.limit default */

typedef struct kafka_describe_topic_partitions_resp_describe_topic_partitions_response_topic
    dtp_topic;
typedef struct kafka_describe_topic_partitions_resp_describe_topic_partitions_response_partition
    dtp_partition;

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void partition_entry(struct broker *b, struct kafka_call *k, const struct partition *p,
                            uint32_t i, dtp_partition *pm) {
  kafka_defaults(&kafka_describe_topic_partitions_resp_describe_topic_partitions_response_partition_desc,
                 pm);
  pm->partition_index = (int32_t)i;
  /* Empty, not null: Kafka sends empty lists, and its Admin client reads
   * them without a null check. */
  pm->eligible_leader_replicas = kc_alloc(k, sizeof(int32_t));
  pm->n_eligible_leader_replicas = 0;
  pm->last_known_elr = kc_alloc(k, sizeof(int32_t));
  pm->n_last_known_elr = 0;
  struct kafka_placement pl;
  kafka_placement_of(b, k, p, &pl);
  pm->leader_id = pl.leader;
  pm->leader_epoch = pl.leader_epoch;
  pm->replica_nodes = pl.replicas;
  pm->n_replica_nodes = pl.nreplicas;
  pm->isr_nodes = pl.isr;
  pm->n_isr_nodes = pl.nisr;
  pm->offline_replicas = pl.offline;
  pm->n_offline_replicas = pl.noffline;
  pm->error_code = pl.error;
}

static void describe_topic_partitions_start(struct broker *b, struct kafka_call *k,
                                            struct response *r) {
  (void)r;
  const struct kafka_describe_topic_partitions_req *q = k->req;
  struct kafka_describe_topic_partitions_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_describe_topic_partitions_resp_desc, m);
  m->next_cursor = NULL;
  k->resp = m;
  const char *from = q->cursor && q->cursor->topic_name ? q->cursor->topic_name : "";
  int all = q->n_topics <= 0;
  size_t n = all ? b->topics.n : (size_t)q->n_topics;
  const char **names = kc_alloc(k, (n + 1) * sizeof *names);
  size_t nn = 0;
  int cursor_listed = 0;
  for (size_t i = 0; i < n; i++) {
    const char *name = all ? b->topics.v[i]->name : q->topics[i].name;
    if (!name || strcmp(name, from) < 0) continue;
    int dup = 0; /* Kafka takes the request's topics as a set */
    for (size_t j = 0; j < nn && !dup; j++) dup = !strcmp(names[j], name);
    if (dup) continue;
    cursor_listed |= !strcmp(name, from);
    names[nn++] = name;
  }
  /* Kafka refuses a cursor outside the topics asked for, or a negative
   * partition: every topic asked for gets INVALID_REQUEST. */
  if (q->cursor && ((!all && !cursor_listed) || q->cursor->partition_index < 0)) {
    int32_t nt = q->n_topics > 0 ? q->n_topics : 0;
    m->topics = kc_alloc(k, ((size_t)nt + 1) * sizeof *m->topics);
    for (int32_t i = 0; i < nt; i++) {
      dtp_topic *t = &m->topics[m->n_topics++];
      kafka_defaults(&kafka_describe_topic_partitions_resp_describe_topic_partitions_response_topic_desc, t);
      t->name = q->topics[i].name;
      t->error_code = KERR_INVALID_REQUEST;
      t->topic_authorized_operations = INT32_MIN;
    }
    return;
  }
  qsort(names, nn, sizeof *names, by_name);
  int32_t remaining = q->response_partition_limit < DTP_PARTITIONS_MAX
                          ? q->response_partition_limit
                          : DTP_PARTITIONS_MAX;
  if (remaining < 1) remaining = 1; /* Kafka would page nothing, forever */
  m->topics = kc_alloc(k, (nn + 1) * sizeof *m->topics);
  for (size_t i = 0; i < nn; i++) {
    const struct topic *tp = topics_find(&b->topics, names[i]);
    if (!tp && all) continue;
    /* Describe on the topic: left out of "all", refused when named
     * (whether it exists or not) */
    int denied = authz_topic(b, &k->who, names[i], ACL_OP_DESCRIBE) != 0;
    if (denied && all) continue;
    if (remaining == 0) { /* the next page starts with this topic */
      m->next_cursor = kc_alloc(k, sizeof *m->next_cursor);
      m->next_cursor->topic_name = names[i];
      m->next_cursor->partition_index = 0;
      break;
    }
    dtp_topic *t = &m->topics[m->n_topics++];
    kafka_defaults(&kafka_describe_topic_partitions_resp_describe_topic_partitions_response_topic_desc, t);
    t->name = names[i];
    t->topic_authorized_operations = INT32_MIN;
    if (denied) {
      t->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
      continue;
    }
    if (!tp) {
      t->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
      continue;
    }
    memcpy(t->topic_id.b, tp->id, sizeof t->topic_id.b);
    t->topic_authorized_operations = authz_operations(b, &k->who, ACL_RES_TOPIC, tp->name);
    t->is_internal = !strcmp(tp->name, OFFSETS_TOPIC);
    uint32_t start = q->cursor && !strcmp(from, tp->name) ? (uint32_t)q->cursor->partition_index : 0;
    if (start > tp->npart) start = tp->npart;
    uint32_t count = tp->npart - start;
    if (count > (uint32_t)remaining) count = (uint32_t)remaining;
    t->partitions = kc_alloc(k, ((size_t)count + 1) * sizeof *t->partitions);
    for (uint32_t p = start; p < start + count; p++)
      partition_entry(b, k, tp->parts[p], p, &t->partitions[t->n_partitions++]);
    remaining -= (int32_t)count;
    if (start + count < tp->npart) { /* cut inside this topic */
      m->next_cursor = kc_alloc(k, sizeof *m->next_cursor);
      m->next_cursor->topic_name = tp->name;
      m->next_cursor->partition_index = (int32_t)(start + count);
      break;
    }
  }
}

const struct kafka_handler kafka_describe_topic_partitions_handler = {
    KAFKA_DESCRIBE_TOPIC_PARTITIONS, 0, 0, describe_topic_partitions_start, NULL};

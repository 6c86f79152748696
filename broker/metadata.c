/* Adopting the controller's metadata image: the peers, the topics to
 * create or delete here, and each partition's state (cluster.c applies it).
 * No sockets here. */
#include "broker/metadata.h"

#include <stdio.h>
#include <inttypes.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/cluster.h"
#include "broker/rsess.h"
#include "replication/replica.h"
#include "broker/topics.h"
#include "common/trace.h"

/* A broker that holds topics follows only the cluster they belong to: a
 * controller of another cluster (its data.dir wiped or replaced) has none of
 * them, and following it would look like every topic had been deleted. An
 * empty broker joins, and remembers the cluster in meta.properties. */
static int same_cluster(struct broker *b, const char *id) {
  if (!id || !*id || !strcmp(id, b->cluster_id)) {
    b->foreign_controller = 0;
    return 1;
  }
  if (b->topics.n) {
    if (!b->foreign_controller)
      trace_error("the controller belongs to cluster %s, the data here to cluster %s: not "
                  "following it (was its data.dir wiped or replaced?); restore the controller's "
                  "metadata, or move this log.dir away to join the new cluster empty",
                  id, b->cluster_id);
    b->foreign_controller = 1;
    return 0;
  }
  char err[256];
  snprintf(b->cluster_id, sizeof b->cluster_id, "%s", id);
  if (broker_save_meta(b, err, sizeof err)) trace_error("%s", err);
  trace_info("joining cluster %s", id);
  b->foreign_controller = 0;
  return 1;
}

static int deleted_in(const Strata__MetadataImage *img, const char *name) {
  for (size_t i = 0; i < img->n_deleted_topics; i++)
    if (!strcmp(img->deleted_topics[i], name)) return 1;
  return 0;
}

const struct scram_credential *metadata_scram_credential(const struct broker *b,
                                                         const char *user, enum scram_mech m) {
  return secmeta_credential(&b->sec, user, m);
}

const struct acl_set *metadata_acls(const struct broker *b) { return secmeta_acls(&b->sec); }

/* How many partition logs to create next (at most want): chunks of
 * METADATA_CREATE_CHUNK while the pass has budget left, in count and, where
 * the glue gave a clock (b->mono_clock; the simulator gives none), in time
 * (METADATA_CREATE_MS): on a busy ext4 a file creation took milliseconds. */
static uint32_t create_chunk(struct broker *b, uint32_t *budget, int64_t start_ms, uint32_t want) {
  if (b->mono_clock && b->mono_clock() - start_ms >= METADATA_CREATE_MS) return 0;
  uint32_t k = want < METADATA_CREATE_CHUNK ? want : METADATA_CREATE_CHUNK;
  if (k > *budget) k = *budget;
  *budget -= k;
  return k;
}

/* Partition k's state in the image's topic t (the image lists them in
 * order; searched when not). */
static const Strata__PartitionState *state_of(const Strata__TopicState *t, uint32_t k) {
  if (k < t->n_partitions && t->partitions[k]->partition == k) return t->partitions[k];
  for (size_t i = 0; i < t->n_partitions; i++)
    if (t->partitions[i]->partition == k) return t->partitions[i];
  return NULL;
}

/* The logs of partitions [from, tp->npart) just created here, for those
 * this broker is a replica of (cluster_host_partition), at once: their
 * file creations count in the pass's time budget (create_chunk). */
static void host_new(struct broker *b, struct topic *tp, const Strata__TopicState *t,
                     uint32_t from) {
  for (uint32_t k = from; k < tp->npart; k++) {
    const Strata__PartitionState *s = state_of(t, k);
    if (s) cluster_host_partition(b, tp, k, s);
  }
}

int metadata_apply_image(struct broker *b, const Strata__MetadataImage *img, int64_t now_ms) {
  if (!same_cluster(b, img->cluster_id)) return 0;
  if (img->version <= b->image_version) return 0;
  int64_t was_version = b->image_version;
  b->image_version = img->version;
  b->meta_applied++;
  /* Partition logs this pass may still create (each costs a mkdir and file
   * creations on the event loop): a topic of 10,000 partitions created in
   * one pass kept the broker from heartbeating for seconds, and the
   * controller fenced it (issue 15). The rest come with the same image
   * again: the version stays below it until everything exists. */
  uint32_t budget = METADATA_CREATE_PER_PASS;
  int64_t start_ms = b->mono_clock ? b->mono_clock() : 0;
  int incomplete = 0;
  /* Users and ACLs: the image's copy replaces ours. One that does not load
   * (a damaged image) leaves none: SASL then refuses, the authorizer denies. */
  if (secmeta_load_image(&b->sec, img))
    trace_error("the metadata image's users or ACLs do not load: none kept until the next image");
  b->controller_id = img->controller_id;
  /* A peer that restarted or was fenced: forget its replication progress
   * in every partition we lead (a restarted follower with a wiped disk must
   * not look caught up on the strength of its previous life's fetches). */
  for (size_t i = 0; i < img->n_brokers; i++) {
    const Strata__BrokerState *s = img->brokers[i];
    const struct peer *old = broker_peer(b, s->id);
    if (!old || (old->epoch == s->epoch && !s->fenced)) continue;
    /* its fetch session too, unless the new registration already made it */
    struct rsess *rs = b->replica_sessions ? rsess_of(b->replica_sessions, s->id) : NULL;
    if (rs && (s->fenced || rs->broker_epoch != s->epoch))
      rsess_drop_replica(b->replica_sessions, s->id);
    for (size_t t = 0; t < b->topics.n; t++)
      for (uint32_t k = 0; k < b->topics.v[t]->npart; k++) {
        struct partition *p = b->topics.v[t]->parts[k];
        if (p->rep.role == ROLE_LEADER) isr_forget(&p->rep.isr, s->id);
      }
  }
  b->npeers = 0;
  for (size_t i = 0; i < img->n_brokers && b->npeers < CLUSTER_BROKERS_MAX; i++) {
    const Strata__BrokerState *s = img->brokers[i];
    struct peer *pe = &b->peers[b->npeers++];
    pe->epoch = s->epoch;
    pe->id = s->id;
    snprintf(pe->host, sizeof pe->host, "%s", s->host);
    pe->port = (int)s->port;
    snprintf(pe->rack, sizeof pe->rack, "%s", s->rack);
    snprintf(pe->admin, sizeof pe->admin, "%s", s->admin ? s->admin : "");
    snprintf(pe->kafka, sizeof pe->kafka, "%s", s->kafka ? s->kafka : "");
    pe->fenced = s->fenced;
  }
  for (size_t i = 0; i < img->n_topics; i++) {
    const Strata__TopicState *t = img->topics[i];
    struct topic *tp = topics_find(&b->topics, t->name);
    /* The controller gave this name another id than the one it gave the
     * topic held here: the topic was deleted and created again while this
     * broker did not see it gone (between two images, or while down). Its
     * data is the old topic's, which the controller deleted. (An id drawn
     * here, for a topic from before ids, proves nothing: it is kept.) */
    if (tp && tp->id_from_controller && t->topic_id.len == 16 &&
        memcmp(tp->id, t->topic_id.data, sizeof tp->id)) {
      trace_info("topic %s was deleted and created again in the cluster: removing the old one here",
                 t->name);
      char copy[TOPIC_NAME_MAX + 1];
      snprintf(copy, sizeof copy, "%s", t->name);
      topics_delete(&b->topics, copy);
      b->hw_version++;
      tp = NULL;
    }
    if (tp && tp->npart > t->n_partitions) {
      trace_error("topic %s has %u partitions here and %zu in the cluster metadata; ignoring it",
                  t->name, tp->npart, t->n_partitions);
      continue;
    }
    if (!tp) {
      uint32_t first = create_chunk(b, &budget, start_ms, (uint32_t)t->n_partitions);
      if (!first) {
        incomplete = 1;
        continue;
      }
      const char *keys[TOPIC_CONFIGS_MAX], *vals[TOPIC_CONFIGS_MAX];
      size_t n = t->n_configs < TOPIC_CONFIGS_MAX ? t->n_configs : TOPIC_CONFIGS_MAX;
      for (size_t k = 0; k < n; k++) {
        keys[k] = t->configs[k]->key;
        vals[k] = t->configs[k]->value;
      }
      char err[256];
      int rc = topics_create(&b->topics, t->name, first, keys, vals, n,
                             t->topic_id.len == 16 ? t->topic_id.data : NULL, b->now_ms, err,
                             sizeof err);
      if (rc) {
        trace_error("cannot create topic %s locally: %s", t->name, err);
        continue;
      }
      tp = topics_find(&b->topics, t->name);
      if (tp) host_new(b, tp, t, 0);
    } else if (t->topic_id.len == 16) { /* the controller's id is the topic's */
      char err[256];
      if (topics_set_id(&b->topics, tp, t->topic_id.data, err, sizeof err))
        trace_error("cannot keep topic %s's id: %s", t->name, err);
    }
    while (tp && tp->npart < t->n_partitions) { /* the topic grew (CreatePartitions), or
                                                   its creation goes on */
      uint32_t more = create_chunk(b, &budget, start_ms, (uint32_t)t->n_partitions - tp->npart);
      if (!more) {
        incomplete = 1; /* next pass */
        break;
      }
      char err[256];
      uint32_t was = tp->npart;
      int rc = topics_add_partitions(&b->topics, t->name, tp->npart + more, b->now_ms, err,
                                     sizeof err);
      if (rc) {
        trace_error("cannot add partitions to topic %s locally: %s", t->name, err);
        break;
      }
      host_new(b, tp, t, was);
      b->hw_version++; /* parked requests waiting for these partitions look again */
    }
    for (size_t k = 0; tp && k < t->n_partitions; k++) {
      const Strata__PartitionState *s = t->partitions[k];
      if (s->partition < tp->npart)
        cluster_apply_partition(b, cluster_host_partition(b, tp, s->partition, s), s, now_ms);
    }
  }
  /* Topics the cluster no longer has. Only a delete the controller
   * recorded removes data; a topic the image merely lacks (metadata lost,
   * or restored from an older backup) is kept, and served by nobody here,
   * until an operator decides (DESIGN.md T9: no delete on partial evidence). */
  for (size_t i = 0; i < b->topics.n;) {
    struct topic *tp = b->topics.v[i];
    const char *name = tp->name;
    int found = 0;
    for (size_t k = 0; k < img->n_topics && !found; k++) found = !strcmp(img->topics[k]->name, name);
    if (found) {
      i++;
      continue;
    }
    if (!deleted_in(img, name)) {
      for (uint32_t k = 0; k < tp->npart; k++) {
        struct partition *p = tp->parts[k];
        if (p->rep.role == ROLE_NONE) continue;
        if (k == 0)
          trace_error("topic %s is here but not in the cluster's metadata, which records no "
                      "delete of it: kept, not served (was the controller's metadata lost?)", name);
        replica_unassign(&p->rep);
      }
      i++;
      continue;
    }
    trace_info("topic %s was deleted from the cluster: removing it here", name);
    char copy[TOPIC_NAME_MAX + 1];
    snprintf(copy, sizeof copy, "%s", name);
    topics_delete(&b->topics, copy);
    b->hw_version++;
  }
  if (topics_offline_count(&b->topics)) b->offline_walk = 1; /* new logs that did not open */
  if (incomplete) {
    b->image_version = was_version; /* the heartbeat asks for this image again */
    trace_info("metadata image %" PRId64 ": partition logs still to create; more with the next "
               "heartbeat's answer", img->version);
  }
  return 1;
}

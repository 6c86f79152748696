/* Server-side partition assignors of the group coordinator: sticky (the
 * default: keeps every partition where it is unless balance needs it to
 * move), range and round-robin (Kafka's, per topic and over all topics).
 * Members may subscribe to different topics. Pure functions, no I/O. */
#ifndef STRATA_ASSIGNOR_H
#define STRATA_ASSIGNOR_H

#include <stddef.h>
#include <stdint.h>

enum assignor_kind { ASSIGNOR_STICKY = 0, ASSIGNOR_RANGE, ASSIGNOR_ROUNDROBIN };

/* A topic-partition; topic is an index into the caller's topic table. */
struct tp {
  uint32_t topic, partition;
};

struct assign_member {
  /* in */
  const char *id;            /* members are ordered by id for determinism */
  const uint32_t *topics;    /* subscribed topic indices */
  size_t ntopics;
  const struct tp *prev;     /* its previous target (sticky starts from it) */
  size_t nprev;
  /* out: malloc'd, sorted by (topic, partition) */
  struct tp *out;
  size_t nout;
};

/* Name to kind ("sticky", "range", "roundrobin"); -1 when unknown. */
int assignor_parse(const char *name);
const char *assignor_name(int kind);

/* Assign every partition of every subscribed topic (npart[t] partitions of
 * topic t) to exactly one member subscribed to its topic. members[] may be
 * in any order; 0 or STRATA_ENOMEM. */
int assign_partitions(int kind, const uint32_t *npart, size_t ntopics,
                      struct assign_member *members, size_t nmembers);

void assign_free(struct assign_member *members, size_t nmembers);

#endif

#include "drill/member.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/strata.h"

#define MEMBER_PARTITIONS_MAX 256

static volatile sig_atomic_t stopping;
static void on_term(int s) { (void)s; stopping = 1; }

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct member {
  FILE *out;
  const char *name, *group;
  int64_t committed[MEMBER_PARTITIONS_MAX]; /* last commit this member made */
};

/* Commit the position of one owned partition when it moved; the C line is
 * written only once the coordinator took it. */
static void commit_one(struct member *m, strata_consumer *c, const char *topic, uint32_t p) {
  if (p >= MEMBER_PARTITIONS_MAX) return;
  int64_t pos = strata_consumer_position(c, topic, p);
  if (pos < 0 || pos == m->committed[p]) return;
  if (strata_consumer_commit_offset(c, topic, p, pos) == 0) {
    m->committed[p] = pos;
    fprintf(m->out, "C %" PRId64 " %s %u %" PRId64 "\n", mono_us(), m->group, p, pos);
  }
}

/* Commit every owned partition (from a copy: a commit may poll and change
 * the assignment). */
static void commit_all(struct member *m, strata_consumer *c, const char *topic) {
  size_t n;
  const strata_topic_partition *tps = strata_consumer_assignment(c, &n);
  uint32_t parts[MEMBER_PARTITIONS_MAX];
  size_t np = 0;
  for (size_t i = 0; i < n && np < MEMBER_PARTITIONS_MAX; i++) parts[np++] = tps[i].partition;
  for (size_t i = 0; i < np; i++) commit_one(m, c, topic, parts[i]);
}

static void on_rebalance(strata_consumer *c, int event, const strata_topic_partition *tps,
                         size_t n, void *arg) {
  struct member *m = arg;
  for (size_t i = 0; i < n; i++) {
    if (event == STRATA_REBALANCE_REVOKED) commit_one(m, c, tps[i].topic, tps[i].partition);
    if (event != STRATA_REBALANCE_ASSIGNED && tps[i].partition < MEMBER_PARTITIONS_MAX)
      m->committed[tps[i].partition] = -1;
    fprintf(m->out, "%c %" PRId64 " %s %u\n",
            event == STRATA_REBALANCE_ASSIGNED ? 'o' : event == STRATA_REBALANCE_REVOKED ? 'x' : 'l',
            mono_us(), m->name, tps[i].partition);
  }
}

int drill_member_main(const char *bootstrap, const strata_security *sec, const char *topic,
                      const char *group, const char *name, const char *history_path) {
  signal(SIGTERM, on_term);
  signal(SIGINT, SIG_IGN); /* the drill stops its members itself */
  struct member m = {.name = name, .group = group};
  for (int i = 0; i < MEMBER_PARTITIONS_MAX; i++) m.committed[i] = -1;
  m.out = fopen(history_path, "a");
  if (!m.out) return 2;
  setvbuf(m.out, NULL, _IOLBF, 0);
  char err[256];
  strata_consumer *c = strata_consumer_new_secure(bootstrap, NULL, sec, err, sizeof err);
  strata_group_config g;
  strata_group_config_defaults(&g);
  g.group_id = group;
  g.auto_commit = 0; /* commits are recorded, so the drill makes them itself */
  g.reset_offset = STRATA_OFFSET_BEGINNING;
  g.on_rebalance = on_rebalance;
  g.cb_arg = &m;
  const char *topics[1] = {topic};
  if (!c || strata_consumer_subscribe(c, &g, topics, 1)) {
    fprintf(stderr, "member %s: %s\n", name, c ? "cannot subscribe" : err);
    strata_consumer_free(c);
    fclose(m.out);
    return 2;
  }
  int64_t next_commit = mono_us() + 200000;
  while (!stopping) {
    const strata_message *msg;
    int rc = strata_consumer_poll(c, 100, &msg);
    if (rc > 0)
      fprintf(m.out, "R %" PRId64 " %s %u %" PRId64 " %.*s\n", mono_us(), name, msg->partition,
              msg->offset, (int)msg->value_len, (const char *)msg->value);
    if (mono_us() >= next_commit) {
      next_commit = mono_us() + 200000;
      commit_all(&m, c, topic);
    }
  }
  commit_all(&m, c, topic);
  strata_consumer_free(c); /* leaves the group: its revoke lines come from here */
  fclose(m.out);
  return 0;
}

struct open_own {
  char member[64];
  uint32_t partition;
  int64_t from;
};

void drill_member_history(FILE *in, FILE *out, int64_t end, int64_t *lost_gen) {
  struct open_own own[MEMBER_PARTITIONS_MAX];
  size_t nown = 0;
  char line[512];
  while (fgets(line, sizeof line, in)) {
    char kind = line[0], name[64];
    int64_t t;
    uint32_t p;
    if (kind != 'o' && kind != 'x' && kind != 'l') {
      if (strchr(line, '\n')) fputs(line, out); /* a torn last line is dropped */
      continue;
    }
    if (sscanf(line + 1, " %" SCNd64 " %63s %u", &t, name, &p) != 3) continue;
    size_t i = 0;
    while (i < nown && !(own[i].partition == p && !strcmp(own[i].member, name))) i++;
    if (kind == 'o') {
      if (i == nown && nown < MEMBER_PARTITIONS_MAX) {
        snprintf(own[nown].member, sizeof own[nown].member, "%s", name);
        own[nown].partition = p;
        own[nown++].from = t;
      }
    } else if (i < nown) {
      int64_t gen = kind == 'l' ? --*lost_gen : 0;
      fprintf(out, "O %" PRId64 " %" PRId64 " %s %" PRId64 " %u\n", own[i].from, t, name, gen, p);
      own[i] = own[--nown];
    }
  }
  for (size_t i = 0; i < nown; i++)
    fprintf(out, "O %" PRId64 " %" PRId64 " %s 0 %u\n", own[i].from, end, own[i].member,
            own[i].partition);
}

/* strata group list | describe | reset-offsets | delete: what an operator
 * needs around consumer groups (who owns what, how far behind, replay). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/common.h"

static const struct opt list_opts[] = {CLI_COMMON_OPTS};
static const struct opt describe_opts[] = {CLI_COMMON_OPTS};
static const struct opt delete_opts[] = {CLI_COMMON_OPTS};
static const struct opt reset_opts[] = {
    CLI_COMMON_OPTS,
    {"topic", 't', OPT_VALUE, "TOPIC", "the topic whose offsets to reset (required)"},
    {"to-earliest", 0, OPT_FLAG, NULL, "to the log start: replay everything"},
    {"to-latest", 0, OPT_FLAG, NULL, "to the log end: skip everything"},
    {"to-offset", 0, OPT_VALUE, "N", "to this offset on every partition"},
    {"to-datetime", 0, OPT_VALUE, "TS", "to the first record at/after TS (ms or ISO-8601)"},
    {"shift-by", 0, OPT_VALUE, "N", "move the committed offsets by N (may be negative)"},
    {"dry-run", 0, OPT_FLAG, NULL, "print the new offsets without committing them"},
};

#define PARSE(o, table, what, usage, text, nargs)                                     \
  do {                                                                                \
    size_t n_ = sizeof table / sizeof table[0];                                       \
    if (opts_parse(o, table, n_, argc, argv)) return cli_fail(what, (o)->err);        \
    if ((o)->help) {                                                                  \
      opts_print_help(usage, text, table, n_);                                        \
      return 0;                                                                       \
    }                                                                                 \
    if ((o)->positional_count != (nargs)) return cli_fail(what, "wrong number of arguments: " usage); \
  } while (0)

static int group_list(int argc, char **argv) {
  struct opts o;
  PARSE(&o, list_opts, "group list", "group list", "Every consumer group, with its state.", 0);
  strata_client *c = cli_connect(&o, "group list");
  if (!c) return 1;
  strata_group_listing *v;
  size_t n;
  int rc = strata_group_list(c, &v, &n);
  strata_client_free(c);
  if (rc) return cli_fail("group list", strata_strerror(rc));
  printf("%-30s %-12s %-8s %s\n", "group", "state", "members", "coordinator");
  for (size_t i = 0; i < n; i++)
    printf("%-30s %-12s %-8u %d\n", v[i].group_id, v[i].state, v[i].members, v[i].coordinator);
  strata_group_list_free(v, n);
  return 0;
}

static const strata_group_member_info *owner(const strata_group_info *g, const char *topic,
                                             uint32_t part) {
  for (size_t i = 0; i < g->nmembers; i++)
    for (size_t k = 0; k < g->members[i].nassignment; k++)
      if (g->members[i].assignment[k].partition == part &&
          !strcmp(g->members[i].assignment[k].topic, topic))
        return &g->members[i];
  return NULL;
}

static int group_describe(int argc, char **argv) {
  struct opts o;
  PARSE(&o, describe_opts, "group describe", "group describe GROUP",
        "Members and their partitions, and per partition the committed offset, the log end "
        "offset and the lag.",
        1);
  const char *id = o.positional[0];
  strata_client *c = cli_connect(&o, "group describe");
  if (!c) return 1;
  strata_group_info *g;
  int rc = strata_group_describe(c, id, &g);
  if (rc) {
    strata_client_free(c);
    return cli_fail("group describe", rc == STRATA_EUNKNOWN_GROUP ? "no such group"
                                                                 : strata_strerror(rc));
  }
  printf("group %s: %s, epoch %d, assignor %s, coordinator broker %d, %zu member(s)\n",
         g->group_id, g->state, g->epoch, g->assignor, g->coordinator, g->nmembers);
  for (size_t i = 0; i < g->nmembers; i++) {
    printf("  member %s%s%s epoch %d:", g->members[i].member_id,
           g->members[i].instance_id[0] ? " instance " : "", g->members[i].instance_id,
           g->members[i].epoch);
    for (size_t k = 0; k < g->members[i].nassignment; k++)
      printf(" %s-%u", g->members[i].assignment[k].topic, g->members[i].assignment[k].partition);
    printf("\n");
  }
  printf("%-24s %-9s %-12s %-12s %-8s %s\n", "topic", "partition", "committed", "log-end",
         "lag", "member");
  for (size_t i = 0; i < g->noffsets; i++) {
    const strata_group_offset *e = &g->offsets[i];
    int64_t end = -1;
    strata_list_offset(c, e->topic, e->partition, STRATA_OFFSET_END, &end, NULL);
    const strata_group_member_info *m = owner(g, e->topic, e->partition);
    char lag[32] = "-";
    if (end >= 0) snprintf(lag, sizeof lag, "%" PRId64, end > e->offset ? end - e->offset : 0);
    printf("%-24s %-9u %-12" PRId64 " %-12" PRId64 " %-8s %s\n", e->topic, e->partition, e->offset,
           end, lag, m ? m->member_id : "-");
  }
  strata_group_info_free(g);
  strata_client_free(c);
  return 0;
}

static int group_reset(int argc, char **argv) {
  struct opts o;
  PARSE(&o, reset_opts, "group reset-offsets",
        "group reset-offsets GROUP --topic T --to-earliest|--to-latest|--to-offset N|"
        "--to-datetime TS|--shift-by N",
        "Set the group's committed offsets for a topic (replay or skip). Refused while the "
        "group has live members: stop its consumers first.",
        1);
  const char *id = o.positional[0], *topic = opts_str(&o, "topic", NULL);
  if (!topic) return cli_fail("group reset-offsets", "--topic is required");
  int64_t to_offset, shift, ts = -1;
  if (opts_i64(&o, "to-offset", -1, 0, INT64_MAX, 0, &to_offset) ||
      opts_i64(&o, "shift-by", 0, INT64_MIN / 2, INT64_MAX / 2, 0, &shift))
    return cli_fail("group reset-offsets", o.err);
  if (opts_has(&o, "to-datetime") && opts_parse_timestamp(opts_str(&o, "to-datetime", ""), &ts))
    return cli_fail("group reset-offsets", "--to-datetime wants ms since the epoch or YYYY-MM-DDTHH:MM:SSZ");
  int how = opts_has(&o, "to-earliest") + opts_has(&o, "to-latest") + (to_offset >= 0) +
            (ts >= 0) + opts_has(&o, "shift-by");
  if (how != 1)
    return cli_fail("group reset-offsets",
                    "choose one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by");
  strata_client *c = cli_connect(&o, "group reset-offsets");
  if (!c) return 1;
  strata_metadata *m = NULL;
  const char *names[1] = {topic};
  int rc = strata_metadata_get(c, names, 1, &m);
  if (!rc && (m->ntopics != 1 || m->topics[0].error)) rc = STRATA_EUNKNOWN_TOPIC;
  strata_group_info *g = NULL;
  if (!rc && opts_has(&o, "shift-by")) {
    rc = strata_group_describe(c, id, &g);
    if (rc == STRATA_EUNKNOWN_GROUP) rc = 0;
  }
  size_t np = rc ? 0 : m->topics[0].npartitions;
  strata_group_offset *v = calloc(np + 1, sizeof *v);
  if (!v) rc = STRATA_ENOMEM;
  for (size_t i = 0; !rc && i < np; i++) {
    uint32_t p = m->topics[0].partitions[i].partition;
    int64_t start = -1, end = -1, off = -1;
    rc = strata_list_offset(c, topic, p, STRATA_OFFSET_BEGINNING, &start, NULL);
    if (!rc) rc = strata_list_offset(c, topic, p, STRATA_OFFSET_END, &end, NULL);
    if (rc) break;
    if (opts_has(&o, "to-earliest")) off = start;
    else if (opts_has(&o, "to-latest")) off = end;
    else if (to_offset >= 0) off = to_offset;
    else if (ts >= 0) {
      rc = strata_list_offset(c, topic, p, ts, &off, NULL);
      if (!rc && off < 0) off = end;
    } else {
      int64_t cur = end;
      for (size_t k = 0; g && k < g->noffsets; k++)
        if (g->offsets[k].partition == p && !strcmp(g->offsets[k].topic, topic)) cur = g->offsets[k].offset;
      off = cur + shift;
    }
    if (off < start) off = start; /* clamp into the log, as Kafka's tool does */
    if (off > end) off = end;
    v[i] = (strata_group_offset){(char *)topic, p, off};
  }
  if (!rc) {
    printf("%-24s %-9s %s\n", "topic", "partition", "new-offset");
    for (size_t i = 0; i < np; i++) printf("%-24s %-9u %" PRId64 "\n", topic, v[i].partition, v[i].offset);
    if (!opts_has(&o, "dry-run")) rc = strata_group_set_offsets(c, id, v, np);
  }
  free(v);
  strata_group_info_free(g);
  strata_metadata_free(m);
  strata_client_free(c);
  if (rc == STRATA_EGROUP_NOT_EMPTY)
    return cli_fail("group reset-offsets",
                    "the group has live members; stop its consumers, then reset");
  if (rc) return cli_fail("group reset-offsets", strata_strerror(rc));
  if (opts_has(&o, "dry-run")) printf("(dry run: nothing committed)\n");
  return 0;
}

static int group_delete(int argc, char **argv) {
  struct opts o;
  PARSE(&o, delete_opts, "group delete", "group delete GROUP",
        "Delete a group and its committed offsets (refused while it has live members).", 1);
  strata_client *c = cli_connect(&o, "group delete");
  if (!c) return 1;
  int rc = strata_group_delete(c, o.positional[0]);
  strata_client_free(c);
  if (rc == STRATA_EGROUP_NOT_EMPTY)
    return cli_fail("group delete", "the group has live members; stop its consumers first");
  if (rc) return cli_fail("group delete", rc == STRATA_EUNKNOWN_GROUP ? "no such group"
                                                                     : strata_strerror(rc));
  printf("deleted group %s\n", o.positional[0]);
  return 0;
}

int cmd_group(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : "";
  if (!strcmp(sub, "list")) return group_list(argc - 2, argv + 2);
  if (!strcmp(sub, "describe")) return group_describe(argc - 2, argv + 2);
  if (!strcmp(sub, "reset-offsets")) return group_reset(argc - 2, argv + 2);
  if (!strcmp(sub, "delete")) return group_delete(argc - 2, argv + 2);
  int help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
  fprintf(help ? stdout : stderr, "usage: strata group list|describe|reset-offsets|delete [--help]\n");
  return help ? 0 : 2;
}

/* strata cluster status | elect-preferred: what an operator checks during a
 * drill (brokers alive or fenced, each partition's leader, epoch, ISR, high
 * watermark and follower lag) and the on-demand preferred-leader election. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/common.h"

static const struct opt status_opts[] = {
    CLI_COMMON_OPTS,
    {"topic", 't', OPT_VALUE, "TOPIC", "only this topic"},
};

static const strata_partition_info *find_part(const strata_metadata *m, const char *topic,
                                              uint32_t part) {
  for (size_t i = 0; m && i < m->ntopics; i++) {
    if (strcmp(m->topics[i].name, topic)) continue;
    for (size_t k = 0; k < m->topics[i].npartitions; k++)
      if (m->topics[i].partitions[k].partition == part) return &m->topics[i].partitions[k];
  }
  return NULL;
}

/* The controller quorum's lines: one per controller, its role, the
 * leader's epoch, its log end and lag behind the leader, "(active)" on the
 * leader's. From DescribeQuorum; when the controller does not serve it (a
 * controller without a quorum), the one controller there is, as the
 * metadata names it. */
static void print_quorum(strata_client *c, const strata_metadata *m) {
  strata_quorum_info *q = NULL;
  int rc = strata_describe_quorum(c, &q);
  if (rc == STRATA_EUNSUPPORTED_VERSION) {
    printf("controller %d (active)  single controller, no quorum\n", m->controller_id);
    return;
  }
  if (rc) {
    printf("controller quorum: not known (%s)\n", strata_strerror(rc));
    return;
  }
  /* Only the leader's own answer makes a controller "active"; a follower's
   * (the leader did not answer) names whom it last followed, unconfirmed. */
  int led = !strcmp(q->role, "leader");
  if (led)
    printf("controller quorum: epoch %d, high watermark %" PRId64 ", leader %d\n", q->epoch,
           q->high_watermark, q->leader_id);
  else if (q->leader_id >= 0)
    printf("controller quorum: NOT CONFIRMED: the leader did not answer; a %s says epoch %d, "
           "leader %d\n", q->role, q->epoch, q->leader_id);
  else
    printf("controller quorum: NO LEADER (an election, or no majority up): a %s says epoch %d\n",
           q->role, q->epoch);
  for (size_t i = 0; i < q->nreplicas; i++) {
    const strata_quorum_replica *x = &q->replicas[i];
    int leader = x->id == q->leader_id;
    char name[48], end[24] = "?", lag[24] = "?";
    snprintf(name, sizeof name, "controller %d%s", x->id,
             leader ? (led ? " (active)" : " (leader?)") : "");
    if (x->log_end_offset >= 0) {
      snprintf(end, sizeof end, "%" PRId64, x->log_end_offset);
      snprintf(lag, sizeof lag, "%" PRId64,
               q->log_end_offset > x->log_end_offset ? q->log_end_offset - x->log_end_offset : 0);
    }
    const char *role = leader ? "leader" : !x->voter ? "observer"
                       : !led ? "voter"
                       : x->last_fetch_ms < 0 ? "voter, no fetch yet" : "follower";
    printf("%-22s %-20s epoch %-5d log end %-10s lag %-8s dir %s\n", name, role, q->epoch, end,
           lag, x->directory_id[0] ? x->directory_id : "?");
  }
  strata_quorum_info_free(q);
}

static int cluster_status(int argc, char **argv) {
  struct opts o;
  size_t nopt = sizeof status_opts / sizeof status_opts[0];
  if (opts_parse(&o, status_opts, nopt, argc, argv)) return cli_fail("cluster status", o.err);
  if (o.help) {
    opts_print_help("cluster status [--topic T]",
                    "Brokers, the controller quorum (each controller's role, epoch, log end and "
                    "lag; `controller N (active)` on the active one), and every partition's "
                    "leader, epoch, ISR, high watermark and follower lag.",
                    status_opts, nopt);
    return 0;
  }
  int t = cli_timeout(&o);
  if (t < 0) return cli_fail("cluster status", o.err);
  char err[256];
  strata_security sec;
  if (cli_security(&o, &sec, err, sizeof err)) return cli_fail("cluster status", err);
  strata_client *c = strata_client_new_secure(cli_bootstrap(&o), t, &sec, err, sizeof err);
  if (!c) return cli_fail("cluster status", err);
  strata_metadata *m = NULL;
  int rc = strata_metadata_get(c, NULL, 0, &m);
  if (rc) {
    strata_client_free(c);
    return cli_fail("cluster status", strata_strerror(rc));
  }
  printf("cluster %s\n", m->cluster_id); /* the controllers: from the quorum itself */
  print_quorum(c, m);
  strata_client_free(c);
  printf("%-6s %-22s %-22s %-8s %s\n", "broker", "address", "kafka", "rack", "state");
  /* Each leader reports its own partitions' offsets: ask every live broker. */
  strata_metadata *views[256] = {0};
  for (size_t i = 0; i < m->nbrokers && i < 256; i++) {
    strata_broker_info *b = &m->brokers[i];
    char addr[300];
    snprintf(addr, sizeof addr, "%s:%d", b->host, b->port);
    printf("%-6d %-22s %-22s %-8s %s\n", b->id, addr, b->kafka[0] ? b->kafka : "-",
           b->rack[0] ? b->rack : "-",
           b->fenced ? "FENCED" : "alive");
    if (b->fenced) continue;
    strata_client *bc = strata_client_new_secure(addr, t, &sec, err, sizeof err);
    if (bc) {
      strata_metadata_get(bc, NULL, 0, &views[i]);
      strata_client_free(bc);
    }
  }
  const char *only = opts_str(&o, "topic", NULL);
  printf("\n%-24s %4s %6s %5s %-10s %-10s %10s  %s\n", "topic", "part", "leader", "epoch",
         "replicas", "isr", "hw", "follower lag (records)");
  for (size_t i = 0; i < m->ntopics; i++) {
    strata_topic_info *ti = &m->topics[i];
    if (only && strcmp(only, ti->name)) continue;
    for (size_t k = 0; k < ti->npartitions; k++) {
      strata_partition_info *p = &ti->partitions[k];
      const strata_partition_info *lv = NULL;
      for (size_t b = 0; b < m->nbrokers && b < 256; b++)
        if (m->brokers[b].id == p->leader) lv = find_part(views[b], ti->name, p->partition);
      char reps[64] = "", isr[64] = "", lag[160] = "";
      for (size_t r = 0; r < p->nreplicas; r++)
        snprintf(reps + strlen(reps), sizeof reps - strlen(reps), "%s%d", r ? "," : "", p->replicas[r]);
      for (size_t r = 0; r < p->nisr; r++)
        snprintf(isr + strlen(isr), sizeof isr - strlen(isr), "%s%d", r ? "," : "", p->isr[r]);
      if (lv && lv->replica_offsets) {
        for (size_t r = 0; r < lv->nreplicas; r++) {
          if (lv->replicas[r] == p->leader) continue;
          int64_t off = lv->replica_offsets[r];
          if (off < 0)
            snprintf(lag + strlen(lag), sizeof lag - strlen(lag), "%d:? ", lv->replicas[r]);
          else
            snprintf(lag + strlen(lag), sizeof lag - strlen(lag), "%d:%" PRId64 " ", lv->replicas[r],
                     lv->log_end_offset - off);
        }
      }
      char hw[24] = "-", dmg[96] = "", off[256] = "";
      if (lv) snprintf(hw, sizeof hw, "%" PRId64, lv->high_watermark);
      /* Replicas that found a damaged batch (issue 15): out of the ISR and
       * not electable until they have refetched it from a healthy one. */
      for (size_t r = 0; r < p->ndamaged; r++)
        snprintf(dmg + strlen(dmg), sizeof dmg - strlen(dmg), "%s%d", r ? "," : " DAMAGED(repairing):",
                 p->damaged[r]);
      /* Replicas whose broker cannot open their log (issue 15), and why. */
      for (size_t r = 0; r < p->noffline; r++)
        snprintf(off + strlen(off), sizeof off - strlen(off), " REPLICA-OFFLINE:%d(%s)",
                 p->offline[r], strerror(p->offline_errno[r]));
      printf("%-24s %4u %6d %5d %-10s %-10s %10s  %s%s%s%s\n", ti->name, p->partition, p->leader,
             p->leader_epoch, reps, isr, hw, lag, p->leader < 0 ? "OFFLINE" : "", dmg, off);
    }
  }
  for (size_t i = 0; i < 256; i++) strata_metadata_free(views[i]);
  strata_metadata_free(m);
  return 0;
}

static const struct opt elect_opts[] = {
    CLI_COMMON_OPTS,
    {"topic", 't', OPT_VALUE, "TOPIC", "only this topic (default: all)"},
};

static int cluster_elect(int argc, char **argv) {
  struct opts o;
  size_t nopt = sizeof elect_opts / sizeof elect_opts[0];
  if (opts_parse(&o, elect_opts, nopt, argc, argv)) return cli_fail("cluster elect-preferred", o.err);
  if (o.help) {
    opts_print_help("cluster elect-preferred [--topic T]",
                    "Move each partition's leadership back to its preferred (first) replica "
                    "where that replica is alive and in sync.",
                    elect_opts, nopt);
    return 0;
  }
  int t = cli_timeout(&o);
  if (t < 0) return cli_fail("cluster elect-preferred", o.err);
  char err[256];
  strata_client *c = cli_client_new(&o, t, err, sizeof err);
  if (!c) return cli_fail("cluster elect-preferred", err);
  uint32_t changed = 0;
  int rc = strata_elect_preferred(c, opts_str(&o, "topic", NULL), &changed);
  strata_client_free(c);
  if (rc) return cli_fail("cluster elect-preferred", strata_strerror(rc));
  printf("moved leadership of %u partition(s) to their preferred replica\n", changed);
  return 0;
}

int cmd_cluster(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : "";
  if (!strcmp(sub, "status")) return cluster_status(argc - 2, argv + 2);
  if (!strcmp(sub, "elect-preferred")) return cluster_elect(argc - 2, argv + 2);
  int help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
  fprintf(help ? stdout : stderr, "usage: strata cluster status|elect-preferred [--help]\n");
  return help ? 0 : 2;
}

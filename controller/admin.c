#include "controller/admin.h"

#include <stdio.h>
#include <string.h>

#include "common/admin_answer.h"
#include "common/prom.h"
#include "common/textbuf.h"

#include "common/version.h"

struct counts {
  uint64_t topics, partitions, offline, registered, fenced;
};

static struct counts count(const struct ctrl *c) {
  struct counts n = {0};
  for (size_t i = 0; i < c->ntopics; i++) {
    n.topics++;
    for (uint32_t k = 0; k < c->topics[i]->npart; k++) {
      n.partitions++;
      n.offline += c->topics[i]->parts[k].leader < 0;
    }
  }
  for (size_t i = 0; i < c->nbrokers; i++) {
    n.fenced += c->brokers[i].fenced != 0;
    n.registered += !c->brokers[i].fenced;
  }
  return n;
}

static void render_metrics(struct controller_admin *a, struct textbuf *t) {
  const struct ctrl *c = &a->ctl->c;
  struct counts n = count(c);
  prom_family(t, "strata_build_info", "gauge", "Always 1: the version and role of this server.");
  textbuf_printf(t, "strata_build_info{version=\"%s\",role=\"controller\",id=\"%d\"} 1\n",
                 STRATA_VERSION, c->id);
  prom_process(t);
  prom_family(t, "strata_event_loop_idle_seconds_total", "counter",
              "Time the event loop waited for events (rate: idle fraction).");
  prom_sample_d(t, "strata_event_loop_idle_seconds_total", a->loop_idle_s);
  prom_disk(t, a->data_dir);
  prom_family(t, "strata_log_fsync_duration_seconds", "histogram",
              "Duration of one metadata log commit (write and fdatasync).");
  prom_histogram_write(t, "strata_log_fsync_duration_seconds", "log=\"metadata\"", &a->ctl->log.sync);
  prom_family(t, "strata_log_fsync_errors_total", "counter", "Log syncs that failed (EIO).");
  textbuf_printf(t, "strata_log_fsync_errors_total{log=\"metadata\"} %llu\n",
                 (unsigned long long)a->ctl->log.sync_errors);
  prom_connections(t, a->conns_open, a->conns_opened, 0, &a->admin_conns);
  prom_tls(t, a->tls_not_after, a->tls_failures);
  prom_authentications(t, a->auth_success, a->auth_failure);
  prom_family(t, "strata_controller_active", "gauge",
              "1 while this controller serves the cluster (alert when the sum is not 1).");
  prom_sample_u(t, "strata_controller_active", (uint64_t)controller_active(a->ctl));
  if (a->ctl->qn) { /* a quorum's member (docs/quorum.md) */
    struct quorum_description d;
    quorum_describe(&a->ctl->qn->q, &d);
    prom_family(t, "strata_controller_quorum_role", "gauge",
                "1 for this controller's role in the quorum (leader, follower, candidate, ...).");
    textbuf_printf(t, "strata_controller_quorum_role{role=\"%s\"} 1\n", quorum_role_name(d.role));
    prom_family(t, "strata_controller_quorum_epoch", "gauge", "The quorum epoch this controller is in.");
    prom_sample_u(t, "strata_controller_quorum_epoch", (uint64_t)d.epoch);
    prom_family(t, "strata_controller_quorum_leader", "gauge", "The quorum leader it knows (-1: none).");
    textbuf_printf(t, "strata_controller_quorum_leader %d\n", d.leader);
    prom_family(t, "strata_controller_quorum_high_watermark", "gauge",
                "Metadata log records committed (known to this controller).");
    prom_sample_u(t, "strata_controller_quorum_high_watermark", (uint64_t)d.hw);
    prom_family(t, "strata_controller_quorum_log_end_offset", "gauge",
                "Metadata log records this controller holds.");
    prom_sample_u(t, "strata_controller_quorum_log_end_offset", (uint64_t)d.log_end);
  }
  prom_family(t, "strata_controller_brokers", "gauge", "Registered brokers by state.");
  textbuf_printf(t, "strata_controller_brokers{state=\"registered\"} %llu\n",
                 (unsigned long long)n.registered);
  textbuf_printf(t, "strata_controller_brokers{state=\"fenced\"} %llu\n", (unsigned long long)n.fenced);
  prom_family(t, "strata_controller_topics", "gauge", "Topics in the cluster.");
  prom_sample_u(t, "strata_controller_topics", n.topics);
  prom_family(t, "strata_controller_partitions", "gauge", "Partitions in the cluster.");
  prom_sample_u(t, "strata_controller_partitions", n.partitions);
  prom_family(t, "strata_controller_offline_partitions", "gauge", "Partitions with no live leader.");
  prom_sample_u(t, "strata_controller_offline_partitions", n.offline);
  prom_family(t, "strata_controller_leader_elections_total", "counter",
              "Partitions given a new live leader since this controller started.");
  prom_sample_u(t, "strata_controller_leader_elections_total", c->stats.elections);
  prom_family(t, "strata_controller_unclean_leader_elections_total", "counter",
              "Leaders elected from outside the ISR (unclean.leader.election.enable).");
  prom_sample_u(t, "strata_controller_unclean_leader_elections_total", c->stats.unclean_elections);
  prom_family(t, "strata_controller_broker_fencings_total", "counter",
              "Broker sessions fenced (missed heartbeats or a closed connection).");
  prom_sample_u(t, "strata_controller_broker_fencings_total", c->stats.fencings);
}

static void render_cluster(struct controller_admin *a, struct textbuf *t) {
  const struct ctrl *c = &a->ctl->c;
  struct counts n = count(c);
  textbuf_printf(t, "{\"node\":{\"role\":\"controller\",\"id\":%d,\"version\":\"%s\",\"cluster_id\":",
                 c->id, STRATA_VERSION);
  textbuf_json_str(t, c->cluster_id);
  textbuf_printf(t, ",\"ready\":true,\"reason\":\"\",\"time_ms\":%lld},", (long long)a->wall_ms);
  textbuf_printf(t, "\"controller\":{\"id\":%d,\"connected\":true},\"brokers\":[", c->id);
  for (size_t i = 0; i < c->nbrokers; i++) {
    const struct ctrl_broker *b = &c->brokers[i];
    admin_json_broker(t, i == 0, b->id, b->host, b->port, b->rack, b->epoch, b->fenced, b->admin);
  }
  textbuf_printf(t,
                 "],\"totals\":{\"topics\":%llu,\"partitions\":%llu,\"offline\":%llu,"
                 "\"brokers_fenced\":%llu}}\n",
                 (unsigned long long)n.topics, (unsigned long long)n.partitions,
                 (unsigned long long)n.offline, (unsigned long long)n.fenced);
}


void controller_admin_route(struct controller_admin *a, const struct http_request *req,
                            struct http_answer *out) {
  struct textbuf t;
  textbuf_init(&t);
  out->status = 200;
  out->content_type = "application/json";
  out->cors = 1;
  if (admin_is_path(req, "/metrics")) {
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
    render_metrics(a, &t);
  } else if (admin_is_path(req, "/livez")) {
    textbuf_puts(&t, "{\"status\":\"live\"}\n");
  } else if (admin_is_path(req, "/readyz")) {
    /* It listens only after its metadata log was replayed. */
    textbuf_puts(&t, "{\"status\":\"ready\"}\n");
  } else if (admin_is_path(req, "/v1/cluster")) {
    render_cluster(a, &t);
  } else {
    out->status = 404;
    out->content_type = "text/plain; charset=utf-8";
    textbuf_puts(&t, "not found: the controller serves /metrics, /livez, /readyz, /v1/cluster\n");
  }
  admin_answer_body(&t, out);
}

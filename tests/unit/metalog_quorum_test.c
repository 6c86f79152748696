/* The quorum's metadata log and small files (controller/qlog.c,
 * controller/qstate.c) and the glue's pure part (controller/qnode.c): three
 * qnodes in one process, their messages on an in-memory bus, their fsyncs
 * run by the test, the time simulated. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/batch.h"
#include "common/errors.h"
#include "common/trace.h"
#include "controller/controller.h"
#include "controller/ctrl_authz.h"
#include "controller/qlog.h"
#include "controller/qnode.h"
#include "controller/qstate.h"

static char dir[64];

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  snprintf(dir, sizeof dir, "/tmp/strata-mq.XXXXXX");
  cr_assert(mkdtemp(dir));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(metalog_quorum, .init = setup, .fini = teardown);

static void sub(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static long file_size(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fclose(f);
  return n;
}

static void fill(struct qlog *l, int64_t n, int32_t epoch) {
  for (int64_t i = 0; i < n; i++) {
    char v[32];
    int len = snprintf(v, sizeof v, "record-%lld", (long long)l->end);
    cr_assert_eq(qlog_append(l, l->end, epoch, (const uint8_t *)v, (size_t)len), 0);
  }
}

Test(metalog_quorum, framing_offsets_epochs_and_reopen) {
  struct qlog l;
  char err[512];
  cr_assert_eq(qlog_open(&l, dir, err, sizeof err), 0, "%s", err);
  cr_assert_eq(qlog_append(&l, 0, 1, NULL, 0), 0, "a LeaderChange");
  fill(&l, 3, 1);
  cr_assert_eq(qlog_append(&l, 4, 3, NULL, 0), 0);
  fill(&l, 2, 3);
  cr_assert_eq(qlog_append(&l, 9, 3, NULL, 0), STRATA_EINVALID_ARGUMENT, "not at the end");
  cr_assert_eq(qlog_append(&l, 7, 2, NULL, 0), STRATA_EINVALID_ARGUMENT, "an older epoch");
  /* Each record is a batch with its offset and epoch. */
  uint8_t *b;
  size_t n;
  cr_assert_eq(qlog_read(&l, 0, l.end, &b, &n), 0);
  size_t off = 0;
  for (int64_t o = 0; o < 7; o++) {
    struct batch_header h;
    cr_assert_eq(batch_header_decode(b + off, n - off, &h), 0);
    cr_assert_eq(h.base_offset, o);
    cr_assert_eq(h.leader_epoch, o < 4 ? 1 : 3);
    cr_assert_eq(h.record_count, 1);
    cr_assert_eq(batch_check_crc(b + off, batch_total_size(&h)), 0);
    off += batch_total_size(&h);
  }
  cr_assert_eq(off, n);
  free(b);
  qlog_close(&l);
  cr_assert_eq(qlog_open(&l, dir, err, sizeof err), 0, "%s", err);
  cr_assert_eq(l.end, 7);
  struct quorum_epoch_start e[8];
  cr_assert_eq(qlog_epochs(&l, e, 8), 2);
  cr_assert(e[0].epoch == 1 && e[0].start == 0 && e[1].epoch == 3 && e[1].start == 4);
  uint8_t *v;
  cr_assert_eq(qlog_value(&l, 5, &v, &n), 0);
  cr_assert_eq(n, 8);
  cr_assert_eq(memcmp(v, "record-5", 8), 0);
  free(v);
  cr_assert_eq(qlog_value(&l, 4, &v, &n), 0);
  cr_assert_eq(n, 0, "the LeaderChange record has no value");
  free(v);
  qlog_close(&l);
}

/* The prefix a snapshot holds is dropped by a rewrite: the log then starts
 * at the first batch kept, across a reopen; a reset leaves an empty log
 * (whose start the snapshot gives), also with records past its start. */
Test(metalog_quorum, prefix_drop_and_reset) {
  struct qlog l;
  char err[512];
  cr_assert_eq(qlog_open(&l, dir, err, sizeof err), 0, "%s", err);
  fill(&l, 6, 1);
  fill(&l, 4, 2);
  int old = -1;
  cr_assert_eq(qlog_drop_prefix(&l, 4, &old), 0);
  cr_assert_geq(old, 0, "the old descriptor, for the caller to close");
  close(old);
  cr_assert_eq(l.start, 4);
  cr_assert_eq(l.end, 10);
  cr_assert_eq(qlog_epoch_at(&l, 3), 0, "gone");
  cr_assert_eq(qlog_epoch_at(&l, 6), 2);
  uint8_t *v;
  size_t len;
  cr_assert_eq(qlog_value(&l, 5, &v, &len), 0);
  cr_assert_eq(len, 8);
  cr_assert_eq(memcmp(v, "record-5", 8), 0);
  free(v);
  cr_assert_eq(qlog_value(&l, 3, &v, &len), STRATA_EINVALID_ARGUMENT);
  struct quorum_epoch_start ep[4];
  cr_assert_eq(qlog_epochs(&l, ep, 4), 2);
  cr_assert_eq(ep[0].start, 4);
  cr_assert_eq(ep[1].start, 6);
  qlog_close(&l);
  cr_assert_eq(qlog_open(&l, dir, err, sizeof err), 0, "%s", err);
  cr_assert_eq(l.start, 4, "the first batch kept is the start after a reopen");
  cr_assert_eq(l.end, 10);
  cr_assert_eq(qlog_truncate(&l, 3), STRATA_EINVALID_ARGUMENT, "below the start");
  cr_assert_eq(qlog_truncate(&l, 8), 0);
  fill(&l, 1, 3);
  cr_assert_eq(l.end, 9);
  /* An installed snapshot ending at 7 (inside our log: a fork): all goes. */
  cr_assert_eq(qlog_reset(&l, 7, &old), 0);
  close(old);
  cr_assert_eq(l.start, 7);
  cr_assert_eq(l.end, 7);
  fill(&l, 2, 4);
  cr_assert_eq(qlog_value(&l, 8, &v, &len), 0);
  cr_assert_eq(memcmp(v, "record-8", 8), 0);
  free(v);
  qlog_close(&l);
  cr_assert_eq(qlog_open(&l, dir, err, sizeof err), 0, "%s", err);
  cr_assert_eq(l.start, 7);
  cr_assert_eq(l.end, 9);
  qlog_close(&l);
}

Test(metalog_quorum, suffix_truncation_survives_reopen) {
  struct qlog l;
  char err[512], path[128];
  cr_assert_eq(qlog_open(&l, dir, err, sizeof err), 0, "%s", err);
  fill(&l, 10, 2);
  cr_assert_eq(qlog_truncate(&l, 6), 0);
  cr_assert_eq(l.end, 6);
  cr_assert_eq(l.truncations, 1);
  fill(&l, 2, 4); /* a new leader's records where the cut ones were */
  qlog_close(&l);
  sub(path, sizeof path, QLOG_FILE);
  cr_assert_eq(qlog_open(&l, dir, err, sizeof err), 0, "%s", err);
  cr_assert_eq(l.end, 8);
  cr_assert_eq(qlog_epoch_at(&l, 5), 2);
  cr_assert_eq(qlog_epoch_at(&l, 6), 4);
  cr_assert_eq(l.pos[8], file_size(path));
  qlog_close(&l);
}

Test(metalog_quorum, torn_tail_is_cut_damage_is_refused) {
  struct qlog l;
  char err[512], path[128];
  cr_assert_eq(qlog_open(&l, dir, err, sizeof err), 0, "%s", err);
  fill(&l, 5, 1);
  int64_t last = l.pos[4], end = l.pos[5];
  qlog_close(&l);
  sub(path, sizeof path, QLOG_FILE);
  /* Cut short inside the last batch: a crash before its write finished. */
  cr_assert_eq(truncate(path, (off_t)(end - 7)), 0);
  cr_assert_eq(qlog_open(&l, dir, err, sizeof err), 0, "%s", err);
  cr_assert_eq(l.end, 4, "the torn batch is cut");
  cr_assert_eq(file_size(path), last);
  fill(&l, 1, 1);
  int64_t second = l.pos[1];
  qlog_close(&l);
  /* A flipped byte in the second batch, with good batches after it. */
  int fd = open(path, O_RDWR);
  uint8_t byte;
  cr_assert_eq(pread(fd, &byte, 1, second + 70), 1);
  byte ^= 0x40;
  cr_assert_eq(pwrite(fd, &byte, 1, second + 70), 1);
  close(fd);
  cr_assert_eq(qlog_open(&l, dir, err, sizeof err), STRATA_ECORRUPT);
  cr_assert(strstr(err, "batches after it"), "%s", err);
  qlog_close(&l);
}

Test(metalog_quorum, received_batches_append_as_stored) {
  struct qlog a, b;
  char err[512], d2[128];
  cr_assert_eq(qlog_open(&a, dir, err, sizeof err), 0, "%s", err);
  fill(&a, 6, 2);
  sub(d2, sizeof d2, "b");
  cr_assert_eq(mkdir(d2, 0700), 0);
  cr_assert_eq(qlog_open(&b, d2, err, sizeof err), 0, "%s", err);
  uint8_t *p;
  size_t n;
  cr_assert_eq(qlog_read(&a, 0, 6, &p, &n), 0);
  cr_assert_eq(qlog_append_batches(&b, p, n, 0, 4), 0, "the range the core names");
  cr_assert_eq(b.end, 4);
  cr_assert_eq(qlog_append_batches(&b, p, n, 4, 7), STRATA_EINVALID_REQUEST, "beyond the payload");
  p[n - 1] ^= 1; /* a bad CRC */
  cr_assert_eq(qlog_append_batches(&b, p, n, 5, 6), STRATA_EINVALID_REQUEST);
  free(p);
  qlog_close(&a);
  qlog_close(&b);
}

Test(metalog_quorum, small_files) {
  char err[512], path[128];
  struct quorum_persisted s = {7, {2, {1, 2, 3}}, 3}, t;
  cr_assert_eq(qstate_load(dir, &t, err, sizeof err), 0);
  cr_assert_eq(t.epoch, 0, "no file: epoch 0, no vote");
  cr_assert_eq(t.vote.id, -1);
  cr_assert_eq(qstate_save(dir, &s, err, sizeof err), 0, "%s", err);
  cr_assert_eq(qstate_load(dir, &t, err, sizeof err), 0, "%s", err);
  cr_assert(t.epoch == 7 && t.vote.id == 2 && t.leader == 3 && !memcmp(t.vote.dir, s.vote.dir, 16));
  sub(path, sizeof path, "quorum-state");
  FILE *f = fopen(path, "w");
  fputs("epoch x\n", f);
  fclose(f);
  cr_assert_eq(qstate_load(dir, &t, err, sizeof err), STRATA_ECORRUPT);
  uint8_t id1[16], id2[16];
  int fresh;
  cr_assert_eq(qstate_directory_id(dir, 4, id1, &fresh, err, sizeof err), 0, "%s", err);
  cr_assert(fresh && qstate_dir_known(id1));
  cr_assert_eq(qstate_directory_id(dir, 4, id2, &fresh, err, sizeof err), 0, "%s", err);
  cr_assert(!fresh && !memcmp(id1, id2, 16), "the directory keeps its id");
  cr_assert_eq(qstate_directory_id(dir, 5, id2, &fresh, err, sizeof err), STRATA_EINVALID_CONFIG);
  struct quorum_key keys[3] = {{1, {0}}, {2, {9}}, {3, {0}}}, back[3] = {{1, {0}}, {2, {0}}, {3, {0}}};
  cr_assert_eq(qstate_pins_save(dir, keys, 3, 1, err, sizeof err), 0);
  cr_assert_eq(qstate_pins_load(dir, back, 3, err, sizeof err), 0);
  cr_assert(back[1].dir[0] == 9 && !qstate_dir_known(back[2].dir) && !qstate_dir_known(back[0].dir));
}

Test(metalog_quorum, voters_setting) {
  struct qnode_config c;
  char err[256];
  cr_assert_eq(qnode_parse_voters("1@127.0.0.1:9093, 2@10.0.0.2:9094,3@h:1", &c, err, sizeof err), 0,
               "%s", err);
  cr_assert_eq(c.nvoters, 3);
  cr_assert(c.voters[1].id == 2 && !strcmp(c.voters[1].host, "10.0.0.2") && c.voters[1].port == 9094);
  cr_assert_neq(qnode_parse_voters("1@h:1,1@h:2", &c, err, sizeof err), 0, "a voter twice");
  cr_assert_neq(qnode_parse_voters("x@h:1", &c, err, sizeof err), 0);
  cr_assert_neq(qnode_parse_voters("1@h", &c, err, sizeof err), 0);
  cr_assert_neq(qnode_parse_voters("1@h:0", &c, err, sizeof err), 0);
  cr_assert_neq(qnode_parse_voters("", &c, err, sizeof err), 0);
}

/* ---- three qnodes on a bus ------------------------------------------------- */

#define NODES 3
struct msg {
  int to;
  uint8_t *bytes, *payload;
  size_t len, plen;
  struct msg *next;
};
struct node {
  struct qnode qn;
  struct ctrl c;
  int id, up, ready;
};
static struct node nodes[NODES + 1];
static struct msg *bus_head, **bus_tail = &bus_head;
static int64_t now;
static int cut; /* this node's messages, both ways, are lost */
static int64_t snap_bytes; /* metadata.log.max.record.bytes.between.snapshots; 0: default */
static size_t answer_bytes = 200; /* a fetch answer's records, a snapshot chunk's bytes */

static void bus_send(void *arg, int32_t to, const Strata__QuorumMessage *m, const uint8_t *payload,
                     size_t plen) {
  struct node *from = arg;
  if (from->id == cut || to == cut) return;
  struct msg *x = calloc(1, sizeof *x);
  x->to = to;
  x->len = strata__quorum_message__get_packed_size(m);
  x->bytes = malloc(x->len + 1);
  strata__quorum_message__pack(m, x->bytes);
  x->plen = plen;
  x->payload = malloc(plen + 1);
  if (plen) memcpy(x->payload, payload, plen);
  *bus_tail = x;
  bus_tail = &x->next;
}

static void on_ready(void *arg, int64_t t) {
  (void)t;
  ((struct node *)arg)->ready = 1;
}

static void open_node(int id) {
  struct node *n = &nodes[id];
  char err[512], d[128];
  snprintf(d, sizeof d, "%s/n%d", dir, id);
  mkdir(d, 0700);
  memset(&n->qn, 0, sizeof n->qn);
  struct ctrl_config cc = {600000, 0, 10000, 0, 0};
  ctrl_init(&n->c, id, &cc);
  struct qnode_config qc = {.self = id, .nvoters = NODES, .election_timeout_ms = 100,
                            .fetch_timeout_ms = 400, .snapshot_bytes = snap_bytes};
  for (int i = 0; i < NODES; i++) qc.voters[i] = (struct qnode_voter){i + 1, "127.0.0.1", 1000 + i};
  snprintf(qc.self_host, sizeof qc.self_host, "127.0.0.%d", 10 + id); /* its messages' src_address */
  qc.self_port = 3000 + id;
  n->id = id;
  cr_assert_eq(qnode_open(&n->qn, &qc, d, &n->c, now, err, sizeof err), 0, "%s", err);
  n->qn.send = bus_send;
  n->qn.on_ready = on_ready;
  n->qn.arg = n;
  n->qn.fetch_max_bytes = answer_bytes; /* two or three records an answer: catching up takes many */
  n->qn.async_snapshots = 1;            /* written by run_ms, as a worker would */
  n->up = 1;
  n->ready = 0;
  qnode_start(&n->qn, now);
}

static void close_node(int id) {
  qnode_close(&nodes[id].qn);
  ctrl_free(&nodes[id].c);
  nodes[id].up = 0;
}

static void (*after_deliver)(void); /* a test's hook after each message */
static int slow_node;               /* messages to it: one every 5 simulated ms (0: none) */

/* Deliver what is on the bus, run fsyncs, tick: one simulated ms. */
static void run_ms(void) {
  struct msg *later = NULL, **later_tail = &later;
  int slow_sent = 0;
  while (bus_head) {
    struct msg *x = bus_head;
    bus_head = x->next;
    if (!bus_head) bus_tail = &bus_head;
    if (slow_node && x->to == slow_node && (now % 5 || slow_sent++)) {
      x->next = NULL;
      *later_tail = x;
      later_tail = &x->next;
      continue;
    }
    struct node *n = &nodes[x->to];
    if (n->up && x->to != cut) {
      Strata__QuorumMessage *m = strata__quorum_message__unpack(NULL, x->len, x->bytes);
      cr_assert(m);
      qnode_receive(&n->qn, m, x->payload, x->plen, now);
      strata__quorum_message__free_unpacked(m, NULL);
      if (after_deliver) after_deliver();
    }
    free(x->bytes);
    free(x->payload);
    free(x);
  }
  if (later) {
    *bus_tail = later;
    bus_tail = later_tail;
  }
  for (int i = 1; i <= NODES; i++) {
    struct node *n = &nodes[i];
    int fd;
    if (!n->up) continue;
    if (qnode_sync_begin(&n->qn, &fd)) qnode_sync_done(&n->qn, fdatasync(fd) == 0, now);
    struct qsnap_job *j; /* a snapshot's write, off the loop in the servers */
    if (qnode_snapshot_begin(&n->qn, &j)) {
      qsnap_job_run(j);
      qnode_snapshot_done(&n->qn, now);
    }
    if (now >= n->qn.deadline_ms) qnode_tick(&n->qn, now);
    cr_assert(!n->qn.failed);
  }
  now++;
}

static int leader_ready(int timeout_ms) {
  for (int t = 0; t < timeout_ms; t++) {
    for (int i = 1; i <= NODES; i++)
      if (nodes[i].up && nodes[i].qn.ready && i != cut) return i;
    run_ms();
  }
  return 0;
}

/* Every node opened at 1000 ms with no link cut, snapshots every `snap`
 * bytes of records (0: the default) sent in `chunk`-byte answers: the id of
 * the first ready leader within 5 s (0: none). */
static int quorum_up(int64_t snap, size_t chunk) {
  now = 1000;
  cut = 0;
  snap_bytes = snap;
  answer_bytes = chunk;
  for (int i = 1; i <= NODES; i++) open_node(i);
  return leader_ready(5000);
}

static int64_t alloc(int id, uint32_t count) {
  struct ctrl_out out = {0};
  int64_t first, end;
  cr_assert_eq(ctrl_alloc_producer_ids(&nodes[id].c, &out, count, &first), 0);
  cr_assert_eq(qnode_submit(&nodes[id].qn, &out, &end), 0);
  cr_assert_eq(nodes[id].c.producer_ids_next, first + count, "applied at once on the leader");
  for (int t = 0; t < 2000 && qnode_committed(&nodes[id].qn) < end; t++) run_ms();
  return first;
}

Test(metalog_quorum, three_nodes_commit_fail_over_and_revert) {
  int lead = quorum_up(0, 200);
  cr_assert(lead, "no ready leader");
  /* A follower refuses to decide. */
  int fol = lead % NODES + 1;
  struct ctrl_out out = {0};
  int64_t first, end;
  cr_assert_eq(ctrl_alloc_producer_ids(&nodes[fol].c, &out, 10, &first), 0);
  cr_assert_eq(qnode_submit(&nodes[fol].qn, &out, &end), STRATA_ENOT_CONTROLLER);
  /* Committed on the leader, applied by the followers. */
  for (int k = 0; k < 20; k++) alloc(lead, 1);
  int64_t a = alloc(lead, 100);
  for (int t = 0; t < 1000; t++) run_ms();
  for (int i = 1; i <= NODES; i++)
    cr_assert_eq(nodes[i].c.producer_ids_next, a + 100, "node %d applied the block", i);
  /* The leader is cut off; its decision applies there but never commits. */
  cut = lead;
  cr_assert_eq(ctrl_alloc_producer_ids(&nodes[lead].c, &out, 5000, &first), 0);
  cr_assert_eq(qnode_submit(&nodes[lead].qn, &out, &end), 0);
  cr_assert(qnode_pending(&nodes[lead].qn));
  cr_assert_eq(nodes[lead].c.producer_ids_next, a + 5100);
  int next = leader_ready(5000);
  cr_assert(next && next != lead, "a new leader without the cut one");
  int64_t b = alloc(next, 7);
  cr_assert_eq(b, a + 100, "the new leader holds the committed block, not the lost one");
  /* The old leader rejoins: it steps down, reverts what never committed,
   * truncates it and takes the new leader's records. */
  cut = 0;
  for (int t = 0; t < 3000; t++) run_ms();
  cr_assert(!nodes[lead].qn.ready);
  cr_assert(!qnode_pending(&nodes[lead].qn));
  cr_assert_eq(nodes[lead].c.producer_ids_next, b + 7, "reverted, then applied the new leader's");
  /* A restart replays nothing until the high watermark says so, then all. */
  close_node(fol);
  open_node(fol);
  cr_assert_eq(nodes[fol].c.producer_ids_next, 0);
  for (int t = 0; t < 3000; t++) run_ms();
  cr_assert_eq(nodes[fol].c.producer_ids_next, b + 7);
  for (int i = 1; i <= NODES; i++) close_node(i);
  while (bus_head) run_ms();
}

/* The NOT_CONTROLLER hint (qnode_leader): a leader names itself, a
 * follower its leader; a leader cut off until check-quorum resigns it, a
 * follower campaigning (prospective or candidate) and a restarted node
 * that has not heard from a leader know none (-1), instead of naming a
 * cut-off or dead controller. */
Test(metalog_quorum, leader_hint_only_from_leader_or_follower) {
  int lead = quorum_up(0, 200);
  cr_assert(lead);
  const char *host;
  int port;
  for (int t = 0; t < 300; t++) run_ms();
  for (int i = 1; i <= NODES; i++) {
    cr_assert_eq(qnode_leader(&nodes[i].qn, &host, &port), lead, "node %d", i);
    /* the leader its own listener (self_host), a follower the voter set's */
    cr_assert_eq(port, i == lead ? 3000 + lead : 1000 + lead - 1, "node %d", i);
  }
  /* The leader is cut off: the others campaign, it resigns. */
  cut = lead;
  int seen_campaign = 0, seen_resigned = 0;
  for (int t = 0; t < 5000 && !(seen_campaign && seen_resigned); t++) {
    run_ms();
    for (int i = 1; i <= NODES; i++) {
      enum quorum_role r = nodes[i].qn.role;
      int32_t h = qnode_leader(&nodes[i].qn, &host, &port);
      if (r == QUORUM_PROSPECTIVE || r == QUORUM_CANDIDATE) {
        seen_campaign = 1;
        cr_assert_eq(h, -1, "node %d, %s, hints %d", i, quorum_role_name(r), h);
        cr_assert_str_eq(host, "");
      }
      if (r == QUORUM_RESIGNED || r == QUORUM_UNATTACHED) {
        seen_resigned |= i == lead && r == QUORUM_RESIGNED;
        cr_assert_eq(h, -1, "node %d, %s, hints %d", i, quorum_role_name(r), h);
      }
      if (r == QUORUM_FOLLOWER) cr_assert_eq(h, nodes[i].qn.leader);
    }
  }
  cr_assert(seen_campaign, "a follower campaigned");
  cr_assert(seen_resigned, "the cut-off leader resigned (check-quorum)");
  int next = leader_ready(5000);
  cr_assert(next && next != lead);
  /* A restart: the old leader comes back knowing no leader until it hears one. */
  close_node(lead);
  open_node(lead);
  cr_assert_eq(qnode_leader(&nodes[lead].qn, &host, &port), -1, "%s",
               quorum_role_name(nodes[lead].qn.role));
  cut = 0;
  for (int t = 0; t < 2000; t++) run_ms();
  for (int i = 1; i <= NODES; i++)
    cr_assert_eq(qnode_leader(&nodes[i].qn, &host, &port), next, "node %d", i);
  for (int i = 1; i <= NODES; i++) close_node(i);
  while (bus_head) run_ms();
}

/* The leader registers broker 1 and creates topic name (a record that only
 * a replay from before it, or a snapshot, brings back); committed. */
static void topic(int id, const char *name) {
  struct ctrl_out out = {0};
  int64_t end;
  {
    Strata__BrokerRegisterRequest q = STRATA__BROKER_REGISTER_REQUEST__INIT;
    q.broker_id = 1;
    q.host = (char *)"127.0.0.1";
    q.port = 9001;
    if (!nodes[id].c.nbrokers) {
      cr_assert_eq(ctrl_register(&nodes[id].c, &q, now, &out), 0);
      cr_assert_eq(qnode_submit(&nodes[id].qn, &out, &end), 0);
    }
  }
  Strata__TopicSpec s = STRATA__TOPIC_SPEC__INIT;
  s.name = (char *)name;
  s.partitions = 1;
  s.replication_factor = 1;
  char err[128];
  cr_assert_eq(ctrl_create_topic(&nodes[id].c, &s, 1, &out, err, sizeof err), 0, "%s", err);
  cr_assert_eq(qnode_submit(&nodes[id].qn, &out, &end), 0);
  for (int t = 0; t < 2000 && qnode_committed(&nodes[id].qn) < end; t++) run_ms();
}

/* Quorum messages carry the committed cluster id; a controller of another
 * cluster (a wrong voters list) has its messages dropped both ways
 * (INCONSISTENT_CLUSTER_ID) and gets nothing; "" (no id yet) is accepted. */
Test(metalog_quorum, another_clusters_messages_are_dropped) {
  int lead = quorum_up(0, 200);
  cr_assert(lead);
  alloc(lead, 1); /* no cluster id yet: "" everywhere, accepted */
  for (int i = 1; i <= NODES; i++) snprintf(nodes[i].c.cluster_id, sizeof nodes[i].c.cluster_id, "ours");
  int64_t a = alloc(lead, 1);
  for (int t = 0; t < 500; t++) run_ms();
  for (int i = 1; i <= NODES; i++) cr_assert_str_eq(nodes[i].qn.cluster_id, "ours", "node %d", i);
  int fol = lead % NODES + 1;
  snprintf(nodes[fol].qn.cluster_id, sizeof nodes[fol].qn.cluster_id, "theirs");
  int64_t b = alloc(lead, 1); /* commits with the third */
  for (int t = 0; t < 500; t++) run_ms();
  cr_assert_eq(b, a + 1);
  cr_assert_eq(nodes[fol].c.producer_ids_next, a + 1, "the foreign one got nothing");
  cr_assert_gt(nodes[fol].qn.foreign_msgs, 0);
  cr_assert_gt(nodes[lead].qn.foreign_msgs, 0, "and its fetches were dropped");
  snprintf(nodes[fol].qn.cluster_id, sizeof nodes[fol].qn.cluster_id, "ours");
  for (int t = 0; t < 2000; t++) run_ms();
  cr_assert_eq(nodes[fol].c.producer_ids_next, b + 1, "ours again: it catches up");
  for (int i = 1; i <= NODES; i++) close_node(i);
  while (bus_head) run_ms();
}

static int dl_lead, dl_down, dl_fired;

/* Once the follower holds part of the leader's snapshot: decisions enough
 * for the leader's next snapshot (they commit with the third node while the
 * download goes on, 8 bytes a chunk). */
static void mid_download(void) {
  struct qnode *d = &nodes[dl_down].qn;
  if (dl_fired || !(d->q.snap_fetch.end_offset >= 0 && d->q.snap_position > 0)) return;
  dl_fired = 1;
  for (int k = 0; k < 40; k++) {
    struct ctrl_out out = {0};
    int64_t first, end;
    cr_assert_eq(ctrl_alloc_producer_ids(&nodes[dl_lead].c, &out, 10, &first), 0);
    cr_assert_eq(qnode_submit(&nodes[dl_lead].qn, &out, &end), 0);
  }
}

/* The leader takes a newer snapshot while a follower downloads its older
 * one (it serves only its latest, and answers OFFSET_OUT_OF_RANGE): the
 * follower starts over with a fetch at once and installs the new one,
 * never going without a leader (before, it asked for the old one until
 * the fetch timeout made it campaign). */
Test(metalog_quorum, a_newer_snapshot_during_a_download_restarts_it) {
  int lead = quorum_up(600, 8);
  cr_assert(lead, "no ready leader");
  int down = lead % NODES + 1;
  alloc(lead, 1);
  for (int t = 0; t < 500; t++) run_ms();
  close_node(down);
  topic(lead, "early");
  for (int k = 0; k < 80; k++) alloc(lead, 10);
  for (int t = 0; t < 500; t++) run_ms();
  struct quorum_snapshot_id old = nodes[lead].qn.snap;
  cr_assert_geq(old.end_offset, 1);
  dl_lead = lead, dl_down = down, dl_fired = 0;
  after_deliver = mid_download;
  slow_node = down; /* its download takes 5 ms a chunk */
  open_node(down);
  struct qnode *d = &nodes[down].qn;
  int64_t t0 = now;
  int saw_old = 0;
  while (nodes[down].c.producer_ids_next != nodes[lead].c.producer_ids_next && now - t0 < 2000) {
    saw_old |= d->snap.end_offset == old.end_offset;
    run_ms();
    cr_assert_eq(d->role, QUORUM_FOLLOWER, "never without its leader (%lld ms)", (long long)(now - t0));
  }
  after_deliver = NULL;
  slow_node = 0;
  cr_assert(dl_fired, "the follower downloaded a snapshot");
  cr_assert_gt(nodes[lead].qn.snap.end_offset, old.end_offset, "the leader snapshotted again");
  cr_assert_eq(nodes[down].c.producer_ids_next, nodes[lead].c.producer_ids_next);
  cr_assert_eq(d->snap.end_offset, nodes[lead].qn.snap.end_offset, "it installed the newer one");
  cr_assert(!saw_old, "not the old one");
  cr_assert_lt(now - t0, 300, "caught up in %lld ms (the fetch timeout is 400)", (long long)(now - t0));
  for (int i = 1; i <= NODES; i++)
    if (nodes[i].up) close_node(i);
  while (bus_head) run_ms();
  snap_bytes = 0;
  answer_bytes = 200;
}

/* Snapshots in quorum mode (KIP-630): with a small
 * metadata.log.max.record.bytes.between.snapshots the leader and the
 * follower that is up write snapshots and drop their logs' prefix while
 * the third is down; it comes back below the leader's log start, gets
 * FetchSnapshot (in 8-byte chunks: several), installs it and catches up. A
 * restart loads the snapshot and replays the rest; a new leader elected
 * among them holds every block. */
Test(metalog_quorum, snapshots_truncate_and_a_lagging_follower_installs_one) {
  int lead = quorum_up(600, 8);
  cr_assert(lead, "no ready leader");
  int down = lead % NODES + 1, other = down % NODES + 1;
  if (other == lead) other = other % NODES + 1;
  alloc(lead, 1);
  for (int t = 0; t < 500; t++) run_ms();
  int64_t down_end = nodes[down].qn.log.end;
  close_node(down);
  int64_t a = 0;
  topic(lead, "early");
  for (int k = 0; k < 80; k++) a = alloc(lead, 10);
  for (int t = 0; t < 500; t++) run_ms();
  int ids[2] = {lead, other};
  for (int k = 0; k < 2; k++) {
    struct qnode *q = &nodes[ids[k]].qn;
    cr_assert_gt(q->snap.end_offset, down_end, "node %d snapshotted past the down one's log end",
                 ids[k]);
    cr_assert_eq(q->log.start, q->snap.end_offset, "node %d dropped the prefix", ids[k]);
    cr_assert_eq(q->q.log_start, q->log.start);
    cr_assert_eq(nodes[ids[k]].c.producer_ids_next, a + 10);
  }
  /* The down one returns below the leader's log start: a snapshot. */
  open_node(down);
  cr_assert_eq(nodes[down].c.producer_ids_next, 0, "it had no snapshot");
  for (int t = 0; t < 3000; t++) run_ms();
  cr_assert_geq(nodes[down].qn.snap.end_offset, 1, "it installed the leader's snapshot");
  cr_assert_eq(nodes[down].qn.log.start, nodes[down].qn.snap.end_offset);
  cr_assert_eq(nodes[down].c.producer_ids_next, a + 10, "caught up through the snapshot");
  cr_assert(ctrl_topic(&nodes[down].c, "early"), "the snapshot's topic is there");
  int64_t b = alloc(lead, 3);
  for (int t = 0; t < 500; t++) run_ms();
  cr_assert_eq(nodes[down].c.producer_ids_next, b + 3);
  /* A restart: the snapshot, then the log after it. */
  close_node(other);
  open_node(other);
  cr_assert_geq(nodes[other].qn.applied, nodes[other].qn.snap.end_offset);
  cr_assert_gt(nodes[other].c.producer_ids_next, 0, "the snapshot's state at once");
  cr_assert(ctrl_topic(&nodes[other].c, "early"));
  for (int t = 0; t < 1000; t++) run_ms();
  cr_assert_eq(nodes[other].c.producer_ids_next, b + 3);
  /* The leader down: the next one holds every block. */
  close_node(lead);
  cut = lead;
  int next = leader_ready(5000);
  cr_assert(next && next != lead);
  int64_t c = alloc(next, 1);
  cr_assert_eq(c, b + 3, "the new leader continues after every committed block");
  cr_assert(ctrl_topic(&nodes[next].c, "early"));
  cut = 0;
  for (int i = 1; i <= NODES; i++)
    if (nodes[i].up) close_node(i);
  while (bus_head) run_ms();
  snap_bytes = 0;
  answer_bytes = 200;
}

/* DescribeQuorum from a single controller: the one voter, leader of epoch
 * 0; with the authorizer on, only for who may administer the cluster. */
Test(metalog_quorum, describe_quorum_single_and_authorized) {
  static struct controller ctl;
  memset(&ctl, 0, sizeof ctl);
  struct ctrl_config cfg = {100000, 0, 100000, 0, 0};
  char err[256], d[128];
  sub(d, sizeof d, "single");
  cr_assert_eq(controller_open(&ctl, d, 7, &cfg, 0, err, sizeof err), 0, "%s", err);
  Strata__Header h = STRATA__HEADER__INIT, resp = STRATA__HEADER__INIT;
  Strata__DescribeQuorumRequest q = STRATA__DESCRIBE_QUORUM_REQUEST__INIT;
  h.api_key = STRATA__API_KEY__API_DESCRIBE_QUORUM;
  h.body_case = STRATA__HEADER__BODY_DESCRIBE_QUORUM_REQ;
  h.describe_quorum_req = &q;
  struct arena a;
  arena_init(&a);
  controller_handle(&ctl, NULL, &h, &resp, &a, 0);
  cr_assert_eq(resp.error_code, 0);
  cr_assert_eq(resp.body_case, STRATA__HEADER__BODY_DESCRIBE_QUORUM_RESP);
  cr_assert_str_eq(resp.describe_quorum_resp->role, "leader");
  cr_assert_eq(resp.describe_quorum_resp->leader_id, 7);
  cr_assert_eq(resp.describe_quorum_resp->n_voters, 1);
  cr_assert_eq(resp.describe_quorum_resp->voters[0]->replica->id, 7);
  cr_assert_eq(resp.describe_quorum_resp->log_end_offset, ctl.c.version);
  arena_reset(&a);
  ctl.authz.enabled = 1;
  Strata__Header r2 = STRATA__HEADER__INIT;
  struct principal anon = {0};
  snprintf(anon.name, sizeof anon.name, "User:ANONYMOUS");
  controller_handle(&ctl, &anon, &h, &r2, &a, 0);
  cr_assert_eq(r2.error_code, (uint32_t)-STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  arena_reset(&a);
  /* Describe on the cluster is enough (Kafka's rule, as on the brokers);
   * Describe on a topic is not. */
  struct acl_entry e[2];
  char aerr[128];
  cr_assert_eq(acl_entry_parse("resource=cluster;principal=User:viewer;operation=describe", &e[0],
                               aerr, sizeof aerr), 0, "%s", aerr);
  cr_assert_eq(acl_entry_parse("resource=topic;name=*;principal=User:reader;operation=describe",
                               &e[1], aerr, sizeof aerr), 0, "%s", aerr);
  struct acl_set set = {e, 2};
  struct principal viewer = {0}, reader = {0};
  snprintf(viewer.name, sizeof viewer.name, "User:viewer");
  snprintf(reader.name, sizeof reader.name, "User:reader");
  cr_assert_eq(ctrl_authorize(&ctl.authz, &set, &viewer, &h, aerr, sizeof aerr), 0, "%s", aerr);
  cr_assert_eq(ctrl_authorize(&ctl.authz, &set, &reader, &h, aerr, sizeof aerr),
               STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  cr_assert(strstr(aerr, "Describe on the cluster"), "%s", aerr);
  acl_entry_free(&e[0]);
  acl_entry_free(&e[1]);
  ctl.authz.enabled = 0;
  controller_close(&ctl);
}

/* A single controller's data stays readable by a single controller; a
 * quorum member refuses it (the other voters would not have it) and says
 * so, rather than starting a quorum that silently lacks it. */
Test(metalog_quorum, quorum_mode_refuses_a_single_controllers_log) {
  static struct controller ctl;
  memset(&ctl, 0, sizeof ctl);
  struct ctrl_config cfg = {100000, 0, 100000, 0, 0};
  char err[512], d[128];
  sub(d, sizeof d, "old");
  cr_assert_eq(controller_open(&ctl, d, 1, &cfg, 0, err, sizeof err), 0, "%s", err);
  cr_assert(ctl.c.cluster_id[0], "a single controller's log with its cluster id");
  char id[40];
  snprintf(id, sizeof id, "%s", ctl.c.cluster_id);
  controller_close(&ctl);
  static struct qnode_config qc;
  memset(&qc, 0, sizeof qc);
  cr_assert_eq(qnode_parse_voters("1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3", &qc, err, sizeof err), 0);
  qc.self = 1;
  memset(&ctl, 0, sizeof ctl);
  ctl.quorum_cfg = &qc;
  cr_assert_eq(controller_open(&ctl, d, 1, &cfg, 0, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert(strstr(err, "single controller's metadata"), "%s", err);
  controller_close(&ctl);
  memset(&ctl, 0, sizeof ctl); /* and it still opens as a single controller */
  cr_assert_eq(controller_open(&ctl, d, 1, &cfg, 0, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(ctl.c.cluster_id, id);
  controller_close(&ctl);
}

/* ---- three controllers (controller_handle in quorum mode) on the bus ----- */

static struct controller ctls[NODES + 1];
static struct qnode_config cqc;

static void ctl_send(void *arg, int32_t to, const Strata__QuorumMessage *m, const uint8_t *payload,
                     size_t plen) {
  struct controller *ctl = arg;
  bus_send(&nodes[ctl->c.id], to, m, payload, plen);
}

/* Deliver, sync and tick the controllers' qnodes for one simulated ms. */
static void ctl_run_ms(void) {
  while (bus_head) {
    struct msg *x = bus_head;
    bus_head = x->next;
    if (!bus_head) bus_tail = &bus_head;
    if (x->to != cut) {
      Strata__QuorumMessage *m = strata__quorum_message__unpack(NULL, x->len, x->bytes);
      cr_assert(m);
      qnode_receive(ctls[x->to].qn, m, x->payload, x->plen, now);
      strata__quorum_message__free_unpacked(m, NULL);
    }
    free(x->bytes);
    free(x->payload);
    free(x);
  }
  for (int i = 1; i <= NODES; i++) {
    struct qnode *n = ctls[i].qn;
    int fd;
    if (qnode_sync_begin(n, &fd)) qnode_sync_done(n, fdatasync(fd) == 0, now);
    if (now >= n->deadline_ms) qnode_tick(n, now);
    cr_assert(!n->failed);
  }
  now++;
}

static Strata__Header *ctl_create(int id, const char *name, struct arena *a, int64_t *answer_at) {
  Strata__Header h = STRATA__HEADER__INIT, *resp = arena_alloc(a, sizeof *resp);
  strata__header__init(resp);
  Strata__CreateTopicsRequest q = STRATA__CREATE_TOPICS_REQUEST__INIT;
  Strata__TopicSpec s = STRATA__TOPIC_SPEC__INIT, *sp = &s;
  s.name = (char *)name;
  s.partitions = 1;
  s.replication_factor = 1;
  q.topics = &sp;
  q.n_topics = 1;
  h.api_key = STRATA__API_KEY__API_CREATE_TOPICS;
  h.body_case = STRATA__HEADER__BODY_CREATE_TOPICS_REQ;
  h.create_topics_req = &q;
  controller_handle(&ctls[id], NULL, &h, resp, a, now);
  *answer_at = controller_answer_offset(&ctls[id]);
  return resp;
}

Test(metalog_quorum, controllers_answer_at_the_high_watermark) {
  now = 1000;
  cut = 0;
  char err[512];
  cr_assert_eq(qnode_parse_voters("1@127.0.0.1:1001,2@127.0.0.1:1002,3@127.0.0.1:1003", &cqc, err,
                                  sizeof err), 0);
  cqc.election_timeout_ms = 100;
  cqc.fetch_timeout_ms = 400;
  for (int i = 1; i <= NODES; i++) {
    char d[128];
    snprintf(d, sizeof d, "%s/ctl%d", dir, i);
    memset(&ctls[i], 0, sizeof ctls[i]);
    static struct qnode_config per[NODES + 1];
    per[i] = cqc;
    per[i].self = i;
    ctls[i].quorum_cfg = &per[i];
    ctls[i].default_partitions = 1;
    struct ctrl_config cc = {600000, 0, 100000, 0, 0};
    cr_assert_eq(controller_open(&ctls[i], d, i, &cc, now, err, sizeof err), 0, "%s", err);
    nodes[i].id = i;
    ctls[i].qn->send = ctl_send;
    ctls[i].qn->fetch_max_bytes = 0;
    controller_quorum_start(&ctls[i], now);
  }
  int lead = 0;
  for (int t = 0; t < 5000 && !lead; t++) {
    for (int i = 1; i <= NODES; i++)
      if (controller_active(&ctls[i])) lead = i;
    ctl_run_ms();
  }
  cr_assert(lead, "no active controller");
  cr_assert(ctls[lead].c.cluster_id[0], "the first leader minted the cluster id");
  struct arena a;
  arena_init(&a);
  /* A broker to place topics on. */
  Strata__Header h = STRATA__HEADER__INIT, resp = STRATA__HEADER__INIT;
  Strata__BrokerRegisterRequest br = STRATA__BROKER_REGISTER_REQUEST__INIT;
  br.broker_id = 1;
  br.host = (char *)"127.0.0.1";
  br.port = 1;
  h.api_key = STRATA__API_KEY__API_BROKER_REGISTER;
  h.body_case = STRATA__HEADER__BODY_BROKER_REGISTER_REQ;
  h.broker_register_req = &br;
  controller_handle(&ctls[lead], NULL, &h, &resp, &a, now);
  cr_assert_eq(resp.error_code, 0);
  int64_t at = controller_answer_offset(&ctls[lead]);
  cr_assert_gt(at, qnode_committed(ctls[lead].qn), "the registration waits for its commit");
  for (int t = 0; t < 2000 && qnode_committed(ctls[lead].qn) < at; t++) ctl_run_ms();
  /* A topic: its answer waits for the commit; "already exists" read from
   * the pending creation waits as long. */
  Strata__Header *r1 = ctl_create(lead, "a", &a, &at);
  cr_assert_eq(r1->create_topics_resp->results[0]->error_code, 0);
  cr_assert_gt(at, qnode_committed(ctls[lead].qn));
  int64_t at2;
  Strata__Header *r2 = ctl_create(lead, "a", &a, &at2);
  cr_assert_eq(r2->create_topics_resp->results[0]->error_code, (uint32_t)-STRATA_ETOPIC_EXISTS);
  cr_assert_geq(at2, at, "an answer read from a pending record waits for it");
  cr_assert(!controller_image_ok(&ctls[lead]), "no image while records are pending");
  for (int t = 0; t < 2000 && qnode_committed(ctls[lead].qn) < at; t++) ctl_run_ms();
  cr_assert_geq(qnode_committed(ctls[lead].qn), at);
  cr_assert(controller_image_ok(&ctls[lead]));
  /* A follower: NOT_CONTROLLER naming the leader, and the topic applied. */
  int fol = lead % NODES + 1;
  for (int t = 0; t < 1000; t++) ctl_run_ms();
  cr_assert(ctrl_topic(&ctls[fol].c, "a"), "the follower applied the committed topic");
  Strata__Header *r3 = ctl_create(fol, "b", &a, &at);
  cr_assert_eq(r3->error_code, (uint32_t)-STRATA_ENOT_CONTROLLER);
  cr_assert_eq(r3->controller_leader_id, lead);
  char want[32];
  snprintf(want, sizeof want, "127.0.0.1:%d", 1000 + lead);
  cr_assert_str_eq(r3->controller_leader_address, want);
  cr_assert_leq(at, qnode_committed(ctls[fol].qn), "a follower's answer leaves at once");
  /* DescribeQuorum from the follower: follower, the leader, three voters. */
  Strata__Header dq = STRATA__HEADER__INIT, dr = STRATA__HEADER__INIT;
  Strata__DescribeQuorumRequest dqr = STRATA__DESCRIBE_QUORUM_REQUEST__INIT;
  dq.api_key = STRATA__API_KEY__API_DESCRIBE_QUORUM;
  dq.body_case = STRATA__HEADER__BODY_DESCRIBE_QUORUM_REQ;
  dq.describe_quorum_req = &dqr;
  controller_handle(&ctls[fol], NULL, &dq, &dr, &a, now);
  cr_assert_str_eq(dr.describe_quorum_resp->role, "follower");
  cr_assert_eq(dr.describe_quorum_resp->leader_id, lead);
  cr_assert_eq(dr.describe_quorum_resp->n_voters, 3);
  cr_assert_eq(dr.controller_leader_id, lead);
  arena_reset(&a);
  for (int i = 1; i <= NODES; i++) controller_close(&ctls[i]);
  while (bus_head) {
    struct msg *x = bus_head;
    bus_head = x->next;
    free(x->bytes);
    free(x->payload);
    free(x);
  }
  bus_tail = &bus_head;
}

/* A directory id without its log is a partly wiped directory: refused, as
 * a log without an id that has records is. Both wiped is a new directory. */
Test(metalog_quorum, partly_wiped_directory_is_refused) {
  static struct qnode n;
  static struct ctrl c;
  struct ctrl_config cc = {600000, 0, 10000, 0, 0};
  struct qnode_config qc = {.self = 1, .nvoters = 1};
  qc.voters[0] = (struct qnode_voter){1, "127.0.0.1", 1};
  char err[512], path[128];
  ctrl_init(&c, 1, &cc);
  memset(&n, 0, sizeof n);
  cr_assert_eq(qnode_open(&n, &qc, dir, &c, 0, err, sizeof err), 0, "%s", err);
  qnode_close(&n);
  sub(path, sizeof path, QLOG_FILE);
  cr_assert_eq(unlink(path), 0);
  memset(&n, 0, sizeof n);
  cr_assert_eq(qnode_open(&n, &qc, dir, &c, 0, err, sizeof err), STRATA_ECORRUPT);
  cr_assert(strstr(err, "partly wiped"), "%s", err);
  qnode_close(&n);
  sub(path, sizeof path, "quorum-meta");
  cr_assert_eq(unlink(path), 0);
  memset(&n, 0, sizeof n);
  cr_assert_eq(qnode_open(&n, &qc, dir, &c, 0, err, sizeof err), 0, "both gone: a new directory: %s",
               err);
  qnode_close(&n);
  ctrl_free(&c);
}

static void wipe_node(int id) {
  char cmd[160];
  close_node(id);
  snprintf(cmd, sizeof cmd, "rm -rf %s/n%d", dir, id);
  cr_assert_eq(system(cmd), 0);
  open_node(id);
}

static int has_voter(const struct qnode *n, int32_t id, const uint8_t d[QUORUM_DIR_LEN]) {
  struct quorum_key k = {.id = id};
  memcpy(k.dir, d, QUORUM_DIR_LEN);
  return quorum_is_voter(&n->q, &k);
}

/* KIP-853 through the glue: a wiped node replaced by remove + add (the
 * VotersRecords in the log, applied to the state), snapshots past them
 * carry the set, a restart reads it from the snapshot and the log, a node
 * that installs the snapshot learns it, and the replaced node's vote counts. */
Test(metalog_quorum, voter_changes_survive_snapshots_restarts_and_installs) {
  char err[512];
  int lead = quorum_up(600, 64);
  cr_assert(lead, "no ready leader");
  int f = lead % NODES + 1, g = f % NODES + 1;
  if (g == lead) g = g % NODES + 1;
  alloc(lead, 1);
  for (int t = 0; t < 300; t++) run_ms();
  uint8_t old[QUORUM_DIR_LEN];
  memcpy(old, nodes[f].qn.dir_id, QUORUM_DIR_LEN);
  wipe_node(f);
  const uint8_t *fresh = nodes[f].qn.dir_id;
  cr_assert(memcmp(old, fresh, QUORUM_DIR_LEN), "a new directory id");
  for (int t = 0; t < 1000; t++) run_ms();
  cr_assert_eq(nodes[f].qn.log.end, nodes[lead].qn.log.end, "the observer caught up");
  struct quorum_key k = {.id = f};
  int64_t end;
  memcpy(k.dir, fresh, QUORUM_DIR_LEN);
  cr_assert_eq(qnode_change_voters(&nodes[lead].qn, 1, &k, "127.0.0.1", 2000, &end, err, sizeof err),
               STRATA_EDUPLICATE_VOTER, "%s", err);
  memcpy(k.dir, old, QUORUM_DIR_LEN);
  cr_assert_eq(qnode_change_voters(&nodes[lead].qn, 0, &k, NULL, 0, &end, err, sizeof err), 0, "%s",
               err);
  for (int t = 0; t < 2000 && qnode_committed(&nodes[lead].qn) < end; t++) run_ms();
  cr_assert_geq(qnode_committed(&nodes[lead].qn), end);
  cr_assert(nodes[lead].c.voters, "the state holds the VotersRecord");
  memcpy(k.dir, fresh, QUORUM_DIR_LEN);
  cr_assert_eq(qnode_change_voters(&nodes[lead].qn, 1, &k, "127.0.0.1", 2000, &end, err, sizeof err),
               0, "%s", err);
  for (int t = 0; t < 2000 && qnode_committed(&nodes[lead].qn) < end; t++) run_ms();
  for (int t = 0; t < 300; t++) run_ms();
  for (int i = 1; i <= NODES; i++) {
    cr_assert(has_voter(&nodes[i].qn, f, fresh), "node %d: %d votes with its new directory", i, f);
    cr_assert_not(has_voter(&nodes[i].qn, f, old), "node %d", i);
  }
  cr_assert_eq(nodes[f].qn.q.self_voter, 1);
  const struct qvoters_addr *ad = qvoters_book_get(&nodes[g].qn.book, f);
  cr_assert(ad && ad->port == 2000, "its address from the VotersRecord");
  /* snapshots past the changes */
  for (int i = 0; i < 60; i++) alloc(lead, 10);
  for (int t = 0; t < 500; t++) run_ms();
  cr_assert_gt(nodes[lead].qn.snap.end_offset, end, "a snapshot past the changes");
  cr_assert_gt(nodes[g].qn.log.start, end, "their records are gone from g's log");
  /* a restart reads the set from its snapshot */
  close_node(g);
  open_node(g);
  cr_assert(has_voter(&nodes[g].qn, f, fresh), "restarted g: from the snapshot");
  cr_assert_eq(nodes[g].qn.q.self_voter, 1);
  /* a wiped g installs the leader's snapshot: the set with it (and g is an observer now) */
  uint8_t gold[QUORUM_DIR_LEN];
  memcpy(gold, nodes[g].qn.dir_id, QUORUM_DIR_LEN);
  wipe_node(g);
  for (int t = 0; t < 3000; t++) run_ms();
  cr_assert_geq(nodes[g].qn.snap.end_offset, 1, "it installed a snapshot");
  cr_assert(has_voter(&nodes[g].qn, f, fresh), "wiped g: the set from the installed snapshot");
  cr_assert(has_voter(&nodes[g].qn, g, gold), "g's old key is the voter");
  cr_assert_eq(nodes[g].qn.q.self_voter, 0, "so wiped g is an observer");
  /* replace g the same way, then the leader down: f and g elect */
  memcpy(k.dir, gold, QUORUM_DIR_LEN);
  k.id = g;
  cr_assert_eq(qnode_change_voters(&nodes[lead].qn, 0, &k, NULL, 0, &end, err, sizeof err), 0, "%s",
               err);
  for (int t = 0; t < 2000 && qnode_committed(&nodes[lead].qn) < end; t++) run_ms();
  memcpy(k.dir, nodes[g].qn.dir_id, QUORUM_DIR_LEN);
  int rc = -1;
  for (int t = 0; t < 2000 && rc; t++) {
    rc = qnode_change_voters(&nodes[lead].qn, 1, &k, "127.0.0.1", 2001, &end, err, sizeof err);
    run_ms();
  }
  cr_assert_eq(rc, 0, "%s", err);
  for (int t = 0; t < 2000 && qnode_committed(&nodes[lead].qn) < end; t++) run_ms();
  for (int t = 0; t < 300; t++) run_ms();
  close_node(lead);
  cut = lead;
  int next = leader_ready(5000);
  cr_assert(next && next != lead, "f and g elect a leader");
  alloc(next, 1);
  cut = 0;
  for (int i = 1; i <= NODES; i++)
    if (nodes[i].up) close_node(i);
  while (bus_head) run_ms();
  snap_bytes = 0;
  answer_bytes = 200;
}

static void expect_addr(int at, int32_t id, const uint8_t *d, const char *host, int port) {
  const char *h;
  int p;
  cr_assert_eq(qnode_peer_addr(&nodes[at].qn, id, d, &h, &p), 0, "node %d knows no address of %d", at,
               id);
  cr_assert(!strcmp(h, host) && p == port, "node %d dials %d at %s:%d, not %s:%d", at, id, h, p, host,
            port);
}

static int links_have(int at, int32_t id) {
  int32_t ids[QUORUM_VOTERS_MAX];
  uint32_t k = qnode_links(&nodes[at].qn, ids);
  for (uint32_t i = 0; i < k; i++)
    if (ids[i] == id) return 1;
  return 0;
}

/* The addresses the glue's peer links use (qnode_peer_addr, qnode_links):
 * voters at controller.quorum.voters' until a VotersRecord, then at its
 * address (not the one their messages carry); a wiped node with a voter's
 * id, and a removed voter, where their messages come from. */
Test(metalog_quorum, peer_links_follow_the_voter_set_and_its_addresses) {
  char err[512];
  int lead = quorum_up(0, 200);
  cr_assert(lead, "no ready leader");
  int f = lead % NODES + 1, g = f % NODES + 1;
  for (int t = 0; t < 300; t++) run_ms();
  expect_addr(g, f, NULL, "127.0.0.1", 1000 + f - 1); /* static, though f's messages say 127.0.0.1x */
  cr_assert(links_have(g, f) && links_have(g, lead) && !links_have(g, g));
  uint8_t old[QUORUM_DIR_LEN];
  memcpy(old, nodes[f].qn.dir_id, QUORUM_DIR_LEN);
  wipe_node(f);
  for (int t = 0; t < 1000; t++) run_ms();
  char h[32];
  snprintf(h, sizeof h, "127.0.0.%d", 10 + f);
  expect_addr(lead, f, old, h, 3000 + f); /* a wiped f: where it speaks from, for the old key too */
  expect_addr(lead, f, nodes[f].qn.dir_id, h, 3000 + f);
  struct quorum_key k = {.id = f};
  int64_t end;
  memcpy(k.dir, old, QUORUM_DIR_LEN);
  cr_assert_eq(qnode_change_voters(&nodes[lead].qn, 0, &k, NULL, 0, &end, err, sizeof err), 0, "%s",
               err);
  for (int t = 0; t < 2000 && qnode_committed(&nodes[lead].qn) < end; t++) run_ms();
  cr_assert_not(links_have(lead, f), "a removed voter is no link of the leader's");
  expect_addr(lead, f, NULL, h, 3000 + f); /* an observer: answered where it speaks from */
  memcpy(k.dir, nodes[f].qn.dir_id, QUORUM_DIR_LEN);
  cr_assert_eq(qnode_change_voters(&nodes[lead].qn, 1, &k, "10.9.9.9", 4000, &end, err, sizeof err),
               0, "%s", err);
  for (int t = 0; t < 2000 && qnode_committed(&nodes[lead].qn) < end; t++) run_ms();
  for (int t = 0; t < 300; t++) run_ms();
  cr_assert(links_have(g, f) && links_have(lead, f));
  expect_addr(g, f, NULL, "10.9.9.9", 4000);   /* the VotersRecord's, not its messages' */
  expect_addr(lead, f, NULL, "10.9.9.9", 4000);
  const char *lh;
  int lp;
  cr_assert_eq(qnode_leader(&nodes[g].qn, &lh, &lp), lead);
  cr_assert(!strcmp(lh, "127.0.0.1") && lp == 1000 + lead - 1, "the hint: %s:%d", lh, lp);
  for (int i = 1; i <= NODES; i++)
    if (nodes[i].up) close_node(i);
  while (bus_head) run_ms();
}

/* controller/ctrl_authz.c through controller_handle (research note §6,
 * CVE-2018-1288): with the authorizer on, BrokerRegister, BrokerHeartbeat
 * and AlterIsr need ClusterAction and the broker's own principal
 * User:broker-<id>; a client, or another broker's identity, gets
 * CLUSTER_AUTHORIZATION_FAILED and the brokers, the ISR and the leader stay
 * as they were. Relayed admin requests pass with ClusterAction. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "common/trace.h"
#include "controller/controller.h"
#include "controller/ctrl_authz.h"
#include "drill/proc.h"
#include "tests/unit/create_topic_req.h"

static char *dir;
static struct controller ctl;
static struct acl_entry acls[8];
static int64_t now = 1000;

static struct principal as(const char *name) {
  struct principal p = {{0}, "127.0.0.1", 1};
  snprintf(p.name, sizeof p.name, "%s", name);
  return p;
}

/* One request; returns its error (0: answered normally). */
static int handle(const char *who, Strata__Header *req) {
  struct principal p = as(who);
  Strata__Header resp = STRATA__HEADER__INIT;
  struct arena a;
  arena_init(&a);
  controller_handle(&ctl, &p, req, &resp, &a, now);
  int err = -(int)resp.error_code;
  controller_response_done(&resp);
  arena_reset(&a);
  return err;
}

static int reg(const char *who, int32_t id) {
  Strata__BrokerRegisterRequest q = STRATA__BROKER_REGISTER_REQUEST__INIT;
  q.broker_id = id;
  q.host = (char *)"127.0.0.1";
  q.port = (uint32_t)(9000 + id);
  q.rack = q.cluster_id = q.admin = q.kafka = (char *)"";
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_BROKER_REGISTER;
  h.body_case = STRATA__HEADER__BODY_BROKER_REGISTER_REQ;
  h.broker_register_req = &q;
  return handle(who, &h);
}

static int heartbeat(const char *who, int32_t id) {
  Strata__BrokerHeartbeatRequest q = STRATA__BROKER_HEARTBEAT_REQUEST__INIT;
  q.broker_id = id;
  q.broker_epoch = ctrl_broker(&ctl.c, id) ? ctrl_broker(&ctl.c, id)->epoch : 0;
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_BROKER_HEARTBEAT;
  h.body_case = STRATA__HEADER__BODY_BROKER_HEARTBEAT_REQ;
  h.broker_heartbeat_req = &q;
  return handle(who, &h);
}

static const struct ctrl_partition *part0(void) {
  const struct ctrl_topic *t = ctrl_topic(&ctl.c, "t");
  cr_assert_not_null(t);
  return &t->parts[0];
}

/* The leader shrinks the ISR of t-0 to itself. */
static int shrink(const char *who) {
  const struct ctrl_partition *p = part0();
  int32_t leader = p->leader;
  Strata__AlterIsrRequest q = STRATA__ALTER_ISR_REQUEST__INIT;
  q.broker_id = leader;
  q.broker_epoch = ctrl_broker(&ctl.c, leader)->epoch;
  q.topic = (char *)"t";
  q.leader_epoch = p->leader_epoch;
  q.partition_epoch = p->partition_epoch;
  q.isr = &leader;
  q.n_isr = 1;
  int64_t ep = q.broker_epoch;
  q.isr_epochs = &ep;
  q.n_isr_epochs = 1;
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_ALTER_ISR;
  h.body_case = STRATA__HEADER__BODY_ALTER_ISR_REQ;
  h.alter_isr_req = &q;
  return handle(who, &h);
}

static const char *relayed_for; /* the client principal a relayed request carries */

static int create_topic(const char *who, const char *name, uint32_t rf) {
  struct create_topic_req req;
  Strata__Header *h = create_topic_req(&req, name, 1, rf);
  h->principal = (char *)(relayed_for ? relayed_for : "");
  h->principal_host = (char *)"10.0.0.7";
  return handle(who, h);
}

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  cr_assert((dir = proc_tmpdir("strata-ctrl-authz")));
  memset(&ctl, 0, sizeof ctl);
  ctl.default_partitions = 1;
  struct ctrl_config cfg = {100000, 0, 100000, 0, 0};
  char err[256];
  cr_assert_eq(controller_open(&ctl, dir, 0, &cfg, now, err, sizeof err), 0, "%s", err);
  ctl.authz.enabled = 1;
  cr_assert_eq(authorizer_set_super_users(&ctl.authz, "User:admin", err, sizeof err), 0);
  /* the brokers' identities may act for the cluster */
  for (int i = 0; i < 3; i++) {
    static char names[3][32];
    snprintf(names[i], sizeof names[i], "User:broker-%d", i + 1);
    acls[i] = (struct acl_entry){ACL_RES_CLUSTER, ACL_PAT_LITERAL, ACL_OP_CLUSTER_ACTION,
                                 ACL_PERM_ALLOW, (char *)ACL_CLUSTER_NAME, names[i], (char *)"*"};
  }
  /* a client with broad topic rights but no cluster ones */
  acls[3] = (struct acl_entry){ACL_RES_TOPIC, ACL_PAT_LITERAL, ACL_OP_ALL, ACL_PERM_ALLOW,
                               (char *)"*", (char *)"User:alice", (char *)"*"};
  ctl.c.sec.acls.v = acls;
  ctl.c.sec.acls.n = 4;
  cr_assert_eq(reg("User:broker-1", 1), 0);
  cr_assert_eq(reg("User:broker-2", 2), 0);
  cr_assert_eq(create_topic("User:admin", "t", 2), 0);
  cr_assert_eq(part0()->nisr, 2);
}

static void teardown(void) {
  ctl.c.sec.acls.v = NULL;
  ctl.c.sec.acls.n = 0;
  controller_close(&ctl);
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(ctrl_authz, .init = setup, .fini = teardown);

Test(ctrl_authz, a_client_cannot_register_heartbeat_or_alter_an_isr) {
  struct ctrl_partition before = *part0();
  int64_t epoch1 = ctrl_broker(&ctl.c, 1)->epoch;
  int64_t version = ctl.c.version;
  cr_assert_eq(reg("User:alice", 3), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  cr_assert_eq(reg(PRINCIPAL_ANONYMOUS, 1), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  cr_assert_null(ctrl_broker(&ctl.c, 3));
  cr_assert_eq(heartbeat("User:alice", 1), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  cr_assert_eq(shrink("User:alice"), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  cr_assert_eq(shrink(PRINCIPAL_ANONYMOUS), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  const struct ctrl_partition *after = part0();
  cr_assert_eq(after->nisr, before.nisr);
  cr_assert_eq(after->leader, before.leader);
  cr_assert_eq(after->leader_epoch, before.leader_epoch);
  cr_assert_eq(after->partition_epoch, before.partition_epoch);
  cr_assert_eq(ctrl_broker(&ctl.c, 1)->epoch, epoch1);
  cr_assert_eq(ctl.c.version, version); /* no record written */
}

Test(ctrl_authz, one_brokers_identity_cannot_act_as_another) {
  int64_t epoch1 = ctrl_broker(&ctl.c, 1)->epoch;
  cr_assert_eq(reg("User:broker-2", 1), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  cr_assert_eq(ctrl_broker(&ctl.c, 1)->epoch, epoch1);
  cr_assert_eq(heartbeat("User:broker-2", 1), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  int32_t leader = part0()->leader;
  const char *other = leader == 1 ? "User:broker-2" : "User:broker-1";
  cr_assert_eq(shrink(other), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  cr_assert_eq(part0()->nisr, 2);
  /* a super user is not a broker either */
  cr_assert_eq(reg("User:admin", 1), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
}

Test(ctrl_authz, the_broker_itself_with_cluster_action_may) {
  cr_assert_eq(heartbeat("User:broker-1", 1), 0);
  char self[PRINCIPAL_MAX];
  ctrl_authz_broker_principal(part0()->leader, self, sizeof self);
  cr_assert_eq(shrink(self), 0);
  cr_assert_eq(part0()->nisr, 1);
  /* without ClusterAction, even the right name is refused */
  cr_assert_eq(reg("User:broker-3", 3), 0);
  ctl.c.sec.acls.n = 2; /* broker-3's ACL gone */
  cr_assert_eq(heartbeat("User:broker-3", 3), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
}

Test(ctrl_authz, admin_requests_pass_relayed_by_a_broker_or_with_their_own_permission) {
  cr_assert_eq(create_topic("User:mallory", "m", 1), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  cr_assert_null(ctrl_topic(&ctl.c, "m"));
  cr_assert_eq(create_topic("User:broker-1", "m", 1), 0); /* the broker's own */
  /* relayed for a client: the client's principal is judged (KIP-590) */
  relayed_for = "User:mallory";
  cr_assert_eq(create_topic("User:broker-1", "m2", 1), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  relayed_for = "User:alice";
  cr_assert_eq(create_topic("User:broker-1", "m2", 1), 0);
  /* a client's own header principal counts for nothing */
  cr_assert_eq(create_topic("User:mallory", "m3", 1), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  relayed_for = NULL;
  cr_assert_eq(create_topic("User:alice", "a", 1), 0);    /* All on every topic */
  Strata__ElectLeadersRequest q = STRATA__ELECT_LEADERS_REQUEST__INIT;
  q.topic = (char *)"t";
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_ELECT_LEADERS;
  h.body_case = STRATA__HEADER__BODY_ELECT_LEADERS_REQ;
  h.elect_leaders_req = &q;
  cr_assert_eq(handle("User:alice", &h), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  cr_assert_eq(handle("User:admin", &h), 0);
}

Test(ctrl_authz, the_authorizer_off_lets_everything_through) {
  ctl.authz.enabled = 0;
  cr_assert_eq(reg("User:whoever", 3), 0);
  cr_assert_eq(shrink(PRINCIPAL_ANONYMOUS), 0);
}

/* AddRaftVoter / RemoveRaftVoter (KIP-853): Alter on the cluster (a
 * broker's ClusterAction does not do; a relayed request is judged by the
 * client's principal, as every admin request). This controller runs alone:
 * past the authorizer the answer says there are no voters to change. */
Test(ctrl_authz, voter_changes_need_alter_on_the_cluster) {
  uint8_t d[16] = {1};
  Strata__AddRaftVoterRequest aq = STRATA__ADD_RAFT_VOTER_REQUEST__INIT;
  aq.voter_id = 3;
  aq.directory_id.data = d;
  aq.directory_id.len = sizeof d;
  aq.host = (char *)"127.0.0.1";
  aq.port = 9093;
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_ADD_RAFT_VOTER;
  h.body_case = STRATA__HEADER__BODY_ADD_RAFT_VOTER_REQ;
  h.add_raft_voter_req = &aq;
  cr_assert_eq(handle("User:alice", &h), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  cr_assert_eq(handle("User:broker-1", &h), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  h.principal = (char *)"User:alice"; /* relayed by a broker: the client is judged */
  cr_assert_eq(handle("User:broker-1", &h), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  h.principal = (char *)"User:admin";
  cr_assert_eq(handle("User:broker-1", &h), STRATA_EINVALID_REQUEST);
  h.principal = NULL;
  cr_assert_eq(handle("User:admin", &h), STRATA_EINVALID_REQUEST);
  Strata__RemoveRaftVoterRequest rq = STRATA__REMOVE_RAFT_VOTER_REQUEST__INIT;
  rq.voter_id = 3;
  rq.directory_id.data = d;
  rq.directory_id.len = sizeof d;
  h.api_key = STRATA__API_KEY__API_REMOVE_RAFT_VOTER;
  h.body_case = STRATA__HEADER__BODY_REMOVE_RAFT_VOTER_REQ;
  h.remove_raft_voter_req = &rq;
  cr_assert_eq(handle(PRINCIPAL_ANONYMOUS, &h), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  cr_assert_eq(handle("User:admin", &h), STRATA_EINVALID_REQUEST);
  /* an Alter ACL on the cluster is enough */
  acls[4] = (struct acl_entry){ACL_RES_CLUSTER, ACL_PAT_LITERAL, ACL_OP_ALTER, ACL_PERM_ALLOW,
                               (char *)ACL_CLUSTER_NAME, (char *)"User:ops", (char *)"*"};
  ctl.c.sec.acls.n = 5;
  cr_assert_eq(handle("User:ops", &h), STRATA_EINVALID_REQUEST);
}

/* strata-controller: the ctrl state machine, its metadata log, and the
 * request handlers that turn wire requests into decisions. */
#ifndef STRATA_CONTROLLER_H
#define STRATA_CONTROLLER_H

#include "common/acl.h"
#include "common/arena.h"
#include "common/principal.h"
#include "common/listener.h"
#include "common/tls.h"
#include "controller/ctrl.h"
#include "controller/metalog.h"
#include "controller/qnode.h"

struct controller {
  struct ctrl c;
  struct metalog log;
  uint32_t default_partitions;
  uint32_t default_replication;
  struct authorizer_config authz; /* authorizer.*, super.users (owned; freed by close) */
  /* Quorum mode (issue 14; docs/quorum.md): set quorum_cfg before
   * controller_open; qn is then this controller's seat in the quorum. NULL:
   * a single controller, as before. */
  const struct qnode_config *quorum_cfg;
  struct qnode *qn;
  /* The records the last controller_handle (or tick) decided commit at this
   * offset: its answer waits until qnode_committed reaches it (0: none). */
  int64_t wait_offset;
  /* Quorum mode's --bootstrap-user: created when this controller first
   * decides (owned; the password is wiped then, and at close). */
  char *boot_user, *boot_password;
  size_t boot_password_len;
  /* The image heartbeat answers carry, built once per metadata version
   * (controller_image), not once per broker and answer: at 10,000
   * partitions one build is ~170 KB and tens of ms (issue 15). */
  Strata__MetadataImage *image;
  int64_t image_version;
};

/* The current image for a heartbeat answer; the controller keeps it
 * (controller_response_done does not free it). */
Strata__MetadataImage *controller_image(struct controller *ctl);

int controller_open(struct controller *ctl, const char *dir, int32_t id,
                    const struct ctrl_config *cfg, int64_t now_ms, char *err, size_t err_len);
void controller_close(struct controller *ctl);
/* --bootstrap-user (KIP-900's --add-scram, Redpanda's bootstrap user): on a
 * cluster with no user yet, write SCRAM-SHA-256 and -512 credentials for
 * name through the metadata log. With users already there it changes
 * nothing (*created 0): the first start's user is kept, its password too. */
int controller_bootstrap_user(struct controller *ctl, const char *name, const char *password,
                              size_t password_len, int *created, char *err, size_t err_len);
/* Fill resp (strings and messages from arena; a heartbeat answer's image
 * is controller_image's, kept by the controller). who: the principal the request's connection
 * authenticated as (NULL: anonymous), authorized first (ctrl_authz.h). The
 * time comes in: the simulator drives it. */
void controller_handle(struct controller *ctl, const struct principal *who,
                       const Strata__Header *req, Strata__Header *resp, struct arena *a,
                       int64_t now_ms);
void controller_response_done(Strata__Header *resp);
/* Whether a quorum message from who may step the core: with the
 * authorizer on, only from a principal allowed cluster administration (the
 * controllers' certificate names, in super.users). */
int controller_quorum_allowed(const struct controller *ctl, const struct principal *who,
                              const Strata__Header *req);
/* Quorum mode: start the core (after the glue set qn's callbacks). */
void controller_quorum_start(struct controller *ctl, int64_t now_ms);
/* The offset the answer just made depends on: it leaves once the quorum's
 * high watermark reaches it. Every record the leader applied counts, not
 * only the request's own: an answer read from a pending record (a topic
 * "already exists" whose creation is not committed yet) must not leave
 * before that record commits, or a failover could take back what the
 * answer said. 0 for a single controller. */
int64_t controller_answer_offset(const struct controller *ctl);
/* Whether this controller decides: always for a single one; in quorum mode
 * the leader once its LeaderChange record is committed (qnode.h). */
int controller_active(const struct controller *ctl);
/* Whether a heartbeat may carry an image now: not while the leader holds
 * records applied but not committed. */
int controller_image_ok(const struct controller *ctl);
/* Fill resp as NOT_CONTROLLER with the active controller's id and address. */
void controller_not_active(const struct controller *ctl, Strata__Header *resp, struct arena *a);
void controller_tick(struct controller *ctl, int64_t now_ms);
/* A broker's (newest) connection closed. */
void controller_disconnected(struct controller *ctl, int32_t broker_id, int64_t now_ms);
/* Where controller_run listens: the client port, and the admin port
 * (docs/admin.md; admin_port -1: off; a default that is taken only costs
 * the admin port, one set explicitly must bind). */
struct controller_listen {
  char host[256];
  int port;
  /* listeners' scheme (common/listener.h): tls wraps connections in TLS
   * with the ssl.* settings below, sasl asks for SASL first. */
  enum listener_protocol protocol;
  int tls, sasl;
  unsigned sasl_mechs;         /* sasl.enabled.mechanisms (common/sasl.h SASL_MECH_BIT mask) */
  int admin_tls;               /* admin.listeners=HTTPS://... */
  struct tls_settings tls_settings;
  char admin_host[256];
  int admin_port;
  int admin_explicit;
  uint32_t admin_connections_max;
  const char *data_dir;
};
#define CONTROLLER_ADMIN_DEFAULT "127.0.0.1:9645"
int controller_run(struct controller *ctl, const struct controller_listen *l);

#endif

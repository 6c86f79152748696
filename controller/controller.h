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

struct controller {
  struct ctrl c;
  struct metalog log;
  uint32_t default_partitions;
  uint32_t default_replication;
  struct authorizer_config authz; /* authorizer.*, super.users (owned; freed by close) */
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

/* SASL authentication as Kafka frames it (SaslHandshake, API 17, KIP-43;
 * SaslAuthenticate, API 36, KIP-152): the server and client state machines
 * for PLAIN and SCRAM-SHA-256/512. Pure: tokens in, tokens out; no I/O, no
 * clock (the glue owns the 10 s deadline and the 100 ms failure delay).
 * Credentials come from a lookup callback, so the broker reads its metadata
 * image and the controller its own state.
 *
 * Function prefixes are sasl_sv_ and sasl_cl_, never sasl_server_/sasl_client_:
 * those are Cyrus libsasl2's, which librdkafka loads into the same process
 * (the drill's Kafka client), and ours would be called in their place. */
#ifndef STRATA_SASL_H
#define STRATA_SASL_H

#include <stddef.h>
#include <stdint.h>

#include "scram.h"

enum sasl_mech {
  SASL_PLAIN = 1,
  SASL_SCRAM_SHA_256 = 2,
  SASL_SCRAM_SHA_512 = 3,
};

#define SASL_MECH_BIT(m) (1u << (m))
#define SASL_MECHS_DEFAULT (SASL_MECH_BIT(SASL_SCRAM_SHA_256) | SASL_MECH_BIT(SASL_SCRAM_SHA_512))
#define SASL_TOKEN_MAX SCRAM_MSG_MAX     /* any one token, in or out */
#define SASL_PASSWORD_MAX 1024           /* bytes of a password (PLAIN, client) */
#define SASL_FRAME_MAX_UNAUTH (512 * 1024) /* request bytes before authentication */
#define SASL_DEADLINE_MS 10000           /* TLS handshake + SASL, from accept */
#define SASL_FAILURE_DELAY_MS 100        /* connection.failed.authentication.delay.ms */
#define SASL_SECRET_LEN 32

/* "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512" <-> enum; 0 when unknown. */
enum sasl_mech sasl_mech_parse(const char *name);
const char *sasl_mech_name(enum sasl_mech m);

/* sasl.enabled.mechanisms: a comma list (spaces allowed) into a mask of
 * SASL_MECH_BIT. An unknown or empty list is STRATA_EINVALID_CONFIG (a
 * listener must not start with a mechanism it cannot check). */
int sasl_mechs_parse(const char *list, unsigned *mask);

/* The credential of user for a SCRAM mechanism, or NULL when there is none.
 * The pointer must stay valid until the call returns (it is copied). */
typedef const struct scram_credential *(*sasl_lookup_fn)(void *arg, const char *user,
                                                         enum scram_mech mech);

struct sasl_server_config {
  unsigned mechs;                   /* SASL_MECH_BIT mask */
  sasl_lookup_fn lookup;
  void *lookup_arg;
  uint8_t secret[SASL_SECRET_LEN];  /* keys the fake credentials of unknown users */
};

/* Fill cfg->secret from RAND_bytes. 0 or STRATA_EUNKNOWN. */
int sasl_sv_config_secret(struct sasl_server_config *cfg);

enum sasl_server_state {
  SASL_SRV_START = 0,     /* waiting for SaslHandshake */
  SASL_SRV_HANDSHAKEN,    /* mechanism chosen, waiting for the first token */
  SASL_SRV_SCRAM_FINAL,   /* server-first sent, waiting for client-final */
  SASL_SRV_DONE,          /* authenticated */
  SASL_SRV_FAILED,        /* the connection must be closed (after the delay) */
};

struct sasl_server {
  const struct sasl_server_config *cfg;
  enum sasl_server_state state;
  enum sasl_mech mech;
  struct scram_server scram;
  char user[SCRAM_USER_MAX + 1];    /* authenticated user once DONE */
};

void sasl_sv_init(struct sasl_server *s, const struct sasl_server_config *cfg);

/* Wipe the exchange (keys, AuthMessage) and go back to START. */
void sasl_sv_clear(struct sasl_server *s);

/* SaslHandshake. 0, STRATA_EUNSUPPORTED_SASL_MECHANISM (the connection may
 * try again), or STRATA_EILLEGAL_SASL_STATE (second handshake: FAILED). */
int sasl_sv_handshake(struct sasl_server *s, const char *mechanism);

/* The enabled mechanisms' names for the SaslHandshake answer, in a fixed
 * order. Returns how many were written to names (at most 3). */
int sasl_sv_mechanisms(const struct sasl_server_config *cfg, const char *names[3]);

/* SaslAuthenticate: one client token in, the server token out (out_cap of
 * SASL_TOKEN_MAX is always enough). Returns 0 with state HANDSHAKEN ->
 * SCRAM_FINAL or -> DONE, or a negative error with state FAILED:
 * STRATA_ESASL_AUTHENTICATION_FAILED (wrong password, unknown user, bad
 * nonce, authzid != user, malformed token) or STRATA_EILLEGAL_SASL_STATE
 * (no handshake yet, or already done). Every authentication failure gives
 * the same code whatever the cause. */
int sasl_sv_step(struct sasl_server *s, const uint8_t *in, size_t len, uint8_t *out,
                     size_t out_cap, size_t *out_len);

/* ---- client ------------------------------------------------------------------ */

enum sasl_client_state {
  SASL_CLI_START = 0,
  SASL_CLI_SENT_FIRST,
  SASL_CLI_SENT_FINAL,
  SASL_CLI_DONE,
  SASL_CLI_FAILED,
};

struct sasl_client {
  enum sasl_mech mech;
  enum sasl_client_state state;
  char user[SCRAM_USER_MAX + 1];
  char password[SASL_PASSWORD_MAX + 1];
  size_t password_len;
  struct scram_client scram;
};

/* 0 or STRATA_EINVALID_ARGUMENT (unknown mechanism, empty or long name or
 * password). The password is kept until sasl_cl_clear. */
int sasl_cl_init(struct sasl_client *c, enum sasl_mech mech, const char *user,
                     const char *password);
void sasl_cl_clear(struct sasl_client *c);

/* The first token (PLAIN: "\0user\0password"; SCRAM: client-first). */
int sasl_cl_start(struct sasl_client *c, uint8_t *out, size_t out_cap, size_t *out_len);

/* The server's answer to our last token. Sets *done when the exchange is
 * complete (SCRAM: the server's signature verified); otherwise out holds the
 * next token to send. Negative error: STRATA_ESASL_AUTHENTICATION_FAILED
 * (a server that cannot prove it knows the credential, or a bad answer). */
int sasl_cl_step(struct sasl_client *c, const uint8_t *in, size_t len, uint8_t *out,
                     size_t out_cap, size_t *out_len, int *done);

#endif

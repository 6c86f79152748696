/* SCRAM credentials (RFC 5802, RFC 7677). What is stored is salt, iteration
 * count, StoredKey and ServerKey, never the password or SaltedPassword: a
 * reader of the metadata log can check a proof but not forge one. */
#ifndef STRATA_SCRAM_H
#define STRATA_SCRAM_H

#include <stddef.h>
#include <stdint.h>

enum scram_mech {
  SCRAM_SHA_256 = 1,
  SCRAM_SHA_512 = 2,
};

#define SCRAM_KEY_MAX 64       /* SHA-512's output */
#define SCRAM_SALT_MAX 64
#define SCRAM_ITERATIONS_MIN 4096  /* Kafka's bounds */
#define SCRAM_ITERATIONS_MAX 16384

struct scram_credential {
  uint8_t mech;                      /* enum scram_mech */
  int32_t iterations;
  uint8_t salt[SCRAM_SALT_MAX];
  size_t salt_len;
  uint8_t stored_key[SCRAM_KEY_MAX]; /* H(ClientKey) */
  uint8_t server_key[SCRAM_KEY_MAX]; /* HMAC(SaltedPassword, "Server Key") */
  size_t key_len;                    /* 32 or 64 */
};

/* "SCRAM-SHA-256" / "SCRAM-SHA-512" <-> enum; 0 when unknown. */
enum scram_mech scram_mech_parse(const char *name);
const char *scram_mech_name(enum scram_mech m);

/* Derive a credential from a password. salt NULL: 32 random bytes. Returns 0
 * or a negative STRATA_E* (iterations outside [MIN, MAX]: INVALID_CONFIG). */
int scram_credential_make(enum scram_mech m, const char *password, size_t password_len,
                          int32_t iterations, const uint8_t *salt, size_t salt_len,
                          struct scram_credential *out);

/* ---- additions for the SASL exchange (sasl helper) ------------------------ */

#define SCRAM_ITERATIONS_DEFAULT 4096 /* what `strata user create` uses unless told */
#define SCRAM_USER_MAX 255            /* bytes of a decoded user name */
#define SCRAM_MSG_MAX 4096            /* bytes of any one SCRAM message */
#define SCRAM_NONCE_MAX 256           /* bytes of the combined nonce */
#define SCRAM_CLIENT_NONCE_LEN 24     /* base64 of 18 random bytes */

/* A fresh nonce: base64 of 18 bytes from RAND_bytes, NUL-terminated.
 * 0 or STRATA_EUNKNOWN when the RNG fails. */
int scram_nonce_make(char out[SCRAM_CLIENT_NONCE_LEN + 1]);

/* Digest length of the mechanism's hash: 32, 64, or 0 when unknown. */
size_t scram_key_len(enum scram_mech m);

/* Hi(password, salt, i) of RFC 5802: PBKDF2 with HMAC-H. out has key_len
 * bytes. 0 or STRATA_EINVALID_ARGUMENT. */
int scram_salted_password(enum scram_mech m, const char *password, size_t password_len,
                          const uint8_t *salt, size_t salt_len, int32_t iterations,
                          uint8_t *out);

/* HMAC-H(key, data) into out (key_len bytes). */
int scram_hmac(enum scram_mech m, const uint8_t *key, size_t key_len, const void *data,
               size_t len, uint8_t *out);

/* The credential an unknown user appears to have (RFC 5802 section 9): salt
 * and keys from HMAC(secret, mechanism and name), SCRAM_ITERATIONS_DEFAULT
 * iterations, so answers do not tell which users exist. No password
 * matches it in practice (keys are not derived from one). */
int scram_credential_fake(enum scram_mech m, const char *user, const uint8_t *secret,
                          size_t secret_len, struct scram_credential *out);

/* Check a password against a credential (SASL PLAIN): derives the
 * SaltedPassword with the credential's salt and iterations and compares the
 * StoredKey in constant time. 1 when it matches, 0 when not. */
int scram_credential_check_password(const struct scram_credential *c, const char *password,
                                    size_t password_len);

/* Base64 (RFC 4648, padded). Encode: writes a NUL-terminated string, returns
 * its length or -1 when out_cap is too small. Decode: strict (alphabet,
 * padding, length a multiple of 4); returns the byte count or -1. */
int scram_b64_encode(const uint8_t *in, size_t len, char *out, size_t out_cap);
int scram_b64_decode(const char *in, size_t len, uint8_t *out, size_t out_cap);

/* ---- SCRAM messages (RFC 5802 section 7) ---------------------------------- */

/* client-first-message: gs2-header then client-first-message-bare. */
struct scram_client_first {
  char cbind;                          /* 'n' or 'y' (no channel binding) */
  char authzid[SCRAM_USER_MAX + 1];    /* decoded; "" when absent */
  char user[SCRAM_USER_MAX + 1];       /* decoded =2C / =3D */
  char nonce[SCRAM_NONCE_MAX + 1];     /* client nonce */
  size_t gs2_len;                      /* bytes of the gs2 header in the message */
  size_t bare_off;                     /* client-first-message-bare starts here */
};

struct scram_server_first {
  char nonce[SCRAM_NONCE_MAX + 1];     /* client nonce + server nonce */
  uint8_t salt[SCRAM_SALT_MAX];
  size_t salt_len;
  int32_t iterations;
};

struct scram_client_final {
  char cbind_b64[128];                 /* c= as sent (base64 of the gs2 header) */
  char nonce[SCRAM_NONCE_MAX + 1];     /* r= */
  uint8_t proof[SCRAM_KEY_MAX];        /* p= decoded */
  size_t proof_len;
  size_t without_proof_len;            /* client-final-message-without-proof */
};

/* Parsers: 0, or STRATA_EINVALID_REQUEST for anything malformed: size over
 * SCRAM_MSG_MAX, NUL bytes, missing / duplicate / out-of-order attributes,
 * "m=" (mandatory extension), bad base64, a user name over SCRAM_USER_MAX or
 * with a bad '=' escape, channel binding other than n / y. They never
 * allocate. */
int scram_parse_client_first(const char *msg, size_t len, struct scram_client_first *out);
int scram_parse_server_first(const char *msg, size_t len, struct scram_server_first *out);
int scram_parse_client_final(const char *msg, size_t len, struct scram_client_final *out);
/* server-final: "v=signature" (fills sig, sig_len; returns 0) or "e=error"
 * (err gets the text; returns STRATA_ESASL_AUTHENTICATION_FAILED). */
int scram_parse_server_final(const char *msg, size_t len, uint8_t *sig, size_t *sig_len,
                             char *err, size_t err_cap);

/* Escape a user name for n= (',' -> =2C, '=' -> =3D). Returns the length or
 * -1 when out_cap is too small. */
int scram_escape_name(const char *name, char *out, size_t out_cap);

/* ---- the two sides of one SCRAM exchange ------------------------------------
 * Each side keeps the messages it needs for AuthMessage
 * (client-first-bare "," server-first "," client-final-without-proof). */

struct scram_server {
  enum scram_mech mech;
  struct scram_credential cred;        /* real, or the fake one of an unknown user */
  int known;                           /* 0: the user is unknown, always fail */
  struct scram_client_first cf;
  char auth[3 * SCRAM_MSG_MAX + 3];    /* AuthMessage being built */
  size_t auth_len;
  char gs2[SCRAM_USER_MAX * 3 + 8];    /* gs2 header as sent */
  size_t gs2_len;
  char nonce[SCRAM_NONCE_MAX + 1];     /* combined nonce sent in server-first */
};

/* Server, step 1: the client-first was parsed into cf (see
 * scram_parse_client_first; msg is the raw message). cred is the user's
 * credential or NULL for an unknown user: then a fake one is derived from
 * secret (HMAC-keyed on the user name, so the same user always sees the same
 * salt and iterations). server_nonce: printable, from scram_nonce_make.
 * Writes the server-first into out. Returns its length or a negative error
 * (authzid != user: STRATA_EINVALID_REQUEST). */
int scram_server_first(struct scram_server *s, enum scram_mech m, const char *msg, size_t len,
                       const struct scram_credential *cred, const uint8_t *secret,
                       size_t secret_len, const char *server_nonce, char *out, size_t out_cap);

/* Server, step 2: check the client-final (nonce must equal the combined nonce
 * sent: CVE-2024-56128; c= must be the gs2 header; the proof must verify).
 * On success writes the server-final "v=..." into out and returns its
 * length; a bad proof or an unknown user gives
 * STRATA_ESASL_AUTHENTICATION_FAILED, a malformed message
 * STRATA_EINVALID_REQUEST. Usable once: a second call fails. */
int scram_server_final(struct scram_server *s, const char *msg, size_t len, char *out,
                       size_t out_cap);

struct scram_client {
  enum scram_mech mech;
  char nonce[SCRAM_CLIENT_NONCE_LEN + 1];
  char auth[3 * SCRAM_MSG_MAX + 3];
  size_t auth_len;
  uint8_t server_signature[SCRAM_KEY_MAX];
  size_t key_len;
};

/* Client, step 1: writes client-first "n,,n=user,r=nonce" (nonce: printable,
 * no ',', from scram_nonce_make). Returns its length or a negative error. */
int scram_client_first(struct scram_client *c, enum scram_mech m, const char *user,
                       const char *nonce, char *out, size_t out_cap);

/* Client, step 2: reads server-first, writes client-final with the proof.
 * Refuses a nonce that does not extend ours and iterations outside
 * [SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MAX]. */
int scram_client_final(struct scram_client *c, const char *password, size_t password_len,
                       const char *server_first, size_t len, char *out, size_t out_cap);

/* Client, step 3: checks the server's signature. 0 when it matches. */
int scram_client_verify(struct scram_client *c, const char *server_final, size_t len);

#endif

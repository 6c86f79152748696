/* Users and ACLs as cluster metadata: the SCRAM credentials (salt,
 * iterations, StoredKey, ServerKey per user and mechanism; never a password)
 * and the ACL set, as the controller rebuilds them from its metadata log and
 * as brokers hold them from the image. One store, used by both sides: the
 * controller applies its records here (ctrl_apply), brokers load the image's
 * copy (metadata_apply_image). Pure: no I/O, no clock.
 *
 * Lookups (what SASL and the authorizer call, through ctrl_* / metadata_*):
 * the pointers they return stay valid until the store changes, that is the
 * next record applied or image loaded; copy what must outlive the current
 * request (struct scram_credential is a plain value). */
#ifndef STRATA_SECMETA_H
#define STRATA_SECMETA_H

#include <stddef.h>
#include <stdint.h>

#include "common/acl.h"
#include "common/scram.h"
#include "proto/strata.pb-c.h"

#define SECMETA_USERS_MAX 10000
#define SECMETA_ACLS_MAX 100000
#define SECMETA_USER_NAME_MAX 255   /* bytes, as SCRAM user names are capped */
#define SECMETA_ACL_STRING_MAX 1024 /* resource names, principals, hosts */

struct secmeta_user {
  char *name;
  struct scram_credential cred[2]; /* [mech - 1] */
  uint8_t has[2];
};

struct secmeta {
  struct secmeta_user *users; /* sorted by name */
  size_t nusers, users_cap;
  struct acl_set acls; /* entries own their strings; insertion order */
  size_t acls_cap;
};

void secmeta_init(struct secmeta *s);
void secmeta_free(struct secmeta *s);

/* The credential of user for mechanism m, or NULL (no such user or no
 * credential for that mechanism). */
const struct scram_credential *secmeta_credential(const struct secmeta *s, const char *user,
                                                  enum scram_mech m);
const struct secmeta_user *secmeta_user(const struct secmeta *s, const char *user);
/* Every ACL of the cluster (n 0 when none). Never NULL. */
const struct acl_set *secmeta_acls(const struct secmeta *s);

/* Apply a security record (user_scram_credential, remove_user, acl,
 * remove_acl). Returns 0 when applied, 1 when r is another kind of record
 * (the caller's), or a negative STRATA_E* for a malformed record. Removing
 * what is not there and adding an ACL that exists are no-ops (replay of a
 * log whose snapshot already holds them). */
int secmeta_apply(struct secmeta *s, const Strata__MetadataRecord *r);

/* The store into an image's scram_credentials and acls (malloc'd, freed
 * with the image by strata__metadata_image__free_unpacked). */
void secmeta_to_image(const struct secmeta *s, Strata__MetadataImage *img);
/* Replace the store with an image's copy. On error the store is empty. */
int secmeta_load_image(struct secmeta *s, const Strata__MetadataImage *img);

/* Checks a new credential must pass: user name 1..SECMETA_USER_NAME_MAX
 * bytes, known mechanism, salt 1..SCRAM_SALT_MAX bytes, iterations in
 * [SCRAM_ITERATIONS_MIN, MAX], keys of the mechanism's length. 0 or
 * STRATA_EUNACCEPTABLE_CREDENTIAL (err says which). */
int secmeta_credential_check(const Strata__ScramCredential *m, char *err, size_t err_len);
/* m -> *out (no allocation). 0 or the check's error. */
int secmeta_credential_from_msg(const Strata__ScramCredential *m, struct scram_credential *out);

/* Checks a new ACL must pass (Kafka's AclControlManager): concrete resource
 * type, LITERAL or PREFIXED, a concrete operation and permission, a
 * non-empty name (the cluster's is "kafka-cluster"), a "Type:name"
 * principal, a non-empty host. 0 or STRATA_EINVALID_REQUEST (err says why). */
int secmeta_acl_check(const Strata__AclBinding *m, char *err, size_t err_len);
/* A binding as an entry whose strings point into m (valid while m is). */
void secmeta_acl_view(const Strata__AclBinding *m, struct acl_entry *e);
/* An entry as a malloc'd binding (free with strata__acl_binding__free_unpacked). */
Strata__AclBinding *secmeta_acl_msg(const struct acl_entry *e);
int secmeta_acl_equal(const struct acl_entry *a, const struct acl_entry *b);

#endif

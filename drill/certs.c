#include "drill/certs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct certs_ca {
  EVP_PKEY *key;
  X509 *cert;
  long serial;
};

static void why(char *err, size_t err_len, const char *what) {
  char ossl[200];
  ERR_error_string_n(ERR_get_error(), ossl, sizeof ossl);
  snprintf(err, err_len, "%s: %s", what, ossl);
}

/* Add one X.509v3 extension in openssl.cnf syntax ("IP:127.0.0.1"). */
static int add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
  X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (!e) return -1;
  int ok = X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
  return ok ? 0 : -1;
}

/* A certificate for key with subject CN=cn,O=strata, not yet signed. */
static X509 *cert_for(EVP_PKEY *key, const char *cn, long serial) {
  X509 *x = X509_new();
  if (!x) return NULL;
  X509_NAME *n = X509_get_subject_name(x);
  if (!X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
      !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(x), 2 * 86400) || !X509_set_pubkey(x, key) ||
      !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"strata", -1, -1, 0) ||
      !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0)) {
    X509_free(x);
    return NULL;
  }
  return x;
}

/* dir/name.pem and dir/name.key (the key readable by its owner only). */
static int write_pair(const char *dir, const char *name, X509 *x, EVP_PKEY *key) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.key", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    if (fd >= 0) close(fd);
    return -1;
  }
  int ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
  if (fclose(f) || !ok) return -1;
  snprintf(path, sizeof path, "%s/%s.pem", dir, name);
  if (!(f = fopen(path, "w"))) return -1;
  ok = PEM_write_X509(f, x);
  return fclose(f) || !ok ? -1 : 0;
}

struct certs_ca *certs_ca_new(const char *dir, const char *name, const char *cn, char *err,
                              size_t err_len) {
  struct certs_ca *ca = calloc(1, sizeof *ca);
  if (!ca) return NULL;
  ca->serial = 1;
  ca->key = EVP_EC_gen("P-256");
  ca->cert = ca->key ? cert_for(ca->key, cn, ca->serial++) : NULL;
  if (!ca->cert || !X509_set_issuer_name(ca->cert, X509_get_subject_name(ca->cert)) ||
      add_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE") ||
      add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
      add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") ||
      !X509_sign(ca->cert, ca->key, EVP_sha256())) {
    why(err, err_len, "making the CA");
    certs_ca_free(ca);
    return NULL;
  }
  if (write_pair(dir, name, ca->cert, ca->key)) {
    snprintf(err, err_len, "cannot write %s/%s.pem or .key", dir, name);
    certs_ca_free(ca);
    return NULL;
  }
  return ca;
}

void certs_ca_free(struct certs_ca *ca) {
  if (!ca) return;
  X509_free(ca->cert);
  EVP_PKEY_free(ca->key);
  free(ca);
}

int certs_leaf(struct certs_ca *ca, const char *dir, const char *name, const char *cn,
               const char *ip, char *err, size_t err_len) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  long serial = ca->serial++;
  X509 *x = key ? cert_for(key, cn, serial) : NULL;
  char san[96];
  snprintf(san, sizeof san, "IP:%s", ip ? ip : "");
  int rc = -1;
  if (!x || !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
      add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
      add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
      add_ext(x, ca->cert, NID_ext_key_usage, "serverAuth,clientAuth") ||
      add_ext(x, ca->cert, NID_authority_key_identifier, "keyid") ||
      (ip && add_ext(x, ca->cert, NID_subject_alt_name, san)) ||
      !X509_sign(x, ca->key, EVP_sha256()))
    why(err, err_len, name);
  else if (write_pair(dir, name, x, key))
    snprintf(err, err_len, "cannot write %s/%s.pem or .key", dir, name);
  else
    rc = 0;
  X509_free(x);
  EVP_PKEY_free(key);
  return rc;
}

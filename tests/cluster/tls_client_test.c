/* libstrata over TLS against a real broker with an SSL:// listener and
 * certificates from a throwaway CA (drill/certs.h): topic create, produce
 * and consume over TLS with a client certificate (the broker requires one);
 * refusals, each with a reason: a broker certificate for another IP, one
 * from a CA the client does not trust, no client certificate, a plaintext
 * client on the TLS port, a TLS client on a plaintext port; and the
 * properties loader's names (librdkafka's, as kcat -F reads them). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/strata.h"
#include "drill/certs.h"
#include "drill/proc.h"

static char *dir;
static pid_t broker = -1;
static int port;
static char bootstrap[64];

static void make_certs(void) {
  char err[256];
  struct certs_ca *ca = certs_ca_new(dir, "ca", "test CA", err, sizeof err);
  cr_assert(ca, "%s", err);
  cr_assert_eq(certs_leaf(ca, dir, "broker", "broker-1", "127.0.0.1", err, sizeof err), 0, "%s", err);
  cr_assert_eq(certs_leaf(ca, dir, "elsewhere", "broker-2", "127.0.0.2", err, sizeof err), 0, "%s", err);
  cr_assert_eq(certs_leaf(ca, dir, "client", "client", NULL, err, sizeof err), 0, "%s", err);
  certs_ca_free(ca);
  struct certs_ca *other = certs_ca_new(dir, "other-ca", "other CA", err, sizeof err);
  cr_assert(other, "%s", err);
  cr_assert_eq(certs_leaf(other, dir, "stranger", "broker-1", "127.0.0.1", err, sizeof err), 0, "%s", err);
  certs_ca_free(other);
}

/* Start the broker on an SSL:// listener with certificate `cert`
 * (dir/cert.pem) and client certificates required. */
static void start_tls(const char *cert) {
  static char sets[6][700];
  snprintf(sets[0], sizeof sets[0], "listeners=SSL://127.0.0.1:%d", port);
  snprintf(sets[1], sizeof sets[1], "ssl.certificate.location=%s/%s.pem", dir, cert);
  snprintf(sets[2], sizeof sets[2], "ssl.key.location=%s/%s.key", dir, cert);
  snprintf(sets[3], sizeof sets[3], "ssl.ca.location=%s/ca.pem", dir);
  snprintf(sets[4], sizeof sets[4], "ssl.client.auth=required");
  snprintf(sets[5], sizeof sets[5], "admin.listeners=");
  const char *extra[] = {sets[0], sets[1], sets[2], sets[3], sets[4], sets[5], NULL};
  broker = proc_start_broker(dir, port, extra, NULL);
  cr_assert_gt(broker, 0, "broker did not start (see %s/broker.log)", dir);
}

static void setup(void) {
  dir = proc_tmpdir("strata-tlsclient");
  cr_assert(dir);
  make_certs();
  port = proc_free_port();
  cr_assert_gt(port, 0);
  snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%d", port);
}

static void teardown(void) {
  if (broker > 0) cr_expect_eq(proc_stop(broker), 0, "clean shutdown");
  broker = -1;
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(tls_client, .init = setup, .fini = teardown, .timeout = 60);

/* The client settings: the test CA, the client certificate. */
static strata_security client_security(void) {
  strata_security s;
  strata_security_defaults(&s);
  s.protocol = STRATA_SECURITY_SSL;
  snprintf(s.ssl_ca_location, sizeof s.ssl_ca_location, "%s/ca.pem", dir);
  snprintf(s.ssl_certificate_location, sizeof s.ssl_certificate_location, "%s/client.pem", dir);
  snprintf(s.ssl_key_location, sizeof s.ssl_key_location, "%s/client.key", dir);
  return s;
}

static int delivered_ok;
static void on_delivery(const strata_delivery *d, void *arg) {
  (void)arg;
  if (!d->error) delivered_ok++;
}

Test(tls_client, creates_produces_and_consumes_over_tls_with_a_client_certificate) {
  start_tls("broker");
  strata_security s = client_security();
  char err[512];
  strata_client *c = strata_client_new_secure(bootstrap, 5000, &s, err, sizeof err);
  cr_assert(c, "%s", err);
  cr_assert_eq(strata_topic_create(c, "secure", 2, 1, NULL, NULL, 0, err, sizeof err), 0, "%s", err);
  strata_client_free(c);

  strata_producer_config pc;
  strata_producer_config_defaults(&pc);
  pc.linger_ms = 1;
  strata_producer *p = strata_producer_new_secure(bootstrap, &pc, &s, on_delivery, NULL, err, sizeof err);
  cr_assert(p, "%s", err);
  /* 200 records of 100 KiB: many TLS records per request, several
   * requests in flight */
  static char value[100 << 10];
  for (size_t i = 0; i < sizeof value; i++) value[i] = (char)('a' + i % 26);
  delivered_ok = 0;
  for (int i = 0; i < 200; i++)
    cr_assert_eq(strata_produce(p, "secure", i % 2, NULL, 0, value, sizeof value, 0, NULL, 0, NULL), 0);
  cr_assert_eq(strata_producer_flush(p, 20000), 0);
  strata_producer_free(p);
  cr_assert_eq(delivered_ok, 200);

  strata_consumer *k = strata_consumer_new_secure(bootstrap, NULL, &s, err, sizeof err);
  cr_assert(k, "%s", err);
  cr_assert_eq(strata_consumer_assign_topic(k, "secure", STRATA_OFFSET_BEGINNING), 0);
  int got = 0;
  for (int tries = 0; got < 200 && tries < 200; tries++) {
    const strata_message *m;
    int rc = strata_consumer_poll(k, 100, &m);
    cr_assert_geq(rc, 0, "poll: %s", strata_strerror(rc));
    if (rc == 1) {
      cr_assert_eq(m->value_len, (int32_t)sizeof value);
      cr_assert_eq(memcmp(m->value, value, sizeof value), 0);
      got++;
    }
  }
  cr_expect_eq(got, 200);
  strata_consumer_free(k);
}

Test(tls_client, refuses_a_broker_certificate_for_another_ip) {
  start_tls("elsewhere"); /* its certificate names 127.0.0.2; we connect to 127.0.0.1 */
  strata_security s = client_security();
  char err[512] = "";
  strata_client *c = strata_client_new_secure(bootstrap, 5000, &s, err, sizeof err);
  cr_assert_null(c, "connected to a broker whose certificate names another address");
  cr_expect(strstr(err, "TLS handshake") && strstr(err, "IP address mismatch"), "%s", err);
  /* The name check is what refused it: without it the same CA passes. */
  s.ssl_verify_hostname = 0;
  c = strata_client_new_secure(bootstrap, 5000, &s, err, sizeof err);
  cr_assert(c, "ssl.endpoint.identification.algorithm=none: %s", err);
  strata_metadata *m = NULL;
  cr_expect_eq(strata_metadata_get(c, NULL, 0, &m), 0);
  strata_metadata_free(m);
  strata_client_free(c);
}

Test(tls_client, refuses_a_broker_certificate_from_another_ca) {
  start_tls("stranger");
  strata_security s = client_security();
  char err[512] = "";
  cr_assert_null(strata_client_new_secure(bootstrap, 5000, &s, err, sizeof err));
  cr_expect(strstr(err, "certificate verify failed"), "%s", err);
  strata_producer *p = strata_producer_new_secure(bootstrap, NULL, &s, on_delivery, NULL, err,
                                                  sizeof err);
  cr_expect_null(p, "a producer connected anyway");
}

Test(tls_client, is_refused_without_a_client_certificate) {
  start_tls("broker");
  strata_security s = client_security();
  s.ssl_certificate_location[0] = s.ssl_key_location[0] = 0;
  char err[512] = "";
  strata_client *c = strata_client_new_secure(bootstrap, 5000, &s, err, sizeof err);
  /* TLS 1.3: the client's handshake ends before the server checks its
   * certificate; the refusal arrives as an alert on the first read. */
  strata_metadata *m = NULL;
  int rc = c ? strata_metadata_get(c, NULL, 0, &m) : STRATA_EUNREACHABLE;
  cr_expect_neq(rc, 0, "metadata without a client certificate");
  strata_metadata_free(m);
  strata_client_free(c);
}

Test(tls_client, plaintext_client_on_a_tls_port_gets_no_answer) {
  start_tls("broker");
  char err[512] = "";
  strata_client *c = strata_client_new(bootstrap, 5000, err, sizeof err);
  cr_assert(c, "the TCP connection itself works: %s", err);
  strata_metadata *m = NULL;
  cr_expect_eq(strata_metadata_get(c, NULL, 0, &m), STRATA_ENETWORK);
  strata_metadata_free(m);
  strata_client_free(c);
}

Test(tls_client, tls_client_on_a_plaintext_port_is_told_so) {
  static char admin_off[] = "admin.listeners=";
  const char *extra[] = {admin_off, NULL};
  broker = proc_start_broker(dir, port, extra, NULL);
  cr_assert_gt(broker, 0);
  strata_security s = client_security();
  char err[512] = "";
  cr_assert_null(strata_client_new_secure(bootstrap, 5000, &s, err, sizeof err));
  cr_expect(strstr(err, "TLS handshake") && strstr(err, "PLAINTEXT listener"), "%s", err);
}

Test(tls_client, loads_librdkafka_property_names) {
  char path[600], err[512];
  snprintf(path, sizeof path, "%s/client.properties", dir);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fprintf(f, "# kcat -F reads this too\nbootstrap.servers=ignored:1\nclient.id=ignored\n"
             "security.protocol=ssl\nssl.ca.location=/ca.pem\nssl.certificate.location=/c.pem\n"
             "ssl.key.location=/c.key\nssl.endpoint.identification.algorithm=none\n"
             "sasl.mechanisms=scram-sha-512\nsasl.username=alice\nsasl.password=s3cret\n");
  fclose(f);
  strata_security s;
  strata_security_defaults(&s);
  cr_assert_eq(strata_security_load(&s, path, err, sizeof err), 0, "%s", err);
  cr_expect_eq(s.protocol, STRATA_SECURITY_SSL);
  cr_expect_str_eq(s.ssl_ca_location, "/ca.pem");
  cr_expect_str_eq(s.ssl_certificate_location, "/c.pem");
  cr_expect_str_eq(s.ssl_key_location, "/c.key");
  cr_expect_eq(s.ssl_verify_hostname, 0);
  cr_expect_str_eq(s.sasl_mechanism, "SCRAM-SHA-512");
  cr_expect_str_eq(s.sasl_username, "alice");
  cr_expect_str_eq(s.sasl_password, "s3cret");
  /* a misspelt ssl.* key is an error, never a silently ignored check */
  f = fopen(path, "w");
  fprintf(f, "security.protocol=SSL\nssl.endpoint.identification.algoritm=none\n");
  fclose(f);
  strata_security_defaults(&s);
  cr_expect_eq(strata_security_load(&s, path, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_expect(strstr(err, "ssl.endpoint.identification.algoritm"), "%s", err);
  cr_expect_eq(strata_security_set(&s, "security.protocol", "TLS", err, sizeof err),
               STRATA_EINVALID_CONFIG);
  cr_expect_eq(strata_security_set(&s, "ssl.endpoint.identification.algorithm", "http", err,
                                   sizeof err), STRATA_EINVALID_CONFIG);
  /* a certificate without its key */
  strata_security_defaults(&s);
  s.protocol = STRATA_SECURITY_SSL;
  snprintf(s.ssl_certificate_location, sizeof s.ssl_certificate_location, "/c.pem");
  cr_expect_eq(strata_security_check(&s, err, sizeof err), STRATA_EINVALID_CONFIG);
}

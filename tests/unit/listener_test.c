/* common/listener.c: Kafka's security-protocol schemes on listener
 * addresses, parsed once for the broker, the controller and the admin port. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/errors.h"
#include "common/listener.h"

static struct listener_addr parse_ok(const char *v) {
  struct listener_addr a;
  char err[256];
  int rc = listener_parse("listeners", v, &a, err, sizeof err);
  cr_assert_eq(rc, 0, "'%s': %s", v, err);
  return a;
}

Test(listener, schemes_set_the_tls_and_sasl_flags) {
  struct listener_addr a = parse_ok("127.0.0.1:9092");
  cr_expect_eq(a.protocol, LISTENER_PLAINTEXT);
  cr_expect(!a.tls && !a.sasl);
  cr_expect_str_eq(a.host, "127.0.0.1");
  cr_expect_eq(a.port, 9092);
  a = parse_ok("PLAINTEXT://h:1");
  cr_expect(!a.tls && !a.sasl);
  a = parse_ok("SSL://broker-1.example:9093");
  cr_expect(a.tls && !a.sasl);
  cr_expect_str_eq(a.host, "broker-1.example");
  a = parse_ok("SASL_PLAINTEXT://0.0.0.0:9094");
  cr_expect(!a.tls && a.sasl);
  a = parse_ok("sasl_ssl://[::1]:9095");
  cr_expect(a.tls && a.sasl);
  cr_expect_eq(a.protocol, LISTENER_SASL_SSL);
  cr_expect_str_eq(a.host, "::1");
  cr_expect_str_eq(listener_protocol_name(a.protocol), "SASL_SSL");
  cr_expect_eq(listener_protocol_parse("Ssl"), LISTENER_SSL);
  cr_expect_eq(listener_protocol_parse("TLS"), -1);
}

Test(listener, bad_addresses_name_the_key) {
  const char *bad[] = {"TLS://h:1", "SSL://h", "SSL://:1", "h:99999", "h:", "::1:9092",
                       "SSL://[::1:9", "://h:1", "h:12x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct listener_addr a;
    char err[256] = "";
    cr_expect_eq(listener_parse("kafka.listeners", bad[i], &a, err, sizeof err),
                 STRATA_EINVALID_CONFIG, "'%s' parsed", bad[i]);
    cr_expect(strstr(err, "kafka.listeners"), "'%s': %s", bad[i], err);
  }
}

Test(listener, admin_takes_http_and_https) {
  struct listener_addr a;
  char err[256];
  cr_assert_eq(listener_parse_http("admin.listeners", "HTTPS://127.0.0.1:9644", &a, err, sizeof err), 0);
  cr_expect(a.tls);
  cr_expect_eq(a.port, 9644);
  cr_assert_eq(listener_parse_http("admin.listeners", "http://127.0.0.1:0", &a, err, sizeof err), 0);
  cr_expect(!a.tls);
  cr_assert_eq(listener_parse_http("admin.listeners", "127.0.0.1:9644", &a, err, sizeof err), 0);
  cr_expect(!a.tls);
  cr_expect_eq(listener_parse_http("admin.listeners", "SSL://127.0.0.1:9644", &a, err, sizeof err),
               STRATA_EINVALID_CONFIG);
}

#include "broker/broker_config.h"

/* The broker reads the schemes into per-listener flags the connection glue
 * (TLS) and the SASL gate read, and refuses a TLS listener without a
 * certificate. */
static int broker_cfg(const char *const *kv, struct broker_config *out, char *err, size_t n) {
  struct config *c = config_new();
  for (; *kv; kv += 2) config_set(c, kv[0], kv[1]);
  int rc = broker_config_from(c, out, err, n);
  config_free(c);
  return rc;
}

Test(listener, broker_config_exposes_the_flags_and_needs_a_certificate) {
  static struct broker_config b;
  char err[512];
  const char *plain[] = {"listeners", "SASL_PLAINTEXT://127.0.0.1:9092", "kafka.listeners",
                         "SSL://127.0.0.1:9093", "ssl.certificate.location", "/x.pem",
                         "ssl.key.location", "/x.key", "ssl.client.auth", "required",
                         "ssl.ca.location", "/ca.pem", NULL};
  cr_assert_eq(broker_cfg(plain, &b, err, sizeof err), 0, "%s", err);
  cr_expect(!b.listener_tls && b.listener_sasl);
  cr_expect(b.kafka_tls && !b.kafka_sasl);
  cr_expect_eq(b.kafka_port, 9093);
  cr_expect_eq(b.tls.client_auth, TLS_CLIENT_AUTH_REQUIRED);
  cr_expect_str_eq(b.tls.cert_file, "/x.pem");
  const char *nocert[] = {"listeners", "SSL://127.0.0.1:9092", NULL};
  cr_expect_eq(broker_cfg(nocert, &b, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_expect(strstr(err, "ssl.certificate.location"), "%s", err);
  const char *noca[] = {"ssl.client.auth", "requested", NULL};
  cr_expect_eq(broker_cfg(noca, &b, err, sizeof err), STRATA_EINVALID_CONFIG);
  const char *https[] = {"admin.listeners", "HTTPS://127.0.0.1:0", NULL};
  cr_expect_eq(broker_cfg(https, &b, err, sizeof err), STRATA_EINVALID_CONFIG, "HTTPS needs a cert");
  const char *typo[] = {"ssl.client.auth", "yes", NULL};
  cr_expect_eq(broker_cfg(typo, &b, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_expect(strstr(err, "ssl.client.auth"), "%s", err);
}

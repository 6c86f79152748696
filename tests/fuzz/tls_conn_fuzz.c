/* libFuzzer target: common/tls.c's server side fed arbitrary bytes, as a
 * client on the network could send them, in pieces of the sizes the input's
 * first bytes choose. Whatever arrives, the engine answers 0/1/an error,
 * never crashes, keeps its output bounded, and frees cleanly. A throwaway
 * certificate is made once with the openssl command. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tls.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tls_ctx *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char dir[] = "/tmp/strata-tlsfuzz.XXXXXX", cmd[512];
  if (!mkdtemp(dir)) abort();
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
           "-subj /CN=fuzz -keyout %s/k.pem -out %s/c.pem 2>/dev/null",
           dir, dir);
  if (system(cmd)) abort();
  struct tls_settings s;
  tls_settings_default(&s);
  snprintf(s.cert_file, sizeof s.cert_file, "%s/c.pem", dir);
  snprintf(s.key_file, sizeof s.key_file, "%s/k.pem", dir);
  snprintf(s.ca_file, sizeof s.ca_file, "%s/c.pem", dir);
  s.client_auth = TLS_CLIENT_AUTH_REQUESTED;
  char err[256];
  if (tls_ctx_new(TLS_ROLE_SERVER, &s, &ctx, err, sizeof err)) abort();
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct tls_conn *c = tls_conn_new(ctx, NULL);
  if (!c) return 0;
  size_t at = 0;
  unsigned char out[4096], plain[4096];
  while (at < size) {
    size_t piece = 1 + data[at] % 64;
    at++;
    if (piece > size - at) piece = size - at;
    if (tls_conn_feed(c, data + at, piece)) break;
    at += piece;
    int h = tls_conn_handshake(c);
    while (tls_conn_out_take(c, out, sizeof out) > 0) {
    }
    if (h < 0) {
      if (!tls_conn_error(c)[0]) __builtin_trap(); /* a failure always says why */
      if (tls_conn_read(c, plain, sizeof plain) >= 0) __builtin_trap();
      break;
    }
    if (h == 1) {
      ssize_t r;
      while ((r = tls_conn_read(c, plain, sizeof plain)) > 0) {
      }
      tls_conn_write(c, "x", 1);
    }
    if (tls_conn_out_pending(c) > (1u << 20)) __builtin_trap();
  }
  tls_conn_shutdown(c);
  tls_conn_free(c);
  return 0;
}

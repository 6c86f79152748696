#include "common/listener.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/errors.h"

static const char *const protocol_names[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};

const char *listener_protocol_name(enum listener_protocol p) {
  return (unsigned)p < 4 ? protocol_names[p] : "UNKNOWN";
}

int listener_protocol_parse(const char *name) {
  for (int i = 0; i < 4; i++)
    if (!strcasecmp(name, protocol_names[i])) return i;
  return -1;
}

/* host:port or [v6]:port into out; -1 when it is neither. */
static int split_hostport(const char *s, struct listener_addr *out) {
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s) return -1;
  const char *h = s;
  size_t hl = (size_t)(colon - s);
  if (*h == '[') {
    if (hl < 3 || h[hl - 1] != ']') return -1;
    h++;
    hl -= 2;
  } else if (memchr(h, ':', hl)) {
    return -1; /* a bare IPv6 address needs brackets */
  }
  if (hl == 0 || hl >= sizeof out->host) return -1;
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (!colon[1] || *end || p < 0 || p > 65535) return -1;
  memcpy(out->host, h, hl);
  out->host[hl] = 0;
  out->port = (int)p;
  return 0;
}

int listener_parse(const char *key, const char *value, struct listener_addr *out, char *err,
                   size_t err_len) {
  memset(out, 0, sizeof *out);
  const char *rest = value, *sep = strstr(value, "://");
  if (sep) {
    char scheme[32];
    size_t n = (size_t)(sep - value);
    int p = -1;
    if (n < sizeof scheme) {
      memcpy(scheme, value, n);
      scheme[n] = 0;
      p = listener_protocol_parse(scheme);
    }
    if (p < 0) {
      snprintf(err, err_len,
               "%s: unknown scheme in '%s' (PLAINTEXT://, SSL://, SASL_PLAINTEXT:// or SASL_SSL://)",
               key, value);
      return STRATA_EINVALID_CONFIG;
    }
    out->protocol = (enum listener_protocol)p;
    rest = sep + 3;
  }
  out->tls = out->protocol == LISTENER_SSL || out->protocol == LISTENER_SASL_SSL;
  out->sasl = out->protocol == LISTENER_SASL_PLAINTEXT || out->protocol == LISTENER_SASL_SSL;
  if (split_hostport(rest, out)) {
    snprintf(err, err_len, "%s: expected [SCHEME://]HOST:PORT, got '%s'", key, value);
    return STRATA_EINVALID_CONFIG;
  }
  return 0;
}

int listener_parse_http(const char *key, const char *value, struct listener_addr *out,
                        char *err, size_t err_len) {
  memset(out, 0, sizeof *out);
  const char *rest = value;
  if (!strncasecmp(value, "https://", 8)) {
    out->tls = 1;
    out->protocol = LISTENER_SSL;
    rest = value + 8;
  } else if (!strncasecmp(value, "http://", 7)) {
    rest = value + 7;
  } else if (strstr(value, "://")) {
    snprintf(err, err_len, "%s: unknown scheme in '%s' (HTTP:// or HTTPS://)", key, value);
    return STRATA_EINVALID_CONFIG;
  }
  if (split_hostport(rest, out)) {
    snprintf(err, err_len, "%s: expected [HTTP://|HTTPS://]HOST:PORT, got '%s'", key, value);
    return STRATA_EINVALID_CONFIG;
  }
  return 0;
}

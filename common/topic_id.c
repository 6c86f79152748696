#include "topic_id.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include "errors.h"

int topic_id_is_zero(const uint8_t id[TOPIC_ID_BYTES]) {
  for (int i = 0; i < TOPIC_ID_BYTES; i++)
    if (id[i]) return 0;
  return 1;
}

int topic_id_usable(const uint8_t id[TOPIC_ID_BYTES]) {
  int one = id[TOPIC_ID_BYTES - 1] == 1;
  for (int i = 0; i < TOPIC_ID_BYTES - 1 && one; i++) one = id[i] == 0;
  return !topic_id_is_zero(id) && !one && (id[0] >> 2) != 62; /* 62: '-' in base64url */
}

int topic_id_random(uint8_t id[TOPIC_ID_BYTES]) {
  for (int tries = 0; tries < 100; tries++) {
    size_t got = 0;
    while (got < TOPIC_ID_BYTES) {
      ssize_t n = getrandom(id + got, TOPIC_ID_BYTES - got, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        memset(id, 0, TOPIC_ID_BYTES);
        return STRATA_EIO;
      }
      got += (size_t)n;
    }
    if (topic_id_usable(id)) return 0;
  }
  memset(id, 0, TOPIC_ID_BYTES);
  return STRATA_EIO;
}

void topic_id_hex(const uint8_t id[TOPIC_ID_BYTES], char *out) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < TOPIC_ID_BYTES; i++) {
    out[2 * i] = hex[id[i] >> 4];
    out[2 * i + 1] = hex[id[i] & 15];
  }
  out[TOPIC_ID_HEX_LEN] = 0;
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int topic_id_parse(const char *hex, uint8_t id[TOPIC_ID_BYTES]) {
  if (!hex || strlen(hex) != TOPIC_ID_HEX_LEN) return STRATA_ECORRUPT;
  for (int i = 0; i < TOPIC_ID_BYTES; i++) {
    int h = nibble(hex[2 * i]), l = nibble(hex[2 * i + 1]);
    if (h < 0 || l < 0) return STRATA_ECORRUPT;
    id[i] = (uint8_t)(h << 4 | l);
  }
  return 0;
}

#include "random_id.h"

#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>

#include "errors.h"

int random_id_hex(char *out, size_t out_len) {
  if (out_len == 0) return STRATA_EINVALID_ARGUMENT;
  out[0] = 0;
  unsigned char r[RANDOM_ID_BYTES];
  size_t got = 0;
  while (got < sizeof r) {
    ssize_t n = getrandom(r + got, sizeof r - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return STRATA_EIO;
    got += (size_t)n;
  }
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  for (size_t i = 0; i < sizeof r && k + 2 < out_len; i++) {
    out[k++] = hex[r[i] >> 4];
    out[k++] = hex[r[i] & 15];
  }
  out[k] = 0;
  return 0;
}

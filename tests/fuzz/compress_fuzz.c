/* libFuzzer target: Kafka's four decompressors on arbitrary bytes (what a
 * produce request's compressed records can hold). The first byte picks the
 * codec, the rest is the compressed section. Whatever decodes must stay
 * within the limit and survive a round trip through the encoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/compress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIMIT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int codec = 1 + data[0] % COMPRESS_CODEC_MAX;
  uint8_t *out = NULL, *z = NULL, *back = NULL;
  size_t cap = 0, n = 0, zcap = 0, zlen = 0, bcap = 0, bn = 0;
  if (compress_decode(codec, data + 1, size - 1, LIMIT, &out, &cap, &n) == 0) {
    if (n > LIMIT) abort();
    if (compress_encode(codec, 0, out, n, &z, &zcap, 0, &zlen)) abort();
    if (compress_decode(codec, z, zlen, n, &back, &bcap, &bn)) abort();
    if (bn != n || (n && memcmp(back, out, n))) abort();
  }
  free(out);
  free(z);
  free(back);
  return 0;
}

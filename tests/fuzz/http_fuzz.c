/* libFuzzer target: the admin listener's request-head parser on arbitrary
 * bytes, whole and cut at every length a read could end at. */
#include <stddef.h>
#include <stdint.h>

#include "common/http_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct http_request r;
  long n = http_request_parse((const char *)data, size, &r);
  if (n > 0 && ((size_t)n > size || r.path_len > 1024 || r.path < (const char *)data ||
                r.path + r.path_len > (const char *)data + size))
    __builtin_trap();
  for (size_t cut = 0; cut < size && cut < 64; cut++) http_request_parse((const char *)data, cut, &r);
  return 0;
}

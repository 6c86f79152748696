/* libFuzzer target: the frame parser and header unpacking on arbitrary
 * bytes, as a broker connection sees them (several frames per buffer). */
#include <stddef.h>
#include <stdint.h>

#include "common/frame.h"
#include "common/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t off = 0;
  while (off < size) {
    struct frame f;
    size_t need;
    int rc = frame_parse(data + off, size - off, 1u << 16, &f, &need);
    if (rc <= 0) break;
    Strata__Header *h = NULL;
    if (!wire_header_unpack(f.header, f.header_len, &h)) wire_header_free(h);
    off += (size_t)rc;
  }
  return 0;
}

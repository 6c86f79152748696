/* libFuzzer target: RecordBatch v2 validation and iteration of arbitrary
 * bytes (what a produce request or a damaged segment can contain). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/batch.h"
#include "common/bytes.h"
#include "common/crc32c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct batch_scratch s = {0};
  int64_t recs;
  batch_validate_all(data, size, &s, &recs);
  /* Fix up the CRC so the record parser, not the checksum, meets the bytes. */
  if (size >= BATCH_HEADER_SIZE) {
    uint8_t *copy = malloc(size);
    memcpy(copy, data, size);
    be32_store(copy + 8, (uint32_t)(size - 12));
    be32_store(copy + 17, crc32c(0, copy + 21, size - 21));
    if (batch_validate(copy, size, &s) == 0) {
      struct batch_iter it;
      struct batch_record r;
      if (batch_iter_init(&it, copy, size, &s) == 0)
        while (batch_iter_next(&it, &r) == 1) {
        }
    }
    free(copy);
  }
  batch_scratch_free(&s);
  return 0;
}

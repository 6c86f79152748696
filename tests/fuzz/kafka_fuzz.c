/* libFuzzer target: the Kafka codec (kafka/codec.c) on arbitrary bytes.
 * Byte 0 picks the api (its key, or else an index into kafka_apis), byte 1
 * the version (bits 0-6, folded into the api's range) and the side (bit 7:
 * response); the rest is the message body. What decodes is re-encoded, and
 * that encoding must decode again, using every byte, and re-encode to the
 * same bytes (the codec is a fixed point after one round). The whole input
 * is also read as a request header. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "kafka/codec.h"
#include "kafka_msgs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct arena a;
  arena_init(&a);
  uint8_t *copy = malloc(size ? size : 1);
  if (size) memcpy(copy, data, size);
  struct kafka_req_header h;
  size_t used;
  kafka_decode_req_header(copy, size, &a, &h, &used);
  if (size < 2) goto out;

  const struct kapi *api = kafka_api(data[0]);
  if (!api) api = &kafka_apis[data[0] % kafka_napis];
  int v = data[1] & 0x7f, nv = api->vmax - api->vmin + 1;
  if (v < api->vmin || v > api->vmax) v = api->vmin + v % nv;
  const struct kstruct *s = data[1] & 0x80 ? api->resp : api->req;
  int flex = kafka_flexible(api, v);

  void *obj = arena_alloc(&a, s->size), *again = arena_alloc(&a, s->size);
  if (kafka_decode(s, v, flex, copy + 2, size - 2, &a, 1 << 20, obj, &used)) goto out;
  struct kbuf e1 = {0}, e2 = {0};
  int rc = kafka_encode(s, v, flex, obj, &e1);
  if (rc == KAFKA_ENOMEM) goto done;
  if (rc) abort(); /* what decoded must encode */
  uint8_t *c1 = malloc(e1.len ? e1.len : 1);
  if (e1.len) memcpy(c1, e1.p, e1.len);
  rc = kafka_decode(s, v, flex, c1, e1.len, &a, 1 << 22, again, &used);
  if (rc || used != e1.len) abort(); /* our own encoding must decode, whole */
  if (kafka_encode(s, v, flex, again, &e2)) abort();
  if (e2.len != e1.len || (e1.len && memcmp(e1.p, e2.p, e1.len))) abort();
  free(c1);
done:
  kbuf_free(&e1);
  kbuf_free(&e2);
out:
  free(copy);
  arena_reset(&a);
  return 0;
}

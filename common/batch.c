#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "compress.h"
#include "crc32c.h"
#include "errors.h"
#include "varint.h"

#define CRC_START 21 /* the CRC covers attributes .. end of batch */

_Static_assert(BATCH_COMPRESSION_GZIP == COMPRESS_GZIP && BATCH_COMPRESSION_SNAPPY == COMPRESS_SNAPPY &&
                   BATCH_COMPRESSION_LZ4 == COMPRESS_LZ4 && BATCH_COMPRESSION_ZSTD == COMPRESS_ZSTD &&
                   BATCH_COMPRESSION_MASK >= COMPRESS_CODEC_MAX,
               "batch attributes carry Kafka's codec numbers");

int batch_header_decode(const uint8_t *p, size_t len, struct batch_header *h) {
  if (len < BATCH_HEADER_SIZE) return STRATA_ECORRUPT;
  h->base_offset = (int64_t)be64_load(p);
  h->length = (int32_t)be32_load(p + 8);
  h->leader_epoch = (int32_t)be32_load(p + 12);
  h->magic = (int8_t)p[16];
  h->crc = be32_load(p + 17);
  h->attributes = (int16_t)be16_load(p + 21);
  h->last_offset_delta = (int32_t)be32_load(p + 23);
  h->base_timestamp = (int64_t)be64_load(p + 27);
  h->max_timestamp = (int64_t)be64_load(p + 35);
  h->producer_id = (int64_t)be64_load(p + 43);
  h->producer_epoch = (int16_t)be16_load(p + 51);
  h->base_sequence = (int32_t)be32_load(p + 53);
  h->record_count = (int32_t)be32_load(p + 57);
  if (h->magic != BATCH_MAGIC) return STRATA_ECORRUPT;
  if (h->length < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD) return STRATA_ECORRUPT;
  if (batch_total_size(h) > BATCH_SIZE_MAX) return STRATA_ETOO_LARGE;
  if (h->record_count < 0 || (uint32_t)h->record_count > BATCH_RECORDS_MAX ||
      h->last_offset_delta < 0)
    return STRATA_EINVALID_RECORD;
  return 0;
}

int batch_check_crc(const uint8_t *p, size_t len) {
  if (len < BATCH_HEADER_SIZE) return STRATA_ECORRUPT;
  uint32_t want = be32_load(p + 17);
  return crc32c(0, p + CRC_START, len - CRC_START) == want ? 0 : STRATA_ECORRUPT;
}

void batch_scratch_free(struct batch_scratch *s) {
  free(s->buf);
  s->buf = NULL;
  s->cap = 0;
}

void batch_set_base_offset(uint8_t *p, int64_t base_offset) {
  be64_store(p, (uint64_t)base_offset);
}

void batch_set_leader_epoch(uint8_t *p, int32_t epoch) {
  be32_store(p + 12, (uint32_t)epoch);
}

void batch_set_log_append_time(uint8_t *p, size_t len, int64_t ts) {
  uint16_t attr = be16_load(p + 21) | BATCH_TIMESTAMP_LOG_APPEND;
  be16_store(p + 21, attr);
  be64_store(p + 35, (uint64_t)ts);
  be32_store(p + 17, crc32c(0, p + CRC_START, len - CRC_START));
}

int32_t batch_last_sequence(const struct batch_header *h) {
  int64_t last = (int64_t)h->base_sequence + h->last_offset_delta;
  if (last > INT32_MAX) last -= (int64_t)INT32_MAX + 1;
  return (int32_t)last;
}

void batch_set_producer(uint8_t *p, size_t len, int64_t producer_id, int16_t epoch,
                        int32_t base_sequence) {
  be64_store(p + 43, (uint64_t)producer_id);
  be16_store(p + 51, (uint16_t)epoch);
  be32_store(p + 53, (uint32_t)base_sequence);
  be32_store(p + 17, crc32c(0, p + CRC_START, len - CRC_START));
}

/* ---- record iteration ---- */

int batch_iter_init(struct batch_iter *it, const uint8_t *p, size_t len,
                    struct batch_scratch *scratch) {
  memset(it, 0, sizeof *it);
  int rc = batch_header_decode(p, len, &it->h);
  if (rc) return rc;
  if (batch_total_size(&it->h) != len) return STRATA_ECORRUPT;
  if ((rc = batch_check_crc(p, len))) return rc;
  it->scratch = scratch;
  int codec = it->h.attributes & BATCH_COMPRESSION_MASK;
  if (codec == BATCH_COMPRESSION_NONE) {
    it->p = p + BATCH_HEADER_SIZE;
    it->end = p + len;
  } else if (codec <= COMPRESS_CODEC_MAX) {
    if (!scratch) return STRATA_EINVALID_ARGUMENT;
    size_t out = 0;
    rc = compress_decode(codec, p + BATCH_HEADER_SIZE, len - BATCH_HEADER_SIZE,
                         BATCH_DECOMPRESSED_MAX, &scratch->buf, &scratch->cap, &out);
    if (rc) return rc;
    it->p = scratch->buf;
    it->end = scratch->buf + out;
  } else {
    return STRATA_ECORRUPT; /* attributes name no codec Kafka has */
  }
  return 0;
}

/* A length-prefixed byte string: -1 is null, anything else must fit. */
static int read_bytes(const uint8_t **p, const uint8_t *end,
                      const uint8_t **out, int32_t *out_len) {
  int32_t n;
  size_t k = varint_decode(*p, (size_t)(end - *p), &n);
  if (!k) return STRATA_EINVALID_RECORD;
  *p += k;
  if (n < -1 || (n > 0 && (size_t)n > (size_t)(end - *p)))
    return STRATA_EINVALID_RECORD;
  *out_len = n;
  *out = n < 0 ? NULL : *p;
  if (n > 0) *p += n;
  return 0;
}

int batch_iter_next(struct batch_iter *it, struct batch_record *r) {
  if (it->index >= it->h.record_count) {
    return it->p == it->end ? 0 : STRATA_EINVALID_RECORD;
  }
  const uint8_t *p = it->p, *end = it->end;
  int32_t rec_len;
  size_t k = varint_decode(p, (size_t)(end - p), &rec_len);
  if (!k) return STRATA_EINVALID_RECORD;
  p += k;
  if (rec_len < 1 || (size_t)rec_len > (size_t)(end - p))
    return STRATA_EINVALID_RECORD;
  const uint8_t *rend = p + rec_len;
  p++; /* record attributes: unused */
  int64_t ts_delta;
  int32_t off_delta;
  if (!(k = varlong_decode(p, (size_t)(rend - p), &ts_delta)))
    return STRATA_EINVALID_RECORD;
  p += k;
  if (!(k = varint_decode(p, (size_t)(rend - p), &off_delta)))
    return STRATA_EINVALID_RECORD;
  p += k;
  if (off_delta != it->index) return STRATA_EINVALID_RECORD;
  int rc;
  if ((rc = read_bytes(&p, rend, &r->key, &r->key_len))) return rc;
  if ((rc = read_bytes(&p, rend, &r->value, &r->value_len))) return rc;
  int32_t hcount;
  if (!(k = varint_decode(p, (size_t)(rend - p), &hcount)))
    return STRATA_EINVALID_RECORD;
  p += k;
  if (hcount < 0 || hcount > RECORD_HEADERS_MAX) return STRATA_EINVALID_RECORD;
  for (int32_t i = 0; i < hcount; i++) {
    const uint8_t *hk, *hv;
    int32_t hkl, hvl;
    if ((rc = read_bytes(&p, rend, &hk, &hkl))) return rc;
    if (hkl < 0) return STRATA_EINVALID_RECORD;
    if ((rc = read_bytes(&p, rend, &hv, &hvl))) return rc;
    r->headers[i].key = (const char *)hk;
    r->headers[i].key_len = (size_t)hkl;
    r->headers[i].value = hv;
    r->headers[i].value_len = hvl < 0 ? 0 : (size_t)hvl;
  }
  if (p != rend) return STRATA_EINVALID_RECORD;
  r->header_count = (uint32_t)hcount;
  r->offset = it->h.base_offset + it->index;
  if (it->h.attributes & BATCH_TIMESTAMP_LOG_APPEND)
    r->timestamp = it->h.max_timestamp;
  else
    r->timestamp = it->h.base_timestamp + ts_delta;
  it->p = rend;
  it->index++;
  return 1;
}

int batch_validate(const uint8_t *p, size_t len, struct batch_scratch *scratch) {
  struct batch_scratch tmp = {0};
  struct batch_iter it;
  int rc = batch_iter_init(&it, p, len, scratch ? scratch : &tmp);
  if (rc) goto out;
  if (it.h.record_count == 0 || it.h.last_offset_delta != it.h.record_count - 1) {
    rc = STRATA_EINVALID_RECORD;
    goto out;
  }
  struct batch_record *r = malloc(sizeof *r);
  if (!r) {
    rc = STRATA_ENOMEM;
    goto out;
  }
  while ((rc = batch_iter_next(&it, r)) == 1) {
  }
  free(r);
  if (rc == 0 && it.index != it.h.record_count) rc = STRATA_EINVALID_RECORD;
out:
  batch_scratch_free(&tmp);
  return rc;
}

int batch_validate_all(const uint8_t *p, size_t len, struct batch_scratch *s,
                       int64_t *records) {
  int n = 0;
  int64_t total = 0;
  while (len > 0) {
    struct batch_header h;
    int rc = batch_header_decode(p, len, &h);
    if (rc) return rc;
    size_t sz = batch_total_size(&h);
    if (sz > len) return STRATA_ECORRUPT;
    if ((rc = batch_validate(p, sz, s))) return rc;
    total += h.record_count;
    n++;
    p += sz;
    len -= sz;
  }
  if (n == 0) return STRATA_EINVALID_RECORD;
  if (records) *records = total;
  return n;
}

/* ---- building ---- */

void batch_builder_init(struct batch_builder *b) {
  memset(b, 0, sizeof *b);
  b->producer_id = BATCH_NO_PRODUCER_ID;
  b->producer_epoch = -1;
  b->base_sequence = BATCH_NO_SEQUENCE;
  b->len = BATCH_HEADER_SIZE;
}

void batch_builder_free(struct batch_builder *b) {
  free(b->buf);
  free(b->out);
  memset(b, 0, sizeof *b);
}

void batch_builder_reset(struct batch_builder *b) {
  b->len = BATCH_HEADER_SIZE;
  b->count = 0;
  b->base_timestamp = b->max_timestamp = 0;
}

static int reserve(struct batch_builder *b, size_t more) {
  size_t want = b->len + more;
  if (want <= b->cap) return 0;
  size_t n = b->cap ? b->cap : 1024;
  while (n < want) n *= 2;
  uint8_t *p = realloc(b->buf, n);
  if (!p) return STRATA_ENOMEM;
  b->buf = p;
  b->cap = n;
  return 0;
}

static size_t put_bytes(uint8_t *p, const void *data, size_t len, int null) {
  if (null) return varint_encode(p, -1);
  size_t k = varint_encode(p, (int32_t)len);
  if (len) memcpy(p + k, data, len);
  return k + len;
}

static size_t bytes_size(size_t len, int null) {
  return null ? 1 : varint_size((int32_t)len) + len;
}

int batch_builder_add(struct batch_builder *b, int64_t ts, const void *key,
                      size_t key_len, const void *value, size_t value_len,
                      const struct record_header *headers,
                      size_t header_count) {
  if (header_count > RECORD_HEADERS_MAX) return STRATA_EINVALID_RECORD;
  if (key_len > BATCH_SIZE_MAX || value_len > BATCH_SIZE_MAX)
    return STRATA_ETOO_LARGE;
  if (b->count == 0) b->base_timestamp = b->max_timestamp = ts;
  if (ts > b->max_timestamp) b->max_timestamp = ts;
  int64_t ts_delta = ts - b->base_timestamp;
  size_t body = 1 + varlong_size(ts_delta) + varint_size(b->count) +
                bytes_size(key_len, !key) + bytes_size(value_len, !value) +
                varint_size((int32_t)header_count);
  for (size_t i = 0; i < header_count; i++)
    body += bytes_size(headers[i].key_len, 0) +
            bytes_size(headers[i].value_len, !headers[i].value);
  size_t total = varint_size((int32_t)body) + body;
  if (b->len + total > BATCH_SIZE_MAX) return STRATA_ETOO_LARGE;
  if (reserve(b, total)) return STRATA_ENOMEM;
  uint8_t *p = b->buf + b->len;
  p += varint_encode(p, (int32_t)body);
  *p++ = 0;
  p += varlong_encode(p, ts_delta);
  p += varint_encode(p, b->count);
  p += put_bytes(p, key, key_len, !key);
  p += put_bytes(p, value, value_len, !value);
  p += varint_encode(p, (int32_t)header_count);
  for (size_t i = 0; i < header_count; i++) {
    p += put_bytes(p, headers[i].key, headers[i].key_len, 0);
    p += put_bytes(p, headers[i].value, headers[i].value_len, !headers[i].value);
  }
  b->len += total;
  b->count++;
  return 0;
}

size_t batch_builder_size(const struct batch_builder *b) { return b->len; }

size_t batch_builder_capacity(const struct batch_builder *b) { return b->cap; }

static void write_header(uint8_t *h, const struct batch_builder *b,
                         size_t total, int16_t attributes, int crc) {
  be64_store(h, 0);
  be32_store(h + 8, (uint32_t)(total - BATCH_LOG_OVERHEAD));
  be32_store(h + 12, (uint32_t)-1);
  h[16] = BATCH_MAGIC;
  be16_store(h + 21, (uint16_t)attributes);
  be32_store(h + 23, (uint32_t)(b->count - 1));
  be64_store(h + 27, (uint64_t)b->base_timestamp);
  be64_store(h + 35, (uint64_t)b->max_timestamp);
  be64_store(h + 43, (uint64_t)b->producer_id);
  be16_store(h + 51, (uint16_t)b->producer_epoch);
  be32_store(h + 53, (uint32_t)b->base_sequence);
  be32_store(h + 57, (uint32_t)b->count);
  be32_store(h + 17, crc ? crc32c(0, h + CRC_START, total - CRC_START) : 0);
}

static int finish(struct batch_builder *b, int compression, int level, const uint8_t **out,
                  size_t *out_len, int crc) {
  if (b->count == 0) return STRATA_EINVALID_ARGUMENT;
  if (reserve(b, 0)) return STRATA_ENOMEM;
  if (compression == BATCH_COMPRESSION_NONE) {
    write_header(b->buf, b, b->len, 0, crc);
    *out = b->buf;
    *out_len = b->len;
    return 0;
  }
  if (!compress_name(compression)) return STRATA_EUNSUPPORTED_COMPRESSION;
  /* Compress into out[61..], then put the header in front. */
  size_t clen = 0;
  int rc = compress_encode(compression, level, b->buf + BATCH_HEADER_SIZE,
                           b->len - BATCH_HEADER_SIZE, &b->out, &b->out_cap,
                           BATCH_HEADER_SIZE, &clen);
  if (rc) return rc;
  size_t total = BATCH_HEADER_SIZE + clen;
  write_header(b->out, b, total, (int16_t)compression, crc);
  *out = b->out;
  *out_len = total;
  return 0;
}

int batch_builder_finish(struct batch_builder *b, int compression, int level,
                         const uint8_t **out, size_t *out_len) {
  return finish(b, compression, level, out, out_len, 1);
}

int batch_builder_finish_unsealed(struct batch_builder *b, int compression, int level,
                                  const uint8_t **out, size_t *out_len) {
  return finish(b, compression, level, out, out_len, 0);
}

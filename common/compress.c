#include "compress.h"

#include <stdlib.h>
#include <string.h>

#include "compress_impl.h"
#include "errors.h"

static const char *const names[COMPRESS_CODEC_MAX + 1] = {"none", "gzip", "snappy", "lz4",
                                                          "zstd"};

const char *compress_name(int codec) {
  return codec >= 0 && codec <= COMPRESS_CODEC_MAX ? names[codec] : NULL;
}

int compress_parse(const char *name, int *codec) {
  for (int i = 0; i <= COMPRESS_CODEC_MAX; i++)
    if (!strcmp(name, names[i])) {
      *codec = i;
      return 0;
    }
  return STRATA_EINVALID_ARGUMENT;
}

int compress_grow(uint8_t **buf, size_t *cap, size_t want) {
  if (*cap >= want) return 0;
  size_t n = *cap ? *cap : 4096;
  while (n < want) n *= 2;
  uint8_t *p = realloc(*buf, n);
  if (!p) return STRATA_ENOMEM;
  *buf = p;
  *cap = n;
  return 0;
}

void compress_sink_init(struct compress_sink *s, uint8_t **buf, size_t *cap, size_t limit) {
  s->buf = buf;
  s->cap = cap;
  s->len = 0;
  s->limit = limit;
}

int compress_sink_reserve(struct compress_sink *s, size_t want) {
  size_t room = s->limit - s->len;
  if (want > room) want = room;
  size_t need = s->len + want;
  if (need == 0) need = 1; /* a buffer exists, even for empty output */
  if (*s->cap >= need && *s->buf) return 0;
  /* Double (amortized copies), but never past the limit. */
  size_t n = *s->cap * 2;
  if (n < 4096) n = 4096;
  if (n < need) n = need;
  if (n > s->limit && s->limit >= need) n = s->limit;
  uint8_t *p = realloc(*s->buf, n);
  if (!p) return STRATA_ENOMEM;
  *s->buf = p;
  *s->cap = n;
  return 0;
}

int compress_sink_room(struct compress_sink *s, uint8_t **p, size_t *n) {
  if (s->len >= s->limit) {
    *p = s->probe;
    *n = sizeof s->probe;
    return 0;
  }
  if (*s->cap <= s->len || !*s->buf) {
    int rc = compress_sink_reserve(s, *s->cap ? *s->cap : 4096);
    if (rc) return rc;
  }
  size_t end = *s->cap < s->limit ? *s->cap : s->limit;
  *p = *s->buf + s->len;
  *n = end - s->len;
  return 0;
}

int compress_sink_wrote(struct compress_sink *s, const uint8_t *p, size_t n) {
  if (p == s->probe) return n ? STRATA_ETOO_LARGE : 0;
  s->len += n;
  return 0;
}

int compress_sink_take(struct compress_sink *s, size_t n, uint8_t **p) {
  if (n > s->limit - s->len) return STRATA_ETOO_LARGE;
  int rc = compress_sink_reserve(s, n);
  if (rc) return rc;
  *p = *s->buf + s->len;
  s->len += n;
  return 0;
}

int compress_encode(int codec, int level, const uint8_t *src, size_t len,
                    uint8_t **dst, size_t *cap, size_t at, size_t *out_len) {
  switch (codec) {
  case COMPRESS_GZIP: return compress_gzip_encode(level, src, len, dst, cap, at, out_len);
  case COMPRESS_SNAPPY: return compress_snappy_encode(src, len, dst, cap, at, out_len);
  case COMPRESS_LZ4: return compress_lz4_encode(level, src, len, dst, cap, at, out_len);
  case COMPRESS_ZSTD: return compress_zstd_encode(level, src, len, dst, cap, at, out_len);
  default: return STRATA_EUNSUPPORTED_COMPRESSION;
  }
}

int compress_decode(int codec, const uint8_t *src, size_t len, size_t limit,
                    uint8_t **dst, size_t *cap, size_t *out_len) {
  struct compress_sink s;
  compress_sink_init(&s, dst, cap, limit);
  int rc;
  switch (codec) {
  case COMPRESS_GZIP: rc = compress_gzip_decode(src, len, &s); break;
  case COMPRESS_SNAPPY: rc = compress_snappy_decode(src, len, &s); break;
  case COMPRESS_LZ4: rc = compress_lz4_decode(src, len, &s); break;
  case COMPRESS_ZSTD: rc = compress_zstd_decode(src, len, &s); break;
  default: return STRATA_EUNSUPPORTED_COMPRESSION;
  }
  if (rc) return rc;
  /* Callers point into the buffer even for empty output. */
  if ((rc = compress_sink_reserve(&s, 0))) return rc;
  *out_len = s.len;
  return 0;
}

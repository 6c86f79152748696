/* The table-driven Kafka codec (see codec.h). One walk over a struct's
 * descriptor decodes or encodes any version; the flexible encoding differs
 * only in how lengths are written and in the tagged-field section that ends
 * every struct. */
#include "kafka/codec.h"

#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "kafka_msgs.h"

/* ---- reading ---- */

struct reader {
  uint8_t *p, *end;
};

struct dctx {
  struct arena *a;
  size_t budget, used;
  int version, flex;
};

static size_t left(const struct reader *r) { return (size_t)(r->end - r->p); }

static void *dalloc(struct dctx *c, size_t n) {
  if (n > c->budget - c->used) return NULL;
  c->used += n;
  return arena_alloc(c->a, n ? n : 1);
}

static int rd(struct reader *r, void *out, size_t n) {
  if (left(r) < n) return KAFKA_ETRUNCATED;
  memcpy(out, r->p, n);
  r->p += n;
  return 0;
}

static int rd_u16(struct reader *r, uint16_t *v) {
  if (left(r) < 2) return KAFKA_ETRUNCATED;
  *v = be16_load(r->p);
  r->p += 2;
  return 0;
}

static int rd_u32(struct reader *r, uint32_t *v) {
  if (left(r) < 4) return KAFKA_ETRUNCATED;
  *v = be32_load(r->p);
  r->p += 4;
  return 0;
}

static int rd_u64(struct reader *r, uint64_t *v) {
  if (left(r) < 8) return KAFKA_ETRUNCATED;
  *v = be64_load(r->p);
  r->p += 8;
  return 0;
}

/* An unsigned varint of at most 32 bits (5 bytes), as lengths and tags are. */
static int rd_uvarint(struct reader *r, uint32_t *v) {
  uint64_t x = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!left(r)) return KAFKA_ETRUNCATED;
    uint8_t b = *r->p++;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      if (x > UINT32_MAX) return KAFKA_EINVALID;
      *v = (uint32_t)x;
      return 0;
    }
  }
  return KAFKA_EINVALID;
}

static int in_range(int v, int lo, int hi) { return v >= lo && v <= hi; }

/* A length that may say null: compact (n+1, 0 null) or fixed-width signed
 * (-1 null). *len = -1 for null. */
static int rd_len(struct dctx *c, struct reader *r, int wide, int32_t *len) {
  if (c->flex) {
    uint32_t n;
    int rc = rd_uvarint(r, &n);
    if (rc) return rc;
    if (n > INT32_MAX) return KAFKA_EINVALID;
    *len = (int32_t)n - 1;
    return 0;
  }
  if (wide) {
    uint32_t n;
    int rc = rd_u32(r, &n);
    if (rc) return rc;
    *len = (int32_t)n;
  } else {
    uint16_t n;
    int rc = rd_u16(r, &n);
    if (rc) return rc;
    *len = (int16_t)n;
  }
  if (*len < -1) return KAFKA_EINVALID;
  return 0;
}

static int decode_struct(struct dctx *c, struct reader *r, const struct kstruct *s, void *obj);

static int decode_value(struct dctx *c, struct reader *r, const struct kfield *f, void *dst,
                        int nullable) {
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  int32_t len;
  int rc = 0;
  switch (f->kind) {
  case KF_BOOL: {
    uint8_t b;
    if ((rc = rd(r, &b, 1))) return rc;
    *(bool *)dst = b != 0;
    return 0;
  }
  case KF_INT8: return rd(r, dst, 1);
  case KF_INT16:
  case KF_UINT16:
    if ((rc = rd_u16(r, &u16))) return rc;
    memcpy(dst, &u16, 2);
    return 0;
  case KF_INT32:
  case KF_UINT32:
    if ((rc = rd_u32(r, &u32))) return rc;
    memcpy(dst, &u32, 4);
    return 0;
  case KF_INT64:
  case KF_FLOAT64:
    if ((rc = rd_u64(r, &u64))) return rc;
    memcpy(dst, &u64, 8);
    return 0;
  case KF_UUID: return rd(r, dst, 16);
  case KF_STRING: {
    if ((rc = rd_len(c, r, 0, &len))) return rc;
    if (len < 0) {
      if (!nullable) return KAFKA_EINVALID;
      *(const char **)dst = NULL;
      return 0;
    }
    /* at most 32767 bytes, compact strings too, as Kafka's readers check
     * (and our encoder writes no longer one) */
    if (len > INT16_MAX) return KAFKA_EINVALID;
    if ((size_t)len > left(r)) return KAFKA_ETRUNCATED;
    if (memchr(r->p, 0, (size_t)len)) return KAFKA_EINVALID;
    char *s = dalloc(c, (size_t)len + 1);
    if (!s) return KAFKA_EBUDGET;
    memcpy(s, r->p, (size_t)len);
    s[len] = 0;
    r->p += len;
    *(const char **)dst = s;
    return 0;
  }
  case KF_BYTES:
  case KF_RECORDS: {
    if ((rc = rd_len(c, r, 1, &len))) return rc;
    struct kbytes *b = dst;
    if (len < 0) {
      if (!nullable) return KAFKA_EINVALID;
      b->p = NULL, b->len = -1;
      return 0;
    }
    if ((size_t)len > left(r)) return KAFKA_ETRUNCATED;
    b->p = r->p, b->len = len;
    r->p += len;
    return 0;
  }
  case KF_STRUCT: {
    void **slot = dst;
    if (nullable) {
      int8_t mark;
      if ((rc = rd(r, &mark, 1))) return rc;
      if (mark < 0) {
        *slot = NULL;
        return 0;
      }
    }
    void *o = dalloc(c, f->sub->size);
    if (!o) return KAFKA_EBUDGET;
    *slot = o;
    return decode_struct(c, r, f->sub, o);
  }
  }
  return KAFKA_EINVALID;
}

static size_t elem_size(const struct kfield *f) {
  switch (f->kind) {
  case KF_BOOL: return sizeof(bool);
  case KF_INT8: return 1;
  case KF_INT16: case KF_UINT16: return 2;
  case KF_INT32: case KF_UINT32: return 4;
  case KF_INT64: case KF_FLOAT64: return 8;
  case KF_UUID: return 16;
  case KF_STRING: return sizeof(const char *);
  case KF_BYTES: case KF_RECORDS: return sizeof(struct kbytes);
  case KF_STRUCT: return f->sub->size;
  }
  return 1;
}

static int decode_field(struct dctx *c, struct reader *r, const struct kfield *f, void *obj) {
  int nullable = in_range(c->version, f->nmin, f->nmax);
  void *dst = (char *)obj + f->off;
  if (!f->array) {
    if (f->kind == KF_STRUCT && !nullable) {
      /* a non-nullable single struct: always present on the wire */
      void *o = dalloc(c, f->sub->size);
      if (!o) return KAFKA_EBUDGET;
      *(void **)dst = o;
      return decode_struct(c, r, f->sub, o);
    }
    return decode_value(c, r, f, dst, nullable);
  }
  int32_t n;
  int rc = rd_len(c, r, 1, &n);
  if (rc) return rc;
  int32_t *count = (int32_t *)((char *)obj + f->count_off);
  if (n < 0) {
    if (!nullable) return KAFKA_EINVALID;
    *count = -1;
    *(void **)dst = NULL;
    return 0;
  }
  /* Every element takes at least one byte on the wire (a struct with no
   * field in this version aside), so a count past the bytes left is a lie. */
  if ((size_t)n > left(r)) return KAFKA_ETRUNCATED;
  size_t es = elem_size(f);
  void *arr = dalloc(c, (size_t)n * es);
  if (!arr) return KAFKA_EBUDGET;
  *(void **)dst = arr;
  *count = n;
  for (int32_t i = 0; i < n; i++) {
    void *e = (char *)arr + (size_t)i * es;
    if (f->kind == KF_STRUCT) {
      kafka_defaults(f->sub, e);
      rc = decode_struct(c, r, f->sub, e);
    } else {
      rc = decode_value(c, r, f, e, 0);
    }
    if (rc) return rc;
  }
  return 0;
}

static int decode_tagged(struct dctx *c, struct reader *r, const struct kstruct *s, void *obj) {
  uint32_t n;
  int rc = rd_uvarint(r, &n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t tag, size;
    if ((rc = rd_uvarint(r, &tag)) || (rc = rd_uvarint(r, &size))) return rc;
    if (size > left(r)) return KAFKA_ETRUNCATED;
    struct reader sub = {r->p, r->p + size};
    r->p += size;
    for (int k = 0; k < s->nfields; k++) {
      const struct kfield *f = &s->fields[k];
      if (f->tag < 0 || (uint32_t)f->tag != tag || !in_range(c->version, f->vmin, f->vmax))
        continue;
      if ((rc = decode_field(c, &sub, f, obj))) return rc;
      break;
    }
  }
  return 0;
}

static int decode_struct(struct dctx *c, struct reader *r, const struct kstruct *s, void *obj) {
  kafka_defaults(s, obj);
  for (int k = 0; k < s->nfields; k++) {
    const struct kfield *f = &s->fields[k];
    if (f->tag >= 0 || !in_range(c->version, f->vmin, f->vmax)) continue;
    int rc = decode_field(c, r, f, obj);
    if (rc) return rc;
  }
  return c->flex ? decode_tagged(c, r, s, obj) : 0;
}

int kafka_decode(const struct kstruct *s, int version, int flexible, uint8_t *buf, size_t len,
                 struct arena *a, size_t budget, void *out, size_t *used) {
  struct dctx c = {a, budget, 0, version, flexible};
  struct reader r = {buf, buf + len};
  int rc = decode_struct(&c, &r, s, out);
  if (rc == 0 && c.used > budget) rc = KAFKA_EBUDGET;
  if (used) *used = (size_t)(r.p - buf);
  return rc;
}

void kafka_defaults(const struct kstruct *s, void *obj) {
  memset(obj, 0, s->size);
  for (int k = 0; k < s->nfields; k++) {
    const struct kfield *f = &s->fields[k];
    char *dst = (char *)obj + f->off;
    if (f->array) {
      *(int32_t *)((char *)obj + f->count_off) = f->def_null ? -1 : 0;
      continue;
    }
    switch (f->kind) {
    case KF_BOOL: *(bool *)dst = f->def != 0; break;
    case KF_INT8: *(int8_t *)dst = (int8_t)f->def; break;
    case KF_INT16: *(int16_t *)dst = (int16_t)f->def; break;
    case KF_UINT16: *(uint16_t *)dst = (uint16_t)f->def; break;
    case KF_INT32: *(int32_t *)dst = (int32_t)f->def; break;
    case KF_UINT32: *(uint32_t *)dst = (uint32_t)f->def; break;
    case KF_INT64: *(int64_t *)dst = (int64_t)f->def; break;
    case KF_FLOAT64: *(double *)dst = (double)f->def; break;
    case KF_STRING: *(const char **)dst = f->def_null ? NULL : ""; break;
    case KF_BYTES:
    case KF_RECORDS: ((struct kbytes *)dst)->len = f->def_null ? -1 : 0; break;
    default: break; /* uuid zero, struct pointer NULL */
    }
  }
}

/* ---- writing ---- */

void kbuf_free(struct kbuf *b) {
  free(b->p);
  free(b->refs);
  memset(b, 0, sizeof *b);
}

static void kbuf_ref(struct kbuf *b, const uint8_t *p, size_t n) {
  if (b->oom) return;
  if (b->nrefs == b->refs_cap) {
    size_t cap = b->refs_cap ? b->refs_cap * 2 : 16;
    struct kbuf_ref *r = realloc(b->refs, cap * sizeof *r);
    if (!r) {
      b->oom = 1;
      return;
    }
    b->refs = r, b->refs_cap = cap;
  }
  b->refs[b->nrefs++] = (struct kbuf_ref){b->len, p, n};
  b->ref_bytes += n;
}

void kbuf_put(struct kbuf *b, const void *data, size_t n) {
  if (b->oom || !n) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p, b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
}

void kbuf_be16(struct kbuf *b, uint16_t v) {
  uint8_t x[2];
  be16_store(x, v);
  kbuf_put(b, x, 2);
}

void kbuf_be32(struct kbuf *b, uint32_t v) {
  uint8_t x[4];
  be32_store(x, v);
  kbuf_put(b, x, 4);
}

static void kbuf_be64(struct kbuf *b, uint64_t v) {
  uint8_t x[8];
  be64_store(x, v);
  kbuf_put(b, x, 8);
}

void kbuf_uvarint(struct kbuf *b, uint64_t v) {
  uint8_t x[10];
  size_t n = 0;
  while (v >= 0x80) {
    x[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  x[n++] = (uint8_t)v;
  kbuf_put(b, x, n);
}

struct ectx {
  int version, flex;
};

/* A length, or null as -1: compact (n+1) when flexible, else 16 or 32 bits. */
static void wr_len(const struct ectx *c, struct kbuf *b, int wide, int32_t len) {
  if (c->flex) kbuf_uvarint(b, (uint64_t)((int64_t)len + 1));
  else if (wide) kbuf_be32(b, (uint32_t)len);
  else kbuf_be16(b, (uint16_t)(int16_t)len);
}

static int encode_struct(const struct ectx *c, const struct kstruct *s, const void *obj,
                         struct kbuf *b);

static int encode_value(const struct ectx *c, const struct kfield *f, const void *src,
                        int nullable, struct kbuf *b) {
  switch (f->kind) {
  case KF_BOOL: {
    uint8_t v = *(const bool *)src ? 1 : 0;
    kbuf_put(b, &v, 1);
    return 0;
  }
  case KF_INT8: kbuf_put(b, src, 1); return 0;
  case KF_INT16:
  case KF_UINT16: {
    uint16_t v;
    memcpy(&v, src, 2);
    kbuf_be16(b, v);
    return 0;
  }
  case KF_INT32:
  case KF_UINT32: {
    uint32_t v;
    memcpy(&v, src, 4);
    kbuf_be32(b, v);
    return 0;
  }
  case KF_INT64:
  case KF_FLOAT64: {
    uint64_t v;
    memcpy(&v, src, 8);
    kbuf_be64(b, v);
    return 0;
  }
  case KF_UUID: kbuf_put(b, src, 16); return 0;
  case KF_STRING: {
    const char *s = *(const char *const *)src;
    if (!s) {
      if (!nullable) return KAFKA_EINVALID;
      wr_len(c, b, 0, -1);
      return 0;
    }
    size_t n = strlen(s);
    if (n > INT16_MAX) return KAFKA_EINVALID;
    wr_len(c, b, 0, (int32_t)n);
    kbuf_put(b, s, n);
    return 0;
  }
  case KF_BYTES:
  case KF_RECORDS: {
    const struct kbytes *x = src;
    if (x->len < 0) {
      if (!nullable) return KAFKA_EINVALID;
      wr_len(c, b, 1, -1);
      return 0;
    }
    wr_len(c, b, 1, x->len);
    if (f->kind == KF_RECORDS && b->ref_min && (size_t)x->len >= b->ref_min)
      kbuf_ref(b, x->p, (size_t)x->len);
    else
      kbuf_put(b, x->p, (size_t)x->len);
    return 0;
  }
  case KF_STRUCT: {
    const void *o = *(const void *const *)src;
    if (nullable) {
      int8_t mark = o ? 1 : -1;
      kbuf_put(b, &mark, 1);
      if (!o) return 0;
    }
    return encode_struct(c, f->sub, o, b);
  }
  }
  return KAFKA_EINVALID;
}

static int encode_field(const struct ectx *c, const struct kfield *f, const void *obj,
                        struct kbuf *b) {
  int nullable = in_range(c->version, f->nmin, f->nmax);
  const void *src = (const char *)obj + f->off;
  if (!f->array) return encode_value(c, f, src, nullable, b);
  int32_t n = *(const int32_t *)((const char *)obj + f->count_off);
  const char *arr = *(const char *const *)src;
  if (n < 0) {
    if (!nullable) n = 0; /* an absent array is an empty one */
    else {
      wr_len(c, b, 1, -1);
      return 0;
    }
  }
  wr_len(c, b, 1, n);
  size_t es = elem_size(f);
  for (int32_t i = 0; i < n; i++) {
    const void *e = arr + (size_t)i * es;
    int rc = f->kind == KF_STRUCT ? encode_struct(c, f->sub, e, b)
                                  : encode_value(c, f, e, 0, b);
    if (rc) return rc;
  }
  return 0;
}

/* Whether a tagged field holds something other than its default (only those
 * are written). */
static int tagged_set(const struct kfield *f, const void *obj) {
  const char *src = (const char *)obj + f->off;
  if (f->array) {
    int32_t n = *(const int32_t *)((const char *)obj + f->count_off);
    return f->def_null ? n != -1 : n > 0;
  }
  switch (f->kind) {
  case KF_BOOL: return *(const bool *)src != (f->def != 0);
  case KF_INT8: return *(const int8_t *)src != f->def;
  case KF_INT16: return *(const int16_t *)src != f->def;
  case KF_UINT16: return *(const uint16_t *)src != f->def;
  case KF_INT32: return *(const int32_t *)src != f->def;
  case KF_UINT32: return *(const uint32_t *)src != f->def;
  case KF_INT64: return *(const int64_t *)src != f->def;
  case KF_FLOAT64: return *(const double *)src != (double)f->def;
  case KF_UUID: {
    static const uint8_t zero[16];
    return memcmp(src, zero, 16) != 0;
  }
  case KF_STRING: {
    const char *s = *(const char *const *)src;
    return f->def_null ? s != NULL : (s && *s);
  }
  case KF_BYTES:
  case KF_RECORDS: {
    const struct kbytes *x = (const struct kbytes *)src;
    return f->def_null ? x->len >= 0 : x->len > 0;
  }
  case KF_STRUCT: return *(const void *const *)src != NULL;
  }
  return 0;
}

static int encode_struct(const struct ectx *c, const struct kstruct *s, const void *obj,
                         struct kbuf *b) {
  void *tmp = NULL;
  int rc = 0;
  if (!obj) { /* NULL stands for "all defaults" */
    tmp = malloc(s->size ? s->size : 1);
    if (!tmp) return KAFKA_ENOMEM;
    kafka_defaults(s, tmp);
    obj = tmp;
  }
  for (int k = 0; k < s->nfields && !rc; k++) {
    const struct kfield *f = &s->fields[k];
    if (f->tag >= 0 || !in_range(c->version, f->vmin, f->vmax)) continue;
    rc = encode_field(c, f, obj, b);
  }
  if (!rc && c->flex) {
    uint32_t n = 0;
    for (int k = 0; k < s->nfields; k++) {
      const struct kfield *f = &s->fields[k];
      if (f->tag >= 0 && in_range(c->version, f->vmin, f->vmax) && tagged_set(f, obj)) n++;
    }
    kbuf_uvarint(b, n);
    for (int k = 0; k < s->nfields && !rc; k++) {
      const struct kfield *f = &s->fields[k];
      if (f->tag < 0 || !in_range(c->version, f->vmin, f->vmax) || !tagged_set(f, obj)) continue;
      struct kbuf t = {0};
      rc = encode_field(c, f, obj, &t);
      if (!rc && t.oom) rc = KAFKA_ENOMEM;
      if (!rc) {
        kbuf_uvarint(b, (uint64_t)f->tag);
        kbuf_uvarint(b, t.len);
        kbuf_put(b, t.p, t.len);
      }
      kbuf_free(&t);
    }
  }
  free(tmp);
  return rc;
}

int kafka_encode(const struct kstruct *s, int version, int flexible, const void *obj,
                 struct kbuf *out) {
  struct ectx c = {version, flexible};
  int rc = encode_struct(&c, s, obj, out);
  if (!rc && out->oom) rc = KAFKA_ENOMEM;
  return rc;
}

/* ---- apis and headers ---- */

const struct kapi *kafka_api(int key) {
  for (int i = 0; i < kafka_napis; i++)
    if (kafka_apis[i].key == key) return &kafka_apis[i];
  return NULL;
}

int kafka_flexible(const struct kapi *api, int version) {
  return api && version >= api->flex_min;
}

int kafka_decode_req_header(uint8_t *buf, size_t len, struct arena *a,
                            struct kafka_req_header *h, size_t *used) {
  struct reader r = {buf, buf + len};
  uint16_t key, ver;
  uint32_t corr;
  int rc;
  if ((rc = rd_u16(&r, &key)) || (rc = rd_u16(&r, &ver)) || (rc = rd_u32(&r, &corr))) return rc;
  h->api_key = (int16_t)key;
  h->api_version = (int16_t)ver;
  h->correlation_id = (int32_t)corr;
  const struct kapi *api = kafka_api(h->api_key);
  int flex = api && h->api_version >= api->vmin && h->api_version <= api->vmax &&
             kafka_flexible(api, h->api_version);
  /* the client id is a classic nullable string even in header v2 */
  struct dctx c = {a, 65536, 0, 0, 0}; /* a client id may be 32767 bytes */
  struct kfield f = {.kind = KF_STRING};
  if ((rc = decode_value(&c, &r, &f, &h->client_id, 1))) return rc;
  if (flex) {
    uint32_t n;
    if ((rc = rd_uvarint(&r, &n))) return rc;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t tag, size;
      if ((rc = rd_uvarint(&r, &tag)) || (rc = rd_uvarint(&r, &size))) return rc;
      if (size > left(&r)) return KAFKA_ETRUNCATED;
      r.p += size;
    }
  }
  *used = (size_t)(r.p - buf);
  return 0;
}

void kafka_encode_resp_header(struct kbuf *out, int api_key, int flexible,
                              int32_t correlation_id) {
  kbuf_be32(out, (uint32_t)correlation_id);
  if (flexible && api_key != KAFKA_API_VERSIONS) kbuf_uvarint(out, 0);
}

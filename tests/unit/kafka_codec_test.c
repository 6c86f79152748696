/* The Kafka codec (kafka/codec.c) against its own tables and hand-checked
 * bytes: every api, every version, request and response, filled with
 * non-default values by a walker over the descriptors, must encode, decode to
 * the same values and re-encode to the same bytes; every truncation of those
 * encodings must fail cleanly; hostile lengths, counts and varints must be
 * errors; the arena budget must hold. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "kafka/codec.h"
#include "kafka_msgs.h"

static int in_range(int v, int lo, int hi) { return v >= lo && v <= hi; }

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

/* ---- a generic filler over the descriptors ---- */

struct filler {
  struct arena *a;
  int version;
  int nulls; /* nullable fields get null (arrays too); others non-default */
  int k;     /* counter: makes every value distinct */
};

static void fill_struct(struct filler *F, const struct kstruct *s, void *obj);

/* A non-default value of f's element type into dst. */
static void fill_value(struct filler *F, const struct kfield *f, void *dst) {
  long long v = f->def + 1 + (F->k++ % 50);
  switch (f->kind) {
  case KF_BOOL: *(bool *)dst = f->def == 0; break;
  case KF_INT8: *(int8_t *)dst = (int8_t)v; break;
  case KF_INT16: *(int16_t *)dst = (int16_t)v; break;
  case KF_UINT16: *(uint16_t *)dst = (uint16_t)v; break;
  case KF_INT32: *(int32_t *)dst = (int32_t)v; break;
  case KF_UINT32: *(uint32_t *)dst = (uint32_t)v; break;
  case KF_INT64: *(int64_t *)dst = (int64_t)v * 1000003LL; break;
  case KF_FLOAT64: *(double *)dst = (double)v + 0.25; break;
  case KF_UUID: {
    uint8_t *u = dst;
    for (int i = 0; i < 16; i++) u[i] = (uint8_t)(F->k * 7 + i + 1);
    break;
  }
  case KF_STRING: {
    char buf[32];
    snprintf(buf, sizeof buf, "s%d-%s", F->k, f->name);
    *(const char **)dst = arena_strdup(F->a, buf);
    break;
  }
  case KF_BYTES:
  case KF_RECORDS: {
    struct kbytes *b = dst;
    b->len = 3 + F->k % 4;
    b->p = arena_alloc(F->a, (size_t)b->len);
    for (int i = 0; i < b->len; i++) b->p[i] = (uint8_t)(F->k + i);
    break;
  }
  case KF_STRUCT: {
    void *o = arena_alloc(F->a, f->sub->size);
    fill_struct(F, f->sub, o);
    *(void **)dst = o;
    break;
  }
  }
}

static void fill_field(struct filler *F, const struct kfield *f, void *obj) {
  int nullable = in_range(F->version, f->nmin, f->nmax);
  void *dst = (char *)obj + f->off;
  if (F->nulls && nullable) {
    if (f->array) {
      *(int32_t *)((char *)obj + f->count_off) = -1;
      *(void **)dst = NULL;
    } else if (f->kind == KF_STRING || f->kind == KF_STRUCT) {
      *(void **)dst = NULL;
    } else if (f->kind == KF_BYTES || f->kind == KF_RECORDS) {
      ((struct kbytes *)dst)->p = NULL;
      ((struct kbytes *)dst)->len = -1;
    }
    return;
  }
  if (!f->array) {
    fill_value(F, f, dst);
    return;
  }
  size_t es = elem_size(f);
  char *arr = arena_alloc(F->a, 2 * es);
  for (int i = 0; i < 2; i++) {
    if (f->kind == KF_STRUCT) fill_struct(F, f->sub, arr + (size_t)i * es);
    else fill_value(F, f, arr + (size_t)i * es);
  }
  *(void **)dst = arr;
  *(int32_t *)((char *)obj + f->count_off) = 2;
}

static void fill_struct(struct filler *F, const struct kstruct *s, void *obj) {
  kafka_defaults(s, obj);
  for (int k = 0; k < s->nfields; k++) {
    const struct kfield *f = &s->fields[k];
    if (in_range(F->version, f->vmin, f->vmax)) fill_field(F, f, obj);
  }
}

/* ---- a generic comparer: the fields of `version` only ---- */

static int cmp_struct(const struct kstruct *s, int version, const void *x, const void *y,
                      char *why, size_t whylen);

static int cmp_value(const struct kfield *f, int version, const void *x, const void *y,
                     char *why, size_t whylen) {
  switch (f->kind) {
  case KF_STRING: {
    const char *a = *(const char *const *)x, *b = *(const char *const *)y;
    if (!a && !b) return 0;
    if (!a || !b) {
      snprintf(why, whylen, "%s: null vs not", f->name);
      return -1;
    }
    if (strcmp(a, b)) {
      snprintf(why, whylen, "%s: '%s' vs '%s'", f->name, a, b);
      return -1;
    }
    return 0;
  }
  case KF_BYTES:
  case KF_RECORDS: {
    const struct kbytes *a = x, *b = y;
    if (a->len != b->len || (a->len > 0 && memcmp(a->p, b->p, (size_t)a->len)))
      return snprintf(why, whylen, "%s: bytes differ (len %d vs %d)", f->name, a->len, b->len), -1;
    return 0;
  }
  case KF_STRUCT: {
    const void *a = *(const void *const *)x, *b = *(const void *const *)y;
    if (!a && !b) return 0;
    if (!a || !b) return snprintf(why, whylen, "%s: null struct vs not", f->name), -1;
    return cmp_struct(f->sub, version, a, b, why, whylen);
  }
  default:
    if (memcmp(x, y, elem_size(f)))
      return snprintf(why, whylen, "%s: scalar differs", f->name), -1;
    return 0;
  }
}

static int cmp_struct(const struct kstruct *s, int version, const void *x, const void *y,
                      char *why, size_t whylen) {
  for (int k = 0; k < s->nfields; k++) {
    const struct kfield *f = &s->fields[k];
    if (!in_range(version, f->vmin, f->vmax)) continue;
    const char *px = (const char *)x + f->off, *py = (const char *)y + f->off;
    if (!f->array) {
      if (cmp_value(f, version, px, py, why, whylen)) return -1;
      continue;
    }
    int32_t nx = *(const int32_t *)((const char *)x + f->count_off);
    int32_t ny = *(const int32_t *)((const char *)y + f->count_off);
    if (nx != ny) return snprintf(why, whylen, "%s: count %d vs %d", f->name, nx, ny), -1;
    const char *ax = *(const char *const *)px, *ay = *(const char *const *)py;
    size_t es = elem_size(f);
    for (int32_t i = 0; i < nx; i++) {
      const char *ex = ax + (size_t)i * es, *ey = ay + (size_t)i * es;
      int rc = f->kind == KF_STRUCT ? cmp_struct(f->sub, version, ex, ey, why, whylen)
                                    : cmp_value(f, version, ex, ey, why, whylen);
      if (rc) return rc;
    }
  }
  return 0;
}

/* ---- round trips ---- */

/* Fill (mode nulls), encode, decode (from an exact-size heap copy, so ASan
 * sees any over-read), compare values, re-encode, compare bytes. On success
 * *enc holds the encoding. Returns 0 or -1 with why set. */
static int round_trip(const struct kstruct *s, int version, int flex, int nulls,
                      struct kbuf *enc, char *why, size_t whylen) {
  struct arena a;
  arena_init(&a);
  struct filler F = {&a, version, nulls, 0};
  void *obj = arena_alloc(&a, s->size), *back = arena_alloc(&a, s->size);
  fill_struct(&F, s, obj);
  struct kbuf again = {0};
  int rc = kafka_encode(s, version, flex, obj, enc);
  if (rc) {
    snprintf(why, whylen, "encode: %d", rc);
    goto out;
  }
  uint8_t *copy = malloc(enc->len ? enc->len : 1);
  if (enc->len) memcpy(copy, enc->p, enc->len);
  size_t used = 0;
  rc = kafka_decode(s, version, flex, copy, enc->len, &a, 1 << 20, back, &used);
  if (rc) snprintf(why, whylen, "decode: %d after %zu of %zu bytes", rc, used, enc->len);
  else if (used != enc->len) rc = -1, snprintf(why, whylen, "decode used %zu of %zu", used, enc->len);
  else if ((rc = cmp_struct(s, version, obj, back, why, whylen))) {
  } else if ((rc = kafka_encode(s, version, flex, back, &again))) {
    snprintf(why, whylen, "re-encode: %d", rc);
  } else if (again.len != enc->len || (enc->len && memcmp(again.p, enc->p, enc->len))) {
    rc = -1;
    snprintf(why, whylen, "re-encoding differs (%zu vs %zu bytes)", again.len, enc->len);
  }
  free(copy);
out:
  kbuf_free(&again);
  arena_reset(&a);
  return rc;
}

/* Every prefix of enc decodes with an error (each from an exact-size heap
 * buffer). Returns the first prefix length that did not, or -1. */
static long first_bad_truncation(const struct kstruct *s, int version, int flex,
                                 const struct kbuf *enc) {
  for (size_t n = 0; n < enc->len; n++) {
    struct arena a;
    arena_init(&a);
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, enc->p, n);
    void *out = arena_alloc(&a, s->size);
    int rc = kafka_decode(s, version, flex, copy, n, &a, 1 << 20, out, NULL);
    free(copy);
    arena_reset(&a);
    if (rc >= 0) return (long)n;
  }
  return -1;
}

static int failures, cases;

static void check_all(int nulls, int truncations) {
  for (int i = 0; i < kafka_napis; i++) {
    const struct kapi *api = &kafka_apis[i];
    for (int v = api->vmin; v <= api->vmax; v++) {
      for (int side = 0; side < 2; side++) {
        const struct kstruct *s = side ? api->resp : api->req;
        int flex = kafka_flexible(api, v);
        struct kbuf enc = {0};
        char why[256] = "";
        cases++;
        if (round_trip(s, v, flex, nulls, &enc, why, sizeof why)) {
          failures++;
          fprintf(stderr, "%s v%d %s%s: %s\n", api->name, v, side ? "response" : "request",
                  nulls ? " (nulls)" : "", why);
        } else if (truncations) {
          long bad = first_bad_truncation(s, v, flex, &enc);
          if (bad >= 0) {
            failures++;
            fprintf(stderr, "%s v%d %s: the first %ld of %zu bytes decoded without error\n",
                    api->name, v, side ? "response" : "request", bad, enc.len);
          }
        }
        kbuf_free(&enc);
      }
    }
  }
}

Test(kafka_codec, every_api_version_round_trips_full_values) {
  failures = cases = 0;
  check_all(0, 0);
  cr_log_info("%d cases", cases);
  cr_assert(cases > 300, "only %d cases", cases);
  cr_assert_eq(failures, 0, "%d of %d round trips failed (see stderr)", failures, cases);
}

Test(kafka_codec, every_api_version_round_trips_nulls) {
  failures = cases = 0;
  check_all(1, 0);
  cr_assert_eq(failures, 0, "%d of %d round trips failed (see stderr)", failures, cases);
}

Test(kafka_codec, every_truncation_is_an_error) {
  failures = cases = 0;
  check_all(0, 1);
  check_all(1, 1);
  cr_assert_eq(failures, 0, "%d of %d cases failed (see stderr)", failures, cases);
}

/* Defaults alone round-trip too (the empty message of every version). */
Test(kafka_codec, defaults_round_trip) {
  for (int i = 0; i < kafka_napis; i++) {
    const struct kapi *api = &kafka_apis[i];
    for (int v = api->vmin; v <= api->vmax; v++) {
      for (int side = 0; side < 2; side++) {
        const struct kstruct *s = side ? api->resp : api->req;
        int flex = kafka_flexible(api, v);
        struct kbuf e1 = {0}, e2 = {0};
        cr_assert_eq(kafka_encode(s, v, flex, NULL, &e1), 0, "%s v%d", api->name, v);
        struct arena a;
        arena_init(&a);
        void *o = arena_alloc(&a, s->size);
        size_t used;
        cr_assert_eq(kafka_decode(s, v, flex, e1.p, e1.len, &a, 1 << 20, o, &used), 0,
                     "%s v%d %d", api->name, v, side);
        cr_assert_eq(used, e1.len);
        cr_assert_eq(kafka_encode(s, v, flex, o, &e2), 0);
        cr_assert(e1.len == e2.len && (!e1.len || !memcmp(e1.p, e2.p, e1.len)), "%s v%d", api->name, v);
        kbuf_free(&e1);
        kbuf_free(&e2);
        arena_reset(&a);
      }
    }
  }
}

/* ---- exact bytes, checked by hand against the protocol guide ---- */

static void expect_bytes(const struct kbuf *b, const uint8_t *want, size_t n) {
  cr_assert_eq(b->len, n, "encoded %zu bytes, want %zu", b->len, n);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(b->p[i], want[i], "byte %zu: %02x, want %02x", i, b->p[i], want[i]);
}

Test(kafka_codec, api_versions_v3_request_bytes) {
  /* compact strings (length + 1) and an empty tagged-field section */
  static const uint8_t want[] = {0x07, 's', 't', 'r', 'a', 't', 'a', 0x04, '1', '.', '0', 0x00};
  struct kafka_api_versions_req r = {"strata", "1.0"};
  struct kbuf b = {0};
  cr_assert_eq(kafka_encode(&kafka_api_versions_req_desc, 3, 1, &r, &b), 0);
  expect_bytes(&b, want, sizeof want);
  struct arena a;
  arena_init(&a);
  struct kafka_api_versions_req d;
  uint8_t buf[sizeof want];
  memcpy(buf, want, sizeof want);
  cr_assert_eq(kafka_decode(&kafka_api_versions_req_desc, 3, 1, buf, sizeof buf, &a, 4096, &d, NULL), 0);
  cr_assert_str_eq(d.client_software_name, "strata");
  cr_assert_str_eq(d.client_software_version, "1.0");
  /* v2 has neither field: nothing on the wire */
  struct kbuf b2 = {0};
  cr_assert_eq(kafka_encode(&kafka_api_versions_req_desc, 2, 0, &r, &b2), 0);
  cr_assert_eq(b2.len, 0);
  kbuf_free(&b);
  kbuf_free(&b2);
  arena_reset(&a);
}

Test(kafka_codec, metadata_v9_response_null_cluster_id_bytes) {
  static const uint8_t want[] = {
      0, 0, 0, 0,       /* ThrottleTimeMs */
      0x02,             /* Brokers: 1 (compact) */
      0, 0, 0, 1,       /* NodeId */
      0x02, 'h',        /* Host */
      0, 0, 0x23, 0x84, /* Port 9092 */
      0x00,             /* Rack: null */
      0x00,             /* broker's tagged fields */
      0x00,             /* ClusterId: null */
      0, 0, 0, 1,       /* ControllerId */
      0x01,             /* Topics: 0 */
      0x80, 0, 0, 0,    /* ClusterAuthorizedOperations (v8-10): INT32_MIN */
      0x00,             /* tagged fields */
  };
  struct kafka_metadata_resp m;
  kafka_defaults(&kafka_metadata_resp_desc, &m);
  struct kafka_metadata_resp_metadata_response_broker br = {1, "h", 9092, NULL};
  m.n_brokers = 1, m.brokers = &br;
  m.controller_id = 1;
  cr_assert_null(m.cluster_id);
  cr_assert_eq(m.cluster_authorized_operations, INT32_MIN);
  struct kbuf b = {0};
  cr_assert_eq(kafka_encode(&kafka_metadata_resp_desc, 9, 1, &m, &b), 0);
  expect_bytes(&b, want, sizeof want);
  struct arena a;
  arena_init(&a);
  struct kafka_metadata_resp d;
  uint8_t buf[sizeof want];
  memcpy(buf, want, sizeof want);
  cr_assert_eq(kafka_decode(&kafka_metadata_resp_desc, 9, 1, buf, sizeof buf, &a, 4096, &d, NULL), 0);
  cr_assert_null(d.cluster_id);
  cr_assert_eq(d.n_brokers, 1);
  cr_assert_str_eq(d.brokers[0].host, "h");
  cr_assert_null(d.brokers[0].rack);
  cr_assert_eq(d.brokers[0].port, 9092);
  cr_assert_eq(d.n_topics, 0);
  /* v1 (not flexible): 16-bit lengths, -1 for the null rack, no cluster id */
  static const uint8_t want1[] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'h', 0, 0, 0x23, 0x84,
                                  0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 0};
  struct kbuf b1 = {0};
  cr_assert_eq(kafka_encode(&kafka_metadata_resp_desc, 1, 0, &m, &b1), 0);
  expect_bytes(&b1, want1, sizeof want1);
  kbuf_free(&b);
  kbuf_free(&b1);
  arena_reset(&a);
}

Test(kafka_codec, tagged_field_with_a_non_default_value_bytes) {
  /* ApiVersions v3 response: FinalizedFeaturesEpoch (tag 1, default -1) set */
  static const uint8_t want[] = {
      0, 0,                   /* ErrorCode */
      0x02,                   /* ApiKeys: 1 */
      0, 18, 0, 0, 0, 4, 0x00, /* ApiVersions 0-4, tagged fields */
      0, 0, 0, 0,             /* ThrottleTimeMs */
      0x01,                   /* one tagged field */
      0x01, 0x08,             /* tag 1, 8 bytes */
      0, 0, 0, 0, 0, 0, 0, 5, /* FinalizedFeaturesEpoch 5 */
  };
  struct kafka_api_versions_resp r;
  kafka_defaults(&kafka_api_versions_resp_desc, &r);
  cr_assert_eq(r.finalized_features_epoch, -1);
  struct kafka_api_versions_resp_api_version k = {18, 0, 4};
  r.n_api_keys = 1, r.api_keys = &k;
  struct kbuf b0 = {0};
  cr_assert_eq(kafka_encode(&kafka_api_versions_resp_desc, 3, 1, &r, &b0), 0);
  cr_assert_eq(b0.len, 15, "defaults: no tagged field written");
  cr_assert_eq(b0.p[14], 0);
  r.finalized_features_epoch = 5;
  struct kbuf b = {0};
  cr_assert_eq(kafka_encode(&kafka_api_versions_resp_desc, 3, 1, &r, &b), 0);
  expect_bytes(&b, want, sizeof want);
  struct arena a;
  arena_init(&a);
  struct kafka_api_versions_resp d;
  uint8_t buf[sizeof want];
  memcpy(buf, want, sizeof want);
  cr_assert_eq(kafka_decode(&kafka_api_versions_resp_desc, 3, 1, buf, sizeof buf, &a, 4096, &d, NULL), 0);
  cr_assert_eq(d.finalized_features_epoch, 5);
  cr_assert_eq(d.n_supported_features, 0);
  cr_assert_eq(d.zk_migration_ready, false);
  /* an unknown tag (9) is skipped, a known one after it still read */
  static const uint8_t unk[] = {0, 0, 0x01, 0, 0, 0, 0, 0x02, 0x09, 0x02, 0xaa, 0xbb, 0x03, 0x01, 0x01};
  uint8_t buf2[sizeof unk];
  memcpy(buf2, unk, sizeof unk);
  size_t used;
  cr_assert_eq(kafka_decode(&kafka_api_versions_resp_desc, 3, 1, buf2, sizeof buf2, &a, 4096, &d, &used), 0);
  cr_assert_eq(used, sizeof unk);
  cr_assert_eq(d.zk_migration_ready, true);
  cr_assert_eq(d.finalized_features_epoch, -1);
  kbuf_free(&b0);
  kbuf_free(&b);
  arena_reset(&a);
}

Test(kafka_codec, nullable_struct_bytes) {
  /* DescribeTopicPartitions v0 request: Cursor is a nullable struct (int8
   * -1 null, 1 present) */
  static const uint8_t null_cursor[] = {0x01, 0, 0, 0x07, 0xd0, 0xff, 0x00};
  static const uint8_t with_cursor[] = {0x01, 0, 0, 0x07, 0xd0, 0x01, 0x02, 't', 0, 0, 0, 3, 0x00, 0x00};
  struct kafka_describe_topic_partitions_req r;
  kafka_defaults(&kafka_describe_topic_partitions_req_desc, &r);
  cr_assert_eq(r.response_partition_limit, 2000);
  struct kbuf b = {0};
  cr_assert_eq(kafka_encode(&kafka_describe_topic_partitions_req_desc, 0, 1, &r, &b), 0);
  expect_bytes(&b, null_cursor, sizeof null_cursor);
  struct kafka_describe_topic_partitions_req_cursor c = {"t", 3};
  r.cursor = &c;
  struct kbuf b2 = {0};
  cr_assert_eq(kafka_encode(&kafka_describe_topic_partitions_req_desc, 0, 1, &r, &b2), 0);
  expect_bytes(&b2, with_cursor, sizeof with_cursor);
  struct arena a;
  arena_init(&a);
  struct kafka_describe_topic_partitions_req d;
  uint8_t buf[sizeof with_cursor];
  memcpy(buf, with_cursor, sizeof buf);
  cr_assert_eq(kafka_decode(&kafka_describe_topic_partitions_req_desc, 0, 1, buf, sizeof buf, &a, 4096, &d, NULL), 0);
  cr_assert_not_null(d.cursor);
  cr_assert_str_eq(d.cursor->topic_name, "t");
  cr_assert_eq(d.cursor->partition_index, 3);
  memcpy(buf, null_cursor, sizeof null_cursor);
  cr_assert_eq(kafka_decode(&kafka_describe_topic_partitions_req_desc, 0, 1, buf, sizeof null_cursor, &a, 4096, &d, NULL), 0);
  cr_assert_null(d.cursor);
  kbuf_free(&b);
  kbuf_free(&b2);
  arena_reset(&a);
}

/* ---- hostile input ---- */

static int dec(const struct kstruct *s, int version, int flex, const uint8_t *bytes, size_t n,
               size_t budget) {
  struct arena a;
  arena_init(&a);
  uint8_t *copy = malloc(n ? n : 1);
  if (n) memcpy(copy, bytes, n);
  void *out = arena_alloc(&a, s->size);
  int rc = kafka_decode(s, version, flex, copy, n, &a, budget, out, NULL);
  free(copy);
  arena_reset(&a);
  return rc;
}

#define DEC(desc, v, flex, ...)                                                                \
  ({                                                                                           \
    static const uint8_t b_[] = {__VA_ARGS__};                                                 \
    dec(&desc, v, flex, b_, sizeof b_, 1 << 20);                                               \
  })

Test(kafka_codec, hostile_lengths_and_counts) {
  /* Metadata v0 request: Topics []string, 32-bit count */
  cr_assert_eq(DEC(kafka_metadata_req_desc, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 'a'), KAFKA_ETRUNCATED);
  cr_assert_eq(DEC(kafka_metadata_req_desc, 0, 0, 0xff, 0xff, 0xff, 0xfe), KAFKA_EINVALID);
  /* -1: null, which v0 does not allow */
  cr_assert_eq(DEC(kafka_metadata_req_desc, 0, 0, 0xff, 0xff, 0xff, 0xff), KAFKA_EINVALID);
  cr_assert_eq(DEC(kafka_metadata_req_desc, 1, 0, 0xff, 0xff, 0xff, 0xff), 0);
  /* Metadata v9 request: compact count 2^32-2 (5-byte varint) */
  cr_assert_lt(DEC(kafka_metadata_req_desc, 9, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0), 0);
  /* string length past the bytes: FindCoordinator v0 Key */
  cr_assert_eq(DEC(kafka_find_coordinator_req_desc, 0, 0, 0x7f, 0xff, 'g'), KAFKA_ETRUNCATED);
  /* negative non-null string length */
  cr_assert_eq(DEC(kafka_find_coordinator_req_desc, 0, 0, 0xff, 0xfe), KAFKA_EINVALID);
  cr_assert_eq(DEC(kafka_find_coordinator_req_desc, 0, 0, 0x80, 0x00), KAFKA_EINVALID);
  /* null where the version allows none */
  cr_assert_eq(DEC(kafka_find_coordinator_req_desc, 0, 0, 0xff, 0xff), KAFKA_EINVALID);
  /* compact string: huge length, and null where not nullable */
  cr_assert_lt(DEC(kafka_api_versions_req_desc, 3, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'), 0);
  cr_assert_eq(DEC(kafka_api_versions_req_desc, 3, 1, 0x00, 0x01, 0x00), KAFKA_EINVALID);
  /* negative bytes length: SaslAuthenticate v0 AuthBytes */
  cr_assert_eq(DEC(kafka_sasl_authenticate_req_desc, 0, 0, 0xff, 0xff, 0xff, 0xfd), KAFKA_EINVALID);
  cr_assert_eq(DEC(kafka_sasl_authenticate_req_desc, 0, 0, 0x7f, 0xff, 0xff, 0xff, 1), KAFKA_ETRUNCATED);
  cr_assert_eq(DEC(kafka_sasl_authenticate_req_desc, 0, 0, 0, 0, 0, 1, 1), 0);
}

Test(kafka_codec, varints) {
  /* a 6-byte varint, and a 5-byte one past 32 bits */
  cr_assert_eq(DEC(kafka_api_versions_req_desc, 3, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0), KAFKA_EINVALID);
  cr_assert_eq(DEC(kafka_api_versions_req_desc, 3, 1, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0), KAFKA_EINVALID);
  /* a varint cut short */
  cr_assert_eq(DEC(kafka_api_versions_req_desc, 3, 1, 0x80, 0x80), KAFKA_ETRUNCATED);
  /* a non-minimal varint is still the value: 0x82 0x00 is 2 (string "a") */
  cr_assert_eq(DEC(kafka_api_versions_req_desc, 3, 1, 0x82, 0x00, 'a', 0x02, 'b', 0x00), 0);
  /* tagged section: huge count, huge size, 6-byte tag */
  cr_assert_lt(DEC(kafka_api_versions_req_desc, 3, 1, 0x02, 'a', 0x02, 'b', 0xff, 0xff, 0xff, 0xff, 0x0f), 0);
  cr_assert_eq(DEC(kafka_api_versions_req_desc, 3, 1, 0x02, 'a', 0x02, 'b', 0x01, 0x05, 0xff, 0xff, 0x03), KAFKA_ETRUNCATED);
  cr_assert_eq(DEC(kafka_api_versions_req_desc, 3, 1, 0x02, 'a', 0x02, 'b', 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00), KAFKA_EINVALID);
}

Test(kafka_codec, nul_inside_a_string) {
  cr_assert_eq(DEC(kafka_find_coordinator_req_desc, 0, 0, 0, 3, 'a', 0, 'b'), KAFKA_EINVALID);
  cr_assert_eq(DEC(kafka_api_versions_req_desc, 3, 1, 0x04, 'a', 0, 'b', 0x01, 0x00), KAFKA_EINVALID);
  cr_assert_eq(DEC(kafka_find_coordinator_req_desc, 0, 0, 0, 3, 'a', 'c', 'b'), 0);
}

/* A request whose counts each fit the bytes left but whose elements would
 * take more memory than the budget is refused, before it allocates that. */
Test(kafka_codec, arena_budget) {
  enum { N = 20000 };
  size_t n = 4 + 2 * N;
  uint8_t *b = calloc(1, n); /* Metadata v0: N topics named "" */
  b[0] = 0, b[1] = 0, b[2] = N >> 8, b[3] = N & 0xff;
  struct arena a;
  arena_init(&a);
  struct kafka_metadata_req *m = malloc(sizeof *m);
  cr_assert_eq(kafka_decode(&kafka_metadata_req_desc, 0, 0, b, n, &a, 1 << 22, m, NULL), 0);
  cr_assert_eq(m->n_topics, N);
  arena_reset(&a);
  size_t budget = 64 * 1024;
  cr_assert_gt(N * kafka_metadata_req_desc.fields[0].sub->size, budget);
  cr_assert_eq(kafka_decode(&kafka_metadata_req_desc, 0, 0, b, n, &a, budget, m, NULL), KAFKA_EBUDGET);
  cr_assert_lt(a.used_total, 2 * budget, "arena grew to %zu", a.used_total);
  arena_reset(&a);
  /* strings count too: one topic with a 30000-byte name, budget 4096 */
  size_t n2 = 4 + 2 + 30000;
  uint8_t *b2 = malloc(n2);
  memset(b2, 'x', n2);
  b2[0] = 0, b2[1] = 0, b2[2] = 0, b2[3] = 1, b2[4] = 30000 >> 8, b2[5] = 30000 & 0xff;
  cr_assert_eq(kafka_decode(&kafka_metadata_req_desc, 0, 0, b2, n2, &a, 4096, m, NULL), KAFKA_EBUDGET);
  arena_reset(&a);
  free(b);
  free(b2);
  free(m);
}

/* Kafka's strings are at most 32767 bytes, compact ones too (its generated
 * readers refuse a longer one): a longer compact string is invalid rather
 * than decoded into something our encoder then refuses to write. */
Test(kafka_codec, compact_string_longer_than_int16_max) {
  size_t len = 40000, n = 3 + len + 2;
  uint8_t *b = malloc(n);
  memset(b, 'x', n);
  /* ApiVersions v3 request: ClientSoftwareName, compact length 40001 */
  b[0] = (uint8_t)(((len + 1) & 0x7f) | 0x80);
  b[1] = (uint8_t)((((len + 1) >> 7) & 0x7f) | 0x80);
  b[2] = (uint8_t)((len + 1) >> 14);
  b[3 + len] = 0x01, b[3 + len + 1] = 0x00; /* "" and no tagged fields */
  struct arena a;
  arena_init(&a);
  struct kafka_api_versions_req d;
  cr_assert_eq(kafka_decode(&kafka_api_versions_req_desc, 3, 1, b, n, &a, 1 << 20, &d, NULL),
               KAFKA_EINVALID);
  /* 32767 is still fine */
  len = 32767, n = 3 + len + 2;
  b[0] = (uint8_t)(((len + 1) & 0x7f) | 0x80);
  b[1] = (uint8_t)((((len + 1) >> 7) & 0x7f) | 0x80);
  b[2] = (uint8_t)((len + 1) >> 14);
  b[3 + len] = 0x01, b[3 + len + 1] = 0x00;
  size_t used;
  cr_assert_eq(kafka_decode(&kafka_api_versions_req_desc, 3, 1, b, n, &a, 1 << 20, &d, &used), 0);
  cr_assert_eq(used, n);
  cr_assert_eq(strlen(d.client_software_name), 32767);
  struct kbuf e = {0};
  cr_assert_eq(kafka_encode(&kafka_api_versions_req_desc, 3, 1, &d, &e), 0);
  cr_assert_eq(e.len, n);
  kbuf_free(&e);
  arena_reset(&a);
  free(b);
}

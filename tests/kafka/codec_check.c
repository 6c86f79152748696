/* Checks Strata's Kafka codec against vectors another implementation wrote
 * (tests/kafka/codec_vectors.py: kafka-python's protocol classes). Reads
 * lines "API_KEY VERSION req|resp HEX LEAVES" on stdin; for each, decodes
 * HEX with our tables (from an exact-size heap copy), requires every byte
 * used, walks the decoded struct into the same typed LEAVES (so a field of
 * the wrong type or order shows even where the bytes would round-trip), and
 * re-encodes to the same HEX. Prints one line per mismatch, and a summary:
 * "N vectors: N ok, N failed, N skipped, N xfail"; exits 1 when any failed.
 * A vector of a version our tables call flexible is skipped, naming it:
 * kafka-python 2.0.2 writes only the classic encoding. A line prefixed
 * "xfail " is one of kafka-python's own transcription bugs (the script says
 * which): it must NOT match our tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "kafka/codec.h"
#include "kafka_msgs.h"

struct out {
  char *p;
  size_t len, cap;
};

static void put(struct out *o, const char *s) {
  size_t n = strlen(s);
  if (o->len + n + 2 > o->cap) {
    o->cap = (o->len + n + 2) * 2;
    o->p = realloc(o->p, o->cap);
    if (!o->p) abort();
  }
  if (o->len) o->p[o->len++] = ',';
  memcpy(o->p + o->len, s, n + 1);
  o->len += n;
}

static void put_hex(struct out *o, const char *prefix, const uint8_t *p, size_t n) {
  char *s = malloc(strlen(prefix) + 2 * n + 1);
  size_t k = (size_t)sprintf(s, "%s", prefix);
  for (size_t i = 0; i < n; i++) k += (size_t)sprintf(s + k, "%02x", p[i]);
  put(o, s);
  free(s);
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

static void leaves_struct(const struct kstruct *s, int version, const void *obj, struct out *o);

static void leaf(const struct kfield *f, int version, const void *src, struct out *o) {
  char b[64];
  switch (f->kind) {
  case KF_BOOL: put(o, *(const bool *)src ? "b:1" : "b:0"); return;
  case KF_INT8: snprintf(b, sizeof b, "i8:%d", *(const int8_t *)src); break;
  case KF_INT16: snprintf(b, sizeof b, "i16:%d", *(const int16_t *)src); break;
  case KF_UINT16: snprintf(b, sizeof b, "u16:%u", *(const uint16_t *)src); break;
  case KF_INT32: snprintf(b, sizeof b, "i32:%d", *(const int32_t *)src); break;
  case KF_UINT32: snprintf(b, sizeof b, "u32:%u", *(const uint32_t *)src); break;
  case KF_INT64: snprintf(b, sizeof b, "i64:%lld", (long long)*(const int64_t *)src); break;
  case KF_FLOAT64: snprintf(b, sizeof b, "f64:%g", *(const double *)src); break;
  case KF_UUID: put_hex(o, "u:", src, 16); return;
  case KF_STRING: {
    const char *s = *(const char *const *)src;
    if (!s) put(o, "s:~");
    else put_hex(o, "s:", (const uint8_t *)s, strlen(s));
    return;
  }
  case KF_BYTES:
  case KF_RECORDS: {
    const struct kbytes *x = src;
    if (x->len < 0) put(o, "y:~");
    else put_hex(o, "y:", x->p, (size_t)x->len);
    return;
  }
  case KF_STRUCT: {
    const void *p = *(const void *const *)src;
    if (!p) put(o, "null-struct");
    else leaves_struct(f->sub, version, p, o);
    return;
  }
  }
  put(o, b);
}

/* The decoded values in wire order (non-flexible versions: no tagged fields). */
static void leaves_struct(const struct kstruct *s, int version, const void *obj, struct out *o) {
  for (int k = 0; k < s->nfields; k++) {
    const struct kfield *f = &s->fields[k];
    if (f->tag >= 0 || version < f->vmin || version > f->vmax) continue;
    const char *src = (const char *)obj + f->off;
    if (!f->array) {
      leaf(f, version, src, o);
      continue;
    }
    int32_t n = *(const int32_t *)((const char *)obj + f->count_off);
    char b[32];
    if (n < 0) snprintf(b, sizeof b, "a:~");
    else snprintf(b, sizeof b, "a:%d", n);
    put(o, b);
    const char *arr = *(const char *const *)src;
    for (int32_t i = 0; i < n; i++) {
      const char *e = arr + (size_t)i * elem_size(f);
      if (f->kind == KF_STRUCT) leaves_struct(f->sub, version, e, o);
      else leaf(f, version, e, o);
    }
  }
}

static int unhex(const char *h, uint8_t **out, size_t *n) {
  size_t len = strlen(h);
  if (len % 2) return -1;
  *n = len / 2;
  *out = malloc(*n ? *n : 1);
  for (size_t i = 0; i < *n; i++) {
    unsigned v;
    if (sscanf(h + 2 * i, "%2x", &v) != 1) return -1;
    (*out)[i] = (uint8_t)v;
  }
  return 0;
}

/* Where two comma lists first differ, for the report. */
static void first_diff(const char *a, const char *b, char *why, size_t whylen) {
  size_t i = 0, start = 0, idx = 0;
  while (a[i] && a[i] == b[i]) {
    if (a[i] == ',') start = i + 1, idx++;
    i++;
  }
  snprintf(why, whylen, "leaf %zu: ours '%.60s' vs theirs '%.60s'", idx, a + start, b + start);
}

int main(int argc, char **argv) {
  (void)argc, (void)argv;
  char *line = NULL;
  size_t cap = 0;
  int ok = 0, failed = 0, skipped = 0, xfailed = 0;
  while (getline(&line, &cap, stdin) > 0) {
    if (line[0] == '#' || line[0] == '\n') {
      if (line[0] == '#') printf("note: %s", line + 2);
      continue;
    }
    char side[8];
    int key, version;
    int xfail = !strncmp(line, "xfail ", 6);
    char *hex = malloc(strlen(line) + 1), *want = malloc(strlen(line) + 1);
    if (sscanf(line + (xfail ? 6 : 0), "%d %d %7s %s %s", &key, &version, side, hex, want) != 5) {
      printf("FAIL bad vector line: %s", line);
      failed++;
      goto next;
    }
    if (!strcmp(want, "-")) want[0] = 0;
    if (!strcmp(hex, "-")) hex[0] = 0;
    const struct kapi *api = kafka_api(key);
    int is_resp = !strcmp(side, "resp");
    if (!api || version < api->vmin || version > api->vmax) {
      printf("FAIL %d v%d %s: not in our tables\n", key, version, side);
      failed++;
      goto next;
    }
    if (kafka_flexible(api, version)) {
      printf("skip %s v%d %s: flexible in Kafka's JSON (flexibleVersions %d+); kafka-python "
             "2.0.2 writes it classic\n", api->name, version, side, api->flex_min);
      skipped++;
      goto next;
    }
    const struct kstruct *s = is_resp ? api->resp : api->req;
    uint8_t *bytes;
    size_t n, used = 0;
    if (unhex(hex, &bytes, &n)) {
      printf("FAIL %s v%d %s: bad hex\n", api->name, version, side);
      failed++;
      goto next;
    }
    struct arena a;
    arena_init(&a);
    void *obj = arena_alloc(&a, s->size);
    struct kbuf enc = {0};
    struct out got = {0};
    char why[300] = "";
    int rc = kafka_decode(s, version, 0, bytes, n, &a, 1 << 24, obj, &used);
    if (rc) snprintf(why, sizeof why, "decode error %d after %zu of %zu bytes", rc, used, n);
    else if (used != n) snprintf(why, sizeof why, "decoded %zu of %zu bytes", used, n);
    else {
      leaves_struct(s, version, obj, &got);
      if (strcmp(got.p ? got.p : "", want)) first_diff(got.p ? got.p : "", want, why, sizeof why);
      else if ((rc = kafka_encode(s, version, 0, obj, &enc)))
        snprintf(why, sizeof why, "re-encode error %d", rc);
      else if (enc.len != n || (n && memcmp(enc.p, bytes, n)))
        snprintf(why, sizeof why, "re-encoding differs (%zu vs %zu bytes)", enc.len, n);
    }
    if (xfail) {
      if (why[0]) {
        printf("xfail %s v%d %s (kafka-python's bug): %s\n", api->name, version, side, why);
        xfailed++;
      } else {
        printf("FAIL %s v%d %s: matches kafka-python's known bug\n", api->name, version, side);
        failed++;
      }
    } else if (why[0]) {
      printf("FAIL %s v%d %s: %s\n", api->name, version, side, why);
      failed++;
    } else {
      ok++;
    }
    kbuf_free(&enc);
    free(got.p);
    free(bytes);
    arena_reset(&a);
  next:
    free(hex);
    free(want);
  }
  free(line);
  printf("%d vectors: %d ok, %d failed, %d skipped, %d xfail\n", ok + failed + skipped + xfailed, ok,
         failed, skipped, xfailed);
  return failed || ok == 0 ? 1 : 0;
}

/* Kafka's wire encoding, driven by the descriptor tables tools/kafka_gen.c
 * writes from the kafka/schema tables: one decoder and one encoder for every
 * message and version, flexible (KIP-482: compact lengths, tagged fields) or
 * not. Decoding is bounded: every length is checked against the bytes left,
 * an array's count against them too, and all memory comes from the caller's
 * arena under a byte budget, so a hostile frame cannot make it allocate
 * more than that budget whatever sizes it claims. Pure: no I/O. */
#ifndef STRATA_KAFKA_CODEC_H
#define STRATA_KAFKA_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"

/* A bytes or records field: points into the decoded frame (not copied), or
 * into caller memory when encoding. len -1: null. */
struct kbytes {
  uint8_t *p;
  int32_t len;
};

struct kuuid {
  uint8_t b[16];
};

enum kfield_kind {
  KF_BOOL,
  KF_INT8,
  KF_INT16,
  KF_UINT16,
  KF_INT32,
  KF_UINT32,
  KF_INT64,
  KF_FLOAT64,
  KF_UUID,
  KF_STRING, /* const char *, NUL-terminated (a copy in the arena); NULL: null */
  KF_BYTES,
  KF_RECORDS,
  KF_STRUCT,
};

struct kstruct;

/* One field of a message or nested struct, as the generator writes it. */
struct kfield {
  const char *name;
  int kind;              /* enum kfield_kind; with array, of the elements */
  int array;             /* int32_t count at count_off (-1 null), pointer at off */
  int vmin, vmax;        /* versions it is in (vmin > vmax: none) */
  int nmin, nmax;        /* versions it may be null in */
  int tag;               /* >= 0: a tagged field in versions vmin..vmax */
  int def_null;          /* default is null (strings, bytes, arrays, structs) */
  size_t off, count_off;
  const struct kstruct *sub; /* KF_STRUCT: its fields; a single struct is a pointer */
  long long def;         /* integer/bool default */
};

struct kstruct {
  const char *name;
  size_t size;
  int nfields;
  const struct kfield *fields;
};

/* One api: its key, the versions the tables describe, the first flexible
 * version (32767: none), and its request and response structs. */
struct kapi {
  int key;
  const char *name;
  int vmin, vmax, flex_min;
  const struct kstruct *req, *resp;
};

/* Errors (negative). */
#define KAFKA_ETRUNCATED (-1) /* a length or field runs past the bytes */
#define KAFKA_EINVALID (-2)   /* a null where none may be, a bad varint, NUL in a string */
#define KAFKA_EBUDGET (-3)    /* would allocate more than the budget */
#define KAFKA_ENOMEM (-4)

/* Decode buf[0..len) as struct s at `version` (flexible or not) into out
 * (s->size bytes, zeroed and filled with defaults first). Strings are copied
 * into the arena NUL-terminated; bytes and records point into buf. At most
 * `budget` bytes of arena are used. *used (if not NULL) is bytes read.
 * Returns 0 or a KAFKA_E* error; out is undefined then. */
int kafka_decode(const struct kstruct *s, int version, int flexible, uint8_t *buf, size_t len,
                 struct arena *a, size_t budget, void *out, size_t *used);

/* Bytes that belong at position `at` of a kbuf's stream but were not
 * copied into it (see kbuf.ref_min). */
struct kbuf_ref {
  size_t at;
  const uint8_t *p;
  size_t len;
};

/* A growable output buffer (malloc'd). With ref_min > 0, a records field of
 * at least ref_min bytes is not copied: refs note where it goes, and the
 * writer sends it from where it lies (a fetch answer's records: read once
 * from the segment, never copied again). The stream is then p[0..len) with
 * each ref's bytes inserted at its `at`, ref_bytes more in all. */
struct kbuf {
  uint8_t *p;
  size_t len, cap;
  int oom;
  size_t ref_min;
  struct kbuf_ref *refs;
  size_t nrefs, refs_cap, ref_bytes;
};

void kbuf_free(struct kbuf *b);
void kbuf_put(struct kbuf *b, const void *data, size_t n);
void kbuf_be16(struct kbuf *b, uint16_t v);
void kbuf_be32(struct kbuf *b, uint32_t v);
void kbuf_uvarint(struct kbuf *b, uint64_t v);

/* Append obj (struct s) encoded at `version`. Fields not in that version are
 * left out; a non-default value in one is ignored. Returns 0 or
 * KAFKA_EINVALID (a null where the version allows none) / KAFKA_ENOMEM. */
int kafka_encode(const struct kstruct *s, int version, int flexible, const void *obj,
                 struct kbuf *out);

/* Fill obj (struct s) with the defaults of every field. */
void kafka_defaults(const struct kstruct *s, void *obj);

/* The api's table entry, or NULL. */
const struct kapi *kafka_api(int key);
/* Whether `version` of the api uses the flexible encoding. */
int kafka_flexible(const struct kapi *api, int version);

/* Request header v1 (non-flexible) / v2 (flexible: + tagged fields). */
struct kafka_req_header {
  int16_t api_key, api_version;
  int32_t correlation_id;
  const char *client_id; /* NULL: null */
};

/* Read the request header; *used its length. The api key and version are
 * read first to tell the header version: an unknown key or version decodes
 * the v1 header (no tagged fields), as Kafka does to answer it. */
int kafka_decode_req_header(uint8_t *buf, size_t len, struct arena *a,
                            struct kafka_req_header *h, size_t *used);

/* Response header: v0 (correlation id) or, for flexible versions, v1 (+ an
 * empty tagged-field section). ApiVersions always answers with v0. */
void kafka_encode_resp_header(struct kbuf *out, int api_key, int flexible,
                              int32_t correlation_id);

#endif

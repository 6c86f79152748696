#include "qvoters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/batch.h"
#include "common/errors.h"

#define VOTERS_TAG 0x6a /* MetadataRecord field 13, length-delimited */

void qvoters_book_put(struct qvoters_book *b, int32_t id, const char *host, int port) {
  if (!host || !*host || port <= 0) return;
  struct qvoters_addr *a = NULL;
  for (uint32_t i = 0; i < b->n; i++)
    if (b->a[i].id == id) a = &b->a[i];
  if (!a) {
    if (b->n == QVOTERS_BOOK_MAX) return;
    a = &b->a[b->n++];
  }
  a->id = id;
  snprintf(a->host, sizeof a->host, "%s", host);
  a->port = port;
}

const struct qvoters_addr *qvoters_book_get(const struct qvoters_book *b, int32_t id) {
  for (uint32_t i = 0; i < b->n; i++)
    if (b->a[i].id == id) return &b->a[i];
  return NULL;
}

int qvoters_is_record(const uint8_t *value, size_t len) { return len > 0 && value[0] == VOTERS_TAG; }

static int from_record(const Strata__VotersRecord *r, struct quorum_voter_set *s,
                       struct qvoters_book *book) {
  memset(s, 0, sizeof *s);
  if (!r || r->n_voters < 1 || r->n_voters > QUORUM_VOTERS_MAX) return STRATA_ECORRUPT;
  for (size_t i = 0; i < r->n_voters; i++) {
    const Strata__Voter *v = r->voters[i];
    if (v->id < 0 || (v->directory_id.len && v->directory_id.len != QUORUM_DIR_LEN) ||
        v->port > 65535)
      return STRATA_ECORRUPT;
    for (size_t j = 0; j < i; j++)
      if (r->voters[j]->id == v->id) return STRATA_ECORRUPT;
    s->voters[i].id = v->id;
    if (v->directory_id.len) memcpy(s->voters[i].dir, v->directory_id.data, QUORUM_DIR_LEN);
  }
  s->n = (uint32_t)r->n_voters;
  if (book)
    for (size_t i = 0; i < r->n_voters; i++)
      qvoters_book_put(book, r->voters[i]->id, r->voters[i]->host, (int)r->voters[i]->port);
  return 0;
}

int qvoters_decode_value(const uint8_t *value, size_t len, struct quorum_voter_set *s,
                         struct qvoters_book *book) {
  Strata__MetadataRecord *r = strata__metadata_record__unpack(NULL, len, value);
  if (!r) return STRATA_ECORRUPT;
  int rc = r->rec_case == STRATA__METADATA_RECORD__REC_VOTERS ? from_record(r->voters, s, book)
                                                              : STRATA_ECORRUPT;
  strata__metadata_record__free_unpacked(r, NULL);
  return rc;
}

int qvoters_decode_packed(const uint8_t *p, size_t len, struct quorum_voter_set *s,
                          struct qvoters_book *book) {
  Strata__VotersRecord *r = strata__voters_record__unpack(NULL, len, p);
  if (!r) return STRATA_ECORRUPT;
  int rc = from_record(r, s, book);
  strata__voters_record__free_unpacked(r, NULL);
  return rc;
}

int qvoters_encode_value(const struct quorum_voter_set *s, const struct qvoters_book *book,
                         uint8_t **out, size_t *len) {
  Strata__Voter v[QUORUM_VOTERS_MAX], *vp[QUORUM_VOTERS_MAX];
  uint8_t dirs[QUORUM_VOTERS_MAX][QUORUM_DIR_LEN];
  for (uint32_t i = 0; i < s->n; i++) {
    strata__voter__init(&v[i]);
    vp[i] = &v[i];
    v[i].id = s->voters[i].id;
    memcpy(dirs[i], s->voters[i].dir, QUORUM_DIR_LEN);
    v[i].directory_id.data = dirs[i];
    v[i].directory_id.len = QUORUM_DIR_LEN;
    const struct qvoters_addr *a = qvoters_book_get(book, s->voters[i].id);
    v[i].host = a ? (char *)a->host : (char *)"";
    v[i].port = a ? (uint32_t)a->port : 0;
  }
  Strata__VotersRecord vr = STRATA__VOTERS_RECORD__INIT;
  vr.voters = vp;
  vr.n_voters = s->n;
  Strata__MetadataRecord r = STRATA__METADATA_RECORD__INIT;
  r.rec_case = STRATA__METADATA_RECORD__REC_VOTERS;
  r.voters = &vr;
  *len = strata__metadata_record__get_packed_size(&r);
  *out = malloc(*len);
  if (!*out) return STRATA_ENOMEM;
  strata__metadata_record__pack(&r, *out);
  return 0;
}

/* The VotersRecords of a fetch answer's records (each batch holds one),
 * for the core: they take effect as they are appended. More than the core
 * takes in one answer: the answer is cut before the first one that does not
 * fit (a shorter fetch; the rest comes next). */
int qvoters_from_fetch(struct quorum_msg *m, const uint8_t *p, size_t *len,
                       struct qvoters_book *book) {
  size_t off = 0;
  m->fetch_resp.nvrecs = 0;
  while (off < *len) {
    struct batch_header h;
    struct batch_iter it;
    struct batch_record r;
    if (batch_header_decode(p + off, *len - off, &h)) return STRATA_ECORRUPT;
    size_t sz = batch_total_size(&h);
    if (batch_iter_init(&it, p + off, sz, NULL) || batch_iter_next(&it, &r) != 1)
      return STRATA_ECORRUPT;
    if (r.value_len > 0 && qvoters_is_record(r.value, (size_t)r.value_len)) {
      if (m->fetch_resp.nvrecs == QUORUM_FETCH_VSETS_MAX) {
        /* cut here: the spans end at this offset too */
        uint32_t k = 0;
        while (k < m->fetch_resp.nspans && m->fetch_resp.spans[k].base < h.base_offset) {
          struct quorum_span *s = &m->fetch_resp.spans[k];
          if (s->base + s->count > h.base_offset) s->count = (uint32_t)(h.base_offset - s->base);
          k++;
        }
        m->fetch_resp.nspans = k;
        *len = off;
        return 0;
      }
      struct quorum_voters_at *x = &m->fetch_resp.vrecs[m->fetch_resp.nvrecs++];
      x->offset = h.base_offset;
      if (qvoters_decode_value(r.value, (size_t)r.value_len, &x->set, book))
        return STRATA_ECORRUPT;
    }
    off += sz;
  }
  return 0;
}

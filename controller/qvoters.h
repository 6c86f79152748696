/* VotersRecords (KIP-853) as the quorum's glue handles them: the core's
 * voter set (controller/quorum.h, keys only) to and from the
 * MetadataRecord{voters} value the metadata log holds, with each voter's
 * quorum address. The core never sees record bytes, so the glue finds these
 * records wherever they enter a log (its own append, a fetch answer, the
 * log at start, a snapshot's image) and hands the core their sets.
 *
 * Finding them is cheap: a MetadataRecord has exactly one field of its
 * oneof set and protobuf writes it first, so a VotersRecord's value starts
 * with field 13's tag byte (0x6a); only those are decoded. */
#ifndef STRATA_QVOTERS_H
#define STRATA_QVOTERS_H

#include <stddef.h>
#include <stdint.h>

#include "controller/quorum.h"
#include "proto/strata.pb-c.h"

#define QVOTERS_BOOK_MAX 32 /* addresses known (static voters and every VotersRecord's) */

struct qvoters_addr {
  int32_t id;
  char host[256];
  int port;
};

/* Where each controller id's quorum listener is. */
struct qvoters_book {
  struct qvoters_addr a[QVOTERS_BOOK_MAX];
  uint32_t n;
};

/* Set id's address (added, or replaced); a full book drops it. */
void qvoters_book_put(struct qvoters_book *b, int32_t id, const char *host, int port);
const struct qvoters_addr *qvoters_book_get(const struct qvoters_book *b, int32_t id);

/* Whether a log record's value is a VotersRecord (its first byte). */
int qvoters_is_record(const uint8_t *value, size_t len);
/* A MetadataRecord value holding a VotersRecord into s (and its addresses
 * into book, when not NULL). 0, or STRATA_ECORRUPT: it does not decode, or
 * holds no voter, too many, a directory id that is not 16 bytes, or an id
 * twice. */
int qvoters_decode_value(const uint8_t *value, size_t len, struct quorum_voter_set *s,
                         struct qvoters_book *book);
/* The same from a packed VotersRecord (struct ctrl's copy). */
int qvoters_decode_packed(const uint8_t *p, size_t len, struct quorum_voter_set *s,
                          struct qvoters_book *book);
/* s as a MetadataRecord value (malloc'd), each voter's address from book
 * ("" and 0 when it has none). */
int qvoters_encode_value(const struct quorum_voter_set *s, const struct qvoters_book *book,
                         uint8_t **out, size_t *len);

/* A fetch answer's VotersRecords, from its payload (whole, CRC-checked
 * batches of one record each, as quorum_wire_decode and qnode checked),
 * into m->fetch_resp.vrecs with their addresses into book. More than
 * QUORUM_FETCH_VSETS_MAX: *len and the spans are cut before the first one
 * that does not fit (a shorter answer; the rest comes with the next fetch).
 * 0, or STRATA_ECORRUPT (a VotersRecord that does not decode). */
int qvoters_from_fetch(struct quorum_msg *m, const uint8_t *p, size_t *len,
                       struct qvoters_book *book);

#endif

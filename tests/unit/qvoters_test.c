/* controller/qvoters.c: VotersRecords (KIP-853) to and from the metadata
 * log's values, the address book, and a fetch answer's VotersRecords found
 * in its batches (cut after QUORUM_FETCH_VSETS_MAX of them). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "common/trace.h"
#include "controller/qlog.h"
#include "controller/qvoters.h"

static struct quorum_voter_set set_of(int n, int first) {
  struct quorum_voter_set s = {.n = (uint32_t)n};
  for (int i = 0; i < n; i++) {
    s.voters[i].id = first + i;
    s.voters[i].dir[0] = (uint8_t)(first + i + 1);
  }
  return s;
}

Test(qvoters, a_set_round_trips_with_its_addresses) {
  struct qvoters_book book = {0};
  qvoters_book_put(&book, 1, "a", 1001);
  qvoters_book_put(&book, 2, "b", 1002);
  qvoters_book_put(&book, 2, "b2", 2002); /* replaced */
  qvoters_book_put(&book, 9, "", 1);      /* no address: ignored */
  cr_assert_eq(book.n, 2);
  struct quorum_voter_set s = set_of(3, 1), back;
  uint8_t *v;
  size_t len;
  cr_assert_eq(qvoters_encode_value(&s, &book, &v, &len), 0);
  cr_assert(qvoters_is_record(v, len));
  struct qvoters_book got = {0};
  cr_assert_eq(qvoters_decode_value(v, len, &back, &got), 0);
  cr_assert_eq(back.n, 3);
  cr_assert_eq(memcmp(back.voters, s.voters, 3 * sizeof *s.voters), 0);
  cr_assert_str_eq(qvoters_book_get(&got, 2)->host, "b2");
  cr_assert_eq(qvoters_book_get(&got, 2)->port, 2002);
  cr_assert_null(qvoters_book_get(&got, 3), "voter 3 had no address");
  /* other records are not VotersRecords; damaged ones do not decode */
  uint8_t other[] = {0x0a, 0x00};
  cr_assert_not(qvoters_is_record(other, sizeof other));
  cr_assert_not(qvoters_is_record(NULL, 0));
  cr_assert_eq(qvoters_decode_value(v, len - 3, &back, NULL), STRATA_ECORRUPT);
  free(v);
  /* an id twice, or no voter */
  struct quorum_voter_set dup = set_of(2, 4);
  dup.voters[1].id = 4;
  cr_assert_eq(qvoters_encode_value(&dup, &book, &v, &len), 0);
  cr_assert_eq(qvoters_decode_value(v, len, &back, NULL), STRATA_ECORRUPT);
  free(v);
  struct quorum_voter_set none = {.n = 0};
  cr_assert_eq(qvoters_encode_value(&none, &book, &v, &len), 0);
  cr_assert_eq(qvoters_decode_value(v, len, &back, NULL), STRATA_ECORRUPT);
  free(v);
}

Test(qvoters, a_fetch_answer_holds_two_at_most_and_is_cut_before_a_third) {
  trace_set_level(TRACE_ERROR);
  char dir[] = "/tmp/strata-qvoters.XXXXXX";
  cr_assert(mkdtemp(dir));
  struct qlog l;
  char err[256];
  cr_assert_eq(qlog_open(&l, dir, err, sizeof err), 0, "%s", err);
  struct qvoters_book book = {0};
  /* offsets: 0 LeaderChange, 1 and 2 VotersRecords, 3 another record, 4 and 5 VotersRecords */
  cr_assert_eq(qlog_append(&l, 0, 1, NULL, 0), 0);
  for (int o = 1; o < 6; o++) {
    uint8_t *v, other[] = {0x30, 0x07}; /* producer_ids_next = 7 */
    size_t len;
    if (o == 3) {
      cr_assert_eq(qlog_append(&l, o, 1, other, sizeof other), 0);
      continue;
    }
    struct quorum_voter_set s = set_of(o < 4 ? 2 : 3, o);
    cr_assert_eq(qvoters_encode_value(&s, &book, &v, &len), 0);
    cr_assert_eq(qlog_append(&l, o, 1, v, len), 0);
    free(v);
  }
  uint8_t *p;
  size_t len, full;
  cr_assert_eq(qlog_read(&l, 0, 6, &p, &len), 0);
  full = len;
  struct quorum_msg m;
  memset(&m, 0, sizeof m);
  m.type = QUORUM_FETCH_RESP;
  m.fetch_resp.spans[0] = (struct quorum_span){0, 6, 1};
  m.fetch_resp.nspans = 1;
  cr_assert_eq(qvoters_from_fetch(&m, p, &len, &book), 0);
  cr_assert_eq(m.fetch_resp.nvrecs, 2);
  cr_assert_eq(m.fetch_resp.vrecs[0].offset, 1);
  cr_assert_eq(m.fetch_resp.vrecs[1].offset, 2);
  cr_assert_eq(m.fetch_resp.vrecs[1].set.voters[0].id, 2);
  cr_assert_eq(m.fetch_resp.spans[0].count, 4, "cut before offset 4");
  cr_assert_eq((int64_t)len, qlog_bytes(&l, 0, 4));
  cr_assert_lt(len, full);
  /* the rest, in the next answer */
  free(p);
  cr_assert_eq(qlog_read(&l, 4, 6, &p, &len), 0);
  memset(&m, 0, sizeof m);
  m.fetch_resp.spans[0] = (struct quorum_span){4, 2, 1};
  m.fetch_resp.nspans = 1;
  cr_assert_eq(qvoters_from_fetch(&m, p, &len, &book), 0);
  cr_assert_eq(m.fetch_resp.nvrecs, 2);
  cr_assert_eq(m.fetch_resp.vrecs[1].set.n, 3);
  cr_assert_eq(m.fetch_resp.spans[0].count, 2);
  free(p);
  qlog_close(&l);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_assert_eq(system(cmd), 0);
}

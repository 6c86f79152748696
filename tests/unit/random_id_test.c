/* common/random_id: cluster ids from getrandom(2). */
#include <criterion/criterion.h>
#include <string.h>

#include "common/random_id.h"

Test(random_id, draws_32_lowercase_hex_characters_that_differ_each_time) {
  char a[RANDOM_ID_HEX_LEN + 1], b[RANDOM_ID_HEX_LEN + 1];
  cr_assert_eq(random_id_hex(a, sizeof a), 0);
  cr_assert_eq(random_id_hex(b, sizeof b), 0);
  cr_assert_eq(strlen(a), (size_t)RANDOM_ID_HEX_LEN);
  cr_assert_eq(strspn(a, "0123456789abcdef"), (size_t)RANDOM_ID_HEX_LEN);
  cr_assert_str_neq(a, b, "two draws of 128 bits are never equal in practice");
}

Test(random_id, a_short_buffer_gets_whole_bytes_and_a_nul) {
  char out[6];
  memset(out, 'x', sizeof out);
  cr_assert_eq(random_id_hex(out, sizeof out), 0);
  cr_assert_eq(strlen(out), 4u);
}

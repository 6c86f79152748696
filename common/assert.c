#include "common/assert.h"

#include <stdio.h>
#include <stdlib.h>

static void (*handler)(const char *msg);

void strata_assert_set_handler(void (*fn)(const char *msg)) { handler = fn; }

_Noreturn void strata_assert_fail(const char *cond, const char *file, int line, const char *func) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s:%d: %s: invariant broken: %s", file, line, func, cond);
  fprintf(stderr, "strata: %s\n", msg);
  fflush(stderr);
  if (handler) handler(msg);
  abort();
}

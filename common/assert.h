/* Invariants the design relies on, checked where they must hold
 * (STRATA_ASSERT). A failed one is a bug in Strata, never bad input: bytes
 * from the network or the disk are checked with error returns. It prints
 * the condition with file:line and aborts (a crash in a unit test, a
 * violation with its seed in the simulator, which installs a handler). */
#ifndef STRATA_ASSERT_H
#define STRATA_ASSERT_H

#define STRATA_ASSERT(cond)                                                 \
  do {                                                                      \
    if (!(cond)) strata_assert_fail(#cond, __FILE__, __LINE__, __func__);   \
  } while (0)

_Noreturn void strata_assert_fail(const char *cond, const char *file, int line, const char *func);
/* Called with the failure's text before the abort (the simulator prints
 * the seed that replays it). NULL: none. */
void strata_assert_set_handler(void (*fn)(const char *msg));

#endif

/* The broker's heap of led partitions by when to look at their ISR again
 * (broker/isr_watch.c): pops in deadline order, only what is due, an
 * earlier time replaces a later one and never the reverse, and it holds a
 * reference on each partition in it. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "broker/isr_watch.h"
#include "broker/topics.h"

#define N 200

Test(isr_watch, pops_what_is_due_in_order_and_keeps_the_earliest_time) {
  static struct partition parts[N];
  struct isr_watch w = {0};
  srand(7);
  for (int i = 0; i < N; i++) {
    parts[i].refs = 1;
    isr_watch_at(&w, &parts[i], 1000 + rand() % 5000);
  }
  for (int i = 0; i < N; i += 3) isr_watch_at(&w, &parts[i], 500 + i); /* earlier: taken */
  for (int i = 1; i < N; i += 3) isr_watch_at(&w, &parts[i], 1000000); /* later: ignored */
  for (int i = 0; i < N; i++) cr_assert_eq(parts[i].refs, 2, "one reference while in the heap");
  cr_assert_null(isr_watch_pop(&w, 499), "nothing due before the first deadline");
  int64_t last = -1;
  int popped = 0;
  struct partition *p;
  while ((p = isr_watch_pop(&w, 100000))) {
    cr_assert_geq(p->watch_at, last);
    cr_assert(p->watch_at <= 6000);
    cr_assert_eq(p->watch_idx, 0u);
    last = p->watch_at;
    partition_unref(p); /* the popper's */
    popped++;
  }
  cr_assert_eq(popped, N);
  cr_assert_eq(parts[0].watch_at, 500);
  /* Freed with entries in it: the references go back. */
  isr_watch_at(&w, &parts[5], 10);
  isr_watch_free(&w);
  cr_assert_eq(parts[5].refs, 1);
  cr_assert_eq(parts[5].watch_idx, 0u);
}

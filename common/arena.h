/* A bump allocator for the life of one request: handlers build protobuf-c
 * responses (nested messages, arrays, strings) from it and the whole arena is
 * dropped after the response is packed, so no handler frees piecemeal. */
#ifndef STRATA_ARENA_H
#define STRATA_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
  struct arena_block *head;
  size_t used_total;
};

void arena_init(struct arena *a);
/* Free every block; the arena can be reused. */
void arena_reset(struct arena *a);
/* Zeroed, 16-byte aligned memory; NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);

#endif

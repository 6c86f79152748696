/* A hash index over an array of ACL entries (whole-entry equality), so the
 * metadata store finds an ACL in O(1): a log or image of 100 000 ACLs
 * replays in linear time, not quadratic. Open addressing with linear probing
 * and backward-shift deletion (no tombstones); at most half full. The index
 * holds positions in the caller's array, which stays the caller's. */
#ifndef STRATA_ACL_INDEX_H
#define STRATA_ACL_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/acl.h"

struct acl_index {
  uint32_t *slots; /* position + 1; 0 empty */
  size_t nslots;   /* 0 or a power of two */
};

void acl_index_free(struct acl_index *x);
/* The position in v (n entries) of an entry equal to e, or -1. */
long acl_index_find(const struct acl_index *x, const struct acl_entry *v, const struct acl_entry *e);
/* Index v[pos] (v has n entries, pos among them). 0 or STRATA_ENOMEM. */
int acl_index_add(struct acl_index *x, const struct acl_entry *v, size_t n, size_t pos);
/* Forget v[pos]. */
void acl_index_remove(struct acl_index *x, const struct acl_entry *v, size_t pos);
/* v[from] moved to v[to] (swap-remove): its slot follows. */
void acl_index_move(struct acl_index *x, const struct acl_entry *v, size_t from, size_t to);

#endif

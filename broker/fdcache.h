/* A bounded LRU of open file descriptors, shared by every partition log of a
 * broker (issue 15: descriptors proportional to activity, not to what
 * exists). A log keeps a small handle per file (segment data, its two
 * indexes, its directory) instead of a descriptor; fdcache_get answers the
 * descriptor when it is still open, and otherwise the caller opens it again
 * through fdcache_open, which first closes the least recently used one when
 * the cache is full. An idle partition's files are closed as others are
 * used, so 10,000 partitions fit in a few thousand descriptors.
 *
 * A descriptor from fdcache_get or fdcache_open stays open until the cache
 * opens FDCACHE_PINNED_MIN more (the most recent ones are never closed by an
 * open), so a caller may use the last two it got; keep nothing longer. An
 * open that fails with EMFILE or ENFILE (connections took the room) closes
 * cached descriptors and retries before it gives up. Not thread-safe: one
 * owner (the broker's loop); a descriptor another thread needs (an fsync on
 * the thread pool) is handed over as a dup (fdcache_dup). */
#ifndef STRATA_FDCACHE_H
#define STRATA_FDCACHE_H

#include <stdint.h>

/* The smallest cache: the descriptors a caller may hold at once, plus room. */
#define FDCACHE_PINNED_MIN 2
#define FDCACHE_MIN 8
/* The largest: one entry array of this many entries is allocated up front. */
#define FDCACHE_MAX (1u << 20)

/* A file's place in the cache, kept by its owner (it may move in memory: the
 * cache holds no pointer to it). gen 0: not open. */
struct fdcache_ref {
  uint32_t slot;
  uint64_t gen;
};

struct fdcache_entry {
  int fd;
  uint64_t gen;          /* 0 while free */
  uint32_t prev, next;   /* LRU list (most recent first), or free list (next) */
};

struct fdcache {
  struct fdcache_entry *e;
  uint32_t max, n;       /* capacity, entries open */
  uint32_t head, tail;   /* most and least recently used; FDCACHE_NIL when empty */
  uint32_t free_head;
  uint64_t next_gen;
  /* Counted for /metrics and tests. */
  uint64_t opens, evictions;
};

/* max in FDCACHE_MIN..FDCACHE_MAX. 0 or STRATA_EINVALID_ARGUMENT,
 * STRATA_ENOMEM. */
int fdcache_init(struct fdcache *c, uint32_t max);
/* Closes every descriptor still open and frees the entries. Afterwards
 * fdcache_get and fdcache_close change nothing and fdcache_open fails
 * (EBADF): a log closed after its broker's cache is harmless. */
void fdcache_free(struct fdcache *c);

/* The descriptor of ref when it is still open (and now the most recently
 * used), else -1. */
int fdcache_get(struct fdcache *c, struct fdcache_ref *ref);
/* open(path, flags, mode) into ref, closing the least recently used entry
 * first when the cache is full (and more on EMFILE/ENFILE). The descriptor,
 * or -1 with errno set. ref must not be open. */
int fdcache_open(struct fdcache *c, struct fdcache_ref *ref, const char *path, int flags,
                 unsigned mode);
/* Close ref's descriptor if it is open (a file deleted or a log closed). */
void fdcache_close(struct fdcache *c, struct fdcache_ref *ref);
/* dup(fd) for another thread, closing least recently used entries (never
 * the most recent one, which fd must be) while the process is out of
 * descriptors. -1 with errno set. */
int fdcache_dup(struct fdcache *c, int fd);

/* How many descriptors a broker's cache may hold: the soft RLIMIT_NOFILE
 * minus `reserve` (connections, listeners, fsyncs in flight, libuv's own),
 * at least FDCACHE_MIN and at most FDCACHE_MAX. */
uint32_t fdcache_budget(uint64_t soft_limit, uint64_t reserve);

#endif

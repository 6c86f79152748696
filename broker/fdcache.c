#include "broker/fdcache.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/errors.h"

#define FDCACHE_NIL UINT32_MAX

int fdcache_init(struct fdcache *c, uint32_t max) {
  *c = (struct fdcache){0};
  if (max < FDCACHE_MIN || max > FDCACHE_MAX) return STRATA_EINVALID_ARGUMENT;
  c->e = calloc(max, sizeof *c->e);
  if (!c->e) return STRATA_ENOMEM;
  c->max = max;
  c->head = c->tail = FDCACHE_NIL;
  for (uint32_t i = 0; i < max; i++) {
    c->e[i].fd = -1;
    c->e[i].next = i + 1 < max ? i + 1 : FDCACHE_NIL;
  }
  c->free_head = 0;
  return 0;
}

void fdcache_free(struct fdcache *c) {
  for (uint32_t i = c->head; i != FDCACHE_NIL; i = c->e[i].next) close(c->e[i].fd);
  free(c->e);
  *c = (struct fdcache){0};
}

static void unlink_entry(struct fdcache *c, uint32_t i) {
  struct fdcache_entry *x = &c->e[i];
  if (x->prev != FDCACHE_NIL) c->e[x->prev].next = x->next; else c->head = x->next;
  if (x->next != FDCACHE_NIL) c->e[x->next].prev = x->prev; else c->tail = x->prev;
}

static void push_head(struct fdcache *c, uint32_t i) {
  c->e[i].prev = FDCACHE_NIL;
  c->e[i].next = c->head;
  if (c->head != FDCACHE_NIL) c->e[c->head].prev = i;
  c->head = i;
  if (c->tail == FDCACHE_NIL) c->tail = i;
}

/* Close entry i and put it on the free list; a ref still naming it no
 * longer matches (gen 0, and a reused entry gets a new gen). */
static void release(struct fdcache *c, uint32_t i) {
  assert(c->n > 0 && c->e[i].gen != 0);
  unlink_entry(c, i);
  close(c->e[i].fd);
  c->e[i] = (struct fdcache_entry){.fd = -1, .next = c->free_head};
  c->free_head = i;
  c->n--;
}

/* Close the least recently used entry, unless fewer than `keep` are open
 * (the most recent ones a caller may still be using). 1 when one closed. */
static int evict_one(struct fdcache *c, uint32_t keep) {
  if (c->n <= keep) return 0;
  release(c, c->tail);
  c->evictions++;
  return 1;
}

static int valid(const struct fdcache *c, const struct fdcache_ref *ref) {
  return ref->gen != 0 && ref->slot < c->max && c->e[ref->slot].gen == ref->gen;
}

int fdcache_get(struct fdcache *c, struct fdcache_ref *ref) {
  if (!valid(c, ref)) {
    ref->gen = 0;
    return -1;
  }
  if (c->head != ref->slot) {
    unlink_entry(c, ref->slot);
    push_head(c, ref->slot);
  }
  return c->e[ref->slot].fd;
}

int fdcache_open(struct fdcache *c, struct fdcache_ref *ref, const char *path, int flags,
                 unsigned mode) {
  assert(!valid(c, ref));
  if (c->max == 0) { /* freed (a log outliving its broker's cache): nothing to open with */
    errno = EBADF;
    return -1;
  }
  while (c->n >= c->max) evict_one(c, FDCACHE_PINNED_MIN);
  int fd;
  for (;;) {
    fd = open(path, flags | O_CLOEXEC, (mode_t)mode);
    if (fd >= 0) break;
    /* The process is out of descriptors (connections, fsyncs in flight):
     * give some of ours back and try again. */
    if ((errno != EMFILE && errno != ENFILE) || !evict_one(c, FDCACHE_PINNED_MIN)) return -1;
  }
  uint32_t i = c->free_head;
  assert(i != FDCACHE_NIL);
  c->free_head = c->e[i].next;
  c->e[i].fd = fd;
  c->e[i].gen = ++c->next_gen;
  push_head(c, i);
  c->n++;
  c->opens++;
  ref->slot = i;
  ref->gen = c->e[i].gen;
  assert(c->n <= c->max);
  return fd;
}

void fdcache_close(struct fdcache *c, struct fdcache_ref *ref) {
  if (valid(c, ref)) release(c, ref->slot);
  ref->gen = 0;
}

int fdcache_dup(struct fdcache *c, int fd) {
  for (;;) {
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d >= 0) return d;
    if ((errno != EMFILE && errno != ENFILE) || !evict_one(c, 1)) return -1;
  }
}

uint32_t fdcache_budget(uint64_t soft_limit, uint64_t reserve) {
  uint64_t b = soft_limit > reserve ? soft_limit - reserve : 0;
  if (b < FDCACHE_MIN) b = FDCACHE_MIN;
  if (b > FDCACHE_MAX) b = FDCACHE_MAX;
  return (uint32_t)b;
}

/* The descriptor cache (broker/fdcache.c) and partition logs sharing one
 * (issue 15): least recently used descriptors close first, a closed one
 * opens again on use, an open that hits the process limit gives cached ones
 * back, and many more logs than descriptors all append and read. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "broker/fdcache.h"
#include "broker/seglog.h"
#include "common/batch.h"
#include "common/errors.h"
#include "common/trace.h"
#include "drill/proc.h"

static char *dir;
static void setup(void) {
  trace_set_level(TRACE_ERROR);
  cr_assert((dir = proc_tmpdir("strata-fdcache")));
}
static void teardown(void) {
  proc_rm_rf(dir);
  free(dir);
}
TestSuite(fdcache, .init = setup, .fini = teardown, .timeout = 120);

/* Descriptors this process holds now. */
static int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  cr_assert(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the DIR's own */
}

static void file_path(char *out, size_t n, int i) { snprintf(out, n, "%s/f%d", dir, i); }

Test(fdcache, refuses_sizes_outside_its_bounds) {
  struct fdcache c;
  cr_assert_eq(fdcache_init(&c, FDCACHE_MIN - 1), STRATA_EINVALID_ARGUMENT);
  cr_assert_eq(fdcache_init(&c, FDCACHE_MAX + 1), STRATA_EINVALID_ARGUMENT);
  cr_assert_eq(fdcache_init(&c, FDCACHE_MIN), 0);
  fdcache_free(&c);
}

Test(fdcache, closes_the_least_recently_used_when_full_and_reopens_on_use) {
  struct fdcache c;
  cr_assert_eq(fdcache_init(&c, FDCACHE_MIN), 0);
  int before = open_fds();
  struct fdcache_ref ref[FDCACHE_MIN + 1];
  memset(ref, 0, sizeof ref);
  char path[512];
  for (int i = 0; i < FDCACHE_MIN; i++) {
    file_path(path, sizeof path, i);
    cr_assert_geq(fdcache_open(&c, &ref[i], path, O_RDWR | O_CREAT, 0644), 0);
  }
  cr_assert_eq(c.n, (uint32_t)FDCACHE_MIN);
  cr_assert_eq(open_fds(), before + FDCACHE_MIN);
  cr_assert_geq(fdcache_get(&c, &ref[0]), 0, "0 becomes the most recent; 1 the least");
  file_path(path, sizeof path, FDCACHE_MIN);
  cr_assert_geq(fdcache_open(&c, &ref[FDCACHE_MIN], path, O_RDWR | O_CREAT, 0644), 0);
  cr_assert_eq(open_fds(), before + FDCACHE_MIN, "one closed for the new one");
  cr_assert_eq(c.evictions, 1u);
  cr_assert_eq(fdcache_get(&c, &ref[1]), -1, "the least recently used went");
  cr_assert_eq(ref[1].gen, 0u);
  cr_assert_geq(fdcache_get(&c, &ref[0]), 0);
  cr_assert_geq(fdcache_get(&c, &ref[2]), 0);
  /* Reopened, it is usable (the data was never lost: only a descriptor). */
  file_path(path, sizeof path, 1);
  int fd = fdcache_open(&c, &ref[1], path, O_RDWR, 0);
  cr_assert_geq(fd, 0);
  cr_assert_eq(pwrite(fd, "x", 1, 0), 1);
  fdcache_close(&c, &ref[1]);
  cr_assert_eq(fdcache_get(&c, &ref[1]), -1);
  fdcache_close(&c, &ref[1]); /* twice: nothing */
  fdcache_free(&c);
  cr_assert_eq(open_fds(), before, "free closes everything");
  /* A log closed after the cache: harmless; an open fails instead of
   * waiting for room forever. */
  cr_assert_eq(fdcache_get(&c, &ref[0]), -1);
  fdcache_close(&c, &ref[2]);
  cr_assert_eq(fdcache_open(&c, &ref[1], path, O_RDWR, 0), -1);
  cr_assert_eq(errno, EBADF);
}

Test(fdcache, an_open_failure_is_an_error_return_and_changes_nothing) {
  struct fdcache c;
  cr_assert_eq(fdcache_init(&c, FDCACHE_MIN), 0);
  struct fdcache_ref a = {0}, b = {0};
  char path[512];
  file_path(path, sizeof path, 0);
  cr_assert_geq(fdcache_open(&c, &a, path, O_RDWR | O_CREAT, 0644), 0);
  snprintf(path, sizeof path, "%s/missing/file", dir);
  cr_assert_eq(fdcache_open(&c, &b, path, O_RDWR, 0), -1);
  cr_assert_eq(errno, ENOENT);
  cr_assert_eq(b.gen, 0u);
  cr_assert_eq(c.n, 1u);
  cr_assert_geq(fdcache_get(&c, &a), 0);
  fdcache_free(&c);
}

/* The process limit is lower than the cache thinks (connections took the
 * room): an open that fails with EMFILE closes cached descriptors and
 * succeeds; a dup for a sync does the same. */
Test(fdcache, gives_descriptors_back_when_the_process_runs_out) {
  struct fdcache c;
  cr_assert_eq(fdcache_init(&c, 1024), 0);
  int base = open_fds();
  struct rlimit rl = {(rlim_t)base + 20, (rlim_t)base + 20};
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
  struct fdcache_ref ref[64];
  memset(ref, 0, sizeof ref);
  char path[512];
  for (int i = 0; i < 64; i++) {
    file_path(path, sizeof path, i);
    cr_assert_geq(fdcache_open(&c, &ref[i], path, O_RDWR | O_CREAT, 0644), 0, "open %d: %s", i,
                  strerror(errno));
  }
  cr_assert_leq(c.n, 20u);
  cr_assert_gt(c.evictions, 0u);
  int fd = fdcache_get(&c, &ref[63]);
  cr_assert_geq(fd, 0);
  int d = fdcache_dup(&c, fd);
  cr_assert_geq(d, 0);
  cr_assert_geq(fdcache_get(&c, &ref[63]), 0, "the dup never closes the one it copies");
  close(d);
  fdcache_free(&c);
}

Test(fdcache, budget_leaves_the_reserve_and_stays_in_bounds) {
  cr_assert_eq(fdcache_budget(20000, 1100), 18900u);
  cr_assert_eq(fdcache_budget(100, 1100), (uint32_t)FDCACHE_MIN);
  cr_assert_eq(fdcache_budget(UINT64_MAX, 10), (uint32_t)FDCACHE_MAX);
}

/* ---- partition logs sharing one cache ---- */

static uint8_t *make_batch(int64_t first, int n, size_t *len) {
  struct batch_builder b;
  batch_builder_init(&b);
  for (int i = 0; i < n; i++) {
    char v[64];
    int vl = snprintf(v, sizeof v, "record %lld", (long long)(first + i));
    cr_assert_eq(batch_builder_add(&b, 1000 + first + i, NULL, 0, v, (size_t)vl, NULL, 0), 0);
  }
  const uint8_t *out;
  cr_assert_eq(batch_builder_finish(&b, BATCH_COMPRESSION_NONE, 0, &out, len), 0);
  uint8_t *copy = malloc(*len);
  memcpy(copy, out, *len);
  batch_builder_free(&b);
  return copy;
}

/* The first record of the batch at `offset` names that offset. */
static void check_read(struct seglog *log, int64_t offset) {
  struct seglog_slice s;
  cr_assert_eq(seglog_read(log, offset, 4096, seglog_end_offset(log), &s), 0);
  cr_assert_gt(s.len, 0u);
  uint8_t buf[4096];
  size_t n = s.len < sizeof buf ? s.len : sizeof buf;
  cr_assert_eq(pread(s.fd, buf, n, (off_t)s.pos), (ssize_t)n);
  struct batch_header h;
  cr_assert_eq(batch_header_decode(buf, n, &h), 0);
  cr_assert_eq(h.base_offset, offset);
}

#define MANY_LOGS 60

/* 60 logs, 240 files, through a cache of 16: every append, read, sync and
 * reopen works, and the process never holds more than the cache allows. */
Test(fdcache, many_more_logs_than_descriptors_all_append_read_and_sync) {
  struct fdcache c;
  cr_assert_eq(fdcache_init(&c, 16), 0);
  int before = open_fds();
  struct seglog_config cfg;
  seglog_config_defaults(&cfg);
  cfg.fdcache = &c;
  struct seglog *logs[MANY_LOGS];
  char path[512];
  for (int round = 0; round < 2; round++) { /* the second: reopened from disk */
    for (int i = 0; i < MANY_LOGS; i++) {
      snprintf(path, sizeof path, "%s/p%d", dir, i);
      int err = 0;
      cr_assert((logs[i] = seglog_open(path, &cfg, 0, &err)), "%s", strata_strerror(err));
      cr_assert_leq(open_fds(), before + 16);
    }
    cr_assert_eq(c.n, 0u, "an opened log is idle: it holds no descriptor");
    for (int k = 0; k < 3; k++)
      for (int i = 0; i < MANY_LOGS; i++) {
        size_t len;
        int64_t first = seglog_end_offset(logs[i]), base;
        uint8_t *b = make_batch(first, 5, &len);
        cr_assert_eq(seglog_append(logs[i], b, len, 0, 0, &base), 0);
        free(b);
        cr_assert_eq(seglog_sync(logs[i]), 0);
        cr_assert_eq(seglog_durable_offset(logs[i]), first + 5);
        cr_assert_leq(open_fds(), before + 16);
      }
    for (int i = 0; i < MANY_LOGS; i++) {
      cr_assert_eq(seglog_end_offset(logs[i]), 15 * (round + 1));
      for (int64_t o = 0; o < seglog_end_offset(logs[i]); o += 5) check_read(logs[i], o);
    }
    cr_assert_gt(c.evictions, 0u);
    for (int i = 0; i < MANY_LOGS; i++) seglog_close(logs[i]);
    cr_assert_eq(c.n, 0u, "a closed log gives all its descriptors back");
  }
  fdcache_free(&c);
  cr_assert_eq(open_fds(), before);
}

/* A partition whose file cannot be opened again fails alone, with an error
 * return; the others sharing the cache go on. */
Test(fdcache, a_log_whose_file_cannot_reopen_fails_alone) {
  struct fdcache c;
  cr_assert_eq(fdcache_init(&c, FDCACHE_MIN), 0);
  struct seglog_config cfg;
  seglog_config_defaults(&cfg);
  cfg.fdcache = &c;
  char a_dir[512], b_dir[512], seg[600];
  snprintf(a_dir, sizeof a_dir, "%s/a", dir);
  snprintf(b_dir, sizeof b_dir, "%s/b", dir);
  int err = 0;
  struct seglog *a = seglog_open(a_dir, &cfg, 0, &err);
  struct seglog *b = seglog_open(b_dir, &cfg, 0, &err);
  cr_assert(a && b);
  size_t len;
  int64_t base;
  uint8_t *batch = make_batch(0, 5, &len);
  cr_assert_eq(seglog_append(a, batch, len, 0, 0, &base), 0);
  free(batch);
  /* a's data file goes away behind its back, and its descriptor is pushed
   * out of the cache by b's files. */
  snprintf(seg, sizeof seg, "%s/%020d.log", a_dir, 0);
  cr_assert_eq(unlink(seg), 0);
  char other[600];
  for (int i = 0; i < FDCACHE_MIN; i++) {
    struct fdcache_ref r = {0};
    snprintf(other, sizeof other, "%s/x%d", dir, i);
    cr_assert_geq(fdcache_open(&c, &r, other, O_RDWR | O_CREAT, 0644), 0);
  }
  struct seglog_slice s;
  cr_assert_eq(seglog_read(a, 0, 4096, 5, &s), STRATA_EIO);
  batch = make_batch(5, 5, &len);
  cr_assert_eq(seglog_append(a, batch, len, 0, 0, &base), STRATA_EIO);
  cr_assert_eq(seglog_end_offset(a), 5, "nothing appended");
  free(batch);
  batch = make_batch(0, 5, &len);
  cr_assert_eq(seglog_append(b, batch, len, 0, 0, &base), 0);
  free(batch);
  cr_assert_eq(seglog_sync(b), 0);
  check_read(b, 0);
  seglog_close(a);
  seglog_close(b);
  fdcache_free(&c);
}

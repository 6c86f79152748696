/* common/durable_file: replace a file so that any crash or error leaves the
 * old content or the new one, whole (docs/storage.md, "Replacing a file"). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/durable_file.h"
#include "common/errors.h"

static char dir[64];
static char path[128];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/strata-durable.XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/meta.properties", dir);
}

/* Remove dir and what the test left in it (one level, plus one subfolder). */
static void remove_all(const char *d) {
  DIR *h = opendir(d);
  if (!h) return;
  struct dirent *e;
  while ((e = readdir(h))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char p[512];
    snprintf(p, sizeof p, "%s/%s", d, e->d_name);
    if (unlink(p)) remove_all(p);
  }
  closedir(h);
  rmdir(d);
}

static void teardown(void) {
  if (dir[0]) remove_all(dir);
}

static void write_plain(const char *p, const char *text) {
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  cr_assert_eq(fclose(f), 0);
}

/* The file's whole content (at most 255 bytes), or "<missing>". */
static const char *content(const char *p) {
  static char buf[256];
  FILE *f = fopen(p, "r");
  if (!f) return "<missing>";
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

static int entries(void) {
  DIR *h = opendir(dir);
  cr_assert_not_null(h);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(h)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(h);
  return n;
}

static int temp_exists(void) {
  char tmp[160];
  snprintf(tmp, sizeof tmp, "%s" DURABLE_FILE_TMP_SUFFIX, path);
  return access(tmp, F_OK) == 0;
}

static const char OLD[] = "broker.id=1\ncluster.id=old\n";
static const char NEW[] = "broker.id=1\ncluster.id=a-longer-new-one\nversion=1\n";

Test(durable_file, replaces_the_content_and_leaves_no_temp_file, .init = setup, .fini = teardown) {
  write_plain(path, OLD);
  char err[256] = "";
  cr_assert_eq(durable_file_replace(path, NEW, strlen(NEW), err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(content(path), NEW);
  cr_assert_eq(entries(), 1, "only the file itself: no temp file left");
  cr_assert_eq(durable_file_replace(path, "x\n", 2, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(content(path), "x\n", "a shorter content leaves no tail of the longer one");
}

Test(durable_file, creates_a_file_that_did_not_exist, .init = setup, .fini = teardown) {
  cr_assert_eq(durable_file_replace(path, NEW, strlen(NEW), NULL, 0), 0);
  cr_assert_str_eq(content(path), NEW);
  cr_assert_eq(entries(), 1);
}

Test(durable_file, a_missing_directory_is_an_error_naming_the_file, .init = setup,
     .fini = teardown) {
  char p[200], err[256] = "";
  snprintf(p, sizeof p, "%s/no-such-dir/topic.properties", dir);
  cr_assert_eq(durable_file_replace(p, NEW, strlen(NEW), err, sizeof err), STRATA_EIO);
  cr_assert_eq(errno, ENOENT);
  cr_assert_not_null(strstr(err, "no-such-dir/topic.properties.tmp"), "%s", err);
  cr_assert_not_null(strstr(err, strerror(ENOENT)), "%s", err);
}

/* A full disk, as root can have it too: writes past RLIMIT_FSIZE fail (EFBIG). */
Test(durable_file, a_write_that_fails_half_way_leaves_the_old_file_intact, .init = setup,
     .fini = teardown) {
  write_plain(path, OLD);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = {.rlim_cur = 10, .rlim_max = RLIM_INFINITY};
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  char err[256] = "";
  int rc = durable_file_replace(path, NEW, strlen(NEW), err, sizeof err);
  int saved = errno;
  lim.rlim_cur = RLIM_INFINITY;
  setrlimit(RLIMIT_FSIZE, &lim);
  cr_assert_eq(rc, STRATA_EIO);
  cr_assert_eq(saved, EFBIG, "errno tells why: %s", strerror(saved));
  cr_assert_not_null(strstr(err, "cannot write"), "%s", err);
  cr_assert_str_eq(content(path), OLD);
  cr_assert_not(temp_exists(), "the torn temp file is removed");
}

Test(durable_file, a_failed_rename_leaves_the_target_and_no_temp_file, .init = setup,
     .fini = teardown) {
  /* A non-empty directory where the file should be: rename(2) refuses. */
  cr_assert_eq(mkdir(path, 0755), 0);
  char inside[200];
  snprintf(inside, sizeof inside, "%s/keep", path);
  write_plain(inside, OLD);
  char err[256] = "";
  cr_assert_eq(durable_file_replace(path, NEW, strlen(NEW), err, sizeof err), STRATA_EIO);
  cr_assert_not_null(strstr(err, "cannot rename"), "%s", err);
  cr_assert_str_eq(content(inside), OLD);
  cr_assert_not(temp_exists());
}

Test(durable_file, fsync_dir_of_a_missing_directory_fails, .init = setup, .fini = teardown) {
  char p[200];
  snprintf(p, sizeof p, "%s/gone", dir);
  cr_assert_eq(durable_file_fsync_dir(dir), 0);
  cr_assert_eq(durable_file_fsync_dir(p), STRATA_EIO);
  cr_assert_eq(errno, ENOENT);
}

/* ---- the test hook ---- */

struct plan {
  enum durable_file_step at;
  enum durable_file_fault answer;
  size_t torn_len; /* at STEP_WRITE: bytes written before the answer takes effect */
  int calls;
};

static enum durable_file_fault at_step(void *arg, const char *p, enum durable_file_step step,
                                       size_t *len) {
  struct plan *pl = arg;
  cr_assert_str_eq(p, path);
  cr_assert_eq(len != NULL, step == DURABLE_FILE_STEP_WRITE, "*len only at the write");
  pl->calls++;
  if (step != pl->at) return DURABLE_FILE_GO;
  if (len) *len = pl->torn_len;
  return pl->answer;
}

/* Replace OLD by NEW with the hook following pl. */
static int replace_with(struct plan *pl, char *err, size_t err_len) {
  write_plain(path, OLD);
  durable_file_set_hook(at_step, pl);
  int rc = durable_file_replace(path, NEW, strlen(NEW), err, err_len);
  durable_file_set_hook(NULL, NULL);
  return rc;
}

static const enum durable_file_step steps[] = {
    DURABLE_FILE_STEP_CREATE, DURABLE_FILE_STEP_WRITE, DURABLE_FILE_STEP_FSYNC,
    DURABLE_FILE_STEP_RENAME, DURABLE_FILE_STEP_FSYNC_DIR};

Test(durable_file, an_error_at_any_step_is_reported_and_leaves_one_whole_file_and_no_temp,
     .init = setup, .fini = teardown) {
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    struct plan pl = {steps[i], DURABLE_FILE_FAIL, 5, 0};
    char err[256] = "";
    int rc = replace_with(&pl, err, sizeof err);
    cr_assert_eq(rc, STRATA_EIO, "step %d", steps[i]);
    cr_assert_eq(errno, EIO);
    cr_assert_not_null(strstr(err, strerror(EIO)), "%s", err);
    cr_assert_not(temp_exists(), "step %d", steps[i]);
    if (steps[i] == DURABLE_FILE_STEP_FSYNC_DIR) {
      /* Renamed already: in place, but the caller is told it may not last. */
      cr_assert_str_eq(content(path), NEW);
      cr_assert_not_null(strstr(err, "may not survive a crash"), "%s", err);
    } else {
      cr_assert_str_eq(content(path), OLD, "step %d", steps[i]);
    }
  }
}

/* What a kill -9 at each step leaves: the old file until the rename, the new
 * one after it, never a mix; a leftover temp file (torn at the write) that
 * the next replacement simply overwrites. */
Test(durable_file, a_crash_at_any_step_leaves_the_old_or_the_new_file_never_a_mix, .init = setup,
     .fini = teardown) {
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    struct plan pl = {steps[i], DURABLE_FILE_CRASH, 7, 0};
    int rc = replace_with(&pl, NULL, 0);
    cr_assert_eq(rc, STRATA_EIO, "step %d", steps[i]);
    cr_assert_eq(pl.calls, (int)i + 1, "nothing runs after the crash");
    int renamed = steps[i] == DURABLE_FILE_STEP_FSYNC_DIR;
    cr_assert_str_eq(content(path), renamed ? NEW : OLD, "step %d", steps[i]);
    int temp_left = steps[i] != DURABLE_FILE_STEP_CREATE && !renamed;
    cr_assert_eq(temp_exists(), temp_left, "step %d", steps[i]);
    if (steps[i] == DURABLE_FILE_STEP_WRITE) {
      char tmp[160];
      snprintf(tmp, sizeof tmp, "%s" DURABLE_FILE_TMP_SUFFIX, path);
      cr_assert_eq(strlen(content(tmp)), 7u, "a torn temp file");
    }
    cr_assert_eq(durable_file_replace(path, NEW, strlen(NEW), NULL, 0), 0);
    cr_assert_str_eq(content(path), NEW);
    cr_assert_eq(entries(), 1, "the next replacement takes the leftover temp file along");
  }
}

Test(durable_file, a_short_write_is_finished, .init = setup, .fini = teardown) {
  struct plan pl = {DURABLE_FILE_STEP_WRITE, DURABLE_FILE_GO, 3, 0};
  cr_assert_eq(replace_with(&pl, NULL, 0), 0);
  cr_assert_str_eq(content(path), NEW);
}

#include "durable_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"

static durable_file_hook_fn hook;
static void *hook_arg;

void durable_file_set_hook(durable_file_hook_fn fn, void *arg) {
  hook = fn;
  hook_arg = fn ? arg : NULL;
}

/* The hook's answer for a step (GO without a hook); FAIL sets errno. */
static enum durable_file_fault fault(const char *path, enum durable_file_step step, size_t *len) {
  if (!hook) return DURABLE_FILE_GO;
  enum durable_file_fault f = hook(hook_arg, path, step, len);
  if (f == DURABLE_FILE_FAIL) errno = EIO;
  return f;
}

int durable_file_write_all(int fd, const void *data, size_t len) {
  const unsigned char *p = data;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return STRATA_EIO;
    if (w == 0) {
      errno = EIO;
      return STRATA_EIO;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int durable_file_fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return STRATA_EIO;
  int rc = fsync(fd) ? STRATA_EIO : 0;
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

/* The directory holding path: what comes before its last '/'. */
static void dir_of(const char *path, char *dir, size_t n) {
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, n, ".");
  else if (slash == path) snprintf(dir, n, "/");
  else snprintf(dir, n, "%.*s", (int)(slash - path), path);
}

/* The error line ("cannot <what> <file>: <strerror><note>"), errno kept for
 * the caller. */
static int fail(char *err, size_t err_len, const char *what, const char *file, const char *note) {
  int saved = errno;
  if (err && err_len)
    snprintf(err, err_len, "cannot %s %s: %s%s", what, file, strerror(saved), note);
  errno = saved;
  return STRATA_EIO;
}

/* An error before the rename: the temp file goes, path stays as it was. */
static int undo(int fd, const char *tmp, char *err, size_t err_len, const char *what) {
  int rc = fail(err, err_len, what, tmp, "");
  int saved = errno;
  if (fd >= 0) close(fd);
  unlink(tmp);
  errno = saved;
  return rc;
}

/* An injected crash: stop where we are, undo nothing. */
static int crash(int fd, const char *file, char *err, size_t err_len, const char *what) {
  if (fd >= 0) close(fd);
  errno = EIO;
  return fail(err, err_len, what, file, " (crash injected by the test hook)");
}

int durable_file_replace(const char *path, const void *data, size_t len, char *err,
                         size_t err_len) {
  char tmp[PATH_MAX], dir[PATH_MAX];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s" DURABLE_FILE_TMP_SUFFIX, path) >= sizeof tmp) {
    errno = ENAMETOOLONG;
    fail(err, err_len, "replace", path, " (path too long)");
    return STRATA_EINVALID_ARGUMENT;
  }
  dir_of(path, dir, sizeof dir);

  enum durable_file_fault f = fault(path, DURABLE_FILE_STEP_CREATE, NULL);
  if (f == DURABLE_FILE_CRASH) return crash(-1, tmp, err, err_len, "create");
  int fd = f ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(err, err_len, "create", tmp, "");

  size_t n = len;
  f = fault(path, DURABLE_FILE_STEP_WRITE, &n);
  if (n > len) n = len;
  if (f == DURABLE_FILE_FAIL || durable_file_write_all(fd, data, n))
    return undo(fd, tmp, err, err_len, "write");
  if (f == DURABLE_FILE_CRASH) return crash(fd, tmp, err, err_len, "write all of");
  if (durable_file_write_all(fd, (const unsigned char *)data + n, len - n))
    return undo(fd, tmp, err, err_len, "write");

  f = fault(path, DURABLE_FILE_STEP_FSYNC, NULL);
  if (f == DURABLE_FILE_CRASH) return crash(fd, tmp, err, err_len, "fsync");
  if (f || fsync(fd)) return undo(fd, tmp, err, err_len, "fsync");
  if (close(fd)) return undo(-1, tmp, err, err_len, "close");

  f = fault(path, DURABLE_FILE_STEP_RENAME, NULL);
  if (f == DURABLE_FILE_CRASH) return crash(-1, tmp, err, err_len, "rename");
  if (f || rename(tmp, path)) return undo(-1, tmp, err, err_len, "rename into place");

  f = fault(path, DURABLE_FILE_STEP_FSYNC_DIR, NULL);
  if (f == DURABLE_FILE_CRASH) return crash(-1, dir, err, err_len, "fsync the directory");
  if (f || durable_file_fsync_dir(dir))
    return fail(err, err_len, "fsync the directory", dir,
                " (the new content is in place but may not survive a crash)");
  return 0;
}

/* Replacing a small file durably: meta.properties, topic files, the producer
 * id limit, the controller's snapshot. The new content goes to a temp file in
 * the same directory (<path>.tmp), which is fsynced, renamed over <path>, and
 * then the directory is fsynced. A crash at any step leaves <path> with its
 * old content or its new one, each whole, never a mix; what each step leaves
 * and what readers must tolerate (a leftover <path>.tmp) is in docs/storage.md
 * ("Replacing a file"). One writer per path at a time (the temp name is fixed). */
#ifndef STRATA_DURABLE_FILE_H
#define STRATA_DURABLE_FILE_H

#include <stddef.h>

#define DURABLE_FILE_TMP_SUFFIX ".tmp"

/* Replace path's content with data[0, len). 0 once the new content and its
 * name are on disk. Otherwise STRATA_EIO (STRATA_EINVALID_ARGUMENT for a path
 * too long), errno as the failed call left it, and a line naming the step,
 * the file and strerror in err (err may be NULL). On an error before the
 * rename the temp file is removed and path is untouched. When only the final
 * directory fsync fails, path already shows the new content but a crash may
 * bring the old one back: the caller must not count the new one as durable. */
int durable_file_replace(const char *path, const void *data, size_t len, char *err,
                         size_t err_len);

/* fsync a directory, so that names created, renamed or removed in it survive
 * a crash. 0 or STRATA_EIO (errno set). */
int durable_file_fsync_dir(const char *dir);

/* write(2) all of data[0, len) at fd's offset, retrying short writes and
 * EINTR. 0 or STRATA_EIO (errno set). */
int durable_file_write_all(int fd, const void *data, size_t len);

/* ---- test hook: make replacements fail or tear (tests and the simulator) ----
 * The steps of one durable_file_replace, in order. */
enum durable_file_step {
  DURABLE_FILE_STEP_CREATE,    /* open <path>.tmp (O_CREAT | O_TRUNC) */
  DURABLE_FILE_STEP_WRITE,     /* write the content into it */
  DURABLE_FILE_STEP_FSYNC,     /* fsync it */
  DURABLE_FILE_STEP_RENAME,    /* rename it over <path> */
  DURABLE_FILE_STEP_FSYNC_DIR, /* fsync the directory */
};

/* What the hook answers for a step. */
enum durable_file_fault {
  DURABLE_FILE_GO = 0, /* do the step */
  DURABLE_FILE_FAIL,   /* the step fails with EIO, as a bad disk would; the error path runs */
  DURABLE_FILE_CRASH,  /* stop dead before the step: nothing more is done or undone (no
                        * cleanup), which is what a kill -9 at that point leaves on disk;
                        * returns STRATA_EIO */
};

/* Called before each step with the path being replaced. At
 * DURABLE_FILE_STEP_WRITE the hook may lower *len: that prefix is written
 * first, so DURABLE_FILE_CRASH there leaves a torn temp file (a lowered *len
 * with DURABLE_FILE_GO is a short write: the rest follows as usual). *len is
 * NULL at the other steps.
 *
 * To simulate a crash inside a replacement (say, in tests/sim): install a
 * hook that picks one call and one step from the seed and answers
 * DURABLE_FILE_CRASH, then take the node down before it does anything else
 * (its caller sees STRATA_EIO and may clean up: read the disk inside the hook,
 * or longjmp out of it back to the node's event loop and drop the node). A
 * power loss (as opposed to a kill -9) may also undo an un-fsynced rename:
 * after a crash at STEP_FSYNC_DIR, either name may survive. */
typedef enum durable_file_fault (*durable_file_hook_fn)(void *arg, const char *path,
                                                        enum durable_file_step step,
                                                        size_t *len);

/* Install (fn non-NULL) or remove (fn NULL) the hook for this process. */
void durable_file_set_hook(durable_file_hook_fn fn, void *arg);

#endif

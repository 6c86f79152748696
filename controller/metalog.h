/* The controller's metadata log on disk: records appended and fsynced before
 * they take effect, and a snapshot of the whole image every
 * METALOG_SNAPSHOT_EVERY records (after which the log starts empty).
 *   <dir>/snapshot      u32 length | u32 crc32c | MetadataImage
 *   <dir>/metadata.log  (u32 length | u32 crc32c | MetadataRecord)*
 * Recovery loads the snapshot, replays the log and cuts a torn last record
 * (cut short, or its end still zeros); a bad snapshot or any other bad record
 * stops the controller (never guess at cluster metadata). */
#ifndef STRATA_METALOG_H
#define STRATA_METALOG_H

#include <stddef.h>

#include "common/prom.h"
#include "controller/ctrl.h"

#define METALOG_SNAPSHOT_EVERY 1000
#define METALOG_RECORD_MAX (16u << 20)

struct metalog {
  char dir[4096];
  int fd;
  size_t since_snapshot;
  struct prom_histogram sync; /* each commit's write and fdatasync, for /metrics */
  uint64_t sync_errors;
  /* Quorum mode (issue 14): metalog_commit hands the records to the
   * quorum instead (controller.c's submit, qnode_submit), which appends,
   * applies and resets out; the file above stays closed. */
  int (*submit)(void *arg, struct ctrl *c, struct ctrl_out *out);
  void *submit_arg;
};

/* Open dir (created if missing) and rebuild c from it. err says why not. */
int metalog_open(struct metalog *m, const char *dir, struct ctrl *c, char *err, size_t err_len);
void metalog_close(struct metalog *m);
/* Persist records (one fdatasync for all) and apply them to c. */
int metalog_commit(struct metalog *m, struct ctrl *c, struct ctrl_out *out);

#endif

/* Producer ids of a standalone broker (in cluster mode the controller hands
 * them out). Ids are reserved in blocks: the file `producer-ids` in log.dir
 * holds the end of the reserved block, written and fsynced before any id of
 * the block is given, so a restart never hands out an id twice. */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "broker.h"
#include "common/errors.h"
#include "common/trace.h"

#define PRODUCER_ID_BLOCK 1000

static int64_t read_limit(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int64_t v = 0;
  if (fscanf(f, "%" SCNd64, &v) != 1 || v < 0) v = 0;
  fclose(f);
  return v;
}

static int write_limit(const char *dir, int64_t limit) {
  char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s/producer-ids.tmp", dir);
  snprintf(path, sizeof path, "%s/producer-ids", dir);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return STRATA_EIO;
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%" PRId64 "\n", limit);
  int ok = write(fd, buf, (size_t)n) == n && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp, path)) return STRATA_EIO;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}

int broker_next_producer_id(struct broker *b, int64_t *id) {
  if (b->producer_ids_next == b->producer_ids_limit) {
    if (b->producer_ids_limit == 0) {
      char path[PATH_MAX + 32];
      snprintf(path, sizeof path, "%s/producer-ids", b->cfg.log_dir);
      b->producer_ids_next = b->producer_ids_limit = read_limit(path);
    }
    int rc = write_limit(b->cfg.log_dir, b->producer_ids_limit + PRODUCER_ID_BLOCK);
    if (rc) {
      trace_error("cannot reserve producer ids in %s", b->cfg.log_dir);
      return rc;
    }
    b->producer_ids_limit += PRODUCER_ID_BLOCK;
  }
  *id = b->producer_ids_next++;
  return 0;
}

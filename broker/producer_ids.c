/* Producer ids of a standalone broker (in cluster mode the controller hands
 * them out). Ids are reserved in blocks: the file `producer-ids` in log.dir
 * holds the end of the reserved block, written and fsynced before any id of
 * the block is given, so a restart never hands out an id twice. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "broker.h"
#include "broker/session.h" /* PRODUCER_ID_BLOCK */
#include "common/durable_file.h"
#include "common/errors.h"
#include "common/trace.h"


static int64_t read_limit(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int64_t v = 0;
  if (fscanf(f, "%" SCNd64, &v) != 1 || v < 0) v = 0;
  fclose(f);
  return v;
}

static int write_limit(const char *dir, int64_t limit, char *err, size_t err_len) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/producer-ids", dir);
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%" PRId64 "\n", limit);
  return durable_file_replace(path, buf, (size_t)n, err, err_len);
}

int broker_next_producer_id(struct broker *b, int64_t *id) {
  if (b->producer_ids_next == b->producer_ids_limit) {
    if (b->producer_ids_limit == 0) {
      char path[PATH_MAX + 32];
      snprintf(path, sizeof path, "%s/producer-ids", b->cfg.log_dir);
      b->producer_ids_next = b->producer_ids_limit = read_limit(path);
    }
    char err[PATH_MAX + 160];
    int rc = write_limit(b->cfg.log_dir, b->producer_ids_limit + PRODUCER_ID_BLOCK, err,
                         sizeof err);
    if (rc) {
      trace_error("cannot reserve producer ids: %s", err);
      return rc;
    }
    b->producer_ids_limit += PRODUCER_ID_BLOCK;
  }
  *id = b->producer_ids_next++;
  return 0;
}

#include "drill/evidence.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/batch.h"
#include "drill/proc.h"

/* Every record of every segment of partition directory `pdir`. */
static void dump_partition(FILE *out, const char *replica, const char *pdir, unsigned partition) {
  size_t nn;
  char **names = proc_segment_files(pdir, &nn);
  if (!names) return;
  struct batch_scratch scratch = {0};
  for (size_t i = 0; i < nn; i++) {
    FILE *f = fopen(names[i], "rb");
    uint8_t *buf = NULL;
    long size = 0;
    if (f && !fseek(f, 0, SEEK_END) && (size = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) &&
        (buf = malloc((size_t)size)) && fread(buf, 1, (size_t)size, f) == (size_t)size) {
      size_t off = 0;
      while (off + BATCH_HEADER_SIZE <= (size_t)size) {
        struct batch_header h;
        if (batch_header_decode(buf + off, (size_t)size - off, &h)) break;
        size_t sz = batch_total_size(&h);
        if (sz > (size_t)size - off) break;
        struct batch_iter it;
        struct batch_record r;
        if (!batch_iter_init(&it, buf + off, sz, &scratch))
          while (batch_iter_next(&it, &r) > 0)
            fprintf(out, "L %s %u %" PRId64 " %.*s\n", replica, partition, r.offset, (int)r.value_len,
                   (const char *)r.value);
        off += sz;
      }
    }
    free(buf);
    if (f) fclose(f);
  }
  proc_free_list(names, nn);
  batch_scratch_free(&scratch);
}

int drill_dump_replica(FILE *out, const char *replica, const char *logdir, const char *topic) {
  DIR *d = opendir(logdir);
  if (!d) return -1;
  struct dirent *e;
  size_t tl = strlen(topic);
  while ((e = readdir(d))) {
    unsigned part;
    char rest[8];
    if (strncmp(e->d_name, topic, tl) || e->d_name[tl] != '-' ||
        sscanf(e->d_name + tl + 1, "%u%7s", &part, rest) != 1)
      continue;
    char pdir[4200];
    snprintf(pdir, sizeof pdir, "%s/%s", logdir, e->d_name);
    dump_partition(out, replica, pdir, part);
  }
  closedir(d);
  return 0;
}


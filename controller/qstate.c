#include "qstate.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/durable_file.h"
#include "common/errors.h"
#include "common/random_id.h"

int qstate_dir_known(const uint8_t dir[QUORUM_DIR_LEN]) {
  for (int i = 0; i < QUORUM_DIR_LEN; i++)
    if (dir[i]) return 1;
  return 0;
}

void qstate_dir_hex(const uint8_t dir[QUORUM_DIR_LEN], char out[2 * QUORUM_DIR_LEN + 1]) {
  for (int i = 0; i < QUORUM_DIR_LEN; i++) snprintf(out + 2 * i, 3, "%02x", dir[i]);
}

int qstate_dir_parse(const char *hex, uint8_t dir[QUORUM_DIR_LEN]) {
  if (strlen(hex) != 2 * QUORUM_DIR_LEN) return STRATA_EINVALID_ARGUMENT;
  for (int i = 0; i < QUORUM_DIR_LEN; i++) {
    unsigned v;
    char two[3] = {hex[2 * i], hex[2 * i + 1], 0};
    char *end;
    v = (unsigned)strtoul(two, &end, 16);
    if (*end || !isxdigit((unsigned char)two[0]) || !isxdigit((unsigned char)two[1]))
      return STRATA_EINVALID_ARGUMENT;
    dir[i] = (uint8_t)v;
  }
  return 0;
}

/* Read a small file whole (NULL, *missing 1 when it does not exist). */
static char *slurp(const char *path, int *missing) {
  *missing = 0;
  FILE *f = fopen(path, "r");
  if (!f) {
    *missing = errno == ENOENT;
    return NULL;
  }
  char *buf = calloc(1, 65536);
  size_t n = buf ? fread(buf, 1, 65535, f) : 0;
  (void)n;
  fclose(f);
  return buf;
}

int qstate_load(const char *dir, struct quorum_persisted *s, char *err, size_t err_len) {
  char path[4200];
  snprintf(path, sizeof path, "%s/quorum-state", dir);
  *s = (struct quorum_persisted){0, {-1, {0}}, -1};
  int missing;
  char *buf = slurp(path, &missing);
  if (!buf) {
    if (missing) return 0;
    snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
    return STRATA_EIO;
  }
  int epoch, vote, leader;
  char hex[64];
  int ok = sscanf(buf, "epoch %d\nvote %d %40s\nleader %d\n", &epoch, &vote, hex, &leader) == 4 &&
           epoch >= 0 && vote >= -1 && leader >= -1 && !qstate_dir_parse(hex, s->vote.dir);
  free(buf);
  if (!ok) {
    snprintf(err, err_len, "%s is damaged; refusing to guess the quorum's epoch and vote", path);
    return STRATA_ECORRUPT;
  }
  s->epoch = epoch;
  s->vote.id = vote;
  s->leader = leader;
  return 0;
}

int qstate_save(const char *dir, const struct quorum_persisted *s, char *err, size_t err_len) {
  char path[4200], buf[256], hex[2 * QUORUM_DIR_LEN + 1];
  snprintf(path, sizeof path, "%s/quorum-state", dir);
  qstate_dir_hex(s->vote.dir, hex);
  int n = snprintf(buf, sizeof buf, "epoch %d\nvote %d %s\nleader %d\n", s->epoch, s->vote.id, hex,
                   s->leader);
  return durable_file_replace(path, buf, (size_t)n, err, err_len);
}

int qstate_directory_id(const char *dir, int32_t id, uint8_t out[QUORUM_DIR_LEN], int *fresh,
                        char *err, size_t err_len) {
  char path[4200];
  snprintf(path, sizeof path, "%s/quorum-meta", dir);
  *fresh = 0;
  int missing;
  char *buf = slurp(path, &missing);
  if (buf) {
    int fid;
    char hex[64];
    int ok = sscanf(buf, "node.id %d\ndirectory.id %40s\n", &fid, hex) == 2 &&
             !qstate_dir_parse(hex, out) && qstate_dir_known(out);
    free(buf);
    if (!ok) {
      snprintf(err, err_len, "%s is damaged", path);
      return STRATA_ECORRUPT;
    }
    if (fid != id) {
      snprintf(err, err_len, "%s belongs to node %d, not node.id %d", path, fid, id);
      return STRATA_EINVALID_CONFIG;
    }
    return 0;
  }
  if (!missing) {
    snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
    return STRATA_EIO;
  }
  char hex[2 * QUORUM_DIR_LEN + 1];
  int rc = random_id_hex(hex, sizeof hex);
  if (!rc) rc = qstate_dir_parse(hex, out);
  if (rc || !qstate_dir_known(out)) {
    snprintf(err, err_len, "cannot draw a directory id");
    return rc ? rc : STRATA_EIO;
  }
  char text[128];
  int n = snprintf(text, sizeof text, "node.id %d\ndirectory.id %s\n", id, hex);
  if ((rc = durable_file_replace(path, text, (size_t)n, err, err_len))) return rc;
  *fresh = 1;
  return 0;
}

int qstate_pins_load(const char *dir, struct quorum_key *keys, uint32_t n, char *err,
                     size_t err_len) {
  char path[4200];
  snprintf(path, sizeof path, "%s/quorum-voters", dir);
  int missing;
  char *buf = slurp(path, &missing);
  if (!buf) {
    if (missing) return 0;
    snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
    return STRATA_EIO;
  }
  int rc = 0;
  for (char *line = strtok(buf, "\n"); line && !rc; line = strtok(NULL, "\n")) {
    int id;
    char hex[64];
    uint8_t d[QUORUM_DIR_LEN];
    if (sscanf(line, "%d %40s", &id, hex) != 2 || qstate_dir_parse(hex, d)) {
      snprintf(err, err_len, "%s is damaged", path);
      rc = STRATA_ECORRUPT;
      break;
    }
    for (uint32_t i = 0; i < n; i++)
      if (keys[i].id == id) memcpy(keys[i].dir, d, QUORUM_DIR_LEN);
  }
  free(buf);
  return rc;
}

int qstate_pins_save(const char *dir, const struct quorum_key *keys, uint32_t n, int32_t skip_id,
                     char *err, size_t err_len) {
  char path[4200], buf[4096], hex[2 * QUORUM_DIR_LEN + 1];
  snprintf(path, sizeof path, "%s/quorum-voters", dir);
  size_t len = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (keys[i].id == skip_id || !qstate_dir_known(keys[i].dir)) continue;
    qstate_dir_hex(keys[i].dir, hex);
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%d %s\n", keys[i].id, hex);
  }
  return durable_file_replace(path, buf, len, err, err_len);
}

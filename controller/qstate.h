/* The controller quorum's small files (issue 14), each replaced durably
 * (common/durable_file.c: tmp, fsync, rename, directory fsync):
 *   <dir>/quorum-state   "epoch E\nvote ID DIRHEX\nleader L\n": the core's
 *                        persisted state, written before any message of
 *                        the update that changed it leaves
 *   <dir>/quorum-meta    "node.id N\ndirectory.id HEX\n": this data
 *                        directory's id (KIP-853), drawn at its first start;
 *                        a wiped directory gets a new one
 *   <dir>/quorum-voters  "ID HEX\n"*: the directory id each other voter had
 *                        when we first heard from it (pinned). A voter that
 *                        comes back with another one (a wiped disk) is an
 *                        observer to us until an operator replaces it
 *                        (docs/quorum.md, "Replacing a controller").
 * Bad content is an error (never guessed), a missing file is the default. */
#ifndef STRATA_QSTATE_H
#define STRATA_QSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "controller/quorum.h"

int qstate_load(const char *dir, struct quorum_persisted *s, char *err, size_t err_len);
int qstate_save(const char *dir, const struct quorum_persisted *s, char *err, size_t err_len);

/* This directory's id for node id: read, or drawn and written when the
 * directory has none (*fresh 1). A directory of another node id is refused. */
int qstate_directory_id(const char *dir, int32_t id, uint8_t out[QUORUM_DIR_LEN], int *fresh,
                        char *err, size_t err_len);

/* Pins: fill the dir of each voter in keys[] (ids set) found in the file;
 * others stay as they are (all zero: not known yet). */
int qstate_pins_load(const char *dir, struct quorum_key *keys, uint32_t n, char *err,
                     size_t err_len);
/* Write the pins of keys[] whose dir is known (nonzero), skipping skip_id. */
int qstate_pins_save(const char *dir, const struct quorum_key *keys, uint32_t n, int32_t skip_id,
                     char *err, size_t err_len);

int qstate_dir_known(const uint8_t dir[QUORUM_DIR_LEN]);
void qstate_dir_hex(const uint8_t dir[QUORUM_DIR_LEN], char out[2 * QUORUM_DIR_LEN + 1]);
int qstate_dir_parse(const char *hex, uint8_t dir[QUORUM_DIR_LEN]);

#endif

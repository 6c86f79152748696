/* What the `strata` commands share: the bootstrap address, error printing,
 * and the command signature. */
#ifndef STRATA_CLI_COMMON_H
#define STRATA_CLI_COMMON_H

#include <stdint.h>

#include "client/cli/opts.h"
#include "client/strata.h"

#define CLI_BOOTSTRAP_DEFAULT "127.0.0.1:9092"

/* Options every command takes; commands append their own after these. */
#define CLI_COMMON_OPTS                                                        \
  {"bootstrap", 'b', OPT_VALUE, "HOST:PORT",                                   \
   "broker(s) to start from (env STRATA_BOOTSTRAP; default " CLI_BOOTSTRAP_DEFAULT ")"}, \
  {"timeout", 0, OPT_VALUE, "MS", "request timeout in ms (default 10000)"}

const char *cli_bootstrap(const struct opts *o);
int cli_timeout(struct opts *o);
/* Print "strata: <what>: <why>" to stderr and return the exit code 1. */
int cli_fail(const char *what, const char *why);
int64_t cli_now_ms(void);
int64_t cli_mono_us(void);
/* Parse "--compression none|gzip|snappy|lz4|zstd" into *out. */
int cli_compression(const char *s, int *out);
int cli_acks(const char *s, int *out);
#define CLI_COMPRESSION_OPTS                                                     \
  {"compression", 0, OPT_VALUE, "none|gzip|snappy|lz4|zstd",                   \
   "batch compression, Kafka's codecs (default none)"},                        \
  {"compression-level", 0, OPT_VALUE, "N",                                     \
   "the codec's level (default: the codec's own; gzip 1-9, lz4 3+ is HC)"}
#define CLI_COMPRESSION_USAGE "--compression must be none, gzip, snappy, lz4 or zstd"
/* Sets the producer's compression and level from --compression and
 * --compression-level; 0, or the exit code of cli_fail(what, ...). */
int cli_compression_opts(struct opts *o, const char *what, int *codec, int *level);

int cmd_bench(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_group(int argc, char **argv);
int cmd_drill(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_acl(int argc, char **argv);

#endif

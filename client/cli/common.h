/* What the `strata` commands share: the bootstrap address, the client
 * security settings (--command-config), error printing, and the command
 * signature. */
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
  {"timeout", 0, OPT_VALUE, "MS", "request timeout in ms (default 10000)"},              \
  {"command-config", 0, OPT_VALUE, "FILE",                                     \
   "TLS/SASL settings in librdkafka's names, as kcat -F reads them "           \
   "(security.protocol, ssl.*, sasl.*; env STRATA_COMMAND_CONFIG)"}

const char *cli_bootstrap(const struct opts *o);
/* --command-config after the command, else before it, else
 * STRATA_COMMAND_CONFIG; NULL when none. */
const char *cli_command_config(const struct opts *o);
/* The security settings of the command: defaults (plaintext) without a
 * file. 0, or -1 with err naming the file and the problem. */
int cli_security(const struct opts *o, strata_security *s, char *err, size_t err_len);
/* strata_*_new_secure with the command's bootstrap and security settings;
 * NULL with err set. */
strata_client *cli_client_new(const struct opts *o, int timeout_ms, char *err, size_t err_len);
strata_producer *cli_producer_new(const struct opts *o, const strata_producer_config *cfg,
                                  strata_delivery_cb cb, void *cb_arg, char *err, size_t err_len);
strata_consumer *cli_consumer_new(const struct opts *o, const strata_consumer_config *cfg,
                                  char *err, size_t err_len);
int cli_timeout(struct opts *o);
/* cli_client_new with the command's --timeout; NULL after printing
 * "strata: <what>: <why>". */
strata_client *cli_connect(struct opts *o, const char *what);
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
int cmd_controller(int argc, char **argv);
int cmd_group(int argc, char **argv);
int cmd_drill(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_acl(int argc, char **argv);

#endif

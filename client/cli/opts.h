/* Command-line option parsing for the `strata` CLI: each command declares a
 * table of options; parsing fills values by table index and refuses unknown
 * or malformed flags with one line that names the flag. */
#ifndef STRATA_CLI_OPTS_H
#define STRATA_CLI_OPTS_H

#include <stddef.h>
#include <stdint.h>

#define OPTS_MAX 32
#define OPTS_MULTI_MAX 64
#define OPTS_POSITIONAL_MAX 8
#define OPTS_ERR_MAX 256

enum opt_kind { OPT_FLAG, OPT_VALUE, OPT_MULTI };

struct opt {
  const char *name; /* long name without "--" */
  char short_name;  /* 0 for none */
  enum opt_kind kind;
  const char *metavar;
  const char *help;
};

struct opts {
  const struct opt *table;
  size_t count;
  int present[OPTS_MAX];
  const char *value[OPTS_MAX];
  const char *multi[OPTS_MAX][OPTS_MULTI_MAX];
  size_t multi_count[OPTS_MAX];
  const char *positional[OPTS_POSITIONAL_MAX];
  size_t positional_count;
  int help;
  char err[OPTS_ERR_MAX];
};

/* Parse argv[0..argc). "--help"/"-h" sets o->help. "--name=value" and
 * "--name value" both work. Returns 0 or -1 with o->err set. */
int opts_parse(struct opts *o, const struct opt *table, size_t count, int argc,
               char **argv);
/* The options in front of a command (`strata --bootstrap H:P topic list`):
 * parses argv[0..argc) like opts_parse up to the first word that is not an
 * option of table (the command), or past a "--". Returns that word's index
 * (argc when there is none), or -1 with o->err set (an option table does not
 * have, or one missing its value). */
int opts_parse_leading(struct opts *o, const struct opt *table, size_t count, int argc,
                       char **argv);

int opts_has(const struct opts *o, const char *name);
const char *opts_str(const struct opts *o, const char *name, const char *def);
/* Integer with bounds; -1 and o->err set when malformed or out of range.
 * Accepts k/m/g suffixes (x1000) when `suffixes` is set. */
int opts_i64(struct opts *o, const char *name, int64_t def, int64_t min,
             int64_t max, int suffixes, int64_t *out);
int opts_double(struct opts *o, const char *name, double def, double min,
                double max, double *out);
size_t opts_multi(const struct opts *o, const char *name,
                  const char *const **values);

/* Print "usage: strata USAGE" and the option table to stdout. */
void opts_print_help(const char *usage, const char *summary,
                     const struct opt *table, size_t count);

/* Parse a timestamp: milliseconds since the epoch, or ISO-8601 UTC
 * "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (the Z may be omitted). 0 or -1. */
int opts_parse_timestamp(const char *s, int64_t *ms);

#endif

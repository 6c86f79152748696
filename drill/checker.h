/* The history checker of the fault drills: from what the workload did and
 * saw (writes with their outcome and offset, reads, partition ownership,
 * commits) and the final logs of every replica, decide whether DESIGN.md's
 * safety properties 1-5 held. Reports acknowledged writes lost, duplicates,
 * reorders, replica disagreements, partitions with two owners, commits
 * going backwards, and unavailability windows; as a short text verdict and
 * a JSON report. Pure: histories in, findings out.
 *
 * History lines (one event each, times in microseconds):
 *   W <invoke> <complete> <partition> <value> ok <offset>   acknowledged write
 *   W <invoke> <complete> <partition> <value> fail          refused or unknown
 *   R <time> <member> <partition> <offset> <value>          a consumer read it
 *   O <from> <to> <member> <generation> <partition>         owned during [from, to)
 *   C <time> <group> <partition> <offset> [<invoke>]        committed offset seen in effect at
 *                                                           <time> (asked for at <invoke>)
 *   L <replica> <partition> <offset> <value>                final replica log
 *   S <replica> <partition> <offset>                        that log starts there (retention)
 * Values are unique per write (the workload makes them so). */
#ifndef STRATA_CHECKER_H
#define STRATA_CHECKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct checker;

struct checker_config {
  int64_t unavailable_us; /* a gap between acknowledged writes of a partition
                             longer than this is an unavailability window */
};

struct checker *checker_new(const struct checker_config *cfg);
void checker_free(struct checker *c);
/* One history line; 0, or -1 for a malformed line (counted, never fatal). */
int checker_add_line(struct checker *c, const char *line);
int checker_add_file(struct checker *c, FILE *f);

struct checker_result {
  uint64_t writes_ok, writes_failed, reads;
  uint64_t lost;             /* acknowledged, missing from a replica or at another offset */
  uint64_t duplicated;       /* a value at two offsets of one replica */
  uint64_t reordered;        /* acknowledged before another was invoked, yet at a later offset */
  uint64_t disagreements;    /* two replicas, one offset, different values */
  uint64_t double_owners;    /* overlapping ownership of one partition, same generation */
  uint64_t commits_backwards;
  uint64_t bad_reads;        /* a read of a value at an offset no replica has it at */
  uint64_t skipped;          /* acknowledged, below the group's last commit, never read */
  uint64_t expired;          /* acknowledged, then deleted by retention on every replica (not a loss) */
  uint64_t malformed;
  uint64_t windows;          /* unavailability windows */
  int64_t longest_window_us;
};

/* Run every check. */
void checker_run(struct checker *c, struct checker_result *r);
/* "OK: ..." or "VIOLATION: ..." with the counts, and up to `examples` of
 * each finding. */
void checker_print_verdict(const struct checker *c, const struct checker_result *r, FILE *out,
                           int examples);
void checker_print_json(const struct checker *c, const struct checker_result *r, FILE *out);
/* 1 when a safety property failed (unavailability alone is not one). */
int checker_violated(const struct checker_result *r);

#endif

/* Logging with levels, one line per event to stderr:
 *   2026-11-24T03:30:08.123Z INFO  broker-1 seglog.c:120 recovered ...
 * Named trace_* so that "log" keeps meaning the partition log. */
#ifndef STRATA_TRACE_H
#define STRATA_TRACE_H

enum trace_level { TRACE_ERROR = 0, TRACE_WARN, TRACE_INFO, TRACE_DEBUG };

void trace_set_level(enum trace_level level);
enum trace_level trace_get_level(void);
/* "error", "warn", "info", "debug" (case-insensitive). 0 or STRATA_EINVALID_CONFIG. */
int trace_level_parse(const char *s, enum trace_level *out);
/* Process name printed on every line (copied; e.g. "broker-1"). */
void trace_set_name(const char *name);

void trace_emit(enum trace_level level, const char *file, int line,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define trace_at_(lvl, ...)                                                    \
  do {                                                                         \
    if ((lvl) <= trace_get_level())                                            \
      trace_emit((lvl), __FILE__, __LINE__, __VA_ARGS__);                      \
  } while (0)
#define trace_error(...) trace_at_(TRACE_ERROR, __VA_ARGS__)
#define trace_warn(...) trace_at_(TRACE_WARN, __VA_ARGS__)
#define trace_info(...) trace_at_(TRACE_INFO, __VA_ARGS__)
#define trace_debug(...) trace_at_(TRACE_DEBUG, __VA_ARGS__)

#endif

#include "trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"

static enum trace_level level = TRACE_INFO;
static int level_from_env_done;
static char proc_name[64] = "strata";

static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

int trace_level_parse(const char *s, enum trace_level *out) {
  for (int i = 0; i <= TRACE_DEBUG; i++)
    if (!strcasecmp(s, names[i])) {
      *out = (enum trace_level)i;
      return 0;
    }
  return STRATA_EINVALID_CONFIG;
}

void trace_set_level(enum trace_level l) {
  level_from_env_done = 1;
  level = l;
}

/* STRATA_LOG_LEVEL sets the starting level, so tests and scripts can turn on
 * debug output without a config change. */
enum trace_level trace_get_level(void) {
  if (!level_from_env_done) {
    level_from_env_done = 1;
    const char *e = getenv("STRATA_LOG_LEVEL");
    enum trace_level l;
    if (e && !trace_level_parse(e, &l)) level = l;
  }
  return level;
}

void trace_set_name(const char *name) {
  snprintf(proc_name, sizeof proc_name, "%s", name);
}

/* One write(2) per line, so lines from several threads or processes sharing
 * a log file never interleave. */
void trace_emit(enum trace_level l, const char *file, int line, const char *fmt, ...) {
  char buf[2048];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  int n = snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s %s:%d ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, ts.tv_nsec / 1000000, names[l], proc_name, base, line);
  if (n < 0) return;
  if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (m < 0) m = 0;
  size_t len = (size_t)n + (size_t)m;
  if (len > sizeof buf - 2) len = sizeof buf - 2;
  buf[len++] = '\n';
  ssize_t w = write(2, buf, len);
  (void)w;
}

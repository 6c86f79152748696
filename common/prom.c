#include "common/prom.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

const double prom_bounds[PROM_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                          0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                          1,      2.5,     5,      10};

void prom_observe(struct prom_histogram *h, double seconds) {
  int i = 0;
  while (i < PROM_BUCKETS && seconds > prom_bounds[i]) i++;
  h->counts[i]++;
  h->count++;
  h->sum += seconds;
}

void prom_family(struct textbuf *t, const char *name, const char *type, const char *help) {
  textbuf_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_sample_u(struct textbuf *t, const char *name, uint64_t v) {
  textbuf_printf(t, "%s %llu\n", name, (unsigned long long)v);
}

void prom_sample_i(struct textbuf *t, const char *name, int64_t v) {
  textbuf_printf(t, "%s %lld\n", name, (long long)v);
}

void prom_sample_d(struct textbuf *t, const char *name, double v) {
  textbuf_printf(t, "%s %.9g\n", name, v);
}

void prom_histogram_write(struct textbuf *t, const char *name, const char *labels,
                          const struct prom_histogram *h) {
  const char *sep = *labels ? "," : "";
  uint64_t cum = 0;
  for (int i = 0; i < PROM_BUCKETS; i++) {
    cum += h->counts[i];
    textbuf_printf(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, prom_bounds[i],
                   (unsigned long long)cum);
  }
  textbuf_printf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                 (unsigned long long)h->count);
  if (*labels) {
    textbuf_printf(t, "%s_sum{%s} %.9g\n", name, labels, h->sum);
    textbuf_printf(t, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->count);
  } else {
    textbuf_printf(t, "%s_sum %.9g\n", name, h->sum);
    textbuf_printf(t, "%s_count %llu\n", name, (unsigned long long)h->count);
  }
}

/* Seconds since the epoch at boot, from /proc/stat's btime. */
static long long boot_time(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return 0;
  char line[256];
  long long bt = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "btime %lld", &bt) == 1) break;
  fclose(f);
  return bt;
}

static long count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  long n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the one opendir holds */
}

void prom_process(struct textbuf *t) {
  FILE *f = fopen("/proc/self/stat", "r");
  char buf[1024];
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  /* Fields after the command name, which may hold spaces: from the last ')'. */
  const char *p = strrchr(buf, ')');
  unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
  long long rss = 0;
  if (p &&
      sscanf(p + 2,
             "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
             "%llu %llu %lld",
             &utime, &stime, &start, &vsize, &rss) != 5)
    utime = stime = start = vsize = 0, rss = 0;
  double tick = (double)sysconf(_SC_CLK_TCK);
  long page = sysconf(_SC_PAGESIZE);
  prom_family(t, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
  prom_sample_d(t, "process_cpu_seconds_total", (double)(utime + stime) / tick);
  prom_family(t, "process_start_time_seconds", "gauge",
              "Start time of the process since the Unix epoch in seconds.");
  prom_sample_d(t, "process_start_time_seconds", (double)boot_time() + (double)start / tick);
  prom_family(t, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  prom_sample_i(t, "process_resident_memory_bytes", rss * page);
  prom_family(t, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  prom_sample_u(t, "process_virtual_memory_bytes", vsize);
  prom_family(t, "process_open_fds", "gauge", "Number of open file descriptors.");
  prom_sample_i(t, "process_open_fds", count_fds());
  struct rlimit rl;
  prom_family(t, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
  prom_sample_i(t, "process_max_fds",
                getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ? -1
                                                                             : (int64_t)rl.rlim_cur);
}

void prom_disk(struct textbuf *t, const char *dir) {
  struct statvfs sv;
  int ok = !statvfs(dir, &sv);
  prom_family(t, "strata_storage_disk_free_bytes", "gauge",
              "Bytes available to the server on its data directory's file system.");
  prom_sample_u(t, "strata_storage_disk_free_bytes", ok ? (uint64_t)sv.f_bavail * sv.f_frsize : 0);
  prom_family(t, "strata_storage_disk_total_bytes", "gauge",
              "Size of the data directory's file system in bytes.");
  prom_sample_u(t, "strata_storage_disk_total_bytes", ok ? (uint64_t)sv.f_blocks * sv.f_frsize : 0);
}

void prom_tls(struct textbuf *t, int64_t cert_not_after, uint64_t handshake_failures) {
  if (cert_not_after <= 0) return;
  prom_family(t, "strata_tls_certificate_expiry_timestamp_seconds", "gauge",
              "When the TLS listeners' certificate expires (Unix time; SIGHUP reloads it).");
  textbuf_printf(t, "strata_tls_certificate_expiry_timestamp_seconds{kind=\"cert\"} %lld\n",
                 (long long)cert_not_after);
  prom_family(t, "strata_tls_handshake_failures_total", "counter",
              "TLS handshakes that failed or missed their deadline.");
  textbuf_printf(t, "strata_tls_handshake_failures_total %llu\n",
                 (unsigned long long)handshake_failures);
}

void prom_connections(struct textbuf *t, size_t client_open, uint64_t client_opened,
                      uint64_t client_refused, const struct http_server_stats *admin) {
  prom_family(t, "strata_connections", "gauge", "Open connections by listener.");
  textbuf_printf(t, "strata_connections{listener=\"client\"} %zu\n", client_open);
  textbuf_printf(t, "strata_connections{listener=\"admin\"} %zu\n", admin->open);
  prom_family(t, "strata_connections_opened_total", "counter", "Connections accepted by listener.");
  textbuf_printf(t, "strata_connections_opened_total{listener=\"client\"} %llu\n",
                 (unsigned long long)client_opened);
  textbuf_printf(t, "strata_connections_opened_total{listener=\"admin\"} %llu\n",
                 (unsigned long long)admin->opened);
  prom_family(t, "strata_connections_rejected_total", "counter",
              "Connections the server closed before answering, by listener and reason.");
  textbuf_printf(t,
                 "strata_connections_rejected_total{listener=\"client\",reason=\"max_connections\"} "
                 "%llu\n",
                 (unsigned long long)client_refused);
  textbuf_printf(t,
                 "strata_connections_rejected_total{listener=\"admin\",reason=\"max_connections\"} "
                 "%llu\n",
                 (unsigned long long)(admin->refused_full + admin->evicted));
  textbuf_printf(t,
                 "strata_connections_rejected_total{listener=\"admin\",reason=\"bad_request\"} %llu\n",
                 (unsigned long long)admin->bad_request);
  textbuf_printf(t, "strata_connections_rejected_total{listener=\"admin\",reason=\"timeout\"} %llu\n",
                 (unsigned long long)admin->timed_out);
}

void prom_authentications(struct textbuf *t, uint64_t success, uint64_t failure) {
  prom_family(t, "strata_authentications_total", "counter",
              "SASL authentications on SASL listeners, by result.");
  textbuf_printf(t, "strata_authentications_total{result=\"success\"} %llu\n",
                 (unsigned long long)success);
  textbuf_printf(t, "strata_authentications_total{result=\"failure\"} %llu\n",
                 (unsigned long long)failure);
}

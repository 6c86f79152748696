#include "client/cli/sensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const site_names[SENSOR_SITES] = {
    "plant-a", "plant-b", "warehouse-c", "cold-store-d", "lab-e"};
/* Cold storage runs cold and dry, the lab warm: sites differ visibly. */
static const double site_temp[SENSOR_SITES] = {22.0, 24.5, 17.0, 3.5, 21.0};
static const double site_hum[SENSOR_SITES] = {45.0, 50.0, 60.0, 30.0, 40.0};

const char *sensors_site_name(unsigned site) {
  return site < SENSOR_SITES ? site_names[site] : "unknown";
}

/* splitmix64: tiny, seedable, good enough for demo data. */
static uint64_t next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *s) {
  return (double)(next_u64(s) >> 11) / 9007199254740992.0;
}

int sensors_init(struct sensor_fleet *f, unsigned count, uint64_t seed) {
  if (count == 0 || count > SENSORS_MAX)
    return -1;
  f->sensors = calloc(count, sizeof *f->sensors);
  if (!f->sensors)
    return -1;
  f->count = count;
  f->rng = seed;
  for (unsigned i = 0; i < count; i++) {
    struct sensor_state *s = &f->sensors[i];
    s->site = i % SENSOR_SITES;
    s->temp_base = site_temp[s->site] + (uniform(&f->rng) - 0.5) * 3.0;
    s->hum_base = site_hum[s->site] + (uniform(&f->rng) - 0.5) * 10.0;
    s->temperature = s->temp_base;
    s->humidity = s->hum_base;
  }
  return 0;
}

void sensors_free(struct sensor_fleet *f) {
  free(f->sensors);
  f->sensors = NULL;
  f->count = 0;
}

size_t sensors_next(struct sensor_fleet *f, int64_t ts_ms, char *key,
                    size_t key_cap, size_t *key_len, char *json,
                    size_t json_cap) {
  unsigned i = (unsigned)(next_u64(&f->rng) % f->count);
  struct sensor_state *s = &f->sensors[i];
  /* Mean-reverting random walk: readings wander but stay plausible. */
  s->temperature += (s->temp_base - s->temperature) * 0.05 +
                    (uniform(&f->rng) - 0.5) * 0.4;
  s->humidity +=
      (s->hum_base - s->humidity) * 0.05 + (uniform(&f->rng) - 0.5) * 1.0;
  int k = snprintf(key, key_cap, "s-%04u", i);
  *key_len = k > 0 && (size_t)k < key_cap ? (size_t)k : 0;
  int n = snprintf(json, json_cap,
                   "{\"sensor_id\":\"s-%04u\",\"ts\":%lld,\"temperature\":%.2f,"
                   "\"humidity\":%.2f,\"site\":\"%s\"}",
                   i, (long long)ts_ms, s->temperature, s->humidity,
                   site_names[s->site]);
  return n > 0 && (size_t)n < json_cap ? (size_t)n : 0;
}

/* Finds `"name":` in json[0..len) and returns a pointer just after it. */
static const char *field(const char *json, size_t len, const char *name) {
  size_t nlen = strlen(name);
  for (size_t i = 0; i + nlen + 3 <= len; i++) {
    if (json[i] == '"' && memcmp(json + i + 1, name, nlen) == 0 &&
        json[i + 1 + nlen] == '"' && json[i + 2 + nlen] == ':')
      return json + i + 3 + nlen;
  }
  return NULL;
}

static int number(const char *p, const char *end, double *out) {
  char buf[40];
  size_t n = 0;
  while (p < end && n + 1 < sizeof buf &&
         (strchr("0123456789+-.eE", *p) != NULL))
    buf[n++] = *p++;
  if (n == 0)
    return -1;
  buf[n] = 0;
  char *e;
  *out = strtod(buf, &e);
  return *e == 0 ? 0 : -1;
}

int sensors_parse(const char *json, size_t len, struct sensor_reading *r) {
  const char *end = json + len;
  const char *p = field(json, len, "site");
  if (!p || p >= end || *p != '"')
    return -1;
  p++;
  size_t n = 0;
  while (p < end && *p != '"' && n + 1 < sizeof r->site)
    r->site[n++] = *p++;
  if (p >= end || *p != '"' || n == 0)
    return -1;
  r->site[n] = 0;
  double ts;
  if (!(p = field(json, len, "temperature")) || number(p, end, &r->temperature))
    return -1;
  if (!(p = field(json, len, "humidity")) || number(p, end, &r->humidity))
    return -1;
  if (!(p = field(json, len, "ts")) || number(p, end, &ts))
    return -1;
  r->ts = (int64_t)ts;
  return 0;
}

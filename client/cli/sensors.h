/* The demo's IoT sensor simulator and the reader side of its summary: a fleet
 * of sensors spread over sites, each drifting around its own baseline, that
 * emit JSON readings such as
 *   {"sensor_id":"s-0042","ts":1764000000000,"temperature":21.43,
 *    "humidity":40.20,"site":"plant-a"}
 * Deterministic for a seed, so demos and tests repeat. */
#ifndef STRATA_CLI_SENSORS_H
#define STRATA_CLI_SENSORS_H

#include <stddef.h>
#include <stdint.h>

#define SENSORS_MAX 100000
#define SENSOR_SITES 5
#define SENSOR_JSON_MAX 192

struct sensor_state {
  double temperature, humidity;
  double temp_base, hum_base;
  unsigned site;
};

struct sensor_fleet {
  struct sensor_state *sensors;
  unsigned count;
  uint64_t rng;
};

const char *sensors_site_name(unsigned site);
int sensors_init(struct sensor_fleet *f, unsigned count, uint64_t seed);
void sensors_free(struct sensor_fleet *f);
/* Next reading of a random sensor at time ts_ms: writes the key ("s-0042")
 * and the JSON value; returns the value length. */
size_t sensors_next(struct sensor_fleet *f, int64_t ts_ms, char *key,
                    size_t key_cap, size_t *key_len, char *json,
                    size_t json_cap);

/* A parsed reading; parsing is strict about the fields it needs and never
 * reads past len. 0 or -1 for a record that is not a sensor reading. */
struct sensor_reading {
  char site[32];
  double temperature, humidity;
  int64_t ts;
};
int sensors_parse(const char *json, size_t len, struct sensor_reading *r);

#endif

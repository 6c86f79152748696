/* Shared by the unit tests that drive a whole broker (struct broker) in a
 * temp dir: its configuration from key/value pairs, checked and opened. */
#ifndef STRATA_BROKER_FIXTURE_H
#define STRATA_BROKER_FIXTURE_H

#include <criterion/criterion.h>

#include "broker/broker.h"
#include "broker/broker_config.h"
#include "common/config.h"

/* Broker 1 with its log in dir, plus the NULL-terminated key, value pairs
 * in kv, opened at now_ms into *b (cfg keeps the parsed configuration for
 * tests that reopen the broker). */
static inline void broker_fixture_open(struct broker *b, struct broker_config *cfg,
                                       const char *dir, const char *const *kv, int64_t now_ms) {
  struct config *c = config_new();
  cr_assert(c);
  config_set(c, "broker.id", "1");
  config_set(c, "log.dir", dir);
  for (; kv && kv[0]; kv += 2) config_set(c, kv[0], kv[1]);
  char err[256];
  cr_assert_eq(broker_config_from(c, cfg, err, sizeof err), 0, "%s", err);
  config_free(c);
  cr_assert_eq(broker_open(b, cfg, now_ms, now_ms, err, sizeof err), 0, "%s", err);
}

#endif

/* common/topic_config: topic names and per-topic configs, as the controller
 * checks them before recording a topic and the broker applies them. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/config.h"
#include "common/errors.h"
#include "common/topic_config.h"

Test(topic_config, names_are_1_to_249_of_a_small_alphabet_and_not_dot_or_dotdot) {
  cr_assert_eq(topic_name_check("iot_sensor-data.v2"), 0);
  char longest[TOPIC_NAME_MAX + 2];
  memset(longest, 'a', sizeof longest);
  longest[TOPIC_NAME_MAX] = 0;
  cr_assert_eq(topic_name_check(longest), 0);
  longest[TOPIC_NAME_MAX] = 'a';
  longest[TOPIC_NAME_MAX + 1] = 0;
  cr_assert_eq(topic_name_check(longest), STRATA_EINVALID_TOPIC);
  cr_assert_eq(topic_name_check(""), STRATA_EINVALID_TOPIC);
  cr_assert_eq(topic_name_check("."), STRATA_EINVALID_TOPIC);
  cr_assert_eq(topic_name_check(".."), STRATA_EINVALID_TOPIC);
  cr_assert_eq(topic_name_check("a/b"), STRATA_EINVALID_TOPIC);
}

Test(topic_config, validate_refuses_unknown_keys_and_values_out_of_range_naming_the_key) {
  char err[256] = "";
  const char *keys[] = {"min.insync.replicas", "segment.bytes"};
  const char *good[] = {"2", "1m"};
  cr_assert_eq(topic_configs_validate(keys, good, 2, err, sizeof err), 0, "%s", err);
  const char *small[] = {"2", "1k"};
  cr_assert_eq(topic_configs_validate(keys, small, 2, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert_not_null(strstr(err, "segment.bytes"), "%s", err);
  const char *typo[] = {"retention.msec"};
  const char *v[] = {"1000"};
  cr_assert_eq(topic_configs_validate(typo, v, 1, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert_not_null(strstr(err, "retention.msec"), "%s", err);
}

Test(topic_config, apply_keeps_the_callers_defaults_for_keys_not_given) {
  struct topic_config tc = {.retention_ms = 7, .segment_bytes = 1u << 20, .max_message_bytes = 4096,
                            .min_insync = 9, .unclean = 1};
  struct config *c = config_new();
  cr_assert_not_null(c);
  config_set(c, "retention.ms", "-1");
  config_set(c, "message.timestamp.type", "LogAppendTime");
  char err[256] = "";
  cr_assert_eq(topic_config_apply(&tc, c, err, sizeof err), 0, "%s", err);
  config_free(c);
  cr_assert_eq(tc.retention_ms, -1);
  cr_assert_eq(tc.segment_bytes, 1u << 20);
  cr_assert_eq(tc.max_message_bytes, 4096u);
  cr_assert_eq(tc.ts_type, TS_LOG_APPEND_TIME);
  cr_assert_eq(tc.min_insync, 1u, "min.insync.replicas defaults to 1");
  cr_assert_eq(tc.unclean, 0, "unclean election defaults to off");
}

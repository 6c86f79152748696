/* The authorizer's three settings (acl.h), read the same way by the broker
 * and the controller so one properties file means the same on both. */
#include <stdio.h>
#include <string.h>

#include "common/acl.h"
#include "common/config.h"
#include "common/errors.h"

int authorizer_settings_from(const struct config *c, int *enabled, char *super_users,
                             size_t super_users_len, int *allow_if_no_acl, char *err,
                             size_t err_len) {
  int rc;
  if ((rc = config_get_bool(c, "authorizer.enabled", 0, enabled, err, err_len)) ||
      (rc = config_get_bool(c, "allow.everyone.if.no.acl.found", 0, allow_if_no_acl, err,
                            err_len)))
    return rc;
  const char *su = config_get(c, "super.users");
  if (!su) su = "";
  if (strlen(su) >= super_users_len) {
    snprintf(err, err_len, "super.users: longer than %zu bytes", super_users_len - 1);
    return STRATA_EINVALID_CONFIG;
  }
  struct authorizer_config tmp = {0};
  rc = authorizer_set_super_users(&tmp, su, err, err_len);
  authorizer_config_free(&tmp);
  if (rc) return rc == STRATA_ENOMEM ? rc : STRATA_EINVALID_CONFIG;
  snprintf(super_users, super_users_len, "%s", su);
  return 0;
}

int authorizer_startup_check(int enabled, const char *super_users, int authenticates,
                             char *err, size_t err_len) {
  if (!enabled || !authenticates) return 0;
  for (const char *p = super_users ? super_users : ""; *p; p++)
    if (*p != ';' && *p != ' ' && *p != '\t') return 0;
  snprintf(err, err_len,
           "authorizer.enabled=true on an authenticating listener needs super.users "
           "(e.g. super.users=User:admin with the controller's --bootstrap-user admin): "
           "without one nobody could grant the first ACL");
  return STRATA_EINVALID_CONFIG;
}

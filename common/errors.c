#include "errors.h"

#define ROW_MSG_(name, code, msg) [code] = msg,
#define ROW_NAME_(name, code, msg) [code] = #name,
static const char *const messages[STRATA_ERROR_CODE_MAX + 1] = {
    STRATA_ERROR_TABLE(ROW_MSG_)};
static const char *const names[STRATA_ERROR_CODE_MAX + 1] = {
    STRATA_ERROR_TABLE(ROW_NAME_)};
#undef ROW_MSG_
#undef ROW_NAME_

static unsigned code_index(int err) {
  long c = err < 0 ? -(long)err : (long)err;
  if (c > STRATA_ERROR_CODE_MAX || messages[c] == 0)
    return 1; /* UNKNOWN */
  return (unsigned)c;
}

const char *strata_strerror(int err) { return messages[code_index(err)]; }

const char *strata_errname(int err) { return names[code_index(err)]; }

int strata_error_from_wire(unsigned code) {
  if (code > STRATA_ERROR_CODE_MAX || messages[code] == 0)
    return STRATA_EUNKNOWN;
  return -(int)code;
}

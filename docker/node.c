/* strata-node: the container entrypoint. STRATA_ROLE (broker, the default,
 * or controller) picks the program; settings come from STRATA_<KEY>
 * environment variables (read by the programs themselves) and, when
 * STRATA_CONFIG_FILE names a mounted properties file, from it; arguments
 * are passed on. Data lives in /data unless told otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *role = getenv("STRATA_ROLE");
  if (!role || !*role) role = "broker";
  const char *prog;
  if (!strcmp(role, "broker")) {
    prog = "/bin/strata-broker";
    setenv("STRATA_LOG_DIR", "/data", 0);
  } else if (!strcmp(role, "controller")) {
    prog = "/bin/strata-controller";
    setenv("STRATA_DATA_DIR", "/data", 0);
  } else {
    fprintf(stderr, "strata-node: STRATA_ROLE must be broker or controller, not '%s'\n", role);
    return 2;
  }
  char **args = calloc((size_t)argc + 3, sizeof *args);
  if (!args) return 1;
  int n = 0;
  args[n++] = (char *)prog;
  const char *file = getenv("STRATA_CONFIG_FILE");
  if (file && *file) {
    args[n++] = (char *)"--config";
    args[n++] = (char *)file;
  }
  for (int i = 1; i < argc; i++) args[n++] = argv[i];
  args[n] = NULL;
  execv(prog, args);
  perror(prog);
  return 127;
}

/* strata controller add-voter | remove-voter: replacing a controller of the
 * quorum (KIP-853). A controller whose disk was wiped comes back with a new
 * directory id, as an observer (docs/quorum.md); the operator removes the
 * old (id, directory id) voter and adds the new one once it has caught up.
 * Both go to the active controller (--bootstrap: the controllers, hints
 * followed) and return once the change is committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/common.h"

static const struct opt add_opts[] = {
    CLI_COMMON_OPTS,
    {"id", 0, OPT_VALUE, "N", "the controller's node.id (required)"},
    {"directory-id", 0, OPT_VALUE, "HEX",
     "its data directory's id, 32 hex digits, as `strata cluster status` lists it (required)"},
    {"address", 0, OPT_VALUE, "HOST:PORT", "its quorum listener (add-voter; required)"},
};

static int voter_cmd(int add, int argc, char **argv) {
  const char *what = add ? "controller add-voter" : "controller remove-voter";
  struct opts o;
  size_t nopt = sizeof add_opts / sizeof add_opts[0] - (add ? 0 : 1);
  if (opts_parse(&o, add_opts, nopt, argc, argv)) return cli_fail(what, o.err);
  if (o.help) {
    if (add)
      opts_print_help("controller add-voter --id N --directory-id HEX --address HOST:PORT",
                      "Make a caught-up observer controller a voter of the quorum (KIP-853). "
                      "--bootstrap names the controllers.",
                      add_opts, nopt);
    else
      opts_print_help("controller remove-voter --id N --directory-id HEX",
                      "Remove a voter (node id and directory id) from the controller quorum "
                      "(KIP-853). --bootstrap names the controllers.",
                      add_opts, nopt);
    return 0;
  }
  int64_t id;
  if (!opts_has(&o, "id") || !opts_has(&o, "directory-id") || (add && !opts_has(&o, "address")))
    return cli_fail(what, add ? "--id, --directory-id and --address are required"
                              : "--id and --directory-id are required");
  if (opts_i64(&o, "id", 0, 0, 1 << 30, 0, &id)) return cli_fail(what, o.err);
  char host[256] = "";
  long port = 0;
  if (add) {
    const char *a = opts_str(&o, "address", "");
    const char *colon = strrchr(a, ':');
    char *end;
    port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == a || (size_t)(colon - a) >= sizeof host || *end || port < 1 ||
        port > 65535)
      return cli_fail(what, "--address is HOST:PORT (the controller's quorum listener)");
    snprintf(host, sizeof host, "%.*s", (int)(colon - a), a);
  }
  int t = cli_timeout(&o);
  if (t < 0) return cli_fail(what, o.err);
  char err[512];
  strata_client *c = cli_client_new(&o, t, err, sizeof err);
  if (!c) return cli_fail(what, err);
  const char *dir = opts_str(&o, "directory-id", "");
  int rc = add ? strata_controller_add_voter(c, (int32_t)id, dir, host, (int)port, err, sizeof err)
               : strata_controller_remove_voter(c, (int32_t)id, dir, err, sizeof err);
  strata_client_free(c);
  if (rc) {
    char why[700];
    snprintf(why, sizeof why, "%s (%s)", err[0] ? err : strata_strerror(rc), strata_errname(rc));
    return cli_fail(what, why);
  }
  printf("controller %lld (directory id %s) %s the voters; the change is committed\n",
         (long long)id, dir, add ? "added to" : "removed from");
  return 0;
}

int cmd_controller(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : "";
  if (!strcmp(sub, "add-voter")) return voter_cmd(1, argc - 2, argv + 2);
  if (!strcmp(sub, "remove-voter")) return voter_cmd(0, argc - 2, argv + 2);
  int help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
  fprintf(help ? stdout : stderr, "usage: strata controller add-voter|remove-voter [--help]\n");
  return help ? 0 : 2;
}

/* strata user create | delete | list: SCRAM users, kept by the controller.
 * The password is read from stdin or --password-file, never from argv
 * (/proc shows argv to everyone), and the keys are derived here
 * (scram_credential_make): the password never leaves this host, and the
 * cluster stores only salt, iterations, StoredKey and ServerKey. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "client/cli/common.h"
#include "common/scram.h"

#define PASSWORD_MAX 1024

static const struct opt create_opts[] = {
    CLI_COMMON_OPTS,
    {"mechanism", 'm', OPT_VALUE, "MECH",
     "SCRAM-SHA-256, SCRAM-SHA-512, or both (default both)"},
    {"iterations", 'i', OPT_VALUE, "N", "PBKDF2 iterations, 4096..16384 (default 4096)"},
    {"password-file", 0, OPT_VALUE, "FILE",
     "read the password from FILE's first line (default: from stdin)"},
    {"password", 0, OPT_VALUE, "-", "refused: argv is visible to every user of this host"},
};
static const struct opt delete_opts[] = {
    CLI_COMMON_OPTS,
    {"mechanism", 'm', OPT_VALUE, "MECH",
     "remove only this credential (default: the user, every mechanism)"},
};
static const struct opt list_opts[] = {CLI_COMMON_OPTS};

static int parse(struct opts *o, const struct opt *t, size_t n, int argc, char **argv,
                 const char *what, const char *usage, const char *summary, size_t min_pos,
                 size_t max_pos, int *done) {
  *done = 0;
  if (opts_parse(o, t, n, argc, argv)) return cli_fail(what, o->err);
  if (o->help) {
    opts_print_help(usage, summary, t, n);
    *done = 1;
    return 0;
  }
  if (o->positional_count < min_pos || o->positional_count > max_pos) {
    fprintf(stderr, "usage: strata %s (try --help)\n", usage);
    return 2;
  }
  return 0;
}

/* Which mechanisms: out[0..n). 0, or -1 for a name that is none. */
static int mechanisms(const char *s, enum scram_mech out[2], size_t *n) {
  *n = 0;
  if (!s || !strcmp(s, "both") || !strcmp(s, "all")) {
    out[(*n)++] = SCRAM_SHA_256;
    out[(*n)++] = SCRAM_SHA_512;
    return 0;
  }
  enum scram_mech m = scram_mech_parse(s);
  if (!m) return -1;
  out[(*n)++] = m;
  return 0;
}

/* The first line of f (without its newline) into buf. 0, or -1 when there
 * is none or it is too long. */
static int read_password(FILE *f, char *buf, size_t cap, size_t *len) {
  if (!fgets(buf, (int)cap, f)) return -1;
  size_t n = strlen(buf);
  if (n == cap - 1 && buf[n - 1] != '\n') return -1;
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = 0;
  *len = n;
  return n ? 0 : -1;
}

/* From a terminal: ask, and do not echo what is typed. */
static int read_password_tty(char *buf, size_t cap, size_t *len) {
  struct termios old, quiet;
  int tty = tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    fprintf(stderr, "Password: ");
  }
  int rc = read_password(stdin, buf, cap, len);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
  }
  return rc;
}

static int user_create(int argc, char **argv) {
  struct opts o;
  int done;
  int rc = parse(&o, create_opts, sizeof create_opts / sizeof create_opts[0], argc, argv,
                 "user create", "user create NAME [--mechanism M] [--iterations N] "
                 "[--password-file FILE] < password",
                 "Create a SCRAM user, or set a new password for one. The password comes from "
                 "stdin (its first line) or --password-file, never the command line; the keys "
                 "are derived here and only they are sent.",
                 1, 1, &done);
  if (rc || done) return rc;
  if (opts_has(&o, "password"))
    return cli_fail("user create", "--password is refused: a command line is visible to every "
                                   "user of this host; use stdin or --password-file");
  enum scram_mech mechs[2];
  size_t nm;
  if (mechanisms(opts_str(&o, "mechanism", NULL), mechs, &nm))
    return cli_fail("user create", "--mechanism must be SCRAM-SHA-256, SCRAM-SHA-512 or both");
  int64_t iters;
  if (opts_i64(&o, "iterations", SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MIN,
               SCRAM_ITERATIONS_MAX, 0, &iters))
    return cli_fail("user create", o.err);
  const char *file = opts_str(&o, "password-file", NULL);
  char pw[PASSWORD_MAX + 2];
  size_t pwlen = 0;
  FILE *f = file ? fopen(file, "r") : stdin;
  if (!f) {
    char why[512];
    snprintf(why, sizeof why, "%s: %s", file, strerror(errno));
    return cli_fail("user create", why);
  }
  int bad = file ? read_password(f, pw, sizeof pw, &pwlen)
                 : read_password_tty(pw, sizeof pw, &pwlen);
  if (file) fclose(f);
  if (bad)
    return cli_fail("user create", "no password read (an empty line, or over 1024 bytes)");
  const char *name = o.positional[0];
  strata_client *c = cli_connect(&o, "user create");
  if (!c) {
    memset(pw, 0, sizeof pw);
    return 1;
  }
  for (size_t i = 0; i < nm && !rc; i++) {
    struct scram_credential cred;
    rc = scram_credential_make(mechs[i], pw, pwlen, (int32_t)iters, NULL, 0, &cred);
    if (rc) {
      cli_fail("user create", strata_strerror(rc));
      break;
    }
    char err[512] = "";
    rc = strata_user_upsert(c, name, mechs[i], cred.iterations, cred.salt, cred.salt_len,
                            cred.stored_key, cred.server_key, cred.key_len, err, sizeof err);
    memset(&cred, 0, sizeof cred);
    if (rc) {
      char why[700];
      snprintf(why, sizeof why, "%s: %s", name, err[0] ? err : strata_strerror(rc));
      cli_fail("user create", why);
    } else {
      printf("user %s: %s credential set (%lld iterations)\n", name, scram_mech_name(mechs[i]),
             (long long)iters);
    }
  }
  memset(pw, 0, sizeof pw);
  strata_client_free(c);
  return rc ? 1 : 0;
}

static int user_delete(int argc, char **argv) {
  struct opts o;
  int done;
  int rc = parse(&o, delete_opts, sizeof delete_opts / sizeof delete_opts[0], argc, argv,
                 "user delete", "user delete NAME [--mechanism M]",
                 "Delete a user (every credential), or one credential with --mechanism.", 1, 1,
                 &done);
  if (rc || done) return rc;
  int mech = 0;
  const char *m = opts_str(&o, "mechanism", NULL);
  if (m && !(mech = (int)scram_mech_parse(m)))
    return cli_fail("user delete", "--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512");
  strata_client *c = cli_connect(&o, "user delete");
  if (!c) return 1;
  char err[512] = "";
  rc = strata_user_delete(c, o.positional[0], mech, err, sizeof err);
  strata_client_free(c);
  if (rc == STRATA_ERESOURCE_NOT_FOUND)
    return cli_fail("user delete", m ? "no such user or credential" : "no such user");
  if (rc) return cli_fail("user delete", err[0] ? err : strata_strerror(rc));
  if (m)
    printf("user %s: %s credential deleted\n", o.positional[0], scram_mech_name(mech));
  else
    printf("deleted user %s\n", o.positional[0]);
  return 0;
}

static int user_list(int argc, char **argv) {
  struct opts o;
  int done;
  int rc = parse(&o, list_opts, sizeof list_opts / sizeof list_opts[0], argc, argv, "user list",
                 "user list [NAME...]",
                 "Users and their SCRAM mechanisms and iterations (never salts or keys).", 0,
                 OPTS_POSITIONAL_MAX, &done);
  if (rc || done) return rc;
  strata_client *c = cli_connect(&o, "user list");
  if (!c) return 1;
  strata_user_info *v = NULL;
  size_t n = 0;
  rc = strata_user_list(c, o.positional_count ? o.positional : NULL, o.positional_count, &v,
                        &n);
  strata_client_free(c);
  if (rc && rc != STRATA_ERESOURCE_NOT_FOUND) return cli_fail("user list", strata_strerror(rc));
  for (size_t i = 0; i < n; i++) {
    printf("%s", v[i].name);
    if (!v[i].ncredentials) printf("\t(no such user)");
    for (size_t k = 0; k < v[i].ncredentials; k++)
      printf("%s%s(iterations=%d)", k ? "," : "\t", scram_mech_name(v[i].mechanisms[k]),
             (int)v[i].iterations[k]);
    printf("\n");
  }
  strata_user_list_free(v, n);
  return rc ? 1 : 0;
}

int cmd_user(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : "";
  if (!strcmp(sub, "create")) return user_create(argc - 2, argv + 2);
  if (!strcmp(sub, "delete")) return user_delete(argc - 2, argv + 2);
  if (!strcmp(sub, "list")) return user_list(argc - 2, argv + 2);
  int help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
  fprintf(help ? stdout : stderr, "usage: strata user create|delete|list [--help]\n");
  return help ? 0 : 2;
}

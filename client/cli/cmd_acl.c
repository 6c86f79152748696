/* strata acl add | list | remove, after kafka-acls: principals allowed or
 * denied operations from hosts on topics, groups, the cluster or
 * transactional ids, by literal name or prefix; --producer and --consumer
 * add the ACLs those clients need. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/common.h"
#include "common/acl.h"

#define RESOURCE_OPTS                                                                    \
  {"topic", 't', OPT_MULTI, "TOPIC", "a topic (repeatable; \"*\" is every topic)"},       \
  {"group", 'g', OPT_MULTI, "GROUP", "a consumer group (repeatable; \"*\" is every group)"}, \
  {"cluster", 0, OPT_FLAG, NULL, "the cluster"},                                          \
  {"transactional-id", 0, OPT_MULTI, "ID", "a transactional id (repeatable)"},            \
  {"resource-pattern-type", 0, OPT_VALUE, "TYPE",                                         \
   "literal or prefixed (add, remove; default literal); list and remove also take any "    \
   "and match"},                                                                          \
  {"allow-principal", 0, OPT_MULTI, "P", "principal allowed, User:NAME (repeatable)"},    \
  {"deny-principal", 0, OPT_MULTI, "P", "principal denied, User:NAME (repeatable)"},      \
  {"allow-host", 0, OPT_MULTI, "IP", "host the allowed principals may come from (default *)"}, \
  {"deny-host", 0, OPT_MULTI, "IP", "host the denied principals are denied from (default *)"}, \
  {"operation", 0, OPT_MULTI, "OP",                                                       \
   "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, "        \
   "AlterConfigs, IdempotentWrite, All (repeatable; add default All)"}

static const struct opt add_opts[] = {
    CLI_COMMON_OPTS,
    RESOURCE_OPTS,
    {"producer", 0, OPT_FLAG, NULL, "what a producer needs: Write, Describe, Create on the topics"},
    {"consumer", 0, OPT_FLAG, NULL,
     "what a consumer needs: Read, Describe on the topics, Read on the group (needs --group)"},
};
static const struct opt list_opts[] = {
    CLI_COMMON_OPTS,
    RESOURCE_OPTS,
    {"principal", 0, OPT_MULTI, "P", "only ACLs of this principal (repeatable)"},
};
static const struct opt remove_opts[] = {CLI_COMMON_OPTS, RESOURCE_OPTS};

#define ACLS_MAX 4096

struct resource {
  uint8_t type;
  const char *name;
};

/* --topic/--group/--cluster/--transactional-id into v; the count. */
static size_t resources(const struct opts *o, struct resource *v, size_t cap) {
  static const struct {
    const char *opt;
    uint8_t type;
  } kinds[] = {{"topic", ACL_RES_TOPIC},
               {"group", ACL_RES_GROUP},
               {"transactional-id", ACL_RES_TRANSACTIONAL_ID}};
  size_t n = 0;
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    const char *const *vals;
    size_t m = opts_multi(o, kinds[k].opt, &vals);
    for (size_t i = 0; i < m && n < cap; i++) v[n++] = (struct resource){kinds[k].type, vals[i]};
  }
  if (opts_has(o, "cluster") && n < cap) v[n++] = (struct resource){ACL_RES_CLUSTER, ACL_CLUSTER_NAME};
  return n;
}

/* --operation values into ops; 0 or -1 (an unknown name, in *bad). */
static int operations(const struct opts *o, uint8_t *ops, size_t *n, const char **bad) {
  const char *const *vals;
  size_t m = opts_multi(o, "operation", &vals);
  *n = 0;
  for (size_t i = 0; i < m; i++) {
    int op = acl_op_parse(vals[i]);
    if (op <= 0 || op == ACL_OP_ANY) {
      *bad = vals[i];
      return -1;
    }
    ops[(*n)++] = (uint8_t)op;
  }
  return 0;
}

static int pattern_of(const struct opts *o, uint8_t def, int filter, uint8_t *out) {
  const char *s = opts_str(o, "resource-pattern-type", NULL);
  if (!s) {
    *out = def;
    return 0;
  }
  int pat = acl_pattern_parse(s);
  if (pat <= 0) return -1;
  *out = (uint8_t)pat;
  if (!filter && *out != ACL_PAT_LITERAL && *out != ACL_PAT_PREFIXED) return -1;
  return 0;
}

static void print_acl(const strata_acl *a) {
  printf("%s:%s:%s\t%s\t%s\t%s\t%s\n", acl_resource_name((int)a->resource_type),
         acl_pattern_name((int)a->pattern_type), a->resource_name, a->principal, a->host,
         acl_op_name((int)a->operation), acl_perm_name((int)a->permission));
}

/* The (principal, permission, host) triples of --allow-principal/--deny-principal
 * with their hosts, into v (principal, host, perm); the count. */
struct who {
  const char *principal, *host;
  uint8_t perm;
};
static size_t whos(const struct opts *o, struct who *v, size_t cap) {
  size_t n = 0;
  static const struct {
    const char *popt, *hopt;
    uint8_t perm;
  } sides[] = {{"allow-principal", "allow-host", ACL_PERM_ALLOW},
               {"deny-principal", "deny-host", ACL_PERM_DENY}};
  for (size_t s = 0; s < 2; s++) {
    const char *const *ps, *const *hs;
    size_t np = opts_multi(o, sides[s].popt, &ps);
    size_t nh = opts_multi(o, sides[s].hopt, &hs);
    static const char *const star[] = {"*"};
    if (!nh) {
      hs = star;
      nh = 1;
    }
    for (size_t i = 0; i < np; i++)
      for (size_t h = 0; h < nh && n < cap; h++) v[n++] = (struct who){ps[i], hs[h], sides[s].perm};
  }
  return n;
}

/* One ACL per (principal, host) for resource r and operation op. */
static void push(strata_acl *v, size_t *n, const struct resource *r, uint8_t pat,
                 const struct who *w, size_t nw, uint8_t op) {
  for (size_t k = 0; k < nw && *n < ACLS_MAX; k++)
    v[(*n)++] = (strata_acl){r->type, (char *)r->name, pat, (char *)w[k].principal,
                             (char *)w[k].host, op, w[k].perm};
}

static int parse_cmd(struct opts *o, const struct opt *t, size_t n, int argc, char **argv,
                     const char *what, const char *usage, const char *summary, int *done) {
  *done = 0;
  if (opts_parse(o, t, n, argc, argv)) return cli_fail(what, o->err);
  if (o->help) {
    opts_print_help(usage, summary, t, n);
    *done = 1;
    return 0;
  }
  if (o->positional_count) {
    fprintf(stderr, "usage: strata %s (try --help)\n", usage);
    return 2;
  }
  return 0;
}

static int acl_add(int argc, char **argv) {
  struct opts o;
  int done;
  int rc = parse_cmd(&o, add_opts, sizeof add_opts / sizeof add_opts[0], argc, argv, "acl add",
                     "acl add --allow-principal P|--deny-principal P [--operation OP]... "
                     "--topic T|--group G|--cluster|--transactional-id ID ... | --producer|--consumer",
                     "Add ACLs: each principal gets each operation on each resource.", &done);
  if (rc || done) return rc;
  struct resource res[OPTS_MULTI_MAX * 3 + 1];
  size_t nres = resources(&o, res, sizeof res / sizeof res[0]);
  struct who w[OPTS_MULTI_MAX * 4];
  size_t nw = whos(&o, w, sizeof w / sizeof w[0]);
  uint8_t ops[OPTS_MULTI_MAX];
  size_t nops;
  const char *bad = NULL;
  if (operations(&o, ops, &nops, &bad)) {
    char why[256];
    snprintf(why, sizeof why, "unknown operation '%s'", bad);
    return cli_fail("acl add", why);
  }
  uint8_t pat;
  if (pattern_of(&o, ACL_PAT_LITERAL, 0, &pat))
    return cli_fail("acl add", "--resource-pattern-type must be literal or prefixed");
  if (!nw) return cli_fail("acl add", "--allow-principal or --deny-principal is required");
  int producer = opts_has(&o, "producer"), consumer = opts_has(&o, "consumer");
  if (!nres) return cli_fail("acl add", "name a resource: --topic, --group, --cluster or --transactional-id");
  if (consumer && !opts_has(&o, "group"))
    return cli_fail("acl add", "--consumer needs --group (the consumer's group)");
  if ((producer || consumer) && nops)
    return cli_fail("acl add", "--producer/--consumer choose the operations; leave out --operation");
  strata_acl *v = calloc(ACLS_MAX, sizeof *v);
  if (!v) return cli_fail("acl add", "out of memory");
  size_t n = 0;
  for (size_t i = 0; i < nres; i++) {
    const struct resource *r = &res[i];
    if (producer || consumer) {
      if (r->type == ACL_RES_TOPIC && producer) {
        push(v, &n, r, pat, w, nw, ACL_OP_WRITE);
        push(v, &n, r, pat, w, nw, ACL_OP_DESCRIBE);
        push(v, &n, r, pat, w, nw, ACL_OP_CREATE);
      }
      if (r->type == ACL_RES_TOPIC && consumer) {
        push(v, &n, r, pat, w, nw, ACL_OP_READ);
        push(v, &n, r, pat, w, nw, ACL_OP_DESCRIBE);
      }
      if (r->type == ACL_RES_GROUP && consumer) push(v, &n, r, pat, w, nw, ACL_OP_READ);
      continue;
    }
    if (!nops) push(v, &n, r, pat, w, nw, ACL_OP_ALL);
    for (size_t k = 0; k < nops; k++) push(v, &n, r, pat, w, nw, ops[k]);
  }
  if (!n) {
    free(v);
    return cli_fail("acl add", "no ACL to add (--producer/--consumer apply to --topic and --group)");
  }
  strata_client *c = cli_connect(&o, "acl add");
  if (!c) {
    free(v);
    return 1;
  }
  int *errs = calloc(n, sizeof *errs);
  char err[512] = "";
  rc = errs ? strata_acl_create(c, v, n, errs, err, sizeof err) : STRATA_ENOMEM;
  strata_client_free(c);
  if (rc && errs && !errs[0] && !err[0]) snprintf(err, sizeof err, "%s", strata_strerror(rc));
  for (size_t i = 0; errs && i < n; i++) {
    if (errs[i]) continue;
    printf("added: ");
    print_acl(&v[i]);
  }
  free(v);
  free(errs);
  if (rc) return cli_fail("acl add", err[0] ? err : strata_strerror(rc));
  return 0;
}

static int acl_list(int argc, char **argv) {
  struct opts o;
  int done;
  int rc = parse_cmd(&o, list_opts, sizeof list_opts / sizeof list_opts[0], argc, argv,
                     "acl list", "acl list [--topic T|--group G|--cluster|--transactional-id ID] "
                     "[--resource-pattern-type any|match|literal|prefixed] [--principal P]",
                     "List ACLs (all, or those on the named resources; with --resource-pattern-type "
                     "match, every ACL that applies to them).", &done);
  if (rc || done) return rc;
  struct resource res[OPTS_MULTI_MAX * 3 + 1];
  size_t nres = resources(&o, res, sizeof res / sizeof res[0]);
  uint8_t pat;
  if (pattern_of(&o, ACL_PAT_ANY, 1, &pat))
    return cli_fail("acl list", "--resource-pattern-type must be any, match, literal or prefixed");
  const char *const *princ;
  size_t nprinc = opts_multi(&o, "principal", &princ);
  strata_client *c = cli_connect(&o, "acl list");
  if (!c) return 1;
  size_t nf = nres ? nres : 1;
  for (size_t i = 0; i < nf && !rc; i++) {
    for (size_t p = 0; p < (nprinc ? nprinc : 1) && !rc; p++) {
      strata_acl f = {ACL_RES_ANY, NULL, pat, NULL, NULL, ACL_OP_ANY, ACL_PERM_ANY};
      if (nres) {
        f.resource_type = res[i].type;
        f.resource_name = (char *)res[i].name;
      }
      if (nprinc) f.principal = (char *)princ[p];
      strata_acl *v = NULL;
      size_t n = 0;
      rc = strata_acl_list(c, &f, &v, &n);
      for (size_t k = 0; k < n; k++) print_acl(&v[k]);
      strata_acl_list_free(v, n);
    }
  }
  strata_client_free(c);
  if (rc) return cli_fail("acl list", strata_strerror(rc));
  return 0;
}

static int acl_remove(int argc, char **argv) {
  struct opts o;
  int done;
  int rc = parse_cmd(&o, remove_opts, sizeof remove_opts / sizeof remove_opts[0], argc, argv,
                     "acl remove", "acl remove --topic T|--group G|--cluster|--transactional-id ID "
                     "[--allow-principal P|--deny-principal P] [--operation OP]...",
                     "Remove ACLs on the named resources: those of the given principals and "
                     "operations, or every one.", &done);
  if (rc || done) return rc;
  struct resource res[OPTS_MULTI_MAX * 3 + 1];
  size_t nres = resources(&o, res, sizeof res / sizeof res[0]);
  if (!nres)
    return cli_fail("acl remove", "name a resource: --topic, --group, --cluster or --transactional-id");
  struct who w[OPTS_MULTI_MAX * 4];
  size_t nw = whos(&o, w, sizeof w / sizeof w[0]);
  uint8_t ops[OPTS_MULTI_MAX];
  size_t nops;
  const char *bad = NULL;
  if (operations(&o, ops, &nops, &bad)) {
    char why[256];
    snprintf(why, sizeof why, "unknown operation '%s'", bad);
    return cli_fail("acl remove", why);
  }
  uint8_t pat;
  if (pattern_of(&o, ACL_PAT_LITERAL, 1, &pat))
    return cli_fail("acl remove", "--resource-pattern-type must be any, match, literal or prefixed");
  strata_client *c = cli_connect(&o, "acl remove");
  if (!c) return 1;
  size_t removed = 0;
  for (size_t i = 0; i < nres && !rc; i++)
    for (size_t k = 0; k < (nw ? nw : 1) && !rc; k++)
      for (size_t p = 0; p < (nops ? nops : 1) && !rc; p++) {
        strata_acl f = {res[i].type, (char *)res[i].name, pat, NULL, NULL, ACL_OP_ANY,
                        ACL_PERM_ANY};
        if (nw) {
          f.principal = (char *)w[k].principal;
          f.host = (char *)w[k].host;
          f.permission = w[k].perm;
        }
        if (nops) f.operation = ops[p];
        strata_acl *v = NULL;
        size_t n = 0;
        char err[512] = "";
        rc = strata_acl_delete(c, &f, &v, &n, err, sizeof err);
        for (size_t m = 0; m < n; m++) {
          printf("removed: ");
          print_acl(&v[m]);
        }
        removed += n;
        strata_acl_list_free(v, n);
        if (rc) cli_fail("acl remove", err[0] ? err : strata_strerror(rc));
      }
  strata_client_free(c);
  if (rc) return 1;
  if (!removed) printf("no ACL matched\n");
  return 0;
}

int cmd_acl(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : "";
  if (!strcmp(sub, "add")) return acl_add(argc - 2, argv + 2);
  if (!strcmp(sub, "list")) return acl_list(argc - 2, argv + 2);
  if (!strcmp(sub, "remove")) return acl_remove(argc - 2, argv + 2);
  int help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
  fprintf(help ? stdout : stderr, "usage: strata acl add|list|remove [--help]\n");
  return help ? 0 : 2;
}

/* kafka_gen: reads the Kafka message schema tables (kafka/schema/NAME.ks, the
 * format in kafka/schema/FORMAT.md) and writes one C header and one C file:
 * a struct per message and per nested struct, and a descriptor table per
 * struct that kafka/codec.c walks to decode and encode every version. The
 * tables are the only per-message source; nothing else is written by hand.
 *
 *   kafka_gen OUT.h OUT.c FILE.ks...
 *
 * Strict: any line it cannot read stops the build naming file:line. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXF 64   /* fields per struct */
#define MAXS 2048 /* structs in all */
#define MAXA 128  /* apis */
#define VMAX 32767

struct gfield;

struct gstruct {
  char cname[160]; /* C type name, without "struct " */
  char sname[64];  /* schema struct name (dedup key within one message side) */
  struct gfield *f[MAXF];
  int n;
  int emitted;
};

struct gfield {
  char name[64];  /* schema name (CamelCase) */
  char cname[64]; /* snake_case */
  char type[64];  /* as written, minus [] */
  int array;      /* []TYPE */
  const char *kind; /* KF_* */
  int vmin, vmax, nmin, nmax, tag;
  long long def;
  int def_null;
  struct gstruct *sub;
};

struct gapi {
  int key;
  char name[64], snake[64];
  int vmin, vmax, fmin;
  struct gstruct *req, *resp;
};

static struct gstruct *structs[MAXS];
static int nstructs;
static struct gapi apis[MAXA];
static int napis;
static const char *cur_file;
static int cur_line;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s:%d: ", cur_file ? cur_file : "kafka_gen", cur_line);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void *xcalloc(size_t n) {
  void *p = calloc(1, n);
  if (!p) die("out of memory");
  return p;
}

/* CamelCase to snake_case: "TopicId" -> "topic_id", "ISRNodes" -> "isr_nodes". */
static void snake(const char *in, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; in[i] && o + 2 < cap; i++) {
    unsigned char c = (unsigned char)in[i];
    if (isupper(c)) {
      int prev_lower = i > 0 && (islower((unsigned char)in[i - 1]) || isdigit((unsigned char)in[i - 1]));
      int next_lower = in[i + 1] && islower((unsigned char)in[i + 1]);
      int prev_upper = i > 0 && isupper((unsigned char)in[i - 1]);
      if (o > 0 && (prev_lower || (prev_upper && next_lower))) out[o++] = '_';
      out[o++] = (char)tolower(c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o] = 0;
}

static int is_keyword(const char *s) {
  static const char *kw[] = {"auto", "break", "case", "char", "const", "continue", "default",
                             "do", "double", "else", "enum", "extern", "float", "for", "goto",
                             "if", "inline", "int", "long", "register", "restrict", "return",
                             "short", "signed", "sizeof", "static", "struct", "switch",
                             "typedef", "union", "unsigned", "void", "volatile", "while",
                             "bool", "true", "false", NULL};
  for (int i = 0; kw[i]; i++)
    if (!strcmp(s, kw[i])) return 1;
  return 0;
}

/* "3+", "0-2", "5", "none" */
static void parse_range(const char *s, int *lo, int *hi) {
  char *end;
  if (!strcmp(s, "none")) {
    *lo = 1, *hi = 0;
    return;
  }
  long a = strtol(s, &end, 10);
  if (end == s || a < 0 || a > 1000) die("bad version range '%s'", s);
  if (!strcmp(end, "+")) {
    *lo = (int)a, *hi = VMAX;
  } else if (*end == '-') {
    char *e2;
    long b = strtol(end + 1, &e2, 10);
    if (e2 == end + 1 || *e2 || b < a || b > 1000) die("bad version range '%s'", s);
    *lo = (int)a, *hi = (int)b;
  } else if (!*end) {
    *lo = *hi = (int)a;
  } else {
    die("bad version range '%s'", s);
  }
}

static const char *scalar_kind(const char *t) {
  static const char *map[][2] = {{"bool", "KF_BOOL"},     {"int8", "KF_INT8"},
                                 {"int16", "KF_INT16"},   {"uint16", "KF_UINT16"},
                                 {"int32", "KF_INT32"},   {"uint32", "KF_UINT32"},
                                 {"int64", "KF_INT64"},   {"float64", "KF_FLOAT64"},
                                 {"uuid", "KF_UUID"},     {"string", "KF_STRING"},
                                 {"bytes", "KF_BYTES"},   {"records", "KF_RECORDS"}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(t, map[i][0])) return map[i][1];
  return NULL;
}

static const char *c_type(const struct gfield *f) {
  static char buf[200];
  if (f->sub) {
    snprintf(buf, sizeof buf, "struct %s", f->sub->cname);
    return buf;
  }
  static const char *map[][2] = {{"KF_BOOL", "bool"},        {"KF_INT8", "int8_t"},
                                 {"KF_INT16", "int16_t"},    {"KF_UINT16", "uint16_t"},
                                 {"KF_INT32", "int32_t"},    {"KF_UINT32", "uint32_t"},
                                 {"KF_INT64", "int64_t"},    {"KF_FLOAT64", "double"},
                                 {"KF_UUID", "struct kuuid"}, {"KF_STRING", "const char *"},
                                 {"KF_BYTES", "struct kbytes"}, {"KF_RECORDS", "struct kbytes"}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(f->kind, map[i][0])) return map[i][1];
  die("no C type for %s", f->kind);
  return NULL;
}

static int same_struct(const struct gstruct *a, const struct gstruct *b);

static int same_field(const struct gfield *a, const struct gfield *b) {
  if (strcmp(a->name, b->name) || strcmp(a->type, b->type) || a->array != b->array ||
      a->vmin != b->vmin || a->vmax != b->vmax || a->nmin != b->nmin || a->nmax != b->nmax ||
      a->tag != b->tag || a->def != b->def || a->def_null != b->def_null)
    return 0;
  if (!a->sub != !b->sub) return 0;
  return !a->sub || same_struct(a->sub, b->sub);
}

static int same_struct(const struct gstruct *a, const struct gstruct *b) {
  if (a->n != b->n) return 0;
  for (int i = 0; i < a->n; i++)
    if (!same_field(a->f[i], b->f[i])) return 0;
  return 1;
}

/* ---- reading a .ks file ---- */

struct line {
  int indent, lineno;
  char *tok[16];
  int ntok;
};

static struct line *lines;
static int nlines, caplines;

static void read_file(const char *path) {
  FILE *fp = fopen(path, "r");
  if (!fp) {
    perror(path);
    exit(1);
  }
  char buf[1024];
  int lineno = 0;
  nlines = 0;
  while (fgets(buf, sizeof buf, fp)) {
    lineno++;
    cur_line = lineno;
    size_t len = strlen(buf);
    if (len && buf[len - 1] != '\n' && !feof(fp)) die("line too long");
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
      buf[--len] = 0;
    int ind = 0;
    while (buf[ind] == ' ') ind++;
    if (buf[ind] == '\t') die("tab in indentation");
    if (!buf[ind] || buf[ind] == '#') continue;
    if (ind % 2) die("indentation of %d spaces (must be a multiple of 2)", ind);
    if (nlines == caplines) {
      caplines = caplines ? caplines * 2 : 256;
      lines = realloc(lines, (size_t)caplines * sizeof *lines);
      if (!lines) die("out of memory");
    }
    struct line *l = &lines[nlines++];
    memset(l, 0, sizeof *l);
    l->indent = ind / 2;
    l->lineno = lineno;
    char *save = NULL, *copy = strdup(buf + ind);
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
      if (l->ntok == 16) die("too many words");
      l->tok[l->ntok++] = t;
    }
  }
  fclose(fp);
}

static struct gstruct *new_struct(const char *prefix, const char *sname) {
  if (nstructs == MAXS) die("too many structs");
  struct gstruct *s = xcalloc(sizeof *s);
  char sn[64];
  snake(sname, sn, sizeof sn);
  snprintf(s->cname, sizeof s->cname, "%s%s%s", prefix, *sn ? "_" : "", sn);
  snprintf(s->sname, sizeof s->sname, "%s", sname);
  structs[nstructs++] = s;
  return s;
}

/* Structs already made for this message side, by schema name (commonStructs
 * appear inline at each use and must be identical). */
static struct gstruct *side[256];
static int nside;

/* Parse lines [*i, ...) at `depth` into s's fields. */
static void parse_fields(struct gstruct *s, int *i, int depth, const char *prefix) {
  while (*i < nlines && lines[*i].indent == depth) {
    struct line *l = &lines[*i];
    cur_line = l->lineno;
    if (l->ntok < 3) die("a field needs NAME TYPE VERSIONS");
    if (s->n == MAXF) die("too many fields");
    struct gfield *f = xcalloc(sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", l->tok[0]);
    snake(f->name, f->cname, sizeof f->cname);
    if (is_keyword(f->cname)) strcat(f->cname, "_");
    const char *t = l->tok[1];
    if (!strncmp(t, "[]", 2)) f->array = 1, t += 2;
    snprintf(f->type, sizeof f->type, "%s", t);
    parse_range(l->tok[2], &f->vmin, &f->vmax);
    f->nmin = 1, f->nmax = 0, f->tag = -1;
    for (int k = 3; k < l->ntok; k++) {
      const char *a = l->tok[k];
      if (!strncmp(a, "nullable=", 9)) parse_range(a + 9, &f->nmin, &f->nmax);
      else if (!strncmp(a, "tag=", 4)) f->tag = atoi(a + 4);
      else if (!strcmp(a, "default=null")) f->def_null = 1;
      else if (!strcmp(a, "default=true")) f->def = 1;
      else if (!strcmp(a, "default=false")) f->def = 0;
      else if (!strncmp(a, "default=", 8)) {
        char *end;
        f->def = strtoll(a + 8, &end, 0);
        if (end == a + 8 || *end) die("bad default '%s'", a);
      } else die("unknown attribute '%s'", a);
    }
    for (int k = 0; k < s->n; k++)
      if (!strcmp(s->f[k]->cname, f->cname)) die("field %s twice", f->name);
    (*i)++;
    f->kind = scalar_kind(f->type);
    int has_children = *i < nlines && lines[*i].indent == depth + 1;
    if (f->kind) {
      if (has_children) die("scalar field %s has indented fields", f->name);
      if (f->array && (!strcmp(f->type, "bytes") || !strcmp(f->type, "records")))
        die("arrays of %s are not supported", f->type);
    } else {
      if (!isupper((unsigned char)f->type[0])) die("unknown type '%s'", f->type);
      if (!has_children) die("struct %s has no fields", f->type);
      f->kind = "KF_STRUCT";
      struct gstruct *sub = new_struct(prefix, f->type);
      parse_fields(sub, i, depth + 1, prefix);
      struct gstruct *prev = NULL;
      for (int k = 0; k < nside; k++)
        if (!strcmp(side[k]->sname, f->type)) prev = side[k];
      if (prev) {
        if (!same_struct(prev, sub)) die("struct %s defined twice, differently", f->type);
        sub->emitted = -1; /* a duplicate: use prev */
        f->sub = prev;
      } else {
        if (nside == 256) die("too many structs in one message");
        side[nside++] = sub;
        f->sub = sub;
      }
    }
    s->f[s->n++] = f;
  }
  if (*i < nlines && lines[*i].indent > depth) {
    cur_line = lines[*i].lineno;
    die("unexpected indentation");
  }
}

static void parse_file(const char *path) {
  cur_file = path;
  read_file(path);
  if (!nlines) die("empty schema file");
  struct line *h = &lines[0];
  cur_line = h->lineno;
  if (h->ntok != 7 || strcmp(h->tok[0], "api") || strcmp(h->tok[3], "valid") ||
      strcmp(h->tok[5], "flexible") || h->indent)
    die("first line must be: api KEY NAME valid RANGE flexible RANGE");
  if (napis == MAXA) die("too many apis");
  struct gapi *a = &apis[napis++];
  a->key = atoi(h->tok[1]);
  snprintf(a->name, sizeof a->name, "%s", h->tok[2]);
  snake(a->name, a->snake, sizeof a->snake);
  parse_range(h->tok[4], &a->vmin, &a->vmax);
  if (a->vmax == VMAX) die("valid versions need an upper bound");
  int flo, fhi;
  parse_range(h->tok[6], &flo, &fhi);
  a->fmin = flo > fhi ? VMAX : flo;
  for (int k = 0; k < napis - 1; k++)
    if (apis[k].key == a->key) die("api key %d twice", a->key);
  int i = 1;
  while (i < nlines) {
    struct line *l = &lines[i];
    cur_line = l->lineno;
    if (l->indent || l->ntok != 1 || (strcmp(l->tok[0], "request") && strcmp(l->tok[0], "response")))
      die("expected 'request' or 'response'");
    int is_req = !strcmp(l->tok[0], "request");
    if ((is_req && a->req) || (!is_req && a->resp)) die("%s twice", l->tok[0]);
    char prefix[100];
    snprintf(prefix, sizeof prefix, "kafka_%s_%s", a->snake, is_req ? "req" : "resp");
    struct gstruct *s = new_struct(prefix, "");
    nside = 0;
    i++;
    parse_fields(s, &i, 1, prefix);
    if (is_req) a->req = s; else a->resp = s;
  }
  if (!a->req || !a->resp) die("needs both a request and a response");
}

/* ---- writing ---- */

static void emit_struct_decl(FILE *h, struct gstruct *s) {
  if (s->emitted) return;
  s->emitted = 1;
  for (int i = 0; i < s->n; i++)
    if (s->f[i]->sub) emit_struct_decl(h, s->f[i]->sub);
  fprintf(h, "struct %s {\n", s->cname);
  for (int i = 0; i < s->n; i++) {
    struct gfield *f = s->f[i];
    const char *t = c_type(f);
    if (f->array) {
      fprintf(h, "  int32_t n_%s; /* -1: null */\n", f->cname);
      fprintf(h, "  %s%s*%s;\n", t, t[strlen(t) - 1] == '*' ? "" : " ", f->cname);
    } else if (f->sub) {
      fprintf(h, "  %s *%s; /* NULL: null or the defaults */\n", t, f->cname);
    } else {
      fprintf(h, "  %s%s%s;\n", t, t[strlen(t) - 1] == '*' ? "" : " ", f->cname);
    }
  }
  if (!s->n) fprintf(h, "  char unused_;\n");
  fprintf(h, "};\nextern const struct kstruct %s_desc;\n\n", s->cname);
}

static void emit_struct_desc(FILE *c, struct gstruct *s) {
  if (s->emitted == 2 || s->emitted < 0) return;
  s->emitted = 2;
  for (int i = 0; i < s->n; i++)
    if (s->f[i]->sub) emit_struct_desc(c, s->f[i]->sub);
  if (s->n) {
    fprintf(c, "static const struct kfield %s_fields[] = {\n", s->cname);
    for (int i = 0; i < s->n; i++) {
      struct gfield *f = s->f[i];
      fprintf(c, "  {\"%s\", %s, %d, %d, %d, %d, %d, %d, %d, offsetof(struct %s, %s), ", f->name,
              f->kind, f->array, f->vmin, f->vmax, f->nmin, f->nmax, f->tag, f->def_null,
              s->cname, f->cname);
      if (f->array) fprintf(c, "offsetof(struct %s, n_%s), ", s->cname, f->cname);
      else fprintf(c, "0, ");
      fprintf(c, "%s%s%s, %lldLL},\n", f->sub ? "&" : "", f->sub ? f->sub->cname : "NULL",
              f->sub ? "_desc" : "", f->def);
    }
    fprintf(c, "};\n");
  }
  fprintf(c, "const struct kstruct %s_desc = {\"%s\", sizeof(struct %s), %d, %s%s};\n\n",
          s->cname, s->cname, s->cname, s->n, s->n ? s->cname : "NULL", s->n ? "_fields" : "");
}

static int cmp_api(const void *a, const void *b) {
  return ((const struct gapi *)a)->key - ((const struct gapi *)b)->key;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: kafka_gen OUT.h OUT.c FILE.ks...\n");
    return 2;
  }
  for (int i = 3; i < argc; i++) parse_file(argv[i]);
  cur_file = NULL;
  qsort(apis, (size_t)napis, sizeof apis[0], cmp_api);
  FILE *h = fopen(argv[1], "w"), *c = fopen(argv[2], "w");
  if (!h || !c) die("cannot write the output");
  fprintf(h, "/* Generated by tools/kafka_gen.c from the kafka/schema tables: do not edit. */\n"
             "#ifndef STRATA_KAFKA_MSGS_H\n#define STRATA_KAFKA_MSGS_H\n\n"
             "#include <stdbool.h>\n#include <stdint.h>\n\n#include \"kafka/codec.h\"\n\n");
  for (int i = 0; i < napis; i++) {
    char up[64];
    size_t k;
    for (k = 0; apis[i].snake[k]; k++) up[k] = (char)toupper((unsigned char)apis[i].snake[k]);
    up[k] = 0;
    fprintf(h, "#define KAFKA_%s %d\n", up, apis[i].key);
  }
  fprintf(h, "\n");
  for (int i = 0; i < nstructs; i++)
    if (structs[i]->emitted >= 0) emit_struct_decl(h, structs[i]);
  fprintf(h, "/* Every api in the tables, by key. */\nextern const struct kapi kafka_apis[];\n"
             "extern const int kafka_napis;\n\n#endif\n");
  fprintf(c, "/* Generated by tools/kafka_gen.c from the kafka/schema tables: do not edit. */\n"
             "#include <stddef.h>\n\n#include \"kafka_msgs.h\"\n\n");
  for (int i = 0; i < nstructs; i++) emit_struct_desc(c, structs[i]);
  fprintf(c, "const struct kapi kafka_apis[] = {\n");
  for (int i = 0; i < napis; i++)
    fprintf(c, "  {%d, \"%s\", %d, %d, %d, &kafka_%s_req_desc, &kafka_%s_resp_desc},\n",
            apis[i].key, apis[i].name, apis[i].vmin, apis[i].vmax, apis[i].fmin, apis[i].snake,
            apis[i].snake);
  fprintf(c, "};\nconst int kafka_napis = %d;\n", napis);
  if (fclose(h) || fclose(c)) die("cannot write the output");
  return 0;
}

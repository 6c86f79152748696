#!/bin/bash
# Every metric name the monitoring files use must be one Strata exports.
#
#   tests/metrics/names_check.sh SCRAPE_FILE...     check; exit 1 listing each missing name
#   tests/metrics/names_check.sh --list             print the names used, and where
#
# Names are taken from the expressions of docs/prometheus/strata-rules.yml
# (recording rules and alerts), of docs/prometheus/strata-rules-test.yml
# (its input series and expression tests) and of
# docs/grafana/strata-overview.json (panel queries and variable queries).
# Not names: PromQL functions, aggregations and keywords, label names in
# {...}, by (...), on (...) and the like, durations, the recording rules the
# rules file defines itself, and what Prometheus makes itself (up, scrape_*,
# ALERTS). A name counts as exported when a SCRAPE_FILE (text exposition:
# a /metrics answer saved to a file) has it in a `# TYPE` line or a sample;
# NAME_bucket, NAME_sum and NAME_count also when NAME is a histogram there
# (_sum and _count: or a summary).
# RULES, RULES_TEST and DASHBOARD (environment) point elsewhere.
set -u
cd "$(dirname "$0")/../.."
if ! command -v python3 >/dev/null 2>&1; then
  echo "names_check.sh: missing command: python3 (Debian package python3)" >&2
  exit 1
fi
if [ $# -eq 0 ]; then
  echo "usage: $0 SCRAPE_FILE... | --list" >&2
  exit 2
fi
export RULES=${RULES:-docs/prometheus/strata-rules.yml}
export RULES_TEST=${RULES_TEST:-docs/prometheus/strata-rules-test.yml}
export DASHBOARD=${DASHBOARD:-docs/grafana/strata-overview.json}
exec python3 - "$@" <<'PY'
import json, os, re, sys

# ---- PromQL: the metric names an expression selects ---------------------------
TOKEN = re.compile(r'''
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<num>(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[a-zA-Z0-9]*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>==|!=|>=|<=|=~|!~|[-+*/%^=<>@,(){}\[\]])
''', re.X)
AGGREGATIONS = {"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk",
                "bottomk", "quantile", "count_values", "limitk", "limit_ratio"}
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"} | AGGREGATIONS | LABEL_LISTS
# Grafana's variables ($__rate_interval, ${instance}, [[group]]) stand for a
# value: a number keeps the expression's shape (in [] or "" they vanish anyway).
GRAFANA_VAR = re.compile(r'\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*|\[\[[^\]]*\]\]')

def tokens(expr):
    expr = GRAFANA_VAR.sub("1", expr)
    out, pos = [], 0
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise ValueError("cannot read PromQL at %r" % expr[pos:pos + 30])
        pos = m.end()
        if m.lastgroup not in ("ws", "comment"):
            out.append((m.lastgroup, m.group()))
    return out

def skip_to_close(toks, i, open_, close):  # toks[i] is open_; returns the index after its close
    depth = 0
    while i < len(toks):
        if toks[i][1] == open_: depth += 1
        elif toks[i][1] == close:
            depth -= 1
            if depth == 0: return i + 1
        i += 1
    raise ValueError("no closing %s" % close)

def names_in(expr):
    toks, names, i = tokens(expr), [], 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if text == "{":  # label matchers: only {__name__="x"} names a metric
            end = skip_to_close(toks, i, "{", "}")
            for j in range(i + 1, end - 3):
                if toks[j][1] == "__name__" and toks[j + 1][1] == "=" and toks[j + 2][0] == "str":
                    names.append(toks[j + 2][1][1:-1])
            i = end
        elif text == "[":  # range or subquery: durations
            i = skip_to_close(toks, i, "[", "]")
        elif kind == "ident" and text.lower() in LABEL_LISTS and nxt == "(":
            i = skip_to_close(toks, i + 1, "(", ")")
        elif kind == "ident" and text.lower() == "offset":
            i += 2 if nxt != "-" else 3
        elif kind == "ident" and (text.lower() in KEYWORDS or nxt == "("):
            i += 1  # keyword, aggregation or function
        elif kind == "ident":
            names.append(text)
            i += 1
        else:
            i += 1
    return names

def grafana_variable_exprs(q):
    q = q.strip()
    m = re.fullmatch(r'label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)', q, re.S)
    if m: return [m.group(1)]
    if re.fullmatch(r'label_values\(\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)', q): return []
    m = re.fullmatch(r'query_result\((.*)\)', q, re.S)
    if m: return [m.group(1)]
    if re.fullmatch(r'(metrics|label_names)\(.*\)', q, re.S): return []
    return [q]

# ---- YAML, as far as these files need: KEY: scalar (plain, quoted, or a
# block |, >, continued on deeper-indented lines) --------------------------------
def yaml_values(path, keys):
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i = [], 0
    pat = re.compile(r'^(\s*(?:-\s+)?)(%s):(?:\s+(.*))?$' % "|".join(map(re.escape, keys)))
    while i < len(lines):
        m = pat.match(lines[i])
        if not m:
            i += 1
            continue
        col, key, first = len(m.group(1)), m.group(2), (m.group(3) or "").strip()
        body, j = [], i + 1
        while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > col):
            body.append(lines[j].strip())
            j += 1
        while body and not body[-1]: body.pop()
        if re.fullmatch(r'[|>][-+0-9]*', first):
            value = "\n".join(body)
        elif first[:1] == "'" and first[-1:] == "'" and len(first) > 1:
            value = first[1:-1].replace("''", "'")
        elif first[:1] == '"' and first[-1:] == '"' and len(first) > 1:
            value = json.loads(first)
        elif first[:1] in ("'", '"', "[", "{", "&", "*", "!"):
            sys.exit("names_check.sh: %s:%d: %s: a YAML form this check does not read; "
                     "write it plain, quoted on one line, or as a | block" % (path, i + 1, key))
        else:
            value = " ".join([first] + [b for b in body if b])
            value = re.sub(r'\s+#.*$', '', value)
        out.append((key, value, i + 1))
        i = j
    return out

def used_names():
    used = {}  # name -> [where]
    records = set()
    def add(expr, where):
        try:
            found = names_in(expr)
        except ValueError as e:
            sys.exit("names_check.sh: %s: %s" % (where, e))
        for n in found:
            used.setdefault(n, []).append(where)
        return len(found)
    rules, tests, dash = os.environ["RULES"], os.environ["RULES_TEST"], os.environ["DASHBOARD"]
    counts = {}
    for key, value, line in yaml_values(rules, ["record", "expr"]):
        if key == "record": records.add(value)
        else: counts[rules] = counts.get(rules, 0) + add(value, "%s:%d" % (rules, line))
    for key, value, line in yaml_values(tests, ["series", "expr"]):
        counts[tests] = counts.get(tests, 0) + add(value, "%s:%d" % (tests, line))
    doc = json.load(open(dash, encoding="utf-8"))
    def walk(node, path):
        if isinstance(node, dict):
            title = node.get("title", path)
            if isinstance(node.get("expr"), str):
                counts[dash] = counts.get(dash, 0) + add(node["expr"], "%s: %s" % (dash, path))
            if node.get("type") == "query" and "name" in node:  # a template variable
                q = node.get("query")
                q = q.get("query", "") if isinstance(q, dict) else (q or node.get("definition", ""))
                for e in grafana_variable_exprs(q):
                    counts[dash] = counts.get(dash, 0) + add(e, "%s: variable %s" % (dash, node["name"]))
            for k, v in node.items():
                walk(v, title if isinstance(title, str) else path)
        elif isinstance(node, list):
            for v in node: walk(v, path)
    walk(doc, "dashboard")
    for f in (rules, tests, dash):
        if not counts.get(f):
            sys.exit("names_check.sh: found no metric name in %s: is it the right file?" % f)
    for r in records: used.pop(r, None)
    return used

# Series Prometheus makes itself, not a scrape.
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
             "scrape_samples_post_metric_relabeling", "scrape_series_added",
             "ALERTS", "ALERTS_FOR_STATE"}

def scraped(files):
    types, samples = {}, set()
    for f in files:
        n = 0
        for line in open(f, encoding="utf-8", errors="replace"):
            line = line.strip()
            m = re.match(r'#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)', line)
            if m:
                types[m.group(1)] = m.group(2); n += 1
            elif line and not line.startswith("#"):
                m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{|\s)', line)
                if m: samples.add(m.group(1)); n += 1
        if n == 0:
            sys.exit("names_check.sh: %s has no metric in it: not a /metrics answer?" % f)
    return types, samples

def exported(name, types, samples):
    if name in types or name in samples: return True
    for suffix, kinds in (("_bucket", ("histogram",)), ("_sum", ("histogram", "summary")),
                          ("_count", ("histogram", "summary"))):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) in kinds: return True
    return False

args = sys.argv[1:]
used = used_names()
if args == ["--list"]:
    for n in sorted(used):
        print("%s\t%s" % (n, used[n][0]))
    sys.exit(0)
types, samples = scraped(args)
checked = sorted(n for n in used if n not in SYNTHETIC)
missing = [n for n in checked if not exported(n, types, samples)]
if missing:
    print("names_check.sh: %d of %d metric names used are not in %s:" % (len(missing), len(checked), " ".join(args)))
    for n in missing:
        where = used[n]
        print("  %s   used at %s%s" % (n, where[0], " and %d more" % (len(where) - 1) if len(where) > 1 else ""))
    sys.exit(1)
print("names_check.sh: all %d metric names used are exported (%s)" % (len(checked), " ".join(args)))
PY

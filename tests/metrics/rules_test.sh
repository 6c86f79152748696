#!/bin/bash
# The monitoring files, checked as make test runs them:
#   docs/prometheus/strata-rules.yml       promtool check rules
#   docs/prometheus/strata-rules-test.yml  promtool test rules (the alerts' unit tests)
#   docs/prometheus/prometheus.yml         promtool check config (cluster.sh's layout)
#   docker/prometheus.yml                  promtool check config (the compose network)
#   docs/grafana/strata-overview.json      valid JSON, its shape, every query parses
#   tests/metrics/sample-scrape.txt        promtool check metrics (names lint-clean)
# and tests/metrics/names_check.sh: every name used is in the sample scrape,
# a scrape without some families fails naming them, and its extraction of
# names from tricky expressions.
# Needs promtool (Debian package prometheus) and python3: without them it
# fails naming the missing command as root, and is skipped otherwise
# (strata_need).
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
strata_need "the monitoring files' checks" promtool python3
dir=$(mktemp -d /tmp/strata-metrics-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT
# check NAME CMD...: passes when CMD exits 0; shows its output when not.
check() {
  local name=$1
  shift
  if "$@" >"$dir/out" 2>&1; then ok "$name"; else
    bad "$name"
    head -n 40 "$dir/out"
  fi
}

check "promtool check rules strata-rules.yml" promtool check rules docs/prometheus/strata-rules.yml
check "promtool test rules strata-rules-test.yml" promtool test rules docs/prometheus/strata-rules-test.yml
check "promtool check config docs/prometheus/prometheus.yml" promtool check config docs/prometheus/prometheus.yml
# The compose network's config loads the rules from beside it, where
# docker/compose.yml mounts them.
cp docker/prometheus.yml docs/prometheus/strata-rules.yml "$dir/"
check "promtool check config docker/prometheus.yml" promtool check config "$dir/prometheus.yml"
check "promtool check metrics < sample-scrape.txt" sh -c 'out=$(promtool check metrics < tests/metrics/sample-scrape.txt 2>&1); rc=$?; echo "$out"; [ $rc = 0 ] && [ -z "$out" ]'

# ---- the dashboard -----------------------------------------------------------
check "strata-overview.json is JSON" python3 -m json.tool docs/grafana/strata-overview.json
# Its shape, and its queries as rules for promtool to parse (Grafana's
# variables replaced by values of their kind).
check "strata-overview.json: datasource, variables, panels" python3 - "$dir/dash-rules.yml" <<'PY'
import json, re, sys
d = json.load(open("docs/grafana/strata-overview.json"))
errs = []
if not 36 <= d.get("schemaVersion", 0) <= 41: errs.append("schemaVersion %s" % d.get("schemaVersion"))
if [i["name"] for i in d.get("__inputs", [])] != ["DS_PROMETHEUS"]: errs.append("__inputs is not DS_PROMETHEUS")
variables = {v["name"]: v for v in d["templating"]["list"]}
if variables.get("DS_PROMETHEUS", {}).get("type") != "datasource": errs.append("no datasource variable DS_PROMETHEUS")
if "instance" not in variables: errs.append("no instance variable")
ids, exprs = set(), []
def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
titles = []
for p in panels(d["panels"]):
    if p["id"] in ids: errs.append("panel id %s twice" % p["id"])
    ids.add(p["id"])
    titles.append(p["title"])
    if p["type"] == "row": continue
    for t in [p] + p.get("targets", []):
        if t.get("datasource") != {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}:
            errs.append("%s: datasource %s" % (p["title"], t.get("datasource")))
    if not p.get("targets"): errs.append("%s: no query" % p["title"])
    for t in p.get("targets", []): exprs.append((p["title"], t["expr"]))
for want in ["Brokers up", "Active controller", "Under-replicated partitions", "Offline partitions",
             "ISR shrinks / expands", "Bytes in / out per topic", "Records in per topic",
             "Request latency p50 / p99 by api", "Fsync latency p99", "Consumer lag per group",
             "Consumer lag per partition", "Event-loop idle ratio", "Disk free", "Process RSS", "Process CPU"]:
    if want not in titles: errs.append("no panel %r" % want)
with open(sys.argv[1], "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (title, e) in enumerate(exprs):
        e = re.sub(r"\$__(rate_)?interval|\$__range", "5m", e)
        e = re.sub(r"\$\{?[a-zA-Z_]\w*\}?", ".*", e)
        f.write("      - record: dashboard_query_%d\n        expr: %s\n" % (i, json.dumps(e)))
print("\n".join(errs) or "%d panels, %d queries" % (len(ids), len(exprs)))
sys.exit(1 if errs else 0)
PY
check "every dashboard query parses (promtool)" promtool check rules "$dir/dash-rules.yml"

# ---- names_check.sh ----------------------------------------------------------
check "names_check.sh: every name used is in sample-scrape.txt" \
  tests/metrics/names_check.sh tests/metrics/sample-scrape.txt
# Without three families (a gauge, a histogram, a counter) it must fail and
# name exactly those.
grep -v -E '^(# (HELP|TYPE) )?(strata_controller_active|strata_log_fsync_duration_seconds|strata_topic_bytes_out_total)[ {_]' \
  tests/metrics/sample-scrape.txt >"$dir/partial.txt"
tests/metrics/names_check.sh "$dir/partial.txt" >"$dir/out" 2>&1
rc=$?
got=$(awk '/^  /{print $1}' "$dir/out" | tr '\n' ' ')
want="strata_controller_active strata_log_fsync_duration_seconds_bucket strata_topic_bytes_out_total "
if [ $rc = 1 ] && [ "$got" = "$want" ]; then ok "names_check.sh fails naming the missing names"; else
  bad "names_check.sh on a scrape without 3 families: exit $rc, named '$got', want '$want'"
  cat "$dir/out"
fi
# ...and passes when a second scrape file has them (a broker's and the
# controller's, say); a histogram's _bucket needs only its TYPE line.
grep -E '^(# (HELP|TYPE) )?(strata_controller_active|strata_topic_bytes_out_total)[ {_]' \
  tests/metrics/sample-scrape.txt >"$dir/other.txt"
echo '# TYPE strata_log_fsync_duration_seconds histogram' >>"$dir/other.txt"
check "names_check.sh with the names spread over two files" \
  tests/metrics/names_check.sh "$dir/partial.txt" "$dir/other.txt"
sed 's/^# TYPE strata_log_fsync_duration_seconds histogram/# TYPE strata_log_fsync_duration_seconds gauge/' \
  "$dir/other.txt" >"$dir/gauge.txt"
if tests/metrics/names_check.sh "$dir/partial.txt" "$dir/gauge.txt" >/dev/null 2>&1; then
  bad "names_check.sh took NAME_bucket for a gauge NAME"
else ok "names_check.sh: NAME_bucket only for a histogram NAME"; fi
: >"$dir/empty.txt"
if tests/metrics/names_check.sh "$dir/empty.txt" >/dev/null 2>&1; then bad "names_check.sh passed an empty scrape"
else ok "names_check.sh refuses an empty scrape"; fi

# The extraction, on expressions with every kind of non-name in them.
cat >"$dir/rules.yml" <<'EOF'
groups:
  - name: g
    rules:
      - record: k:ratio
        expr: |
          sum by (le, instance) (rate(a_bucket{job=~"x|y", le!="+Inf"}[5m] offset 1h))
          # a comment naming not_a_metric
      - record: l:sum
        expr: b unless on (instance) group_left (topic) c
      - alert: A
        expr: "topk(3, d) > bool 1 and {__name__=\"e_total\", x=\"y\"}"
      - alert: B
        expr: 'absent(f) * 0 or vector(0) or histogram_quantile(0.9, g[5m:1m]) or h @ start()'
      - alert: C
        expr: k:ratio > 0.1 and l:sum
          > 0 and
          o_total < Inf # plain, on three lines
EOF
cat >"$dir/test.yml" <<'EOF'
tests:
  - input_series:
      - series: 'n_bucket{le="0.1"}'
        values: '1'
    promql_expr_test:
      - expr: count_values("v", n_bucket) > -Inf
EOF
cat >"$dir/dash.json" <<'EOF'
{"panels": [{"title": "p", "targets": [{"expr": "sum(rate(i_total{instance=~\"$instance\"}[$__rate_interval])) by (topic)"},
                                       {"expr": "max without (group) (m[${__range}])"}]}],
 "templating": {"list": [{"name": "instance", "type": "query", "query": {"query": "label_values(j{role=\"broker\"}, instance)"}},
                         {"name": "x", "type": "query", "definition": "label_values(topic)", "query": "label_values(topic)"}]}}
EOF
got=$(RULES=$dir/rules.yml RULES_TEST=$dir/test.yml DASHBOARD=$dir/dash.json tests/metrics/names_check.sh --list 2>&1 |
  cut -f1 | tr '\n' ' ')
want="a_bucket b c d e_total f g h i_total j m n_bucket o_total "
if [ "$got" = "$want" ]; then ok "names_check.sh extracts just the metric names"; else
  bad "names_check.sh --list on tricky expressions: got '$got', want '$want'"; fi

echo "$fails failed"
[ $fails = 0 ]

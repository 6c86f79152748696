#!/bin/bash
# The `strata` CLI and kcat over TLS on a local cluster with TLS on every
# link (scripts/cluster.sh with STRATA_TLS=1: SSL:// native, Kafka and
# controller listeners, mutual TLS between nodes, a throwaway CA): one
# properties file in librdkafka's names serves `strata --command-config`,
# STRATA_COMMAND_CONFIG and `kcat -F`. Topic create, produce, consume
# (assigned and in a group), cluster status, bench; a plaintext CLI on the
# TLS port fails with a line saying what to do; a TLS client that does not
# trust the CA is refused naming the certificate check.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
S=$STRATA_BIN
dir=$(mktemp -d /tmp/strata-tlsclitest.XXXXXX)
export STRATA_CLUSTER_DIR=$dir/cluster STRATA_TLS=1 STRATA_BUILD
port=$(strata_free_port) || exit 1
export STRATA_CLUSTER_PORT=$port
trap 'scripts/cluster.sh purge >/dev/null 2>&1; rm -rf "$dir"' EXIT
command -v kcat >/dev/null || { echo "FAIL kcat not found (scripts/deps.sh installs it)"; exit 1; }

scripts/cluster.sh up 3 >"$dir/up.out" 2>&1 || { cat "$dir/up.out"; tail -n 5 "$dir"/cluster/*.log; exit 1; }
cc=$STRATA_CLUSTER_DIR/tls/client.properties
export STRATA_BOOTSTRAP=127.0.0.1:$port
grep -q '^security.protocol=SSL$' "$cc" && ok "cluster.sh wrote $cc" || bad "no client.properties"

[ "$($S --command-config "$cc" cluster status 2>&1 | grep -c ' alive$')" = 3 ] &&
  ok "cluster status over TLS: 3 brokers registered over TLS links" || bad "cluster status over TLS"
$S --command-config "$cc" topic create secure --partitions 3 --replication-factor 3 \
  --config min.insync.replicas=2 >/dev/null 2>"$dir/err" && ok "topic create over TLS" ||
  { bad "topic create over TLS"; cat "$dir/err"; }
seq 1 500 | $S produce --topic secure --acks all --command-config "$cc" 2>"$dir/err" &&
  ok "produce acks=all over TLS (RF 3: replication over mutual TLS)" || { bad "produce"; cat "$dir/err"; }
n=$($S consume --topic secure --from-beginning --count 500 --command-config "$cc" 2>"$dir/err" | sort -n | uniq | wc -l)
[ "$n" = 500 ] && ok "consume over TLS: 500 records back" || { bad "consume over TLS: $n records"; cat "$dir/err"; }
n=$(STRATA_COMMAND_CONFIG=$cc timeout 60 $S consume --topic secure --group g1 --from-beginning --count 500 2>/dev/null | wc -l)
[ "$n" = 500 ] && ok "consume in a group, STRATA_COMMAND_CONFIG" || bad "group consume: $n records"
STRATA_COMMAND_CONFIG=$cc $S bench produce --topic secure --records 20000 --record-size 1024 --acks all \
  >"$dir/bench" 2>&1 && grep -q '^produce: 20000 records' "$dir/bench" && ok "bench produce over TLS" ||
  { bad "bench over TLS"; cat "$dir/bench"; }

# The same file in kcat (librdkafka) on the Kafka listeners, which are SSL:// too.
kport=$((port + 2))
echo "from-kcat" | kcat -F "$cc" -b 127.0.0.1:$kport -t secure -p 0 -P 2>"$dir/err" &&
  ok "kcat -F the same file produces over TLS" || { bad "kcat produce"; cat "$dir/err"; }
$S consume --topic secure --partition 0 --from-beginning --command-config "$cc" 2>/dev/null |
  grep -qx from-kcat && ok "kcat's record read back by strata" || bad "kcat's record not found"

# Refusals.
$S topic list >"$dir/out" 2>"$dir/err"; rc=$?
[ $rc = 1 ] && grep -q "if its listener is SSL://" "$dir/err" &&
  ok "plaintext CLI on the TLS port: exit 1 and: $(tail -1 "$dir/err" | cut -c1-80)..." ||
  { bad "plaintext CLI on the TLS port (exit $rc)"; cat "$dir/err"; }
printf 'security.protocol=SSL\n' >"$dir/system-ca.properties" # the system store knows no such CA
$S topic list --command-config "$dir/system-ca.properties" >/dev/null 2>"$dir/err"; rc=$?
[ $rc = 1 ] && grep -q "certificate verify failed" "$dir/err" && ok "a CA it does not trust: refused" ||
  { bad "untrusted CA (exit $rc)"; cat "$dir/err"; }
printf 'security.protocol=SSL\nssl.ca.location=%s\n' "$STRATA_CLUSTER_DIR/tls/ca.pem" >"$dir/nocert.properties"
$S topic list --command-config "$dir/nocert.properties" >/dev/null 2>&1 &&
  bad "no client certificate, yet the cluster (ssl.client.auth=required) answered" ||
  ok "no client certificate: refused (ssl.client.auth=required)"
printf 'security.protocol=SSL\nssl.endpoint.identification.algoritm=none\n' >"$dir/typo.properties"
$S topic list --command-config "$dir/typo.properties" >/dev/null 2>"$dir/err"; rc=$?
[ $rc = 1 ] && grep -q "unknown security setting 'ssl.endpoint.identification.algoritm'" "$dir/err" &&
  ok "a misspelt ssl.* key is an error" || { bad "typo (exit $rc)"; cat "$dir/err"; }
[ $fails = 0 ]

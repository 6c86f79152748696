#!/bin/bash
# Real clients on a secure cluster (tests/security/lib.sh: TLS on every
# listener and link, SCRAM, authorizer on): kcat and confluent-kafka-python
# over SASL_SSL with SCRAM-SHA-512, kafka-python with SCRAM-SHA-256, and the
# strata CLI (libstrata) over TLS + SCRAM on the native listener, each
# producing and consuming with only the ACLs alice was given (Write, Read and
# Describe on topics prefixed sec-, Read on groups prefixed sec-). Then: no
# file the run wrote holds a password.
SEC_PYMODS="confluent_kafka:python3-confluent-kafka kafka:python3-kafka"
. "$(dirname "$0")/lib.sh"
sec_need_tools kcat curl
sec_up clients
sec_topic sec-kcat 1 && sec_topic sec-conf 1 && sec_topic sec-kpy 1 && sec_topic sec-native 1 || exit 1
for op in Write Read Describe; do
  sec_acl --allow-principal User:alice --operation "$op" --topic sec- --resource-pattern-type prefixed ||
    bad "strata acl add $op on topics sec-* for alice: $(tail -n 2 "$dir/cli.log" | tr '\n' ' ')"
done
sec_acl --allow-principal User:alice --operation Read --group sec- --resource-pattern-type prefixed ||
  bad "strata acl add Read on groups sec-* for alice"
sec_acl --allow-principal User:alice --operation Describe --group sec- --resource-pattern-type prefixed ||
  bad "strata acl add Describe on groups sec-* for alice"
sleep 1 # the ACLs reach every broker with the next heartbeat

# kcat: one properties file (librdkafka's names) for -F, as for strata --command-config.
seq 1 50 | sed 's/^/kcat-/' >"$dir/kcat.in"
if timeout 60 kcat -F "$dir/alice.properties" -b "$KBOOT" -P -t sec-kcat -X acks=all <"$dir/kcat.in" 2>"$dir/kcat-p.err"; then
  ok "kcat -F alice.properties (SASL_SSL, SCRAM-SHA-512) produced 50 records"
else bad "kcat produce: $(tail -n 3 "$dir/kcat-p.err" | tr '\n' ' ')"; fi
timeout 60 kcat -F "$dir/alice.properties" -b "$KBOOT" -C -t sec-kcat -o beginning -e -q >"$dir/kcat.out" 2>"$dir/kcat-c.err"
if cmp -s "$dir/kcat.in" "$dir/kcat.out"; then ok "kcat consumed the 50 records back over SASL_SSL"
else bad "kcat consume: $(wc -l <"$dir/kcat.out") lines; $(tail -n 3 "$dir/kcat-c.err" | tr '\n' ' ')"; fi
timeout 60 kcat -F "$dir/alice.properties" -b "$KBOOT" -G sec-kcat-group sec-kcat -o beginning -e -q \
  >"$dir/kcat-g.out" 2>"$dir/kcat-g.err" </dev/null
[ "$(wc -l <"$dir/kcat-g.out")" -ge 50 ] && ok "kcat -G (balanced consumer group sec-kcat-group) read them" ||
  bad "kcat -G read $(wc -l <"$dir/kcat-g.out") lines: $(tail -n 3 "$dir/kcat-g.err" | tr '\n' ' ')"

SEC_PW="$PW_alice" sec_run "$dir/conf.out" timeout 120 $PY $ST/clients.py confluent "$KBOOT" "$CERTS/ca.pem" alice - sec-conf sec-conf-group
SEC_PW="$PW_alice" sec_run "$dir/kpy.out" timeout 120 $PY $ST/clients.py kafkapy "$KBOOT" "$CERTS/ca.pem" alice - sec-kpy sec-kpy-group

# The CLI (libstrata) on the native listener, TLS + SCRAM-SHA-512 and -256.
seq 1 40 | sed 's/^/native-/' >"$dir/native.in"
if sec_cli alice produce -t sec-native --acks all <"$dir/native.in" >/dev/null 2>"$dir/np.err"; then
  ok "strata --command-config alice.properties produce: 40 records over TLS + SCRAM-SHA-512"
else bad "strata produce as alice: $(tail -n 3 "$dir/np.err" | tr '\n' ' ')"; fi
timeout 30 "$STRATA_BIN" --command-config "$(sec_native_props alice -256)" --bootstrap "127.0.0.2:$PORT" \
  consume -t sec-native -p 0 --from-beginning --count 40 >"$dir/native.out" 2>"$dir/nc.err"
if cmp -s "$dir/native.in" "$dir/native.out"; then ok "strata consume (SCRAM-SHA-256, bootstrap broker 2) reads them back"
else bad "strata consume as alice: $(wc -l <"$dir/native.out") lines; $(tail -n 3 "$dir/nc.err" | tr '\n' ' ')"; fi
sec_cli alice consume -t sec-native --group sec-native-group --from-beginning --count 40 \
  >"$dir/native-g.out" 2>"$dir/ng.err"
[ "$(wc -l <"$dir/native-g.out")" = 40 ] && ok "strata consume --group sec-native-group (commits) as alice" ||
  bad "strata consume --group as alice: $(wc -l <"$dir/native-g.out") lines; $(tail -n 3 "$dir/ng.err" | tr '\n' ' ')"
# What the others wrote, read natively (the same records on both listeners).
n=$(sec_cli alice consume -t sec-conf -p 0 --from-beginning --count 100 2>/dev/null | grep -c '^confluent-')
[ "$n" = 100 ] && ok "strata consume reads confluent-kafka's 100 records over TLS" || bad "strata consume of sec-conf: $n records"

# The ACLs were what let alice in: carol has none.
sec_cli carol produce -t sec-native <<<"carol-was-here" >/dev/null 2>"$dir/carol.err" &&
  bad "carol (no ACL) produced to sec-native" ||
  { grep -qi "authoriz" "$dir/carol.err" && ok "carol without ACLs: produce refused ($(head -c 100 "$dir/carol.err" | tr '\n' ' '))" ||
    bad "carol's produce failed without naming authorization: $(head -c 200 "$dir/carol.err")"; }
sec_no_secrets
sec_end

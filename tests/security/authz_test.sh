#!/bin/bash
# ACLs enforced end to end on a secure cluster (tests/security/lib.sh):
# - DENY wins over ALLOW: alice, allowed Write on the prefix sec-open- and
#   denied Write on sec-open-denied, writes sec-open-ok but not sec-open-denied;
# - alice, allowed on sec-open only, producing to the topic secret gets
#   TOPIC_AUTHORIZATION_FAILED (confluent-kafka, kcat, strata CLI) and no
#   record is appended: the log end offset stays where admin left it; a topic
#   that does not exist gives the same error (no oracle); Metadata as alice
#   lists sec-open, not secret;
# - bob, with Read on sec-open and only Describe on the group sec-bobs (so
#   FindCoordinator answers), cannot consume in it nor commit
#   (GROUP_AUTHORIZATION_FAILED);
# - internal APIs (CVE-2018-1288, NATS CVE-2026-58253, ZooKeeper CVE-2023-44981):
#   an unauthenticated connection on a broker's native port cannot register
#   a broker or fetch as a follower; a client's SCRAM login (native or Kafka
#   port) cannot fetch as a follower (CLUSTER_AUTHORIZATION_FAILED); on the
#   controller, alice's client certificate cannot register, heartbeat or
#   AlterIsr, nor broker-2's certificate act for broker 1; sec-open's
#   leader, epoch, replicas, ISR and offsets are unchanged afterwards.
SEC_PYMODS="confluent_kafka:python3-confluent-kafka"
. "$(dirname "$0")/lib.sh"
sec_need_tools kcat
sec_up authz
sec_topic sec-open 1 && sec_topic secret 1 && sec_topic sec-open-denied 1 && sec_topic sec-open-ok 1 || exit 1
export SEC_USERS="alice=$PW_alice bob=$PW_bob"
sec_acl --allow-principal User:alice --operation Write --operation Read --operation Describe --topic sec-open ||
  bad "acl add for alice: $(tail -n 2 "$dir/cli.log" | tr '\n' ' ')"
# DENY wins: alice may write every sec-* topic but is denied sec-open-denied.
sec_acl --allow-principal User:alice --operation Write --operation Describe --topic sec-open- \
  --resource-pattern-type prefixed || bad "acl add prefixed for alice"
sec_acl --deny-principal User:alice --operation Write --topic sec-open-denied || bad "acl add deny for alice"
sec_acl --allow-principal User:bob --operation Read --operation Describe --topic sec-open ||
  bad "acl add for bob: $(tail -n 2 "$dir/cli.log" | tr '\n' ' ')"
sec_acl --allow-principal User:bob --operation Read --group sec-bobs-allowed || bad "acl add group for bob"
# Describe on sec-bobs (FindCoordinator answers) but no Read: joining and committing must fail.
sec_acl --allow-principal User:bob --operation Describe --group sec-bobs || bad "acl add Describe sec-bobs for bob"
seq 1 5 | sed 's/^/admin-/' | sec_cli admin produce -t secret --acks all >/dev/null 2>>"$dir/cli.log" ||
  bad "admin produce to secret: $(tail -n 2 "$dir/cli.log" | tr '\n' ' ')"
seq 1 5 | sed 's/^/alice-/' | sec_cli alice produce -t sec-open --acks all >/dev/null 2>>"$dir/cli.log" ||
  bad "alice produce to sec-open (allowed): $(tail -n 2 "$dir/cli.log" | tr '\n' ' ')"
sleep 1
sec_cli admin acl list >"$dir/acls" 2>&1 && ok "strata acl list as admin: $(grep -c . "$dir/acls") lines" ||
  bad "strata acl list: $(head -n 2 "$dir/acls")"
end_of() { SEC_PW=$PW_admin timeout 30 $PY $ST/clients.py end "$KBOOT" "$CERTS/ca.pem" admin - "$1"; }
e0=$(end_of secret)
[ "$e0" = 5 ] && ok "secret holds admin's 5 records" || bad "secret's end offset is '$e0', want 5"

# No WRITE on secret.
SEC_PW=$PW_alice sec_run "$dir/dw.out" timeout 60 $PY $ST/clients.py deny-write "$KBOOT" "$CERTS/ca.pem" alice - secret
SEC_PW=$PW_alice sec_run "$dir/dw2.out" timeout 60 $PY $ST/clients.py deny-write "$KBOOT" "$CERTS/ca.pem" alice - no-such-topic
echo "kcat-denied" | timeout 30 kcat -F "$dir/alice.properties" -b "$KBOOT" -P -t secret -X message.timeout.ms=10000 \
  >"$dir/kcat-dw.out" 2>&1
grep -qi "authoriz" "$dir/kcat-dw.out" && ok "kcat produce as alice to secret: $(grep -oi '[^:]*authoriz[^.:]*' "$dir/kcat-dw.out" | head -n 1 | cut -c1-80)" ||
  bad "kcat produce as alice to secret: $(tail -n 2 "$dir/kcat-dw.out" | tr '\n' ' ')"
echo "native-denied" | sec_cli alice produce -t secret --acks all >"$dir/cli-dw.out" 2>&1 &&
  bad "strata produce as alice to secret succeeded" ||
  { grep -q "TOPIC_AUTHORIZATION_FAILED\|not authorized\|authoriz" "$dir/cli-dw.out" &&
      ok "strata produce (native) as alice to secret: $(grep -i authoriz "$dir/cli-dw.out" | head -n 1 | cut -c1-100)" ||
      bad "strata produce as alice to secret failed without naming authorization: $(head -n 2 "$dir/cli-dw.out" | tr '\n' ' ')"; }
SEC_PW=$PW_alice sec_run "$dir/dw3.out" timeout 60 $PY $ST/clients.py deny-write "$KBOOT" "$CERTS/ca.pem" alice - sec-open-denied
echo "prefix-allowed" | sec_cli alice produce -t sec-open-ok --acks all >/dev/null 2>>"$dir/cli.log" &&
  ok "alice writes sec-open-ok (PREFIXED sec-open- ALLOW) but not sec-open-denied (LITERAL DENY wins)" ||
  bad "alice produce to sec-open-ok (allowed by prefix): $(tail -n 1 "$dir/cli.log")"
[ "$(end_of sec-open-denied)" = 0 ] && ok "sec-open-denied is empty" || bad "sec-open-denied got records"
e1=$(end_of secret)
[ "$e1" = "$e0" ] && ok "secret's log end offset is still $e0: nothing appended" || bad "secret's end offset moved: $e0 -> $e1"
sec_cli alice topic list >"$dir/alice-topics" 2>&1
grep -q "^sec-open" "$dir/alice-topics" && ! grep -q "^secret" "$dir/alice-topics" &&
  ok "Metadata as alice lists sec-open and not secret" || bad "topic list as alice: $(tr '\n' ' ' <"$dir/alice-topics")"
sec_cli alice consume -t secret -p 0 --from-beginning --count 1 >"$dir/alice-read" 2>&1 &&
  bad "alice read secret: $(head -c 100 "$dir/alice-read")" || ok "strata consume of secret as alice: refused"

# No READ on the group.
SEC_PW=$PW_bob sec_run "$dir/dg.out" timeout 90 $PY $ST/clients.py deny-group "$KBOOT" "$CERTS/ca.pem" bob - sec-open sec-bobs
timeout 20 "$STRATA_BIN" --command-config "$(sec_native_props bob)" --bootstrap 127.0.0.1:$PORT \
  consume -t sec-open --group sec-bobs --from-beginning --count 5 >"$dir/bob-g.out" 2>&1
rc=$?
if [ $rc = 0 ]; then bad "strata consume --group sec-bobs as bob succeeded"
elif [ $rc = 124 ]; then bad "strata consume --group sec-bobs as bob: no error, still waiting after 20 s ($(head -c 100 "$dir/bob-g.out"))"
elif grep -qi "authoriz" "$dir/bob-g.out"; then ok "strata consume --group sec-bobs as bob: $(grep -i authoriz "$dir/bob-g.out" | head -n 1 | cut -c1-100)"
else bad "strata consume --group as bob exited $rc without naming authorization: $(head -n 2 "$dir/bob-g.out" | tr '\n' ' ')"; fi
n=$(timeout 30 "$STRATA_BIN" --command-config "$(sec_native_props bob)" --bootstrap 127.0.0.1:$PORT \
  consume -t sec-open --group sec-bobs-allowed --from-beginning --count 5 2>/dev/null | grep -c '^alice-')
[ "$n" = 5 ] && ok "bob consumes sec-open in sec-bobs-allowed (Read on that group): 5 records" ||
  bad "bob in sec-bobs-allowed read $n records"

# Internal APIs from the wrong principal; sec-open must not change.
state() { sec_cli admin topic describe sec-open 2>/dev/null | grep "Partition:"; }
before=$(state)
sec_run "$dir/native.out" timeout 90 $PY $ST/attacks.py native --native 127.0.0.1:$PORT \
  --controller 127.0.0.1:$CPORT --topic sec-open --certs "$CERTS" \
  --native-sasl "$([ "${SEC_NATIVE:-SASL_SSL}" = SSL ] && echo 0 || echo 1)"
for i in 1 2 3; do
  sec_run "$dir/rf$i.out" timeout 60 $PY $ST/attacks.py replica-fetch --kafka 127.0.0.$i:$KPORT --topic sec-open --certs "$CERTS"
done
sleep 1
after=$(state)
[ -n "$before" ] && [ "$before" = "$after" ] &&
  ok "sec-open unchanged after the attempts: $(echo "$after" | tr '\t' ' ' | cut -c1-120)" ||
  bad "sec-open changed: before '$before', after '$after'"
c=$(sec_cli admin cluster status 2>/dev/null | grep -c " alive$")
[ "$c" = 3 ] && ok "3 brokers still alive in cluster status" || bad "cluster status: $c alive"
sec_no_secrets
sec_end

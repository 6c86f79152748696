#!/bin/bash
# Users and ACLs as cluster metadata, with real processes: SCRAM users and
# ACLs made with the CLI (`strata user`, `strata acl`) and with Kafka
# clients (kafka-python's CreateAcls/DescribeAcls/DeleteAcls; KIP-554's
# Alter/DescribeUserScramCredentials by hand, tests/kafka/users_acls.py)
# against a controller and 2 brokers; the controller and both brokers
# killed with -9 and started again: all still there, on both brokers;
# deletes work and survive another kill; no listing shows a secret and no
# password is in the controller's files; --bootstrap-user creates its user
# once.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
PY=/usr/bin/python3
strata_need "users and ACLs from Kafka clients" $PY
if ! $PY -c 'import kafka.admin' 2>/dev/null; then
  [ "$(id -u)" = 0 ] && { echo "FAIL: kafka.admin: not importable; run scripts/deps.sh --install (Debian package python3-kafka)"; exit 1; }
  strata_skip "users and ACLs: needs python3-kafka (scripts/deps.sh --install installs it)"
fi
dir=$(mktemp -d /tmp/strata-usersacls.XXXXXX)
bpid=
cleanup() {
  scripts/cluster.sh down >/dev/null 2>&1
  [ -n "$bpid" ] && kill -9 "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
strata_cluster_up "$dir" 2 || exit 1
port=$STRATA_CLUSTER_PORT
S="timeout 30 $STRATA_BIN -b 127.0.0.1:$port"
S2="timeout 30 $STRATA_BIN -b 127.0.0.2:$port"
KBOOT=127.0.0.1:$((port + 2))
KBOOT2=127.0.0.2:$((port + 2))

# retry CMD...: a broker just restarted answers NOT_CONTROLLER until its
# link to the controller is up again; try for up to 20 s.
retry() {
  local deadline=$((SECONDS + 20))
  while ! "$@" >"$dir/retry.out" 2>&1; do
    [ $SECONDS -lt $deadline ] || { cat "$dir/retry.out"; return 1; }
    sleep 0.2
  done
  cat "$dir/retry.out"
}

# ---- the CLI ----
echo 'alice-Pw-4471' | $S user create alice >"$dir/out" 2>&1 &&
  [ "$(grep -c 'credential set' "$dir/out")" = 2 ] &&
  ok "user create alice: SCRAM-SHA-256 and -512, password from stdin" ||
  { cat "$dir/out"; bad "user create alice"; }
printf 'bob-Pw-8812\n' >"$dir/bob.pw"
$S user create bob --password-file "$dir/bob.pw" --mechanism SCRAM-SHA-512 --iterations 8192 \
  >"$dir/out" 2>&1 && ok "user create bob --password-file --mechanism SCRAM-SHA-512 --iterations 8192" ||
  { cat "$dir/out"; bad "user create bob"; }
$S user create mallet --password 'oops' >"$dir/out" 2>&1 &&
  bad "user create --password PASSWORD (on the command line) is refused" ||
  { grep -q 'refused' "$dir/out" && ok "a password on the command line is refused" ||
      { cat "$dir/out"; bad "the refusal says why"; }; }
$S user list >"$dir/users" 2>&1
grep -qx $'alice\tSCRAM-SHA-256(iterations=4096),SCRAM-SHA-512(iterations=4096)' "$dir/users" &&
  grep -qx $'bob\tSCRAM-SHA-512(iterations=8192)' "$dir/users" &&
  ok "user list: users, mechanisms and iterations" || { cat "$dir/users"; bad "user list"; }
# Only names, mechanisms and iteration counts: no salt or key (base64 or hex).
grep -vqE $'^[a-z]+\t(SCRAM-SHA-(256|512)\\(iterations=[0-9]+\\),?)+$' "$dir/users" &&
  { cat "$dir/users"; bad "user list shows only names, mechanisms and iterations"; } ||
  ok "user list shows no salt or key"

$S acl add --allow-principal User:alice --producer --topic orders >"$dir/out" 2>&1 &&
  [ "$(grep -c '^added' "$dir/out")" = 3 ] && ok "acl add --producer: Write, Describe, Create" ||
  { cat "$dir/out"; bad "acl add --producer"; }
$S acl add --allow-principal User:bob --consumer --topic orders --group billing >"$dir/out" 2>&1 &&
  [ "$(grep -c '^added' "$dir/out")" = 3 ] && ok "acl add --consumer: Read, Describe on the topic, Read on the group" ||
  { cat "$dir/out"; bad "acl add --consumer"; }
$S acl add --deny-principal User:bob --deny-host 10.1.2.3 --operation Write --operation Delete \
  --topic logs- --resource-pattern-type prefixed >"$dir/out" 2>&1 &&
  [ "$(grep -c '^added' "$dir/out")" = 2 ] && ok "acl add --deny-principal --deny-host --operation x2, prefixed" ||
  { cat "$dir/out"; bad "acl add deny prefixed"; }
$S acl add --allow-principal User:bob --operation Fly --topic t >"$dir/out" 2>&1 &&
  bad "an unknown operation is refused" || ok "an unknown operation is refused"
$S acl list >"$dir/acls" 2>&1
[ "$(wc -l <"$dir/acls")" = 8 ] && ok "acl list: 8 ACLs" || { cat "$dir/acls"; bad "acl list: 8 ACLs"; }
$S acl list --topic logs-2024 --resource-pattern-type match >"$dir/out" 2>&1
[ "$(grep -c 'Prefixed:logs-' "$dir/out")" = 2 ] && [ "$(wc -l <"$dir/out")" = 2 ] &&
  ok "acl list --resource-pattern-type match: the prefixed ACLs that apply" ||
  { cat "$dir/out"; bad "acl list match"; }

# ---- Kafka clients ----
timeout 120 $PY tests/kafka/users_acls.py "$KBOOT" write >"$dir/py.out" 2>&1
rc=$?
cat "$dir/py.out"
fails=$((fails + $(grep -c '^FAIL' "$dir/py.out")))
[ $rc -eq 0 ] || grep -q '^FAIL' "$dir/py.out" || bad "users_acls.py write exited $rc"
$S user list >"$dir/users" 2>&1
grep -qx $'carol\tSCRAM-SHA-256(iterations=4096),SCRAM-SHA-512(iterations=8192)' "$dir/users" &&
  ok "the CLI sees the user a Kafka client created" || { cat "$dir/users"; bad "CLI sees carol"; }

# ---- no secret at rest: no password in the controller's files ----
cdir=$STRATA_CLUSTER_DIR/controller
if grep -raqE 'alice-Pw-4471|bob-Pw-8812|carol-Kafka-991' "$cdir" "$STRATA_CLUSTER_DIR"/broker-*; then
  bad "a password is in the controller's or a broker's files"
else
  ok "no password in the metadata log, snapshot or broker data"
fi

# ---- kill -9 everything, start again ----
scripts/cluster.sh kill controller >/dev/null
scripts/cluster.sh kill 1 >/dev/null
scripts/cluster.sh kill 2 >/dev/null
scripts/cluster.sh restart controller >/dev/null || bad "controller restart"
scripts/cluster.sh restart 1 >/dev/null || bad "broker 1 restart"
scripts/cluster.sh restart 2 >/dev/null || bad "broker 2 restart"
strata_wait_port 127.0.0.2 $((port + 2)) 20 || bad "broker 2's Kafka listener is back"
retry $S2 user list >"$dir/users2" && cmp -s "$dir/users" "$dir/users2" &&
  ok "after kill -9 of the controller and both brokers: the same users (via broker 2)" ||
  { cat "$dir/users2"; bad "users after kill -9"; }
retry $S2 acl list >"$dir/acls2"
[ "$(wc -l <"$dir/acls2")" = 10 ] && ok "after kill -9: the 8 CLI ACLs and the Kafka client's 2" ||
  { cat "$dir/acls2"; bad "ACLs after kill -9"; }
timeout 120 $PY tests/kafka/users_acls.py "$KBOOT2" check >"$dir/py.out" 2>&1
rc=$?
cat "$dir/py.out"
fails=$((fails + $(grep -c '^FAIL' "$dir/py.out")))
[ $rc -eq 0 ] || grep -q '^FAIL' "$dir/py.out" || bad "users_acls.py check exited $rc"

# ---- deletes ----
$S2 user delete alice >"$dir/out" 2>&1 && ok "user delete alice" || { cat "$dir/out"; bad "user delete"; }
$S2 user delete alice >"$dir/out" 2>&1 && bad "deleting alice again fails" ||
  { grep -q 'no such user' "$dir/out" && ok "deleting a user that is gone: no such user" ||
      { cat "$dir/out"; bad "no such user"; }; }
$S2 user delete bob --mechanism SCRAM-SHA-256 >"$dir/out" 2>&1 &&
  bad "deleting a credential bob lacks fails" || ok "deleting a credential the user lacks fails"
$S2 acl remove --topic orders >"$dir/out" 2>&1 && [ "$(grep -c '^removed' "$dir/out")" = 5 ] &&
  ok "acl remove --topic orders: its 5 ACLs" || { cat "$dir/out"; bad "acl remove --topic orders"; }
$S2 acl remove --topic logs- --resource-pattern-type prefixed --deny-principal User:bob \
  --deny-host 10.1.2.3 --operation Delete >"$dir/out" 2>&1 &&
  [ "$(grep -c '^removed' "$dir/out")" = 1 ] && ok "acl remove by principal, host and operation: one ACL" ||
  { cat "$dir/out"; bad "acl remove narrow"; }
timeout 120 $PY tests/kafka/users_acls.py "$KBOOT" delete >"$dir/py.out" 2>&1
rc=$?
cat "$dir/py.out"
fails=$((fails + $(grep -c '^FAIL' "$dir/py.out")))
[ $rc -eq 0 ] || grep -q '^FAIL' "$dir/py.out" || bad "users_acls.py delete exited $rc"
scripts/cluster.sh kill controller >/dev/null
scripts/cluster.sh restart controller >/dev/null || bad "controller restart"
retry $S user list >"$dir/users"
[ "$(cat "$dir/users")" = $'bob\tSCRAM-SHA-512(iterations=8192)' ] &&
  ok "after another kill -9 of the controller: only bob is left" || { cat "$dir/users"; bad "users after deletes"; }
retry $S acl list >"$dir/acls"
grep -q 'Group:Literal:billing' "$dir/acls" && grep -q 'Prefixed:logs-.*Write' "$dir/acls" &&
  grep -q 'User:dave' "$dir/acls" && [ "$(wc -l <"$dir/acls")" = 3 ] &&
  ok "and the 3 ACLs no delete named" || { cat "$dir/acls"; bad "ACLs after deletes"; }
timeout 120 $PY tests/kafka/users_acls.py "$KBOOT2" gone >"$dir/py.out" 2>&1
rc=$?
cat "$dir/py.out"
fails=$((fails + $(grep -c '^FAIL' "$dir/py.out")))
[ $rc -eq 0 ] || grep -q '^FAIL' "$dir/py.out" || bad "users_acls.py gone exited $rc"

# ---- --bootstrap-user ----
bport=$(strata_free_port) || exit 1
bdir=$dir/boot
boot() {
  STRATA_BOOTSTRAP_PASSWORD=admin-Boot-5150 "$STRATA_BUILD/strata-controller" --set data.dir="$bdir" \
    --set listeners=127.0.0.1:$bport --set admin.listeners= --bootstrap-user admin >>"$dir/boot.log" 2>&1 &
  bpid=$!
  strata_wait_port 127.0.0.1 $bport 15 || bad "the bootstrap controller listens"
  kill -9 "$bpid" 2>/dev/null
  wait "$bpid" 2>/dev/null
  bpid=
}
boot
grep -q 'bootstrap user admin created' "$dir/boot.log" &&
  ok "--bootstrap-user: created on a cluster with no user" || { cat "$dir/boot.log"; bad "bootstrap user created"; }
boot
grep -q 'users exist already' "$dir/boot.log" &&
  ok "--bootstrap-user again, after kill -9: the user is there, nothing changes" ||
  { cat "$dir/boot.log"; bad "bootstrap user kept"; }
grep -raq 'admin-Boot-5150' "$bdir" && bad "the bootstrap password is in the controller's files" ||
  ok "the bootstrap password is not in the controller's files"
"$STRATA_BUILD/strata-controller" --set data.dir="$dir/boot2" --bootstrap-user admin >"$dir/out" 2>&1 &&
  bad "--bootstrap-user without a password is refused" ||
  { grep -q 'needs a password' "$dir/out" && ok "--bootstrap-user without a password: refused" ||
      { cat "$dir/out"; bad "bootstrap without a password"; }; }

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"

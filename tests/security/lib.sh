# Sourced by tests/security/*_test.sh: a secure local cluster and the
# ok/FAIL bookkeeping (tests/kafka/clients.sh's). Every process it starts is
# stopped by its PID on any exit, and its folder removed.
#
# sec_up NAME starts, in a temp folder ($dir):
#   certificates from tests/security/certs.sh ($CERTS: ca, broker-N, controller,
#     admin/alice/bob/carol, other-ca, expired, not yet valid);
#   a controller on SSL://127.0.0.1:$CPORT, client certificates required,
#     authorizer on, bootstrap user admin (--bootstrap-user, password from
#     STRATA_BOOTSTRAP_PASSWORD);
#   brokers 1..3: native SASL_SSL://127.0.0.i:$PORT and Kafka
#     SASL_SSL://127.0.0.i:$KPORT (SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN
#     enabled, client certificates requested), admin HTTP on 127.0.0.i:$APORT
#     (loopback, plain); each broker is User:broker-i by certificate and by
#     SCRAM; authorizer on; super.users = admin, controller, broker-1..3;
#   SCRAM users broker-1..3, alice, bob, carol (random passwords:
#     $PW_admin, $PW_alice, ...), made with `strata user create` as admin;
#   client property files (librdkafka names; kcat -F and strata
#     --command-config read the same file): $dir/USER.properties
#     (SASL_SSL, SCRAM-SHA-512) and $dir/USER-256.properties (SCRAM-SHA-256).
# SEC_PORT=N picks the base port (brokers N, controller N+1, Kafka N+2,
# admin N+3, controller admin N+4); default: a free one.
# SEC_NATIVE=SSL: another layout, the brokers' native listeners on SSL://
# instead of SASL_SSL:// (the CLI and followers are then known by their
# client certificates: $dir/USER-mtls.properties); the tests skip what needs
# SASL on the native port. make test runs the default layout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. scripts/lib.sh
. tests/security/certs.sh
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
ST=tests/security
fails=0
dir=
_sec_pids=()
SEC_RULES='RULE:^CN=(.*?),.*$/$1/,DEFAULT'
SEC_SUPER='User:admin;User:controller;User:broker-1;User:broker-2;User:broker-3'
SEC_USER_NAMES="broker-1 broker-2 broker-3 alice bob carol"

ok() { echo "ok   $1"; }
bad() {
  echo "FAIL $1"
  fails=$((fails + 1))
  [ -z "$dir" ] || echo "FAIL $1" >>"$dir/fails"
}
# sec_run OUTFILE CMD...: a helper whose ok/FAIL lines count (its failing exit
# without a FAIL line counts as one).
sec_run() {
  local out=$1 rc n
  shift
  "$@" >"$out" 2>&1
  rc=$?
  cat "$out"
  n=$(grep -c '^FAIL' "$out")
  fails=$((fails + n))
  grep '^FAIL' "$out" >>"$dir/fails"
  if [ "$rc" != 0 ] && [ "$n" = 0 ]; then bad "$* exited $rc"; tail -n 5 "$out"; fi
  return "$rc"
}

# sec_need_tools: what every security test runs. Missing: fail naming it.
sec_need_tools() {
  local c m missing=()
  for c in openssl "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c (command)"); done
  [ -x $PY ] || missing+=("$PY (python3)")
  for m in ${SEC_PYMODS:-}; do
    $PY -c "import ${m%%:*}" 2>/dev/null || missing+=("python3 module ${m%%:*} (Debian ${m#*:})")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  for m in "${missing[@]}"; do echo "FAIL: $m: not installed; run scripts/deps.sh --install"; done
  exit 1
}

_sec_pw() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20; }

# sec_base_port: a base port whose four neighbours are free too.
sec_base_port() {
  local p
  if [ -n "${SEC_PORT:-}" ]; then echo "$SEC_PORT"; return 0; fi
  for _ in $(seq 20); do
    p=$(strata_free_port) || return 1
    _strata_port_used $((p + 1)) || _strata_port_used $((p + 2)) || _strata_port_used $((p + 3)) ||
      _strata_port_used $((p + 4)) || { echo "$p"; return 0; }
  done
  return 1
}

# sec_props FILE USER [MECH] [extra lines]: a client properties file.
sec_props() {
  local f=$1 u=$2 mech=${3:-SCRAM-SHA-512} pwvar
  pwvar=PW_${u//-/_}
  {
    echo "security.protocol=SASL_SSL"
    echo "ssl.ca.location=$CERTS/ca.pem"
    echo "sasl.mechanism=$mech"
    echo "sasl.username=$u"
    echo "sasl.password=${!pwvar}"
    shift 3 2>/dev/null || true
    for l in "$@"; do echo "$l"; done
  } >"$f"
  chmod 600 "$f"
}

# sec_props_mtls FILE USER: TLS with USER's client certificate, no SASL.
sec_props_mtls() {
  printf '%s\n' "security.protocol=SSL" "ssl.ca.location=$CERTS/ca.pem" \
    "ssl.certificate.location=$CERTS/$2.pem" "ssl.key.location=$CERTS/$2.key" >"$1"
  chmod 600 "$1"
}

# The settings every node shares (TLS files aside).
_sec_common_sets() { # NAME (certificate name)
  local n=$1
  echo "ssl.certificate.location=$CERTS/$n.pem"
  echo "ssl.key.location=$CERTS/$n.key"
  echo "ssl.ca.location=$CERTS/ca.pem"
  echo "ssl.principal.mapping.rules=$SEC_RULES"
  echo "authorizer.enabled=true"
  echo "super.users=$SEC_SUPER"
  echo "allow.everyone.if.no.acl.found=false"
}

# sec_controller_args: the controller's command line (an array, CTRL_ARGS).
sec_controller_args() {
  local kv
  CTRL_ARGS=("$STRATA_BUILD/strata-controller" --set data.dir="$dir/controller"
    --set listeners=SSL://127.0.0.1:$CPORT --set admin.listeners=127.0.0.1:$CAPORT
    --set ssl.client.auth=required --bootstrap-user admin)
  while IFS= read -r kv; do CTRL_ARGS+=(--set "$kv"); done < <(_sec_common_sets controller)
  for kv in ${SEC_CONTROLLER_SETS:-}; do CTRL_ARGS+=(--set "$kv"); done
}

# sec_broker_args ID: broker ID's command line (BROKER_ARGS).
sec_broker_args() {
  local id=$1 kv
  local native=SASL_SSL
  [ "${SEC_NATIVE:-SASL_SSL}" = SSL ] && native=SSL
  BROKER_ARGS=("$STRATA_BUILD/strata-broker" --set broker.id="$id" --set log.dir="$dir/broker-$id"
    --set listeners=$native://127.0.0.$id:$PORT --set kafka.listeners=SASL_SSL://127.0.0.$id:$KPORT
    --set admin.listeners=127.0.0.$id:$APORT --set controller=SSL://127.0.0.1:$CPORT
    --set ssl.client.auth=requested --set sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
    --set sasl.mechanism=SCRAM-SHA-512 --set sasl.username=broker-$id
    --set sasl.password.file="$dir/broker-$id.password")
  while IFS= read -r kv; do BROKER_ARGS+=(--set "$kv"); done < <(_sec_common_sets "broker-$id")
  for kv in ${SEC_BROKER_SETS:-}; do BROKER_ARGS+=(--set "$kv"); done
}

_sec_alive() { kill -0 "$1" 2>/dev/null; }

sec_start_controller() {
  sec_controller_args
  STRATA_BOOTSTRAP_PASSWORD=$PW_admin "${CTRL_ARGS[@]}" >>"$dir/controller.log" 2>&1 &
  CTRL_PID=$!
  _sec_pids+=("$CTRL_PID")
  strata_wait_port 127.0.0.1 "$CPORT" 15 && sleep 0.1 && _sec_alive "$CTRL_PID" ||
    { bad "controller did not start: $(tail -n 5 "$dir/controller.log" | tr '\n' ' ')"; return 1; }
}

sec_start_broker() { # ID
  local id=$1
  sec_broker_args "$id"
  "${BROKER_ARGS[@]}" >>"$dir/broker-$id.log" 2>&1 &
  eval "BROKER_PID_$id=$!"
  _sec_pids+=("$!")
  strata_wait_port 127.0.0.$id "$PORT" 15 && sleep 0.1 && _sec_alive "$!" ||
    { bad "broker $id did not start: $(tail -n 5 "$dir/broker-$id.log" | tr '\n' ' ')"; return 1; }
}

# sec_stop_broker ID: TERM, then KILL after 5 s.
sec_stop_broker() {
  local pidvar=BROKER_PID_$1 pid
  pid=${!pidvar:-}
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null
  for _ in $(seq 50); do _sec_alive "$pid" || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

# sec_native_props USER [MECH-SUFFIX]: the properties file USER's CLI uses on
# the native port (SASL, or the client certificate with SEC_NATIVE=SSL).
sec_native_props() {
  if [ "${SEC_NATIVE:-SASL_SSL}" = SSL ]; then echo "$dir/$1-mtls.properties"; else echo "$dir/$1${2:-}.properties"; fi
}

# sec_cli USER ARGS...: the CLI as USER over TLS + SCRAM-SHA-512 (with
# SEC_NATIVE=SSL: over TLS with USER's client certificate).
sec_cli() {
  local u=$1 f
  shift
  f=$dir/$u.properties
  [ "${SEC_NATIVE:-SASL_SSL}" = SSL ] && f=$dir/$u-mtls.properties
  timeout 30 "$STRATA_BIN" --command-config "$f" --bootstrap "127.0.0.1:$PORT" "$@"
}

# sec_user_create NAME: SCRAM-SHA-256 and -512 credentials for NAME with the
# password $PW_NAME, given on stdin (never argv).
sec_user_create() {
  local u=$1 pwvar
  pwvar=PW_${u//-/_}
  printf '%s\n' "${!pwvar}" | sec_cli admin user create "$u" >>"$dir/cli.log" 2>&1
}

# sec_acl ARGS...: `strata acl add ARGS` as admin.
sec_acl() { sec_cli admin acl add "$@" >>"$dir/cli.log" 2>&1; }

# sec_up NAME: everything in the header comment; fails the test when a step fails.
sec_up() {
  local i u base
  dir=$(mktemp -d "/tmp/strata-sec-$1.XXXXXX")
  trap sec_down EXIT
  trap 'exit 130' INT TERM
  CERTS=$dir/certs
  certs_make "$CERTS" 3 || { bad "certificates (tests/security/certs.sh)"; exit 1; }
  base=$(sec_base_port) || { bad "no free port"; exit 1; }
  PORT=$base CPORT=$((base + 1)) KPORT=$((base + 2)) APORT=$((base + 3)) CAPORT=$((base + 4))
  KBOOT=127.0.0.1:$KPORT,127.0.0.2:$KPORT,127.0.0.3:$KPORT
  for u in admin $SEC_USER_NAMES; do eval "PW_${u//-/_}=\$(_sec_pw)"; done
  for i in 1 2 3; do
    local pwvar=PW_broker_$i
    printf '%s\n' "${!pwvar}" >"$dir/broker-$i.password"
    chmod 600 "$dir/broker-$i.password"
  done
  for u in admin alice bob carol; do
    sec_props "$dir/$u.properties" "$u" SCRAM-SHA-512
    sec_props "$dir/$u-256.properties" "$u" SCRAM-SHA-256
    sec_props_mtls "$dir/$u-mtls.properties" "$u"
  done
  export STRATA_BUILD
  sec_start_controller || exit 1
  for i in 1 2 3; do sec_start_broker "$i" || exit 1; done
  # Users (as the bootstrap admin, through broker 1): the brokers' own first,
  # which their follower links authenticate with.
  local deadline=$((SECONDS + 30)) made=0
  while [ $SECONDS -lt $deadline ]; do
    sec_user_create broker-1 && { made=1; break; }
    sleep 0.5
  done
  [ $made = 1 ] || { bad "strata user create broker-1 as admin: $(tail -n 3 "$dir/cli.log" | tr '\n' ' ')"; exit 1; }
  for u in broker-2 broker-3 alice bob carol; do
    sec_user_create "$u" || { bad "strata user create $u: $(tail -n 3 "$dir/cli.log" | tr '\n' ' ')"; exit 1; }
  done
  # Every broker registered (the controller knows them all).
  deadline=$((SECONDS + 30))
  local c=0
  while [ $SECONDS -lt $deadline ]; do
    c=$(sec_cli admin cluster status 2>/dev/null | grep -c " alive$" || true)
    [ "$c" -ge 3 ] && break
    sleep 0.2
  done
  [ "$c" -ge 3 ] || { bad "3 brokers alive in cluster status (saw $c)"; exit 1; }
  echo "# secure cluster in $dir: native SASL_SSL :$PORT, controller SSL :$CPORT, Kafka SASL_SSL :$KPORT"
}

# sec_topic NAME PARTITIONS: a topic with replication factor 3 (as admin),
# waited for until every replica is in sync.
sec_topic() {
  local t=$1 p=${2:-1}
  sec_cli admin topic create "$t" --partitions "$p" --replication-factor 3 >>"$dir/cli.log" 2>&1 ||
    { bad "strata topic create $t as admin: $(tail -n 2 "$dir/cli.log" | tr '\n' ' ')"; return 1; }
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    sec_cli admin topic describe "$t" 2>/dev/null | awk -v p="$p" '
      / Partition: / { n++; i = $0; sub(/.*Isr: /, "", i); sub(/\t.*/, "", i)
        if (split(i, a, ",") < 3) short = 1 }
      END { exit !(n >= p && !short) }' && return 0
    sleep 0.2
  done
  bad "topic $t: not $p partitions with 3 replicas in sync after 30 s"
  return 1
}

# The metric strata_connections{listener="client"} of broker ID.
sec_conns() {
  curl -s --max-time 5 "http://127.0.0.$1:$APORT/metrics" |
    awk '/^strata_connections\{listener="client"\}/ { print $2 }'
}

# sec_no_secrets: no file the run wrote (logs, outputs) holds any password
# in clear (the properties and password files excepted).
sec_no_secrets() {
  local u pwvar hits="" f
  for u in admin $SEC_USER_NAMES; do
    pwvar=PW_${u//-/_}
    f=$(grep -rlF --exclude='*.properties' --exclude='*.password' --exclude-dir=certs \
      -e "${!pwvar}" "$dir" 2>/dev/null | tr '\n' ' ')
    [ -z "$f" ] || hits="$hits $u's password in: $f;"
  done
  if [ -z "$hits" ]; then ok "no log or output holds a password (grep of $(ls "$dir" | wc -l) files in the run's folder)"
  else bad "a password is in clear:$hits"; fi
}

sec_logs() { # the brokers' and controller's last warnings, for a failed test
  local f
  for f in "$dir"/*.log; do
    [ -f "$f" ] || continue
    grep -aE " (WARN|ERROR) " "$f" | tail -n 3 | cut -c1-200 | sed "s|^|# $(basename "$f"): |"
  done
}

sec_down() {
  local rc=$?
  [ -n "${sec_ended:-}" ] || [ "$rc" = 0 ] || [ -z "$dir" ] || sec_logs
  _sec_stop_all
  strata_stop_all
  [ -z "$dir" ] || [ -n "${SEC_KEEP:-}" ] || rm -rf "$dir"
  exit "$rc"
}

# Stop every process started here (TERM, then KILL after 5 s).
_sec_stop_all() {
  local pid
  for pid in "${_sec_pids[@]+"${_sec_pids[@]}"}"; do kill "$pid" 2>/dev/null; done
  for pid in "${_sec_pids[@]+"${_sec_pids[@]}"}"; do
    for _ in $(seq 50); do _sec_alive "$pid" || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  _sec_pids=()
}

# sec_end: stop the cluster, check its logs for sanitizer reports (a
# sanitized build: make asan), then the failures again (make test shows a
# test's last 20 lines) and the closing line; the exit status says whether
# anything failed.
sec_end() {
  local f
  _sec_stop_all
  # the servers' logs and every client's saved output
  for f in $(grep -rlIE --exclude-dir=certs "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$dir" 2>/dev/null); do
    bad "sanitizer report in ${f#"$dir"/}: $(grep -m1 -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$f" | cut -c1-160)"
  done
  sec_ended=1
  if [ "$fails" = 0 ]; then echo "all passed"; exit 0; fi
  sec_logs
  echo "# the failures:"
  cut -c1-300 "$dir/fails" | head -n 12
  echo "$fails failed"
  exit 1
}

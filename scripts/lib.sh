# Shared shell helpers for the demo, bench and cluster test scripts.
# Sourced, not run. Every process started here is stopped by its PID.

STRATA_BUILD=${STRATA_BUILD:-build}
STRATA_BIN=${STRATA_BIN:-$STRATA_BUILD/strata}
STRATA_BROKER_BIN=${STRATA_BROKER_BIN:-$STRATA_BUILD/strata-broker}
_strata_pids=()

# A test's check lines: `ok WHAT` and `bad WHAT` print them, `fails` counts
# the bad ones (the test exits non-zero when it is not 0). A script that
# needs other ones defines its own after sourcing this file.
fails=${fails:-0}
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

# Wait until host:port accepts TCP connections, up to $3 seconds.
strata_wait_port() {
  local host=$1 port=$2 deadline=$((SECONDS + ${3:-15}))
  while [ $SECONDS -lt $deadline ]; do
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "timed out waiting for $host:$port" >&2
  return 1
}

# A TCP port for a test server on this machine: outside the kernel's
# ephemeral range (/proc/sys/net/ipv4/ip_local_port_range: the kernel takes
# the source ports of outgoing connections from it, so a port there that
# looked free can be taken a moment later), at or above 10000, and with no
# socket on it in /proc/net/tcp{,6}. Another process may still listen on it
# first: strata_start_broker DIR any tries again on a new one.
strata_free_port() {
  local lo=32768 hi=60999 below from above k port
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  below=$((lo > 10000 ? lo - 10000 : 0))  # [10000, lo)
  from=$((hi >= 10000 ? hi + 1 : 10000)) # [from, 65535]
  above=$((65536 - from))
  [ $((below + above)) -gt 0 ] || { echo "no port outside the ephemeral range $lo-$hi" >&2; return 1; }
  for _ in $(seq 200); do
    k=$(((RANDOM << 15 | RANDOM) % (below + above)))
    if [ $k -lt $below ]; then port=$((10000 + k)); else port=$((from + k - below)); fi
    _strata_port_used "$port" || { echo "$port"; return 0; }
  done
  echo "no free port found" >&2
  return 1
}

# Any socket on the port, in any state, on any address.
_strata_port_used() {
  awk -v p="$(printf '%04X' "$1")" 'FNR > 1 { sub(/.*:/, "", $2); if ($2 == p) found = 1 }
    END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Is process $1 alive (not exited, not a zombie)?
_strata_alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# Does process $1 itself hold a socket listening on TCP port $2? (Another
# process's listener on the port is not its.)
_strata_listens() {
  local inode
  for inode in $(awk -v p="$(printf '%04X' "$2")" 'FNR > 1 && $4 == "0A" {
      sub(/.*:/, "", $2); if ($2 == p) print $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
    ls -l "/proc/$1/fd" 2>/dev/null | grep -q "socket:\[$inode\]" && return 0
  done
  return 1
}

# strata_start_broker DATA_DIR PORT [extra --set args...]: start one broker in
# the background, logging to DATA_DIR/broker.log, and wait until it listens
# on 127.0.0.1:PORT; sets STRATA_BROKER_PID and STRATA_BROKER_PORT. PORT
# "any": a port from strata_free_port, and another one (up to 5 starts) when
# the broker says it was taken.
strata_start_broker() {
  local dir=$1 want=$2 port from tries=1 deadline
  shift 2
  mkdir -p "$dir"
  while :; do
    port=$want
    if [ "$want" = any ]; then port=$(strata_free_port) || return 1; fi
    from=$(stat -c %s "$dir/broker.log" 2>/dev/null || echo 0)
    "$STRATA_BROKER_BIN" --set log.dir="$dir/data" --set listeners=127.0.0.1:"$port" \
      "$@" >>"$dir/broker.log" 2>&1 &
    STRATA_BROKER_PID=$!
    STRATA_BROKER_PORT=$port
    _strata_pids+=("$STRATA_BROKER_PID")
    deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ] && _strata_alive "$STRATA_BROKER_PID"; do
      if _strata_listens "$STRATA_BROKER_PID" "$port" &&
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
      sleep 0.1
    done
    if [ "$want" = any ] && [ $tries -lt 5 ] && ! _strata_alive "$STRATA_BROKER_PID" &&
      tail -c +$((from + 1)) "$dir/broker.log" | grep -q "address already in use"; then
      echo "port $port was taken before the broker could listen; trying another" >&2
      tries=$((tries + 1))
      continue
    fi
    echo "the broker did not listen on 127.0.0.1:$port" >&2
    tail -n 20 "$dir/broker.log" >&2
    return 1
  done
}

# strata_cluster_up DIR N: scripts/cluster.sh's cluster of N brokers with its
# folder in DIR/cluster, on a port whose neighbours it also takes (+1 the
# controller, +2 the Kafka listeners, +3 and +4 the admin ports; with
# STRATA_CONTROLLERS=3 also +5..+8, the other two controllers' listeners and
# admin ports) are free; exports
# STRATA_CLUSTER_DIR and STRATA_CLUSTER_PORT (scripts/cluster.sh down stops
# it). Its output goes to DIR/up.out, shown when it fails.
strata_cluster_up() {
  local dir=$1 n=$2 port last=4 k used
  [ "${STRATA_CONTROLLERS:-1}" = 1 ] || last=8
  for _ in $(seq 20); do
    port=$(strata_free_port) || return 1
    used=0
    [ $((port + last)) -le 65535 ] || continue
    for k in $(seq 1 $last); do
      _strata_port_used $((port + k)) && { used=1; break; }
    done
    [ $used = 0 ] && break
  done
  export STRATA_CLUSTER_DIR=$dir/cluster STRATA_CLUSTER_PORT=$port STRATA_BUILD
  scripts/cluster.sh up "$n" >"$dir/up.out" 2>&1 || { cat "$dir/up.out"; return 1; }
}

# The 3-controller quorum's port layout on a cluster's base port BASE
# (scripts/cluster.sh uses it too): controller K (1..3) listens on BASE+1,
# BASE+5, BASE+6 and serves its admin port on BASE+4, BASE+7, BASE+8.
strata_ctl_port() { case $2 in 1) echo $(($1 + 1)) ;; 2) echo $(($1 + 5)) ;; 3) echo $(($1 + 6)) ;; esac; }
strata_ctl_aport() { case $2 in 1) echo $(($1 + 4)) ;; 2) echo $(($1 + 7)) ;; 3) echo $(($1 + 8)) ;; esac; }
# controller.quorum.voters of the 3 controllers of the cluster on BASE.
strata_quorum_voters() {
  local k v=
  for k in 1 2 3; do v="$v${v:+,}$k@127.0.0.1:$(strata_ctl_port "$1" "$k")"; done
  echo "$v"
}

# Skips (scripts/run-tests.sh counts them): a test that cannot run prints
# "SKIP: what: why" and exits 77. Only what needs root may be skipped, and
# only when not root: as root a test runs for real or fails.
strata_skip() {
  echo "SKIP: $*"
  exit 77
}

# strata_need WHAT CMD...: the commands WHAT runs. As root a missing one
# fails the test, naming it; otherwise WHAT is skipped, naming it.
strata_need() {
  local what=$1 c missing=()
  shift
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    for c in "${missing[@]}"; do
      echo "FAIL: $what: $c: command not found; run scripts/deps.sh --install" >&2
    done
    exit 1
  fi
  strata_skip "$what: needs ${missing[*]} (not installed; scripts/deps.sh --install installs it)"
}

# Stop every process this script started (TERM, then KILL after 5 s).
strata_stop_all() {
  local pid
  for pid in "${_strata_pids[@]+"${_strata_pids[@]}"}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${_strata_pids[@]+"${_strata_pids[@]}"}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  _strata_pids=()
  return 0
}

# Benchmarks and the host's memory. Where this guest hands freed memory
# back to its host (virtio-balloon free page reporting,
# /sys/module/page_reporting), a page-cache page taken from such memory costs
# a host page fault on its first write: 1 GiB into a new file took 1.4-1.55 s
# of system time after the host had taken the last deleted file's memory
# back, 0.12-0.14 s when its freed pages were reused. Which one a step got
# swung the disk's rate and a broker's CPU per GiB 2-5x by timing alone. A
# broker that has run a while writes into recycled pages (its page cache
# has filled memory), so a benchmark holds freed memory in the guest for its
# run: page_reporting's min_free_ms set to 60 s where it can be set
# (BENCH_HOST_MEMORY=leave leaves it). strata_bench_memory_restore puts the
# old value back: call it from the script's EXIT trap (INT and TERM exit
# through it; a kill -9 leaves 60 s set). strata_bench_memory_note after a
# step says how much memory went back to the host since the hold (0 MiB:
# every step so far wrote recycled pages).
_strata_mem_delay=/sys/module/page_reporting/parameters/min_free_ms
_strata_mem_reported=/sys/module/page_reporting/parameters/reported_kib
_strata_mem_was=
_strata_mem_at=0
strata_bench_memory_hold() {
  _strata_mem_at=$(cat "$_strata_mem_reported" 2>/dev/null || echo 0)
  [ "${BENCH_HOST_MEMORY:-keep}" = keep ] && [ -w "$_strata_mem_delay" ] || return 0
  _strata_mem_was=$(cat "$_strata_mem_delay")
  echo 60000 > "$_strata_mem_delay" 2>/dev/null || _strata_mem_was=
  return 0
}
strata_bench_memory_restore() {
  [ -n "$_strata_mem_was" ] && echo "$_strata_mem_was" > "$_strata_mem_delay" 2>/dev/null
  _strata_mem_was=
  return 0
}
strata_bench_memory_mark() { _strata_mem_at=$(cat "$_strata_mem_reported" 2>/dev/null || echo 0); }
strata_bench_memory_note() {
  [ -r "$_strata_mem_reported" ] || return 0
  echo "  (memory handed back to the host during this step: $(( ($(cat "$_strata_mem_reported") - _strata_mem_at) >> 10 )) MiB)"
}
# Write and delete a file of $2 MiB in $1: the memory it frees is what the
# benchmark's first step writes into.
strata_bench_memory_warm() {
  dd if=/dev/zero of="$1/.memory-warm" bs=1M count="$2" status=none conv=fsync
  rm -f "$1/.memory-warm"
}

#!/bin/bash
# console_check.sh URL [--broker ID]... [--topic T]... [--group G]...
#     [--under-replicated T:P]... [--offline T:P]... [--unreachable ID]...
#     [--fenced ID]... [--paging] [--cluster-id ID] [--timeout S] [--screenshot PNG]
#
# Loads the console at URL in headless Chromium and fails (exit 1, a FAIL
# line per problem) unless: the page loads and finishes its first 2 s
# refresh with no uncaught exception, no console.error and no failed load
# (except from brokers given as --unreachable); #cluster-id is set; every
# --broker is a tr[data-broker-id] in #brokers shown live (--unreachable,
# --fenced: shown so; the page's requests to those may fail); every --topic has rows in #topics (typing it into the
# filter when it is not on the first page); every --under-replicated /
# --offline TOPIC:PARTITION row has that class, filtered by its topic and
# with "under-replicated only" on; the header counts them; every --group is
# a [data-group] in #groups; #rates shows rates. Exit 2: cannot run.
#
# The work is in console_check.py (the DevTools protocol over a pipe; why,
# there). This wrapper owns the temporary profile directory and, on any exit,
# stops the Chromium it started by its PID (its process group) and removes
# the directory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] && [ "${1#-}" = "$1" ] || { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}/usage: /;2,$s/^usage: /       /' >&2; exit 2; }
py=/usr/bin/python3
[ -x $py ] || py=python3
tmp=$(mktemp -d /tmp/strata-console-check.XXXXXX) || exit 2
mkdir "$tmp/profile"
# Chromium's crash handler keeps its database under the XDG config directory
# (~/.config/chromium/Crash Reports): keep that in the temporary one too.
export XDG_CONFIG_HOME=$tmp/config XDG_CACHE_HOME=$tmp/cache
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  # The helper stops Chromium itself; this is for when it could not (KILLed).
  if [ -s "$tmp/chromium.pid" ]; then
    cpid=$(cat "$tmp/chromium.pid")
    kill -0 "$cpid" 2>/dev/null && kill -KILL -- "-$cpid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
$py "$here/console_check.py" --user-data-dir "$tmp/profile" --pid-file "$tmp/chromium.pid" "$@" &
pid=$!
wait "$pid"
rc=$?
pid=
exit $rc

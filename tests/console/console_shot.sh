#!/bin/bash
# console_shot.sh URL OUT.png: a 1440x1000 screenshot of the console at URL,
# taken by headless Chromium's --screenshot once the page has had time to
# load and refresh (--virtual-time-budget: page time runs ahead of the wall
# clock while nothing is loading, so the 2 s refreshes happen within a short
# real wait, and the shot shows the page after them).
# The profile is a temporary directory, removed on exit; the Chromium started
# here is stopped by its PID (its process group) if it is still running.
set -u
[ $# -eq 2 ] || { echo "usage: $0 URL OUT.png" >&2; exit 2; }
url=$1
out=$2
exe=${CHROMIUM:-}
if [ -z "$exe" ]; then
  for c in chromium chromium-browser google-chrome; do
    command -v "$c" >/dev/null 2>&1 && { exe=$c; break; }
  done
fi
[ -n "$exe" ] || { echo "console_shot: no chromium on PATH (set CHROMIUM)" >&2; exit 2; }
case "$out" in /*) ;; *) out=$PWD/$out ;; esac
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d /tmp/strata-console-shot.XXXXXX) || exit 2
# Chromium's crash handler keeps its database under the XDG config directory
# (~/.config/chromium/Crash Reports): keep that in the temporary one too.
export XDG_CONFIG_HOME=$tmp/config XDG_CACHE_HOME=$tmp/cache
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null
    sleep 1
    kill -KILL -- "-$pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
flags=(--headless=new --user-data-dir="$tmp/profile" --no-first-run --no-default-browser-check
  --disable-gpu --disable-dev-shm-usage --disable-extensions --disable-background-networking
  --disable-component-update --disable-sync --mute-audio --hide-scrollbars
  --window-size=1440,1000 --virtual-time-budget="${CONSOLE_SHOT_BUDGET_MS:-7000}"
  --screenshot="$out")
[ "$(id -u)" = 0 ] && flags+=(--no-sandbox) # Chromium refuses to run as root with its sandbox
rm -f "$out"
# setsid: Chromium and its helpers in a process group of their own, whose
# id is its PID, so the trap can stop all of them and nothing else.
setsid "$exe" "${flags[@]}" "$url" >"$tmp/chromium.log" 2>&1 &
pid=$!
for _ in $(seq 600); do # up to 60 s
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  echo "console_shot: chromium still running after 60 s" >&2
  tail -n 20 "$tmp/chromium.log" >&2
  exit 1
fi
wait "$pid"
pid=
if [ ! -s "$out" ]; then
  echo "console_shot: no screenshot written for $url" >&2
  tail -n 20 "$tmp/chromium.log" >&2
  exit 1
fi
echo "console_shot: $out"

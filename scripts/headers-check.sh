#!/bin/bash
# Each header compiles on its own (STYLE.md: "include what you use"), and no
# broker/*.c file reaches a module above it: prints the broker include graph
# and fails on a header that does not compile alone or on a circle.
#   scripts/headers-check.sh [BUILD]   (BUILD: where gen/ is, default $STRATA_BUILD
#   or build; make test runs it)
set -u
cd "$(dirname "$0")/.."
build=${1:-${STRATA_BUILD:-build}}
cc=${CC:-cc}
flags="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I. -I$build/gen $(pkg-config --cflags libuv libprotobuf-c 2>/dev/null)"
fail=0
for h in broker/*.h common/*.h controller/*.h client/lib/*.h replication/*.h; do
  [ -f "$h" ] || continue
  if ! echo "#include \"$h\"" | $cc $flags -fsyntax-only -x c - 2>/tmp/headers-check.$$; then
    echo "does not compile alone: $h"
    sed 's/^/  /' /tmp/headers-check.$$ | head -5
    fail=1
  fi
done
rm -f /tmp/headers-check.$$
# The module graph: broker/x.c -> broker/y when x.c (or x.h) includes y.h.
edges=$(for f in broker/*.c broker/*.h; do
  m=$(basename "${f%.*}")
  grep -o '#include "\(broker/\)\?[a-z_]*\.h"' "$f" | sed 's/.*"\(broker\/\)\?\([a-z_]*\)\.h"/\2/' |
    while read -r d; do [ -f "broker/$d.h" ] && [ "$d" != "$m" ] && echo "$m $d"; done
done | sort -u)
echo "broker include graph (module -> modules it includes):"
echo "$edges" | awk '{a[$1] = a[$1] " " $2} END {for (m in a) print "  " m ":" a[m]}' | sort
if ! echo "$edges" | tsort >/dev/null 2>/tmp/headers-check.$$; then
  echo "include circle among broker modules:"
  sed 's/^/  /' /tmp/headers-check.$$
  fail=1
fi
rm -f /tmp/headers-check.$$
[ $fail -eq 0 ] && echo "headers: ok"
exit $fail

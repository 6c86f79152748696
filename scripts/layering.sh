#!/bin/bash
# Who may include whom (docs: ../shared/LAYOUT-REVIEW.md §8). Reads every
# #include of the product code (not tests/ or bench/) and fails naming the
# file, the line and the include that breaks a rule:
#   1. replication/ includes only common/ (not common/clock.h: time comes in
#      events), its own headers and the C standard library (no POSIX I/O,
#      <time.h>, proto or libuv).
#   2. controller/ and client/ never include broker/ or replication/.
#   3. <uv.h> only in files named *_uv.c or *_uv.h.
#   4. a *_uv.h header only in *_uv.c, *_uv.h and main.c files.
#   5. common/ includes only common/ and the generated protocol (proto/).
#   6. kafka/ (the Kafka codec) includes only common/, kafka/ and its
#      generated tables, and never libuv.
# Usage: scripts/layering.sh [repo dir]   (make layering; part of make test)
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2

# The C11 standard headers, minus <time.h> (rule 1).
libc=" assert.h complex.h ctype.h errno.h fenv.h float.h inttypes.h iso646.h limits.h locale.h \
math.h setjmp.h signal.h stdalign.h stdarg.h stdatomic.h stdbool.h stddef.h stdint.h stdio.h \
stdlib.h stdnoreturn.h string.h tgmath.h threads.h uchar.h wchar.h wctype.h "

bad=0
files=0
violation() { # file line include rule
  echo "layering: $1:$2: #include $3: $4"
  bad=$((bad + 1))
}

while IFS= read -r f; do
  files=$((files + 1))
  dir=$(dirname "$f")
  base=$(basename "$f")
  while IFS=: read -r line text; do
    if [[ "$text" =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^>]+)\> ]]; then
      inc="<${BASH_REMATCH[1]}>"
      target=
    elif [[ "$text" =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
      inc="\"${BASH_REMATCH[1]}\""
      target=${BASH_REMATCH[1]}
      # As the compiler looks: beside the including file first, then -I. (the
      # repository root; generated proto/*.pb-c.h come from -I$(BUILD)/gen).
      [ -e "$dir/$target" ] && target=$(realpath -m --relative-to=. "$dir/$target")
    else
      continue
    fi
    case "$f" in
      replication/*)
        if [ -z "$target" ]; then
          [[ "$libc" == *" ${inc:1:-1} "* ]] ||
            violation "$f" "$line" "$inc" "replication/ includes only common/ and the C standard library"
        else
          case "$target" in
            common/clock.h) violation "$f" "$line" "$inc" "replication/ never reads the clock: time comes in events" ;;
            common/* | replication/*) ;;
            *) violation "$f" "$line" "$inc" "replication/ includes only common/ and the C standard library" ;;
          esac
        fi ;;
      controller/* | client/*)
        case "$target" in
          broker/* | replication/*)
            violation "$f" "$line" "$inc" "controller/ and client/ never include broker/ or replication/" ;;
        esac ;;
      kafka/*)
        # the Kafka codec: pure, under the broker (its generated tables come
        # from -I$(BUILD)/gen)
        case "$target" in
          "" | common/* | kafka/* | kafka_msgs.h) ;;
          *) violation "$f" "$line" "$inc" "kafka/ includes only common/, kafka/ and its generated tables" ;;
        esac ;;
      common/*)
        case "$target" in
          "" | common/* | proto/*) ;;
          *) violation "$f" "$line" "$inc" "common/ includes only common/ and the generated proto/" ;;
        esac ;;
    esac
    if [ "$inc" = "<uv.h>" ]; then
      case "$base" in
        *_uv.c | *_uv.h) ;;
        *) violation "$f" "$line" "$inc" "only *_uv.c and *_uv.h files include libuv" ;;
      esac
    fi
    case "$target" in
      *_uv.h)
        case "$base" in
          *_uv.c | *_uv.h | main.c) ;;
          *) violation "$f" "$line" "$inc" "a *_uv.h header is included only by *_uv.c, *_uv.h and main.c files" ;;
        esac ;;
    esac
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$f")
done < <(find . \( -path ./.git -o -path ./tests -o -path ./bench -o -path './build*' \) -prune -o \
           -type f \( -name '*.c' -o -name '*.h' \) -print | sed 's|^\./||' | sort)

if [ "$bad" -gt 0 ]; then
  echo "layering: $bad forbidden include(s) in $files files (rules: scripts/layering.sh)"
  exit 1
fi
echo "layering: $files files, no forbidden include"

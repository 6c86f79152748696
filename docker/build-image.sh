#!/bin/bash
# Build the Strata image without any registry: a root filesystem assembled
# from this machine's own files (the binaries, exactly the shared libraries
# they load, glibc's name-service modules so brokers find each other by
# service name, a non-root user), then `FROM scratch`.
#   docker/build-image.sh [TAG]     (default strata:latest)
set -eu
cd "$(dirname "$0")/.."
tag=${1:-strata:latest}
BUILD=${STRATA_BUILD:-build}
make --no-print-directory all "$BUILD/strata-node" >/dev/null
ctx=$(mktemp -d /tmp/strata-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$ctx/data"
chmod 1777 "$root/tmp"
for b in strata-broker strata-controller strata strata-node; do
  install -m 0755 -s "$BUILD/$b" "$root/bin/$b"
done
# Every shared library the binaries load, and the loader, at their own paths.
libs=$(for b in "$root"/bin/*; do ldd "$b" | awk '/=> \//{print $3} /^\s*\/lib/{print $1}'; done | sort -u)
# Name resolution: glibc loads these at run time (ldd does not show them).
nss=$(ls /lib/x86_64-linux-gnu/libnss_dns.so.2 /lib/x86_64-linux-gnu/libnss_files.so.2 \
  /lib/x86_64-linux-gnu/libresolv.so.2 2>/dev/null || true)
for f in $libs $nss; do
  mkdir -p "$root$(dirname "$f")"
  cp -L "$f" "$root$f"
done
if [ -e /lib64/ld-linux-x86-64.so.2 ]; then
  mkdir -p "$root/lib64"
  cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
fi
printf 'root:x:0:0:root:/:/bin/false\nstrata:x:10001:10001:strata:/data:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nstrata:x:10001:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
COPY --chown=10001:10001 data /data
USER 10001:10001
VOLUME /data
# 9092: clients and followers (brokers); 9093: brokers to the controller
EXPOSE 9092 9093
ENV STRATA_ROLE=broker
ENTRYPOINT ["/bin/strata-node"]
DOCKERFILE
# (the legacy builder's deprecation notice is noise here: shown only on failure)
docker build -q -t "$tag" "$ctx" >"$ctx.build.log" 2>&1 || { cat "$ctx.build.log" >&2; rm -f "$ctx.build.log"; exit 1; }
rm -f "$ctx.build.log"
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "built $tag: $((size / 1024 / 1024)) MiB ($size bytes)"

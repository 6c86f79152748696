#!/bin/bash
# Build the Prometheus image of docker/compose.yml's `monitoring` profile
# without any image registry, as docker/build-image.sh builds Strata's: the
# Prometheus is Debian 12's own package (docker/prometheus.Dockerfile,
# apt-get install prometheus), on a base made here the first time, a minbase
# Debian 12 tree from debootstrap `docker import`ed as strata-debian:bookworm
# (kept for later builds). Needs root (debootstrap), and Debian's archive.
#   docker/build-prometheus-image.sh [TAG]      (default strata-prometheus:latest)
# STRATA_DEBIAN_BASE: a Debian 12 image you already have instead (say
# debian:bookworm-slim; it must be here: nothing is pulled).
# STRATA_DEBIAN_MIRROR: the archive (default this machine's apt source, else
# http://deb.debian.org/debian).
set -eu
cd "$(dirname "$0")/.."
tag=${1:-strata-prometheus:latest}
own_base=strata-debian:bookworm
base=${STRATA_DEBIAN_BASE:-$own_base}
mirror=${STRATA_DEBIAN_MIRROR:-$(sed -n 's|^URIs: *\(http[^ ]*/debian\)/\{0,1\}$|\1|p' \
  /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}
log=$(mktemp /tmp/strata-prometheus-image.XXXXXX)
root=
trap 'rm -f "$log"; [ -z "$root" ] || rm -rf "$root"' EXIT

if ! docker image inspect "$base" >/dev/null 2>&1; then
  if [ "$base" != "$own_base" ]; then
    echo "no image $base on this machine, and this script pulls none: load it, or unset STRATA_DEBIAN_BASE" >&2
    exit 1
  fi
  command -v debootstrap >/dev/null || { echo "missing command: debootstrap (apt-get install debootstrap)" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "making $own_base needs root (debootstrap)" >&2; exit 1; }
  root=$(mktemp -d /tmp/strata-debian.XXXXXX)
  echo "making $own_base: debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$log" 2>&1 || { tail -n 30 "$log" >&2; exit 1; }
  # Sources as Debian's own images have them: the release, its updates, security.
  sec=${mirror%/debian}/debian-security
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $sec
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import -q - "$own_base" >/dev/null
  rm -rf "$root"
  root=
fi

# Only the Dockerfile goes to the builder (no context to send).
docker build -q -t "$tag" --build-arg BASE="$base" - <docker/prometheus.Dockerfile >"$log" 2>&1 ||
  { cat "$log" >&2; exit 1; }
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "built $tag from $base: $((size / 1024 / 1024)) MiB ($size bytes)"

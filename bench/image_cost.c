/* What one whole metadata image costs at scale (issue 15, "measure first"):
 * the controller's state with N partitions at RF 3 on 3 brokers, then per
 * image: build (ctrl_image), packed size, pack, and unpack on the broker's
 * side. Every heartbeat answer after any change carries one such image to
 * each broker (controller/controller.c).
 *   image_cost [PARTITIONS...]   (default 1000 3000 10000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/trace.h"
#include "controller/ctrl.h"
#include "proto/strata.pb-c.h"

static double ms_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void commit(struct ctrl *c, struct ctrl_out *out) {
  for (size_t i = 0; i < out->n; i++)
    if (ctrl_apply(c, out->recs[i])) abort();
  ctrl_out_reset(out);
}

static void measure(uint32_t parts) {
  struct ctrl c;
  struct ctrl_config cfg = {1000, 1, 5000, 300, 0};
  ctrl_init(&c, 0, &cfg);
  ctrl_start(&c, 0);
  c.cfg.max_partitions_per_broker = 1000000;
  for (int32_t id = 1; id <= 3; id++) {
    struct ctrl_out out = {0};
    Strata__BrokerRegisterRequest q = STRATA__BROKER_REGISTER_REQUEST__INIT;
    q.broker_id = id;
    q.host = (char *)"127.0.0.1";
    q.port = (uint32_t)(9000 + id);
    q.rack = (char *)"";
    if (ctrl_register(&c, &q, 0, &out)) abort();
    commit(&c, &out);
  }
  char err[256];
  for (uint32_t left = parts, k = 0; left; k++) {
    uint32_t n = left > CTRL_PARTITIONS_MAX ? CTRL_PARTITIONS_MAX : left;
    char name[32];
    snprintf(name, sizeof name, "scale%u", k);
    struct ctrl_out out = {0};
    Strata__TopicSpec s = STRATA__TOPIC_SPEC__INIT;
    s.name = name;
    s.partitions = n;
    s.replication_factor = 3;
    if (ctrl_create_topic(&c, &s, 1, &out, err, sizeof err)) {
      fprintf(stderr, "create: %s\n", err);
      exit(1);
    }
    commit(&c, &out);
    left -= n;
  }
  enum { ROUNDS = 10 };
  double build = 0, pack = 0, unpack = 0;
  size_t bytes = 0;
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = ms_now();
    Strata__MetadataImage *img = ctrl_image(&c);
    double t1 = ms_now();
    bytes = strata__metadata_image__get_packed_size(img);
    uint8_t *buf = malloc(bytes);
    strata__metadata_image__pack(img, buf);
    double t2 = ms_now();
    Strata__MetadataImage *back = strata__metadata_image__unpack(NULL, bytes, buf);
    double t3 = ms_now();
    if (!back) abort();
    strata__metadata_image__free_unpacked(back, NULL);
    free(buf);
    ctrl_image_free(img);
    build += t1 - t0, pack += t2 - t1, unpack += t3 - t2;
  }
  printf("| %u | %zu bytes (%.1f per partition) | %.2f ms | %.2f ms | %.2f ms |\n", parts, bytes,
         (double)bytes / parts, build / ROUNDS, pack / ROUNDS, unpack / ROUNDS);
  ctrl_free(&c);
}

int main(int argc, char **argv) {
  trace_set_level(TRACE_ERROR);
  printf("| partitions (RF 3) | image | build | size+pack | unpack |\n| ---: | ---: | ---: | ---: | ---: |\n");
  if (argc < 2) {
    measure(1000), measure(3000), measure(10000);
    return 0;
  }
  for (int i = 1; i < argc; i++) measure((uint32_t)atoi(argv[i]));
  return 0;
}

# Strata's one Makefile. `make help` lists the targets.
# Generated code (protoc-c) and every build product live under $(BUILD).

BUILD   ?= build
CC      ?= cc
OPT     ?= -O2 -g
WERROR  ?= -Werror
SAN     ?=
PKGS     = libuv libprotobuf-c libzstd zlib liblz4 snappy openssl libpcre2-8

CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) -Wall -Wextra $(WERROR) -Wshadow \
           -Wstrict-prototypes -Wmissing-prototypes -MMD -MP \
           -I. -I$(BUILD)/gen $(SAN)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -luv -lprotobuf-c -lzstd -lz -llz4 -lsnappy -lssl -lcrypto -lpcre2-8)
CFLAGS  += $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread -lm
LDFLAGS += $(SAN)
# librdkafka, for `strata drill --client kafka` only: linked into the CLI
# (and the unit tests, which link the CLI's archives), nothing else.
RDKAFKA_CFLAGS := $(shell pkg-config --cflags rdkafka 2>/dev/null)
RDKAFKA_LIBS   := $(shell pkg-config --libs rdkafka 2>/dev/null || echo -lrdkafka)
CFLAGS  += $(RDKAFKA_CFLAGS)

# ---- sources ----------------------------------------------------------------
PROTO_SRC   := $(wildcard proto/*.proto)
PROTO_C     := $(PROTO_SRC:%.proto=$(BUILD)/gen/%.pb-c.c)
PROTO_H     := $(PROTO_C:.c=.h)
COMMON_SRC  := $(wildcard common/*.c)
BROKER_SRC  := $(filter-out broker/main.c,$(wildcard broker/*.c))
REPL_SRC    := $(wildcard replication/*.c)
CLIENT_SRC  := $(wildcard client/lib/*.c)
CLI_SRC     := $(filter-out client/cli/main.c,$(wildcard client/cli/*.c))
CTRL_SRC    := $(filter-out controller/main.c,$(wildcard controller/*.c))
UNIT_SRC    := $(wildcard tests/unit/*_test.c)
CLUSTER_SRC := $(wildcard tests/cluster/*_test.c)
DRILL_SRC   := $(wildcard drill/*.c)
KAFKA_SRC   := $(wildcard kafka/*.c)
KAFKA_KS    := $(sort $(wildcard kafka/schema/*.ks))
KAFKA_H     := $(BUILD)/gen/kafka_msgs.h

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
COMMON_OBJ  := $(call obj,$(COMMON_SRC)) $(PROTO_C:.c=.o)
BROKER_OBJ  := $(call obj,$(BROKER_SRC)) $(BUILD)/gen/console_html.o
REPL_OBJ    := $(call obj,$(REPL_SRC))
CLIENT_OBJ  := $(call obj,$(CLIENT_SRC))
CLI_OBJ     := $(call obj,$(CLI_SRC))
CTRL_OBJ    := $(call obj,$(CTRL_SRC))
DRILL_OBJ   := $(call obj,$(DRILL_SRC))
KAFKA_OBJ   := $(call obj,$(KAFKA_SRC)) $(BUILD)/gen/kafka_msgs.o

# One archive per layer: libstrata-common.a (common/ and the generated
# protocol code) under everything; libstrata.a is the client library alone;
# libstrata-replication.a (replication/, pure) under the broker's.
LIBCOMMON   := $(BUILD)/libstrata-common.a
LIBSTRATA   := $(BUILD)/libstrata.a
LIBBROKER   := $(BUILD)/libstrata-broker.a
LIBREPL     := $(BUILD)/libstrata-replication.a
LIBKAFKA    := $(BUILD)/libstrata-kafka.a
LIBCLI      := $(BUILD)/libstrata-cli.a
LIBCTRL     := $(BUILD)/libstrata-controller.a
LIBDRILL    := $(BUILD)/libstrata-drill.a
CTRL_BIN    := $(BUILD)/strata-controller
BROKER_BIN  := $(BUILD)/strata-broker
CLI_BIN     := $(BUILD)/strata
UNIT_BINS   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
CLUSTER_BINS:= $(CLUSTER_SRC:tests/cluster/%.c=$(BUILD)/tests/cluster/%)

FAILOVER_BENCH := $(BUILD)/bench/failover_bench
GROUP_BENCH    := $(BUILD)/bench/group_bench
DISK_BENCH     := $(BUILD)/bench/disk_bench
FSYNC_FLOOR    := $(BUILD)/bench/fsync_floor
WORKLOAD       := $(BUILD)/tests/fault/workload
FSYNC_SHIM     := $(BUILD)/tests/fsync_log.so
SLOW_DISK_SHIM := $(BUILD)/strata-slow-disk.so
SIM            := $(BUILD)/tests/sim/sim
SIM_SRC        := $(wildcard tests/sim/*.c)

.PHONY: all help deps java-deps java-test kafkajs node-deps platformatic-test spark-test test unit layering asan sim sim-golden bench bench-fsync bench-scale bench-cluster bench-failover bench-groups bench-kafka docker-test faults demo fuzz clean format security-test
# Keep generated headers and test objects: make would delete them as intermediates.
.SECONDARY:
all: $(LIBCOMMON) $(LIBSTRATA) $(BROKER_BIN) $(CTRL_BIN) $(CLI_BIN) $(SLOW_DISK_SHIM)

help:
	@echo "make            build strata-broker, strata-controller, strata (CLI), libstrata.a and libstrata-common.a into $(BUILD)/"
	@echo "make deps       install the Debian packages Strata needs (as root)"
	@echo "make test       build and run every test; ends with 'N passed, N failed'"
	@echo "make unit       unit tests only"
	@echo "make kafkajs    kafkajs for tests/kafka (npm ci into $(BUILD)/kafkajs; make test does it)"
	@echo "make security-test  the security tests (tests/security/: real clients over TLS + SCRAM, refusals, ACLs, CVE cases)"
	@echo "make layering   check who includes whom (replication/, controller/, client/, common/, <uv.h>)"
	@echo "make asan       every test under AddressSanitizer + UndefinedBehaviorSanitizer"
	@echo "make sim        the deterministic simulator, SEEDS=N seeds (default 1000; SCENARIO=name, or 'ctl-*': the controller quorum's)"
	@echo "make sim-golden rewrite tests/sim/golden/ (the transcripts make test compares) after a meant change"
	@echo "make quorum-sim the controller quorum core's model checker, QUORUM_SEEDS=N seeds per case (default 10000; QUORUM_SIM_SEED=S replays one)"
	@echo "make faults     every fault drill, FAULT_ROUNDS=N runs each (testbed and strata drill; STRATA_TLS=1: TLS on every link)"
	@echo "make bench      produce/consume benchmark on one local broker, then failover times"
	@echo "make bench-cluster   RF 3 acks=all on a local 3-broker cluster (BENCH_PEERS=1: and NATS)"
	@echo "make bench-fsync     1 KiB flush-always and RF 3 acks=all p99 against the disk, same run (BENCH_PEERS=1: and Redis)"
	@echo "make bench-failover  kill -9 the leader 20 times (FAILOVER_ROUNDS=N): p50/p99/max; then the active controller of 3 + the leader"
	@echo "make bench-scale     1k/3k/10k partitions at RF 3 (SCALE_COUNTS=...): creation, RSS, fds, idle CPU, failover, rejoin"
	@echo "make bench-groups    consumer takeover after kill -9, and 100 members settling"
	@echo "make bench-kafka     Apache Kafka 4.x (Maven Central) beside Strata, same client, same run"
	@echo "                     (BENCH_PIN=1: daemons on CPU 0, clients on CPU 1; BENCH_SYSTEMS=\"S1 S3\": Strata only)"
	@echo "make docker-test     build the image offline, run docker/compose.yml, kill the leader's container"
	@echo "make java-deps  fetch the Maven dependencies of the Java-client and Spark tests into ~/.m2"
	@echo "make java-test  Apache Kafka's Java client against a 3-broker cluster's Kafka listener"
	@echo "make node-deps  install the npm packages of the Node.js Kafka-client test into $(BUILD)/npm"
	@echo "make platformatic-test  @platformatic/kafka (flexible versions only) against a 3-broker cluster"
	@echo "make spark-test the IoT pipeline in Spark 3.5 and 4.0 through the Kafka listener, across kill -9 and restart"
	@echo "make demo       start a local broker and stream IoT sensor records through it"
	@echo "make fuzz       libFuzzer on the frame decoder, batch validator, decompressors, HTTP request parser, Kafka codec, TLS principal mapping rules, SCRAM/SASL parsers and ACL text parsers (FUZZ_SECONDS=60 each; FUZZ_ONLY=name: one)"
	@echo "make console-shot    screenshot the console of CONSOLE_URL (default http://127.0.0.1:19095/) into $(BUILD)/console.png"
	@echo "make clean      remove $(BUILD)/ and the sanitizer/fuzz build dirs"

deps:
	@scripts/deps.sh --install

# Checks the packages once per build dir; installs them when root, else says how.
$(BUILD)/.deps-ok: scripts/deps.sh
	@scripts/deps.sh --check-or-install
	@mkdir -p $(@D) && touch $@

# ---- generated protocol code --------------------------------------------------
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: %.proto | $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	protoc-c --c_out=$(BUILD)/gen $<

$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c
	$(CC) $(filter-out -Wmissing-prototypes,$(CFLAGS)) -c -o $@ $<

$(BUILD)/obj/%.o: %.c $(PROTO_H) | $(BUILD)/.deps-ok $(KAFKA_H)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# The console page, embedded in the broker (tools/embed: xxd is not on a
# minimal Debian).
$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -Wall -Wextra $(WERROR) -o $@ $<

$(BUILD)/gen/console_html.c: console/index.html $(BUILD)/tools/embed
	@mkdir -p $(@D)
	$(BUILD)/tools/embed $< console_html > $@

$(BUILD)/gen/console_html.o: $(BUILD)/gen/console_html.c
	$(CC) $(CFLAGS) -c -o $@ $<

# The Kafka protocol's codec tables, from the schema tables (kafka/schema/FORMAT.md).
$(BUILD)/tools/kafka_gen: tools/kafka_gen.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra $(WERROR) -o $@ $<

$(BUILD)/gen/kafka_msgs.c $(BUILD)/gen/kafka_msgs.h &: $(KAFKA_KS) $(BUILD)/tools/kafka_gen
	@mkdir -p $(@D)
	$(BUILD)/tools/kafka_gen $(BUILD)/gen/kafka_msgs.h $(BUILD)/gen/kafka_msgs.c $(KAFKA_KS)

$(BUILD)/gen/kafka_msgs.o: $(BUILD)/gen/kafka_msgs.c
	$(CC) $(CFLAGS) -c -o $@ $<

# ---- libraries and programs ---------------------------------------------------
$(LIBCOMMON): $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBSTRATA): $(CLIENT_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBBROKER): $(BROKER_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBKAFKA): $(KAFKA_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBREPL): $(REPL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BROKER_BIN): $(call obj,broker/main.c) $(LIBBROKER) $(LIBKAFKA) $(LIBREPL) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIBCTRL): $(CTRL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(CTRL_BIN): $(call obj,controller/main.c) $(LIBCTRL) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIBCLI): $(CLI_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Local clusters, fault injection and the history checker: `strata drill`
# and the tests share them.
$(LIBDRILL): $(DRILL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(CLI_BIN): $(call obj,client/cli/main.c) $(LIBCLI) $(LIBDRILL) $(LIBSTRATA) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(RDKAFKA_LIBS) $(LDLIBS)

# ---- tests --------------------------------------------------------------------
$(BUILD)/tests/unit/%: $(call obj,tests/unit/%.c) $(LIBCTRL) $(LIBBROKER) $(LIBKAFKA) $(LIBREPL) $(LIBCLI) $(LIBDRILL) $(LIBSTRATA) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(RDKAFKA_LIBS) $(LDLIBS) -lcriterion

$(BUILD)/tests/cluster/%: $(call obj,tests/cluster/%.c) $(LIBDRILL) $(LIBBROKER) $(LIBKAFKA) $(LIBREPL) $(LIBSTRATA) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

# The Kafka codec's conformance checker (tests/kafka/codec_conformance_test.sh
# feeds it kafka-python's vectors).
KAFKA_CHECK := $(BUILD)/tests/kafka/codec_check
$(KAFKA_CHECK): $(call obj,tests/kafka/codec_check.c) $(LIBKAFKA) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# LD_PRELOAD shims, never sanitized (they are loaded into the broker before
# anything else): the durability test's, which logs every fsync, and the slow
# disk of the drills, which makes every fsync wait while a control file exists
# (next to the binaries, where `strata drill` looks for it).
SHIM_CC = $(CC) -std=c11 -O2 -Wall -Wextra $(WERROR) -shared -fPIC -o $@ $< -ldl
$(FSYNC_SHIM): tests/shim/fsync_log.c
	@mkdir -p $(@D)
	$(SHIM_CC)
$(SLOW_DISK_SHIM): tests/shim/slow_disk.c
	@mkdir -p $(@D)
	$(SHIM_CC)

unit: $(UNIT_BINS)
	@scripts/run-tests.sh $(UNIT_BINS)

# the security tests alone (tests/security/: TLS, SASL, ACLs, CVE-derived cases)
security-test: all
	@STRATA_BUILD=$(BUILD) scripts/run-tests.sh $(wildcard tests/security/*_test.sh)

# The include rules between layers (scripts/layering.sh says which); make test runs it too.
layering:
	@scripts/layering.sh

test: all $(UNIT_BINS) $(CLUSTER_BINS) $(KAFKA_CHECK) $(FSYNC_SHIM) $(FAILOVER_BENCH) $(GROUP_BENCH) $(WORKLOAD) $(SIM) kafkajs
	@STRATA_BUILD=$(BUILD) scripts/run-tests.sh scripts/layering.sh scripts/headers-check.sh $(UNIT_BINS) $(CLUSTER_BINS) $(wildcard tests/cluster/*.sh) $(wildcard tests/admin/*_test.sh) \
	  tests/sim/sim_test.sh tests/fault/drill.sh tests/fault/scenarios_test.sh tests/fault/quorum_partition_test.sh tests/metrics/rules_test.sh \
	  tests/console/mock_test.sh $(wildcard tests/kafka/*_test.sh) $(wildcard tests/security/*_test.sh) \
	  $(wildcard tests/docker/*_test.sh)

# kafkajs for tests/kafka (from the npm registry, the versions in
# tests/kafka/node/package-lock.json) into $(BUILD)/kafkajs. Without npm, or
# offline, the tests that use it say so (and fail as root).
KAFKAJS := $(BUILD)/kafkajs/node_modules/kafkajs/package.json
kafkajs:
	@[ -f $(KAFKAJS) ] && [ $(KAFKAJS) -nt tests/kafka/node/package-lock.json ] || \
	  { mkdir -p $(BUILD)/kafkajs && cp tests/kafka/node/package.json tests/kafka/node/package-lock.json $(BUILD)/kafkajs/ && \
	    (cd $(BUILD)/kafkajs && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) && touch $(KAFKAJS) || \
	    echo "kafkajs not installed (npm ci in $(BUILD)/kafkajs failed): tests/kafka will say so" >&2; }

# every fault drill, FAULT_ROUNDS rounds each (default 5): the testbed's
# (root: network namespaces) and `strata drill`'s scenarios
FAULT_SCENARIOS := partition-leader pause-leader kill-leader partition-controller split oneway-leader \
  full-disk full-disk-follower slow-disk slow-disk-follower
DRILL_SCENARIOS := kill-leader pause-leader partition-leader kill-controller rolling-restart kill-consumer kill-coordinator \
  slow-disk
faults: all $(WORKLOAD)
	@ok=0; bad=0; skip=0; for sc in $(FAULT_SCENARIOS); do \
	  echo "== testbed $$sc"; \
	  STRATA_BUILD=$(BUILD) bash tests/fault/drill.sh $$sc $${FAULT_ROUNDS:-5}; rc=$$?; \
	  if [ $$rc = 0 ]; then ok=$$((ok+1)); elif [ $$rc = 77 ]; then skip=$$((skip+1)); else bad=$$((bad+1)); fi; \
	done; for r in $$(seq $${FAULT_ROUNDS:-5}); do \
	  echo "== testbed quorum-partition (zombie controller) $$r"; \
	  STRATA_BUILD=$(BUILD) bash tests/fault/quorum_partition_test.sh; rc=$$?; \
	  if [ $$rc = 0 ]; then ok=$$((ok+1)); elif [ $$rc = 77 ]; then skip=$$((skip+1)); else bad=$$((bad+1)); fi; \
	done; for sc in $(DRILL_SCENARIOS); do \
	  echo "== strata drill $$sc"; \
	  if $(CLI_BIN) drill $$sc --runs $${FAULT_ROUNDS:-5} --no-progress $$([ "$${STRATA_TLS:-0}" = 1 ] && echo --tls); then ok=$$((ok+1)); else bad=$$((bad+1)); fi; \
	done; echo "$$ok passed, $$bad failed, $$skip skipped"; [ $$bad = 0 ]

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" test

# The fault drills' workload, evidence dumper and checker front end.
$(WORKLOAD): $(call obj,tests/fault/workload.c) $(LIBDRILL) $(LIBBROKER) $(LIBKAFKA) $(LIBREPL) $(LIBSTRATA) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The deterministic simulator: real controller and broker logic, simulated
# network, disk and clock.
$(SIM): $(call obj,$(SIM_SRC)) $(LIBDRILL) $(LIBCTRL) $(LIBBROKER) $(LIBKAFKA) $(LIBREPL) $(LIBSTRATA) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

SEEDS    ?= 1000
SCENARIO ?= all
sim: $(SIM)
	@$(SIM) --seeds $(SEEDS) --scenario $(SCENARIO)

# The controller quorum core's randomized model checker
# (tests/unit/quorum_sim_test.c) on more seeds than make test gives it.
.PHONY: quorum-sim
QUORUM_SEEDS ?= 10000
quorum-sim: $(BUILD)/tests/unit/quorum_sim_test
	@QUORUM_SIM_SEEDS=$(QUORUM_SEEDS) $(BUILD)/tests/unit/quorum_sim_test

# Rewrite the simulator's golden transcripts (tests/sim/golden/) after a
# meant change of behaviour; review their diff like code.
sim-golden: $(SIM)
	@for g in "1 isr-race" "366 T5"; do set -- $$g; \
	  $(SIM) --seed $$1 --scenario $$2 --transcript tests/sim/golden/$$2-$$1.txt >/dev/null || exit 1; \
	done; git diff --stat -- tests/sim/golden

# The container entrypoint (docker/).
$(BUILD)/strata-node: $(call obj,docker/node.c)
	$(CC) $(LDFLAGS) -o $@ $^

# The whole metadata image's cost at scale (issue 15): controller code.
$(BUILD)/bench/image_cost: $(call obj,bench/image_cost.c) $(LIBCTRL) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The machine's fsync floors (issue 15): one binary from bench/fsync_floor.c
# (the command line) and bench/floor_*.c (its modes and what they share);
# Strata code: only common/'s CRC32C. The disk's own limits share its group
# commit thread (bench/group_commit.c).
$(FSYNC_FLOOR): $(call obj,bench/fsync_floor.c $(wildcard bench/floor_*.c) bench/group_commit.c) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(DISK_BENCH): $(call obj,bench/disk_bench.c bench/group_commit.c bench/floor_common.c)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(call obj,bench/%.c) $(LIBDRILL) $(LIBSTRATA) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: all $(FAILOVER_BENCH) $(GROUP_BENCH) $(DISK_BENCH) $(FSYNC_FLOOR)
	@STRATA_BUILD=$(BUILD) scripts/bench.sh

# the fsync path against the disk measured in the same run, with the ratios
# (issue 15; BENCH_PEERS=1 adds Redis Streams); make bench runs it too
bench-fsync: all $(DISK_BENCH) $(FSYNC_FLOOR)
	@STRATA_BUILD=$(BUILD) scripts/bench-fsync.sh

# the Docker deployment end to end (minutes; not part of make test)
docker-test:
	@STRATA_BUILD=$(BUILD) scripts/docker-test.sh

# consumer groups: takeover after a consumer's kill -9, and 100 members settling
bench-groups: all $(GROUP_BENCH)
	@STRATA_BUILD=$(BUILD) $(GROUP_BENCH) $(GROUP_ROUNDS)

# RF 3 acks=all throughput and latency on a local 3-broker cluster (BENCH_PEERS=1: and NATS)
bench-cluster: all
	@STRATA_BUILD=$(BUILD) scripts/bench-cluster.sh

# Apache Kafka (scripts/kafka-peer.sh) and Strata side by side, driven by
# Kafka's own ProducerPerformance/ConsumerPerformance, plus librdkafka and
# libstrata on Strata's two listeners (bench/kafka_bench.sh says more).
# Without librdkafka-dev (scripts/deps.sh) the librdkafka runs are left out.
RDKAFKA_BENCH := $(BUILD)/bench/rdkafka_bench
$(RDKAFKA_BENCH): $(call obj,bench/rdkafka_bench.c)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lrdkafka

bench-kafka: all
	@if pkg-config --exists rdkafka; then $(MAKE) -s --no-print-directory $(RDKAFKA_BENCH); fi
	@STRATA_BUILD=$(BUILD) bench/kafka_bench.sh

# 3 brokers at 1k, 3k, 10k partitions (RF 3): README.md's "Scale" table
bench-scale: all $(BUILD)/bench/image_cost
	@$(BUILD)/bench/image_cost
	@STRATA_BUILD=$(BUILD) bench/scale-bench.sh

# kill -9 the leader 20 times under acks=all load: failover p50/p99/max; then (3
# controllers) the active controller and the leader: new active controller, writes again
bench-failover: all $(FAILOVER_BENCH)
	@STRATA_BUILD=$(BUILD) $(FAILOVER_BENCH) $(FAILOVER_ROUNDS)
	@STRATA_BUILD=$(BUILD) $(FAILOVER_BENCH) --controller $(FAILOVER_ROUNDS)

demo: all
	@STRATA_BUILD=$(BUILD) scripts/demo.sh

# ---- Kafka clients on the JVM (Maven) ------------------------------------------
# Fetch the Maven dependencies of the Java-client test, the Spark job and the
# Apache Kafka stand-in into ~/.m2 (the tests build offline after that; a
# test that finds them missing fetches them itself)
java-deps:
	@for d in tests/kafka/java tests/kafka/peer; do \
	  echo "== mvn package in $$d"; (cd $$d && mvn -q -B package) || exit 1; done
	@for p in spark35 spark4; do \
	  echo "== mvn package -P$$p in tests/spark/job"; (cd tests/spark/job && mvn -q -B package -P$$p) || exit 1; done

# Apache Kafka's Java client against a 3-broker cluster (also part of make test);
# KAFKA_TEST_TARGET=apache runs it against Apache Kafka instead
java-test: all
	@STRATA_BUILD=$(BUILD) scripts/run-tests.sh tests/kafka/java_test.sh

# ---- Kafka clients on Node.js (npm) ----------------------------------------------
# npm ci of tests/kafka/platformatic's lock file into $(BUILD)/npm/platformatic
# (the test does it itself when that is missing or stale)
node-deps:
	@STRATA_BUILD=$(BUILD) bash -c '. scripts/lib.sh && . tests/kafka/lib.sh && \
	  kafka_npm_install tests/kafka/platformatic $(BUILD)/npm-platformatic.log' >/dev/null && \
	  echo "@platformatic/kafka installed in $(BUILD)/npm/platformatic"

# @platformatic/kafka, a client of flexible versions only (also part of make test);
# KAFKA_TEST_TARGET=apache runs it against Apache Kafka instead
platformatic-test: all
	@STRATA_BUILD=$(BUILD) scripts/run-tests.sh tests/kafka/platformatic_test.sh

# the IoT pipeline in Spark Structured Streaming (3.5 and 4.0, local[2]) through
# the Kafka listeners, across a broker's kill -9 and a restart from the
# checkpoint (minutes; not part of make test). SPARK_LINES=spark4 runs one line
spark-test: all
	@STRATA_BUILD=$(BUILD) scripts/run-tests.sh tests/spark/spark_test.sh

# ---- fuzzing (clang + libFuzzer) ---------------------------------------------
FUZZ_SRC     := $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_ONLY    ?=
ifneq ($(FUZZ_ONLY),)
FUZZ_SRC     := tests/fuzz/$(FUZZ_ONLY).c
endif
FUZZ_SECONDS ?= 60
fuzz: $(BUILD)/.deps-ok
	@scripts/deps.sh --fuzz
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT="-O1 -g" \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined" build-fuzz/libstrata-kafka.a build-fuzz/libstrata-common.a
	@mkdir -p build-fuzz/fuzz
	@set -e; for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  clang -std=c11 -D_GNU_SOURCE -O1 -g -I. -Ibuild-fuzz/gen -fsanitize=fuzzer,address,undefined \
	    -o build-fuzz/fuzz/$$n $$f build-fuzz/libstrata-kafka.a build-fuzz/libstrata-common.a $(LDLIBS); \
	  mkdir -p build-fuzz/corpus/$$n; \
	  echo "== $$n for $(FUZZ_SECONDS)s"; \
	  build-fuzz/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build-fuzz/corpus/$$n tests/fuzz/seeds/$$n 2>&1 | tail -n 12; \
	done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-fuzz

include tests/console/console.mk

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Kith — build, run and test. `make run` and `make test` do everything on a
# fresh Debian 12 machine (they install what is missing first).

KITH_CC ?= gcc
CC      := $(KITH_CC)
PKGS    := libmicrohttpd json-c sqlite3 libsodium openssl zlib libcurl libpq
OPT     ?= -O2 -g
CFLAGS  := $(OPT) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -Ibuild/gen -pthread
LDLIBS  += -pthread -lm -lunistring

BUILD   ?= build
SRC     := $(shell find src -name '*.c' | sort)
LIBSRC  := $(filter-out src/cli/%,$(SRC))
CLISRC  := $(filter src/cli/%,$(SRC))
GEN     := build/gen/fhir_model.c build/gen/fhir_search.c
OBJ     := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIBSRC)) $(BUILD)/obj/gen/fhir_model.o $(BUILD)/obj/gen/fhir_search.o
CLIOBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLISRC))
TESTSRC := $(sort $(wildcard tests/unit/*.c))
TESTOBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(TESTSRC))
FHIRPKG := node_modules/hl7.fhir.r4.examples

DEPS_STAMP := build/.deps-installed
PORT ?= 8080
DB   ?= kith.db

.PHONY: all deps run test unit unit-asan api clean bench bench-search bench-synth bench-policy bench-care bench-link fuzz fuzz-smoke fhirpath-conformance fhirpath-bench

all: bin/kith

$(DEPS_STAMP): scripts/install-deps.sh scripts/apt-packages.txt package-lock.json
	@scripts/install-deps.sh
	@mkdir -p build && touch $@

deps: $(DEPS_STAMP)

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

build/gen/fhir_model.c: tools/gen-model.mjs $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	node tools/gen-model.mjs $(FHIRPKG) > $@.tmp && mv $@.tmp $@

build/gen/fhir_search.c: tools/gen-search.mjs tools/kith-search-params.json $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	node tools/gen-search.mjs $(FHIRPKG) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP) $(GEN)
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

bin/kith: $(OBJ) $(CLIOBJ)
	@mkdir -p bin
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BUILD)/unit-tests: $(OBJ) $(TESTOBJ)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion $(LDLIBS)

# FHIRPath conformance driver (libxml2 reads the official suite)
CONFOBJ := $(BUILD)/obj/tests/conformance/fhirpath_conformance.o
$(CONFOBJ): PKG_CFLAGS += $(shell pkg-config --cflags libxml-2.0 2>/dev/null)
$(BUILD)/fhirpath-conformance: $(OBJ) $(CONFOBJ)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs libxml-2.0 2>/dev/null) $(LDLIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- running -----------------------------------------------------------
run: bin/kith
	@scripts/run.sh "$(DB)" "$(PORT)"

# ---- tests -------------------------------------------------------------
unit: $(BUILD)/unit-tests
	KITH_FHIR_PACKAGE=$(FHIRPKG) $(BUILD)/unit-tests --jobs 2

unit-asan: deps
	$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" build/asan/unit-tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 KITH_FHIR_PACKAGE=$(FHIRPKG) build/asan/unit-tests --jobs 2

# The store-backed unit suites (the rest do not touch a store) on a throwaway
# PostgreSQL 15 server, one schema per test (scripts/unit-pg.sh, docs/scaling.md).
PG_SUITES := @(store|store_watch|search|audit|auth_token|care|view_store|export)/*
.PHONY: unit-pg
unit-pg: $(BUILD)/unit-tests
	scripts/unit-pg.sh $(BUILD)/unit-tests --jobs 2 --filter '$(PG_SUITES)'

# The API tests with every `kith serve` on a throwaway PostgreSQL 15 server (scripts/api-pg.sh).
.PHONY: api-pg
api-pg: bin/kith
	scripts/api-pg.sh

# The official FHIRPath R4 suite, then the cross-check against fhirpath.js.
fhirpath-conformance: $(BUILD)/fhirpath-conformance bin/kith
	@$(BUILD)/fhirpath-conformance tests/conformance/fhirpath-known-failures.txt
	@node tests/conformance/crosscheck.mjs

# The official SQL on FHIR v2 suite against the views of src/view (docs/sql-on-fhir.md).
.PHONY: sof-conformance
$(BUILD)/sof-conformance: $(OBJ) $(BUILD)/obj/tests/conformance/sof_conformance.o
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)
sof-conformance: $(BUILD)/sof-conformance
	@$(BUILD)/sof-conformance tests/conformance/sof-known-failures.txt

fhirpath-bench: bin/kith
	@bench/fhirpath/run.sh

api: bin/kith
	node --test --test-concurrency=1 tests/api/

# Page speed of the web interface on a 250,000-person place (bench/web/run.sh).
.PHONY: bench-web
bench-web: bin/kith deps
	@bench/web/run.sh

# The staff web interface in Debian's Chromium (playwright-core), axe-core on
# every page; screenshots go to build/browser-artifacts/ (docs/web.md).
.PHONY: browser
browser: bin/kith
	node --test --test-concurrency=1 tests/browser/

test: deps
	@scripts/test.sh

bench: bin/kith
	bench/run.sh

bench-search: bin/kith
	bench/search/run.sh

bench-synth: bin/kith
	bench/synth/run.sh

bench-policy: bin/kith
	bench/policy/run.sh

bench-care: bin/kith
	bench/care/run.sh

bench-link: bin/kith
	bench/link/run.sh

.PHONY: bench-frailty bench-risk bench-mdt bench-view
bench-mdt: bin/kith
	bench/mdt/run.sh

bench-view: bin/kith
	bench/view/run.sh

bench-frailty: bin/kith
	bench/frailty/run.sh

bench-risk: bin/kith
	bench/risk/run.sh

# The same place on SQLite and on PostgreSQL 15: import rate, read and token-search latency (bench/pg/run.sh)
.PHONY: bench-pg
bench-pg: bin/kith
	bench/pg/run.sh

# `kith report` on a 1,000,000-person place over 3 years (bench/report/run.sh)
.PHONY: bench-report
bench-report: bin/kith
	bench/report/run.sh

# `kith evaluate` over seeds: coverage of its intervals (BENCH_EVAL_PEOPLE, BENCH_EVAL_SEEDS)
.PHONY: bench-eval
bench-eval: bin/kith
	node bench/eval/coverage.mjs --people $${BENCH_EVAL_PEOPLE:-150000} --seeds $${BENCH_EVAL_SEEDS:-10}

clean:
	rm -rf build bin

# ---- fuzzing (libFuzzer, clang) ----------------------------------------
# `make fuzz FUZZ_SECONDS=1800` runs each target that long; `make fuzz-smoke`
# (part of make test) runs each briefly. Crashes are written to build/fuzz/crashes.
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OPT := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all

$(BUILD)/libkith.a: $(OBJ)
	@rm -f $@
	@ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c deps
	@$(MAKE) --no-print-directory BUILD=build/fuzz/lib KITH_CC=clang OPT="$(FUZZ_OPT)" build/fuzz/lib/libkith.a
	@echo "  FUZZ $@"
	@clang $(subst fuzzer-no-link,fuzzer,$(FUZZ_OPT)) -std=c11 -D_GNU_SOURCE -Isrc -Ibuild/gen $(PKG_CFLAGS) $< \
		build/fuzz/lib/libkith.a $(PKG_LIBS) -pthread -lm -lunistring -o $@

fuzz-build: $(FUZZ_TARGETS)

fuzz: $(FUZZ_TARGETS)
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_TARGETS)
	@scripts/fuzz.sh 15 $(FUZZ_TARGETS)

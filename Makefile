# Convenience front end to CMake. `make` builds the release programs into build/bin/.
#   make run    install missing packages, build, run the sensor on the demo capture
#   make test   install missing packages, build, run every test (ctest), PR tier: the
#               corpus-wide agreement measures that need a peer tool per capture
#               (conv_agree: tshark) use a fixed deterministic sample
#   make test-deep  the same with OTASUKE_TIER=deep: every capture (before a release)
#   make asan   build the asan-ubsan preset and run the whole suite under it, less the
#               tests that measure agreement with peer tools rather than our memory
#               safety (demo_pcap runs no C code; conv_agree and ndpi_agree replay the
#               same captures that corpus_all already runs under the sanitizers; so do
#               detect_corpus and inventory_corpus, which measure recall and agreement
#               with detections and the inventory on, as corpus_all's default config has;
#               intel_reload_live measures kernel drops while 1 M indicators reload, a
#               timing property the sanitizers' slowdown would break, not memory safety);
#               PR tier: also the fuzz-replay tests (CI's fuzzing step replays the same
#               inputs under ASan+UBSan), OTASUKE_TIER=deep make asan includes them
#   make asan-build  only build the asan-ubsan preset (gcc, -Werror: CI's gcc warning gate)
#   make fuzz   build the libFuzzer harnesses (clang) into build-fuzz/bin/
#   make lint   static gates: banned functions, clang-tidy, cppcheck (tools/lint.sh)

JOBS ?= $(shell nproc)
# ctest slots: twice the cores; CPU-bound tests take two slots, tests that mostly wait
# (label integration) one (tests/CMakeLists.txt, README "Tests in CI")
CTEST_JOBS ?= $(shell echo $$(( 2 * $(JOBS) )))
PY   := /usr/bin/python3

.PHONY: all deps build run test test-deep asan asan-build fuzz lint demo clean

all: build

deps:
	@tools/install-deps.sh

build:
	@cmake --preset release >/dev/null
	@cmake --build build -j$(JOBS)

demo/office.pcap: tools/gen-demo-pcap
	@mkdir -p demo
	$(PY) tools/gen-demo-pcap -o demo/office.pcap

demo: demo/office.pcap

run: deps build demo
	@mkdir -p out
	build/bin/otasuke-sensor -r demo/office.pcap -o out/eve.json
	@echo; /usr/bin/python3 tools/eve-summary out/eve.json; echo; echo "events: out/eve.json (one JSON object per line, docs/events.md); e.g. jq -c 'select(.event_type==\"flow\")' out/eve.json | head"

test: deps build demo
	cd build && ctest -j$(CTEST_JOBS) --output-on-failure

test-deep: deps build demo
	cd build && OTASUKE_TIER=deep ctest -j$(CTEST_JOBS) --output-on-failure

# Left out of `make asan` (see the header); in the PR tier also the fuzz-replay tests:
# CI's fuzzing step runs every committed seed and regression input of every harness
# under clang's ASan+UBSan first (the libFuzzer build), `make test` replays them
# unsanitized. OTASUKE_TIER=deep replays them under gcc's sanitizers here too.
ASAN_SKIP := demo_pcap|conv_agree|ndpi_agree|detect_corpus|inventory_corpus|intel_reload_live
ifneq ($(OTASUKE_TIER),deep)
ASAN_SKIP := $(ASAN_SKIP)|fuzz-replay
endif

asan-build: deps
	@cmake --preset asan-ubsan >/dev/null
	@cmake --build build-asan-ubsan -j$(JOBS)

asan: asan-build demo
	cd build-asan-ubsan && OTASUKE_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -j$(CTEST_JOBS) --output-on-failure \
	  -E '$(ASAN_SKIP)'

fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build build-fuzz -j$(JOBS)

lint:
	@tools/install-deps.sh --lint
	@tools/lint.sh

clean:
	rm -rf build build-* out

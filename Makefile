# dbrs. The two commands: `make demo` builds everything and serves the demo
# app; `make test` runs every test. Both work on a fresh Debian machine with
# only Go and Node installed: they fetch Go modules and npm packages, and
# install Debian's chromium through apt-get when no Chromium is found.

GO       ?= go
FUZZTIME ?= 50000x
ADDR     ?= 127.0.0.1:8080

BUILD := build
SITE  := $(BUILD)/site
WASM  := $(BUILD)/dbrs.wasm
BIN   := $(CURDIR)/bin

export DBRS_SITE := $(CURDIR)/$(SITE)

.PHONY: wasm-size test demo site wasm deps go-deps js-deps browser vet unit js-test wasm-test fuzz example bench bench-full bench-browser bench-browser-full clean reliability reliability-summary reliability-start reliability-kill reliability-crash reliability-fuzz reliability-flip

test: deps vet cross site unit js-test wasm-test fuzz

demo: site
	$(GO) run ./cmd/serve -dir $(SITE) -addr $(ADDR)

deps: go-deps js-deps browser

go-deps:
	$(GO) mod download

js-deps:
	cd js && npm ci --no-audit --no-fund
	cd web/demo && npm ci --no-audit --no-fund

# Chromium (apt-get when missing) and wasmbrowsertest into ./bin.
browser:
	./e2e/setup.sh

# dbrs.wasm leaves msgpack reflection out (tag dbrs_noreflect, see
# core/codec_noreflect.go): its tables are all dynamic. fmt is compiled
# without inlining (-gcflags=fmt=-l): in the wasm it only formats error
# messages, and inlining its printer into itself costs 18 KB of gzip.
# (fmt cannot leave the wasm: go-indexeddb's safejs formats recovered
# panics with fmt.Errorf, and go-indexeddb logs with log.Println.)
wasm:
	GOOS=js GOARCH=wasm $(GO) build -tags dbrs_noreflect -trimpath -gcflags=fmt=-l -ldflags="-s -w" -o $(WASM) ./platform/wasm/cmd/dbrs
	@raw=$$(stat -c %s $(WASM)); gz=$$(gzip -9 -c $(WASM) | wc -c); \
	  echo "dbrs.wasm: $$raw bytes raw, $$gz bytes gzip -9"

# The npm package in js/: the compiled shim, and beside it the dbrs.wasm
# just built and the wasm_exec.js of the Go release that built it, so that
# the package and the engine cannot drift apart.
GO_WASM_EXEC = $(shell $(GO) env GOROOT)/lib/wasm/wasm_exec.js

.PHONY: js-pkg js-pack

js-pkg: wasm js-deps
	cd js && npm run build
	cp $(WASM) js/dist/dbrs.wasm
	cp $(GO_WASM_EXEC) js/dist/wasm_exec.js

# The package as npm would publish it: build/dbrs-<version>.tgz.
js-pack: js-pkg
	cd js && npm pack --pack-destination $(CURDIR)/$(BUILD)

# The demo is built by Vite from the package in js/ (a file: dependency).
site: js-pkg
	cd web/demo && npm run build
	rm -rf $(SITE)
	./web/demo/assemble.sh $(SITE)

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

vet:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./core/... ./platform/wasm/...
	GOOS=js GOARCH=wasm $(GO) vet -tags dbrs_noreflect ./core/... ./platform/wasm/...
	GOBIN=$(BIN) $(GO) install $(STATICCHECK)
	$(BIN)/staticcheck ./...
	GOOS=js GOARCH=wasm $(BIN)/staticcheck ./core/... ./platform/wasm/...
	GOOS=js GOARCH=wasm $(BIN)/staticcheck -tags dbrs_noreflect ./core/... ./platform/wasm/...

# Build and vet everything for the other systems the native backend supports
# (locking, syncing and preallocation differ per OS; vet compiles the tests).
.PHONY: cross
cross:
	for os in windows darwin; do \
	  GOOS=$$os $(GO) build ./... && GOOS=$$os $(GO) vet ./... || exit 1; \
	done

# Native tests (core, native backend, e2e in headless Chromium), with -race.
# The e2e package alone takes minutes on 2 cores (Chromium, npm installs of
# the bundler tests), close to go test's default 10-minute limit.
unit:
	$(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -count=1 -tags dbrs_noreflect -run NoReflect ./core

# The shim's unit tests and its compile-time type tests.
js-test:
	cd js && npm test

# The core suite and the IndexedDB backend, compiled to wasm and run in Chromium.
wasm-test:
	PATH="$(BIN):$$PATH" GOOS=js GOARCH=wasm $(GO) test -count=1 -short -exec $(BIN)/wasmbrowsertest ./core/... ./platform/wasm/...

# A short pass over every fuzz target (a count, not a duration: a duration
# can end while a worker runs an input, which Go 1.26 reports as a failure:
# go.dev/issue/75804, fixed in 1.27);
# FUZZTIME=5m for a real run.
fuzz:
	for target in FuzzOpenSegment FuzzEntry FuzzValidRaw FuzzDecodeInto FuzzApplyCommit; do \
	  $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) ./core || exit 1; \
	done

# The long runs of the crash, damage and fuzz tests (not part of `make test`,
# which runs short versions of the same tests). Each step prints its figures
# (the "reliability:" lines its tests log; all of them go to
# build/reliability.log) or, if it fails, its whole output and a line that
# counts the failure as a violation. A failed step does not stop the others;
# the run ends with the sum of the violations, and fails unless it is 0:
#   - reliability-kill:  TestKill9 kills a writing process KILLS times (1000);
#   - reliability-crash: core's crash suite with CRASHES simulated power
#     losses (10000) under the weak crash model;
#   - reliability-fuzz:  every core fuzz target (or those in FUZZ_TARGETS) for
#     RELIABILITY_FUZZTIME each (1m); a failing input counts as a violation
#     and is left in core/testdata/fuzz. A duration can end while a worker runs an input, which Go
#     1.26 reports as "context deadline exceeded" (go.dev/issue/75804): such
#     an end counts as clean only when no failing input was written and the
#     target's corpus then replays without failure;
#   - reliability-flip:  TestBitFlip flips a bit at every FLIPSTRIDE-th (1st)
#     offset of a 64 KiB log.
# One step alone: make reliability-kill KILLS=100, and so on (then
# reliability-summary sums what build/reliability.log holds). Full run: about
# 30 minutes on 2 shared cores (1000 kills take about 22), plus the crash suite.
KILLS                ?= 1000
CRASHES              ?= 10000
RELIABILITY_FUZZTIME ?= 1m
FLIPSTRIDE           ?= 1
FUZZ_TARGETS         ?= $(shell grep -ho '^func Fuzz[A-Za-z0-9_]*' core/*_test.go | cut -d' ' -f2 | sort)
RELLOG               := $(BUILD)/reliability.log

reliability:
	@$(MAKE) --no-print-directory -j1 --keep-going reliability-start reliability-kill reliability-crash reliability-fuzz reliability-flip reliability-summary

reliability-summary: SHELL := /bin/bash
reliability-summary:
	@set -euo pipefail; \
	  figures=$$(grep 'reliability:' $(RELLOG) | grep -vEc 'reliability: (run of|summary:)' || true); \
	  violations=$$(grep 'reliability:' $(RELLOG) | grep -v 'reliability: summary:' | grep -oE '[0-9]+ violations' | awk '{s += $$1} END {print s + 0}'); \
	  echo "reliability: summary: $$figures figures, $$violations violations" | tee -a $(RELLOG); \
	  test "$$violations" -eq 0

reliability-start:
	@mkdir -p $(BUILD) && : > $(RELLOG)
	@echo "reliability: run of $$(date -u '+%Y-%m-%d %H:%M UTC') on $$(nproc) CPUs, $$($(GO) version | cut -d' ' -f3-), commit $$(git rev-parse --short HEAD 2>/dev/null)" | tee -a $(RELLOG)

# run-figures runs a go test command ($(1)), prints its whole output and
# logs one violation if it fails, and otherwise shows the lines of it that
# match the pattern $(2).
define run-figures
	@set -uo pipefail; mkdir -p $(BUILD); out=$$(mktemp); \
	  echo "== $(1)"; \
	  if ! $(1) > $$out 2>&1; then cat $$out; rm -f $$out; \
	    echo "reliability: FAILED: $(1): 1 violations" | tee -a $(RELLOG); exit 1; fi; \
	  grep -E '$(2)' $$out | grep -v '^=== ' | sed 's/^ *//' | tee -a $(RELLOG); rm -f $$out
endef

reliability-kill: SHELL := /bin/bash
reliability-kill:
	$(call run-figures,$(GO) test -count=1 -v -timeout 60m -run '^TestKill9$$' ./platform/native -args -dbrs.kills=$(KILLS),reliability:)

reliability-crash: SHELL := /bin/bash
reliability-crash:
	$(call run-figures,$(GO) test -count=1 -v -timeout 60m -run Crash ./core -args -dbrs.crashes=$(CRASHES),reliability:)

reliability-flip: SHELL := /bin/bash
reliability-flip:
	$(call run-figures,$(GO) test -count=1 -v -timeout 60m -run '^TestBitFlip$$' ./platform/native -args -dbrs.flipstride=$(FLIPSTRIDE),reliability:)

reliability-fuzz: SHELL := /bin/bash
reliability-fuzz:
	@set -uo pipefail; mkdir -p $(BUILD); failed=0; \
	  for target in $(FUZZ_TARGETS); do \
	    out=$$(mktemp); note=""; violations=0; \
	    echo "== $(GO) test -run '^\$$' -fuzz '^$$target\$$' -fuzztime $(RELIABILITY_FUZZTIME) ./core"; \
	    if ! $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(RELIABILITY_FUZZTIME) ./core > $$out 2>&1; then \
	      if grep -q 'context deadline exceeded' $$out && ! grep -qE 'Failing input written|panic:' $$out \
	        && $(GO) test -count=1 -run "^$$target\$$" ./core >> $$out 2>&1; then \
	        note=" (stopped by go.dev/issue/75804 at the deadline: no failing input, corpus replays clean)"; \
	      else cat $$out; violations=1; failed=1; note=" (FAILED: see the output above)"; fi; \
	    fi; \
	    last=$$(grep 'fuzz: elapsed' $$out | tail -1 | sed 's/.*fuzz: //'); rm -f $$out; \
	    echo "reliability: fuzz $$target: $$last, $$violations violations$$note" | tee -a $(RELLOG); \
	  done; \
	  exit $$failed

# The native quick start as a program: create, write, reopen, print.
example:
	$(GO) run ./cmd/example

# Native benchmarks against bbolt, badger, pebble, buntdb and raw fdatasync
# loops (bench/, a module of its own). Writes bench/results/ and the
# README's "Native benchmarks" section. bench: short mode, under 3 minutes
# on 2 cores; bench-full: 1M records and 10M on the scaling curve.
bench:
	cd bench && $(GO) run ./cmd/dbrsbench -short -out results -readme ../README.md

bench-full:
	cd bench && $(GO) run ./cmd/dbrsbench -full -out results-full -readme ../README.md

# What dbrs.wasm is made of: code bytes by package, from the wasm's own
# sections (go tool nm cannot read wasm).
wasm-size:
	cd bench && $(GO) run ./cmd/wasmsize

# The browser benchmark (bench/browser, its own Go module and npm package):
# dbrs, Dexie and raw IndexedDB in one headless Chromium. Writes
# bench/browser/results/ (results.json, results.md, chart.svg) and the
# "Browser benchmarks" section of README.md. Short mode takes under 3
# minutes; the full one (100k records, more repeats) about 10. Set CHROME
# to choose the browser.
bench-browser: site
	cd bench/browser && npm ci --no-audit --no-fund && $(GO) run . -short

bench-browser-full: site
	cd bench/browser && npm ci --no-audit --no-fund && $(GO) run .

clean:
	rm -rf $(BUILD) js/dist js/dist-test web/demo/dist e2e/artifacts

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

.PHONY: wasm-size test demo site wasm deps go-deps js-deps browser vet unit js-test wasm-test fuzz example bench bench-full bench-browser bench-browser-full clean

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
# core/codec_noreflect.go): its tables are all dynamic.
wasm:
	GOOS=js GOARCH=wasm $(GO) build -tags dbrs_noreflect -trimpath -ldflags="-s -w" -o $(WASM) ./platform/wasm/cmd/dbrs
	@raw=$$(stat -c %s $(WASM)); gz=$$(gzip -9 -c $(WASM) | wc -c); \
	  echo "dbrs.wasm: $$raw bytes raw, $$gz bytes gzip -9"

site: wasm js-deps
	cd js && npm run build
	cd web/demo && npm run build
	rm -rf $(SITE)
	./web/demo/assemble.sh $(SITE) $(WASM)

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
unit:
	$(GO) test -race -count=1 ./...
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

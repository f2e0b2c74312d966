# dbrs: the two commands are `make demo` (build everything, serve the demo)
# and `make test` (every test). Both work on a fresh Debian machine with only
# Go and Node installed.

GO       ?= go
FUZZTIME ?= 4s

.PHONY: test deps vet unit fuzz example bench

test: deps vet unit fuzz

deps:
	$(GO) mod download

vet:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

# A short pass over every fuzz target; FUZZTIME=5m for a real run.
fuzz:
	for target in FuzzOpenSegment FuzzEntry FuzzValidRaw; do \
	  $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) ./core || exit 1; \
	done

# The native quick start as a program: create, write, reopen, print.
example:
	$(GO) run ./cmd/example

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./platform/native/

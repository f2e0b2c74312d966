GO ?= go

.PHONY: test vet unit
test: vet unit

vet:
	$(GO) mod download
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

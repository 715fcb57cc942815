# The Makefile is the contract CI runs: `make test` is the test command the
# README names. Everything it needs beyond Go is installed by .ci/run.

GO            ?= go
PKGS          ?= ./...
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHSTAT     ?= golang.org/x/perf/cmd/benchstat@latest
BENCH         ?= .
BENCHTIME     ?= 1s
COUNT         ?= 6

.PHONY: run test test-short bench lint fmt build

## run: start vanban with the embedded defaults (SQLite and ./data)
run:
	$(GO) run ./cmd/vanban serve

## build: build the vanban binary into ./vanban
build:
	$(GO) build -trimpath -o vanban ./cmd/vanban

## test: every test, with the race detector, against real services (the
## end-to-end tests of cmd/vanban in parallel parts, see scripts/test-all)
test:
	GO=$(GO) scripts/test-all

## test-short: quick unit tests only
test-short:
	$(GO) test -short -count=1 $(PKGS)

## bench: benchmarks, COUNT runs each, into bench.txt (compare runs with benchstat)
bench:
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -benchtime=$(BENCHTIME) -count=$(COUNT) $(PKGS) | tee bench.txt
	@echo "compare two runs: go run $(BENCHSTAT) old.txt bench.txt"

## lint: vet, gofmt and staticcheck
lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) run $(STATICCHECK) $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

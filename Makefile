# vrrpd — see README.md. Every target works on a fresh clone.

GO        ?= go
FUZZTIME  ?= 1m
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.7.0
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test lint fuzz clean

all: lint test build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/vrrpd ./cmd/vrrpd

# Every test, with the race detector.
test:
	$(GO) test -race -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Runs every fuzz target for FUZZTIME, then adds what the fuzzer found interesting to the
# committed corpus in each package's testdata/fuzz.
fuzz:
	@set -e; cache=$$($(GO) env GOCACHE)/fuzz; \
	for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg; \
			if [ -d "$$cache/$$pkg/$$target" ]; then \
				mkdir -p "$$dir/testdata/fuzz/$$target"; \
				cp -n "$$cache/$$pkg/$$target"/* "$$dir/testdata/fuzz/$$target/"; \
			fi; \
		done; \
	done

clean:
	rm -rf bin

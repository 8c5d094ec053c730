# vrrpd — see README.md. Every target works on a fresh clone.

GO        ?= go
FUZZTIME  ?= 1m
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.7.0
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# grpcnotrace: vrrpd runs no gRPC server, but GoBGP's speaker links gRPC, whose request
# tracing brings html/template; its calls of methods by name make the linker keep every
# exported method of every type: 5.8 MB of the binary and 3.3 MB of resident memory.
# internal/netnstest.BuildTags is the same for the tests' builds.
TAGS      ?= grpcnotrace

# Debian packages the privileged tests use: real peers and tools, never mocks. The
# packaging tests build and lint the .deb and .rpm, and install the .deb in a Debian root.
# prometheus: promtool checks the alerting rules; the server scrapes vrrpd in a test.
# bird2 and frr: the routers the BGP announcements are proved against; nftables: the
# chaos suite's switch; stress-ng: the failover benchmark's load.
DEB_PACKAGES ?= iproute2 iputils-ping keepalived frr bird2 haproxy tcpdump systemd \
	go-md2man lintian debootstrap rpm man-db zsh prometheus nftables stress-ng
# What make man, deb and rpm need.
PKG_PACKAGES ?= go-md2man

# Packages: where they go, their version (ordered as deb and rpm compare versions), and
# nfpm, run at a pinned version.
DIST           ?= dist
PKG_VERSION    ?= $(shell deploy/package/version.sh)
PKG_ARCH       ?= $(shell $(GO) env GOARCH)
PKG_MAINTAINER ?= vrrpd maintainers <maintainers@vrrpd.invalid>
NFPM           ?= github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
STAGE           = $(DIST)/stage
MAN_PAGES       = vrrpd.8 vrrpd.yaml.5
# What make demo needs.
DEMO_PACKAGES ?= iproute2 iputils-ping

# Installs the Debian packages named in $(1) that are missing, when root.
define install_missing
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=""; \
		for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
		if [ -n "$$missing" ]; then \
			echo "installing$$missing"; \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
		fi; \
	fi
endef

.PHONY: all build test test-deps lint fuzz bench bench-scrape bench-bgp bench-failover systemd-figures demo clean interop-doc man stage deb rpm chaos

all: lint test build

build:
	$(GO) build -tags "$(TAGS)" -ldflags "-X main.version=$(VERSION)" -o bin/ ./cmd/vrrpd ./cmd/vrrpd-bgp

# The man pages, from docs/man/*.md, in $(DIST)/man: as they are (man -l) and gzipped.
man:
	$(call install_missing,$(PKG_PACKAGES))
	@mkdir -p $(DIST)/man
	@for page in $(MAN_PAGES); do \
		sed 's/@VERSION@/$(VERSION)/' docs/man/$$page.md | go-md2man > $(DIST)/man/$$page && \
		gzip -9nc $(DIST)/man/$$page > $(DIST)/man/$$page.gz || exit 1; \
	done
	@echo "man pages in $(DIST)/man: man -l $(DIST)/man/vrrpd.8"

# What nfpm packs that the build makes: static binaries (the same on every
# distribution), the man pages, the copyright file, the changelog and the scripts.
stage: man
	rm -rf $(STAGE)
	mkdir -p $(STAGE)/man
	CGO_ENABLED=0 $(GO) build -trimpath -tags "$(TAGS)" -ldflags "-s -w -X main.version=$(VERSION)" -o $(STAGE)/ ./cmd/vrrpd ./cmd/vrrpd-bgp
	cp $(DIST)/man/*.gz $(STAGE)/man/
	cp deploy/package/nfpm.yaml deploy/package/postinst.sh deploy/package/prerm.sh deploy/package/postrm.sh $(STAGE)/
	GO=$(GO) deploy/package/copyright.sh > $(STAGE)/copyright
	deploy/package/changelog.sh "$(PKG_VERSION)-1" "$(PKG_MAINTAINER)" > $(STAGE)/changelog.yml

# The .deb and the .rpm, in $(DIST): apt install ./dist/vrrpd_*.deb (only the last one
# built is left there, so that the pattern names one package).
deb rpm: stage
	rm -f $(DIST)/vrrpd_*.$@ $(DIST)/vrrpd-*.$@
	cd $(STAGE) && VRRPD_SRC=$(CURDIR) VRRPD_ARCH=$(PKG_ARCH) VRRPD_PKG_VERSION=$(PKG_VERSION) \
		VRRPD_MAINTAINER="$(PKG_MAINTAINER)" \
		$(GO) run $(NFPM) package --config nfpm.yaml --packager $@ --target $(abspath $(DIST))/

# Every test, with the race detector. As root the privileged tests run too (network
# namespaces, raw sockets, keepalived as a peer); otherwise they skip and say why.
test: test-deps
	$(GO) test -race -count=1 -timeout 30m ./...

# As root, installs the Debian packages the privileged tests need when missing.
test-deps:
	$(call install_missing,$(DEB_PACKAGES))

# Runs the interop suite against keepalived and FRR (as root) and writes its matrix, with
# the versions tested, to docs/interop.md.
interop-doc: test-deps
	VRRPD_INTEROP_DOC=$(CURDIR)/docs/interop.md $(GO) test -race -count=1 -timeout 20m -run '^TestInterop$$' ./interop/

# Two vrrpd nodes and a client in network namespaces: election, a crash of the master,
# the takeover, preemption back. As root; everything is removed at the end, even on Ctrl-C.
demo: build
	$(call install_missing,$(DEMO_PACKAGES))
	deploy/demo/demo.sh

# The chaos suite, as root: three daemons in network namespaces, CYCLES cycles of faults
# drawn from SEED (kills, stops, links down, a partition, loss, delay, reloads, a second
# vrrpd run, failing checks), every invariant checked from the kernel's address events.
# NODES names each node's daemon, vrrpd or keepalived. Prints a summary per fault and
# every violation with its timeline; fails on any violation. CHAOSFLAGS adds flags of the
# suite (-report FILE, -timeline FILE, -quiet 3s, -ipv6=false). See docs/chaos.md.
CYCLES ?= 500
SEED   ?= 29
NODES  ?= vrrpd,vrrpd,vrrpd
chaos: test-deps
	$(GO) test -count=1 -v -timeout $$(( $(CYCLES) * 12 + 600 ))s -run '^TestChaos$$' ./chaos/ \
		-args -cycles=$(CYCLES) -seed=$(SEED) -nodes=$(NODES) $(CHAOSFLAGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Speed and memory figures: per-advert costs, a simulated minute of a busy network, and
# a scrape of the metrics of a thousand instances.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./vrrp/ ./netops/... ./metrics/

# As root: what ten scrapes of its metrics cost a vrrpd that is master of a thousand
# instances, in CPU time and memory (plain and gzipped, as Prometheus asks).
bench-scrape: test-deps
	$(GO) test -count=1 -run '^$$' -bench '^BenchmarkScrapeDaemon1000$$' -benchtime 10x ./cmd/vrrpd/

# As root: route health injection against BIRD and FRR, ROUNDS times each: a tracker's
# change -> the UPDATE on the router's wire and -> the route gone from its kernel table
# (a file tracker, then HAProxy polled every 20 ms), kill -9 -> route gone; p50 and p99.
# Then the proofs' own figures: BFD, hold time, router restart, ECMP spread.
ROUNDS ?= 30
bench-bgp: test-deps
	@out=$$(VRRPD_BENCH_BGP=$(ROUNDS) $(GO) test -count=1 -v -timeout 30m -run '^TestBenchBGP$$|^TestRouteHealthInjection' ./rhi/ 2>&1); status=$$?; \
	echo "$$out" | grep -E ' -> |p50|connections|steady'; \
	if [ $$status -ne 0 ]; then echo "$$out" | grep -E -A30 -- '^\s*--- FAIL' | grep -v 'level=DEBUG' | head -150; fi; exit $$status

# As root: what clients feel when a VIP moves, vrrpd beside keepalived in the same run on
# the same network namespaces: host loss, SIGKILL, graceful stop, FAULT, a lowered
# priority, split brain and heal, preempt back, at 1 s, 100 ms and 10 ms adverts, REPS
# times each (the median is reported); a thousand instances (CPU, memory, settle time,
# wrong masters); 100 instances at 10 ms for LOAD_MINUTES while stress-ng keeps the CPUs
# busy; the chaos suite's seeded plan of CHAOS_CYCLES cycles on three nodes of each
# daemon. Prints the table of both daemons' figures, their ratio and vrrpd's goals, and
# writes it to docs/performance.md with the machine and the versions. BENCHFLAGS adds
# flags of the benchmark (-scenarios stop,fault -intervals 100ms -load-variants ...):
# see bench/. About two and a half hours with the defaults.
REPS         ?= 5
LOAD_MINUTES ?= 10
CHAOS_CYCLES ?= 200
bench-failover: test-deps
	$(GO) test -count=1 -v -timeout 8h -run '^TestFailover$$' ./bench/ -args -reps=$(REPS) -scenarios=all \
		-intervals=1s,100ms,10ms -load-minutes=$(LOAD_MINUTES) -chaos-cycles=$(CHAOS_CYCLES) -doc=$(CURDIR)/docs/performance.md \
		-command="make bench-failover REPS=$(REPS) LOAD_MINUTES=$(LOAD_MINUTES) CHAOS_CYCLES=$(CHAOS_CYCLES) $(if $(BENCHFLAGS),BENCHFLAGS='$(BENCHFLAGS)')" $(BENCHFLAGS)

# As root: vrrpd under a real systemd, killed five times with SIGKILL: how soon the
# stale VIP goes (ExecStopPost) and vrrpd is back (READY=1), against the Master_Down_Interval
# of a peer at 100 ms adverts.
systemd-figures: test-deps
	@out=$$($(GO) test -count=1 -v -run '^TestSystemdUnit$$/^RestartAfterSIGKILL$$' ./deploy/ 2>&1); status=$$?; \
	echo "$$out" | grep -E 'restart [0-9]|after SIGKILL' || echo "$$out"; exit $$status

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
	rm -rf bin $(DIST)

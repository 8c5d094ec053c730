package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// unlinked are the import paths vrrpd must not link, by prefix. client_golang and the
// modules it brings (client_model, common, procfs, and protobuf through them) cost the
// daemon 3.5 MB of resident memory in their package initialisation alone; vrrpd
// writes its metrics itself, and only its tests use client_golang. GoBGP, with gRPC
// and protobuf, cost 13 MB: it runs in vrrpd-bgp. net/http, with crypto/tls and
// crypto/x509 that it brings, cost 3 MB of binary and 2 MB of resident memory for the
// one document the metrics endpoint serves: package metrics has its own HTTP/1.1
// responder. The prefixes take their subpackages too (net/http/httptrace,
// crypto/tls/internal/...), and nothing else of the standard library.
var unlinked = []string{
	"net/http",
	"crypto/tls",
	"github.com/prometheus/",
	"github.com/osrg/gobgp/",
	"google.golang.org/grpc",
	"google.golang.org/protobuf/",
	"github.com/vrrpd/vrrpd/rhi/gobgp",
}

// TestDependencies: the daemon, as it ships, links none of the packages of unlinked.
func TestDependencies(t *testing.T) {
	var stderr strings.Builder
	cmd := exec.Command("go", "list", "-tags", netnstest.BuildTags, "-deps", ".")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list: %d packages: %s", len(deps), out)
	}
	for _, p := range deps {
		for _, prefix := range unlinked {
			if strings.HasPrefix(p, prefix) {
				t.Errorf("vrrpd links %s", p)
			}
		}
	}
}

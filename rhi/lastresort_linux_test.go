package rhi_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRouteHealthInjectionLastResort, against BIRD and FRR: with on_failure {med: 1000,
// prepend: 2}, when every node's backend fails the routes stay, worse by MED and AS
// path as the router's RIB shows, and the client still reaches the nodes; when n1
// recovers, its normal route wins alone.
func TestRouteHealthInjectionLastResort(t *testing.T) {
	eachRouter(t, func(t *testing.T, kind string) {
		l := newLab(t, kind, 2)
		n1, n2 := l.nodes[0], l.nodes[1]
		l.startRouter(routerOpts{hold: 9})
		for _, nd := range l.nodes {
			nd.onFailure = "{med: 1000, prepend: 2}"
			l.startNode(nd)
		}
		l.waitNexthops(svc4, 2, 20*time.Second)
		healthy := []string{n1.addr4 + " as-path [65010] med -", n2.addr4 + " as-path [65010] med -"}
		if got := l.ribPaths(svc4); !slices.Equal(got, healthy) {
			t.Errorf("%s's RIB while healthy: %q, want %q", kind, got, healthy)
		}

		n1.stats.set(statsDown)
		n2.stats.set(statsDown)
		lastResort := []string{n1.addr4 + " as-path [65010 65010 65010] med 1000", n2.addr4 + " as-path [65010 65010 65010] med 1000"}
		l.waitRIB(svc4, lastResort, 5*time.Second)
		if hops := l.nexthops(svc4); len(hops) != 2 {
			t.Errorf("next hops %v with both nodes a last resort, want both", hops)
		}
		count := l.spread(40)
		t.Logf("%s: every backend down, 40 connections: %v", kind, count)
		for _, nd := range l.nodes {
			st, _ := nd.status()
			if r := st.BGP.Routes[0]; !r.Announced || r.State != "last resort" || r.Cause != "tracker" {
				t.Errorf("%s's route while its backend is down: %+v", nd.name, r)
			}
		}
		out, err := exec.Command(vrrpd.Path(t), "metrics", "--socket", filepath.Join(n1.dir, "vrrpd.sock")).Output()
		for _, want := range []string{
			`vrrpd_bgp_route_state{route="web",state="last_resort"} 1`,
			`vrrpd_bgp_route_cause{cause="tracker",route="web"} 1`,
			`vrrpd_bgp_peer_state{peer="192.0.2.1",peer_asn="65000",state="established"} 1`,
			`vrrpd_bgp_peer_prefixes_advertised{peer="192.0.2.1",peer_asn="65000"} 1`,
		} {
			if err != nil || !strings.Contains(string(out), want) {
				t.Errorf("vrrpd metrics lacks %s (%v)", want, err)
			}
		}

		n1.stats.set(statsUp)
		recovered := []string{n1.addr4 + " as-path [65010] med -", n2.addr4 + " as-path [65010 65010 65010] med 1000"}
		l.waitRIB(svc4, recovered, 5*time.Second)
		l.waitNexthops(svc4, 1, 5*time.Second)
		if hops := l.nexthops(svc4); !slices.Equal(hops, []string{n1.addr4}) {
			t.Errorf("next hops %v after n1 recovered, want n1's alone", hops)
		}
		if c := l.spread(20); c["n1"] != 20 {
			t.Errorf("after n1 recovered, 20 connections went %v, want all to n1", c)
		}
	})
}

// waitRIB polls the router's RIB until the paths to prefix are want.
func (l *lab) waitRIB(prefix string, want []string, timeout time.Duration) {
	l.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := l.ribPaths(prefix)
		if slices.Equal(got, want) {
			l.t.Logf("%s's RIB: %q", l.kind, got)
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("after %v, %s's RIB has %q, want %q", timeout, l.kind, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

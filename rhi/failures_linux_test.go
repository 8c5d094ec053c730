package rhi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// eachRouter runs fn against BIRD and against FRR, side by side: each in its own
// namespaces, with its own vrrpd processes.
func eachRouter(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, kind := range []string{"bird", "frr"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fn(t, kind)
		})
	}
}

// waitGone polls the router's kernel table every millisecond until none of gws is a
// next hop of dst, and returns when each was first seen gone.
func (l *lab) waitGone(dst string, timeout time.Duration, gws ...string) map[string]time.Time {
	l.t.Helper()
	gone := map[string]time.Time{}
	deadline := time.Now().Add(timeout)
	for len(gone) < len(gws) {
		hops := l.nexthops(dst)
		now := time.Now()
		for _, gw := range gws {
			if _, ok := gone[gw]; !ok && !slices.Contains(hops, gw) {
				gone[gw] = now
			}
		}
		if now.After(deadline) {
			l.t.Fatalf("after %v: %s still has next hops %v, want none of %v\n%s", timeout, dst, hops, gws, l.routerLog())
		}
		time.Sleep(time.Millisecond)
	}
	return gone
}

// TestRouteHealthInjectionFailures, against BIRD and FRR without BFD: a router
// restart, a reload that adds a route without resetting the session, a refused reload,
// then a cut link (n1) and a hung vrrpd (n2, SIGSTOP) at once, each seen after the
// hold time.
func TestRouteHealthInjectionFailures(t *testing.T) {
	eachRouter(t, func(t *testing.T, kind string) {
		l := newLab(t, kind, 2)
		opts := routerOpts{hold: 3}
		l.startRouter(opts)
		n1, n2 := l.nodes[0], l.nodes[1]
		l.startNode(n1)
		l.startNode(n2)
		l.waitNexthops(svc4, 2, 20*time.Second)

		// The router restarts: vrrpd connects again and announces again.
		l.stopRouter()
		if hops := l.nexthops(svc4); len(hops) > 0 {
			out, _ := exec.Command("ip", "-d", "-n", l.router.Name, "route", "show", svc4).CombinedOutput()
			ps, _ := exec.Command("ps", "-eo", "pid,args").CombinedOutput()
			t.Fatalf("the router's kernel kept the route through %v after the router was stopped:\n%s\n%s", hops, out, ps)
		}
		restarted := time.Now()
		l.startRouter(opts)
		l.waitNexthops(svc4, 2, 20*time.Second)
		t.Logf("%s: router restart -> both routes back: %v", kind, time.Since(restarted).Round(time.Millisecond))

		// A reload adds a route; the session stays up.
		before := n2.peer()
		l.extra = "    - {name: api, prefixes: [198.51.100.20/32], when: haproxy:lb}\n"
		os.WriteFile(filepath.Join(n2.dir, "vrrpd.yaml"), []byte(l.config(n2)), 0o644)
		n2.signal(syscall.SIGHUP)
		l.waitNexthops("198.51.100.20", 1, 10*time.Second)
		if after := n2.peer(); !after.Since.Equal(before.Since) || after.State != "established" {
			t.Errorf("the reload reset the session: established since %v, then %s since %v", before.Since, after.State, after.Since)
		}
		// A bad reload keeps everything.
		os.WriteFile(filepath.Join(n2.dir, "vrrpd.yaml"), []byte(strings.Replace(l.config(n2), "asn: 65010", "asn: 0", 1)), 0o644)
		n2.signal(syscall.SIGHUP)
		netnstest.Eventually(t, 5*time.Second, func() bool { return strings.Contains(n2.out.String(), "reload refused") }, "the bad reload was not refused")
		if len(l.nexthops("198.51.100.20")) != 1 {
			t.Error("a refused reload changed the routes")
		}

		// n2 hangs: its vrrpd-bgp hears no heartbeat for a second (counted from the last
		// one, sent every 200 ms), exits, and the kernel closes the session. Then n1's link is cut: without BFD the router notices when
		// the hold time (3 s) expires, which runs from the last keepalive, sent up to a
		// third of it before (BIRD starts it up to a quarter short). BIRD keeps a
		// session's routes until it has closed the connection, which over a cut link
		// takes up to 3 s more (its trace: "Error: Hold timer expired", "BGP session
		// closed", "Down" 3 s later).
		for _, c := range []struct {
			what        string
			nd          *node
			do          func()
			least, most time.Duration
		}{
			{"SIGSTOP", n2, func() { n2.signal(syscall.SIGSTOP) }, 750 * time.Millisecond, 2500 * time.Millisecond},
			{"link cut", n1, func() { l.cut(n1, true) }, time.Second, map[string]time.Duration{"bird": 7 * time.Second, "frr": 4 * time.Second}[kind]},
		} {
			start := time.Now()
			c.do()
			d := l.waitGone(svc4, 10*time.Second, c.nd.addr4)[c.nd.addr4].Sub(start)
			t.Logf("%s: %s, hold time 3s -> route gone: %v", kind, c.what, d.Round(time.Millisecond))
			if d < c.least || d > c.most {
				t.Errorf("%s: the route went after %v (from %s), want within %v to %v\n%s",
					c.what, d, start.Format("15:04:05.000"), c.least, c.most, l.routerLog())
			}
		}
		n2.signal(syscall.SIGCONT)
		// BIRD keeps a peer whose hold timer expired off for its error wait time (60 s
		// and more): the test ends here.
	})
}

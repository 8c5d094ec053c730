package rhi_test

import (
	"syscall"
	"testing"
	"time"
)

// TestRouteHealthInjectionBFD: with BFD (200 ms x 5: down after a second of silence) a
// hung vrrpd (SIGSTOP: its vrrpd-bgp exits after a second without its heartbeat) and a
// cut link lose their routes within 2.5 s, well under the
// hold time of 9 s, against BIRD and FRR. (100 ms x 3 works as well on a quiet machine;
// one whose load is ten times its cores misses 300 ms, and even 500 ms, now and then.)
func TestRouteHealthInjectionBFD(t *testing.T) {
	eachRouter(t, func(t *testing.T, kind string) {
		l := newLab(t, kind, 2)
		n1, n2 := l.nodes[0], l.nodes[1]
		for _, nd := range l.nodes {
			nd.bfd = "{interval: 200ms, multiplier: 5}"
		}
		// A BFD session that fails while the machine is busy costs BIRD's error wait
		// time: a second, not a minute.
		l.startRouter(routerOpts{hold: 9, bfd: true, retryAtOnce: true})
		l.startNode(n1)
		l.startNode(n2)
		l.waitNexthops(svc4, 2, 20*time.Second)
		for _, nd := range l.nodes {
			l.waitBFDSteady(nd)
		}

		for _, c := range []struct {
			what string
			nd   *node
			do   func()
		}{
			{"SIGSTOP", n2, func() { n2.signal(syscall.SIGSTOP) }},
			{"link cut", n1, func() { l.cut(n1, true) }},
		} {
			start := time.Now()
			c.do()
			d := l.waitGone(svc4, 10*time.Second, c.nd.addr4)[c.nd.addr4].Sub(start)
			t.Logf("%s: %s, BFD 200ms x 5, hold time 9s -> route gone: %v", kind, c.what, d.Round(time.Millisecond))
			if d > 2500*time.Millisecond {
				t.Errorf("%s: the route went after %v, want within 2.5s (BFD detection 1 s)", c.what, d)
			}
		}
		n2.signal(syscall.SIGCONT)
	})
}

// steadyFor is how long a session must stay up, BFD up, to be taken as settled: FRR's
// bfdd replaces its BFD session when the BGP session first comes up, and GoBGP then
// resets the session once, within the 3 s FRR's idle BFD interval gives it.
const steadyFor = 4 * time.Second

// waitBFDSteady waits until nd's IPv4 session has been established with BFD up for
// steadyFor, and logs the last reason it went down, if it did.
func (l *lab) waitBFDSteady(nd *node) {
	l.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var since time.Time
	for {
		p := nd.peer()
		now := time.Now()
		switch {
		case p.State != "established" || p.BFD != "up":
			since = time.Time{}
		case since.IsZero() || !p.Since.Equal(since):
			since = p.Since
		case now.Sub(since) >= steadyFor:
			l.t.Logf("%s: %s's session steady with BFD up; last went down: %q", l.kind, nd.name, p.LastError)
			return
		}
		if now.After(deadline) {
			l.t.Fatalf("%s's session did not settle with BFD up: %+v\n%s", nd.name, p, l.routerLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

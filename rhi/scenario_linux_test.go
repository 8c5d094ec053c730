package rhi_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRouteHealthInjection runs the proof against BIRD and against FRR.
func TestRouteHealthInjection(t *testing.T) {
	eachRouter(t, proveECMP)
}

func proveECMP(t *testing.T, kind string) {
	l := newLab(t, kind, 3)
	l.startRouter(routerOpts{hold: 9})
	for _, nd := range l.nodes {
		l.startNode(nd)
	}
	// 1. Sessions, one multipath route per family with three next hops.
	l.waitNexthops(svc4, 3, 20*time.Second)
	l.waitNexthops(svc6, 3, 20*time.Second)
	st, err := l.nodes[0].status()
	if err != nil || st.BGP == nil || len(st.BGP.Peers) != 2 || st.BGP.Peers[0].State != "established" || !st.BGP.Routes[0].Announced {
		t.Fatalf("n1's status: %+v %v", st.BGP, err)
	}
	if !l.nodes[0].ns.HasAddress("lo", netip.MustParseAddr(svc4)) {
		t.Fatal("the service address is not on n1's lo")
	}

	// 2. ECMP spreads 300 connections about evenly.
	count := l.spread(300)
	t.Logf("300 connections: %v", count)
	for _, nd := range l.nodes {
		if c := count[nd.name]; c < 60 || c > 140 {
			t.Errorf("%s got %d of 300 connections, want about 100", nd.name, c)
		}
	}

	// 3. be_app down on n1: withdrawn, no new connection reaches it; back up: back.
	n1 := l.nodes[0]
	changed := n1.stats.set(statsDown)
	gone := l.waitNexthops(svc4, 2, 5*time.Second)
	t.Logf("be_app down -> route to n1 gone from the router's kernel table: %v", gone.Sub(changed).Round(time.Millisecond))
	if c := l.spread(60); c["n1"] > 0 {
		t.Errorf("after the withdraw n1 still got %d connections", c["n1"])
	}
	st, _ = n1.status()
	if r := st.BGP.Routes[0]; r.Announced || r.State != "withdrawn" || !strings.Contains(r.Reason, "be_app DOWN (0/2 UP)") {
		t.Errorf("n1's route while be_app is down: %+v", r)
	}
	if n1.ns.HasAddress("lo", netip.MustParseAddr(svc4)) {
		t.Error("the service address stayed on n1's lo after the withdraw")
	}
	n1.stats.set(statsUp)
	l.waitNexthops(svc4, 3, 5*time.Second)

	// 4. kill -9: the kernel closes the session; the route goes at once.
	n3 := l.nodes[2]
	killed := time.Now()
	n3.signal(syscall.SIGKILL)
	gone = l.waitNexthops(svc4, 2, 5*time.Second)
	t.Logf("kill -9 -> route gone from the router's kernel table: %v", gone.Sub(killed).Round(time.Millisecond))
	if d := gone.Sub(killed); d > time.Second {
		t.Errorf("the route of a killed vrrpd went after %v, want within 1s", d)
	}

	// 5. Graceful stop of n2 while the client connects: the router moves the flows away
	// during the drain, while n2 still serves, and no connection fails for n2's leaving.
	leaveGracefully(t, l, l.nodes[1])
}

// leaveGracefully stops nd with SIGTERM while the client opens a connection every 2 ms,
// and checks that the router stopped sending nd new flows during the drain, while nd
// still served, and that no connection failed for nd's leaving.
//
// One kind of failure is the router's, not nd's: the router's ECMP hashes every packet
// afresh, so a handshake under way at the instant its route drops nd is carried on to
// another node, which answers with a reset. No speaker can prevent it (resilient
// hashing on the router narrows it); such a reset is allowed within 100 ms before the
// route changed, and logged.
func leaveGracefully(t *testing.T, l *lab, nd *node) {
	t.Helper()
	type attempt struct {
		began time.Time
		err   error
	}
	var failures []attempt
	total := 0
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			began := time.Now()
			if _, err := l.connect(svc4); err != nil {
				failures = append(failures, attempt{began, err})
			}
			total++
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// The client stops before the test returns, even on a Fatal.
	var once sync.Once
	finish := func() { once.Do(func() { close(stop); <-done }) }
	defer finish()
	routes := l.watchRoutes()
	time.Sleep(200 * time.Millisecond)
	routes.drain()
	termed := time.Now()
	nd.signal(syscall.SIGTERM)
	// moved is when the router's kernel route first lacked nd.
	moved := routes.wait(t, svc4, func(hops []string) bool { return len(hops) > 0 && !slices.Contains(hops, nd.addr4) })
	select {
	case <-nd.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not stop", nd.name)
	}
	exited := time.Now()
	l.waitNexthops(svc4, 1, 5*time.Second)
	time.Sleep(200 * time.Millisecond)
	finish()
	t.Logf("graceful stop of %s: the router moved its flows %v after SIGTERM, %v before it exited; %d of %d connections failed",
		nd.name, moved.Sub(termed).Round(time.Millisecond), exited.Sub(moved).Round(time.Millisecond), len(failures), total)
	if exited.Sub(moved) < 500*time.Millisecond {
		t.Errorf("the router moved %s's flows only %v before it exited: the drain did not move them", nd.name, exited.Sub(moved))
	}
	for _, f := range failures {
		at := f.began.Sub(moved)
		if errors.Is(f.err, syscall.ECONNRESET) && at > -100*time.Millisecond && at <= 0 {
			t.Logf("a connection begun %v before the router's route changed was reset: its handshake was re-hashed to another node", -at.Round(time.Millisecond))
			continue
		}
		t.Errorf("a connection begun %v after SIGTERM (%v after the route changed) failed: %v",
			f.began.Sub(termed).Round(time.Millisecond), at.Round(time.Millisecond), f.err)
	}
	if nd.ns.HasAddress("lo", netip.MustParseAddr(svc4)) {
		t.Errorf("the service address stayed on %s's lo after a graceful stop", nd.name)
	}
	if !strings.Contains(nd.out.String(), "graceful shutdown: draining") {
		t.Errorf("%s did not drain", nd.name)
	}
	if t.Failed() {
		t.Log(l.routerLog())
	}
}

package rhi_test

import (
	"net/netip"
	"strings"
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

	// 5. Graceful stop of n2 while the client connects: no connection fails.
	n2 := l.nodes[1]
	stop := make(chan struct{})
	failed, total := 0, 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := l.connect(svc4); err != nil {
				failed++
			}
			total++
			time.Sleep(2 * time.Millisecond)
		}
	}()
	time.Sleep(200 * time.Millisecond)
	n2.signal(syscall.SIGTERM)
	select {
	case <-n2.done:
	case <-time.After(10 * time.Second):
		t.Fatal("n2 did not stop")
	}
	l.waitNexthops(svc4, 1, 5*time.Second)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	<-done
	t.Logf("graceful stop of n2: %d of %d connections failed", failed, total)
	if failed > 0 {
		t.Errorf("%d of %d connections failed while n2 left gracefully", failed, total)
	}
	if n2.ns.HasAddress("lo", netip.MustParseAddr(svc4)) {
		t.Error("the service address stayed on n2's lo after a graceful stop")
	}
	if !strings.Contains(n2.out.String(), "graceful shutdown: draining") {
		t.Error("n2 did not drain")
	}
}

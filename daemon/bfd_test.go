package daemon

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/tracker"
)

// bfdCfg is a session on eth0 at 20ms x 3.
func bfdCfg(name, neighbor string) config.BFDSession {
	return config.BFDSession{Name: name, Neighbor: netip.MustParseAddr(neighbor), Interface: "eth0", MinRx: 20 * time.Millisecond,
		MinTx: 20 * time.Millisecond, IdleTx: time.Second, Multiplier: 3}
}

func bfdTracker(t *testing.T, n *node, instance string) control.TrackerStatus {
	t.Helper()
	for _, tr := range n.instance(t, instance).Trackers {
		if tr.Kind == "bfd" {
			return tr
		}
	}
	t.Fatalf("%s: %s tracks no BFD session", n.name, instance)
	return control.TrackerStatus{}
}

// TestBFDTracking: a master that tracks a BFD session to its gateway with weight 0 is
// in FAULT until the session is Up, goes to FAULT within the detection time when the
// gateway falls silent, so the backup takes over, and takes the VIP back when the
// gateway returns. A reload that keeps the session keeps it Up.
func TestBFDTracking(t *testing.T) {
	l := newLAN(t)
	gw := newNodeWith(t, l, "gw", "192.0.2.9", func(c *config.Config) {
		c.BFDSessions = []config.BFDSession{bfdCfg("a", "192.0.2.1")}
	}, tracker.Env{})
	webA := instanceCfg("web", 150, "192.0.2.100/24")
	webA.Track.BFD = []config.TrackRef{{Name: "gw"}}
	a := newNodeWith(t, l, "a", "192.0.2.1", func(c *config.Config) {
		c.Instances = []config.Instance{webA}
		c.BFDSessions = []config.BFDSession{bfdCfg("gw", "192.0.2.9")}
	}, tracker.Env{})
	b := newNode(t, l, "b", "192.0.2.2", instanceCfg("web", 100, "192.0.2.100/24"))
	gw.start(t)
	a.start(t)
	b.start(t)
	if st := a.instance(t, "web").State; st != "FAULT" {
		t.Fatalf("a before its BFD session is Up: %s, want FAULT", st)
	}
	a.waitState(t, "web", "MASTER")
	b.waitState(t, "web", "BACKUP")
	if tr := bfdTracker(t, a, "web"); tr.State != "ok" || tr.Detail != "192.0.2.9: Up" {
		t.Fatalf("a's BFD tracker: %+v", tr)
	}

	l.Cut(gw.host)
	// The session goes down on the manual clock, which the harness moves only once the
	// sessions are idle: within the detection time, 3 x 20ms. The tracker's news
	// reaches the instance outside the clock, so the time of the FAULT says nothing.
	l.run(60*time.Millisecond + time.Millisecond)
	a.d.bfd.mu.Lock()
	st := a.d.bfd.states["gw"]
	a.d.bfd.mu.Unlock()
	if st.up || st.detail != "192.0.2.9: Down: control detection time expired" {
		t.Errorf("the session 61ms after the cut: %+v, want down within the detection time of 60ms", st)
	}
	a.waitState(t, "web", "FAULT")
	if tr := bfdTracker(t, a, "web"); tr.State != "failing" || tr.Detail != "192.0.2.9: Down: control detection time expired" {
		t.Errorf("a's BFD tracker after the cut: %+v", tr)
	}
	b.waitState(t, "web", "MASTER")

	l.Mend(gw.host)
	a.waitState(t, "web", "MASTER")
	b.waitState(t, "web", "BACKUP")

	up := bfdTracker(t, a, "web").Since
	next := *a.cfg
	next.Instances = []config.Instance{webA}
	next.Instances[0].Priority = 160
	next.BFDSessions = []config.BFDSession{bfdCfg("gw", "192.0.2.9")}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	l.run(500 * time.Millisecond)
	if tr := bfdTracker(t, a, "web"); tr.State != "ok" || !tr.Since.Equal(up) {
		t.Errorf("after a reload that keeps the session: %+v, want ok since %v", tr, up)
	}
	if st := a.instance(t, "web"); st.State != "MASTER" || st.Priority != 160 {
		t.Errorf("after the reload: %s at %d", st.State, st.Priority)
	}

	// Slower timers reach the running session: it stays Up.
	slow := bfdCfg("gw", "192.0.2.9")
	slow.MinRx, slow.MinTx = 100*time.Millisecond, 100*time.Millisecond
	next.BFDSessions = []config.BFDSession{slow}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	l.run(time.Second)
	if tr := bfdTracker(t, a, "web"); tr.State != "ok" || !tr.Since.Equal(up) {
		t.Errorf("after a reload of the timers: %+v, want ok since %v", tr, up)
	}
}

// TestBFDReloadEndpoints: a reload that moves a session to another neighbour replaces
// it, and one that removes the session and its tracking leaves the instance alone.
func TestBFDReloadEndpoints(t *testing.T) {
	l := newLAN(t)
	gw := newNodeWith(t, l, "gw", "192.0.2.9", func(c *config.Config) {
		c.BFDSessions = []config.BFDSession{bfdCfg("a", "192.0.2.1")}
	}, tracker.Env{})
	web := instanceCfg("web", 150, "192.0.2.100/24")
	web.Track.BFD = []config.TrackRef{{Name: "gw", Weight: -100}}
	a := newNodeWith(t, l, "a", "192.0.2.1", func(c *config.Config) {
		c.Instances = []config.Instance{web}
		c.BFDSessions = []config.BFDSession{bfdCfg("gw", "192.0.2.9")}
	}, tracker.Env{})
	gw.start(t)
	a.start(t)
	l.until("a's session up", func() bool { return bfdTracker(t, a, "web").State == "ok" })
	if p := a.instance(t, "web").Priority; p != 150 {
		t.Fatalf("priority %d with the session up, want 150", p)
	}

	// Nobody answers at 192.0.2.8: the new session stays down.
	next := *a.cfg
	next.BFDSessions = []config.BFDSession{bfdCfg("gw", "192.0.2.8")}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	l.until("the moved session down", func() bool {
		tr := bfdTracker(t, a, "web")
		return tr.State == "failing" && a.instance(t, "web").Priority == 50
	})
	// The old session told the gateway it was AdminDown as it left.
	var left bfdState
	l.until("the gateway's session down", func() bool {
		gw.d.bfd.mu.Lock()
		defer gw.d.bfd.mu.Unlock()
		left = gw.d.bfd.states["a"]
		return !left.up
	})
	if left.detail != "192.0.2.1: Down: neighbor signaled session down" {
		t.Errorf("the gateway's session after a's left: %+v", left)
	}

	next.BFDSessions = nil
	next.Instances = []config.Instance{instanceCfg("web", 150, "192.0.2.100/24")}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	l.run(100 * time.Millisecond)
	st := a.instance(t, "web")
	if len(st.Trackers) != 0 || st.Priority != 150 {
		t.Errorf("after removing the session: trackers %+v, priority %d", st.Trackers, st.Priority)
	}
	a.d.bfd.mu.Lock()
	n := len(a.d.bfd.sessions)
	a.d.bfd.mu.Unlock()
	if n != 0 {
		t.Errorf("%d sessions run after their removal", n)
	}
}

// TestBFDRequiresTTL255: packets that crossed a router (TTL below 255) are dropped, and
// the session comes Up once they arrive at 255 (RFC 5881 section 5).
func TestBFDRequiresTTL255(t *testing.T) {
	l := newLAN(t)
	l.SetTTL(254)
	gw := newNodeWith(t, l, "gw", "192.0.2.9", func(c *config.Config) {
		c.BFDSessions = []config.BFDSession{bfdCfg("a", "192.0.2.1")}
	}, tracker.Env{})
	web := instanceCfg("web", 150, "192.0.2.100/24")
	web.Track.BFD = []config.TrackRef{{Name: "gw", Weight: -10}}
	a := newNodeWith(t, l, "a", "192.0.2.1", func(c *config.Config) {
		c.Instances = []config.Instance{web}
		c.BFDSessions = []config.BFDSession{bfdCfg("gw", "192.0.2.9")}
	}, tracker.Env{})
	gw.start(t)
	a.start(t)
	l.run(5 * time.Second)
	if tr := bfdTracker(t, a, "web"); tr.State != "failing" {
		t.Fatalf("a's session with packets at TTL 254: %+v", tr)
	}
	a.d.bfd.mu.Lock()
	dropped := a.d.bfd.drops.n
	a.d.bfd.mu.Unlock()
	if dropped == 0 {
		t.Error("no packet at TTL 254 counted as dropped")
	}
	l.SetTTL(0)
	l.until("a's session up at TTL 255", func() bool { return bfdTracker(t, a, "web").State == "ok" })
}

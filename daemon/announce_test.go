package daemon

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
)

// TestAnnouncementSchedule: a master's bursts come at keepalived's times on the
// daemon's clock, sent by its port, and end with its mastership.
func TestAnnouncementSchedule(t *testing.T) {
	l := newLAN(t)
	cfg := instanceCfg("web", 150, "192.0.2.100/24")
	cfg.GARP = config.GARP{Repeat: 2, Delay: 5 * time.Second, Refresh: 30 * time.Second, RefreshRepeat: 1}
	a := newNode(t, l, "a", "192.0.2.1", cfg)
	b := newNode(t, l, "b", "192.0.2.2", instanceCfg("web", 100, "192.0.2.100/24"))
	a.start(t)
	b.start(t)
	a.waitState(t, "web", "MASTER")
	b.waitState(t, "web", "BACKUP")
	l.run(65 * time.Second)

	vip := netip.MustParseAddr("192.0.2.100")
	sent := a.ann.Announcements()
	if len(sent) == 0 {
		t.Fatal("no announcement")
	}
	type burst struct {
		at    time.Duration
		count int
	}
	var got []burst
	for _, s := range sent {
		if s.Interface != "eth0" || s.VIP != vip {
			t.Fatalf("announced %v on %s", s.VIP, s.Interface)
		}
		got = append(got, burst{s.Time.Sub(sent[0].Time), s.Count})
	}
	want := []burst{{0, 2}, {5 * time.Second, 2}, {30 * time.Second, 1}, {60 * time.Second, 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("bursts %v, want %v", got, want)
	}

	// No burst once a has left mastership, however long it runs.
	a.stop(t)
	b.waitState(t, "web", "MASTER")
	n := len(a.ann.Announcements())
	l.run(2 * time.Minute)
	if after := len(a.ann.Announcements()); after != n {
		t.Fatalf("%d bursts after a stopped", after-n)
	}
}

// TestAnnouncementFailureGoesOn: a burst that cannot be sent is logged and counted,
// and the schedule goes on.
func TestAnnouncementFailureGoesOn(t *testing.T) {
	l := newLAN(t)
	cfg := instanceCfg("web", 150, "192.0.2.100/24")
	cfg.GARP = config.GARP{Repeat: 1, Refresh: time.Second, RefreshRepeat: 1}
	a := newNode(t, l, "a", "192.0.2.1", cfg)
	a.start(t)
	a.waitState(t, "web", "MASTER")
	a.ann.Fail("eth0", errors.New("no carrier"))
	l.run(3 * time.Second)
	if st := a.instance(t, "web"); st.AnnounceErrors < 2 {
		t.Fatalf("announce errors %d, want one a second", st.AnnounceErrors)
	}
	a.ann.Fail("eth0", nil)
	n := a.ann.Count("eth0", netip.MustParseAddr("192.0.2.100"))
	l.run(2 * time.Second)
	if got := a.ann.Count("eth0", netip.MustParseAddr("192.0.2.100")); got < n+2 {
		t.Fatalf("%d announcements after the link came back, want 2", got-n)
	}
}

package fake_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/fake"
)

func TestAnnouncerRecords(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := start
	a := fake.NewAnnouncer(func() time.Time { return now })
	v4, v6 := netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")

	if err := a.Announce("eth0", []netip.Addr{v4, v6}, 5, true); err != nil {
		t.Fatal(err)
	}
	now = now.Add(5 * time.Second)
	if err := a.Announce("eth1", []netip.Addr{v4}, 1, false); err != nil {
		t.Fatal(err)
	}
	if err := a.Announce("eth0", []netip.Addr{v4}, 0, false); err != nil {
		t.Fatal(err)
	}
	want := []fake.Announcement{
		{Interface: "eth0", VIP: v4, Count: 5, Reply: true, Time: start},
		{Interface: "eth0", VIP: v6, Count: 5, Reply: true, Time: start},
		{Interface: "eth1", VIP: v4, Count: 1, Time: start.Add(5 * time.Second)},
	}
	if got := a.Announcements(); !slices.Equal(got, want) {
		t.Fatalf("announcements\n got %+v\nwant %+v", got, want)
	}
	if n := a.Count("eth0", v4); n != 5 {
		t.Fatalf("Count(eth0, %v) = %d, want 5", v4, n)
	}
}

func TestAnnouncerErrors(t *testing.T) {
	a := fake.NewAnnouncer(nil)
	vip := netip.MustParseAddr("192.0.2.100")

	if err := a.Announce("eth0", []netip.Addr{{}, vip}, 1, false); err == nil {
		t.Fatal("invalid VIP: no error")
	}
	if n := a.Count("eth0", vip); n != 1 {
		t.Fatalf("the valid VIP was announced %d times, want 1 despite the invalid one", n)
	}

	down := errors.New("link down")
	a.Fail("eth0", down)
	if err := a.Announce("eth0", []netip.Addr{vip}, 3, false); !errors.Is(err, down) {
		t.Fatalf("err %v, want %v", err, down)
	}
	if err := a.Announce("eth1", []netip.Addr{vip}, 1, false); err != nil {
		t.Fatalf("eth1 fails too: %v", err)
	}
	a.Fail("eth0", nil)
	if err := a.Announce("eth0", []netip.Addr{vip}, 2, false); err != nil {
		t.Fatal(err)
	}
	if n := a.Count("eth0", vip); n != 3 {
		t.Fatalf("Count = %d, want 1 + 2, nothing while eth0 failed", n)
	}
}

// TestAnnouncerUnderTheSchedule runs the real schedule against the fake, from several
// goroutines at once, as the daemon does with one schedule per instance.
func TestAnnouncerUnderTheSchedule(t *testing.T) {
	a := fake.NewAnnouncer(nil)
	cfg := netops.AnnounceConfig{Repeat: 3}
	var wg sync.WaitGroup
	for i := range 8 {
		vip := netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i)})
		wg.Go(func() {
			netops.Announce(context.Background(), a, "eth0", []netip.Addr{vip}, cfg, nil)
		})
	}
	wg.Wait()
	for i := range 8 {
		vip := netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i)})
		if n := a.Count("eth0", vip); n != 3 {
			t.Errorf("%v announced %d times, want 3", vip, n)
		}
	}
}

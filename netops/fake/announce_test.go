package fake_test

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/contract"
	"github.com/vrrpd/vrrpd/netops/fake"
)

// TestAnnouncerContract runs the contract that netops.LinuxAnnouncer also passes, with
// the announcer checking its calls against an Addresses whose eth0 has the VIPs.
func TestAnnouncerContract(t *testing.T) {
	contract.Announcer(t, func(t *testing.T) contract.AnnouncerEnv {
		addrs := fake.NewAddresses()
		addrs.AddInterface("eth0", contract.NodeV4, contract.NodeV6)
		vip := func(a netip.Addr) netops.VIP {
			return netops.VIP{Prefix: netip.PrefixFrom(a, a.BitLen()), Interface: "eth0"}
		}
		for _, a := range slices.Concat(contract.AnnounceV4, contract.AnnounceV6) {
			if err := addrs.Add(vip(a)); err != nil {
				t.Fatal(err)
			}
		}
		ann := fake.NewAnnouncer(nil)
		ann.UseAddresses(addrs)
		seen := 0
		return contract.AnnouncerEnv{
			Announce: ann.Announce,
			// Every recording counts, whatever its interface: one on an interface
			// that does not exist must show as sent.
			Sent: func(t *testing.T, _ int) map[netip.Addr]contract.Sent {
				all := ann.Announcements()
				got := map[netip.Addr]contract.Sent{}
				for _, a := range all[seen:] {
					s := got[a.VIP]
					switch {
					case a.VIP.Is4():
						s.Requests += a.Count
						if a.Reply {
							s.Replies += a.Count
						}
					default:
						s.NAs += a.Count
					}
					got[a.VIP] = s
				}
				seen = len(all)
				return got
			},
			Withdraw: func(t *testing.T, a netip.Addr) error {
				if err := addrs.Remove(vip(a)); err != nil {
					t.Fatal(err)
				}
				return syscall.EINVAL
			},
		}
	})
}

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

// TestAnnouncerUseAddresses checks what the contract leaves open: the sentinel of a
// missing interface, IPv4 VIPs that need not be on the interface, and zones.
func TestAnnouncerUseAddresses(t *testing.T) {
	addrs := fake.NewAddresses()
	addrs.AddInterface("eth0", netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("fe80::1/64"))
	a := fake.NewAnnouncer(nil)
	a.UseAddresses(addrs)
	v4, ll := netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("fe80::1%eth0")

	if err := a.Announce("nosuch0", []netip.Addr{v4}, 1, false); !errors.Is(err, netops.ErrNoInterface) {
		t.Fatalf("unknown interface: %v, want ErrNoInterface", err)
	}
	if err := a.Announce("eth0", []netip.Addr{v4, ll}, 1, false); err != nil {
		t.Fatal(err)
	}
	if n := a.Count("eth0", v4) + a.Count("eth0", ll); n != 2 {
		t.Fatalf("%d announcements, want one of %v (not on eth0) and one of %v", n, v4, ll)
	}
	if err := a.Announce("eth0", []netip.Addr{netip.MustParseAddr("2001:db8::100")}, 1, false); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("IPv6 VIP not on eth0: %v, want EINVAL", err)
	}
}

// TestAnnouncerUnderTheSchedule runs the real schedule's first bursts against the fake,
// from several goroutines at once, as the daemon's ports do.
func TestAnnouncerUnderTheSchedule(t *testing.T) {
	a := fake.NewAnnouncer(nil)
	cfg := netops.AnnounceConfig{Repeat: 3}
	var wg sync.WaitGroup
	for i := range 8 {
		vip := netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i)})
		wg.Go(func() {
			now := time.Now()
			count, _, ok := netops.NewAnnounceSchedule(cfg, now).Take(now)
			if !ok {
				t.Error("no first burst")
				return
			}
			if err := a.Announce("eth0", []netip.Addr{vip}, count, cfg.Reply); err != nil {
				t.Error(err)
			}
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

package netops

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// TestMonitorLinkUpdateConversion feeds hand-built netlink link updates; no privileges.
func TestMonitorLinkUpdateConversion(t *testing.T) {
	update := func(typ uint16, family uint8, flags uint32, oper netlink.LinkOperState) netlink.LinkUpdate {
		u := netlink.LinkUpdate{Link: &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Index: 4, Name: "eth0", RawFlags: flags, OperState: oper}}}
		u.Header.Type = typ
		u.Family = family
		return u
	}
	cases := []struct {
		name string
		u    netlink.LinkUpdate
		want LinkEvent
		ok   bool
	}{
		{name: "up", u: update(unix.RTM_NEWLINK, unix.AF_UNSPEC, unix.IFF_UP|unix.IFF_RUNNING|unix.IFF_LOWER_UP, netlink.OperUp),
			want: LinkEvent{Index: 4, Name: "eth0", Up: true}, ok: true},
		{name: "admin down", u: update(unix.RTM_NEWLINK, unix.AF_UNSPEC, 0, netlink.OperDown),
			want: LinkEvent{Index: 4, Name: "eth0"}, ok: true},
		{name: "no carrier", u: update(unix.RTM_NEWLINK, unix.AF_UNSPEC, unix.IFF_UP, netlink.OperDown),
			want: LinkEvent{Index: 4, Name: "eth0"}, ok: true},
		{name: "VLAN on a down parent", u: update(unix.RTM_NEWLINK, unix.AF_UNSPEC, unix.IFF_UP, netlink.OperLowerLayerDown),
			want: LinkEvent{Index: 4, Name: "eth0"}, ok: true},
		{name: "no operational state, running", u: update(unix.RTM_NEWLINK, unix.AF_UNSPEC, unix.IFF_UP|unix.IFF_RUNNING, netlink.OperUnknown),
			want: LinkEvent{Index: 4, Name: "eth0", Up: true}, ok: true},
		{name: "deleted", u: update(unix.RTM_DELLINK, unix.AF_UNSPEC, unix.IFF_UP|unix.IFF_RUNNING, netlink.OperUp),
			want: LinkEvent{Index: 4, Name: "eth0", Deleted: true}, ok: true},
		{name: "bridge port left its bridge", u: update(unix.RTM_DELLINK, unix.AF_BRIDGE, unix.IFF_UP, netlink.OperUp)},
		{name: "bridge port state", u: update(unix.RTM_NEWLINK, unix.AF_BRIDGE, unix.IFF_UP, netlink.OperUp)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := linkEventOf(c.u)
			if ok != c.ok || got != c.want {
				t.Fatalf("linkEventOf = %+v, %v; want %+v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

// TestMonitorAddrUpdateConversion feeds hand-built netlink address updates; no
// privileges.
func TestMonitorAddrUpdateConversion(t *testing.T) {
	ipnet := func(s string) net.IPNet {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		return net.IPNet{IP: ip, Mask: n.Mask} // ParseCIDR gives a 16-byte IPv4 address
	}
	cases := []struct {
		name string
		u    netlink.AddrUpdate
		want AddrEvent
		ok   bool
	}{
		{name: "IPv4 added", u: netlink.AddrUpdate{LinkIndex: 4, LinkAddress: ipnet("192.0.2.100/24"), NewAddr: true},
			want: AddrEvent{Index: 4, Prefix: netip.MustParsePrefix("192.0.2.100/24")}, ok: true},
		{name: "IPv4 4-byte form deleted", u: netlink.AddrUpdate{LinkIndex: 4, LinkAddress: net.IPNet{IP: net.IP{192, 0, 2, 100}, Mask: net.CIDRMask(32, 32)}},
			want: AddrEvent{Index: 4, Prefix: netip.MustParsePrefix("192.0.2.100/32"), Deleted: true}, ok: true},
		{name: "IPv6", u: netlink.AddrUpdate{LinkIndex: 4, LinkAddress: ipnet("2001:db8::100/64"), NewAddr: true},
			want: AddrEvent{Index: 4, Prefix: netip.MustParsePrefix("2001:db8::100/64")}, ok: true},
		{name: "no address", u: netlink.AddrUpdate{LinkIndex: 4}},
		{name: "no interface", u: netlink.AddrUpdate{LinkIndex: -1, LinkAddress: ipnet("192.0.2.100/24")}},
		{name: "mask of the other family", u: netlink.AddrUpdate{LinkIndex: 4, LinkAddress: net.IPNet{IP: net.ParseIP("2001:db8::1"), Mask: net.CIDRMask(24, 32)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := addrEventOf(c.u)
			if ok != c.ok || got != c.want {
				t.Fatalf("addrEventOf = %+v, %v; want %+v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

// newMonitorIn starts a Monitor of ns and subscribes to it.
func newMonitorIn(t *testing.T, ns *netnstest.NS) (*Monitor, <-chan Event) {
	t.Helper()
	log, _ := newLog(t)
	var m *Monitor
	ns.MustDo(func() (err error) {
		m, err = NewMonitor(log)
		return err
	})
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close monitor: %v", err)
		}
	})
	ch, cancel := m.Subscribe()
	t.Cleanup(cancel)
	return m, ch
}

// next returns the next event on ch that keep accepts, skipping the others.
func nextEvent(t *testing.T, ch <-chan Event, what string, keep func(Event) bool) Event {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed waiting for %s", what)
			}
			if keep(e) {
				return e
			}
		case <-deadline.C:
			t.Fatalf("no %s within 5s", what)
		}
	}
}

// linkNamed accepts the link events of an interface.
func linkNamed(name string) func(Event) bool {
	return func(e Event) bool {
		l, ok := e.(LinkEvent)
		return ok && l.Name == name
	}
}

// about accepts the link and address events of an interface.
func about(name string) func(Event) bool {
	return func(e Event) bool {
		switch e := e.(type) {
		case LinkEvent:
			return e.Name == name
		case AddrEvent:
			return e.Interface == name
		}
		return false
	}
}

// waitUp returns eth0's up event: a veth reaches operational state UP shortly after
// it is set up.
func waitUp(t *testing.T, ch <-chan Event, name string) LinkEvent {
	t.Helper()
	return nextEvent(t, ch, name+" up", func(e Event) bool {
		l, ok := e.(LinkEvent)
		return ok && l.Name == name && l.Up
	}).(LinkEvent)
}

// settle reads ch until eth0 is up with the node addresses and its link-local address,
// which the kernel adds once it has carrier, and returns eth0.
func settle(t *testing.T, ch <-chan Event) LinkEvent {
	t.Helper()
	s := newNetState()
	for {
		var eth0 LinkEvent
		for _, l := range s.links {
			if l.Name == "eth0" {
				eth0 = l
			}
		}
		have := 0
		for k := range s.addrs {
			if k.index == eth0.Index && (k.prefix == nodeV4 || k.prefix == nodeV6 || k.prefix.Addr().IsLinkLocalUnicast()) {
				have++
			}
		}
		if eth0.Up && have == 3 {
			return eth0
		}
		s.apply(nextEvent(t, ch, "eth0 up with its addresses", func(Event) bool { return true }))
	}
}

// TestMonitorExistingState: a subscriber first gets what exists, each link before its
// addresses, and so does one that subscribes later.
func TestMonitorExistingState(t *testing.T) {
	_, ns := newNode(t)
	m, ch := newMonitorIn(t, ns)
	eth0 := waitUp(t, ch, "eth0")

	late, cancel := m.Subscribe()
	defer cancel()
	links := map[int]bool{}
	var want = map[netip.Prefix]bool{nodeV4: true, nodeV6: true}
	for len(want) > 0 {
		e := nextEvent(t, late, "node addresses", func(Event) bool { return true })
		switch e := e.(type) {
		case LinkEvent:
			links[e.Index] = true
		case AddrEvent:
			if !links[e.Index] {
				t.Fatalf("%+v before its link", e)
			}
			if e.Index == eth0.Index && e.Interface == "eth0" {
				delete(want, e.Prefix)
			}
		}
	}
}

// TestMonitorLinkDownUp: administrative state and carrier (the veth's peer on the
// switch) both decide Up.
func TestMonitorLinkDownUp(t *testing.T) {
	lan, ns := newNode(t)
	_, ch := newMonitorIn(t, ns)
	up := waitUp(t, ch, "eth0")
	down := LinkEvent{Index: up.Index, Name: "eth0"}

	steps := []struct {
		name string
		do   func()
		want LinkEvent
	}{
		{"admin down", func() { ns.IP("link", "set", "eth0", "down") }, down},
		{"admin up", func() { ns.IP("link", "set", "eth0", "up") }, up},
		{"carrier lost", func() { lan.Switch.IP("link", "set", "p1", "down") }, down},
		{"carrier back", func() { lan.Switch.IP("link", "set", "p1", "up") }, up},
	}
	for _, s := range steps {
		s.do()
		if got := nextEvent(t, ch, s.name, linkNamed("eth0")); got != s.want {
			t.Fatalf("%s: %+v, want %+v", s.name, got, s.want)
		}
	}
}

func TestMonitorAddrAddDel(t *testing.T) {
	_, ns := newNode(t)
	_, ch := newMonitorIn(t, ns)
	eth0 := waitUp(t, ch, "eth0")
	isAddr := func(e Event) bool {
		a, ok := e.(AddrEvent)
		return ok && a.Index == eth0.Index && !a.Prefix.Addr().IsLinkLocalUnicast() && a.Prefix != nodeV4 && a.Prefix != nodeV6
	}
	for _, p := range []string{"198.51.100.7/24", "2001:db8:1::7/64"} {
		prefix := netip.MustParsePrefix(p)
		ns.IP("addr", "add", p, "dev", "eth0")
		ns.IP("addr", "del", p, "dev", "eth0")
		for _, want := range []AddrEvent{
			{Index: eth0.Index, Interface: "eth0", Prefix: prefix},
			{Index: eth0.Index, Interface: "eth0", Prefix: prefix, Deleted: true},
		} {
			if got := nextEvent(t, ch, p, isAddr); got != want {
				t.Fatalf("%+v, want %+v", got, want)
			}
		}
	}
}

// TestMonitorRecreate: an interface deleted and created again is reported deleted
// (its addresses first), then new with a new index.
func TestMonitorRecreate(t *testing.T) {
	kinds := []struct {
		name   string
		create []string
	}{
		{"veth", []string{"link", "add", "x0", "type", "veth", "peer", "name", "x1"}},
		{"vlan", []string{"link", "add", "link", "eth0", "name", "x0", "type", "vlan", "id", "10"}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			_, ns := newNode(t)
			if out, err := ns.Exec("ip", k.create...); err != nil {
				// The test machines' kernel is built without 802.1Q.
				t.Skipf("this kernel cannot create a %s: %v: %s", k.name, err, out)
			}
			_, ch := newMonitorIn(t, ns)
			ns.IP("addr", "add", "203.0.113.1/24", "dev", "x0")
			ns.IP("link", "set", "x0", "up")
			first := nextEvent(t, ch, "x0", linkNamed("x0")).(LinkEvent)
			if first.Deleted {
				t.Fatalf("first x0 event %+v", first)
			}
			addr := AddrEvent{Index: first.Index, Interface: "x0", Prefix: netip.MustParsePrefix("203.0.113.1/24")}
			if got := nextEvent(t, ch, "x0 address", func(e Event) bool { return e == Event(addr) }); got != Event(addr) {
				t.Fatalf("%+v", got)
			}

			ns.IP("link", "del", "x0")
			ns.IP(k.create...)
			// Events of the old x0 that were still on their way may come first; then
			// its addresses deleted, and the link last.
			var sawAddr bool
			for {
				e := nextEvent(t, ch, "x0 deletion", about("x0"))
				if l, ok := e.(LinkEvent); ok && l.Index == first.Index && l.Deleted {
					break
				}
				switch e := e.(type) {
				case LinkEvent:
					if e.Index != first.Index {
						t.Fatalf("%+v before the old x0 was deleted", e)
					}
				case AddrEvent:
					if e.Index != first.Index {
						t.Fatalf("%+v before the old x0 was deleted", e)
					}
					if e.Deleted && e.Prefix == addr.Prefix {
						sawAddr = true
					}
				}
			}
			if !sawAddr {
				t.Fatal("x0 deleted before its address")
			}
			again := nextEvent(t, ch, "new x0", linkNamed("x0")).(LinkEvent)
			if again.Deleted || again.Index == first.Index {
				t.Fatalf("re-created x0: %+v, old index %d", again, first.Index)
			}
		})
	}
}

// TestMonitorResubscribe: after its subscription ends, the monitor subscribes again and
// goes on reporting, and the re-listing adds nothing for what did not change.
func TestMonitorResubscribe(t *testing.T) {
	_, ns := newNode(t)
	log, logs := newLog(t)
	var m *Monitor
	ns.MustDo(func() (err error) {
		m, err = NewMonitor(log)
		return err
	})
	t.Cleanup(func() { m.Close() })
	first, cancel := m.Subscribe()
	t.Cleanup(cancel)
	eth0 := settle(t, first)
	// A subscriber that comes now gets the complete state at once, and then nothing
	// until something changes.
	ch, cancel := m.Subscribe()
	t.Cleanup(cancel)
	for range len(ch) {
		<-ch
	}

	m.resubscribe()
	netnstest.Eventually(t, 5*time.Second, func() bool { return logs.Contains("subscribing again") }, "no resubscription")
	ns.IP("addr", "add", "198.51.100.9/24", "dev", "eth0")
	want := AddrEvent{Index: eth0.Index, Interface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.9/24")}
	if got := nextEvent(t, ch, "address after resubscribing", func(Event) bool { return true }); got != Event(want) {
		t.Fatalf("first event after resubscribing: %+v, want %+v", got, want)
	}
}

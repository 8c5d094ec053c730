package netops_test

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/contract"
	"github.com/vrrpd/vrrpd/vrrp"
)

// pair is two nodes on one LAN, a at .1 / ::1 and b at .2 / ::2.
type pair struct {
	lan  *netnstest.LAN
	a, b *netnstest.NS
}

func newPair(t *testing.T) pair {
	t.Helper()
	netnstest.Require(t)
	lan := netnstest.NewLAN(t)
	return pair{
		lan: lan,
		a:   lan.Node("a", "02:00:00:00:00:0a", "192.0.2.1/24", "2001:db8::1/64"),
		b:   lan.Node("b", "02:00:00:00:00:0b", "192.0.2.2/24", "2001:db8::2/64"),
	}
}

func openIn(t *testing.T, ns *netnstest.NS, ifname string, f vrrp.Family) netops.Socket {
	t.Helper()
	var s netops.Socket
	ns.MustDo(func() (err error) {
		s, err = netops.OpenSocket(ifname, f)
		return err
	})
	t.Cleanup(func() { s.Close() })
	return s
}

type received struct {
	pkt  []byte
	meta vrrp.Meta
}

// reader reads s in the background until the test ends.
func reader(t *testing.T, s netops.Socket) <-chan received {
	ch := make(chan received, 64)
	go func() {
		defer close(ch)
		for {
			b := make([]byte, 1500)
			n, m, err := s.Read(b)
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("read: %v", err)
				}
				return
			}
			ch <- received{b[:n], m}
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan received, timeout time.Duration) (received, bool) {
	t.Helper()
	select {
	case r := <-ch:
		return r, true
	case <-time.After(timeout):
		return received{}, false
	}
}

func advert(t *testing.T, v vrrp.Version, vrid uint8, vips ...string) vrrp.Advertisement {
	t.Helper()
	a := vrrp.Advertisement{Version: v, Type: vrrp.TypeAdvertisement, VRID: vrid, Priority: 100, Interval: time.Second}
	for _, s := range vips {
		a.Addresses = append(a.Addresses, netip.MustParseAddr(s))
	}
	return a
}

func encode(t *testing.T, a vrrp.Advertisement, src, dst netip.Addr) []byte {
	t.Helper()
	b, err := a.Encode(src, dst, vrrp.ChecksumPseudoHeader)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSocketAdvertsCross(t *testing.T) {
	p := newPair(t)
	cases := []struct {
		name     string
		family   vrrp.Family
		version  vrrp.Version
		vip      string
		unicast  bool
		src, dst func() netip.Addr
	}{
		{name: "v2 multicast", family: vrrp.IPv4, version: vrrp.Version2, vip: "192.0.2.100"},
		{name: "v3 IPv4 multicast", family: vrrp.IPv4, version: vrrp.Version3, vip: "192.0.2.100"},
		{name: "v3 IPv6 multicast", family: vrrp.IPv6, version: vrrp.Version3, vip: "2001:db8::100"},
		{name: "v3 IPv4 unicast", family: vrrp.IPv4, version: vrrp.Version3, vip: "192.0.2.100", unicast: true},
		{name: "v3 IPv6 unicast", family: vrrp.IPv6, version: vrrp.Version3, vip: "2001:db8::100", unicast: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sa := openIn(t, p.a, "eth0", c.family)
			sb := openIn(t, p.b, "eth0", c.family)
			rb := reader(t, sb)
			src, dst, self := netip.MustParseAddr("192.0.2.1"), vrrp.GroupIPv4, netip.MustParseAddr("192.0.2.2")
			if c.family == vrrp.IPv6 {
				src, self = p.a.LinkLocal("eth0"), p.b.LinkLocal("eth0")
				dst = vrrp.GroupIPv6
				if c.unicast {
					src, self = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
				}
			}
			if c.unicast {
				dst = self
			}
			adv := advert(t, c.version, 51, c.vip)
			sent := time.Now()
			if err := sa.Write(encode(t, adv, src, dst), src, dst); err != nil {
				t.Fatal(err)
			}
			r, ok := next(t, rb, 2*time.Second)
			if !ok {
				t.Fatal("nothing received")
			}
			if r.meta.Src != src || r.meta.Dst != dst || r.meta.TTL != 255 || r.meta.IfIndex == 0 {
				t.Fatalf("meta %+v, want src %v dst %v ttl 255", r.meta, src, dst)
			}
			// The kernel's receive time, between the send and now; the wall clock and
			// the monotonic one may differ by a few microseconds.
			const slack = 100 * time.Microsecond
			if at := r.meta.Received; at.Before(sent.Add(-slack)) || at.After(time.Now()) {
				t.Fatalf("received at %v, want between the send (%v) and now", at, sent)
			}
			e := vrrp.Expect{Version: c.version, Family: c.family, VRID: 51, Interval: time.Second,
				VIPs: adv.Addresses, Unicast: c.unicast, Source: self}
			if _, err := vrrp.Validate(r.pkt, r.meta, &e); err != nil {
				t.Fatalf("validate: %v", err)
			}
		})
	}
}

// TestSocketTTL64IsDropped sends an advert with TTL 64 from a socket of the test's own;
// the receive path reports the TTL and the validator drops it with reason ttl.
func TestSocketTTL64IsDropped(t *testing.T) {
	p := newPair(t)
	sb := openIn(t, p.b, "eth0", vrrp.IPv4)
	rb := reader(t, sb)
	var c net.PacketConn
	p.a.MustDo(func() (err error) {
		c, err = net.ListenPacket("ip4:112", "192.0.2.1")
		return err
	})
	defer c.Close()
	pc := ipv4.NewPacketConn(c)
	if err := pc.SetMulticastTTL(64); err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddr("192.0.2.1")
	adv := advert(t, vrrp.Version3, 51, "192.0.2.100")
	if _, err := pc.WriteTo(encode(t, adv, src, vrrp.GroupIPv4), nil, &net.IPAddr{IP: vrrp.GroupIPv4.AsSlice()}); err != nil {
		t.Fatal(err)
	}
	r, ok := next(t, rb, 2*time.Second)
	if !ok {
		t.Fatal("nothing received")
	}
	if r.meta.TTL != 64 {
		t.Fatalf("TTL %d, want 64", r.meta.TTL)
	}
	e := vrrp.Expect{Version: vrrp.Version3, Family: vrrp.IPv4, VRID: 51, VIPs: adv.Addresses, Source: netip.MustParseAddr("192.0.2.2")}
	_, err := vrrp.Validate(r.pkt, r.meta, &e)
	var d *vrrp.DiscardError
	if !errors.As(err, &d) || d.Reason != vrrp.ReasonTTL {
		t.Fatalf("validate: %v, want reason ttl", err)
	}
}

// TestSocketOtherInterfaceNotSeen puts b on two LANs; an advert on the second LAN must not
// reach b's socket for eth0, even though b joined the group on both.
func TestSocketOtherInterfaceNotSeen(t *testing.T) {
	p := newPair(t)
	lan2 := netnstest.NewLAN(t)
	lan2.Attach(p.b, "eth1", "")
	p.b.IP("addr", "add", "198.51.100.2/24", "dev", "eth1")
	c := lan2.Node("c", "", "198.51.100.3/24")

	s0 := openIn(t, p.b, "eth0", vrrp.IPv4)
	_ = openIn(t, p.b, "eth1", vrrp.IPv4) // joins the group on eth1 too
	r0 := reader(t, s0)
	sc := openIn(t, c, "eth0", vrrp.IPv4)
	sa := openIn(t, p.a, "eth0", vrrp.IPv4)

	srcC := netip.MustParseAddr("198.51.100.3")
	if err := sc.Write(encode(t, advert(t, vrrp.Version3, 7, "198.51.100.100"), srcC, vrrp.GroupIPv4), srcC, vrrp.GroupIPv4); err != nil {
		t.Fatal(err)
	}
	// Then an advert on eth0, which must be the first and only thing s0 reads.
	srcA := netip.MustParseAddr("192.0.2.1")
	if err := sa.Write(encode(t, advert(t, vrrp.Version3, 8, "192.0.2.100"), srcA, vrrp.GroupIPv4), srcA, vrrp.GroupIPv4); err != nil {
		t.Fatal(err)
	}
	r, ok := next(t, r0, 2*time.Second)
	if !ok {
		t.Fatal("the eth0 advert did not arrive")
	}
	if r.meta.Src != srcA || r.pkt[1] != 8 {
		t.Fatalf("eth0 socket read VRID %d from %v", r.pkt[1], r.meta.Src)
	}
	if r, ok := next(t, r0, 300*time.Millisecond); ok {
		t.Fatalf("eth0 socket also read VRID %d from %v", r.pkt[1], r.meta.Src)
	}
}

func TestSocketContract(t *testing.T) {
	p := newPair(t)
	nodes := map[string]*netnstest.NS{"a": p.a, "b": p.b}
	unicast := map[string]map[vrrp.Family]string{
		"a": {vrrp.IPv4: "192.0.2.1", vrrp.IPv6: "2001:db8::1"},
		"b": {vrrp.IPv4: "192.0.2.2", vrrp.IPv6: "2001:db8::2"},
	}
	contract.Sockets(t, contract.SocketEnv{
		Open: func(t *testing.T, host string, f vrrp.Family) netops.Socket { return openIn(t, nodes[host], "eth0", f) },
		Addr: func(t *testing.T, host string, f vrrp.Family) netip.Addr {
			if f == vrrp.IPv6 {
				return nodes[host].LinkLocal("eth0")
			}
			return netip.MustParseAddr(unicast[host][f])
		},
		Unicast: func(t *testing.T, host string, f vrrp.Family) netip.Addr {
			return netip.MustParseAddr(unicast[host][f])
		},
	})
}

// TestSocketReadAllocatesNothing: a host on the LAN can send adverts at line rate;
// reading one costs no allocation, in either family.
func TestSocketReadAllocatesNothing(t *testing.T) {
	p := newPair(t)
	for _, tc := range []struct {
		family   vrrp.Family
		src, dst netip.Addr
		vip      string
	}{
		{vrrp.IPv4, netip.MustParseAddr("192.0.2.1"), vrrp.GroupIPv4, "192.0.2.100"},
		{vrrp.IPv6, p.a.LinkLocal("eth0"), vrrp.GroupIPv6, "2001:db8::100"},
	} {
		t.Run(tc.family.String(), func(t *testing.T) {
			tx := openIn(t, p.a, "eth0", tc.family)
			rx := openIn(t, p.b, "eth0", tc.family)
			pkt := encode(t, advert(t, vrrp.Version3, 51, tc.vip), tc.src, tc.dst)
			const runs = 50
			for range runs + 1 { // AllocsPerRun runs the function once more to warm up
				if err := tx.Write(pkt, tc.src, tc.dst); err != nil {
					t.Fatal(err)
				}
			}
			buf := make([]byte, 1500)
			var last vrrp.Meta
			allocs := testing.AllocsPerRun(runs, func() {
				n, m, err := rx.Read(buf)
				if err != nil || n != len(pkt) {
					t.Errorf("read %d bytes, %v", n, err)
				}
				last = m
			})
			if allocs != 0 {
				t.Errorf("a read allocates %v times", allocs)
			}
			if last.Src != tc.src || last.Dst != tc.dst || last.TTL != 255 || last.IfIndex == 0 {
				t.Errorf("meta %+v", last)
			}
		})
	}
}

// TestSocketWriteAllocatesNothing: a node with many virtual routers sends thousands of
// adverts a second; sending one costs no allocation.
func TestSocketWriteAllocatesNothing(t *testing.T) {
	p := newPair(t)
	for _, tc := range []struct {
		family   vrrp.Family
		src, dst netip.Addr
		vip      string
	}{
		{vrrp.IPv4, netip.MustParseAddr("192.0.2.1"), vrrp.GroupIPv4, "192.0.2.100"},
		{vrrp.IPv6, p.a.LinkLocal("eth0"), vrrp.GroupIPv6, "2001:db8::100"},
		{vrrp.IPv4, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), "192.0.2.100"},
	} {
		t.Run(tc.family.String()+" to "+tc.dst.String(), func(t *testing.T) {
			tx := openIn(t, p.a, "eth0", tc.family)
			pkt := encode(t, advert(t, vrrp.Version3, 51, tc.vip), tc.src, tc.dst)
			// Measured before the reader starts: AllocsPerRun counts every goroutine's
			// allocations, and the reader allocates a buffer per packet.
			if n := testing.AllocsPerRun(20, func() {
				if err := tx.Write(pkt, tc.src, tc.dst); err != nil {
					t.Error(err)
				}
			}); n != 0 {
				t.Errorf("a write allocates %v times", n)
			}
			rx := reader(t, openIn(t, p.b, "eth0", tc.family))
			if err := tx.Write(pkt, tc.src, tc.dst); err != nil {
				t.Fatal(err)
			}
			got, ok := next(t, rx, 2*time.Second)
			if !ok || got.meta.Src != tc.src || got.meta.Dst != tc.dst || got.meta.TTL != 255 {
				t.Fatalf("received %+v (%v)", got.meta, ok)
			}
		})
	}
}

// TestSocketWriteBatch: a batch of adverts leaves in few system calls, every one of them
// intact, with no allocation.
func TestSocketWriteBatch(t *testing.T) {
	p := newPair(t)
	for _, tc := range []struct {
		family   vrrp.Family
		src, dst netip.Addr
		vip      string
	}{
		{vrrp.IPv4, netip.MustParseAddr("192.0.2.1"), vrrp.GroupIPv4, "192.0.2.100"},
		{vrrp.IPv6, p.a.LinkLocal("eth0"), vrrp.GroupIPv6, "2001:db8::100"},
	} {
		t.Run(tc.family.String(), func(t *testing.T) {
			tx := openIn(t, p.a, "eth0", tc.family)
			const n = 100 // more than one sendmmsg's worth
			var pkts []netops.Outgoing
			for i := range n {
				pkts = append(pkts, netops.Outgoing{Data: encode(t, advert(t, vrrp.Version3, uint8(1+i), tc.vip), tc.src, tc.dst),
					Src: tc.src, Dst: tc.dst})
			}
			bw, ok := tx.(netops.BatchWriter)
			if !ok {
				t.Fatal("the raw socket does not write batches")
			}
			if allocs := testing.AllocsPerRun(1, func() {
				if err := bw.WriteBatch(pkts); err != nil {
					t.Fatal(err)
				}
			}); allocs != 0 { // measured before the reader, which allocates, starts
				t.Errorf("a batch allocates %v times", allocs)
			}
			rx := reader(t, openIn(t, p.b, "eth0", tc.family))
			if err := bw.WriteBatch(pkts); err != nil {
				t.Fatal(err)
			}
			seen := map[uint8]int{}
			for range n {
				got, ok := next(t, rx, 2*time.Second)
				if !ok {
					t.Fatalf("%d of %d adverts received", len(seen), n)
				}
				if got.meta.Src != tc.src || got.meta.Dst != tc.dst || got.meta.TTL != 255 {
					t.Fatalf("meta %+v", got.meta)
				}
				if _, err := vrrp.Validate(got.pkt, got.meta, &vrrp.Expect{Version: vrrp.Version3, Family: tc.family,
					VRID: got.pkt[1], Interval: time.Second, VIPs: []netip.Addr{netip.MustParseAddr(tc.vip)}, Source: netip.MustParseAddr("192.0.2.9")}); err != nil {
					t.Fatalf("advert %d: %v", got.pkt[1], err)
				}
				seen[got.pkt[1]]++
			}
			if len(seen) != n {
				t.Fatalf("%d distinct adverts, want %d", len(seen), n)
			}
		})
	}
}

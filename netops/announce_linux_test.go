package netops

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

const (
	annMACA = "02:00:00:00:00:0a"
	annMACB = "02:00:00:00:00:0b"
)

// annSysctl sets kernel parameters in ns.
func annSysctl(t *testing.T, ns *netnstest.NS, settings ...string) {
	t.Helper()
	for _, s := range settings {
		if out, err := ns.Exec("sysctl", "-qw", s); err != nil {
			t.Fatalf("%s: sysctl %s: %v: %s", ns.Name, s, err, out)
		}
	}
}

// annQuietKernel makes sure that ns's kernel does not announce addresses by itself when
// they are added, so that what the other nodes learn comes from our announcements.
// These are the defaults; they are set in case the host's differ.
func annQuietKernel(t *testing.T, ns *netnstest.NS) {
	t.Helper()
	annSysctl(t, ns, "net.ipv4.conf.eth0.arp_notify=0", "net.ipv6.conf.eth0.ndisc_notify=0")
}

// annClient prepares ns to take neighbour updates from announcements.
//
// Linux ignores an ARP update that comes within locktime (1 s) of the entry's last
// update. Since 4.12 it makes an exception for a request-form GARP, but older kernels
// do not, and the tests move a VIP well within a second of the client learning it. The
// tests set locktime to 0 rather than wait it out, so that they pass or fail on our
// frames alone, whatever the kernel and however slow the machine. The frames' form is
// checked on the wire by TestAnnounceOnTheWire.
//
// drop_unsolicited_na=0 (the default) is set in case the host's default differs: with
// it set, the client would ignore every unsolicited NA. Linux updates existing entries
// from an NA with the Override flag without further settings; the client has an entry
// because it has talked to the VIP.
func annClient(t *testing.T, ns *netnstest.NS) {
	t.Helper()
	annSysctl(t, ns, "net.ipv4.neigh.eth0.locktime=0", "net.ipv6.conf.eth0.drop_unsolicited_na=0")
}

// annAddVIP adds vip to eth0 of ns; IPv6 VIPs without duplicate address detection, as
// the daemon adds them.
func annAddVIP(t *testing.T, ns *netnstest.NS, vip netip.Addr) {
	t.Helper()
	if vip.Is4() {
		ns.IP("addr", "add", vip.String()+"/24", "dev", "eth0")
	} else {
		ns.IP("addr", "add", vip.String()+"/64", "dev", "eth0", "nodad")
	}
}

func annDelVIP(t *testing.T, ns *netnstest.NS, vip netip.Addr) {
	t.Helper()
	bits := 24
	if vip.Is6() {
		bits = 64
	}
	ns.IP("addr", "del", netip.PrefixFrom(vip, bits).String(), "dev", "eth0")
}

// annTouch sends one UDP datagram from ns to addr's discard port, so that ns resolves
// addr and keeps a neighbour entry for it. (A ping would do the same, but ping is not
// among the packages the tests install.)
func annTouch(t *testing.T, ns *netnstest.NS, addr netip.Addr) {
	t.Helper()
	ns.MustDo(func() error {
		c, err := net.Dial("udp", netip.AddrPortFrom(addr, 9).String())
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("vrrpd"))
		return err
	})
}

// annNeighbour returns the link-layer address of ns's neighbour entry for addr on eth0,
// or "" when it has none (or none resolved yet).
func annNeighbour(t *testing.T, ns *netnstest.NS, addr netip.Addr) string {
	t.Helper()
	var entries []struct {
		Dst    netip.Addr `json:"dst"`
		LLAddr string     `json:"lladdr"`
	}
	out := ns.IP("-j", "neigh", "show", "dev", "eth0")
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("ip -j neigh: %v: %s", err, out)
	}
	for _, e := range entries {
		if e.Dst == addr {
			return e.LLAddr
		}
	}
	return ""
}

// annWaitNeighbour waits until ns's neighbour entry for addr says mac.
func annWaitNeighbour(t *testing.T, ns *netnstest.NS, addr netip.Addr, mac string) {
	t.Helper()
	var got string
	netnstest.Eventually(t, 5*time.Second, func() bool {
		got = annNeighbour(t, ns, addr)
		return got == mac
	}, "%s has %v at %q, want %s", ns.Name, addr, annLater(func() string { return got }), mac)
}

// annLater formats as what fn returns when the message is printed, not when the
// arguments are evaluated.
type annLater func() string

func (l annLater) String() string { return l() }

// annNew returns an announcer created in ns, as the daemon creates it in its own; the
// test closes it.
func annNew(t *testing.T, ns *netnstest.NS) *LinuxAnnouncer {
	t.Helper()
	var a *LinuxAnnouncer
	ns.MustDo(func() error {
		a = NewAnnouncer()
		return nil
	})
	t.Cleanup(func() { a.Close() })
	return a
}

// annSend runs Announce on a thread in ns: the interface is looked up there, and
// sockets are opened there on first use.
func annSend(ns *netnstest.NS, a *LinuxAnnouncer, vips []netip.Addr, count int, reply bool) error {
	return ns.Do(func() error { return a.Announce("eth0", vips, count, reply) })
}

// annListen opens an AF_PACKET socket on eth0 of ns that reads the frames of one
// EtherType.
func annListen(t *testing.T, ns *netnstest.NS, et ethernet.EtherType) *packet.Conn {
	t.Helper()
	var c *packet.Conn
	ns.MustDo(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, int(et), nil)
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// annRead reads frames from c until it has want frames that keep accepts, then makes
// sure that no further one comes within 200 ms.
func annRead(t *testing.T, c *packet.Conn, want int, keep func(f []byte) bool) [][]byte {
	t.Helper()
	got := annCollect(t, c, want, keep)
	if len(got) < want {
		t.Fatalf("%d frames after 5s, want %d", len(got), want)
	}
	if len(got) > want {
		t.Fatalf("a frame beyond the %d expected: % x", want, got[want])
	}
	return got
}

// annCollect reads frames from c until it has want frames that keep accepts, or for
// 5 s at most, then for 200 ms more; it returns every frame that keep accepted, which
// may be fewer or more than want.
func annCollect(t *testing.T, c *packet.Conn, want int, keep func(f []byte) bool) [][]byte {
	t.Helper()
	buf := make([]byte, 2048)
	read := func(until time.Time) ([]byte, bool) {
		if err := c.SetReadDeadline(until); err != nil {
			t.Fatal(err)
		}
		for {
			n, _, err := c.ReadFrom(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, false
			}
			if err != nil {
				t.Fatal(err)
			}
			if keep(buf[:n]) {
				return slices.Clone(buf[:n]), true
			}
		}
	}
	var got [][]byte
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < want {
		f, ok := read(deadline)
		if !ok {
			break
		}
		got = append(got, f)
	}
	for beyond := time.Now().Add(200 * time.Millisecond); ; {
		f, ok := read(beyond)
		if !ok {
			return got
		}
		got = append(got, f)
	}
}

// annFrom accepts the frames of EtherType et sent by mac.
func annFrom(mac net.HardwareAddr, et ethernet.EtherType) func([]byte) bool {
	return func(f []byte) bool {
		return len(f) >= 14 && bytes.Equal(f[6:12], mac) && binary.BigEndian.Uint16(f[12:]) == uint16(et)
	}
}

// TestAnnounceMovesVIP moves a VIP from A to B, as a failover does, and checks that one
// announcement from B makes client C send to B's MAC address.
func TestAnnounceMovesVIP(t *testing.T) {
	netnstest.Require(t)
	lan := netnstest.NewLAN(t)
	a := lan.Node("a", annMACA, "192.0.2.1/24", "2001:db8::1/64")
	b := lan.Node("b", annMACB, "192.0.2.2/24", "2001:db8::2/64")
	c := lan.Node("c", "", "192.0.2.3/24", "2001:db8::3/64")
	annQuietKernel(t, a)
	annQuietKernel(t, b)
	annClient(t, c)
	ann := annNew(t, b)
	for _, s := range []string{"192.0.2.100", "2001:db8::100"} {
		vip := netip.MustParseAddr(s)
		t.Run(s, func(t *testing.T) {
			annAddVIP(t, a, vip)
			annTouch(t, c, vip)
			annWaitNeighbour(t, c, vip, annMACA)

			annDelVIP(t, a, vip)
			annAddVIP(t, b, vip)
			if got := annNeighbour(t, c, vip); got != annMACA {
				t.Fatalf("C has %v at %q before any announcement; the test cannot tell what moved it", vip, got)
			}
			if err := annSend(b, ann, []netip.Addr{vip}, 1, false); err != nil {
				t.Fatal(err)
			}
			annWaitNeighbour(t, c, vip, annMACB)
		})
	}
}

// TestAnnounceOnTheWire reads in C what B sends for two IPv4 and two IPv6 VIPs, in a
// burst of 3 with the reply form on. B has the MAC address of the keepalived captures,
// so that frames and messages can be compared byte for byte with keepalived's.
func TestAnnounceOnTheWire(t *testing.T) {
	netnstest.Require(t)
	v4 := []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")}
	v6 := []netip.Addr{netip.MustParseAddr("fe80::100"), netip.MustParseAddr("2001:db8::100")}
	const count = 3
	for _, router := range []bool{false, true} {
		t.Run(fmt.Sprintf("forwarding=%t", router), func(t *testing.T) {
			lan := netnstest.NewLAN(t)
			b := lan.Node("b", keepalivedMAC.String(), "192.0.2.2/24", "2001:db8::2/64")
			c := lan.Node("c", "", "192.0.2.3/24", "2001:db8::3/64")
			annQuietKernel(t, b)
			fwd := "0"
			if router {
				fwd = "1"
			}
			annSysctl(t, b, "net.ipv6.conf.eth0.forwarding="+fwd)
			vips := slices.Concat(v4, v6)
			for _, vip := range vips {
				annAddVIP(t, b, vip)
			}
			arps := annListen(t, c, ethernet.EtherTypeARP)
			ip6s := annListen(t, c, ethernet.EtherTypeIPv6)

			if err := annSend(b, annNew(t, b), vips, count, true); err != nil {
				t.Fatal(err)
			}

			got := map[string]int{}
			for _, f := range annRead(t, arps, count*2*len(v4), annFrom(keepalivedMAC, ethernet.EtherTypeARP)) {
				var p arp.Packet
				if err := p.UnmarshalBinary(f[14:]); err != nil {
					t.Fatal(err)
				}
				// A veth does not pad frames: what C reads is what B wrote.
				want, err := garpFrame(p.Operation, keepalivedMAC, p.SenderIP)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(f, want) || !slices.Contains(v4, p.SenderIP) {
					t.Fatalf("frame % x, want % x for a VIP", f, want)
				}
				if p.Operation == arp.OperationRequest && p.SenderIP == v4[0] && !bytes.Equal(f, keepalivedGARP(t)) {
					t.Fatalf("GARP % x, keepalived's % x", f, keepalivedGARP(t))
				}
				got[fmt.Sprint(p.Operation, " ", p.SenderIP)]++
			}
			for _, vip := range v4 {
				for _, op := range []arp.Operation{arp.OperationRequest, arp.OperationReply} {
					if n := got[fmt.Sprint(op, " ", vip)]; n != count {
						t.Errorf("%d %v for %v, want %d", n, op, vip, count)
					}
				}
			}

			isNA := func(f []byte) bool {
				return annFrom(keepalivedMAC, ethernet.EtherTypeIPv6)(f) && len(f) > 14+40 && f[14+6] == 58 && f[14+40] == 136
			}
			clear(got)
			for _, f := range annRead(t, ip6s, count*len(v6), isNA) {
				hdr, msg := f[14:14+40], f[14+40:]
				src, dst := netip.AddrFrom16([16]byte(hdr[8:24])), netip.AddrFrom16([16]byte(hdr[24:40]))
				if !bytes.Equal(f[:6], []byte{0x33, 0x33, 0, 0, 0, 1}) || dst != netip.IPv6LinkLocalAllNodes() || hdr[7] != 255 {
					t.Fatalf("NA to %v (Ethernet %x) with hop limit %d, want ff02::1, 255", dst, f[:6], hdr[7])
				}
				want, err := naMessage(keepalivedMAC, src, router)
				if err != nil {
					t.Fatal(err)
				}
				binary.BigEndian.PutUint16(want[2:], icmpv6Checksum(src, dst, want))
				if !bytes.Equal(msg, want) || !slices.Contains(v6, src) {
					t.Fatalf("NA from %v: % x, want % x from a VIP", src, msg, want)
				}
				m, err := ndp.ParseMessage(msg)
				if err != nil {
					t.Fatal(err)
				}
				na, ok := m.(*ndp.NeighborAdvertisement)
				if !ok || na.TargetAddress != src || na.Router != router || !na.Override || na.Solicited {
					t.Fatalf("NA from %v: %+v, want target = source, Router %t, Override", src, m, router)
				}
				if ka, _ := keepalivedNA(t, src); !router && !bytes.Equal(msg, ka) {
					t.Fatalf("NA from %v: % x, keepalived's % x", src, msg, ka)
				}
				got[src.String()]++
			}
			for _, vip := range v6 {
				if n := got[vip.String()]; n != count {
					t.Errorf("%d NAs for %v, want %d", n, vip, count)
				}
			}
		})
	}
}

// TestAnnounceAfterInterfaceRecreated deletes B's interface and creates it again under
// the same name, with a new index and a new MAC address, as happens to VLANs; the
// announcer that served the old one must serve the new one.
func TestAnnounceAfterInterfaceRecreated(t *testing.T) {
	netnstest.Require(t)
	lan := netnstest.NewLAN(t)
	b := lan.Node("b", annMACB, "192.0.2.2/24", "2001:db8::2/64")
	c := lan.Node("c", "", "192.0.2.3/24", "2001:db8::3/64")
	annQuietKernel(t, b)
	annClient(t, c)
	vips := []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")}
	for _, vip := range vips {
		annAddVIP(t, b, vip)
		annTouch(t, c, vip)
		annWaitNeighbour(t, c, vip, annMACB)
	}
	index := func() int {
		var i int
		b.MustDo(func() error {
			ifi, err := net.InterfaceByName("eth0")
			if ifi != nil {
				i = ifi.Index
			}
			return err
		})
		return i
	}
	ann := annNew(t, b)
	if err := annSend(b, ann, vips, 1, false); err != nil {
		t.Fatal(err)
	}
	before := index()

	const newMAC = "02:00:00:00:01:0b"
	b.IP("link", "del", "eth0")
	lan.Attach(b, "eth0", newMAC)
	annQuietKernel(t, b)
	for _, vip := range vips {
		annAddVIP(t, b, vip)
	}
	if after := index(); after == before {
		t.Fatalf("eth0 has index %d again; the test needs a new one", after)
	}

	if err := annSend(b, ann, vips, 1, false); err != nil {
		t.Fatalf("after eth0 was recreated: %v", err)
	}
	for _, vip := range vips {
		annWaitNeighbour(t, c, vip, newMAC)
	}
}

// TestAnnounceAfterLinkDownUp: a link that went down and up leaves its packet socket an
// error to report (ENETDOWN); the next burst still goes out, every VIP of it.
func TestAnnounceAfterLinkDownUp(t *testing.T) {
	netnstest.Require(t)
	lan := netnstest.NewLAN(t)
	b := lan.Node("b", annMACB, "192.0.2.2/24")
	c := lan.Node("c", "", "192.0.2.3/24")
	annQuietKernel(t, b)
	vip := netip.MustParseAddr("192.0.2.100")
	annAddVIP(t, b, vip)
	ann := annNew(t, b)
	if err := annSend(b, ann, []netip.Addr{vip}, 1, false); err != nil {
		t.Fatal(err)
	}
	b.IP("link", "set", "eth0", "down")
	b.IP("link", "set", "eth0", "up")
	// Until the carrier is back the kernel drops frames without a word, as it would
	// for vrrpd, which announces only once the link is running.
	netnstest.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(b.IP("-br", "link", "show", "eth0"), "LOWER_UP")
	}, "eth0 of b has no carrier after it went up")
	capture := annListen(t, c, ethernet.EtherTypeARP)
	if err := annSend(b, ann, []netip.Addr{vip}, 2, false); err != nil {
		t.Fatalf("after eth0 went down and up: %v", err)
	}
	macB, _ := net.ParseMAC(annMACB)
	if got := annRead(t, capture, 2, annFrom(macB, ethernet.EtherTypeARP)); len(got) != 2 {
		t.Fatalf("%d gratuitous ARPs on the wire, want 2", len(got))
	}
}

// TestAnnounceErrors checks that a VIP that cannot be announced is reported once and
// does not stop the others, and the errors of a missing interface and of Close.
func TestAnnounceErrors(t *testing.T) {
	netnstest.Require(t)
	lan := netnstest.NewLAN(t)
	b := lan.Node("b", annMACB, "192.0.2.2/24", "2001:db8::2/64")
	c := lan.Node("c", "", "192.0.2.3/24")
	annQuietKernel(t, b)
	v4 := netip.MustParseAddr("192.0.2.100")
	annAddVIP(t, b, v4)
	arps := annListen(t, c, ethernet.EtherTypeARP)
	ann := annNew(t, b)

	if err := b.Do(func() error { return ann.Announce("vrrpd-none0", []netip.Addr{v4}, 1, false) }); err == nil {
		t.Fatal("announce on a missing interface: no error")
	}

	// 2001:db8::100 is not on B: the kernel refuses it as a source address.
	missing := netip.MustParseAddr("2001:db8::100")
	err := annSend(b, ann, []netip.Addr{missing, v4}, 2, false)
	if !errors.Is(err, unix.EINVAL) {
		t.Fatalf("err %v, want EINVAL for %v", err, missing)
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 1 {
		t.Fatalf("err %v, want one error, for %v only", err, missing)
	}
	annRead(t, arps, 2, annFrom(net.HardwareAddr{2, 0, 0, 0, 0, 0x0b}, ethernet.EtherTypeARP))

	if err := ann.Close(); err != nil {
		t.Fatal(err)
	}
	if err := annSend(b, ann, []netip.Addr{v4}, 1, false); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("after Close: %v, want net.ErrClosed", err)
	}
}

// The helpers that announcecontract_linux_test.go shares. It is in package netops_test,
// because netops/contract imports netops.
const AnnMACB = annMACB

var (
	AnnQuietKernel = annQuietKernel
	AnnAddVIP      = annAddVIP
	AnnDelVIP      = annDelVIP
	AnnNew         = annNew
	AnnListen      = annListen
	AnnCollect     = annCollect
	AnnFrom        = annFrom
)

package netops

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mdlayher/arp"

	"github.com/vrrpd/vrrpd/internal/pcapfile"
)

// annBurst is a burst as the test saw it: when, since the schedule began, and how many
// per VIP.
type annBurst struct {
	at    time.Duration
	count int
}

// runSchedule takes the bursts of a schedule of cfg, on a virtual clock that jumps to
// each burst's time plus late, until n were taken or none is left.
func runSchedule(t *testing.T, cfg AnnounceConfig, n int, late time.Duration) []annBurst {
	t.Helper()
	start := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	s := NewAnnounceSchedule(cfg, start)
	var got []annBurst
	for len(got) < n {
		due, ok := s.Due()
		if !ok {
			break
		}
		if _, _, ok := s.Take(due.Add(-time.Nanosecond)); ok {
			t.Fatalf("a burst taken before it was due (%v)", due.Sub(start))
		}
		count, kind, ok := s.Take(due.Add(late))
		if !ok || kind == "" {
			t.Fatalf("the burst due at %v not taken", due.Sub(start))
		}
		got = append(got, annBurst{due.Sub(start), count})
	}
	return got
}

func TestAnnounceSchedule(t *testing.T) {
	s := time.Second
	cases := []struct {
		name string
		cfg  AnnounceConfig
		n    int // bursts the test takes at most
		want []annBurst
	}{
		{name: "keepalived defaults", cfg: DefaultAnnounceConfig(), n: 10,
			want: []annBurst{{0, 5}, {5 * s, 5}}},
		{name: "vrrp_min_garp: one burst of one", cfg: AnnounceConfig{Repeat: 1}, n: 10,
			want: []annBurst{{0, 1}}},
		{name: "refresh without delay", cfg: AnnounceConfig{Repeat: 5, Refresh: 30 * s, RefreshRepeat: 1}, n: 3,
			want: []annBurst{{0, 5}, {30 * s, 1}, {60 * s, 1}}},
		{name: "delay then refresh", cfg: AnnounceConfig{Repeat: 5, Delay: 5 * s, Refresh: 60 * s, RefreshRepeat: 2}, n: 4,
			want: []annBurst{{0, 5}, {5 * s, 5}, {60 * s, 2}, {120 * s, 2}}},
		{name: "refreshes counted from the first burst, around the delayed one",
			cfg: AnnounceConfig{Repeat: 3, Delay: 10 * s, Refresh: 4 * s, RefreshRepeat: 1}, n: 5,
			want: []annBurst{{0, 3}, {4 * s, 1}, {8 * s, 1}, {10 * s, 3}, {12 * s, 1}}},
		{name: "delay on a refresh: both", cfg: AnnounceConfig{Repeat: 5, Delay: 10 * s, Refresh: 5 * s, RefreshRepeat: 1}, n: 5,
			want: []annBurst{{0, 5}, {5 * s, 1}, {10 * s, 5}, {10 * s, 1}, {15 * s, 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, late := range []time.Duration{0, 300 * time.Millisecond} {
				// A burst taken late does not move the ones after it.
				if got := runSchedule(t, c.cfg, c.n, late); !slices.Equal(got, c.want) {
					t.Fatalf("taken %v late: bursts %v, want %v", late, got, c.want)
				}
			}
		})
	}
}

func TestDefaultAnnounceConfig(t *testing.T) {
	want := AnnounceConfig{Repeat: 5, Delay: 5 * time.Second, Refresh: 0, RefreshRepeat: 1, Reply: false}
	if got := DefaultAnnounceConfig(); got != want {
		t.Fatalf("%+v, want keepalived's %+v", got, want)
	}
}

// keepalivedMAC is the MAC address of the node in the keepalived captures.
var keepalivedMAC = net.HardwareAddr{0x02, 0x76, 0x6c, 0x00, 0x01, 0x00}

// keepalivedGARP returns the first ARP frame of keepalived-v3.pcap: keepalived's
// gratuitous ARP for 192.0.2.100.
func keepalivedGARP(t *testing.T) []byte {
	t.Helper()
	frames, err := pcapfile.Read("testdata/keepalived-v3.pcap")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if len(f) >= 14 && binary.BigEndian.Uint16(f[12:]) == 0x0806 {
			return f
		}
	}
	t.Fatal("no ARP frame in keepalived-v3.pcap")
	return nil
}

// keepalivedNA returns the ICMPv6 message of keepalived's first neighbour advertisement
// for vip in keepalived-v3-ipv6.pcap, and the IPv6 packet that carried it.
func keepalivedNA(t *testing.T, vip netip.Addr) ([]byte, pcapfile.Packet) {
	t.Helper()
	pkts, err := pcapfile.IPPackets("testdata/keepalived-v3-ipv6.pcap")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if p.Protocol == 58 && len(p.Payload) > 0 && p.Payload[0] == 136 && p.Src == vip {
			return p.Payload, p
		}
	}
	t.Fatalf("no neighbour advertisement from %v in keepalived-v3-ipv6.pcap", vip)
	return nil, pcapfile.Packet{}
}

func TestGARPFrameMatchesKeepalived(t *testing.T) {
	want := keepalivedGARP(t)
	vip := netip.MustParseAddr("192.0.2.100")
	got, err := garpFrame(arp.OperationRequest, keepalivedMAC, vip)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("request form\n got % x\nwant % x", got, want)
	}
	// The reply form differs from the request form in the operation only: keepalived
	// sends no replies to compare with.
	wantReply := slices.Clone(want)
	binary.BigEndian.PutUint16(wantReply[20:], uint16(arp.OperationReply))
	got, err = garpFrame(arp.OperationReply, keepalivedMAC, vip)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantReply) {
		t.Fatalf("reply form\n got % x\nwant % x", got, wantReply)
	}
}

func TestGARPFrameRejectsIPv6(t *testing.T) {
	if _, err := garpFrame(arp.OperationRequest, keepalivedMAC, netip.MustParseAddr("2001:db8::100")); !errors.Is(err, arp.ErrInvalidIP) {
		t.Fatalf("err %v, want arp.ErrInvalidIP", err)
	}
}

// TestNAMessageMatchesKeepalived compares the message we hand the kernel with
// keepalived's on the wire, checksum included: the kernel computes it, so the test
// computes it the same way (RFC 4443, 2.3) from the addresses of the captured packet.
func TestNAMessageMatchesKeepalived(t *testing.T) {
	for _, s := range []string{"fe80::100", "2001:db8::100"} {
		t.Run(s, func(t *testing.T) {
			vip := netip.MustParseAddr(s)
			want, pkt := keepalivedNA(t, vip)
			if pkt.Dst != netip.IPv6LinkLocalAllNodes() || pkt.TTL != 255 {
				t.Fatalf("captured NA to %v hop limit %d; the capture is not what the test expects", pkt.Dst, pkt.TTL)
			}
			got, err := naMessage(keepalivedMAC, vip, false)
			if err != nil {
				t.Fatal(err)
			}
			if got[2] != 0 || got[3] != 0 {
				t.Fatalf("checksum % x, want zero for the kernel to fill in", got[2:4])
			}
			binary.BigEndian.PutUint16(got[2:], icmpv6Checksum(vip, pkt.Dst, got))
			if !bytes.Equal(got, want) {
				t.Fatalf("\n got % x\nwant % x", got, want)
			}
		})
	}
}

func TestNAMessageRouterFlag(t *testing.T) {
	vip := netip.MustParseAddr("2001:db8::100")
	host, err := naMessage(keepalivedMAC, vip, false)
	if err != nil {
		t.Fatal(err)
	}
	router, err := naMessage(keepalivedMAC, vip, true)
	if err != nil {
		t.Fatal(err)
	}
	// R is the top bit of the flags byte, after type, code and checksum.
	want := slices.Clone(host)
	want[4] |= 0x80
	if !bytes.Equal(router, want) {
		t.Fatalf("router NA % x, want % x", router, want)
	}
}

// icmpv6Checksum is the ICMPv6 checksum of msg, whose own checksum field is zero, sent
// from src to dst.
func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var b []byte
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(msg)))
	b = append(b, 0, 0, 0, 58)
	b = append(b, msg...)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

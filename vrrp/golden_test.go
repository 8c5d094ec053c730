package vrrp

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/pcapfile"
)

// goldenInstance describes one instance of the keepalived configs behind the captures.
type goldenInstance struct {
	expect Expect
	form   ChecksumForm
	prios  []uint8 // priorities seen, in order of first appearance
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// TestGoldenKeepalived decodes every advert captured from keepalived 2.2.7, runs the
// receive checks on it as a peer instance would, and encodes it back byte for byte,
// both as decoded and with the checksum recomputed.
func TestGoldenKeepalived(t *testing.T) {
	tests := []struct {
		file      string
		instances map[uint8]goldenInstance
		adverts   int
	}{
		{
			file: "keepalived-v3.pcap",
			instances: map[uint8]goldenInstance{51: {
				expect: Expect{Version: Version3, Family: IPv4, VRID: 51, Interval: time.Second, VIPs: addrs("192.0.2.100"), Source: netip.MustParseAddr("192.0.2.2")},
				prios:  []uint8{150, 0},
			}},
			adverts: 4,
		},
		{
			file: "keepalived-v2.pcap",
			instances: map[uint8]goldenInstance{51: {
				expect: Expect{Version: Version2, Family: IPv4, VRID: 51, Interval: time.Second, VIPs: addrs("192.0.2.100"), Source: netip.MustParseAddr("192.0.2.2")},
				prios:  []uint8{150, 0},
			}},
			adverts: 4,
		},
		{
			file: "keepalived-v3-ipv6.pcap",
			instances: map[uint8]goldenInstance{51: {
				expect: Expect{Version: Version3, Family: IPv6, VRID: 51, Interval: time.Second, VIPs: addrs("2001:db8::100", "fe80::100"), Source: netip.MustParseAddr("fe80::2")},
				prios:  []uint8{150},
			}},
			adverts: 2,
		},
		{
			file: "keepalived-unicast-v3-and-v2-pass.pcap",
			instances: map[uint8]goldenInstance{
				61: {
					expect: Expect{Version: Version3, Family: IPv4, VRID: 61, Interval: 500 * time.Millisecond, VIPs: addrs("192.0.2.161"),
						Unicast: true, Source: netip.MustParseAddr("192.0.2.12"), Peers: addrs("192.0.2.11")},
					prios: []uint8{120, 0},
				},
				64: {
					expect: Expect{Version: Version3, Family: IPv6, VRID: 64, Interval: 500 * time.Millisecond, VIPs: addrs("2001:db8::164"),
						Unicast: true, Source: netip.MustParseAddr("2001:db8::12"), Peers: addrs("2001:db8::11")},
					prios: []uint8{120, 0},
				},
				62: {
					expect: Expect{Version: Version2, Family: IPv4, VRID: 62, Interval: time.Second, VIPs: addrs("192.0.2.163", "192.0.2.162"),
						AuthType: AuthSimple, AuthData: AuthPassword("secret99"), Source: netip.MustParseAddr("192.0.2.12")},
					prios: []uint8{130, 0},
				},
			},
			adverts: 29,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			pkts, err := pcapfile.IPPackets(filepath.Join("testdata", "keepalived", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[uint8][]uint8{}
			n := 0
			for _, p := range pkts {
				if p.Protocol != IPProtocol {
					continue
				}
				n++
				if p.TOS != 0xc0 {
					t.Errorf("keepalived sent TOS %#x, the notes say 0xc0", p.TOS)
				}
				inst, ok := tt.instances[p.Payload[1]]
				if !ok {
					t.Fatalf("advert for unexpected VRID %d", p.Payload[1])
				}
				m := Meta{Src: p.Src, Dst: p.Dst, TTL: p.TTL}
				got, err := Validate(p.Payload, m, &inst.expect)
				if err != nil {
					t.Fatalf("VRID %d from %v: %v", inst.expect.VRID, p.Src, err)
				}
				if got.Form != inst.form {
					t.Errorf("VRID %d: checksum form %v, want %v", inst.expect.VRID, got.Form, inst.form)
				}
				if !slices.Contains(seen[got.VRID], got.Priority) {
					seen[got.VRID] = append(seen[got.VRID], got.Priority)
				}
				if got.Interval != inst.expect.Interval {
					t.Errorf("VRID %d: interval %v, want %v", got.VRID, got.Interval, inst.expect.Interval)
				}

				b, err := got.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, p.Payload) {
					t.Errorf("VRID %d: re-encoded\n%x\nwant\n%x", got.VRID, b, p.Payload)
				}
				sealed, err := got.Encode(p.Src, p.Dst, inst.form)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(sealed, p.Payload) {
					t.Errorf("VRID %d: encoded with a computed checksum\n%x\nwant\n%x", got.VRID, sealed, p.Payload)
				}
				var u Advertisement
				if err := u.UnmarshalBinary(p.Payload); err != nil {
					t.Fatal(err)
				}
				if u.Family() != inst.expect.Family {
					t.Errorf("VRID %d: UnmarshalBinary inferred %v, want %v", got.VRID, u.Family(), inst.expect.Family)
				}
			}
			if tt.adverts > 0 && n != tt.adverts {
				t.Errorf("%d adverts in the capture, want %d", n, tt.adverts)
			}
			for vrid, inst := range tt.instances {
				if !slices.Equal(seen[vrid], inst.prios) {
					t.Errorf("VRID %d: priorities %v, want %v", vrid, seen[vrid], inst.prios)
				}
			}
		})
	}
}

// TestKeepalivedUnicastHopLimit checks the note that keepalived sends IPv6 unicast adverts
// with hop limit 64, which a unicast instance must accept and a multicast one refuse.
func TestKeepalivedUnicastHopLimit(t *testing.T) {
	pkts, err := pcapfile.IPPackets(filepath.Join("testdata", "keepalived", "keepalived-unicast-v3-and-v2-pass.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if p.Protocol != IPProtocol || p.Payload[1] != 64 {
			continue
		}
		if p.TTL != 64 {
			t.Fatalf("hop limit %d in the capture, want 64", p.TTL)
		}
		e := Expect{Version: Version3, Family: IPv6, VRID: 64, VIPs: addrs("2001:db8::164"), Unicast: true, Source: p.Dst}
		if _, err := Validate(p.Payload, Meta{Src: p.Src, Dst: p.Dst, TTL: p.TTL}, &e); err != nil {
			t.Fatalf("unicast: %v", err)
		}
		e.Unicast = false
		_, err := Validate(p.Payload, Meta{Src: p.Src, Dst: p.Dst, TTL: p.TTL}, &e)
		if reasonOf(err) != ReasonTTL {
			t.Fatalf("multicast instance: got %v, want reason ttl", err)
		}
		return
	}
	t.Fatal("no VRID 64 advert in the capture")
}

package vrrp

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/pcapfile"
)

// addSeeds adds every advert captured from keepalived, and a CARP advert, to f.
func addSeeds(f *testing.F, add func(pkt []byte, v6 bool)) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "keepalived", "*.pcap"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no captures: %v", err)
	}
	for _, file := range files {
		pkts, err := pcapfile.IPPackets(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range pkts {
			if p.Protocol == IPProtocol {
				add(p.Payload, p.Src.Is6())
			}
		}
	}
	add(carpAdvert(51), false)
}

// roundTrip checks that an advert that decoded encodes and decodes to the same thing.
func roundTrip(t *testing.T, a Advertisement, f Family) {
	b, err := a.MarshalBinary()
	if err != nil {
		// Only the family can make a decoded advert unencodable: none here.
		t.Fatalf("decoded advert does not encode: %v (%+v)", err, a)
	}
	again, err := Parse(b, f)
	if err != nil {
		t.Fatalf("encoded advert does not decode: %v", err)
	}
	b2, err := again.MarshalBinary()
	if err != nil || !bytes.Equal(b, b2) {
		t.Fatalf("unstable round trip: %x then %x (%v)", b, b2, err)
	}
}

func FuzzParse(f *testing.F) {
	addSeeds(f, func(pkt []byte, v6 bool) { f.Add(pkt, v6) })
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		fam := IPv4
		if v6 {
			fam = IPv6
		}
		a, err := Parse(b, fam)
		if err != nil {
			return
		}
		roundTrip(t, a, fam)
	})
}

func FuzzUnmarshalBinary(f *testing.F) {
	addSeeds(f, func(pkt []byte, _ bool) { f.Add(pkt) })
	f.Fuzz(func(t *testing.T, b []byte) {
		var a Advertisement
		if err := a.UnmarshalBinary(b); err != nil {
			return
		}
		roundTrip(t, a, a.Family())
		var again Advertisement
		enc, _ := a.MarshalBinary()
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded advert does not unmarshal: %v", err)
		}
	})
}

// FuzzValidate feeds arbitrary packets to the receive checks of a VRRPv3 IPv4 instance
// and a VRRPv2 instance: they must never panic, and whatever they accept re-encodes to
// the bytes received (but for the reserved bits).
func FuzzValidate(f *testing.F) {
	addSeeds(f, func(pkt []byte, v6 bool) { f.Add(pkt, uint8(255), v6) })
	f.Fuzz(func(t *testing.T, b []byte, ttl uint8, v6 bool) {
		expects := []Expect{
			{Version: Version3, Family: IPv4, VRID: 51, Interval: time.Second, VIPs: addrs("192.0.2.100"), Source: netip.MustParseAddr("192.0.2.2")},
			{Version: Version2, Family: IPv4, VRID: 62, Interval: time.Second, VIPs: addrs("192.0.2.162", "192.0.2.163"),
				AuthType: AuthSimple, AuthData: AuthPassword("secret99"), Source: netip.MustParseAddr("192.0.2.12")},
		}
		m := Meta{Src: netip.MustParseAddr("192.0.2.1"), Dst: GroupIPv4, TTL: int(ttl)}
		if v6 {
			expects = []Expect{{Version: Version3, Family: IPv6, VRID: 51, Interval: time.Second, VIPs: addrs("2001:db8::100", "fe80::100"), Source: netip.MustParseAddr("fe80::2")}}
			m = Meta{Src: netip.MustParseAddr("fe80::76:6cff:fe00:100"), Dst: GroupIPv6, TTL: int(ttl)}
		}
		for _, e := range expects {
			got, err := Validate(b, m, &e)
			if err != nil {
				if reasonOf(err) == NumReasons {
					t.Fatalf("error without a reason: %v", err)
				}
				continue
			}
			enc, err := got.MarshalBinary()
			want := bytes.Clone(b[:min(len(b), len(enc))])
			if got.Version == Version3 {
				want[4] &= 0x0f // reserved bits are ignored on receive and sent as 0
			}
			if err != nil || !bytes.Equal(enc, want) {
				t.Fatalf("accepted %x re-encodes to %x (%v)", b, enc, err)
			}
		}
	})
}

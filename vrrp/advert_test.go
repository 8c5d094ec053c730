package vrrp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChecksumVector is the vector of the protocol notes: the message-only value matches
// keepalived's own unit test.
func TestChecksumVector(t *testing.T) {
	a := Advertisement{Version: Version3, Type: 1, VRID: 51, Priority: 200, Interval: time.Second,
		Addresses: addrs("192.0.2.100")}
	b, err := a.Encode(netip.MustParseAddr("192.0.2.1"), GroupIPv4, ChecksumMessageOnly)
	if err != nil {
		t.Fatal(err)
	}
	if want := mustHex(t, "3133c80100644402c0000264"); !bytes.Equal(b, want) {
		t.Fatalf("got %x, want %x", b, want)
	}
}

func TestEncodeDecode(t *testing.T) {
	tests := []struct {
		name string
		adv  Advertisement
		hex  string
	}{
		{
			name: "v2 no auth",
			adv:  Advertisement{Version: Version2, Type: 1, VRID: 51, Priority: 150, Interval: time.Second, Checksum: 0xbeef, Addresses: addrs("192.0.2.100")},
			hex:  "21339601" + "0001" + "beef" + "c0000264" + "0000000000000000",
		},
		{
			name: "v2 password truncated to 8",
			adv: Advertisement{Version: Version2, Type: 1, VRID: 62, Priority: 130, Interval: 3 * time.Second, Addresses: addrs("192.0.2.162"),
				AuthType: AuthSimple, AuthData: AuthPassword("secret99andmore")},
			hex: "213e8201" + "0103" + "0000" + "c00002a2" + hex.EncodeToString([]byte("secret99")),
		},
		{
			name: "v3 IPv4 40.95 s",
			adv:  Advertisement{Version: Version3, Type: 1, VRID: 1, Priority: 255, Interval: MaxInterval3, Addresses: addrs("192.0.2.1", "192.0.2.2")},
			hex:  "3101ff02" + "0fff" + "0000" + "c0000201c0000202",
		},
		{
			name: "v3 IPv6 10 ms",
			adv:  Advertisement{Version: Version3, Type: 1, VRID: 255, Priority: 1, Interval: 10 * time.Millisecond, Addresses: addrs("2001:db8::1")},
			hex:  "31ff0101" + "0001" + "0000" + "20010db8000000000000000000000001",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.adv.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if want := mustHex(t, tt.hex); !bytes.Equal(b, want) {
				t.Fatalf("encoded %x, want %x", b, want)
			}
			var got Advertisement
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			again, _ := got.MarshalBinary()
			if !bytes.Equal(again, b) {
				t.Fatalf("round trip %x, want %x", again, b)
			}
			if got.Interval != tt.adv.Interval || got.Priority != tt.adv.Priority || got.AuthData != tt.adv.AuthData {
				t.Fatalf("decoded %+v, want %+v", got, tt.adv)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	tests := []struct {
		name string
		adv  Advertisement
		want error
	}{
		{"version 4", Advertisement{Version: 4, Addresses: addrs("192.0.2.1")}, ErrVersion},
		{"v2 sub-second", Advertisement{Version: Version2, Interval: 1500 * time.Millisecond, Addresses: addrs("192.0.2.1")}, ErrInterval},
		{"v3 5 ms", Advertisement{Version: Version3, Interval: 5 * time.Millisecond, Addresses: addrs("192.0.2.1")}, ErrInterval},
		{"v3 41 s", Advertisement{Version: Version3, Interval: 41 * time.Second, Addresses: addrs("192.0.2.1")}, ErrInterval},
		{"v2 IPv6", Advertisement{Version: Version2, Interval: time.Second, Addresses: addrs("2001:db8::1")}, ErrFamily},
		{"mixed families", Advertisement{Version: Version3, Interval: time.Second, Addresses: addrs("192.0.2.1", "2001:db8::1")}, ErrFamily},
		{"256 addresses", Advertisement{Version: Version3, Interval: time.Second, Addresses: make([]netip.Addr, 256)}, ErrCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.adv.MarshalBinary(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		fam  Family
		want error
	}{
		{"empty", "", IPv4, ErrShort},
		{"header only, one address", "31330101" + "0064" + "0000", IPv4, ErrShort},
		{"IPv6 address cut", "31330101" + "0064" + "0000" + "20010db8", IPv6, ErrShort},
		{"v2 without auth bytes", "21330101" + "0001" + "0000" + "c0000264", IPv4, ErrShort},
		{"version 1", "11330101" + "0001" + "0000" + "c0000264", IPv4, ErrVersion},
		{"v2 over IPv6", "21330101" + "0001" + "0000" + "20010db8000000000000000000000001" + "0000000000000000", IPv6, ErrFamily},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(mustHex(t, tt.hex), tt.fam); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeIgnoresReservedBitsAndTrailer(t *testing.T) {
	b := mustHex(t, "31330101"+"f064"+"0000"+"c0000264"+"00000000")
	a, err := Parse(b, IPv4)
	if err != nil {
		t.Fatal(err)
	}
	if a.Interval != time.Second || len(a.Addresses) != 1 {
		t.Fatalf("decoded %+v", a)
	}
}

// carpAdvert builds a CARP advertisement (OpenBSD carp(4)): protocol 112 and version 2
// like VRRPv2, then vhid, advskew, authlen 7, demote, advbase, checksum, an 8-byte
// counter and a 20-byte HMAC: 36 bytes.
func carpAdvert(vhid uint8) []byte {
	b := make([]byte, 36)
	b[0] = 0x21
	b[1] = vhid
	b[2] = 0   // advskew
	b[3] = 7   // authlen in 32-bit words
	b[5] = 1   // advbase
	b[8] = 0x5 // counter
	for i := 16; i < 36; i++ {
		b[i] = byte(i * 7)
	}
	c := ^fold(onesSum(0, b))
	b[6], b[7] = byte(c>>8), byte(c)
	return b
}

func TestCARPIsRejected(t *testing.T) {
	pkt := carpAdvert(51)
	e := Expect{Version: Version2, Family: IPv4, VRID: 51, Interval: time.Second, VIPs: addrs("192.0.2.100"), Source: netip.MustParseAddr("192.0.2.2")}
	_, err := Validate(pkt, Meta{Src: netip.MustParseAddr("192.0.2.1"), Dst: GroupIPv4, TTL: 255}, &e)
	if reasonOf(err) != ReasonLength {
		t.Fatalf("CARP advert: got %v, want reason length", err)
	}
	// Even an instance that happened to expect 7 addresses refuses it: its checksum
	// covers 36 bytes, not the 44 a VRRPv2 advert with 7 addresses has.
	var a Advertisement
	if err := a.UnmarshalBinary(pkt); !errors.Is(err, ErrShort) {
		t.Fatalf("UnmarshalBinary: got %v, want ErrShort", err)
	}
}

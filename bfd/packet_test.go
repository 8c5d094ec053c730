package bfd

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"
)

// frrDown is a first packet with FRR bfdd's default timers: Down, no diagnostic, Detect Mult 3,
// my discriminator 1, yours 0, 300 ms / 300 ms / echo 50 ms.
const frrDown = "204003180000000100000000000493e0000493e00000c350"

func TestParse(t *testing.T) {
	good, err := hex.DecodeString(frrDown)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	want := ControlPacket{Version: 1, State: Down, DetectMult: 3, Length: 24, MyDiscriminator: 1,
		DesiredMinTxInterval: 300 * time.Millisecond, RequiredMinRxInterval: 300 * time.Millisecond,
		RequiredMinEchoRxInterval: 50 * time.Millisecond}
	if p != want {
		t.Fatalf("Parse = %+v, want %+v", p, want)
	}

	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, c := range []struct {
		name string
		pkt  []byte
		ok   bool
	}{
		{"as sent", good, true},
		{"trailing bytes beyond the length field", append(bytes.Clone(good), 0, 0), true},
		{"Up with your discriminator", edit(func(b []byte) []byte { b[1] = 0xc0; b[11] = 7; return b }), true},
		{"short", good[:23], false},
		{"version 0", edit(func(b []byte) []byte { b[0] &= 0x1f; return b }), false},
		{"version 2", edit(func(b []byte) []byte { b[0] = 2<<5 | b[0]&0x1f; return b }), false},
		{"length field below 24", edit(func(b []byte) []byte { b[3] = 23; return b }), false},
		{"length field beyond the packet", edit(func(b []byte) []byte { b[3] = 25; return b }), false},
		{"detect mult 0", edit(func(b []byte) []byte { b[2] = 0; return b }), false},
		{"multipoint", edit(func(b []byte) []byte { b[1] |= 0x01; return b }), false},
		{"my discriminator 0", edit(func(b []byte) []byte { b[7] = 0; return b }), false},
		{"your discriminator 0 in Init", edit(func(b []byte) []byte { b[1] = 0x80; return b }), false},
		{"your discriminator 0 in Up", edit(func(b []byte) []byte { b[1] = 0xc0; return b }), false},
		{"your discriminator 0 in AdminDown", edit(func(b []byte) []byte { b[1] = 0x00; return b }), true},
		{"authentication without any configured", edit(func(b []byte) []byte {
			b[1] |= 0x04
			b[3] = 33
			return append(b, 1, 9, 1, 'p', 'a', 's', 's', 'w', 'd')
		}), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.pkt)
			if c.ok && err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !c.ok && !errors.Is(err, ErrDiscard) {
				t.Fatalf("Parse = %v, want an error wrapping ErrDiscard", err)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, p := range []ControlPacket{
		{State: Down, DetectMult: 3, MyDiscriminator: 1, DesiredMinTxInterval: time.Second, RequiredMinRxInterval: 10 * time.Millisecond},
		{Diag: DiagControlDetectionTimeExpired, State: Up, Poll: true, DetectMult: 5, MyDiscriminator: 0xdeadbeef, YourDiscriminator: 42,
			DesiredMinTxInterval: 300 * time.Millisecond, RequiredMinRxInterval: 1500 * time.Microsecond},
		{Diag: DiagAdministrativelyDown, State: AdminDown, Final: true, ControlPlaneIndependent: true, Demand: true, DetectMult: 1, MyDiscriminator: 9},
	} {
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		q, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(%x): %v", b, err)
		}
		p.Version, p.Length = Version, HeaderLen
		if q != p {
			t.Errorf("round trip: %+v, want %+v", q, p)
		}
	}
	want, _ := hex.DecodeString(frrDown)
	b, _ := ControlPacket{State: Down, DetectMult: 3, MyDiscriminator: 1, DesiredMinTxInterval: 300 * time.Millisecond,
		RequiredMinRxInterval: 300 * time.Millisecond, RequiredMinEchoRxInterval: 50 * time.Millisecond}.MarshalBinary()
	if !bytes.Equal(b, want) {
		t.Errorf("MarshalBinary = %x, want %x", b, want)
	}
}

func TestMarshalRefuses(t *testing.T) {
	for _, p := range []ControlPacket{{Diag: 32, DetectMult: 1, MyDiscriminator: 1}, {State: 4, DetectMult: 1, MyDiscriminator: 1}, {Version: 8}} {
		if _, err := p.MarshalBinary(); err == nil {
			t.Errorf("MarshalBinary(%+v) succeeded", p)
		}
	}
	b, _ := ControlPacket{DesiredMinTxInterval: 2 * time.Hour, MyDiscriminator: 1, DetectMult: 1}.MarshalBinary()
	if p, _ := Parse(b); p.DesiredMinTxInterval != (1<<32-1)*time.Microsecond {
		t.Errorf("2h sent as %v, want the largest interval", p.DesiredMinTxInterval)
	}
}

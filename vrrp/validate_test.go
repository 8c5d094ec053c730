package vrrp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// reasonOf returns the discard reason of err, or NumReasons when err is not a discard.
func reasonOf(err error) Reason {
	var d *DiscardError
	if errors.As(err, &d) {
		return d.Reason
	}
	return NumReasons
}

func TestValidate(t *testing.T) {
	peer := netip.MustParseAddr("192.0.2.2")
	self := netip.MustParseAddr("192.0.2.1")
	base := func() (Advertisement, Meta, Expect) {
		return Advertisement{Version: Version3, Type: 1, VRID: 51, Priority: 100, Interval: time.Second, Addresses: addrs("192.0.2.100", "192.0.2.101")},
			Meta{Src: peer, Dst: GroupIPv4, TTL: 255, IfIndex: 3},
			Expect{Version: Version3, Family: IPv4, VRID: 51, IfIndex: 3, Interval: time.Second, VIPs: addrs("192.0.2.101", "192.0.2.100"), Source: self}
	}
	v2 := func(a *Advertisement, e *Expect) {
		a.Version, e.Version = Version2, Version2
		a.AuthType, e.AuthType = AuthSimple, AuthSimple
		a.AuthData, e.AuthData = AuthPassword("secret99"), AuthPassword("secret99")
	}
	tests := []struct {
		name   string
		mutate func(a *Advertisement, m *Meta, e *Expect)
		raw    func(b []byte) []byte // applied after encoding
		want   Reason                // NumReasons: accepted
		form   ChecksumForm
		detail string
		sumDst netip.Addr // destination the sender summed, when not the packet's
	}{
		{name: "accepted", want: NumReasons},
		{name: "accepted message-only checksum", want: NumReasons, form: ChecksumMessageOnly},
		{name: "v2 accepted", want: NumReasons, mutate: func(a *Advertisement, m *Meta, e *Expect) { v2(a, e) }},
		{name: "truncated", want: ReasonLength, raw: func(b []byte) []byte { return b[:len(b)-1] }},
		{name: "ttl 64 multicast", want: ReasonTTL, detail: "ttl 64, expected 255",
			mutate: func(a *Advertisement, m *Meta, e *Expect) { m.TTL = 64 }},
		{name: "ttl 64 unicast is fine", want: NumReasons,
			mutate: func(a *Advertisement, m *Meta, e *Expect) {
				m.TTL, m.Dst, e.Unicast = 64, self, true
			}},
		{name: "other interface", want: ReasonInterface,
			mutate: func(a *Advertisement, m *Meta, e *Expect) { m.IfIndex = 4 }},
		{name: "own group", want: NumReasons, mutate: func(a *Advertisement, m *Meta, e *Expect) {
			m.Dst, e.Group = netip.MustParseAddr("224.0.0.118"), netip.MustParseAddr("224.0.0.118")
		}},
		{name: "the RFC's group with a group of its own", want: ReasonDestination, detail: "sent to 224.0.0.18, expected the group 224.0.0.118",
			mutate: func(a *Advertisement, m *Meta, e *Expect) { e.Group = netip.MustParseAddr("224.0.0.118") }},
		{name: "other vrid", want: ReasonVRID, mutate: func(a *Advertisement, m *Meta, e *Expect) { a.VRID = 52 }},
		{name: "v2 advert to a v3 instance", want: ReasonVersion, detail: "version 2, expected 3",
			mutate: func(a *Advertisement, m *Meta, e *Expect) { v2(a, e); e.Version = Version3 }},
		{name: "v3 advert to a v2 instance", want: ReasonVersion, detail: "version 3, expected 2",
			mutate: func(a *Advertisement, m *Meta, e *Expect) { v2(a, e); a.Version = Version3 }},
		{name: "v2 wrong password", want: ReasonAuth, detail: "wrong password",
			mutate: func(a *Advertisement, m *Meta, e *Expect) { v2(a, e); a.AuthData = AuthPassword("secret98") }},
		{name: "v2 password ninth character ignored", want: NumReasons,
			mutate: func(a *Advertisement, m *Meta, e *Expect) {
				v2(a, e)
				a.AuthData, e.AuthData = AuthPassword("secret99X"), AuthPassword("secret99Y")
			}},
		{name: "v2 auth type", want: ReasonAuth,
			mutate: func(a *Advertisement, m *Meta, e *Expect) { v2(a, e); a.AuthType = AuthNone }},
		{name: "v2 interval", want: ReasonInterval, detail: "advert interval 2s, expected 1s",
			mutate: func(a *Advertisement, m *Meta, e *Expect) { v2(a, e); a.Interval = 2 * time.Second }},
		{name: "v3 other interval is fine", want: NumReasons,
			mutate: func(a *Advertisement, m *Meta, e *Expect) { a.Interval = 3 * time.Second }},
		{name: "interval 0", want: ReasonIntervalZero, mutate: func(a *Advertisement, m *Meta, e *Expect) { a.Interval = 0 }},
		{name: "type 2", want: ReasonType, mutate: func(a *Advertisement, m *Meta, e *Expect) { a.Type = 2 }},
		{name: "count 0", want: ReasonCountZero, mutate: func(a *Advertisement, m *Meta, e *Expect) { a.Addresses = nil }},
		{name: "count 1", want: ReasonAddressCount, detail: "1 addresses, expected 2",
			mutate: func(a *Advertisement, m *Meta, e *Expect) { a.Addresses = a.Addresses[:1] }},
		{name: "bad checksum", want: ReasonChecksum, raw: func(b []byte) []byte { b[7] ^= 1; return b }},
		{name: "pseudo-header for another destination", want: ReasonChecksum,
			mutate: func(a *Advertisement, m *Meta, e *Expect) { m.Dst = netip.MustParseAddr("224.0.0.19") },
			sumDst: GroupIPv4},
		{name: "unicast instance gets multicast", want: ReasonDestination,
			mutate: func(a *Advertisement, m *Meta, e *Expect) { e.Unicast = true }},
		{name: "unicast to another local address", want: ReasonDestination,
			mutate: func(a *Advertisement, m *Meta, e *Expect) {
				e.Unicast = true
				m.Dst = netip.MustParseAddr("192.0.2.9")
			}},
		{name: "multicast instance gets unicast", want: ReasonDestination,
			mutate: func(a *Advertisement, m *Meta, e *Expect) { m.Dst = self }},
		{name: "looped back", want: ReasonLocalSource, mutate: func(a *Advertisement, m *Meta, e *Expect) { m.Src = self }},
		{name: "unicast from a stranger", want: ReasonSource,
			mutate: func(a *Advertisement, m *Meta, e *Expect) {
				e.Unicast, m.Dst, e.Peers = true, self, addrs("192.0.2.3")
			}},
		{name: "other VIP", want: ReasonAddressList, detail: "192.0.2.101 missing from [192.0.2.100 192.0.2.102]",
			mutate: func(a *Advertisement, m *Meta, e *Expect) { a.Addresses = addrs("192.0.2.100", "192.0.2.102") }},
		{name: "other VIPs, many", want: ReasonAddressList, detail: "192.0.2.101 missing from [192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6 192.0.2.7 192.0.2.8] (and 2 more)",
			mutate: func(a *Advertisement, m *Meta, e *Expect) {
				a.Addresses = addrs("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6", "192.0.2.7", "192.0.2.8", "192.0.2.9", "192.0.2.10")
				e.VIPs = addrs("192.0.2.101", "192.0.2.102", "192.0.2.103", "192.0.2.104", "192.0.2.105", "192.0.2.106", "192.0.2.107", "192.0.2.108", "192.0.2.109", "192.0.2.110")
			}},
		{name: "truncated header", want: ReasonLength, detail: "3 bytes, a header needs 8", raw: func(b []byte) []byte { return b[:3] }},
		{name: "truncated addresses", want: ReasonLength, detail: "15 bytes, 2 addresses need 16", raw: func(b []byte) []byte { return b[:15] }},
		{name: "unicast to another local address, detail", want: ReasonDestination, detail: "sent to 192.0.2.9, expected unicast to 192.0.2.1",
			mutate: func(a *Advertisement, m *Meta, e *Expect) {
				e.Unicast = true
				m.Dst = netip.MustParseAddr("192.0.2.9")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, m, e := base()
			if tt.mutate != nil {
				tt.mutate(&a, &m, &e)
			}
			dst := m.Dst
			if tt.sumDst.IsValid() {
				dst = tt.sumDst
			}
			b, err := a.Encode(m.Src, dst, tt.form)
			if err != nil {
				t.Fatal(err)
			}
			if tt.raw != nil {
				b = tt.raw(b)
			}
			got, err := Validate(b, m, &e)
			if r := reasonOf(err); r != tt.want {
				t.Fatalf("got %v (reason %v), want reason %v", err, r, tt.want)
			}
			if tt.detail != "" && !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("detail %q does not say %q", err, tt.detail)
			}
			if tt.want == NumReasons && a.Version == Version3 && got.Form != tt.form {
				t.Errorf("form %v, want %v", got.Form, tt.form)
			}
			// Any host on the LAN can make us drop packets at line rate: that must cost
			// no allocation.
			if tt.want != NumReasons {
				if n := testing.AllocsPerRun(20, func() { validate(b, m, &e) }); n != 0 {
					t.Errorf("dropping it allocates %v times", n)
				}
			}
		})
	}
}

func TestValidateIPv6LinkLocalFirst(t *testing.T) {
	src := netip.MustParseAddr("fe80::1")
	e := Expect{Version: Version3, Family: IPv6, VRID: 9, VIPs: addrs("2001:db8::9", "fe80::9"), Source: netip.MustParseAddr("fe80::2")}
	for _, first := range []string{"fe80::9", "2001:db8::9"} {
		other := "2001:db8::9"
		if first == other {
			other = "fe80::9"
		}
		a := Advertisement{Version: Version3, Type: 1, VRID: 9, Priority: 100, Interval: time.Second, Addresses: addrs(first, other)}
		b, err := a.Encode(src, GroupIPv6, ChecksumPseudoHeader)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Validate(b, Meta{Src: src, Dst: GroupIPv6, TTL: 255}, &e)
		if err != nil {
			t.Fatal(err)
		}
		if want := first == "fe80::9"; got.LinkLocalFirst != want {
			t.Errorf("first %s: LinkLocalFirst %v, want %v", first, got.LinkLocalFirst, want)
		}
	}
	// IPv6 has no message-only form: a checksum without the pseudo-header is refused.
	a := Advertisement{Version: Version3, Type: 1, VRID: 9, Priority: 100, Interval: time.Second, Addresses: addrs("2001:db8::9", "fe80::9")}
	b, _ := a.MarshalBinary()
	c := Checksum(b, ChecksumMessageOnly, netip.MustParseAddr("192.0.2.1"), GroupIPv4) // message only
	b[6], b[7] = byte(c>>8), byte(c)
	if _, err := Validate(b, Meta{Src: src, Dst: GroupIPv6, TTL: 255}, &e); reasonOf(err) != ReasonChecksum {
		t.Fatalf("message-only IPv6 checksum: got %v, want reason checksum", err)
	}
}

func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := range NumReasons {
		s := r.String()
		if s == "" || seen[s] || strings.HasPrefix(s, "reason ") {
			t.Errorf("reason %d has name %q", r, s)
		}
		seen[s] = true
	}
}

package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

// Benchmarks for `make bench`: the per-advert costs on the receive and send paths, and
// a simulated minute of a busy three-router network.

func benchAdvert() (Advertisement, netip.Addr) {
	return Advertisement{Version: Version3, Type: TypeAdvertisement, VRID: 51, Priority: 150,
		Interval: 10 * time.Millisecond, Addresses: addrs("192.0.2.100", "192.0.2.101")}, netip.MustParseAddr("192.0.2.1")
}

func BenchmarkEncode(b *testing.B) {
	a, src := benchAdvert()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Encode(src, GroupIPv4, ChecksumPseudoHeader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	a, src := benchAdvert()
	pkt, _ := a.Encode(src, GroupIPv4, ChecksumPseudoHeader)
	e := Expect{Version: Version3, Family: IPv4, VRID: 51, VIPs: a.Addresses, Source: netip.MustParseAddr("192.0.2.2")}
	m := Meta{Src: src, Dst: GroupIPv4, TTL: 255}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Validate(pkt, m, &e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBackupReceive is the work a backup does for each advert of its master.
func BenchmarkBackupReceive(b *testing.B) {
	a, src := benchAdvert()
	pkt, _ := a.Encode(src, GroupIPv4, ChecksumPseudoHeader)
	clock := &fakeClock{now: epoch}
	r, err := NewRouter(Config{VRID: 51, Version: Version3, Priority: 100, AdvertInterval: 10 * time.Millisecond,
		Preempt: true, Address: netip.MustParseAddr("192.0.2.2"), VIPs: a.Addresses}, clock)
	if err != nil {
		b.Fatal(err)
	}
	r.Handle(Startup{})
	ev := AdvertReceived{Packet: pkt, Meta: Meta{Src: src, Dst: GroupIPv4, TTL: 255}}
	b.ReportAllocs()
	for b.Loop() {
		clock.now = clock.now.Add(10 * time.Millisecond)
		r.Handle(ev)
	}
	if r.State() != Backup {
		b.Fatalf("router is %v", r.State())
	}
}

// BenchmarkSimulatedMinute runs three routers at 10 ms adverts for one simulated
// minute: about 6,000 adverts sent and 12,000 received.
func BenchmarkSimulatedMinute(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s := newSim(b, 1)
		for i, p := range []uint8{100, 200, 150} {
			s.add(string(rune('a'+i)), with(node(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String(), p),
				func(c *Config) { c.AdvertInterval = 10 * time.Millisecond }))
		}
		for _, n := range s.nodes {
			s.start(n)
		}
		s.run(time.Minute)
	}
}

// BenchmarkMasterDrops is the work a master does for each junk packet a host on the LAN
// floods it with: no allocation.
func BenchmarkMasterDrops(b *testing.B) {
	a, src := benchAdvert()
	pkt, _ := a.Encode(src, GroupIPv4, ChecksumPseudoHeader)
	pkt[7] ^= 1 // a wrong checksum, the last check before the address list
	clock := &fakeClock{now: epoch}
	r, err := NewRouter(Config{VRID: 51, Version: Version3, Priority: 255, AdvertInterval: 10 * time.Millisecond,
		Address: netip.MustParseAddr("192.0.2.2"), VIPs: a.Addresses}, clock)
	if err != nil {
		b.Fatal(err)
	}
	r.Handle(Startup{})
	m := Meta{Src: src, Dst: GroupIPv4, TTL: 255}
	b.ReportAllocs()
	for b.Loop() {
		r.Receive(pkt, m)
	}
	if r.Dropped() == 0 || r.LastDrop().Reason != ReasonChecksum {
		b.Fatalf("last drop %+v", r.LastDrop())
	}
}

func TestRouterDropAllocatesNothing(t *testing.T) {
	if n := testing.Benchmark(BenchmarkMasterDrops).AllocsPerOp(); n != 0 {
		t.Fatalf("a dropped packet costs %d allocations", n)
	}
}

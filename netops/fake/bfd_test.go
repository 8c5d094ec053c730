package fake_test

import (
	"net/netip"
	"testing"

	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/contract"
	"github.com/vrrpd/vrrpd/netops/fake"
	"github.com/vrrpd/vrrpd/vrrp"
)

func TestBFDContract(t *testing.T) {
	seg := fake.NewSegment()
	addrs := map[string][]netip.Addr{
		"a": {netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")},
		"b": {netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::2")},
	}
	hosts := map[string]*fake.Host{}
	for name, as := range addrs {
		hosts[name] = fake.NewHost(name)
		hosts[name].Attach("eth0", seg, as...)
	}
	addr := func(_ *testing.T, host string, f vrrp.Family) netip.Addr {
		if f == vrrp.IPv6 {
			return addrs[host][1]
		}
		return addrs[host][0]
	}
	contract.BFD(t, contract.BFDEnv{
		Sockets: func(_ *testing.T, host string) netops.BFDSockets { return hosts[host] },
		Addr:    addr,
		SendTTL: func(t *testing.T, host string, dst netip.Addr, pkt []byte, ttl int) {
			seg.SetTTL(ttl)
			defer seg.SetTTL(0)
			s, err := hosts[host].DialBFD(addr(t, host, vrrp.FamilyOf(dst)), dst, "")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Write(pkt); err != nil {
				t.Fatal(err)
			}
		},
	})
}

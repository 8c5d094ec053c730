package fake_test

import (
	"net/netip"
	"testing"

	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/contract"
	"github.com/vrrpd/vrrpd/netops/fake"
	"github.com/vrrpd/vrrpd/vrrp"
)

func TestSocketContract(t *testing.T) {
	seg := fake.NewSegment()
	addrs := map[string][]netip.Addr{
		"a": {netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("fe80::a"), netip.MustParseAddr("2001:db8::1")},
		"b": {netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("fe80::b"), netip.MustParseAddr("2001:db8::2")},
	}
	hosts := map[string]*fake.Host{}
	for name, as := range addrs {
		hosts[name] = fake.NewHost(name)
		hosts[name].Attach("eth0", seg, as...)
	}
	pick := func(host string, f vrrp.Family, i int) netip.Addr {
		if f == vrrp.IPv6 {
			return addrs[host][i]
		}
		return addrs[host][0]
	}
	contract.Sockets(t, contract.SocketEnv{
		Open: func(t *testing.T, host string, f vrrp.Family) netops.Socket {
			s, err := hosts[host].Open("eth0", f)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		Addr:    func(t *testing.T, host string, f vrrp.Family) netip.Addr { return pick(host, f, 1) },
		Unicast: func(t *testing.T, host string, f vrrp.Family) netip.Addr { return pick(host, f, 2) },
	})
}

package fake

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/contract"
)

// TestAddressesContract runs the contract that netops.VIPManager also passes.
func TestAddressesContract(t *testing.T) {
	contract.Addresses(t, func(t *testing.T) contract.AddressesEnv {
		a := NewAddresses()
		a.AddInterface("eth0", contract.NodeV4, contract.NodeV6)
		return contract.AddressesEnv{Addrs: a, Has: func(addr netip.Addr) bool { return a.Has("eth0", addr) }}
	})
}

func TestAddressesVIPsAndHas(t *testing.T) {
	a := NewAddresses()
	a.AddInterface("eth0", netip.MustParsePrefix("192.0.2.1/24"))
	a.AddInterface("eth1")
	v6 := netops.VIP{Prefix: netip.MustParsePrefix("2001:db8::100/64"), Interface: "eth0"}
	v4 := netops.VIP{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0", Label: "eth0:vip"}
	other := netops.VIP{Prefix: netip.MustParsePrefix("198.51.100.100/32"), Interface: "eth1"}
	for _, v := range []netops.VIP{v6, v4, other} {
		if err := a.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := a.VIPs("eth0"), []netops.VIP{v4, v6}; !reflect.DeepEqual(got, want) {
		t.Fatalf("VIPs(eth0) = %v, want %v (node addresses excluded, in address order)", got, want)
	}
	if got := a.VIPs("nosuch0"); got != nil {
		t.Fatalf("VIPs of a missing interface: %v", got)
	}
	for _, c := range []struct {
		ifname string
		addr   string
		want   bool
	}{
		{"eth0", "192.0.2.1", true},
		{"eth0", "192.0.2.100", true},
		{"eth1", "192.0.2.100", false},
		{"eth1", "198.51.100.100", true},
		{"nosuch0", "192.0.2.1", false},
	} {
		if got := a.Has(c.ifname, netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Has(%s, %s) = %v, want %v", c.ifname, c.addr, got, c.want)
		}
	}
}

// TestAddressesSeedLater: a node address seeded on an interface that exists already
// is protected from then on.
func TestAddressesSeedLater(t *testing.T) {
	a := NewAddresses()
	a.AddInterface("eth0")
	a.AddInterface("eth0", netip.MustParsePrefix("2001:db8::1/64"))
	v := netops.VIP{Prefix: netip.MustParsePrefix("2001:db8::1/128"), Interface: "eth0"}
	if err := a.Add(v); !errors.Is(err, netops.ErrNodeAddress) {
		t.Fatalf("Add of a node address: %v, want ErrNodeAddress", err)
	}
}

package contract

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/vrrpd/vrrpd/netops"
)

// AddressesEnv is a fresh netops.Addresses whose interface eth0 carries the node
// addresses NodeV4 and NodeV6, and no other address of those subnets.
type AddressesEnv struct {
	Addrs netops.Addresses
	// Has reports whether addr is on eth0, seen independently of Addrs: the kernel's
	// view for the VIPManager.
	Has func(addr netip.Addr) bool
}

// The node addresses an AddressesEnv seeds on eth0.
var (
	NodeV4 = netip.MustParsePrefix("192.0.2.1/24")
	NodeV6 = netip.MustParsePrefix("2001:db8::1/64")
)

// vipFamily is what a case needs of one address family.
type vipFamily struct {
	name string
	vip  netops.VIP   // a VIP in the node's subnet
	more []netops.VIP // other VIPs, for concurrent use
	node netip.Prefix // the node's own address on eth0
}

func vipFamilies() []vipFamily {
	v4 := vipFamily{name: "IPv4", node: NodeV4,
		vip: netops.VIP{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0", Label: "eth0:vip"}}
	v6 := vipFamily{name: "IPv6", node: NodeV6,
		vip: netops.VIP{Prefix: netip.MustParsePrefix("2001:db8::100/64"), Interface: "eth0"}}
	for i := range 8 {
		v4.more = append(v4.more, netops.VIP{Prefix: netip.MustParsePrefix(fmt.Sprintf("198.51.100.%d/32", 10+i)), Interface: "eth0"})
		v6.more = append(v6.more, netops.VIP{Prefix: netip.MustParsePrefix(fmt.Sprintf("2001:db8:1::%d/128", 10+i)), Interface: "eth0"})
	}
	return []vipFamily{v4, v6}
}

// vipCheck fails t unless Present and the independent view both say present.
func vipCheck(t *testing.T, e AddressesEnv, v netops.VIP, present bool) {
	t.Helper()
	got, err := e.Addrs.Present(v)
	if err != nil {
		t.Fatalf("Present(%v): %v", v, err)
	}
	if got != present || e.Has(v.Prefix.Addr()) != present {
		t.Fatalf("%v: Present %v, on the interface %v; want %v", v, got, e.Has(v.Prefix.Addr()), present)
	}
}

func vipMust(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

type vipCase struct {
	name string
	run  func(t *testing.T, e AddressesEnv, f vipFamily)
}

func vipCases() []vipCase {
	return []vipCase{
		{"add makes present, remove absent", func(t *testing.T, e AddressesEnv, f vipFamily) {
			vipCheck(t, e, f.vip, false)
			vipMust(t, "Add", e.Addrs.Add(f.vip))
			vipCheck(t, e, f.vip, true)
			vipMust(t, "Remove", e.Addrs.Remove(f.vip))
			vipCheck(t, e, f.vip, false)
		}},
		{"add is idempotent", func(t *testing.T, e AddressesEnv, f vipFamily) {
			vipMust(t, "Add", e.Addrs.Add(f.vip))
			vipMust(t, "second Add", e.Addrs.Add(f.vip))
			vipCheck(t, e, f.vip, true)
			// One Remove takes it away: it was not added twice.
			vipMust(t, "Remove", e.Addrs.Remove(f.vip))
			vipCheck(t, e, f.vip, false)
		}},
		{"remove is idempotent", func(t *testing.T, e AddressesEnv, f vipFamily) {
			vipMust(t, "Remove of a VIP never added", e.Addrs.Remove(f.vip))
			vipMust(t, "Add", e.Addrs.Add(f.vip))
			vipMust(t, "Remove", e.Addrs.Remove(f.vip))
			vipMust(t, "second Remove", e.Addrs.Remove(f.vip))
			vipCheck(t, e, f.vip, false)
		}},
		{"remove never removes a node address", func(t *testing.T, e AddressesEnv, f vipFamily) {
			v := netops.VIP{Prefix: f.node, Interface: "eth0"}
			if err := e.Addrs.Remove(v); !errors.Is(err, netops.ErrNodeAddress) {
				t.Fatalf("Remove of the node address: %v, want ErrNodeAddress", err)
			}
			vipCheck(t, e, v, true)
		}},
		{"add of a node address fails and leaves it", func(t *testing.T, e AddressesEnv, f vipFamily) {
			for _, p := range []netip.Prefix{f.node, netip.PrefixFrom(f.node.Addr(), f.node.Addr().BitLen())} {
				v := netops.VIP{Prefix: p, Interface: "eth0"}
				if err := e.Addrs.Add(v); !errors.Is(err, netops.ErrNodeAddress) {
					t.Fatalf("Add(%v): %v, want ErrNodeAddress", v, err)
				}
				if err := e.Addrs.Remove(v); !errors.Is(err, netops.ErrNodeAddress) {
					t.Fatalf("Remove(%v) after a failed Add: %v, want ErrNodeAddress", v, err)
				}
				vipCheck(t, e, v, true)
			}
		}},
		{"removing a VIP leaves the node address", func(t *testing.T, e AddressesEnv, f vipFamily) {
			vipMust(t, "Add", e.Addrs.Add(f.vip))
			vipMust(t, "Remove", e.Addrs.Remove(f.vip))
			vipCheck(t, e, netops.VIP{Prefix: f.node, Interface: "eth0"}, true)
		}},
		{"unknown interface", func(t *testing.T, e AddressesEnv, f vipFamily) {
			v := f.vip
			v.Interface, v.Label = "nosuch0", ""
			if err := e.Addrs.Add(v); !errors.Is(err, netops.ErrNoInterface) {
				t.Fatalf("Add: %v, want ErrNoInterface", err)
			}
			if _, err := e.Addrs.Present(v); !errors.Is(err, netops.ErrNoInterface) {
				t.Fatalf("Present: %v, want ErrNoInterface", err)
			}
			vipMust(t, "Remove", e.Addrs.Remove(v))
		}},
		{"invalid VIPs", func(t *testing.T, e AddressesEnv, f vipFamily) {
			bad := []netops.VIP{
				{Interface: "eth0"},
				{Prefix: f.vip.Prefix},
				{Prefix: f.vip.Prefix, Interface: "eth0", Label: "lan0:vip"},
				{Prefix: f.vip.Prefix, Interface: "eth0", Label: "eth0:much-too-long"},
			}
			if f.vip.Prefix.Addr().Is6() {
				bad = append(bad, netops.VIP{Prefix: f.vip.Prefix, Interface: "eth0", Label: "eth0:vip"})
			} else {
				mapped := netip.AddrFrom16(f.vip.Prefix.Addr().As16())
				bad = append(bad, netops.VIP{Prefix: netip.PrefixFrom(mapped, 120), Interface: "eth0"})
			}
			for _, v := range bad {
				if err := e.Addrs.Add(v); err == nil {
					t.Errorf("Add(%+v) succeeded", v)
				}
				if err := e.Addrs.Remove(v); err == nil {
					t.Errorf("Remove(%+v) succeeded", v)
				}
			}
		}},
		{"concurrent use", func(t *testing.T, e AddressesEnv, f vipFamily) {
			var wg sync.WaitGroup
			errs := make(chan error, 4*len(f.more))
			for _, v := range f.more {
				wg.Go(func() {
					errs <- e.Addrs.Add(v)
					errs <- e.Addrs.Add(v)
				})
			}
			wg.Wait()
			for _, v := range f.more {
				vipCheck(t, e, v, true)
				wg.Go(func() { errs <- e.Addrs.Remove(v) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				vipMust(t, "concurrent Add or Remove", err)
			}
			for _, v := range f.more {
				vipCheck(t, e, v, false)
			}
		}},
	}
}

// Addresses runs the netops.Addresses contract, IPv4 and IPv6, each case on a fresh
// environment from newEnv: adding and removing are idempotent, Present agrees with the
// interface, a node address is never added or removed as a VIP (ErrNodeAddress), an
// unknown interface is ErrNoInterface, invalid VIPs are refused, and concurrent use is
// safe.
func Addresses(t *testing.T, newEnv func(t *testing.T) AddressesEnv) {
	for _, f := range vipFamilies() {
		for _, c := range vipCases() {
			t.Run(f.name+"/"+c.name, func(t *testing.T) { c.run(t, newEnv(t), f) })
		}
	}
}

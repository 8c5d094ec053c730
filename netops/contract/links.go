package contract

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/vrrpd/vrrpd/netops"
)

// LinkInfo is what the kernel says of an interface.
type LinkInfo struct {
	Kind, Parent, Alias string
	MAC                 net.HardwareAddr
	Up                  bool
	Addrs               []netip.Addr
}

// LinksEnv is a fresh netops.Links of a node with the interface eth0, whose
// arp_ignore, arp_filter and arp_announce are 0, and ways to see its kernel from
// outside it.
type LinksEnv struct {
	Links netops.Links
	// Link returns what the kernel has of name, false when there is no such interface.
	Link func(name string) (LinkInfo, bool)
	// Sysctl reads a parameter by its path under /proc/sys.
	Sysctl func(path string) string
	// AddForeignLink creates an interface that is not vrrpd's.
	AddForeignLink func(name string)
	// NoIpvlan says that the kernel has no ipvlan links: the ipvlan case skips, and says so.
	NoIpvlan bool
}

func vmacV4(vrid uint8) netops.VMAC {
	return netops.VMAC{Name: "vrrp.51", Base: "eth0", VRID: vrid, Instance: "web"}
}

func wantParams(t *testing.T, e LinksEnv, want map[string]string) {
	t.Helper()
	for p, v := range want {
		if got := strings.TrimSpace(e.Sysctl(p)); got != v {
			t.Errorf("%s is %q, want %s", p, got, v)
		}
	}
}

// LinksCases runs the Links contract; env returns a fresh environment for each case.
func LinksCases(t *testing.T, env func(t *testing.T) LinksEnv) {
	t.Run("IPv4 macvlan created with its parameters, and removed with the base's put back", func(t *testing.T) {
		e := env(t)
		v := vmacV4(51)
		for range 2 {
			if err := e.Links.CreateVMAC(v); err != nil {
				t.Fatal(err)
			}
		}
		l, ok := e.Link(v.Name)
		if !ok {
			t.Fatal("no interface")
		}
		if l.Kind != "macvlan" || l.Parent != "eth0" || !bytes.Equal(l.MAC, net.HardwareAddr{0, 0, 0x5e, 0, 1, 51}) || !l.Up ||
			!strings.HasPrefix(l.Alias, netops.VMACAlias) {
			t.Fatalf("interface %+v", l)
		}
		wantParams(t, e, map[string]string{
			"net/ipv4/conf/vrrp.51/arp_ignore": "1", "net/ipv4/conf/vrrp.51/accept_local": "1", "net/ipv4/conf/vrrp.51/rp_filter": "0",
			"net/ipv4/conf/vrrp.51/promote_secondaries": "1", "net/ipv6/conf/vrrp.51/disable_ipv6": "1",
			"net/ipv4/conf/eth0/arp_ignore": "1", "net/ipv4/conf/eth0/arp_filter": "1", "net/ipv4/conf/eth0/arp_announce": "2",
		})
		for range 2 {
			if err := e.Links.RemoveVMAC(v.Name); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok := e.Link(v.Name); ok {
			t.Fatal("still there after remove")
		}
		wantParams(t, e, map[string]string{"net/ipv4/conf/eth0/arp_ignore": "0", "net/ipv4/conf/eth0/arp_filter": "0",
			"net/ipv4/conf/eth0/arp_announce": "0"})
	})
	t.Run("the base's parameters come back with its last virtual MAC", func(t *testing.T) {
		e := env(t)
		a, b := vmacV4(51), vmacV4(52)
		b.Name = "vrrp.52"
		for _, v := range []netops.VMAC{a, b} {
			if err := e.Links.CreateVMAC(v); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Links.RemoveVMAC(a.Name); err != nil {
			t.Fatal(err)
		}
		wantParams(t, e, map[string]string{"net/ipv4/conf/eth0/arp_ignore": "1"})
		if err := e.Links.RemoveVMAC(b.Name); err != nil {
			t.Fatal(err)
		}
		wantParams(t, e, map[string]string{"net/ipv4/conf/eth0/arp_ignore": "0", "net/ipv4/conf/eth0/arp_filter": "0"})
	})
	t.Run("IPv6 macvlan with the base's link-local address only", func(t *testing.T) {
		e := env(t)
		ll := netip.MustParseAddr("fe80::1")
		v := netops.VMAC{Name: "vrrp6.51", Base: "eth0", VRID: 51, IPv6: true, LinkLocal: ll, Instance: "web6"}
		if err := e.Links.CreateVMAC(v); err != nil {
			t.Fatal(err)
		}
		l, ok := e.Link(v.Name)
		if !ok || !bytes.Equal(l.MAC, net.HardwareAddr{0, 0, 0x5e, 0, 2, 51}) || !l.Up {
			t.Fatalf("interface %+v", l)
		}
		if len(l.Addrs) != 1 || l.Addrs[0] != ll {
			t.Fatalf("addresses %v, want only %v", l.Addrs, ll)
		}
		wantParams(t, e, map[string]string{"net/ipv6/conf/vrrp6.51/accept_dad": "0"})
		if err := e.Links.RemoveVMAC(v.Name); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another MAC is created again", func(t *testing.T) {
		e := env(t)
		if err := e.Links.CreateVMAC(vmacV4(51)); err != nil {
			t.Fatal(err)
		}
		if err := e.Links.CreateVMAC(vmacV4(61)); err != nil {
			t.Fatal(err)
		}
		if l, _ := e.Link("vrrp.51"); !bytes.Equal(l.MAC, net.HardwareAddr{0, 0, 0x5e, 0, 1, 61}) {
			t.Fatalf("MAC %v, want VRID 61's", l.MAC)
		}
		if err := e.Links.RemoveVMAC("vrrp.51"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("someone else's interface is neither taken nor removed", func(t *testing.T) {
		e := env(t)
		e.AddForeignLink("vrrp.51")
		if err := e.Links.CreateVMAC(vmacV4(51)); !errors.Is(err, netops.ErrNotVMAC) {
			t.Fatalf("create over someone else's interface: %v, want ErrNotVMAC", err)
		}
		if err := e.Links.RemoveVMAC("vrrp.51"); !errors.Is(err, netops.ErrNotVMAC) {
			t.Fatalf("remove someone else's interface: %v, want ErrNotVMAC", err)
		}
		if _, ok := e.Link("vrrp.51"); !ok {
			t.Fatal("someone else's interface was removed")
		}
	})
	t.Run("ipvlan", func(t *testing.T) {
		e := env(t)
		if e.NoIpvlan {
			t.Skip("this kernel has no ipvlan links (CONFIG_IPVLAN): the fake covers the case")
		}
		v := netops.VMAC{Name: "ipvl.51", Base: "eth0", Kind: netops.KindIpvlan, Instance: "web"}
		if err := e.Links.CreateVMAC(v); err != nil {
			t.Fatal(err)
		}
		l, ok := e.Link(v.Name)
		if !ok || l.Kind != "ipvlan" || l.Parent != "eth0" || !l.Up {
			t.Fatalf("interface %+v", l)
		}
		if err := e.Links.RemoveVMAC(v.Name); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.Link(v.Name); ok {
			t.Fatal("still there after remove")
		}
	})
}

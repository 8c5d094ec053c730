package netops_test

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/contract"
)

// linkNode is a namespace with eth0 for the virtual MAC cases, and a LinkManager in it.
func linkNode(t *testing.T) (*netnstest.NS, *netops.LinkManager, string) {
	ns := netnstest.NewLAN(t).Node("l", "", contract.NodeV4.String())
	ns.IP("link", "set", "eth0", "up")
	for _, p := range []string{"arp_ignore", "arp_filter", "arp_announce"} {
		if _, err := ns.Exec("sysctl", "-qw", "net.ipv4.conf.eth0."+p+"=0"); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(t.TempDir(), "links.json")
	var m *netops.LinkManager
	ns.MustDo(func() (err error) {
		m, err = netops.NewLinkManager(state, nil)
		return err
	})
	t.Cleanup(func() { m.Close() })
	return ns, m, state
}

// kernelHasIpvlan reports whether the kernel can create ipvlan links.
func kernelHasIpvlan(t *testing.T, ns *netnstest.NS) bool {
	_, err := ns.Exec("ip", "link", "add", "probe0", "link", "eth0", "type", "ipvlan", "mode", "l2")
	if err != nil {
		return false
	}
	ns.IP("link", "del", "probe0")
	return true
}

// TestLinksContractLinkManager runs the contract netops/fake's Links also passes against
// the kernel, each case in a namespace of its own.
func TestLinksContractLinkManager(t *testing.T) {
	netnstest.Require(t)
	contract.LinksCases(t, func(t *testing.T) contract.LinksEnv {
		ns, m, _ := linkNode(t)
		return contract.LinksEnv{
			Links: m,
			Link: func(name string) (info contract.LinkInfo, ok bool) {
				ns.MustDo(func() error {
					l, err := netlink.LinkByName(name)
					var nf netlink.LinkNotFoundError
					if errors.As(err, &nf) {
						return nil
					}
					if err != nil {
						return err
					}
					ok = true
					a := l.Attrs()
					info = contract.LinkInfo{Kind: l.Type(), Alias: a.Alias, MAC: a.HardwareAddr, Up: a.Flags&unix.IFF_UP != 0}
					if p, err := netlink.LinkByIndex(a.ParentIndex); err == nil {
						info.Parent = p.Attrs().Name
					}
					addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
					for _, ad := range addrs {
						ip, _ := netip.AddrFromSlice(ad.IP)
						info.Addrs = append(info.Addrs, ip.Unmap())
					}
					return err
				})
				return info, ok
			},
			Sysctl: func(path string) string {
				out, err := ns.Exec("cat", "/proc/sys/"+path)
				if err != nil {
					return "(" + err.Error() + ")"
				}
				return strings.TrimSpace(out)
			},
			AddForeignLink: func(name string) {
				ns.IP("link", "add", name, "link", "eth0", "type", "macvlan", "mode", "bridge")
			},
			NoIpvlan: !kernelHasIpvlan(t, ns),
		}
	})
}

// TestLinkManagerLeftovers: the virtual MAC interfaces a run left behind, and the base's
// parameters, are cleaned by the next run, except those it keeps; someone else's
// macvlan stays.
func TestLinkManagerLeftovers(t *testing.T) {
	netnstest.Require(t)
	ns, m, state := linkNode(t)
	for _, v := range []netops.VMAC{{Name: "vrrp.51", Base: "eth0", VRID: 51, Instance: "a"}, {Name: "vrrp.52", Base: "eth0", VRID: 52, Instance: "b"}} {
		if err := m.CreateVMAC(v); err != nil {
			t.Fatal(err)
		}
	}
	ns.IP("link", "add", "mv0", "link", "eth0", "type", "macvlan")
	m.Close() // a crash: nothing removed

	var next *netops.LinkManager
	ns.MustDo(func() (err error) {
		next, err = netops.NewLinkManager(state, nil)
		return err
	})
	t.Cleanup(func() { next.Close() })
	removed, err := next.CleanStale([]string{"vrrp.52"})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != "vrrp.51" {
		t.Fatalf("removed %q, want vrrp.51", removed)
	}
	links := ns.IP("-br", "link", "show")
	if strings.Contains(links, "vrrp.51") || !strings.Contains(links, "vrrp.52") || !strings.Contains(links, "mv0") {
		t.Fatalf("links after cleaning:\n%s", links)
	}
	// vrrp.52 is still there: the base keeps its parameters until it goes too.
	if removed, err := next.CleanStale(nil); err != nil || len(removed) != 1 {
		t.Fatalf("second clean removed %q (%v), want vrrp.52", removed, err)
	}
	for _, p := range []string{"arp_ignore", "arp_filter"} {
		if out, _ := ns.Exec("cat", "/proc/sys/net/ipv4/conf/eth0/"+p); strings.TrimSpace(out) != "0" {
			t.Fatalf("eth0's %s is %s after the last virtual MAC went, want 0 back", p, out)
		}
	}
}

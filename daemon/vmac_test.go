package daemon

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/vrrpd/vrrpd/config"
)

// vmacNode is a node whose instance web has a virtual MAC interface vrrp.51, which the
// fake sockets and addresses know as a second interface on the LAN.
func vmacNode(t *testing.T, l *lan, name, addr string, prio uint8) *node {
	in := instanceCfg("web", prio, "192.0.2.100/24")
	in.VMAC = &config.VMAC{Name: "vrrp.51", Kind: config.VMACMacvlan}
	n := newNode(t, l, name, addr, in)
	n.host.Attach("vrrp.51", l.Segment, netip.MustParseAddr(addr))
	n.addrs.AddInterface("vrrp.51")
	return n
}

func TestVMACCarriesTheVIPs(t *testing.T) {
	l := newLAN(t)
	a := vmacNode(t, l, "a", "192.0.2.1", 150)
	b := vmacNode(t, l, "b", "192.0.2.2", 100)
	a.start(t)
	b.start(t)
	a.waitState(t, "web", "MASTER")
	b.waitState(t, "web", "BACKUP")
	vip := netip.MustParseAddr("192.0.2.100")
	for _, n := range []*node{a, b} {
		link, ok := n.vmacs.Link("vrrp.51")
		if !ok || link.Parent != "eth0" || !bytes.Equal(link.MAC, net.HardwareAddr{0, 0, 0x5e, 0, 1, 51}) || !link.Up {
			t.Fatalf("%s's virtual MAC interface %+v (%v)", n.name, link, ok)
		}
		if n.vmacs.Sysctl("net/ipv4/conf/eth0/arp_ignore") != "1" {
			t.Fatalf("%s's eth0 answers ARP for the virtual MAC's addresses", n.name)
		}
	}
	if !a.addrs.Has("vrrp.51", vip) || a.addrs.Has("eth0", vip) || b.addrs.Has("vrrp.51", vip) {
		t.Fatal("the VIP is not on the master's virtual MAC interface alone")
	}
	l.until("a's announcement from the virtual MAC interface", func() bool { return a.ann.Count("vrrp.51", vip) > 0 })
	if st := a.instance(t, "web"); st.VMAC != "vrrp.51" || len(st.VIPs) != 1 || st.VIPs[0].Interface != "vrrp.51" {
		t.Fatalf("a's status: vmac %q, VIPs %+v", st.VMAC, st.VIPs)
	}

	// A reload that renames it: the instance starts again on the new one, the old one
	// goes.
	next := *a.cfg
	in := next.Instances[0]
	in.VMAC = &config.VMAC{Name: "vrrp.web", Kind: config.VMACMacvlan}
	next.Instances = []config.Instance{in}
	a.host.Attach("vrrp.web", l.Segment, netip.MustParseAddr("192.0.2.1"))
	a.addrs.AddInterface("vrrp.web")
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, "web", "MASTER")
	l.until("the old virtual MAC interface to go", func() bool {
		_, old := a.vmacs.Link("vrrp.51")
		_, renamed := a.vmacs.Link("vrrp.web")
		return !old && renamed
	})
	l.until("the VIP on the new one", func() bool { return a.addrs.Has("vrrp.web", vip) && !a.addrs.Has("vrrp.51", vip) })

	// a stops: b takes the VIP on its virtual MAC interface; a's goes, with eth0's
	// parameters back.
	a.stop(t)
	b.waitState(t, "web", "MASTER")
	l.until("b's VIP", func() bool { return b.addrs.Has("vrrp.51", vip) })
	if _, ok := a.vmacs.Link("vrrp.web"); ok {
		t.Fatal("the stopped node kept its virtual MAC interface")
	}
	if a.vmacs.Sysctl("net/ipv4/conf/eth0/arp_ignore") != "0" {
		t.Fatal("eth0's arp_ignore was not put back")
	}
}

func TestVMACCannotBeCreated(t *testing.T) {
	l := newLAN(t)
	in := instanceCfg("web", 150, "192.0.2.100/24")
	in.VMAC = &config.VMAC{Name: "vrrp.51", Kind: config.VMACMacvlan}
	a := newNode(t, l, "a", "192.0.2.1", in)
	a.vmacs.AddForeignLink("vrrp.51")
	if err := a.d.Start(); err == nil {
		t.Fatal("the instance started over someone else's interface")
	}
	if _, ok := a.vmacs.Link("vrrp.51"); !ok {
		t.Fatal("someone else's interface was removed")
	}
}

// An ipvlan (keepalived's use_ipvlan) has the base's MAC: the fake kernel has one,
// which this machine's kernel lacks.
func TestIpvlanCarriesTheVIPs(t *testing.T) {
	l := newLAN(t)
	in := instanceCfg("web", 150, "192.0.2.100/24")
	in.VMAC = &config.VMAC{Name: "ipvl.51", Kind: config.VMACIpvlan}
	a := newNode(t, l, "a", "192.0.2.1", in)
	a.host.Attach("ipvl.51", l.Segment, netip.MustParseAddr("192.0.2.1"))
	a.addrs.AddInterface("ipvl.51")
	a.start(t)
	a.waitState(t, "web", "MASTER")
	link, ok := a.vmacs.Link("ipvl.51")
	if !ok || link.Kind != "ipvlan" || link.MAC != nil || link.Parent != "eth0" {
		t.Fatalf("ipvl.51: %+v (%v)", link, ok)
	}
	if !a.addrs.Has("ipvl.51", netip.MustParseAddr("192.0.2.100")) {
		t.Fatal("the VIP is not on the ipvlan")
	}
	a.stop(t)
	if _, ok := a.vmacs.Link("ipvl.51"); ok {
		t.Fatal("the ipvlan outlived its instance")
	}
}

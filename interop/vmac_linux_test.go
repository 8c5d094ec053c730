//go:build linux

package interop

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// Virtual MAC interop: vrrpd with vmac beside keepalived with use_vmac, and beside FRR,
// whose vrrpd always keeps its VIPs on a macvlan with the virtual MAC. Whoever is master,
// the VIP answers from 00:00:5e:00:01:33 (IPv6: 00:00:5e:00:02:33): a client talking to
// it keeps the same neighbour entry across a failover, both ways.

// vmacName is the virtual MAC interface vrrpd and keepalived put the VIPs on.
func (b *bed) vmacName() string {
	if b.col.family == 6 {
		return fmt.Sprintf("vrrp6.%d", vrid)
	}
	return fmt.Sprintf("vrrp.%d", vrid)
}

// virtualMAC is RFC 5798 section 7.3's MAC of the column's family.
func (b *bed) virtualMAC() string {
	fam := 1
	if b.col.family == 6 {
		fam = 2
	}
	return fmt.Sprintf("00:00:5e:00:%02x:%02x", fam, vrid)
}

var vmacColumns = []column{
	{peer: keepalived, version: 3, family: 4},
	{peer: keepalived, version: 3, family: 6},
	{peer: frr, version: 3, family: 4},
	{peer: frr, version: 3, family: 6},
}

// TestInteropVMAC runs, for each peer and family, vrrpd master then the peer master, each
// time crashing the master: the other takes over on its virtual MAC interface and the
// client, which talked to the VIP throughout, has the virtual MAC for it before and after.
func TestInteropVMAC(t *testing.T) {
	netnstest.Require(t)
	for _, c := range vmacColumns {
		for _, first := range []string{"vrrpd", "peer"} {
			t.Run(c.id()+"/"+first+"-master", func(t *testing.T) {
				t.Parallel()
				b := newBed(t, c, 1)
				if c.peer == keepalived {
					// keepalived 2.2.7's use_vmac sets arp_ignore and arp_filter on the base
					// interface, not arp_announce: the node then asks the client's MAC with
					// the VIP as its address and eth0's MAC, and the client takes that MAC
					// for the VIP. vrrpd sets arp_announce 2; the suite sets it for
					// keepalived, as operators of keepalived's VMAC must.
					if out, err := b.p.base().ns.Exec("sysctl", "-qw", "net.ipv4.conf.eth0.arp_announce=2"); err != nil {
						t.Fatalf("sysctl: %v: %s", err, out)
					}
				}
				m := router(b.g)
				if first == "peer" {
					m = b.p
				}
				vmacFailover(b, m)
				finishWithoutWire(b)
			})
		}
	}
}

// vmacFailover elects m, checks that the client reaches the VIP at the virtual MAC,
// crashes m, and checks that the other takes over with the client's entry unchanged.
func vmacFailover(b *bed, m router) {
	o := b.peerOf(m)
	interval := 500 * time.Millisecond
	ms, os := b.side(150, interval), b.side(100, interval)
	ms.vmac, os.vmac = true, true
	b.elect(m, ms, o, os)
	b.steady(m, 2*interval)
	cl := b.client()
	vip, want := b.vip.Addr(), b.virtualMAC()
	reach := func(who router) {
		b.t.Helper()
		var ping string
		netnstest.Eventually(b.t, 5*time.Second, func() bool {
			out, err := cl.Exec("ping", "-c", "1", "-W", "1", vip.String())
			ping = out
			return err == nil && neighbour(b.t, cl, vip) == want
		}, "the client does not reach %v at the virtual MAC %s while %s is master: it has %q\n%s", vip, want, who.name(),
			lazy(func() string { return neighbour(b.t, cl, vip) }), lazy(func() string { return ping }))
	}
	reach(m)
	if mac := m.vipMAC(); mac != want {
		b.t.Fatalf("%s answers from %s, want the virtual MAC %s", m.name(), mac, want)
	}
	m.crash()
	crashed := time.Now()
	b.expectMaster(o, mdi(os, ms.interval)+3*time.Second)
	b.figure("%s took over in %s", o.name(), secs(time.Since(crashed)))
	reach(o)
}

// finishWithoutWire checks what finish does, but the wire: the adverts from a virtual
// MAC cannot be told apart by their source MAC on a port that both sides' cross, and
// those to a group of their own are not to the RFC's.
func finishWithoutWire(b *bed) {
	b.t.Helper()
	for r, n := range b.g.allDrops() {
		if !slices.Contains(b.allowDrops, r) {
			b.t.Errorf("vrrpd dropped %d adverts: %s", n, r)
		}
	}
	for _, c := range b.g.complaints() {
		b.t.Errorf("vrrpd logs: %s", c)
	}
	for _, c := range b.p.complaints() {
		b.t.Errorf("%s complains: %s", b.p.name(), c)
	}
}

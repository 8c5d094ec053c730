package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// linkMAC returns the MAC of ifname in ns, "" when there is no such interface.
func linkMAC(ns *netnstest.NS, ifname string) string {
	out, err := ns.Exec("ip", "-j", "link", "show", "dev", ifname)
	if err != nil {
		return ""
	}
	var links []struct {
		Address string `json:"address"`
	}
	if json.Unmarshal([]byte(out), &links) != nil || len(links) != 1 {
		return ""
	}
	return links[0].Address
}

// neighMAC returns the MAC the client's neighbour table has for addr.
func neighMAC(ns *netnstest.NS, addr string) string {
	out, _ := ns.Exec("ip", "-j", "neigh", "show", addr)
	var n []struct {
		LLAddr string `json:"lladdr"`
	}
	if json.Unmarshal([]byte(out), &n) != nil || len(n) == 0 {
		return ""
	}
	return n[0].LLAddr
}

// The VIP lives on a macvlan with the virtual MAC 00:00:5e:00:01:33, on whichever node
// is master: a client's neighbour entry for the VIP never changes across a failover,
// the switch learns the MAC moving, and the interfaces go when vrrpd does.
func TestE2EVirtualMAC(t *testing.T) {
	c := newCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]
	const vmac = "00:00:5e:00:01:33"
	for i, nd := range c.nodes {
		nd.writeConfig(instanceYAML("web", 51, []int{150, 100}[i], "100ms", "192.0.2.100/24") + "    vmac: true\n")
		nd.start()
	}
	a.waitState("web", "MASTER", 5*time.Second)
	b.waitState("web", "BACKUP", 5*time.Second)
	vip := netip.MustParseAddr(vip)
	onVMAC := func(nd *e2eNode) bool { return nd.ns.HasAddress("vrrp.51", vip) }
	netnstest.Eventually(t, 5*time.Second, func() bool { return onVMAC(a) && !onVMAC(b) }, "the VIP is not on a's vrrp.51 alone")
	for _, nd := range c.nodes {
		if mac := linkMAC(nd.ns, "vrrp.51"); mac != vmac {
			t.Fatalf("%s's vrrp.51 has MAC %q, want %s", nd.name, mac, vmac)
		}
		if out, _ := nd.ns.Exec("cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore"); strings.TrimSpace(out) != "1" {
			t.Fatalf("%s's eth0 arp_ignore is %q, want 1", nd.name, out)
		}
		if nd.hasVIP(vip.String()) {
			t.Fatalf("%s has the VIP on eth0", nd.name)
		}
	}
	var shown, errOut strings.Builder
	if code := run([]string{"show", "--socket", a.socket(), "--detail"}, &shown, &errOut); code != 0 ||
		!strings.Contains(shown.String(), "  vmac      vrrp.51\n") || !strings.Contains(shown.String(), "192.0.2.100/24         vrrp.51  present") {
		t.Fatalf("vrrpd show --detail (%d):\n%s%s", code, shown.String(), errOut.String())
	}
	// The client reaches the VIP at the virtual MAC, and a answers.
	p := c.probe()
	netnstest.Eventually(t, 5*time.Second, func() bool { return p.answeredBy("lb1") }, "the client got no answer from lb1")
	if mac := neighMAC(c.client, vip.String()); mac != vmac {
		t.Fatalf("the client has %s at %q, want the virtual MAC %s", vip, mac, vmac)
	}
	// The switch learnt the virtual MAC on a's port.
	port := func() string {
		out, _ := c.lan.Switch.Exec("bridge", "fdb", "show", "br", "br0")
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, vmac+" dev ") {
				return strings.Fields(line)[2]
			}
		}
		return ""
	}
	before := port()
	if before == "" {
		t.Fatal("the switch has not learnt the virtual MAC")
	}

	// a crashes: b takes over on its own vrrp.51, the client's entry is the same MAC, and
	// the switch moves it to b's port.
	a.crash()
	b.waitState("web", "MASTER", 5*time.Second)
	netnstest.Eventually(t, 5*time.Second, func() bool { return onVMAC(b) }, "the VIP is not on b's vrrp.51")
	netnstest.Eventually(t, 5*time.Second, func() bool { return p.answeredBy("lb2") }, "the client got no answer from lb2")
	if mac := neighMAC(c.client, vip.String()); mac != vmac {
		t.Fatalf("after the failover the client has %s at %q, want still %s", vip, mac, vmac)
	}
	netnstest.Eventually(t, 5*time.Second, func() bool { return port() != before && port() != "" },
		"the switch did not learn the virtual MAC moving from %s", before)
	p.finish()

	// vrrpd cleanup removes the crashed node's interface and puts eth0 back.
	out, err := exec.Command("ip", "netns", "exec", a.ns.Name, vrrpdBinary(t), "cleanup", "--config", a.config()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "removed interface vrrp.51") {
		t.Fatalf("vrrpd cleanup: %v\n%s", err, out)
	}
	if linkMAC(a.ns, "vrrp.51") != "" {
		t.Fatal("vrrp.51 is still on the crashed node")
	}
	if out, _ := a.ns.Exec("cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore"); strings.TrimSpace(out) != "0" {
		t.Fatalf("a's eth0 arp_ignore is %q after cleanup, want 0 back", out)
	}
	// b stops: its interface goes too.
	b.stop()
	if linkMAC(b.ns, "vrrp.51") != "" {
		t.Fatal("vrrp.51 is still there after vrrpd stopped")
	}
}

// IPv6 and xmit_base: the adverts go from the base interface, the VIP on vrrp6.52 with
// 00:00:5e:00:02:34.
func TestE2EVirtualMACIPv6XmitBase(t *testing.T) {
	c := newCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]
	for i, nd := range c.nodes {
		nd.ns.IP("addr", "add", fmt.Sprintf("2001:db8::%d/64", i+1), "dev", "eth0", "nodad")
		nd.writeConfig(fmt.Sprintf("  - {name: web6, interface: eth0, vrid: 52, priority: %d, advert_interval: 100ms, "+
			"garp: {repeat: 1, delay: 0s}, vips: ['2001:db8::100/64'], vmac: {xmit_base: true}}\n", []int{150, 100}[i]))
		nd.start()
	}
	a.waitState("web6", "MASTER", 5*time.Second)
	b.waitState("web6", "BACKUP", 5*time.Second)
	vip := netip.MustParseAddr("2001:db8::100")
	netnstest.Eventually(t, 5*time.Second, func() bool { return a.ns.HasAddress("vrrp6.52", vip) }, "the VIP is not on a's vrrp6.52")
	if mac := linkMAC(a.ns, "vrrp6.52"); mac != "00:00:5e:00:02:34" {
		t.Fatalf("vrrp6.52 has MAC %q", mac)
	}
	if st := b.instance("web6"); st.Master == "" || len(st.Drops) > 0 {
		t.Fatalf("b follows %q, drops %v", st.Master, st.Drops)
	}
	a.stop()
	b.waitState("web6", "MASTER", 5*time.Second)
	netnstest.Eventually(t, 5*time.Second, func() bool { return b.ns.HasAddress("vrrp6.52", vip) }, "the VIP is not on b's vrrp6.52")
}

// A vrrpd killed with its virtual MAC interface leaves it; the next start, whose
// configuration no longer has it, removes it and puts eth0's parameters back, and one
// that still has it keeps it as it is.
func TestE2EVirtualMACLeftoverAtStart(t *testing.T) {
	c := newCluster(t, 1)
	a := c.nodes[0]
	cfg := instanceYAML("web", 51, 150, "100ms", "192.0.2.100/24")
	a.writeConfig(cfg + "    vmac: true\n")
	a.start()
	a.waitState("web", "MASTER", 5*time.Second)
	index := func() string {
		out, _ := a.ns.Exec("cat", "/sys/class/net/vrrp.51/ifindex")
		return strings.TrimSpace(out)
	}
	before := index()
	_ = a.cmd.Process.Kill()
	<-a.done
	// Started again with it: the same interface, not a new one.
	a.start()
	a.waitState("web", "MASTER", 5*time.Second)
	if after := index(); after != before || after == "" {
		t.Fatalf("vrrp.51 has index %q after the restart, was %q: it was created again", after, before)
	}
	_ = a.cmd.Process.Kill()
	<-a.done
	// Started without it: it goes, and eth0's parameters come back.
	a.writeConfig(cfg)
	a.start()
	a.waitState("web", "MASTER", 5*time.Second)
	if linkMAC(a.ns, "vrrp.51") != "" {
		t.Fatal("the leftover vrrp.51 is still there")
	}
	if out, _ := a.ns.Exec("cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore"); strings.TrimSpace(out) != "0" {
		t.Fatalf("eth0's arp_ignore is %q, want 0 back", out)
	}
	if !a.hasVIP("192.0.2.100") {
		t.Fatal("the VIP is not on eth0")
	}
}

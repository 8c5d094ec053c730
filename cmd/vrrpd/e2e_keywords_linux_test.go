package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// hookScript writes a hook that appends its arguments to a log in dir, and returns both.
func hookScript(t *testing.T, dir string) (script, log string) {
	t.Helper()
	script, log = filepath.Join(dir, "hook.sh"), filepath.Join(dir, "hooks.log")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, log
}

func hookLines(log string) []string {
	b, _ := os.ReadFile(log)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// keepalived's instance keywords on two real nodes: a group of their own, the hooks for
// a priority change, a master that hears a lower priority and a deleted instance, and
// promote_secondaries.
func TestE2EInstanceKeywordsHooksAndGroup(t *testing.T) {
	c := newCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]
	script, log := hookScript(t, a.dir)
	drain := filepath.Join(a.dir, "drain")
	if err := os.WriteFile(drain, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ns.Exec("sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=0"); err != nil {
		t.Fatal(err)
	}
	instance := func(prio int, extra string) string {
		return fmt.Sprintf("  - name: web\n    interface: eth0\n    vrid: 51\n    priority: %d\n    advert_interval: 100ms\n"+
			"    garp: {repeat: 1, delay: 0s}\n    vips: [192.0.2.100/24]\n    group: 224.0.0.118\n%s", prio, extra)
	}
	a.writeFile(fmt.Sprintf("files:\n  drain: {path: %s}\ninstances:\n", drain) + instance(150, fmt.Sprintf(
		"    promote_secondaries: true\n    track: {files: [{name: drain, weight: 1}]}\n"+
			"    notify: {any: [%s], priority: [%s, prio], master_rx_lower_pri: [%s, lower], deleted: true}\n", script, script, script)))
	b.writeConfig(instance(100, ""))
	a.start()
	b.start()
	a.waitState("web", "MASTER", 5*time.Second)
	b.waitState("web", "BACKUP", 5*time.Second)
	if st := b.instance("web"); st.Master != "192.0.2.1" || len(st.Drops) > 0 {
		t.Fatalf("b follows %q, drops %v", st.Master, st.Drops)
	}
	// The adverts go to the group: a third node on the RFC's group hears nobody.
	out, err := c.client.Exec("timeout", "2", "tcpdump", "-c", "3", "-ni", "eth0", "ip proto 112")
	if err != nil && !strings.Contains(out, "224.0.0.118") {
		t.Fatalf("tcpdump: %v\n%s", err, out)
	}
	if !strings.Contains(out, "> 224.0.0.118: VRRP") || strings.Contains(out, "> 224.0.0.18:") {
		t.Fatalf("the adverts do not go to 224.0.0.118:\n%s", out)
	}
	if out, _ := a.ns.Exec("cat", "/proc/sys/net/ipv4/conf/eth0/promote_secondaries"); strings.TrimSpace(out) != "1" {
		t.Fatalf("promote_secondaries is %q", out)
	}

	// The priority falls: MASTER_PRIORITY.
	os.WriteFile(drain, []byte("-10\n"), 0o644)
	wantLine := func(line string) {
		t.Helper()
		netnstest.Eventually(t, 5*time.Second, func() bool { return slices.Contains(hookLines(log), line) },
			"no hook line %q in:\n%s", line, lazyFile(log))
	}
	wantLine("prio INSTANCE web MASTER_PRIORITY 140")

	// Cut off from a, b becomes master; healed, a hears its lower priority.
	netnstest.Run(t, "ip", "netns", "exec", c.lan.Switch.Name, "bridge", "link", "set", "dev", "p2", "state", "0")
	b.waitState("web", "MASTER", 5*time.Second)
	netnstest.Run(t, "ip", "netns", "exec", c.lan.Switch.Name, "bridge", "link", "set", "dev", "p2", "state", "3")
	b.waitState("web", "BACKUP", 5*time.Second)
	wantLine("lower INSTANCE web MASTER_RX_LOWER_PRI 140")

	// A reload removes web: DELETED, not STOP.
	a.writeConfig(strings.Replace(instance(150, ""), "name: web\n    interface: eth0\n    vrid: 51", "name: api\n    interface: eth0\n    vrid: 52", 1))
	a.reload()
	wantLine("INSTANCE web DELETED 140")
	if slices.ContainsFunc(hookLines(log), func(l string) bool { return strings.Contains(l, "STOP") }) {
		t.Fatalf("a deleted instance said STOP:\n%s", lazyFile(log))
	}
}

// lazyFile prints a file when a failure message is formatted.
type lazyFile string

func (f lazyFile) String() string {
	b, _ := os.ReadFile(string(f))
	return string(b)
}

// track_interface: false, track_source and unicast without peers, on one real node.
func TestE2EInstanceKeywordsFaults(t *testing.T) {
	c := newCluster(t, 1)
	a := c.nodes[0]
	a.writeConfig(`  - {name: nolink, interface: eth0, vrid: 51, priority: 150, advert_interval: 100ms, garp: {repeat: 1, delay: 0s}, vips: [192.0.2.100/24], track_interface: false}
  - {name: src, interface: eth0, vrid: 52, priority: 150, advert_interval: 100ms, garp: {repeat: 1, delay: 0s}, vips: [192.0.2.101/24], source: 192.0.2.1, track_source: true, promote_secondaries: true}
  - {name: lonely, interface: eth0, vrid: 53, priority: 150, advert_interval: 100ms, vips: [192.0.2.102/24], unicast: {source: 192.0.2.1, peers: []}}
`)
	a.start()
	a.waitState("nolink", "MASTER", 5*time.Second)
	a.waitState("src", "MASTER", 5*time.Second)
	if st := a.instance("lonely"); st.State != "FAULT" || !strings.Contains(st.Reason, "unicast without peers") {
		t.Fatalf("lonely is %s: %s", st.State, st.Reason)
	}
	// The source goes: src is in FAULT, and back when it comes back. (promote_secondaries
	// keeps the addresses of the subnet when its primary goes: without it the kernel
	// would take the VIPs with it, and the source again with the VIP it became the
	// secondary of.)
	a.ns.IP("addr", "add", "192.0.2.5/24", "dev", "eth0")
	a.ns.IP("addr", "del", "192.0.2.1/24", "dev", "eth0")
	a.waitState("src", "FAULT", 5*time.Second)
	if r := a.instance("src").Reason; !strings.Contains(r, "source 192.0.2.1 not on eth0") {
		t.Fatalf("src's reason %q", r)
	}
	a.ns.IP("addr", "add", "192.0.2.1/24", "dev", "eth0")
	a.waitState("src", "MASTER", 10*time.Second)
	// The link goes down: nolink stays master, src (whose link counts) is in FAULT.
	a.ns.IP("link", "set", "eth0", "down")
	a.waitState("src", "FAULT", 5*time.Second)
	if st := a.instance("nolink"); st.State != "MASTER" {
		t.Fatalf("nolink is %s (%s) with its untracked link down", st.State, st.Reason)
	}
}

// garp.refresh_other_interfaces: the VIP on eth1 is announced again every second; the
// one on eth0 is not.
func TestE2ERefreshOtherInterfaces(t *testing.T) {
	c := newCluster(t, 1)
	a := c.nodes[0]
	inner := netnstest.NewLAN(t)
	inner.Attach(a.ns, "eth1", "02:00:00:00:02:01")
	a.ns.IP("addr", "add", "198.51.100.1/24", "dev", "eth1")
	a.writeConfig(`  - {name: web, interface: eth0, vrid: 51, priority: 150, advert_interval: 100ms, garp: {repeat: 1, delay: 0s, refresh_other_interfaces: 1s}, vips: [192.0.2.100/24, {address: 198.51.100.100/24, interface: eth1}]}
`)
	a.start()
	a.waitState("web", "MASTER", 5*time.Second)
	count := func(ifname string) int {
		out, _ := a.ns.Exec("timeout", "3.5", "tcpdump", "-c", "10", "-ni", ifname, "arp")
		return strings.Count(out, "Request who-has")
	}
	done := make(chan int, 1)
	go func() { done <- count("eth0") }()
	if n := count("eth1"); n < 2 {
		t.Fatalf("%d gratuitous ARPs on eth1 in 3.5 s, want one a second", n)
	}
	if n := <-done; n != 0 {
		t.Fatalf("%d gratuitous ARPs on eth0 after the first burst, want none", n)
	}
}

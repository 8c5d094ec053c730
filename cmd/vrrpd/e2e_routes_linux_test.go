package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// routesOf returns the node's routes and rules marked as vrrpd's, as ip(8) lists them.
func routesOf(nd *e2eNode) (routes, rules string) {
	routes = strings.TrimSpace(nd.ns.IP("route", "show", "table", "all", "proto", "112"))
	for _, line := range strings.Split(nd.ns.IP("-d", "rule", "show"), "\n") {
		if strings.Contains(line, "proto 112") {
			rules += strings.TrimSpace(line) + "\n"
		}
	}
	return routes, strings.TrimSpace(rules)
}

// Virtual routes and rules follow the master, and what a crash leaves is removed by
// vrrpd cleanup.
func TestE2ERoutesAndRules(t *testing.T) {
	c := newCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]
	for i, nd := range c.nodes {
		nd.writeConfig(instanceYAML("web", 51, []int{150, 100}[i], "100ms", "192.0.2.100/24") +
			"    routes:\n" +
			"      - {to: 198.51.100.0/24, via: 192.0.2.254}\n" +
			"      - {to: default, via: 192.0.2.254, table: 100}\n" +
			"      - {to: 203.0.113.0/24, type: blackhole}\n" +
			"    rules:\n" +
			"      - {from: 192.0.2.100/32, table: 100, priority: 100}\n")
		nd.start()
	}
	a.waitState("web", "MASTER", 5*time.Second)
	b.waitState("web", "BACKUP", 5*time.Second)
	want := func(nd *e2eNode, has bool) {
		t.Helper()
		netnstest.Eventually(t, 5*time.Second, func() bool {
			routes, rules := routesOf(nd)
			if !has {
				return routes == "" && rules == ""
			}
			return strings.Contains(routes, "198.51.100.0/24 via 192.0.2.254 dev eth0") &&
				strings.Contains(routes, "default via 192.0.2.254 dev eth0") && strings.Contains(routes, "table 100") &&
				strings.Contains(routes, "blackhole 203.0.113.0/24") &&
				strings.Contains(rules, "100:\tfrom 192.0.2.100 lookup 100")
		}, "%s: want routes and rules present %v:\n%v", nd.name, has, lazyRoutes{nd})
	}
	want(a, true)
	want(b, false)
	var shown, errOut strings.Builder
	if code := run([]string{"show", "--socket", a.socket(), "--detail"}, &shown, &errOut); code != 0 ||
		!strings.Contains(shown.String(), "  route     198.51.100.0/24 via 192.0.2.254\n") ||
		!strings.Contains(shown.String(), "  route     100: from 192.0.2.100/32 lookup 100\n") {
		t.Fatalf("vrrpd show --detail (%d):\n%s%s", code, shown.String(), errOut.String())
	}

	// The master crashes: b takes the routes; a keeps what the crash left until
	// cleanup (its cable is out: the routes through eth0 went with the link, the
	// blackhole route and the rule stay).
	a.crash()
	b.waitState("web", "MASTER", 5*time.Second)
	want(b, true)
	if routes, rules := routesOf(a); !strings.Contains(routes, "blackhole 203.0.113.0/24") || rules == "" {
		t.Fatalf("the crashed node kept routes %q and rules %q, want the blackhole route and the rule", routes, rules)
	}
	out, err := exec.Command("ip", "netns", "exec", a.ns.Name, vrrpdBinary(t), "cleanup", "--config", a.config()).CombinedOutput()
	if err != nil {
		t.Fatalf("vrrpd cleanup: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "removed blackhole 203.0.113.0/24") || !strings.Contains(string(out), "192.0.2.100/32") {
		t.Fatalf("vrrpd cleanup said:\n%s", out)
	}
	want(a, false)

	// a comes back: it preempts and takes them again; b lets them go.
	a.revive()
	a.start()
	a.waitState("web", "MASTER", 10*time.Second)
	want(a, true)
	want(b, false)
	a.stop()
	want(a, false)
}

// lazyRoutes formats a node's routes and rules only when a failure prints them.
type lazyRoutes struct{ nd *e2eNode }

func (l lazyRoutes) String() string {
	routes, rules := routesOf(l.nd)
	return fmt.Sprintf("routes:\n%s\nrules:\n%s", routes, rules)
}

package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// A sync group on two segments: ext on eth0 (192.0.2.0/24) and int on eth1
// (198.51.100.0/24). What takes one member off the master takes both.
func TestE2ESyncGroup(t *testing.T) {
	c := newCluster(t, 2)
	inner := netnstest.NewLAN(t)
	for i, nd := range c.nodes {
		inner.Attach(nd.ns, "eth1", fmt.Sprintf("02:00:00:00:02:%02x", i+1))
		nd.ns.IP("addr", "add", fmt.Sprintf("198.51.100.%d/24", i+1), "dev", "eth1")
	}
	a, b := c.nodes[0], c.nodes[1]
	for i, nd := range c.nodes {
		prio := []int{150, 100}[i]
		drain := filepath.Join(nd.dir, "drain")
		if err := os.WriteFile(drain, []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		nd.writeFile(fmt.Sprintf(`files:
  drain: {path: %s}
instances:
  - {name: ext, interface: eth0, vrid: 51, priority: %d, advert_interval: 100ms, garp: {repeat: 1, delay: 0s}, vips: [192.0.2.100/24]}
  - {name: int, interface: eth1, vrid: 52, priority: %d, advert_interval: 100ms, garp: {repeat: 1, delay: 0s}, vips: [198.51.100.100/24]}
sync_groups:
  G:
    instances: [ext, int]
    track: {files: [{name: drain, weight: 1}]}
`, drain, prio, prio))
		nd.start()
	}
	both := func(want *e2eNode) {
		t.Helper()
		c.onlyOn(vip, want)
		netnstest.Eventually(t, 5*time.Second, func() bool {
			inner := netip.MustParseAddr("198.51.100.100")
			return want.ns.HasAddress("eth1", inner) && !c.other(want).ns.HasAddress("eth1", inner)
		}, "198.51.100.100 not only on %s", want.name)
	}
	for _, in := range []string{"ext", "int"} {
		a.waitState(in, "MASTER", 5*time.Second)
		b.waitState(in, "BACKUP", 5*time.Second)
	}
	both(a)

	// eth1 goes down on the master: int is in FAULT, ext follows, b takes both.
	a.ns.IP("link", "set", "eth1", "down")
	a.waitState("int", "FAULT", 5*time.Second)
	a.waitState("ext", "FAULT", 5*time.Second)
	if r := a.instance("ext").Reason; !strings.Contains(r, "sync group G: int is in fault (interface eth1 down)") {
		t.Fatalf("ext's reason %q", r)
	}
	b.waitState("ext", "MASTER", 5*time.Second)
	b.waitState("int", "MASTER", 5*time.Second)
	c.onlyOn(vip, b)
	st, err := a.status()
	if err != nil || len(st.SyncGroups) != 1 || st.SyncGroups[0].State != "FAULT" {
		t.Fatalf("a's sync groups %+v (%v)", st.SyncGroups, err)
	}
	var out, errOut strings.Builder
	if code := run([]string{"show", "--socket", a.socket(), "--detail"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "  group     G\n") || !strings.Contains(out.String(), "sync group G  FAULT  ext, int") {
		t.Fatalf("vrrpd show --detail (%d):\n%s%s", code, out.String(), errOut.String())
	}

	// Back up: a preempts with both.
	a.ns.IP("link", "set", "eth1", "up")
	a.waitState("ext", "MASTER", 10*time.Second)
	a.waitState("int", "MASTER", 10*time.Second)
	both(a)

	// A tracker of the group fails on a: both move again.
	os.WriteFile(filepath.Join(a.dir, "drain"), []byte("-1000\n"), 0o644)
	b.waitState("ext", "MASTER", 5*time.Second)
	b.waitState("int", "MASTER", 5*time.Second)
	both(b)
	os.WriteFile(filepath.Join(a.dir, "drain"), []byte("0\n"), 0o644)
	both(a)
}

// other returns the node of a two-node cluster that is not nd.
func (c *cluster) other(nd *e2eNode) *e2eNode {
	if c.nodes[0] == nd {
		return c.nodes[1]
	}
	return c.nodes[0]
}

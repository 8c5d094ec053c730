package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/daemons"
	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// Addresses of the LAN: node i has 192.0.2.i and 2001:db8::i, the client .10.
var (
	baseVIP4 = netip.MustParsePrefix("192.0.2.100/24")
	baseVIP6 = netip.MustParsePrefix("2001:db8::100/64")
	// extraVIP is what a ReloadVIPs fault adds on every node.
	extraVIP = netip.MustParsePrefix("192.0.2.101/24")
)

// priorities of the nodes in order; every node preempts.
var priorities = []int{150, 100, 50, 25, 10}

// cluster is the LAN, its nodes, the client and the faults in force.
type cluster struct {
	t      *testing.T
	setup  Setup
	rec    *recorder
	vrrpd  string // the binary
	dir    string
	lan    *netnstest.LAN
	nodes  []*node
	client *netnstest.NS
	vips   []netip.Prefix // every node's VIPs at the start
	prober *prober

	rules  map[int][]string // nftables rules of the switch, per node
	relays map[int]*relay
}

// newCluster builds the LAN with one node per daemon named, starts the daemons, waits
// for the first node to hold every VIP, and starts probing.
func newCluster(t *testing.T, daemons []string, ipv6 bool) *cluster {
	t.Helper()
	c := newNetwork(t, daemons, ipv6)
	for _, n := range c.nodes {
		if n.daemon == vrrpdDaemon {
			c.vrrpd = vrrpdBinary.Path(t)
		}
	}
	t.Cleanup(c.stopAll)
	for _, n := range c.nodes {
		if err := n.start(); err != nil {
			t.Fatal(err)
		}
	}
	netnstest.Eventually(t, 20*time.Second, func() bool {
		for _, v := range c.vips {
			if !c.nodes[0].ns.HasAddress("eth0", v.Addr()) {
				return false
			}
		}
		return true
	}, "%s does not hold %v:\n%s", c.nodes[0].name, c.vips, c.nodes[0].log)
	c.prober = startProbing(t, c.rec, c.client, c.nodes, c.setup.VIPs)
	return c
}

// newNetwork builds the LAN, its nodes (their daemons not started) and the client.
func newNetwork(t *testing.T, daemons []string, ipv6 bool) *cluster {
	t.Helper()
	netnstest.Require(t)
	netnstest.RequireCommand(t, "nft")
	c := &cluster{t: t, rec: &recorder{}, dir: t.TempDir(), rules: map[int][]string{}, relays: map[int]*relay{}}
	c.vips = []netip.Prefix{baseVIP4}
	if ipv6 {
		c.vips = append(c.vips, baseVIP6)
	}
	c.setup = Setup{
		Interval: 100 * time.Millisecond,
		Weight:   -60,
		Settle:   1500 * time.Millisecond,
		ProbeGap: probeGap,
	}
	for _, v := range c.vips {
		c.setup.VIPs = append(c.setup.VIPs, v.Addr())
	}
	for _, d := range daemons {
		switch d {
		case vrrpdDaemon:
		case keepalivedDaemon:
			netnstest.RequireCommand(t, "keepalived")
		default:
			t.Fatalf("unknown daemon %q: vrrpd or keepalived", d)
		}
	}

	watchStalls(t, c.rec)
	c.lan = netnstest.NewLAN(t)
	t.Cleanup(func() {
		for _, r := range c.relays {
			r.stop()
		}
	})
	// The switch is a switch: no addresses of its own, IPv6 included, on any port.
	c.sysctl(c.lan.Switch, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	for i, d := range daemons {
		n := &node{t: t, c: c, idx: i, name: fmt.Sprintf("n%d", i+1), daemon: d, port: fmt.Sprintf("p%d", i+1),
			addr4: netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), addr6: netip.MustParseAddr(fmt.Sprintf("2001:db8::%d", i+1)),
			priority: priorities[i], vips: slices.Clone(c.vips), tracked: true}
		n.dir = filepath.Join(c.dir, n.name)
		if err := os.Mkdir(n.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		notable, strip := vrrpdNotable, vrrpdStrip
		if d == keepalivedDaemon {
			notable, strip = keepalivedNotable, keepalivedStrip
		}
		n.log = &daemonLog{rec: c.rec, node: i, notable: notable, strip: strip}
		n.ns = c.lan.Node(n.name, fmt.Sprintf("02:00:00:00:01:%02x", i+1), n.addr4.String()+"/24", n.addr6.String()+"/64")
		// IPv6 addresses stay on a link that goes down, as IPv4 ones do.
		c.sysctl(n.ns, "net.ipv6.conf.eth0.keep_addr_on_down=1")
		for _, f := range []string{"lower", "fault"} {
			if err := os.WriteFile(n.path(f), []byte("0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c.nodes = append(c.nodes, n)
		c.setup.Nodes = append(c.setup.Nodes, NodeSetup{Name: n.name, Daemon: d, Addr: n.addr4, Priority: n.priority})
		watchAddresses(t, c.rec, n)
		respond(t, n)
	}
	c.client = c.lan.Node("cl", "02:00:00:00:01:0a", "192.0.2.10/24", "2001:db8::10/64")
	// The client takes every gratuitous ARP at once: Linux otherwise ignores an update
	// within a second of the last (locktime), and a failback within a second would look
	// like an outage of the cluster.
	c.sysctl(c.client, "net.ipv4.neigh.eth0.locktime=0")
	if err := c.nftables(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cluster) sysctl(ns *netnstest.NS, kvs ...string) {
	c.t.Helper()
	for _, kv := range kvs {
		if out, err := ns.Exec("sysctl", "-qw", kv); err != nil {
			c.t.Fatalf("sysctl %s in %s: %v: %s", kv, ns.Name, err, out)
		}
	}
}

// nftables writes the switch's rules: one table of the bridge family, replaced whole
// in one transaction.
func (c *cluster) nftables() error {
	var b strings.Builder
	b.WriteString("add table bridge chaos\nflush table bridge chaos\ntable bridge chaos {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n")
	var idx []int
	for i := range c.rules {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		for _, r := range c.rules[i] {
			fmt.Fprintf(&b, "    %s\n", r)
		}
	}
	b.WriteString("  }\n}\n")
	path := filepath.Join(c.dir, "switch.nft")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	_, err := run(context.Background(), "ip", "netns", "exec", c.lan.Switch.Name, "nft", "-f", path)
	return err
}

// ipAddrs returns the addresses `ip addr` lists on a node's eth0, its own excepted.
func (c *cluster) ipAddrs(n *node) ([]netip.Addr, error) {
	out, err := run(context.Background(), "ip", "-n", n.ns.Name, "-j", "addr", "show", "dev", "eth0")
	if err != nil {
		return nil, err
	}
	var links []struct {
		AddrInfo []struct {
			Local netip.Addr `json:"local"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		return nil, fmt.Errorf("ip -j addr: %w: %s", err, out)
	}
	var vips []netip.Addr
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if !n.own(a.Local) {
				vips = append(vips, a.Local)
			}
		}
	}
	return vips, nil
}

// snapshot records what `ip addr` says of every node, for the checker to compare with
// the timeline.
func (c *cluster) snapshot() {
	for _, n := range c.nodes {
		at := time.Now()
		vips, err := c.ipAddrs(n)
		if err != nil {
			c.rec.harnessProblem("snapshot of %s: %v", n.name, err)
			continue
		}
		c.rec.add(Event{Kind: Snapshot, Node: n.idx, At: at, Until: time.Now(), Addrs: vips})
	}
}

// stopAll stops every daemon gracefully, at once, and records the end.
func (c *cluster) stopAll() {
	for _, n := range c.nodes {
		if n.running() {
			c.rec.add(Event{Kind: DaemonDown, Node: n.idx, Text: "term"})
			n.proc.expected.Store(true)
			n.proc.Signal(syscall.SIGTERM)
		}
	}
	for _, n := range c.nodes {
		if n.proc != nil && !n.proc.Wait(stopWait) {
			c.rec.add(Event{Kind: DaemonProblem, Node: n.idx, Text: fmt.Sprintf("did not stop within %v of SIGTERM: killed", stopWait)})
			if err := n.killAll(); err != nil {
				c.rec.harnessProblem("%v", err)
			}
		}
		if n.daemon == keepalivedDaemon {
			// keepalived's VRRP process must not outlive its parent.
			if pid, err := n.childPID(); err == nil {
				c.rec.add(Event{Kind: DaemonProblem, Node: n.idx, Text: fmt.Sprintf("keepalived's VRRP process %d outlived its parent: killed", pid)})
				_ = syscall.Kill(pid, syscall.SIGKILL)
				if err := daemons.Reap(pid, 5*time.Second); err != nil {
					c.rec.harnessProblem("%v", err)
				}
			}
		}
	}
}

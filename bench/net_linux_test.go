package bench

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/internal/probe"
)

// node is a namespace that runs one daemon at a time.
type node struct {
	name string
	idx  int // 1 or 2: the higher priority is node 1
	ns   *netnstest.NS
	dir  string
	mac  string
	// ifaces are its links, and ports their ports on the bridges, in the switches.
	ifaces []string
	ports  []port
	own    []netip.Addr // its own addresses, never removed
	run    *daemonRun   // the daemon running, or nil
}

// port is a node's port on a bridge: the switch namespace and the port's name there.
type port struct {
	sw   *netnstest.NS
	name string
}

func (n *node) path(name string) string { return filepath.Join(n.dir, name) }

// newNode makes node idx (n1 or n2) in a namespace of its own, not attached yet.
func newNode(t *testing.T, idx int) *node {
	t.Helper()
	n := &node{name: fmt.Sprintf("n%d", idx), idx: idx, dir: t.TempDir(), mac: fmt.Sprintf("02:00:00:00:01:%02x", idx)}
	n.ns = netnstest.NewNS(t, n.name)
	return n
}

// attach puts the node on lan by ifname, with the addresses given, and keeps its IPv6
// addresses when the link goes down, as IPv4 ones are kept.
func (n *node) attach(t *testing.T, lan *netnstest.LAN, ifname string, addrs ...string) {
	t.Helper()
	n.ifaces = append(n.ifaces, ifname)
	n.ports = append(n.ports, port{lan.Switch, lan.Attach(n.ns, ifname, n.mac)})
	for _, a := range addrs {
		n.ns.IP("addr", "add", a, "dev", ifname)
		n.own = append(n.own, netip.MustParsePrefix(a).Addr())
	}
	if out, err := n.ns.Exec("sysctl", "-qw", "net.ipv6.conf."+ifname+".keep_addr_on_down=1"); err != nil {
		t.Fatalf("sysctl: %v: %s", err, out)
	}
}

// cleanVIPs removes every address but the node's own and link-local ones from its
// links: what a killed daemon left behind.
func (n *node) cleanVIPs() error {
	var links []struct {
		Name     string `json:"ifname"`
		AddrInfo []struct {
			Local     netip.Addr `json:"local"`
			PrefixLen int        `json:"prefixlen"`
		} `json:"addr_info"`
	}
	out, err := n.ns.Exec("ip", "-j", "addr", "show")
	if err != nil {
		return fmt.Errorf("ip addr on %s: %w: %s", n.name, err, out)
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		return fmt.Errorf("ip -j addr on %s: %w", n.name, err)
	}
	var batch strings.Builder
	for _, l := range links {
		if !slices.Contains(n.ifaces, l.Name) {
			continue
		}
		for _, a := range l.AddrInfo {
			if slices.Contains(n.own, a.Local) || a.Local.IsLinkLocalUnicast() {
				continue
			}
			fmt.Fprintf(&batch, "addr del %s/%d dev %s\n", a.Local, a.PrefixLen, l.Name)
		}
	}
	if batch.Len() == 0 {
		return nil
	}
	path := n.path("clean.batch")
	if err := os.WriteFile(path, []byte(batch.String()), 0o644); err != nil {
		return err
	}
	if out, err := n.ns.Exec("ip", "-force", "-batch", path); err != nil {
		return fmt.Errorf("remove VIPs on %s: %w: %s", n.name, err, out)
	}
	return nil
}

// setFile writes a tracked file of the node: "1" fails it, "0" passes it.
func (n *node) setFile(name string, failing bool) error {
	v := "0\n"
	if failing {
		v = "1\n"
	}
	return os.WriteFile(n.path(name), []byte(v), 0o644)
}

// pair is the network of the failover scenarios: two nodes and a client on one bridge,
// node i with 192.0.2.i/24, the client .10; the VIP is 192.0.2.100.
type pair struct {
	t      *testing.T
	lan    *netnstest.LAN
	nodes  [2]*node
	client *netnstest.NS
	vip    netip.Prefix
	rec    *recorder
	prober *probe.Client
	cut    bool
}

// probeEvery is how often the client asks who serves the VIP.
const probeEvery = 3 * time.Millisecond

func newPair(t *testing.T) *pair {
	t.Helper()
	p := &pair{t: t, lan: netnstest.NewLAN(t), vip: netip.MustParsePrefix("192.0.2.100/24"), rec: &recorder{}}
	for i := range p.nodes {
		n := newNode(t, i+1)
		n.attach(t, p.lan, "eth0", fmt.Sprintf("192.0.2.%d/24", i+1))
		r, err := probe.Respond(n.ns.Do, n.name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		p.nodes[i] = n
	}
	p.client = p.lan.Node("cl", "02:00:00:00:01:0a", "192.0.2.10/24")
	watchNeighbours(t, p.client, p.rec)
	var err error
	p.prober, err = probe.Start(p.client.Do, []netip.Addr{p.vip.Addr()}, probeEvery, p.rec.answer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.prober.Stop)
	t.Cleanup(func() { _ = p.heal() })
	return p
}

// split makes the bridge drop every frame between the two nodes, and none to or from
// the client: each node takes the other for gone, and the client still reaches both.
func (p *pair) split() error {
	a, b := p.nodes[0].ports[0].name, p.nodes[1].ports[0].name
	rules := fmt.Sprintf("add table bridge bench\nflush table bridge bench\ntable bridge bench {\n  chain forward {\n"+
		"    type filter hook forward priority 0; policy accept;\n    iifname %q oifname %q drop\n    iifname %q oifname %q drop\n  }\n}\n", a, b, b, a)
	path := filepath.Join(p.nodes[0].dir, "split.nft")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		return err
	}
	if out, err := p.lan.Switch.Exec("nft", "-f", path); err != nil {
		return fmt.Errorf("nft: %w: %s", err, out)
	}
	p.cut = true
	return nil
}

// heal undoes split.
func (p *pair) heal() error {
	if !p.cut {
		return nil
	}
	if out, err := p.lan.Switch.Exec("nft", "delete", "table", "bridge", "bench"); err != nil {
		return fmt.Errorf("nft: %w: %s", err, out)
	}
	p.cut = false
	return nil
}

// setPort takes a node's port on the bridge down or up: the node is gone from the LAN
// as if its power were cut, and back.
func setPort(pt port, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	if out, err := pt.sw.Exec("ip", "link", "set", pt.name, state); err != nil {
		return fmt.Errorf("port %s %s: %w: %s", pt.name, state, err, out)
	}
	return nil
}

// neighbourEvent is a change of the client's neighbour entry for an address.
type neighbourEvent struct {
	at    time.Time
	addr  netip.Addr
	mac   string
	state string
}

// recorder keeps the client's answers and neighbour changes between begin and the next
// begin; it is safe for concurrent use.
type recorder struct {
	mu      sync.Mutex
	on      bool
	answers []probe.Answer
	neigh   []neighbourEvent
}

func (r *recorder) answer(a probe.Answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.answers = append(r.answers, a)
	}
}

func (r *recorder) neighbour(e neighbourEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.neigh = append(r.neigh, e)
	}
}

// begin forgets what was recorded and records from now on.
func (r *recorder) begin() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on, r.answers, r.neigh = true, nil, nil
}

// stop stops recording, keeping what was recorded.
func (r *recorder) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
}

// snapshot returns what was recorded so far.
func (r *recorder) snapshot() ([]probe.Answer, []neighbourEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.answers), slices.Clone(r.neigh)
}

// servedBy reports whether the last k answers came from node name, the last of them
// sent within the last 100 ms.
func (r *recorder) servedBy(name string, k int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.answers) < k {
		return false
	}
	for _, a := range r.answers[len(r.answers)-k:] {
		if a.From != name {
			return false
		}
	}
	return time.Since(r.answers[len(r.answers)-1].Sent) < 100*time.Millisecond
}

// watchNeighbours records the client's neighbour changes until the test ends.
func watchNeighbours(t *testing.T, ns *netnstest.NS, rec *recorder) {
	t.Helper()
	subscribe := func(h *netns.NsHandle, updates chan netlink.NeighUpdate, done chan struct{}) error {
		return netlink.NeighSubscribeWithOptions(updates, done, netlink.NeighSubscribeOptions{Namespace: h, ReceiveBufferSize: 1 << 20})
	}
	netnstest.Follow(t, ns, 256, subscribe, func(u netlink.NeighUpdate) {
		if a, ok := netip.AddrFromSlice(u.IP); ok {
			rec.neighbour(neighbourEvent{at: time.Now(), addr: a.Unmap(), mac: u.HardwareAddr.String(), state: neighState(u.State)})
		}
	})
}

func neighState(s int) string {
	for _, st := range []struct {
		bit  int
		name string
	}{{netlink.NUD_REACHABLE, "REACHABLE"}, {netlink.NUD_STALE, "STALE"}, {netlink.NUD_DELAY, "DELAY"},
		{netlink.NUD_PROBE, "PROBE"}, {netlink.NUD_FAILED, "FAILED"}, {netlink.NUD_INCOMPLETE, "INCOMPLETE"}} {
		if s&st.bit != 0 {
			return st.name
		}
	}
	return fmt.Sprintf("state %#x", s)
}

// links is the network of the scale scenarios: four bridges, each node on all four by
// eth0..eth3, node i with 203.0.113.(16 x link + i)/28 on each.
type links struct {
	lans  [4]*netnstest.LAN
	nodes [2]*node
}

func newLinks(t *testing.T) *links {
	t.Helper()
	l := &links{}
	for i := range l.nodes {
		l.nodes[i] = newNode(t, i+1)
	}
	for li := range l.lans {
		l.lans[li] = netnstest.NewLAN(t)
		for _, n := range l.nodes {
			n.attach(t, l.lans[li], fmt.Sprintf("eth%d", li), fmt.Sprintf("203.0.113.%d/28", 16*li+n.idx))
		}
	}
	return l
}

// waitFor polls cond every 5 ms until it holds, or returns an error saying what after d.
func waitFor(d time.Duration, cond func() bool, format string, args ...any) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: "+format, append([]any{d}, args...)...)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

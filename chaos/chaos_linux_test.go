package chaos

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// The run TestChaos makes; `make chaos` sets them.
var (
	cyclesFlag   = flag.Int("cycles", 30, "cycles of faults")
	seedFlag     = flag.Uint64("seed", CISeed, "seed of the fault plan")
	nodesFlag    = flag.String("nodes", "vrrpd,vrrpd,vrrpd", "the daemon of each node, vrrpd or keepalived, comma-separated")
	quietFlag    = flag.Duration("quiet", 2*time.Second, "quiet period after each cycle, before the checks")
	ipv6Flag     = flag.Bool("ipv6", true, "an IPv6 VIP (a second instance) beside the IPv4 one")
	reportFlag   = flag.String("report", "", "also write the report to this file")
	summaryFlag  = flag.String("summary", "", "write the run's totals to this file, as JSON (see Summary)")
	plainFlag    = flag.Bool("plain", false, "run vrrpd as shipped, without the race detector, as a benchmark does")
	timelineFlag = flag.String("timeline", "", "write the whole timeline to this file")
)

// vrrpdBinary is the binary under test, built once.
var vrrpdBinary netnstest.Vrrpd

func TestMain(m *testing.M) {
	// Orphans come to this process, so that it can reap keepalived's VRRP process after
	// killing its parent: see node.killAll.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "prctl PR_SET_CHILD_SUBREAPER:", err)
		os.Exit(1)
	}
	code := m.Run()
	vrrpdBinary.Remove()
	os.Exit(code)
}

// TestChaos runs the plan of -seed for -cycles on a cluster of -nodes.
func TestChaos(t *testing.T) {
	runChaos(t, strings.Split(*nodesFlag, ","), *cyclesFlag, *seedFlag)
}

// TestChaosMixed runs a shorter plan on a mixed cluster: keepalived as the second node,
// between two vrrpd.
func TestChaosMixed(t *testing.T) {
	runChaos(t, []string{vrrpdDaemon, keepalivedDaemon, vrrpdDaemon}, 10, *seedFlag)
}

func runChaos(t *testing.T, daemons []string, cycles int, seed uint64) {
	netnstest.Require(t)
	if len(daemons) < 2 || len(daemons) > len(priorities) {
		t.Fatalf("%d nodes: want 2 to %d", len(daemons), len(priorities))
	}
	vrrpdBinary.Plain = *plainFlag
	plan := NewPlan(seed, cycles, len(daemons))
	c := newCluster(t, daemons, *ipv6Flag)
	c.quiet(*quietFlag)
	c.rec.add(Event{Kind: Settled, Node: -1, Cycle: 0})
	for i, cy := range plan.Cycles {
		c.runCycle(i+1, cy, *quietFlag)
	}
	c.stopAll()
	time.Sleep(300 * time.Millisecond) // the last address events arrive
	c.rec.add(Event{Kind: Final, Node: -1})
	c.snapshot()
	c.prober.finish()

	r := Check(c.setup, plan, c.rec.all())
	out := r.String()
	fmt.Print(out)
	if *reportFlag != "" {
		if err := os.WriteFile(*reportFlag, []byte(out), 0o644); err != nil {
			t.Error(err)
		}
	}
	if *summaryFlag != "" {
		b, err := json.Marshal(r.Summary())
		if err == nil {
			err = os.WriteFile(*summaryFlag, b, 0o644)
		}
		if err != nil {
			t.Error(err)
		}
	}
	if *timelineFlag != "" {
		if err := os.WriteFile(*timelineFlag, []byte(FormatTimeline(c.setup, plan, c.rec.all())), 0o644); err != nil {
			t.Error(err)
		}
	}
	if r.Failed() > 0 {
		for _, n := range c.nodes {
			t.Logf("last lines of %s (%s):\n%s", n.name, n.daemon, n.log)
		}
		t.Errorf("%d violations (seed %d, nodes %s): see the report above", r.Failed(), seed, strings.Join(daemons, ","))
	}
}

// quiet waits d, restarting a daemon that died on its own so that the next cycle
// starts from a whole cluster.
func (c *cluster) quiet(d time.Duration) {
	time.Sleep(d)
	for _, n := range c.nodes {
		if !n.running() {
			if err := n.start(); err != nil {
				c.rec.harnessProblem("restart %s: %v", n.name, err)
			}
		}
	}
}

// runCycle applies the cycle's faults on schedule, repairs them, waits the quiet
// period, and records the marks the checker needs.
func (c *cluster) runCycle(i int, cy Cycle, quiet time.Duration) {
	type step struct {
		at     time.Duration
		fault  int
		repair bool
	}
	var steps []step
	for fi, f := range cy.Faults {
		steps = append(steps, step{f.At, fi, false}, step{f.End(), fi, true})
	}
	slices.SortStableFunc(steps, func(a, b step) int {
		switch {
		case a.at != b.at:
			return int(a.at - b.at)
		case a.repair != b.repair: // an apply before a repair at the same time
			if a.repair {
				return 1
			}
			return -1
		}
		return 0
	})
	start := time.Now()
	c.rec.add(Event{Kind: CycleStart, Node: -1, Cycle: i, At: start})
	holdEnd := false
	for _, s := range steps {
		time.Sleep(time.Until(start.Add(s.at)))
		f := cy.Faults[s.fault]
		if !s.repair {
			c.rec.add(Event{Kind: Applied, Node: -1, Cycle: i, Fault: s.fault, Text: f.String()})
			if err := c.apply(f); err != nil {
				c.rec.harnessProblem("apply %v: %v", f, err)
			}
			continue
		}
		if !holdEnd {
			holdEnd = true
			c.rec.add(Event{Kind: HoldEnd, Node: -1, Cycle: i})
		}
		if err := c.repair(f); err != nil {
			c.rec.harnessProblem("repair %v: %v", f, err)
		}
		c.rec.add(Event{Kind: Repaired, Node: -1, Cycle: i, Fault: s.fault, Text: f.String()})
	}
	c.quiet(quiet)
	c.rec.add(Event{Kind: Settled, Node: -1, Cycle: i})
	c.snapshot()
	for _, n := range c.nodes {
		n.view()
	}
}

// reloadTrackLag is how long a ReloadTrack fault lets the failing check act before the
// reload that drops it.
const reloadTrackLag = 300 * time.Millisecond

// apply puts fault f in force.
func (c *cluster) apply(f Fault) error {
	if f.Node == AllNodes {
		switch f.Kind {
		case ReloadVIPs:
			for _, n := range c.nodes {
				n.vips = append(slices.Clone(c.vips), extraVIP)
				if err := n.reload(); err != nil {
					return err
				}
			}
			return nil
		}
		return fmt.Errorf("%s on every node: not a fault of every node", f.Kind)
	}
	n := c.nodes[f.Node]
	switch f.Kind {
	case Kill:
		return n.kill()
	case Term:
		return n.term()
	case LinkDown:
		c.rec.add(Event{Kind: LinkSetDown, Node: n.idx})
		return c.ip(n, "link", "set", "eth0", "down")
	case Partition:
		c.rec.add(Event{Kind: Cut, Node: n.idx})
		c.rules[n.idx] = []string{fmt.Sprintf("iifname %q drop", n.port), fmt.Sprintf("oifname %q drop", n.port)}
		return c.nftables()
	case Loss:
		c.rec.add(Event{Kind: Impaired, Node: n.idx, Text: fmt.Sprintf("loss %d %%", f.Percent)})
		c.rules[n.idx] = []string{
			fmt.Sprintf("iifname %q numgen random mod 100 < %d drop", n.port, f.Percent),
			fmt.Sprintf("oifname %q numgen random mod 100 < %d drop", n.port, f.Percent),
		}
		return c.nftables()
	case Delay:
		c.rec.add(Event{Kind: Impaired, Node: n.idx, Text: fmt.Sprintf("delay %v", f.Delay)})
		return c.delay(n, f.Delay)
	case Reload:
		return n.reload()
	case ReloadPriority:
		n.priority = f.Priority
		return n.reload()
	case ReloadTrack:
		if err := n.setCheck("lower", true); err != nil {
			return err
		}
		time.Sleep(reloadTrackLag)
		n.tracked = false
		return n.reload()
	case SecondRun:
		n.secondRun()
		return nil
	case CheckLower:
		return n.setCheck("lower", true)
	case CheckFault:
		return n.setCheck("fault", true)
	}
	return fmt.Errorf("unknown fault %q", f.Kind)
}

// repair ends fault f.
func (c *cluster) repair(f Fault) error {
	if f.Node == AllNodes {
		for _, n := range c.nodes {
			n.vips = slices.Clone(c.vips)
			if err := n.reload(); err != nil {
				return err
			}
		}
		return nil
	}
	n := c.nodes[f.Node]
	switch f.Kind {
	case Kill, Term:
		return n.start()
	case LinkDown:
		err := c.ip(n, "link", "set", "eth0", "up")
		c.rec.add(Event{Kind: LinkSetUp, Node: n.idx})
		return err
	case Partition, Loss:
		delete(c.rules, n.idx)
		err := c.nftables()
		kind := Joined
		if f.Kind == Loss {
			kind = Unimpaired
		}
		c.rec.add(Event{Kind: kind, Node: n.idx})
		return err
	case Delay:
		err := c.undelay(n)
		c.rec.add(Event{Kind: Unimpaired, Node: n.idx})
		return err
	case Reload:
		return n.reload()
	case ReloadPriority:
		n.priority = priorities[n.idx]
		return n.reload()
	case ReloadTrack:
		if err := n.setCheck("lower", false); err != nil {
			return err
		}
		n.tracked = true
		return n.reload()
	case SecondRun:
		return nil
	case CheckLower:
		return n.setCheck("lower", false)
	case CheckFault:
		return n.setCheck("fault", false)
	}
	return fmt.Errorf("unknown fault %q", f.Kind)
}

// ip runs `ip` in the node's namespace.
func (c *cluster) ip(n *node, args ...string) error {
	_, err := run(context.Background(), "ip", append([]string{"-n", n.ns.Name}, args...)...)
	return err
}

// swIP runs `ip` in the switch's namespace.
func (c *cluster) swIP(args ...string) error {
	_, err := run(context.Background(), "ip", append([]string{"-n", c.lan.Switch.Name}, args...)...)
	return err
}

// delay takes the node's port off the bridge and relays its frames, delayed, to a veth
// on the bridge (q<port>, whose peer is r<port>).
func (c *cluster) delay(n *node, d time.Duration) error {
	q, r := "q"+n.port, "r"+n.port
	for _, args := range [][]string{
		{"link", "set", n.port, "nomaster"},
		{"link", "add", q, "type", "veth", "peer", "name", r},
		{"link", "set", q, "master", "br0", "up"},
		{"link", "set", r, "up"},
	} {
		if err := c.swIP(args...); err != nil {
			return err
		}
	}
	rl, err := startRelay(c.lan.Switch, n.port, r, d)
	if err != nil {
		return err
	}
	c.relays[n.idx] = rl
	return nil
}

// undelay ends the relay and puts the port back on the bridge.
func (c *cluster) undelay(n *node) error {
	if rl := c.relays[n.idx]; rl != nil {
		rl.stop()
		delete(c.relays, n.idx)
	}
	err := c.swIP("link", "del", "q"+n.port)
	if err2 := c.swIP("link", "set", n.port, "master", "br0"); err == nil {
		err = err2
	}
	return err
}

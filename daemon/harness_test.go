package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os/user"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/fake"
	"github.com/vrrpd/vrrpd/tracker"
	"github.com/vrrpd/vrrpd/vrrp"
)

// The daemon on in-memory sockets and addresses, with a clock that only the test moves:
// every node of a lan shares it, and the lan lets every daemon handle what is due before
// time moves on, so no test depends on a timer firing on time on a loaded machine.

const interval = 20 * time.Millisecond

// manualClock is a Clock whose time moves only by advance.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) NewTimer() Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{c: c, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t
}

type manualTimer struct {
	c      *manualClock
	ch     chan time.Time
	at     time.Time
	active bool
}

func (t *manualTimer) C() <-chan time.Time { return t.ch }

// ResetExact is Reset: a manual clock is exact.
func (t *manualTimer) ResetExact(d time.Duration) { t.Reset(d) }

// Reset is a system timer's: a timer reset to now or earlier is ready at once.
func (t *manualTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	t.at, t.active = t.c.now.Add(d), true
	if d <= 0 {
		t.active = false
		t.ch <- t.c.now
	}
}

func (t *manualTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.active = false
	t.c.timers = slices.DeleteFunc(t.c.timers, func(o *manualTimer) bool { return o == t })
}

// fireDue fires the timers due now and reports whether any fired or waits to be read.
func (c *manualClock) fireDue() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	busy := false
	for _, t := range c.timers {
		if t.active && !t.at.After(c.now) {
			t.active = false
			t.ch <- c.now
		}
		busy = busy || len(t.ch) > 0
	}
	return busy
}

// next returns the earliest deadline of a running timer, if any.
func (c *manualClock) next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var at time.Time
	for _, t := range c.timers {
		if t.active && (at.IsZero() || t.at.Before(at)) {
			at = t.at
		}
	}
	return at, !at.IsZero()
}

func (c *manualClock) set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}

// lan is nodes on one fake segment and one manual clock.
type lan struct {
	*fake.Segment
	t     *testing.T
	clock *manualClock
	nodes []*node
}

func newLAN(t *testing.T) *lan {
	return &lan{Segment: fake.NewSegment(), t: t, clock: newManualClock()}
}

// settle lets every daemon handle what is due now: fired timers, packets on the wire and
// in queues, until a pass finds nothing left twice in a row.
func (l *lan) settle() {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for quiet := 0; quiet < 2; {
		if time.Now().After(deadline) {
			l.t.Fatal("the daemons did not settle within 10 s")
		}
		busy := l.clock.fireDue()
		for _, n := range l.nodes {
			busy = busy || !n.host.Idle()
		}
		if busy {
			quiet = 0
			time.Sleep(20 * time.Microsecond)
			continue
		}
		handled := false
		for _, n := range l.nodes {
			handled = n.barrier() || handled
		}
		if handled {
			quiet = 0
			continue
		}
		quiet++
	}
}

// run moves the clock on by d, timer by timer, letting the daemons act at each.
func (l *lan) run(d time.Duration) {
	l.t.Helper()
	l.settle()
	end := l.clock.Now().Add(d)
	for {
		at, ok := l.clock.next()
		if !ok || at.After(end) {
			break
		}
		l.clock.set(at)
		l.settle()
	}
	l.clock.set(end)
	l.settle()
}

// until runs the clock in steps of a millisecond until cond holds: for at most 10 s of
// the clock's time, and then, for what runs outside it (hooks, scripts, a stop that
// waits for a tracker), 10 s of real time more, the clock moving a millisecond every
// 5 ms.
func (l *lan) until(what string, cond func() bool) {
	l.t.Helper()
	simulated := l.clock.Now().Add(10 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		switch {
		case l.clock.Now().Before(simulated):
			l.run(time.Millisecond)
		case time.Now().Before(deadline):
			time.Sleep(5 * time.Millisecond)
			l.run(time.Millisecond)
		default:
			l.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

type node struct {
	name   string
	lan    *lan
	host   *fake.Host
	addrs  *fake.Addresses
	routes *fake.Routes
	vmacs  *fake.Links
	ann    *fake.Announcer
	ifs    *fakeInterfaces
	d      *Daemon
	cfg    *config.Config
	links  chan netops.Event
	// received is the number of packets the instances had handled at the last barrier.
	received map[*instance]uint64
	// bfdHandled is the number of events the BFD sessions had handled at the last barrier.
	bfdHandled uint64
}

// fakeInterfaces reads node addresses from the fake Addresses' seeds, and link states
// from down.
type fakeInterfaces struct {
	addrs []netip.Addr
	mu    sync.Mutex
	down  map[string]bool
	// asked counts the questions, "Addrs eth0" or "Up eth0".
	asked map[string]int
}

func (f *fakeInterfaces) Addrs(ifname string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("Addrs " + ifname)
	return slices.Clone(f.addrs), nil
}

// count records a question. f.mu is held.
func (f *fakeInterfaces) count(q string) {
	if f.asked == nil {
		f.asked = map[string]int{}
	}
	f.asked[q]++
}

// questions returns the questions asked so far and forgets them.
func (f *fakeInterfaces) questions() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.asked
	f.asked = nil
	return q
}

func (f *fakeInterfaces) setAddrs(addrs ...netip.Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addrs = addrs
}

func (f *fakeInterfaces) Up(ifname string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("Up " + ifname)
	return !f.down[ifname], nil
}

func (f *fakeInterfaces) setDown(ifname string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[ifname] = down
}

func instanceCfg(name string, prio uint8, vips ...string) config.Instance {
	in := config.Instance{
		Name: name, Interface: "eth0", VRID: 51, Priority: prio, Version: vrrp.Version3,
		AdvertInterval: interval, Preempt: true, DownTimerAdverts: 3,
		MakeBeforeBreak: true, FastHandover: true, HealSplitBrain: true,
		GARP: config.GARP{Repeat: 2, Delay: 0, RefreshRepeat: 1},
	}
	for _, v := range vips {
		in.VIPs = append(in.VIPs, config.VIP{Prefix: netip.MustParsePrefix(v)})
	}
	return in
}

// newNode adds a node at addr to l, with a daemon of the instances built but not
// started.
func newNode(t *testing.T, l *lan, name, addr string, instances ...config.Instance) *node {
	t.Helper()
	return newNodeWith(t, l, name, addr, func(c *config.Config) { c.Instances = instances }, tracker.Env{})
}

// newNodeWith makes a node whose configuration setup fills in, with what the trackers
// need of the system.
func newNodeWith(t *testing.T, l *lan, name, addr string, setup func(*config.Config), env tracker.Env) *node {
	t.Helper()
	cfg := &config.Config{Node: name, ScriptUser: currentUser(t)}
	setup(cfg)
	n := addNode(t, l, name, addr, cfg)
	d, err := n.newDaemon(Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), HookTimeout: 5 * time.Second, TrackerEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	n.d = d
	return n
}

// addNode adds a node with the configuration cfg and no daemon yet: newDaemon makes it.
func addNode(t *testing.T, l *lan, name, addr string, cfg *config.Config) *node {
	t.Helper()
	a := netip.MustParseAddr(addr)
	n := &node{name: name, lan: l, host: fake.NewHost(name), addrs: fake.NewAddresses(), routes: fake.NewRoutes(), vmacs: fake.NewLinks("eth0"), ann: fake.NewAnnouncer(l.clock.Now),
		ifs: &fakeInterfaces{addrs: []netip.Addr{a}, down: map[string]bool{}}, cfg: cfg,
		links: make(chan netops.Event, 16), received: map[*instance]uint64{}}
	n.host.Attach("eth0", l.Segment, a)
	n.addrs.AddInterface("eth0", netip.PrefixFrom(a, 24))
	l.nodes = append(l.nodes, n)
	return n
}

// newDaemon returns a daemon of n's configuration on n's system and the lan's clock,
// stopped when the test ends.
func (n *node) newDaemon(opts Options) (*Daemon, error) {
	opts.Clock = n.lan.clock
	sys := System{Open: n.host.Open, Addresses: n.addrs, Routes: n.routes, Links: n.vmacs, Announcer: n.ann, Interfaces: n.ifs, Events: n.links, BFD: n.host}
	d, err := New(n.cfg, sys, opts)
	if err != nil {
		return nil, err
	}
	n.lan.t.Cleanup(func() { n.lan.stopDaemon(d) })
	return d, nil
}

// stopDaemon stops d while the clock runs: a master keeps its VIPs until the next master
// announces, or its Master_Down_Interval passes.
func (l *lan) stopDaemon(d *Daemon) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { d.Stop(ctx); close(done) }()
	l.until("the daemon to stop", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
}

func currentUser(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

func (n *node) start(t *testing.T) {
	t.Helper()
	if err := n.d.Start(); err != nil {
		t.Fatal(err)
	}
	n.lan.settle()
}

// stop stops the node's daemon, which runs the stop hooks, within 10 s.
func (n *node) stop(t *testing.T) {
	t.Helper()
	n.lan.stopDaemon(n.d)
	n.lan.settle()
}

// barrier waits until every instance of n has handled the packets queued for it, and
// reports whether any had new ones since the last barrier.
func (n *node) barrier() bool {
	if n.d == nil {
		return false
	}
	n.d.mu.Lock()
	instances := slices.Clone(n.d.instances)
	n.d.mu.Unlock()
	handled := false
	for _, in := range instances {
		var got uint64
		if !in.do(func() { got = in.received }) {
			continue
		}
		if got != n.received[in] {
			n.received[in], handled = got, true
		}
	}
	n.d.bfd.sync()
	if got := n.d.bfd.handled.Load(); got != n.bfdHandled || n.d.bfd.pending.Load() > 0 {
		n.bfdHandled, handled = got, true
	}
	return handled
}

func (n *node) instance(t *testing.T, name string) control.InstanceStatus {
	t.Helper()
	for _, in := range n.d.Status().Instances {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("%s: no instance %s", n.name, name)
	return control.InstanceStatus{}
}

func (n *node) waitState(t *testing.T, instance, state string) {
	t.Helper()
	n.lan.until(fmt.Sprintf("%s %s to be %s", n.name, instance, state), func() bool { return n.instance(t, instance).State == state })
}

func (n *node) hasVIP(vip string) bool {
	return n.addrs.Has("eth0", netip.MustParseAddr(vip))
}

func pair(t *testing.T) (*lan, *node, *node) {
	l := newLAN(t)
	a := newNode(t, l, "a", "192.0.2.1", instanceCfg("web", 150, "192.0.2.100/24"))
	b := newNode(t, l, "b", "192.0.2.2", instanceCfg("web", 100, "192.0.2.100/24"))
	a.start(t)
	b.start(t)
	a.waitState(t, "web", "MASTER")
	b.waitState(t, "web", "BACKUP")
	return l, a, b
}

package vrrp

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// This file is a deterministic in-memory network of routers on a fake clock: adverts
// are encoded, carried with a delay, maybe lost or cut by a partition, and decoded by
// the receivers' validators, so the codec runs in every scenario too.

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// epoch is the simulated start of time; its value only shows in failures.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type transitionAt struct {
	At time.Time
	Transition
}

type simNode struct {
	name string
	cfg  Config
	r    *Router
	up   bool // false while crashed or stopped
	// stopping is set while a stopped router holds its VIPs for the next master.
	stopping bool
	group    int  // nodes hear each other only within one group
	deaf     bool // hears nothing, as behind a firewall that drops what comes in
	hasVIPs  bool
	// Counters of actions, for assertions.
	announces   int
	announcedAt []time.Time
	holds       int
	splitBrains int
	vipLog      []vipChange
	sent        []Advertisement
	sentAt      []time.Time
	transitions []transitionAt
	// afterActions, when set, runs after the node's actions are applied: a sync group
	// in tests.
	afterActions func()
	wants        int // WantMaster{true} actions
	lowerHeard   int // LowerPriorityHeard actions
}

// vipChange is when a node added or removed its VIPs.
type vipChange struct {
	at  time.Time
	has bool
}

// vipsAt reports whether n held the VIPs just after t.
func (n *simNode) vipsAt(t time.Time) bool {
	has := false
	for _, c := range n.vipLog {
		if c.at.After(t) {
			break
		}
		has = c.has
	}
	return has
}

func (n *simNode) state() State {
	if !n.up {
		return Initialize
	}
	return n.r.State()
}

// lastTransitionTo returns the time of the most recent transition to st.
func (n *simNode) lastTransitionTo(st State) (time.Time, bool) {
	for i := len(n.transitions) - 1; i >= 0; i-- {
		if n.transitions[i].To == st {
			return n.transitions[i].At, true
		}
	}
	return time.Time{}, false
}

type delivery struct {
	at   time.Time
	seq  uint64
	to   *simNode
	pkt  []byte
	meta Meta
}

type deliveries []*delivery

func (q deliveries) Len() int { return len(q) }
func (q deliveries) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q deliveries) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *deliveries) Push(x any)   { *q = append(*q, x.(*delivery)) }
func (q *deliveries) Pop() any {
	old := *q
	d := old[len(old)-1]
	*q = old[:len(old)-1]
	return d
}

type scheduled struct {
	at  time.Time
	seq uint64
	fn  func()
}

type sim struct {
	t      testing.TB
	clock  *fakeClock
	nodes  []*simNode
	queue  deliveries
	events []scheduled // kept sorted by (at, seq)
	seq    uint64
	rng    *rand.Rand

	// Link behaviour, changed by scenarios at any time.
	loss     float64       // probability that one delivery is lost
	delay    time.Duration // fixed delay of every delivery
	jitter   time.Duration // extra random delay, 0..jitter
	maxSteps int           // bound on processed items per run call

	trace []string // last lines of activity, printed when a test fails
}

func newSim(t testing.TB, seed uint64) *sim {
	s := &sim{t: t, clock: &fakeClock{now: epoch}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), maxSteps: 5_000_000}
	t.Cleanup(func() {
		if t.Failed() {
			start := max(0, len(s.trace)-40)
			t.Logf("last simulated activity:\n%s", strings.Join(s.trace[start:], "\n"))
		}
	})
	return s
}

func (s *sim) now() time.Time         { return s.clock.now }
func (s *sim) elapsed() time.Duration { return s.clock.now.Sub(epoch) }
func (s *sim) logf(format string, a ...any) {
	line := fmt.Sprintf("%12.6f ", s.elapsed().Seconds()) + fmt.Sprintf(format, a...)
	if len(s.trace) > 4000 {
		s.trace = append(s.trace[:0], s.trace[2000:]...)
	}
	s.trace = append(s.trace, line)
}

// add creates a node; it is not started.
func (s *sim) add(name string, cfg Config) *simNode {
	s.t.Helper()
	if cfg.Version == 0 {
		cfg.Version = Version3
	}
	if cfg.AdvertInterval == 0 {
		cfg.AdvertInterval = time.Second
	}
	if len(cfg.VIPs) == 0 {
		cfg.VIPs = addrs("192.0.2.100")
		if cfg.Address.Is6() {
			cfg.VIPs = addrs("2001:db8::100")
		}
	}
	if cfg.VRID == 0 {
		cfg.VRID = 51
	}
	n := &simNode{name: name, cfg: cfg}
	s.nodes = append(s.nodes, n)
	return n
}

// start creates a fresh router for n (the node boots) and starts it.
func (s *sim) start(n *simNode) {
	s.t.Helper()
	s.startWith(n, Startup{})
}

// startWith starts n with ev, which says when its process started and listened.
func (s *sim) startWith(n *simNode, ev Startup) {
	s.t.Helper()
	r, err := NewRouter(n.cfg, s.clock)
	if err != nil {
		s.t.Fatalf("%s: %v", n.name, err)
	}
	n.r, n.up, n.hasVIPs, n.stopping = r, true, false, false
	s.apply(n, r.Handle(ev))
}

// crash stops n silently: no priority 0, and its VIPs vanish with it.
func (s *sim) crash(n *simNode) {
	s.logf("%s crashes", n.name)
	n.up, n.hasVIPs, n.stopping = false, false, false
}

// stop shuts n down gracefully. A router that holds its VIPs (MakeBeforeBreak) stays up,
// in Initialize, until it releases them, as the daemon waits for it.
func (s *sim) stop(n *simNode) {
	s.apply(n, n.r.Handle(Shutdown{}))
	n.stopping = true
	s.settleStop(n)
}

func (s *sim) settleStop(n *simNode) {
	if n.stopping && !n.r.Holding() {
		n.up, n.stopping = false, false
	}
}

func (s *sim) handle(n *simNode, ev Event) {
	if n.up {
		s.apply(n, n.r.Handle(ev))
		s.settleStop(n)
	}
}

func (s *sim) setPriority(n *simNode, p uint8) {
	s.logf("%s priority -> %d", n.name, p)
	s.handle(n, PriorityChanged{Priority: p})
}

// partition splits the nodes into groups that hear only their own members.
func (s *sim) partition(groups ...[]*simNode) {
	for i, g := range groups {
		for _, n := range g {
			n.group = i + 1
		}
	}
	s.logf("partition")
}

func (s *sim) heal() {
	for _, n := range s.nodes {
		n.group = 0
	}
	s.logf("heal")
}

// at schedules fn at time t.
func (s *sim) at(t time.Time, fn func()) {
	s.seq++
	ev := scheduled{at: t, seq: s.seq, fn: fn}
	i := len(s.events)
	for i > 0 && s.events[i-1].at.After(t) {
		i--
	}
	s.events = append(s.events, scheduled{})
	copy(s.events[i+1:], s.events[i:])
	s.events[i] = ev
}

func (s *sim) apply(n *simNode, acts []Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case SendAdvert:
			n.sent = append(n.sent, a.Advert)
			n.sentAt = append(n.sentAt, s.now())
			s.send(n, a.Advert)
		case AddVIPs:
			n.hasVIPs = true
			n.vipLog = append(n.vipLog, vipChange{s.now(), true})
		case RemoveVIPs:
			n.hasVIPs = false
			n.vipLog = append(n.vipLog, vipChange{s.now(), false})
		case AnnounceVIPs:
			n.announces++
			n.announcedAt = append(n.announcedAt, s.now())
		case HoldVIPs:
			n.holds++
		case SplitBrainHealed:
			n.splitBrains++
			s.logf("%s healed a split brain with %v", n.name, a.Peer)
		case Transition:
			n.transitions = append(n.transitions, transitionAt{At: s.now(), Transition: a})
			s.logf("%s %v", n.name, a)
		case LowerPriorityHeard:
			n.lowerHeard++
		case WantMaster:
			if a.Want {
				n.wants++
			}
			s.logf("%s wants master: %v", n.name, a.Want)
		default:
			s.t.Fatalf("unknown action %T", a)
		}
	}
	if n.afterActions != nil && len(acts) > 0 {
		n.afterActions()
	}
}

func (s *sim) send(from *simNode, adv Advertisement) {
	s.logf("%s sends priority %d", from.name, adv.Priority)
	dsts := []netip.Addr{GroupIPv4}
	if from.cfg.Address.Is6() {
		dsts = []netip.Addr{GroupIPv6}
	}
	if from.cfg.Unicast {
		dsts = from.cfg.Peers
	}
	for _, dst := range dsts {
		pkt, err := adv.Encode(from.cfg.Address, dst, from.cfg.ChecksumForm)
		if err != nil {
			s.t.Fatalf("%s: encode: %v", from.name, err)
		}
		for _, to := range s.nodes {
			if to == from || (dst != GroupIPv4 && dst != GroupIPv6 && to.cfg.Address != dst) {
				continue
			}
			if s.loss > 0 && s.rng.Float64() < s.loss {
				continue
			}
			d := s.delay
			if s.jitter > 0 {
				d += time.Duration(s.rng.Int64N(int64(s.jitter) + 1))
			}
			s.seq++
			heap.Push(&s.queue, &delivery{at: s.now().Add(d), seq: s.seq, to: to, pkt: pkt,
				meta: Meta{Src: from.cfg.Address, Dst: dst, TTL: 255, IfIndex: to.cfg.IfIndex}})
		}
	}
}

// connected reports whether a and b hear each other now.
func connected(a, b *simNode) bool { return a.group == b.group }

// runUntil processes everything due up to end, in time order: scheduled events first,
// then deliveries, then router timers, each in a fixed order, so a seed replays exactly.
func (s *sim) runUntil(end time.Time) {
	s.t.Helper()
	for steps := 0; ; steps++ {
		if steps > s.maxSteps {
			s.t.Fatalf("simulation did not reach %v in %d steps", end.Sub(epoch), s.maxSteps)
		}
		next, kind, node := end, 3, (*simNode)(nil)
		if len(s.events) > 0 && !s.events[0].at.After(next) {
			next, kind = s.events[0].at, 0
		}
		if len(s.queue) > 0 && s.queue[0].at.Before(next) || len(s.queue) > 0 && s.queue[0].at.Equal(next) && kind > 1 {
			next, kind = s.queue[0].at, 1
		}
		for _, n := range s.nodes {
			if !n.up {
				continue
			}
			if d, ok := n.r.NextDeadline(); ok && (d.Before(next) || d.Equal(next) && kind > 2) {
				next, kind, node = d, 2, n
			}
		}
		if next.After(end) || kind == 3 {
			s.clock.now = end
			return
		}
		if next.After(s.clock.now) {
			s.clock.now = next
		}
		switch kind {
		case 0:
			ev := s.events[0]
			s.events = s.events[1:]
			ev.fn()
		case 1:
			d := heap.Pop(&s.queue).(*delivery)
			if d.to.up && !d.to.deaf && connected(d.to, s.senderOf(d)) {
				s.handle(d.to, AdvertReceived{Packet: d.pkt, Meta: d.meta})
			}
		case 2:
			s.handle(node, TimerFired{})
		}
	}
}

func (s *sim) run(d time.Duration) { s.t.Helper(); s.runUntil(s.now().Add(d)) }

// senderOf finds the node that sent d, by source address.
func (s *sim) senderOf(d *delivery) *simNode {
	for _, n := range s.nodes {
		if n.cfg.Address == d.meta.Src {
			return n
		}
	}
	s.t.Fatalf("delivery from unknown source %v", d.meta.Src)
	return nil
}

func (s *sim) masters() []*simNode {
	var out []*simNode
	for _, n := range s.nodes {
		if n.state() == Master {
			out = append(out, n)
		}
	}
	return out
}

// checkOneMaster fails unless want is the only master and the only node with the VIPs.
func (s *sim) checkOneMaster(want *simNode) {
	s.t.Helper()
	for _, n := range s.nodes {
		isMaster := n.state() == Master
		if isMaster != (n == want) {
			s.t.Fatalf("at %v: %s is %v, want %s as the only master", s.elapsed(), n.name, n.state(), want.name)
		}
		if n.hasVIPs != isMaster {
			s.t.Fatalf("at %v: %s in %v has VIPs %v", s.elapsed(), n.name, n.state(), n.hasVIPs)
		}
	}
}

package vrrp

import (
	"testing"
	"time"
)

// syncPair is two nodes, a and b, each with a sync group of two instances: VRID 1 on one
// segment, VRID 2 on another (the simulated network carries both; each router drops the
// other VRID's adverts).
type syncPair struct {
	s              *sim
	a1, a2, b1, b2 *simNode
	ga, gb         *SyncGroup
}

func groupCfg(addr string, vrid, prio uint8) Config {
	return with(handoverCfg(addr, prio, time.Second), func(c *Config) {
		c.VRID, c.SyncGroup = vrid, true
		c.VIPs = addrs("192.0.2.100")
		if vrid == 2 {
			c.VIPs = addrs("198.51.100.100")
		}
	})
}

func newSyncPair(t *testing.T) *syncPair {
	p := &syncPair{s: newSim(t, 7)}
	p.s.delay = time.Millisecond
	p.a1 = p.s.add("a1", groupCfg("192.0.2.1", 1, 150))
	p.a2 = p.s.add("a2", groupCfg("198.51.100.1", 2, 150))
	p.b1 = p.s.add("b1", groupCfg("192.0.2.2", 1, 100))
	p.b2 = p.s.add("b2", groupCfg("198.51.100.2", 2, 100))
	p.ga = p.join("A", p.a1, p.a2)
	p.gb = p.join("B", p.b1, p.b2)
	return p
}

// join makes the nodes one sync group: after each node's actions, the group hears of
// its state and its orders are carried out at once, as the daemon does.
func (p *syncPair) join(name string, members ...*simNode) *SyncGroup {
	var names []string
	for _, m := range members {
		names = append(names, m.name)
	}
	g := NewSyncGroup(name, names)
	own := map[*simNode]string{}
	for i, m := range members {
		m.afterActions = func() {
			st := MemberState{State: m.r.State(), WantsMaster: m.r.WantsMaster(), Fault: own[m]}
			for _, o := range g.Update(i, st) {
				p.s.logf("group %s orders %s: %#v", name, members[o.Member].name, o.Event)
				p.s.handle(members[o.Member], o.Event)
			}
		}
	}
	return g
}

func (p *syncPair) startAll() {
	for _, n := range []*simNode{p.a1, p.a2, p.b1, p.b2} {
		p.s.start(n)
	}
}

func wantStates(t *testing.T, want State, nodes ...*simNode) {
	t.Helper()
	for _, n := range nodes {
		if got := n.state(); got != want {
			t.Fatalf("%s is %v, want %v", n.name, got, want)
		}
	}
}

func TestSyncGroupFailsOverTogether(t *testing.T) {
	p := newSyncPair(t)
	p.startAll()
	p.s.run(5 * time.Second)
	wantStates(t, Master, p.a1, p.a2)
	wantStates(t, Backup, p.b1, p.b2)
	if p.ga.State() != Master || p.gb.State() != Backup {
		t.Fatalf("groups: A %v, B %v", p.ga.State(), p.gb.State())
	}

	// a2's own fault (its link) takes a1 with it; b's members take over together, in
	// about Skew_Time, not Master_Down_Interval: a1 left with priority 0.
	faulted := p.s.now()
	p.s.handle(p.a2, FaultRaised{Reason: "link down", Immediate: true})
	// The group's member reports its own fault through afterActions; the fault of a2 is
	// its own.
	p.a2.afterActions = func() {
		for _, o := range p.ga.Update(1, MemberState{State: p.a2.r.State(), Fault: "link down"}) {
			p.s.handle([]*simNode{p.a1, p.a2}[o.Member], o.Event)
		}
	}
	p.a2.afterActions()
	p.s.run(2 * time.Second)
	wantStates(t, Fault, p.a1, p.a2)
	wantStates(t, Master, p.b1, p.b2)
	for _, n := range []*simNode{p.b1, p.b2} {
		if took := mustTransition(t, n, Master); took.Sub(faulted) > time.Second {
			t.Fatalf("%s took over after %v, want within a second (skew time)", n.name, took.Sub(faulted))
		}
	}
	if p.ga.State() != Fault || p.gb.State() != Master {
		t.Fatalf("groups: A %v, B %v", p.ga.State(), p.gb.State())
	}

	// a2 recovers: a preempts with both members, b steps down with both.
	p.a2.afterActions = func() {
		for _, o := range p.ga.Update(1, MemberState{State: p.a2.r.State(), WantsMaster: p.a2.r.WantsMaster()}) {
			p.s.handle([]*simNode{p.a1, p.a2}[o.Member], o.Event)
		}
	}
	p.s.handle(p.a2, FaultCleared{Reason: "link up"})
	p.s.run(10 * time.Second)
	wantStates(t, Master, p.a1, p.a2)
	wantStates(t, Backup, p.b1, p.b2)
	if p.ga.State() != Master || p.gb.State() != Backup {
		t.Fatalf("groups: A %v, B %v", p.ga.State(), p.gb.State())
	}
}

func TestSyncGroupPrefersBackupToThrashing(t *testing.T) {
	p := newSyncPair(t)
	p.startAll()
	p.s.run(5 * time.Second)
	wantStates(t, Master, p.a1, p.a2)
	// b1 now outranks a1, b2 still not a2: b1 wants master, but its group waits for b2,
	// so nothing moves (keepalived: "prefer backup state to avoid thrashing").
	before := len(p.a1.transitions) + len(p.a2.transitions)
	p.s.setPriority(p.b1, 200)
	p.s.run(20 * time.Second)
	wantStates(t, Master, p.a1, p.a2)
	wantStates(t, Backup, p.b1, p.b2)
	if !p.b1.r.WantsMaster() || p.b1.wants != 1 {
		t.Fatalf("b1 wants master %v (%d times), want true once", p.b1.r.WantsMaster(), p.b1.wants)
	}
	if n := len(p.a1.transitions) + len(p.a2.transitions); n != before {
		t.Fatalf("a's members changed state %d times, want none", n-before)
	}
	// b2 outranks a2 too: both of b take over, then a steps down with both members.
	p.s.setPriority(p.b2, 200)
	p.s.run(10 * time.Second)
	wantStates(t, Master, p.b1, p.b2)
	wantStates(t, Backup, p.a1, p.a2)
	if p.b1.r.WantsMaster() {
		t.Fatal("b1 is master and still wants it")
	}
}

func TestSyncGroupMasterStepsDownWithOthers(t *testing.T) {
	p := newSyncPair(t)
	p.startAll()
	p.s.run(5 * time.Second)
	// a1 hears a higher priority on its segment only (a second node there, not in a
	// group): it becomes backup, and a2 steps down with it, leaving with priority 0.
	x := p.s.add("x", with(handoverCfg("192.0.2.9", 250, time.Second), func(c *Config) { c.VRID = 1 }))
	p.s.start(x)
	p.s.run(10 * time.Second)
	wantStates(t, Backup, p.a1, p.a2)
	if !hasPriorityZero(p.a2) {
		t.Fatal("a2 stepped down without priority 0")
	}
	wantStates(t, Master, x)
	// VRID 2 is left without a master: b2 wants mastership, but b1 follows x, so its
	// group holds it back, as keepalived's does. Groups need every member's priorities
	// to agree.
	wantStates(t, Backup, p.b1, p.b2)
	if !p.b2.r.WantsMaster() || !p.a2.r.WantsMaster() {
		t.Fatalf("a2 and b2 want master: %v %v, want both", p.a2.r.WantsMaster(), p.b2.r.WantsMaster())
	}
	if st := p.b2.r.Status(); !st.WantsMaster || !st.NextDeadline.IsZero() {
		t.Fatalf("b2's status: wants %v, next deadline %v; want a waiting member without a timer", st.WantsMaster, st.NextDeadline)
	}
}

func hasPriorityZero(n *simNode) bool {
	for _, a := range n.sent {
		if a.Priority == 0 {
			return true
		}
	}
	return false
}

func TestSyncGroupOrders(t *testing.T) {
	g := NewSyncGroup("G", []string{"x", "y"})
	if o := g.Update(0, MemberState{State: Backup}); len(o) != 0 {
		t.Fatalf("first report of x: %v, want no orders (y unknown)", o)
	}
	if o := g.Update(1, MemberState{State: Backup}); len(o) != 0 {
		t.Fatalf("y backup: %v", o)
	}
	o := g.Update(0, MemberState{State: Backup, WantsMaster: true})
	if len(o) != 1 || o[0] != (Order{1, GroupAllowsMaster{Allowed: true}}) {
		t.Fatalf("x wants master: %v, want y allowed", o)
	}
	o = g.Update(1, MemberState{State: Master})
	if len(o) != 2 || o[0] != (Order{0, GroupMaster{Reason: "sync group G: y became master"}}) ||
		o[1] != (Order{0, GroupAllowsMaster{Allowed: true}}) {
		t.Fatalf("y master: %v", o)
	}
	g.Update(0, MemberState{State: Master})
	if g.State() != Master {
		t.Fatalf("group %v, want MASTER", g.State())
	}
	o = g.Update(1, MemberState{State: Fault, Fault: "link down"})
	if len(o) == 0 || o[0] != (Order{0, FaultRaised{Reason: "sync group G: y is in fault (link down)"}}) {
		t.Fatalf("y fault: %v", o)
	}
	if g.State() != Fault {
		t.Fatalf("group %v, want FAULT", g.State())
	}
	o = g.Update(1, MemberState{State: Backup})
	if len(o) == 0 || o[0].Member != 0 {
		t.Fatalf("y recovered: %v", o)
	}
	if _, ok := o[0].Event.(FaultCleared); !ok {
		t.Fatalf("y recovered: %v, want x's fault cleared", o)
	}
}

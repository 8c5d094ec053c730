package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// A sync group (keepalived's vrrp_sync_group) makes several virtual routers of one node
// fail over together: the daemon watches its members and feeds each router the events
// below. The rules, as keepalived 2.2 applies them:
//
//   - a member becomes master only when every other member is master or wants to be
//     (its own Master_Down_Timer ran out): a group prefers backup to thrashing;
//   - when one member becomes master, the others follow (GroupMaster);
//   - when one master member steps down to backup, the other masters step down too
//     (GroupBackup), leaving as a deliberate leave does: priority 0, and the VIPs kept
//     until the next master announces (MakeBeforeBreak);
//   - when one member is in fault, every member is (the daemon raises FaultRaised).

// GroupAllowsMaster tells a router of a sync group whether every other member is master
// or wants to be. A router that wants mastership takes it when this becomes true.
type GroupAllowsMaster struct{ Allowed bool }

// GroupMaster makes a backup of a sync group master at once: another member became
// master. Reason says which, for people.
type GroupMaster struct{ Reason string }

// GroupBackup makes a master of a sync group step down to backup: another member did.
type GroupBackup struct{ Reason string }

func (GroupAllowsMaster) event() {}
func (GroupMaster) event()       {}
func (GroupBackup) event()       {}

// WantMaster reports that a router of a sync group wants mastership (its
// Master_Down_Timer ran out) and waits for the other members (Want true), or no longer
// does (it heard a master again, or took mastership).
type WantMaster struct{ Want bool }

func (WantMaster) action() {}

// WantsMaster reports whether a router of a sync group waits for the other members to
// take mastership.
func (r *Router) WantsMaster() bool { return r.wantMaster }

// groupEvent handles the sync group's events.
func (r *Router) groupEvent(now time.Time, ev Event) []Action {
	switch ev := ev.(type) {
	case GroupAllowsMaster:
		r.groupAllows = ev.Allowed
		if ev.Allowed && r.wantMaster && r.state == Backup {
			r.wantMaster = false
			return append(r.becomeMaster(now, r.wantReason+"; every member of the sync group is ready"), WantMaster{Want: false})
		}
	case GroupMaster:
		if r.state != Backup {
			return nil
		}
		acts := r.becomeMaster(now, ev.Reason)
		if r.wantMaster {
			r.wantMaster = false
			acts = append(acts, WantMaster{Want: false})
		}
		return acts
	case GroupBackup:
		if r.state != Master {
			return nil
		}
		acts := r.leave(now, false)
		r.adverTimer = time.Time{}
		r.preemptFrom = time.Time{}
		r.master, r.masterPriority, r.lastAccepted = netip.Addr{}, 0, time.Time{}
		r.armDownTimer(now, false)
		return append(acts, r.transition(now, Backup, ev.Reason))
	}
	return nil
}

// groupHolds reports whether a backup whose Master_Down_Timer ran out must wait for the
// other members of its sync group; it then records that it wants mastership. An address
// owner never waits.
func (r *Router) groupHolds(now time.Time) (bool, []Action) {
	if !r.cfg.SyncGroup || r.groupAllows || r.priority == 255 {
		return false, nil
	}
	if r.wantMaster {
		return true, nil
	}
	r.wantMaster = true
	r.wantReason = r.takeoverReason(now)
	return true, []Action{WantMaster{Want: true}}
}

// stopWanting is called when a backup accepts a master's advert: it no longer wants
// mastership.
func (r *Router) stopWanting() []Action {
	if !r.wantMaster {
		return nil
	}
	r.wantMaster = false
	return []Action{WantMaster{Want: false}}
}

// SyncGroup decides what the members of one sync group must be told when one of them
// changes. It is pure, like Router: the daemon feeds it each member's state and carries
// out the orders, each in its member's Router (FaultRaised and FaultCleared through the
// member's faults). It is not safe for concurrent use.
type SyncGroup struct {
	name    string
	members []groupMember
	state   State
}

type groupMember struct {
	name string
	// What the member last reported.
	known bool
	MemberState
	// What the group last ordered it.
	allowed   bool
	faultSent string // the reason of the group fault it was given; "" for none
}

// MemberState is what a member reports to its group.
type MemberState struct {
	State       State
	WantsMaster bool
	// Fault is why the member is in fault for reasons of its own (its link, a tracker),
	// not because of the group; "" when there is none.
	Fault string
	// GroupFault is the reason of the group's fault the member carries, "" for none:
	// what a group that replaces another (a reload) starts from.
	GroupFault string
}

// Order is an event for one member's router, by its index in the group.
type Order struct {
	Member int
	Event  Event
}

// NewSyncGroup returns the group of the named members, in the order Update indexes
// them.
func NewSyncGroup(name string, members []string) *SyncGroup {
	g := &SyncGroup{name: name, state: Initialize}
	for _, m := range members {
		g.members = append(g.members, groupMember{name: m})
	}
	return g
}

// Name returns the group's name.
func (g *SyncGroup) Name() string { return g.name }

// State returns the group's state: FAULT while a member is, MASTER when every member
// is, BACKUP when none is master or in fault, INIT when every member stopped; while the
// members move between these, the last one.
func (g *SyncGroup) State() State { return g.state }

// Update records member i's state and returns the orders for the other members (and for
// i itself, whether it may become master).
func (g *SyncGroup) Update(i int, s MemberState) []Order {
	if i < 0 || i >= len(g.members) {
		return nil
	}
	m := &g.members[i]
	prev, known := m.State, m.known
	if !known {
		m.faultSent = s.GroupFault
	}
	m.MemberState, m.known = s, true
	var orders []Order
	// Fault first: a member that follows another into fault must not be told to become
	// master on the way. Not before every member reported: a group that replaces
	// another must not lift a fault it has not heard the reason of yet.
	for j := range g.members {
		if !g.allKnown() {
			break
		}
		o := &g.members[j]
		why := ""
		for k := range g.members {
			if k != j && g.members[k].Fault != "" {
				why = fmt.Sprintf("sync group %s: %s is in fault (%s)", g.name, g.members[k].name, g.members[k].Fault)
				break
			}
		}
		switch {
		case why != "" && o.faultSent == "":
			orders = append(orders, Order{j, FaultRaised{Reason: why}})
		case why == "" && o.faultSent != "":
			orders = append(orders, Order{j, FaultCleared{Reason: fmt.Sprintf("sync group %s: no member in fault", g.name)}})
		}
		o.faultSent = why
	}
	switch {
	case known && prev == Master && s.State == Backup:
		for j := range g.members {
			if j != i && g.members[j].State == Master {
				orders = append(orders, Order{j, GroupBackup{Reason: fmt.Sprintf("sync group %s: %s became backup", g.name, m.name)}})
			}
		}
	case s.State == Master && (!known || prev != Master):
		for j := range g.members {
			if j != i && g.members[j].State == Backup {
				orders = append(orders, Order{j, GroupMaster{Reason: fmt.Sprintf("sync group %s: %s became master", g.name, m.name)}})
			}
		}
	}
	for j := range g.members {
		o := &g.members[j]
		if !o.known {
			continue
		}
		allowed := true
		for k := range g.members {
			other := &g.members[k]
			if k != j && !(other.known && (other.State == Master || other.WantsMaster)) {
				allowed = false
				break
			}
		}
		if allowed != o.allowed {
			o.allowed = allowed
			orders = append(orders, Order{j, GroupAllowsMaster{Allowed: allowed}})
		}
	}
	g.state = g.nextState()
	return orders
}

func (g *SyncGroup) allKnown() bool {
	for _, m := range g.members {
		if !m.known {
			return false
		}
	}
	return true
}

func (g *SyncGroup) nextState() State {
	var n [NumStates]int
	for _, m := range g.members {
		if !m.known {
			return g.state
		}
		n[m.State]++
		if m.Fault != "" {
			return Fault
		}
	}
	switch all := len(g.members); {
	case n[Fault] > 0:
		return Fault
	case n[Master] == all:
		return Master
	case n[Backup] == all:
		return Backup
	case n[Initialize] == all:
		return Initialize
	case n[Master] == 0 && n[Initialize] == 0:
		return Backup
	}
	return g.state
}

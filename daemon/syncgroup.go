package daemon

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/vrrp"
)

// syncFaultSource is the fault a sync group puts its members in while another member is
// in fault of its own.
const syncFaultSource = "sync_group"

// syncGroup runs one sync group: its members report their state to it from their own
// goroutines, and it carries out vrrp.SyncGroup's orders in the members' goroutines
// from one goroutine of its own, in order. A member never waits for another: report
// only queues, so two members reporting at once cannot block each other.
type syncGroup struct {
	d     *Daemon
	cfg   config.SyncGroup
	log   *slog.Logger
	hooks *hookRunner

	mu      sync.Mutex
	g       *vrrp.SyncGroup
	members []*instance
	queue   []groupOrder
	wake    chan struct{} // signalled when the queue grows
	closed  bool
	done    chan struct{} // closed when the order goroutine ends
}

type groupOrder struct {
	in *instance
	ev vrrp.Event
}

func newSyncGroup(d *Daemon, cfg config.SyncGroup, members []*instance) *syncGroup {
	var names []string
	for _, in := range members {
		names = append(names, in.cfg.Name)
	}
	log := d.log.With("sync_group", cfg.Name)
	g := &syncGroup{
		d: d, cfg: cfg, log: log,
		hooks:   newHookRunner(log, d.scriptUser, d.hookTime),
		g:       vrrp.NewSyncGroup(cfg.Name, names),
		members: members,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	go g.run()
	return g
}

// report tells the group a member's state; it runs in the member's goroutine.
func (g *syncGroup) report(in *instance, s vrrp.MemberState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := slices.Index(g.members, in)
	if i < 0 || g.closed {
		return
	}
	before := g.g.State()
	for _, o := range g.g.Update(i, s) {
		g.queue = append(g.queue, groupOrder{g.members[o.Member], o.Event})
	}
	select {
	case g.wake <- struct{}{}:
	default:
	}
	if after := g.g.State(); after != before {
		g.transitioned(before, after)
	}
}

// run carries out the orders, each in its member's goroutine, until close.
func (g *syncGroup) run() {
	defer close(g.done)
	for {
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			return
		}
		if len(g.queue) == 0 {
			g.mu.Unlock()
			<-g.wake
			continue
		}
		o := g.queue[0]
		g.queue = g.queue[1:]
		g.mu.Unlock()
		o.in.do(func() { o.in.groupOrder(o.ev) })
	}
}

// close stops the orders and waits for the group's hooks until ctx ends.
func (g *syncGroup) close(ctx context.Context) {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	<-g.done
	g.hooks.close(ctx)
}

// status returns the group's state and members.
func (g *syncGroup) status() control.SyncGroupStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := control.SyncGroupStatus{Name: g.cfg.Name, State: groupStateName(g.g.State())}
	for _, in := range g.members {
		s.Instances = append(s.Instances, in.cfg.Name)
	}
	return s
}

func groupStateName(s vrrp.State) string {
	if s == vrrp.Initialize {
		return "STOP"
	}
	return s.String()
}

// transitioned logs the group's change of state, publishes it and runs its hooks, as
// keepalived does for a sync group: notify_* for MASTER, BACKUP, FAULT and STOP, and
// the generic hook, with GROUP name STATE 0 appended, for the first three. g.mu is held.
func (g *syncGroup) transitioned(from, to vrrp.State) {
	state := groupStateName(to)
	g.log.Info("sync group changed state", "from", groupStateName(from), "to", state)
	g.d.events.publish(control.Event{Type: "sync_group", Time: g.d.clock.Now(), Node: g.d.node(), SyncGroup: g.cfg.Name,
		From: groupStateName(from), To: state})
	var hook []string
	switch to {
	case vrrp.Master:
		hook = g.cfg.Notify.Master
	case vrrp.Backup:
		hook = g.cfg.Notify.Backup
	case vrrp.Fault:
		hook = g.cfg.Notify.Fault
	case vrrp.Initialize:
		hook = g.cfg.Notify.Stop
	}
	env := []string{"VRRPD_SYNC_GROUP=" + g.cfg.Name, "VRRPD_STATE=" + state}
	if len(hook) > 0 {
		g.hooks.enqueue(hook, env)
	}
	if any := g.cfg.Notify.Any; len(any) > 0 && to != vrrp.Initialize {
		// keepalived's notify arguments for a group: GROUP name STATE, and a priority
		// of 0, which a group does not have.
		g.hooks.enqueue(append(slices.Clone(any), "GROUP", g.cfg.Name, state, "0"), env)
	}
}

// reportToGroup tells the instance's sync group, if any, its state. It runs in the
// instance's goroutine, after every change the group cares about.
func (in *instance) reportToGroup() {
	if in.group == nil {
		return
	}
	s := vrrp.MemberState{State: vrrp.Fault, Fault: in.waiting}
	if in.router != nil {
		s = vrrp.MemberState{State: in.router.State(), WantsMaster: in.router.WantsMaster(), Fault: in.ownFaults()}
	}
	s.GroupFault = in.faults[syncFaultSource]
	in.group.report(in, s)
}

// ownFaults returns why the instance is in fault for reasons of its own, not its
// group's; "" when there are none.
func (in *instance) ownFaults() string {
	var rs []string
	for _, source := range slices.Sorted(maps.Keys(in.faults)) {
		if source != syncFaultSource {
			rs = append(rs, in.faults[source])
		}
	}
	return strings.Join(rs, "; ")
}

// groupOrder carries out an order of the instance's sync group, in its goroutine.
func (in *instance) groupOrder(ev vrrp.Event) {
	switch ev := ev.(type) {
	case vrrp.FaultRaised:
		in.setFault(syncFaultSource, ev.Reason)
	case vrrp.FaultCleared:
		in.clearFault(syncFaultSource, ev.Reason)
	default:
		if in.router != nil {
			in.handle(ev)
		}
	}
}

// regroup builds the sync groups of cfg over the running instances, replacing the
// previous ones: each member reports its state to its new group, and an instance that
// left its group leaves the group's fault.
func (d *Daemon) regroup(ctx context.Context, cfg *config.Config) {
	d.mu.Lock()
	old := d.groups
	byName := map[string]*instance{}
	for _, in := range d.instances {
		byName[in.cfg.Name] = in
	}
	var groups []*syncGroup
	member := map[*instance]*syncGroup{}
	for _, gc := range cfg.SyncGroups {
		var members []*instance
		for _, name := range gc.Instances {
			if in := byName[name]; in != nil && in.cfg.SyncGroup == gc.Name {
				members = append(members, in)
			}
		}
		if len(members) < 2 {
			continue
		}
		g := newSyncGroup(d, gc, members)
		groups = append(groups, g)
		for _, in := range members {
			member[in] = g
		}
	}
	d.groups = groups
	instances := slices.Clone(d.instances)
	d.mu.Unlock()
	for _, g := range old {
		g.close(ctx)
	}
	for _, in := range instances {
		g := member[in]
		in.do(func() {
			in.group = g
			if g == nil {
				in.clearFault(syncFaultSource, "no longer in a sync group")
				return
			}
			in.reportToGroup()
		})
	}
}

// closeGroups ends the sync groups at a stop, once their members stopped.
func (d *Daemon) closeGroups(ctx context.Context) {
	d.mu.Lock()
	groups := d.groups
	d.groups = nil
	d.mu.Unlock()
	for _, g := range groups {
		g.close(ctx)
	}
}

// groupsStatus returns the sync groups' states.
func (d *Daemon) groupsStatus() []control.SyncGroupStatus {
	d.mu.Lock()
	groups := slices.Clone(d.groups)
	d.mu.Unlock()
	var out []control.SyncGroupStatus
	for _, g := range groups {
		out = append(out, g.status())
	}
	return out
}

package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/tracker"
	"github.com/vrrpd/vrrpd/vrrp"
)

// instance is one virtual router: its port's goroutine owns the router, feeds it
// packets, timers and requests, and carries out its actions. Nothing else touches the
// router.
type instance struct {
	d *Daemon
	// cfg is the instance's entry in the running configuration, shared with it.
	cfg *config.Instance
	log *slog.Logger

	sub    *netops.Subscription
	router *vrrp.Router // nil while the instance waits for its interface or source address
	src    netip.Addr
	// waiting says why router is nil, for status and retries; needsSource is set while
	// it is, for the daemon's event dispatch to read without asking the instance.
	waiting     string
	needsSource atomic.Bool
	linkUp      bool
	// missing are the VIPs that could not be added while master, retried until
	// vipDeadline, when the instance goes to FAULT.
	missing     map[netops.VIP]error
	vipRetryAt  time.Time
	vipBackoff  time.Duration
	vipDeadline time.Time
	// vipFaults counts the FAULTs for VIPs in a row, and vipRecoverAt is when the
	// instance tries again.
	vipFaults    int
	vipRecoverAt time.Time
	// faults are the reasons the instance must be in FAULT, by source ("link",
	// "tracker"); the router is faulted while there is any.
	faults map[string]string
	// tracked is the effective priority the trackers give, nil when nothing is tracked.
	tracked *tracker.Priority

	// port runs the instance, with the others of its interface and family; deadline and
	// heapIndex are its place in the port's heap (-1: not in it), left is set once it
	// left the port, and done is closed when it has ended, hooks and all.
	port      *port
	deadline  time.Time
	heapIndex int
	left      bool
	done      chan struct{}

	// announcing is the announcement of the VIPs while master; nil otherwise.
	announcing *announcing
	hooks      *hookRunner
	drops      dropLog
	received   uint64 // packets handed to the router
	sendBuf    []byte // the last advert sent, its buffer reused for the next
	batched    bool   // sendBuf waits in the port's batch
	// stopping is the context of a shutdown that waits for the router to release the
	// VIPs it holds for the next master; nil otherwise.
	stopping context.Context

	// splitLogged is when a healed split brain was last logged, splitSuppressed how
	// many were not since.
	splitLogged     time.Time
	splitSuppressed uint64

	// announced counts the announcements of the VIPs.
	announced announceCounters
	// group is the instance's sync group; nil when it is in none.
	group *syncGroup
	// notifiedPriority is the effective priority the priority hook last saw; deleted
	// says that a reload removed the instance (extras.go).
	notifiedPriority uint8
	deleted          bool
	// routeErrors counts the routes and rules that could not be added or removed.
	routeErrors uint64
}

func newInstance(d *Daemon, cfg *config.Instance) *instance {
	in := &instance{
		d:         d,
		cfg:       cfg,
		log:       d.log.With("instance", cfg.Name),
		linkUp:    true,
		faults:    map[string]string{},
		missing:   map[netops.VIP]error{},
		done:      make(chan struct{}),
		heapIndex: -1,
	}
	in.needsSource.Store(true)
	in.hooks = newHookRunner(in.log, d.scriptUser, d.hookTime)
	d.trk.apply(in) // before the router starts: an owner held by a check never becomes master
	return in
}

// open subscribes to the interface and creates the router, without starting it: the
// daemon opens every instance, then starts them all at once, so that no instance's
// first Master_Down_Interval runs while others are not listening yet.
func (in *instance) open() error {
	if err := in.createVMAC(); err != nil {
		return err
	}
	in.port = in.d.portFor(advertInterface(*in.cfg), in.cfg.Family())
	sub, err := in.d.mux.SubscribeInbox(advertInterface(*in.cfg), in.cfg.Family(), in.cfg.VRID, in.port.inbox)
	if err != nil {
		return fmt.Errorf("instance %s: %w", in.cfg.Name, err)
	}
	in.sub = sub
	in.joinGroup()
	// An instance may start long after the link events were listed (a reload adds it):
	// ask the kernel.
	if up, err := in.d.linkUp(in.cfg.Interface); err == nil && !up {
		in.linkUp = false
		if !in.cfg.IgnoreLink {
			in.faults["link"] = "interface " + in.cfg.Interface + " down"
		}
	}
	in.tuneInterface()
	in.createRouter()
	in.checkSource()
	return nil
}

// begin makes the instance one of its port's and starts its router. In the port's
// goroutine.
func (in *instance) begin(start vrrp.Startup) {
	in.port.attach(in)
	if in.router != nil {
		in.execute(in.router.Handle(start))
	}
}

// tryCreateRouter creates and starts the router once the instance has a source address.
func (in *instance) tryCreateRouter() {
	if in.router != nil {
		return
	}
	if in.createRouter() {
		in.execute(in.router.Handle(vrrp.Startup{}))
	}
}

// createRouter creates the router, not started, once the instance has a source address;
// it reports whether it did.
func (in *instance) createRouter() bool {
	if in.router != nil {
		return false
	}
	src, err := in.source()
	if err != nil {
		if in.waiting != err.Error() {
			in.log.Error("instance cannot start", "error", err)
		}
		in.waiting = err.Error()
		return false
	}
	r, err := vrrp.NewRouter(routerConfig(*in.cfg, src), in.d.clock)
	if err != nil {
		in.waiting = err.Error()
		in.log.Error("instance cannot start", "error", err)
		return false
	}
	in.router, in.src, in.waiting = r, src, ""
	in.needsSource.Store(false)
	if in.tracked != nil {
		in.execute(r.Handle(vrrp.PriorityChanged{Priority: in.tracked.Priority}))
	}
	in.notifiedPriority = r.Status().Priority
	if len(in.faults) > 0 {
		in.execute(r.Handle(vrrp.FaultRaised{Reason: in.faultReason()}))
	}
	return true
}

// setFault records a reason to be in FAULT; the first one faults the router.
func (in *instance) setFault(source, reason string) {
	first := len(in.faults) == 0
	in.faults[source] = reason
	// Holding the VIPs for the next master (make-before-break) is pointless when nobody
	// can reach them here: the link is down, or they could not be added.
	immediate := source == "link" || source == vipFaultSource
	if (first || immediate) && in.router != nil {
		in.handle(vrrp.FaultRaised{Reason: reason, Immediate: immediate})
	}
	in.reportToGroup()
}

// clearFault drops a reason; when none is left the router leaves FAULT.
func (in *instance) clearFault(source, why string) {
	if _, ok := in.faults[source]; !ok {
		return
	}
	delete(in.faults, source)
	if len(in.faults) == 0 && in.router != nil {
		in.handle(vrrp.FaultCleared{Reason: why})
	}
	in.reportToGroup()
}

func (in *instance) faultReason() string {
	var rs []string
	for _, source := range slices.Sorted(maps.Keys(in.faults)) {
		rs = append(rs, in.faults[source])
	}
	return strings.Join(rs, "; ")
}

// setTracked applies what the trackers say: the effective priority, and FAULT while a
// tracker with weight 0 fails.
func (in *instance) setTracked(p tracker.Priority) {
	prev := in.tracked
	in.tracked = &p
	if p.Fault {
		in.setFault("tracker", p.FaultReason)
	} else {
		in.clearFault("tracker", "trackers recovered")
	}
	// The router first: a master advertises its new priority before anything is
	// written about it.
	if in.router != nil && in.router.Status().Priority != p.Priority {
		in.handle(vrrp.PriorityChanged{Priority: p.Priority})
		in.notePriority()
	}
	if prev == nil || prev.Explanation != p.Explanation {
		in.log.Info("effective priority", "priority", p.Priority, "why", p.Explanation)
		in.d.events.publish(control.Event{Type: "priority", Time: in.d.clock.Now(), Node: in.d.node(), Instance: in.cfg.Name,
			Priority: int(p.Priority), Reason: p.Explanation})
	}
}

// source picks the advert source: configured, or the interface's primary IPv4 address
// or link-local IPv6 address, never one of our VIPs.
func (in *instance) source() (netip.Addr, error) {
	switch {
	case in.cfg.Unicast != nil:
		return in.cfg.Unicast.Source, nil
	case in.cfg.Source.IsValid():
		return in.cfg.Source, nil
	}
	addrs, err := in.d.nodeAddrs(in.cfg.Interface)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %s: %w", in.cfg.Interface, err)
	}
	for _, a := range addrs {
		if in.d.isVIP(a) {
			continue
		}
		if in.cfg.Family() == vrrp.IPv4 && a.Is4() || in.cfg.Family() == vrrp.IPv6 && a.Is6() && a.IsLinkLocalUnicast() {
			return a, nil
		}
	}
	what := "IPv4 address"
	if in.cfg.Family() == vrrp.IPv6 {
		what = "IPv6 link-local address"
	}
	return netip.Addr{}, fmt.Errorf("no %s on %s to send adverts from", what, in.cfg.Interface)
}

// splitBrainHealed says that the master answered another master of lower priority: the
// two were master at once, until now. A peer that never hears us (a firewall, a checksum it cannot check) stays master,
// and is answered every interval: it is logged once per dropLogInterval, with a count.
func (in *instance) splitBrainHealed(a vrrp.SplitBrainHealed) {
	now := in.d.clock.Now()
	if !in.splitLogged.IsZero() && now.Sub(in.splitLogged) < dropLogInterval {
		in.splitSuppressed++
		return
	}
	why := fmt.Sprintf("split brain with %v healed: it was master at priority %d, below ours; VIPs announced", a.Peer, a.Priority)
	var attrs []any
	if in.splitSuppressed > 0 {
		attrs = append(attrs, "more_since_last_report", in.splitSuppressed)
	}
	in.splitLogged, in.splitSuppressed = now, 0
	in.log.Warn(why, attrs...)
	in.d.events.publish(control.Event{Type: "split_brain", Time: in.d.clock.Now(), Node: in.d.node(), Instance: in.cfg.Name,
		Priority: int(a.Priority), Reason: why})
}

// routerConfig turns an instance's configuration into the state machine's.
func routerConfig(in config.Instance, src netip.Addr) vrrp.Config {
	c := vrrp.Config{
		VRID:                  in.VRID,
		Version:               in.Version,
		Priority:              in.Priority,
		AdvertInterval:        in.AdvertInterval,
		Preempt:               in.Preempt,
		PreemptDelay:          in.PreemptDelay,
		Accept:                true, // vrrpd always accepts traffic for its VIPs: config refuses accept: false
		DownTimerAdverts:      in.DownTimerAdverts,
		LowerPriorityNoAdvert: in.LowerPriorityNoAdvert,
		Address:               src,
		ChecksumForm:          in.Checksum,
		MakeBeforeBreak:       in.MakeBeforeBreak,
		FastHandover:          in.FastHandover,
		StepDownAdvert:        in.HealSplitBrain,
		SyncGroup:             in.SyncGroup != "",
		ReportLowerPriority:   len(in.Notify.MasterRxLowerPri) > 0,
		Group:                 in.Group,
		StartupGrace:          in.StartupGrace,
	}
	for _, v := range in.VIPs {
		c.VIPs = append(c.VIPs, v.Prefix.Addr())
	}
	if in.Unicast != nil {
		c.Unicast, c.Peers, c.CheckPeers = true, in.Unicast.Peers, in.Unicast.CheckSource
	}
	if in.Auth != nil {
		c.AuthType, c.AuthData = in.Auth.Type, vrrp.AuthPassword(in.Auth.Password)
	}
	return c
}

func (in *instance) transitioned(t vrrp.Transition) {
	st := in.router.Status()
	in.log.Info("state changed", "from", t.From.String(), "to", t.To.String(), "priority", st.Priority, "reason", t.Reason)
	state := t.To.String()
	if t.To == vrrp.Initialize {
		state = in.stopState()
	}
	in.d.events.publish(control.Event{
		Type: "transition", Time: in.d.clock.Now(), Node: in.d.node(), Instance: in.cfg.Name,
		From: t.From.String(), To: t.To.String(), Priority: int(st.Priority), Reason: t.Reason,
	})
	var hook []string
	switch t.To {
	case vrrp.Master:
		hook = in.cfg.Notify.Master
	case vrrp.Backup:
		hook = in.cfg.Notify.Backup
	case vrrp.Fault:
		hook = in.cfg.Notify.Fault
	case vrrp.Initialize:
		hook = in.stopHook()
	}
	env := []string{
		"VRRPD_INSTANCE=" + in.cfg.Name, "VRRPD_STATE=" + state,
		fmt.Sprintf("VRRPD_PRIORITY=%d", st.Priority), "VRRPD_REASON=" + t.Reason,
	}
	if len(hook) > 0 {
		in.hooks.enqueue(hook, env)
	}
	if any := in.cfg.Notify.Any; len(any) > 0 {
		// keepalived's notify script arguments: INSTANCE name STATE priority.
		argv := append(slices.Clone(any), "INSTANCE", in.cfg.Name, state, fmt.Sprint(st.Priority))
		in.hooks.enqueue(argv, env)
	}
	in.reportToGroup()
}

// linkChanged reacts to the instance's interface going down or up.
func (in *instance) linkChanged(up bool) {
	if up == in.linkUp {
		return
	}
	in.linkUp = up
	if in.cfg.IgnoreLink {
		in.log.Info("interface changed, not tracked", "interface", in.cfg.Interface, "up", up)
	} else if up {
		in.clearFault("link", "interface "+in.cfg.Interface+" up")
	} else {
		in.setFault("link", "interface "+in.cfg.Interface+" down")
	}
	if in.router == nil {
		in.tryCreateRouter()
	}
}

// shutdown stops the router (a master sends priority 0 and releases its VIPs), waits for
// the hooks, and ends the loop. It runs in the instance's goroutine.
func (in *instance) shutdown(ctx context.Context) {
	if in.router != nil {
		in.handle(vrrp.Shutdown{})
	}
	in.stopAnnouncing()
	if in.router != nil && in.router.Holding() {
		// Make-before-break: serve until the next master announces, or its
		// Master_Down_Interval passes; the loop finishes the stop then, or when ctx ends.
		in.log.Info("stopping: keeping the VIPs until the next master announces")
		in.stopping = ctx
		return
	}
	in.finish(ctx)
}

// finish ends a shutdown: the instance leaves its port, at once, then its hooks run to
// their end (until ctx ends) without holding up the port's other instances.
func (in *instance) finish(ctx context.Context) {
	in.stopping = nil
	in.port.detach(in)
	go func() {
		in.hooks.close(ctx)
		in.sub.Close()
		in.removeVMAC()
		close(in.done)
	}()
}

// reconfigure applies a reload to a running instance whose identity is unchanged. A master
// advertises first (the router does), then adds and announces its new VIPs; it returns
// those it no longer has, for the daemon to remove once every instance has added its
// own, so that a VIP that moves between instances never leaves the kernel.
func (in *instance) reconfigure(next *config.Instance) []netops.VIP {
	prev := in.cfg
	prevVIPs := in.vips()
	// Other goroutines read the configuration under the daemon's lock (instancesOn,
	// byName); this goroutine, its only writer, reads it without.
	in.d.mu.Lock()
	in.cfg = next
	in.d.mu.Unlock()
	in.applyLinkTracking()
	in.checkSource()
	if prev.Group != next.Group {
		in.joinGroup()
	}
	if prev.PromoteSecondaries != next.PromoteSecondaries {
		in.tuneInterface()
	}
	if in.router == nil {
		in.tryCreateRouter()
		return nil
	}
	src, err := in.source()
	if err != nil {
		in.log.Error("reload: keeping the old advert source", "source", in.src.String(), "error", err)
		src = in.src
	}
	in.src = src
	in.execute(in.router.Handle(vrrp.Reconfigure{Config: routerConfig(*next, src)}))
	in.notePriority()
	if in.router.State() != vrrp.Master {
		return nil
	}
	nextVIPs := in.vips()
	var added, removed []netops.VIP
	for _, v := range nextVIPs {
		if !slices.Contains(prevVIPs, v) {
			added = append(added, v)
		}
	}
	for _, v := range prevVIPs {
		if !slices.Contains(nextVIPs, v) {
			removed = append(removed, v)
		}
	}
	in.addVIPs(added)
	in.reconfigureRoutes(*prev, *next)
	if len(added) > 0 || !garpEqual(prev.GARP, next.GARP) {
		in.startAnnouncing()
	}
	if len(added)+len(removed) > 0 {
		in.log.Info("reload changed VIPs", "added", len(added), "removed", len(removed))
	}
	return removed
}

// status returns the instance's status; it runs in the instance's goroutine.
func (in *instance) status() control.InstanceStatus {
	s := control.InstanceStatus{
		Name:      in.cfg.Name,
		Interface: in.cfg.Interface,
		VRID:      int(in.cfg.VRID),
		Version:   int(in.cfg.Version),
		Family:    in.cfg.Family().String(),
		Mode:      "multicast",
		Source:    addrString(in.src),
	}
	s.SyncGroup = in.cfg.SyncGroup
	s.Routes, s.RouteErrors = in.routeStatus(), in.routeErrors
	if v := in.cfg.VMAC; v != nil {
		s.VMAC = v.Name
	}
	if in.cfg.Unicast != nil {
		s.Mode = "unicast"
		for _, p := range in.cfg.Unicast.Peers {
			s.Peers = append(s.Peers, p.String())
		}
	}
	for _, v := range in.vips() {
		s.VIPs = append(s.VIPs, control.VIPStatus{Address: v.Prefix.String(), Interface: v.Interface,
			Excluded: !slices.ContainsFunc(in.cfg.VIPs, func(c config.VIP) bool { return c.Prefix == v.Prefix })})
	}
	if in.tracked != nil {
		s.PriorityReason = in.tracked.Explanation
		for _, c := range in.tracked.Contributions {
			s.Trackers = append(s.Trackers, control.TrackerStatus{Kind: string(c.Kind), Name: c.Name, State: c.State.String(),
				Weight: c.Weight, Reverse: c.Reverse, Value: c.Value, Delta: c.Delta, Fault: c.Fault, Text: c.Text})
		}
	}
	in.fillCounters(&s)
	if in.router == nil {
		s.State, s.Reason = "FAULT", in.waiting
		s.BasePriority, s.Priority = int(in.cfg.Priority), int(in.cfg.Priority)
		return s
	}
	fillRouterStatus(&s, in.router.Status())
	return s
}

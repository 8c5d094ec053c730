package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/tracker"
	"github.com/vrrpd/vrrpd/vrrp"
)

// instance runs one virtual router: its goroutine owns the router, feeds it packets,
// timers and requests, and carries out its actions. Nothing else touches the router.
type instance struct {
	d   *Daemon
	cfg config.Instance
	log *slog.Logger

	sub    *netops.Subscription
	router *vrrp.Router // nil while the instance waits for its interface or source address
	src    netip.Addr
	// waiting says why router is nil, for status and retries.
	waiting string
	linkUp  bool
	// faults are the reasons the instance must be in FAULT, by source ("link",
	// "tracker"); the router is faulted while there is any.
	faults map[string]string
	// tracked is the effective priority the trackers give, nil when nothing is tracked.
	tracked *tracker.Priority

	reqs chan func()
	quit chan struct{} // closed to end the loop (after shutdown)
	done chan struct{} // closed when the loop has returned

	announce context.CancelFunc // the running announcement schedule, if any
	hooks    *hookRunner
	drops    dropLog
}

func newInstance(d *Daemon, cfg config.Instance) *instance {
	in := &instance{
		d:      d,
		cfg:    cfg,
		log:    d.log.With("instance", cfg.Name),
		linkUp: true,
		faults: map[string]string{},
		reqs:   make(chan func()),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	in.hooks = newHookRunner(in.log, d.hookUser, d.hookTime)
	d.trk.apply(in) // before the router starts: an owner held by a check never becomes master
	return in
}

// start subscribes to the interface, creates the router and runs the loop.
func (in *instance) start() error {
	sub, err := in.d.mux.Subscribe(in.cfg.Interface, in.cfg.Family(), in.cfg.VRID)
	if err != nil {
		return fmt.Errorf("instance %s: %w", in.cfg.Name, err)
	}
	in.sub = sub
	in.tryCreateRouter()
	go in.loop()
	return nil
}

// tryCreateRouter creates and starts the router once the instance has a source address.
func (in *instance) tryCreateRouter() {
	if in.router != nil {
		return
	}
	src, err := in.source()
	if err != nil {
		if in.waiting != err.Error() {
			in.log.Error("instance cannot start", "error", err)
		}
		in.waiting = err.Error()
		return
	}
	r, err := vrrp.NewRouter(routerConfig(in.cfg, src), in.d.clock)
	if err != nil {
		in.waiting = err.Error()
		in.log.Error("instance cannot start", "error", err)
		return
	}
	in.router, in.src, in.waiting = r, src, ""
	if in.tracked != nil {
		in.execute(r.Handle(vrrp.PriorityChanged{Priority: in.tracked.Priority}))
	}
	if len(in.faults) > 0 {
		in.execute(r.Handle(vrrp.FaultRaised{Reason: in.faultReason()}))
	}
	in.execute(r.Handle(vrrp.Startup{}))
}

// setFault records a reason to be in FAULT; the first one faults the router.
func (in *instance) setFault(source, reason string) {
	first := len(in.faults) == 0
	in.faults[source] = reason
	if first && in.router != nil {
		in.handle(vrrp.FaultRaised{Reason: reason})
	}
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
	if prev == nil || prev.Explanation != p.Explanation {
		in.log.Info("effective priority", "priority", p.Priority, "why", p.Explanation)
		in.d.events.publish(Event{Type: "priority", Time: in.d.clock.Now(), Node: in.d.node(), Instance: in.cfg.Name,
			Priority: int(p.Priority), Reason: p.Explanation})
	}
	if in.router != nil && in.router.Status().Priority != p.Priority {
		in.handle(vrrp.PriorityChanged{Priority: p.Priority})
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
	addrs, err := in.d.sys.Interfaces.Addrs(in.cfg.Interface)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %s: %w", in.cfg.Interface, err)
	}
	vips := in.d.allVIPs()
	for _, a := range addrs {
		if slices.Contains(vips, a) {
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

// routerConfig turns an instance's configuration into the state machine's.
func routerConfig(in config.Instance, src netip.Addr) vrrp.Config {
	c := vrrp.Config{
		VRID:                  in.VRID,
		Version:               in.Version,
		Priority:              in.Priority,
		AdvertInterval:        in.AdvertInterval,
		Preempt:               in.Preempt,
		PreemptDelay:          in.PreemptDelay,
		Accept:                in.Accept,
		DownTimerAdverts:      in.DownTimerAdverts,
		LowerPriorityNoAdvert: in.LowerPriorityNoAdvert,
		Address:               src,
		ChecksumForm:          in.Checksum,
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

// retryEvery is how often an instance without a source address looks again, besides
// looking on every link and address event.
const retryEvery = 2 * time.Second

func (in *instance) loop() {
	defer close(in.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := retryEvery
		if in.router != nil {
			if d, ok := in.router.NextDeadline(); ok {
				wait = max(0, time.Until(d))
			} else {
				wait = time.Hour
			}
		}
		timer.Reset(wait)
		select {
		case p := <-in.sub.Packets():
			if in.router != nil {
				in.handle(vrrp.AdvertReceived{Packet: p.Data, Meta: p.Meta})
			}
		case <-timer.C:
			if in.router == nil {
				in.tryCreateRouter()
			} else {
				in.handle(vrrp.TimerFired{})
			}
		case fn := <-in.reqs:
			fn()
		case <-in.quit:
			return
		}
	}
}

// do runs fn in the instance's goroutine and waits for it; false if the loop has ended.
func (in *instance) do(fn func()) bool {
	done := make(chan struct{})
	select {
	case in.reqs <- func() { fn(); close(done) }:
		<-done
		return true
	case <-in.done:
		return false
	}
}

func (in *instance) handle(ev vrrp.Event) {
	ar, isAdvert := ev.(vrrp.AdvertReceived)
	var before vrrp.Drop
	if isAdvert {
		before = in.router.LastDrop()
	}
	in.execute(in.router.Handle(ev))
	if isAdvert {
		if after := in.router.LastDrop(); after != before {
			in.drops.report(in.log, ar.Meta.Src, after)
		}
	}
}

// execute carries out the router's actions in order.
func (in *instance) execute(acts []vrrp.Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case vrrp.SendAdvert:
			in.send(a.Advert)
		case vrrp.AddVIPs:
			in.addVIPs(in.vips())
		case vrrp.RemoveVIPs:
			in.stopAnnouncing()
			in.removeVIPs(in.vips())
		case vrrp.AnnounceVIPs:
			in.startAnnouncing()
		case vrrp.Transition:
			in.transitioned(a)
		}
	}
}

func (in *instance) send(adv vrrp.Advertisement) {
	dsts := []netip.Addr{netops.Group(in.cfg.Family())}
	if in.cfg.Unicast != nil {
		dsts = in.cfg.Unicast.Peers
	}
	for _, dst := range dsts {
		b, err := adv.Encode(in.src, dst, in.cfg.Checksum)
		if err == nil {
			err = in.sub.Send(b, in.src, dst)
		}
		if err != nil {
			in.drops.sendFailed(in.log, dst, err)
		}
	}
}

// vips returns every address the instance manages: advertised and excluded.
func (in *instance) vips() []netops.VIP {
	var out []netops.VIP
	for _, v := range slices.Concat(in.cfg.VIPs, in.cfg.ExcludedVIPs) {
		out = append(out, toNetopsVIP(in.cfg, v))
	}
	return out
}

func toNetopsVIP(in config.Instance, v config.VIP) netops.VIP {
	ifname := v.Interface
	if ifname == "" {
		ifname = in.Interface
	}
	return netops.VIP{Prefix: v.Prefix, Interface: ifname, Label: v.Label}
}

func (in *instance) addVIPs(vips []netops.VIP) {
	for _, v := range vips {
		if err := in.d.sys.Addresses.Add(v); err != nil {
			in.log.Error("cannot add VIP", "vip", v.Prefix.String(), "interface", v.Interface, "error", err)
		}
	}
}

func (in *instance) removeVIPs(vips []netops.VIP) {
	for _, v := range vips {
		if err := in.d.sys.Addresses.Remove(v); err != nil {
			in.log.Error("cannot remove VIP", "vip", v.Prefix.String(), "interface", v.Interface, "error", err)
		}
	}
}

// startAnnouncing (re)starts the announcement schedule of every VIP, per interface.
func (in *instance) startAnnouncing() {
	in.stopAnnouncing()
	ctx, cancel := context.WithCancel(context.Background())
	in.announce = cancel
	byIf := map[string][]netip.Addr{}
	var order []string
	for _, v := range in.vips() {
		if _, ok := byIf[v.Interface]; !ok {
			order = append(order, v.Interface)
		}
		byIf[v.Interface] = append(byIf[v.Interface], v.Prefix.Addr())
	}
	g := in.cfg.GARP
	cfg := netops.AnnounceConfig{Repeat: g.Repeat, Delay: g.Delay, Refresh: g.Refresh, RefreshRepeat: g.RefreshRepeat, Reply: g.Reply}
	for _, ifname := range order {
		go in.d.announce(ctx, in.d.sys.Announcer, ifname, byIf[ifname], cfg, in.log)
	}
}

func (in *instance) stopAnnouncing() {
	if in.announce != nil {
		in.announce()
		in.announce = nil
	}
}

func (in *instance) transitioned(t vrrp.Transition) {
	st := in.router.Status()
	in.log.Info("state changed", "from", t.From.String(), "to", t.To.String(), "priority", st.Priority, "reason", t.Reason)
	state := t.To.String()
	if t.To == vrrp.Initialize {
		state = "STOP"
	}
	in.d.events.publish(Event{
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
		hook = in.cfg.Notify.Stop
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
}

// linkChanged reacts to the instance's interface going down or up.
func (in *instance) linkChanged(up bool) {
	if up == in.linkUp {
		return
	}
	in.linkUp = up
	if up {
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
	in.hooks.close(ctx)
	in.sub.Close()
	close(in.quit)
}

// reconfigure applies a reload to a running instance whose identity is unchanged. A master
// advertises first (the router does), then the VIP difference is applied and announced.
func (in *instance) reconfigure(next config.Instance) {
	prev := in.cfg
	prevVIPs := in.vips()
	in.cfg = next
	if in.router == nil {
		in.tryCreateRouter()
		return
	}
	src, err := in.source()
	if err != nil {
		in.log.Error("reload: keeping the old advert source", "source", in.src.String(), "error", err)
		src = in.src
	}
	in.src = src
	in.execute(in.router.Handle(vrrp.Reconfigure{Config: routerConfig(next, src)}))
	if in.router.State() != vrrp.Master {
		return
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
	in.removeVIPs(removed)
	in.addVIPs(added)
	if len(added) > 0 || !garpEqual(prev.GARP, next.GARP) {
		in.startAnnouncing()
	}
	if len(added)+len(removed) > 0 {
		in.log.Info("reload changed VIPs", "added", len(added), "removed", len(removed))
	}
}

func garpEqual(a, b config.GARP) bool { return a == b }

// reassertVIPs adds a master's VIPs again; see Daemon.Reload.
func (in *instance) reassertVIPs() {
	if in.router != nil && in.router.State() == vrrp.Master {
		in.addVIPs(in.vips())
	}
}

// status returns the instance's status; it runs in the instance's goroutine.
func (in *instance) status() InstanceStatus {
	s := InstanceStatus{
		Name:      in.cfg.Name,
		Interface: in.cfg.Interface,
		VRID:      int(in.cfg.VRID),
		Version:   int(in.cfg.Version),
		Family:    in.cfg.Family().String(),
		Mode:      "multicast",
		Source:    addrString(in.src),
	}
	if in.cfg.Unicast != nil {
		s.Mode = "unicast"
		for _, p := range in.cfg.Unicast.Peers {
			s.Peers = append(s.Peers, p.String())
		}
	}
	for _, v := range in.vips() {
		s.VIPs = append(s.VIPs, VIPStatus{Address: v.Prefix.String(), Interface: v.Interface,
			Excluded: !slices.ContainsFunc(in.cfg.VIPs, func(c config.VIP) bool { return c.Prefix == v.Prefix })})
	}
	if in.tracked != nil {
		s.PriorityReason = in.tracked.Explanation
		for _, c := range in.tracked.Contributions {
			s.Trackers = append(s.Trackers, TrackerStatus{Kind: string(c.Kind), Name: c.Name, State: c.State.String(),
				Weight: c.Weight, Reverse: c.Reverse, Value: c.Value, Delta: c.Delta, Fault: c.Fault, Text: c.Text})
		}
	}
	if in.router == nil {
		s.State, s.Reason = "FAULT", in.waiting
		s.BasePriority, s.Priority = int(in.cfg.Priority), int(in.cfg.Priority)
		return s
	}
	fillRouterStatus(&s, in.router.Status())
	return s
}

// dropLog says, at most once per interval for each sender and reason, why adverts are
// dropped: a peer that is misconfigured must be visible in seconds, not flood the log.
type dropLog struct {
	last     map[dropKey]time.Time
	lastSend time.Time
}

type dropKey struct {
	from   netip.Addr
	reason vrrp.Reason
}

const dropLogInterval = 10 * time.Second

func (l *dropLog) report(log *slog.Logger, from netip.Addr, d vrrp.Drop) {
	if l.last == nil {
		l.last = map[dropKey]time.Time{}
	}
	k := dropKey{from, d.Reason}
	if t, ok := l.last[k]; ok && d.At.Sub(t) < dropLogInterval {
		return
	}
	l.last[k] = d.At
	log.Warn(fmt.Sprintf("adverts from %v dropped: %s", from, d.Detail), "reason", d.Reason.String())
}

func (l *dropLog) sendFailed(log *slog.Logger, dst netip.Addr, err error) {
	now := time.Now()
	if now.Sub(l.lastSend) < dropLogInterval {
		return
	}
	l.lastSend = now
	log.Error("cannot send advert", "to", dst.String(), "error", err)
}

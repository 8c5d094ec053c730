package daemon

import (
	"fmt"
	"slices"

	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/vrrp"
)

// What an instance does beyond the protocol, as keepalived's instance keywords ask:
// following its advert source, leaving its link out, the interface's sysctls, and the
// hooks for a master that hears a lower priority, priority changes and deletion.

// sourceFaultSource is the fault of an instance whose advert source is gone
// (track_source).
const sourceFaultSource = "source"

// checkSource puts the instance in FAULT while its configured advert source is not on
// its interface, when it tracks it; it runs in the instance's goroutine.
func (in *instance) checkSource() {
	if !in.cfg.TrackSource || !in.cfg.Source.IsValid() {
		in.clearFault(sourceFaultSource, "source no longer tracked")
		return
	}
	addrs, err := in.d.sys.Interfaces.Addrs(in.cfg.Interface)
	if err == nil && slices.Contains(addrs, in.cfg.Source) {
		in.clearFault(sourceFaultSource, fmt.Sprintf("source %v back on %s", in.cfg.Source, in.cfg.Interface))
		return
	}
	why := fmt.Sprintf("source %v not on %s", in.cfg.Source, in.cfg.Interface)
	if err != nil {
		why = fmt.Sprintf("source %v: %v", in.cfg.Source, err)
	}
	if in.faults[sourceFaultSource] != why {
		in.setFault(sourceFaultSource, why)
	}
}

// sourceEvent has the instances that track their source on the event's interface look
// again.
func (d *Daemon) sourceEvent(ev netops.AddrEvent) {
	d.mu.Lock() // instances' configurations change under it
	var tracking []*instance
	for _, in := range d.onInterface[ev.Interface] {
		if in.cfg.TrackSource {
			tracking = append(tracking, in)
		}
	}
	d.mu.Unlock()
	for _, in := range tracking {
		in.do(in.checkSource)
	}
}

// joinGroup makes the instance's socket hear its group, when it has one of its own; it
// runs at start and after a reload.
func (in *instance) joinGroup() {
	if in.sub == nil {
		return
	}
	if err := in.sub.Join(in.cfg.Group); err != nil {
		in.log.Error("cannot join the multicast group: adverts to it are not heard", "group", in.cfg.Group.String(), "error", err)
	}
}

// applyLinkTracking makes the link's state count or not, as the configuration says;
// it runs in the instance's goroutine, at start and after a reload.
func (in *instance) applyLinkTracking() {
	switch {
	case in.cfg.IgnoreLink:
		in.clearFault("link", "interface "+in.cfg.Interface+" no longer tracked")
	case !in.linkUp:
		if _, ok := in.faults["link"]; !ok {
			in.setFault("link", "interface "+in.cfg.Interface+" down")
		}
	}
}

// tuneInterface sets what the instance needs of its interface's sysctls. A failure is
// logged: the instance runs without.
func (in *instance) tuneInterface() {
	if !in.cfg.PromoteSecondaries || in.cfg.Family() != vrrp.IPv4 || in.d.sys.Sysctl == nil {
		return
	}
	key := "net/ipv4/conf/" + in.cfg.Interface + "/promote_secondaries"
	if err := in.d.sys.Sysctl(key, "1"); err != nil {
		in.log.Error("cannot set promote_secondaries", "interface", in.cfg.Interface, "error", err)
	}
}

// lowerPriorityHeard runs the master_rx_lower_pri hook: the router reports at most one
// lower priority per advert interval.
func (in *instance) lowerPriorityHeard(a vrrp.LowerPriorityHeard) {
	in.log.Info("master heard a lower priority", "peer", a.Peer.String(), "priority", a.Priority)
	if hook := in.cfg.Notify.MasterRxLowerPri; len(hook) > 0 {
		in.runStateHook(hook, "MASTER_RX_LOWER_PRI", fmt.Sprintf("lower priority %d from %v", a.Priority, a.Peer))
	}
}

// notePriority runs the priority hook when the router's effective priority changed since
// it last looked.
func (in *instance) notePriority() {
	if in.router == nil {
		return
	}
	p := in.router.Status().Priority
	prev := in.notifiedPriority
	in.notifiedPriority = p
	if prev == 0 || prev == p || len(in.cfg.Notify.Priority) == 0 {
		return
	}
	state := "BACKUP_PRIORITY"
	if in.router.State() == vrrp.Master {
		state = "MASTER_PRIORITY"
	}
	in.runStateHook(in.cfg.Notify.Priority, state, fmt.Sprintf("priority %d -> %d", prev, p))
}

// runStateHook runs hook with keepalived's notify arguments for state.
func (in *instance) runStateHook(hook []string, state, why string) {
	prio := in.cfg.Priority
	if in.router != nil {
		prio = in.router.Status().Priority
	}
	env := []string{
		"VRRPD_INSTANCE=" + in.cfg.Name, "VRRPD_STATE=" + state,
		fmt.Sprintf("VRRPD_PRIORITY=%d", prio), "VRRPD_REASON=" + why,
	}
	in.hooks.enqueue(append(slices.Clone(hook), "INSTANCE", in.cfg.Name, state, fmt.Sprint(prio)), env)
}

// stopState is what the stop of the instance is called in hooks: STOP, or DELETED for
// an instance a reload removed whose notify says deleted.
func (in *instance) stopState() string {
	if in.deleted && in.cfg.Notify.Deleted {
		return "DELETED"
	}
	return "STOP"
}

// stopHook is the hook that runs when the instance stops.
func (in *instance) stopHook() []string {
	if in.deleted && in.cfg.Notify.Deleted {
		return in.cfg.Notify.DeletedHook
	}
	return in.cfg.Notify.Stop
}

// otherInterfacesRefresh returns the announcement schedule of the instance's VIPs on
// ifname: the VIPs on other interfaces than the instance's get their own refresh.
func (in *instance) otherInterfacesRefresh(ifname string, cfg netops.AnnounceConfig) netops.AnnounceConfig {
	other := in.cfg.GARP.RefreshOtherInterfaces
	if ifname == in.cfg.Interface || other <= 0 {
		return cfg
	}
	if cfg.Refresh == 0 || other < cfg.Refresh {
		cfg.Refresh = other
	}
	return cfg
}

package metrics

// The metrics as vrrpd exported them through client_golang's collectors, kept as the
// reference that the text written straight from the status is compared with.

import (
	"net/netip"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/vrrp"
)

// refInstanceLabels name the virtual router of a series.
var refInstanceLabels = []string{"vrrp_instance", "interface", "vrid", "family"}

// refDesc is a metric's description and how its value is kept.
type refDesc struct {
	*prometheus.Desc
	kind prometheus.ValueType
}

func newRefDesc(name, help string, kind prometheus.ValueType, labels ...string) refDesc {
	return refDesc{prometheus.NewDesc(name, help, labels, nil), kind}
}

// refPerInstance describes a metric of each instance, with labels after the instance's.
func refPerInstance(name, help string, kind prometheus.ValueType, labels ...string) refDesc {
	return newRefDesc(name, help, kind, append(append([]string(nil), refInstanceLabels...), labels...)...)
}

// referenceCollector reads the daemon's status at each scrape and turns it into metrics.
type referenceCollector struct {
	status func() control.Status

	state, stateChange, transitions                              refDesc
	priority, basePriority, masterPriority                       refDesc
	advertInterval, masterAdvertInterval, masterDown, skew       refDesc
	advertsSent, advertsReceived, prioZeroSent, prioZeroReceived refDesc
	dropped, sendErrors, garpSent, naSent, announceErrors        refDesc
	vipPresent, hookRuns, splitBrains, lateness, holding         refDesc
	trackerDelta, trackerFault                                   refDesc
	trackerState, scriptRuns, scriptDuration                     refDesc
	reloadOK, reloadTime, reloads, eventsDropped                 refDesc
	routeErrors, syncGroupState                                  refDesc

	peerState, peerChange, peerBFD, peerAdvertised refDesc
	routeState, routeAnnounced, routeCause         refDesc
	routeChange, routeTransitions                  refDesc
}

// newReferenceCollector returns a collector of the status that status returns; it is called
// once per scrape, concurrently when scrapes overlap.
func newReferenceCollector(status func() control.Status) *referenceCollector {
	const (
		gauge   = prometheus.GaugeValue
		counter = prometheus.CounterValue
	)
	return &referenceCollector{
		status: status,

		state: refPerInstance("vrrpd_instance_state",
			"The instance's state: 1 for the current one (INIT, BACKUP, MASTER, FAULT), 0 for the others.", gauge, "state"),
		stateChange: refPerInstance("vrrpd_instance_state_change_timestamp_seconds",
			"When the instance entered its state, in seconds since the epoch.", gauge),
		transitions: refPerInstance("vrrpd_instance_transitions_total",
			"State changes, by the state entered.", counter, "to"),
		priority:       refPerInstance("vrrpd_instance_priority", "The effective priority, after the trackers.", gauge),
		basePriority:   refPerInstance("vrrpd_instance_base_priority", "The configured priority.", gauge),
		masterPriority: refPerInstance("vrrpd_instance_master_priority", "The priority of the master: this node's as master, the one heard as backup; absent when none is heard.", gauge),
		advertInterval: refPerInstance("vrrpd_instance_advert_interval_seconds", "The configured advert interval.", gauge),
		masterAdvertInterval: refPerInstance("vrrpd_instance_master_advert_interval_seconds",
			"The master's advert interval: learned from its adverts (VRRPv3), or the configured one.", gauge),
		masterDown: refPerInstance("vrrpd_instance_master_down_interval_seconds",
			"Master_Down_Interval: how long a backup waits without adverts before it takes over.", gauge),
		skew:             refPerInstance("vrrpd_instance_skew_time_seconds", "Skew_Time, part of Master_Down_Interval.", gauge),
		advertsSent:      refPerInstance("vrrpd_instance_adverts_sent_total", "Adverts sent.", counter),
		advertsReceived:  refPerInstance("vrrpd_instance_adverts_received_total", "Adverts received that passed every check.", counter),
		prioZeroSent:     refPerInstance("vrrpd_instance_priority_zero_sent_total", "Adverts sent at priority 0: a master leaving.", counter),
		prioZeroReceived: refPerInstance("vrrpd_instance_priority_zero_received_total", "Adverts received at priority 0: a master leaving.", counter),
		dropped: refPerInstance("vrrpd_instance_adverts_dropped_total",
			"Packets dropped, by reason (see docs/monitoring.md).", counter, "reason"),
		sendErrors: refPerInstance("vrrpd_instance_advert_send_errors_total", "Adverts the kernel refused to send, one per destination.", counter),
		garpSent:   refPerInstance("vrrpd_instance_garp_sent_total", "Gratuitous ARPs sent for the IPv4 VIPs.", counter),
		naSent:     refPerInstance("vrrpd_instance_na_sent_total", "Unsolicited neighbour advertisements sent for the IPv6 VIPs.", counter),
		announceErrors: refPerInstance("vrrpd_instance_announce_errors_total",
			"Bursts of GARPs or NAs that failed, counted as none sent.", counter),
		vipPresent: refPerInstance("vrrpd_instance_vip_present",
			"1 while the kernel has the VIP on its interface, 0 otherwise.", gauge, "vip", "vip_interface"),
		hookRuns: refPerInstance("vrrpd_instance_hook_runs_total",
			"Notify hooks, by how they ended: ok, failed, timeout, error (not run), dropped (too many waiting).", counter, "result"),
		splitBrains: refPerInstance("vrrpd_instance_split_brains_healed_total",
			"Other masters at a lower priority this master answered at once.", counter),
		lateness: refPerInstance("vrrpd_instance_advert_lateness_max_seconds",
			"The most a periodic advert went out after it was due.", gauge),
		holding: refPerInstance("vrrpd_instance_holding_vips",
			"1 while the instance has left mastership and keeps its VIPs until the next master announces.", gauge),
		trackerDelta: refPerInstance("vrrpd_instance_tracker_priority_delta",
			"What a tracker adds to the instance's priority now.", gauge, "kind", "tracker"),
		trackerFault: refPerInstance("vrrpd_instance_tracker_fault",
			"1 while a tracker (of weight 0) holds the instance in FAULT.", gauge, "kind", "tracker"),

		trackerState: newRefDesc("vrrpd_tracker_state",
			"A tracker's state: 1 for the current one (ok, failing, unknown), 0 for the others.", gauge, "kind", "tracker", "state"),
		scriptRuns: newRefDesc("vrrpd_script_runs_total",
			"Check script runs, by how they ended: ok, failed, timeout, error (not run).", counter, "script", "result"),
		scriptDuration: newRefDesc("vrrpd_script_duration_seconds", "How long check script runs took.", prometheus.UntypedValue, "script"),
		reloadOK: newRefDesc("vrrpd_config_last_reload_successful",
			"1 when the last reload succeeded (or none was asked for), 0 when it failed and the file on disk is not what runs.", gauge),
		reloadTime: newRefDesc("vrrpd_config_last_reload_success_timestamp_seconds",
			"When the running configuration was loaded: at start, or by the last reload that succeeded.", gauge),
		reloads:       newRefDesc("vrrpd_config_reloads_total", "Reloads, by result: success, failure.", counter, "result"),
		eventsDropped: newRefDesc("vrrpd_events_dropped_total", "Events lost by subscribers (vrrpd events) too slow to read them.", counter),
		routeErrors: refPerInstance("vrrpd_instance_route_errors_total",
			"Virtual routes and rules that could not be added or removed.", counter),
		syncGroupState: newRefDesc("vrrpd_sync_group_state",
			"The sync group's state: 1 for the current one (STOP, BACKUP, MASTER, FAULT), 0 for the others.", gauge, "sync_group", "state"),

		peerState:        newRefDesc("vrrpd_bgp_peer_state", helpPeerState, gauge, "peer", "peer_asn", "state"),
		peerChange:       newRefDesc("vrrpd_bgp_peer_state_change_timestamp_seconds", helpPeerChange, gauge, "peer", "peer_asn"),
		peerBFD:          newRefDesc("vrrpd_bgp_peer_bfd_state", helpPeerBFD, gauge, "peer", "peer_asn", "state"),
		peerAdvertised:   newRefDesc("vrrpd_bgp_peer_prefixes_advertised", helpPeerAdvertised, gauge, "peer", "peer_asn"),
		routeState:       newRefDesc("vrrpd_bgp_route_state", helpRouteState, gauge, "route", "state"),
		routeAnnounced:   newRefDesc("vrrpd_bgp_route_announced", helpRouteAnnounced, gauge, "route"),
		routeCause:       newRefDesc("vrrpd_bgp_route_cause", helpRouteCause, gauge, "route", "cause"),
		routeChange:      newRefDesc("vrrpd_bgp_route_state_change_timestamp_seconds", helpRouteChange, gauge, "route"),
		routeTransitions: newRefDesc("vrrpd_bgp_route_transitions_total", helpRouteTransitions, counter, "route", "to"),
	}
}

func (c *referenceCollector) descs() []refDesc {
	return []refDesc{
		c.state, c.stateChange, c.transitions, c.priority, c.basePriority, c.masterPriority,
		c.advertInterval, c.masterAdvertInterval, c.masterDown, c.skew,
		c.advertsSent, c.advertsReceived, c.prioZeroSent, c.prioZeroReceived,
		c.dropped, c.sendErrors, c.garpSent, c.naSent, c.announceErrors,
		c.vipPresent, c.hookRuns, c.splitBrains, c.lateness, c.holding, c.trackerDelta, c.trackerFault,
		c.trackerState, c.scriptRuns, c.scriptDuration, c.reloadOK, c.reloadTime, c.reloads, c.eventsDropped,
		c.routeErrors, c.syncGroupState,
		c.peerState, c.peerChange, c.peerBFD, c.peerAdvertised,
		c.routeState, c.routeAnnounced, c.routeCause, c.routeChange, c.routeTransitions,
	}
}

// Describe sends the description of every metric the collector makes.
func (c *referenceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs() {
		ch <- d.Desc
	}
}

// The states and results every series of a set is given, 0 or not, so that a rate or
// a comparison finds the series before the first event.
var (
	refInstanceStates = [...]vrrp.State{vrrp.Initialize, vrrp.Backup, vrrp.Master, vrrp.Fault}
	refTrackerStates  = [...]string{"ok", "failing", "unknown"}
	refHookResults    = [...]string{control.ResultOK, control.ResultFailed, control.ResultTimeout, control.ResultError, control.ResultDropped}
	refScriptResults  = [...]string{control.ResultOK, control.ResultFailed, control.ResultTimeout, control.ResultError}
)

// Collect reads the status once and sends every metric of it.
func (c *referenceCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	for _, in := range st.Instances {
		c.collectInstance(ch, in)
	}
	for _, tr := range st.Trackers {
		for _, s := range refTrackerStates {
			refSend(ch, c.trackerState, bool01(tr.State == s), tr.Kind, tr.Name, s)
		}
		if tr.Runs == nil {
			continue
		}
		for _, r := range refScriptResults {
			refSend(ch, c.scriptRuns, float64(tr.Runs.Results[r]), tr.Name, r)
		}
		h := tr.Runs.Duration
		buckets := make(map[float64]uint64, len(h.Buckets))
		for _, b := range h.Buckets {
			buckets[b.UpperBound.Seconds()] = b.Count
		}
		m, err := prometheus.NewConstHistogram(c.scriptDuration.Desc, h.Count, h.Sum.Seconds(), buckets, tr.Name)
		if err != nil {
			m = prometheus.NewInvalidMetric(c.scriptDuration.Desc, err)
		}
		ch <- m
	}
	r := st.Reloads
	refSend(ch, c.reloadOK, bool01(!r.LastFailed))
	if !r.Loaded.IsZero() {
		refSend(ch, c.reloadTime, seconds(r.Loaded.UnixNano()))
	}
	refSend(ch, c.reloads, float64(r.Succeeded), "success")
	refSend(ch, c.reloads, float64(r.Failed), "failure")
	refSend(ch, c.eventsDropped, float64(st.EventsDropped))
	for _, g := range st.SyncGroups {
		for _, s := range syncGroupStates {
			refSend(ch, c.syncGroupState, bool01(g.State == s), g.Name, s)
		}
	}
	if st.BGP != nil {
		c.collectBGP(ch, st.BGP)
	}
}

func (c *referenceCollector) collectBGP(ch chan<- prometheus.Metric, b *control.BGPStatus) {
	for _, p := range b.Peers {
		l := []string{p.Address, strconv.FormatUint(uint64(p.ASN), 10)}
		for _, s := range control.BGPPeerStates {
			refSend(ch, c.peerState, bool01(p.State == s), append(l, s)...)
		}
		if !p.Since.IsZero() {
			refSend(ch, c.peerChange, seconds(p.Since.UnixNano()), l...)
		}
		if p.BFD != "" {
			for _, s := range control.BFDStates {
				refSend(ch, c.peerBFD, bool01(p.BFD == s), append(l, s)...)
			}
		}
		refSend(ch, c.peerAdvertised, float64(p.Advertised), l...)
	}
	for _, r := range b.Routes {
		for _, s := range control.RouteStates {
			refSend(ch, c.routeState, bool01(r.State == s), r.Name, labelWord(s))
			refSend(ch, c.routeTransitions, float64(r.Transitions[s]), r.Name, labelWord(s))
		}
		refSend(ch, c.routeAnnounced, bool01(r.Announced), r.Name)
		for _, cause := range control.RouteCauses {
			refSend(ch, c.routeCause, bool01(r.Cause == cause), r.Name, cause)
		}
		if !r.Since.IsZero() {
			refSend(ch, c.routeChange, seconds(r.Since.UnixNano()), r.Name)
		}
	}
}

func (c *referenceCollector) collectInstance(ch chan<- prometheus.Metric, in control.InstanceStatus) {
	l := []string{in.Name, in.Interface, strconv.Itoa(in.VRID), in.Family}
	if len(in.Routes) > 0 {
		refSend(ch, c.routeErrors, float64(in.RouteErrors), l...)
	}
	with := func(more ...string) []string {
		return append(append(make([]string, 0, len(l)+len(more)), l...), more...)
	}

	for _, s := range refInstanceStates {
		refSend(ch, c.state, bool01(in.State == s.String()), with(s.String())...)
		refSend(ch, c.transitions, float64(in.Transitions[s.String()]), with(s.String())...)
	}
	if !in.Since.IsZero() {
		refSend(ch, c.stateChange, seconds(in.Since.UnixNano()), l...)
	}
	refSend(ch, c.priority, float64(in.Priority), l...)
	refSend(ch, c.basePriority, float64(in.BasePriority), l...)
	if in.Master != "" {
		refSend(ch, c.masterPriority, float64(in.MasterPriority), l...)
	}
	refSend(ch, c.advertInterval, in.AdvertInterval.Seconds(), l...)
	refSend(ch, c.masterAdvertInterval, in.MasterAdvertInterval.Seconds(), l...)
	refSend(ch, c.masterDown, in.MasterDownInterval.Seconds(), l...)
	refSend(ch, c.skew, in.SkewTime.Seconds(), l...)
	refSend(ch, c.advertsSent, float64(in.AdvertsSent), l...)
	refSend(ch, c.advertsReceived, float64(in.AdvertsReceived), l...)
	refSend(ch, c.prioZeroSent, float64(in.PriorityZeroSent), l...)
	refSend(ch, c.prioZeroReceived, float64(in.PriorityZeroReceived), l...)
	for r := range vrrp.NumReasons {
		refSend(ch, c.dropped, float64(in.Drops[r.String()]), with(r.String())...)
	}
	refSend(ch, c.sendErrors, float64(in.AdvertSendErrors), l...)
	refSend(ch, c.garpSent, float64(in.GARPSent), l...)
	refSend(ch, c.naSent, float64(in.NASent), l...)
	refSend(ch, c.announceErrors, float64(in.AnnounceErrors), l...)
	for _, v := range in.VIPs {
		refSend(ch, c.vipPresent, bool01(v.Present), with(refVIPAddress(v.Address), v.Interface)...)
	}
	for _, r := range refHookResults {
		refSend(ch, c.hookRuns, float64(in.HookRuns[r]), with(r)...)
	}
	refSend(ch, c.splitBrains, float64(in.SplitBrainsHealed), l...)
	refSend(ch, c.lateness, in.AdvertLatenessMax.Seconds(), l...)
	refSend(ch, c.holding, bool01(in.Holding), l...)
	for _, tr := range in.Trackers {
		refSend(ch, c.trackerDelta, float64(tr.Delta), with(tr.Kind, tr.Name)...)
		refSend(ch, c.trackerFault, bool01(tr.Fault), with(tr.Kind, tr.Name)...)
	}
}

// refSend sends one sample; a sample the description does not fit is reported in the
// scrape rather than dropped.
func refSend(ch chan<- prometheus.Metric, d refDesc, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d.Desc, d.kind, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d.Desc, err)
	}
	ch <- m
}

// refVIPAddress is the VIP without its prefix length, as alerts join it across nodes
// whose prefix lengths may differ.
func refVIPAddress(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr().String()
	}
	return s
}

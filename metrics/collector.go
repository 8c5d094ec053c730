package metrics

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/vrrp"
)

// instanceLabels name the virtual router of a series.
var instanceLabels = []string{"vrrp_instance", "interface", "vrid", "family"}

// desc is a metric's description and how its value is kept.
type desc struct {
	*prometheus.Desc
	kind prometheus.ValueType
}

func newDesc(name, help string, kind prometheus.ValueType, labels ...string) desc {
	return desc{prometheus.NewDesc(name, help, labels, nil), kind}
}

// perInstance describes a metric of each instance, with labels after the instance's.
func perInstance(name, help string, kind prometheus.ValueType, labels ...string) desc {
	return newDesc(name, help, kind, append(append([]string(nil), instanceLabels...), labels...)...)
}

// Collector reads the daemon's status at each scrape and turns it into metrics.
type Collector struct {
	status func() control.Status

	state, stateChange, transitions                              desc
	priority, basePriority, masterPriority                       desc
	advertInterval, masterAdvertInterval, masterDown, skew       desc
	advertsSent, advertsReceived, prioZeroSent, prioZeroReceived desc
	dropped, sendErrors, garpSent, naSent, announceErrors        desc
	vipPresent, hookRuns, splitBrains, lateness, holding         desc
	trackerDelta, trackerFault                                   desc
	trackerState, scriptRuns, scriptDuration                     desc
	reloadOK, reloadTime, reloads, eventsDropped                 desc

	peerState, peerChange, peerBFD, peerAdvertised desc
	routeState, routeAnnounced, routeCause         desc
	routeChange, routeTransitions                  desc
}

// NewCollector returns a collector of the status that status returns; it is called
// once per scrape, concurrently when scrapes overlap.
func NewCollector(status func() control.Status) *Collector {
	const (
		gauge   = prometheus.GaugeValue
		counter = prometheus.CounterValue
	)
	return &Collector{
		status: status,

		state: perInstance("vrrpd_instance_state",
			"The instance's state: 1 for the current one (INIT, BACKUP, MASTER, FAULT), 0 for the others.", gauge, "state"),
		stateChange: perInstance("vrrpd_instance_state_change_timestamp_seconds",
			"When the instance entered its state, in seconds since the epoch.", gauge),
		transitions: perInstance("vrrpd_instance_transitions_total",
			"State changes, by the state entered.", counter, "to"),
		priority:       perInstance("vrrpd_instance_priority", "The effective priority, after the trackers.", gauge),
		basePriority:   perInstance("vrrpd_instance_base_priority", "The configured priority.", gauge),
		masterPriority: perInstance("vrrpd_instance_master_priority", "The priority of the master: this node's as master, the one heard as backup; absent when none is heard.", gauge),
		advertInterval: perInstance("vrrpd_instance_advert_interval_seconds", "The configured advert interval.", gauge),
		masterAdvertInterval: perInstance("vrrpd_instance_master_advert_interval_seconds",
			"The master's advert interval: learned from its adverts (VRRPv3), or the configured one.", gauge),
		masterDown: perInstance("vrrpd_instance_master_down_interval_seconds",
			"Master_Down_Interval: how long a backup waits without adverts before it takes over.", gauge),
		skew:             perInstance("vrrpd_instance_skew_time_seconds", "Skew_Time, part of Master_Down_Interval.", gauge),
		advertsSent:      perInstance("vrrpd_instance_adverts_sent_total", "Adverts sent.", counter),
		advertsReceived:  perInstance("vrrpd_instance_adverts_received_total", "Adverts received that passed every check.", counter),
		prioZeroSent:     perInstance("vrrpd_instance_priority_zero_sent_total", "Adverts sent at priority 0: a master leaving.", counter),
		prioZeroReceived: perInstance("vrrpd_instance_priority_zero_received_total", "Adverts received at priority 0: a master leaving.", counter),
		dropped: perInstance("vrrpd_instance_adverts_dropped_total",
			"Packets dropped, by reason (see docs/monitoring.md).", counter, "reason"),
		sendErrors: perInstance("vrrpd_instance_advert_send_errors_total", "Adverts the kernel refused to send, one per destination.", counter),
		garpSent:   perInstance("vrrpd_instance_garp_sent_total", "Gratuitous ARPs sent for the IPv4 VIPs.", counter),
		naSent:     perInstance("vrrpd_instance_na_sent_total", "Unsolicited neighbour advertisements sent for the IPv6 VIPs.", counter),
		announceErrors: perInstance("vrrpd_instance_announce_errors_total",
			"Bursts of GARPs or NAs that failed, counted as none sent.", counter),
		vipPresent: perInstance("vrrpd_instance_vip_present",
			"1 while the kernel has the VIP on its interface, 0 otherwise.", gauge, "vip", "vip_interface"),
		hookRuns: perInstance("vrrpd_instance_hook_runs_total",
			"Notify hooks, by how they ended: ok, failed, timeout, error (not run), dropped (too many waiting).", counter, "result"),
		splitBrains: perInstance("vrrpd_instance_split_brains_healed_total",
			"Other masters at a lower priority this master answered at once.", counter),
		lateness: perInstance("vrrpd_instance_advert_lateness_max_seconds",
			"The most a periodic advert went out after it was due.", gauge),
		holding: perInstance("vrrpd_instance_holding_vips",
			"1 while the instance has left mastership and keeps its VIPs until the next master announces.", gauge),
		trackerDelta: perInstance("vrrpd_instance_tracker_priority_delta",
			"What a tracker adds to the instance's priority now.", gauge, "kind", "tracker"),
		trackerFault: perInstance("vrrpd_instance_tracker_fault",
			"1 while a tracker (of weight 0) holds the instance in FAULT.", gauge, "kind", "tracker"),

		trackerState: newDesc("vrrpd_tracker_state",
			"A tracker's state: 1 for the current one (ok, failing, unknown), 0 for the others.", gauge, "kind", "tracker", "state"),
		scriptRuns: newDesc("vrrpd_script_runs_total",
			"Check script runs, by how they ended: ok, failed, timeout, error (not run).", counter, "script", "result"),
		scriptDuration: newDesc("vrrpd_script_duration_seconds", "How long check script runs took.", prometheus.UntypedValue, "script"),
		reloadOK: newDesc("vrrpd_config_last_reload_successful",
			"1 when the last reload succeeded (or none was asked for), 0 when it failed and the file on disk is not what runs.", gauge),
		reloadTime: newDesc("vrrpd_config_last_reload_success_timestamp_seconds",
			"When the running configuration was loaded: at start, or by the last reload that succeeded.", gauge),
		reloads:       newDesc("vrrpd_config_reloads_total", "Reloads, by result: success, failure.", counter, "result"),
		eventsDropped: newDesc("vrrpd_events_dropped_total", "Events lost by subscribers (vrrpd events) too slow to read them.", counter),

		peerState: newDesc("vrrpd_bgp_peer_state",
			"A BGP session's state: 1 for the current one (idle, connect, active, opensent, openconfirm, established), 0 for the others.",
			gauge, "peer", "peer_asn", "state"),
		peerChange: newDesc("vrrpd_bgp_peer_state_change_timestamp_seconds",
			"When the BGP session was last established or went down, in seconds since the epoch; absent when it never was up.",
			gauge, "peer", "peer_asn"),
		peerBFD: newDesc("vrrpd_bgp_peer_bfd_state",
			"The BFD session's state: 1 for the current one (admin_down, down, init, up), 0 for the others; absent without BFD.",
			gauge, "peer", "peer_asn", "state"),
		peerAdvertised: newDesc("vrrpd_bgp_peer_prefixes_advertised", "Prefixes announced to the peer.", gauge, "peer", "peer_asn"),
		routeState: newDesc("vrrpd_bgp_route_state",
			"A route's state: 1 for the current one (withdrawn, pending, announced, last_resort), 0 for the others.", gauge, "route", "state"),
		routeAnnounced: newDesc("vrrpd_bgp_route_announced",
			"1 while every prefix of the route is announced (healthy or as a last resort), 0 otherwise.", gauge, "route"),
		routeCause: newDesc("vrrpd_bgp_route_cause",
			"Why the route is in its state: 1 for the current cause (healthy, tracker, up_delay, not_master, address, starting), 0 for the others.",
			gauge, "route", "cause"),
		routeChange: newDesc("vrrpd_bgp_route_state_change_timestamp_seconds",
			"When the route entered its state, in seconds since the epoch.", gauge, "route"),
		routeTransitions: newDesc("vrrpd_bgp_route_transitions_total", "State changes of the route, by the state entered.", counter, "route", "to"),
	}
}

func (c *Collector) descs() []desc {
	return []desc{
		c.state, c.stateChange, c.transitions, c.priority, c.basePriority, c.masterPriority,
		c.advertInterval, c.masterAdvertInterval, c.masterDown, c.skew,
		c.advertsSent, c.advertsReceived, c.prioZeroSent, c.prioZeroReceived,
		c.dropped, c.sendErrors, c.garpSent, c.naSent, c.announceErrors,
		c.vipPresent, c.hookRuns, c.splitBrains, c.lateness, c.holding, c.trackerDelta, c.trackerFault,
		c.trackerState, c.scriptRuns, c.scriptDuration, c.reloadOK, c.reloadTime, c.reloads, c.eventsDropped,
		c.peerState, c.peerChange, c.peerBFD, c.peerAdvertised,
		c.routeState, c.routeAnnounced, c.routeCause, c.routeChange, c.routeTransitions,
	}
}

// Describe sends the description of every metric the collector makes.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs() {
		ch <- d.Desc
	}
}

// The states and results every series of a set is given, 0 or not, so that a rate or
// a comparison finds the series before the first event.
var (
	instanceStates = [...]vrrp.State{vrrp.Initialize, vrrp.Backup, vrrp.Master, vrrp.Fault}
	trackerStates  = [...]string{"ok", "failing", "unknown"}
	hookResults    = [...]string{control.ResultOK, control.ResultFailed, control.ResultTimeout, control.ResultError, control.ResultDropped}
	scriptResults  = [...]string{control.ResultOK, control.ResultFailed, control.ResultTimeout, control.ResultError}
)

// Collect reads the status once and sends every metric of it.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	for _, in := range st.Instances {
		c.collectInstance(ch, in)
	}
	for _, tr := range st.Trackers {
		for _, s := range trackerStates {
			send(ch, c.trackerState, bool01(tr.State == s), tr.Kind, tr.Name, s)
		}
		if tr.Runs == nil {
			continue
		}
		for _, r := range scriptResults {
			send(ch, c.scriptRuns, float64(tr.Runs.Results[r]), tr.Name, r)
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
	send(ch, c.reloadOK, bool01(!r.LastFailed))
	if !r.Loaded.IsZero() {
		send(ch, c.reloadTime, seconds(r.Loaded.UnixNano()))
	}
	send(ch, c.reloads, float64(r.Succeeded), "success")
	send(ch, c.reloads, float64(r.Failed), "failure")
	send(ch, c.eventsDropped, float64(st.EventsDropped))
	if st.BGP != nil {
		c.collectBGP(ch, st.BGP)
	}
}

// collectBGP sends the metrics of the BGP sessions and routes. Label values are the
// status's words, with "last resort" written last_resort.
func (c *Collector) collectBGP(ch chan<- prometheus.Metric, b *control.BGPStatus) {
	for _, p := range b.Peers {
		l := []string{p.Address, strconv.FormatUint(uint64(p.ASN), 10)}
		for _, s := range control.BGPPeerStates {
			send(ch, c.peerState, bool01(p.State == s), append(l, s)...)
		}
		if !p.Since.IsZero() {
			send(ch, c.peerChange, seconds(p.Since.UnixNano()), l...)
		}
		if p.BFD != "" {
			for _, s := range control.BFDStates {
				send(ch, c.peerBFD, bool01(p.BFD == s), append(l, s)...)
			}
		}
		send(ch, c.peerAdvertised, float64(p.Advertised), l...)
	}
	for _, r := range b.Routes {
		for _, s := range control.RouteStates {
			send(ch, c.routeState, bool01(r.State == s), r.Name, labelWord(s))
			send(ch, c.routeTransitions, float64(r.Transitions[s]), r.Name, labelWord(s))
		}
		send(ch, c.routeAnnounced, bool01(r.Announced), r.Name)
		for _, cause := range control.RouteCauses {
			send(ch, c.routeCause, bool01(r.Cause == cause), r.Name, cause)
		}
		if !r.Since.IsZero() {
			send(ch, c.routeChange, seconds(r.Since.UnixNano()), r.Name)
		}
	}
}

// labelWord writes a word of the status as a label value: "last resort" is last_resort.
func labelWord(s string) string { return strings.ReplaceAll(s, " ", "_") }

func (c *Collector) collectInstance(ch chan<- prometheus.Metric, in control.InstanceStatus) {
	l := []string{in.Name, in.Interface, strconv.Itoa(in.VRID), in.Family}
	with := func(more ...string) []string {
		return append(append(make([]string, 0, len(l)+len(more)), l...), more...)
	}

	for _, s := range instanceStates {
		send(ch, c.state, bool01(in.State == s.String()), with(s.String())...)
		send(ch, c.transitions, float64(in.Transitions[s.String()]), with(s.String())...)
	}
	if !in.Since.IsZero() {
		send(ch, c.stateChange, seconds(in.Since.UnixNano()), l...)
	}
	send(ch, c.priority, float64(in.Priority), l...)
	send(ch, c.basePriority, float64(in.BasePriority), l...)
	if in.Master != "" {
		send(ch, c.masterPriority, float64(in.MasterPriority), l...)
	}
	send(ch, c.advertInterval, in.AdvertInterval.Seconds(), l...)
	send(ch, c.masterAdvertInterval, in.MasterAdvertInterval.Seconds(), l...)
	send(ch, c.masterDown, in.MasterDownInterval.Seconds(), l...)
	send(ch, c.skew, in.SkewTime.Seconds(), l...)
	send(ch, c.advertsSent, float64(in.AdvertsSent), l...)
	send(ch, c.advertsReceived, float64(in.AdvertsReceived), l...)
	send(ch, c.prioZeroSent, float64(in.PriorityZeroSent), l...)
	send(ch, c.prioZeroReceived, float64(in.PriorityZeroReceived), l...)
	for r := range vrrp.NumReasons {
		send(ch, c.dropped, float64(in.Drops[r.String()]), with(r.String())...)
	}
	send(ch, c.sendErrors, float64(in.AdvertSendErrors), l...)
	send(ch, c.garpSent, float64(in.GARPSent), l...)
	send(ch, c.naSent, float64(in.NASent), l...)
	send(ch, c.announceErrors, float64(in.AnnounceErrors), l...)
	for _, v := range in.VIPs {
		send(ch, c.vipPresent, bool01(v.Present), with(vipAddress(v.Address), v.Interface)...)
	}
	for _, r := range hookResults {
		send(ch, c.hookRuns, float64(in.HookRuns[r]), with(r)...)
	}
	send(ch, c.splitBrains, float64(in.SplitBrainsHealed), l...)
	send(ch, c.lateness, in.AdvertLatenessMax.Seconds(), l...)
	send(ch, c.holding, bool01(in.Holding), l...)
	for _, tr := range in.Trackers {
		send(ch, c.trackerDelta, float64(tr.Delta), with(tr.Kind, tr.Name)...)
		send(ch, c.trackerFault, bool01(tr.Fault), with(tr.Kind, tr.Name)...)
	}
}

// send sends one sample; a sample the description does not fit is reported in the
// scrape rather than dropped.
func send(ch chan<- prometheus.Metric, d desc, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d.Desc, d.kind, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d.Desc, err)
	}
	ch <- m
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func seconds(unixNano int64) float64 { return float64(unixNano) / 1e9 }

// vipAddress is the VIP without its prefix length, as alerts join it across nodes
// whose prefix lengths may differ.
func vipAddress(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr().String()
	}
	return s
}

package metrics

import (
	"cmp"
	"math"
	"slices"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/vrrp"
)

// family is a metric family written from the status: its HELP and TYPE lines, and
// how its samples are written from a view.
type family struct {
	name   string
	header []byte // "# HELP name help\n# TYPE name type\n"
	write  func(t *textWriter, f *family, v *view)
}

func newFamily(name, help, kind string, write func(t *textWriter, f *family, v *view)) *family {
	h := append([]byte("# HELP "+name+" "), appendEscaped(nil, help, false)...)
	h = append(h, "\n# TYPE "+name+" "+kind+"\n"...)
	return &family{name: name, header: h, write: write}
}

// The types of the families, as the TYPE line spells them.
const (
	gauge     = "gauge"
	counter   = "counter"
	histogram = "histogram"
	summary   = "summary"
)

// perInstance is a family with one sample of each instance, where value reports one.
func perInstance(name, help, kind string, value func(in *control.InstanceStatus) (float64, bool)) *family {
	return newFamily(name, help, kind, func(t *textWriter, f *family, v *view) {
		for i := range v.instances {
			l := &v.instances[i]
			if x, ok := value(l.in); ok {
				t.instanceHead(f, l)
				t.instanceTail(l, x)
			}
		}
	})
}

// always is a value every instance has.
func always(value func(in *control.InstanceStatus) float64) func(in *control.InstanceStatus) (float64, bool) {
	return func(in *control.InstanceStatus) (float64, bool) { return value(in), true }
}

// perInstanceBy is a family with a sample of each instance for each of values, told
// apart by the label.
func perInstanceBy(name, help, kind, label string, values []string, value func(in *control.InstanceStatus, s string) float64) *family {
	values = slices.Sorted(slices.Values(values))
	// The label of each value, written out once.
	pairs := make([][]byte, len(values))
	for i, s := range values {
		pairs[i] = appendLabel([]byte{','}, label, s)
	}
	return newFamily(name, help, kind, func(t *textWriter, f *family, v *view) {
		for _, g := range v.groups {
			for j, s := range values {
				for i := g.lo; i < g.hi; i++ {
					l := &v.instances[i]
					t.instanceHead(f, l)
					t.buf = append(t.buf, pairs[j]...)
					t.instanceTail(l, value(l.in, s))
				}
			}
		}
	})
}

// perTracker is a family with a sample of each tracker of each instance.
func perTracker(name, help string, value func(s *trackerSample) float64) *family {
	return newFamily(name, help, gauge, func(t *textWriter, f *family, v *view) {
		for i := range v.trackers {
			s := &v.trackers[i]
			l := &v.instances[s.at]
			t.instanceHead(f, l)
			t.label(',', "kind", s.kind)
			t.label(',', "tracker", s.name)
			t.instanceTail(l, value(s))
		}
	})
}

// perNode is a family of one sample, without labels, where value reports one.
func perNode(name, help, kind string, value func(st *control.Status) (float64, bool)) *family {
	return newFamily(name, help, kind, func(t *textWriter, f *family, v *view) {
		if x, ok := value(v.st); ok {
			t.begin(f)
			t.value(x)
		}
	})
}

// The states and results every series of a set is given, 0 or not, so that a rate or
// a comparison finds the series before the first event.
var (
	instanceStates = []string{vrrp.Initialize.String(), vrrp.Backup.String(), vrrp.Master.String(), vrrp.Fault.String()}
	trackerStates  = []string{"failing", "ok", "unknown"}
	hookResults    = []string{control.ResultOK, control.ResultFailed, control.ResultTimeout, control.ResultError, control.ResultDropped}
	scriptResults  = []string{control.ResultError, control.ResultFailed, control.ResultOK, control.ResultTimeout}
	reloadResults  = []string{"failure", "success"}
	// syncGroupStates are a sync group's, sorted.
	syncGroupStates = []string{"BACKUP", "FAULT", "MASTER", "STOP"}
)

func dropReasons() []string {
	var out []string
	for r := range vrrp.NumReasons {
		out = append(out, r.String())
	}
	return out
}

// families returns the families written from the status, by name as a scrape lists
// them.
func families() []*family {
	fs := []*family{
		perInstanceBy("vrrpd_instance_state",
			"The instance's state: 1 for the current one (INIT, BACKUP, MASTER, FAULT), 0 for the others.", gauge, "state", instanceStates,
			func(in *control.InstanceStatus, s string) float64 { return bool01(in.State == s) }),
		perInstance("vrrpd_instance_state_change_timestamp_seconds",
			"When the instance entered its state, in seconds since the epoch.", gauge,
			func(in *control.InstanceStatus) (float64, bool) {
				return seconds(in.Since.UnixNano()), !in.Since.IsZero()
			}),
		perInstanceBy("vrrpd_instance_transitions_total",
			"State changes, by the state entered.", counter, "to", instanceStates,
			func(in *control.InstanceStatus, s string) float64 { return float64(in.Transitions[s]) }),
		perInstance("vrrpd_instance_priority", "The effective priority, after the trackers.", gauge,
			always(func(in *control.InstanceStatus) float64 { return float64(in.Priority) })),
		perInstance("vrrpd_instance_base_priority", "The configured priority.", gauge,
			always(func(in *control.InstanceStatus) float64 { return float64(in.BasePriority) })),
		perInstance("vrrpd_instance_master_priority",
			"The priority of the master: this node's as master, the one heard as backup; absent when none is heard.", gauge,
			func(in *control.InstanceStatus) (float64, bool) { return float64(in.MasterPriority), in.Master != "" }),
		perInstance("vrrpd_instance_advert_interval_seconds", "The configured advert interval.", gauge,
			always(func(in *control.InstanceStatus) float64 { return in.AdvertInterval.Seconds() })),
		perInstance("vrrpd_instance_master_advert_interval_seconds",
			"The master's advert interval: learned from its adverts (VRRPv3), or the configured one.", gauge,
			always(func(in *control.InstanceStatus) float64 { return in.MasterAdvertInterval.Seconds() })),
		perInstance("vrrpd_instance_master_down_interval_seconds",
			"Master_Down_Interval: how long a backup waits without adverts before it takes over.", gauge,
			always(func(in *control.InstanceStatus) float64 { return in.MasterDownInterval.Seconds() })),
		perInstance("vrrpd_instance_skew_time_seconds", "Skew_Time, part of Master_Down_Interval.", gauge,
			always(func(in *control.InstanceStatus) float64 { return in.SkewTime.Seconds() })),
		perInstance("vrrpd_instance_adverts_sent_total", "Adverts sent.", counter,
			always(func(in *control.InstanceStatus) float64 { return float64(in.AdvertsSent) })),
		perInstance("vrrpd_instance_adverts_received_total", "Adverts received that passed every check.", counter,
			always(func(in *control.InstanceStatus) float64 { return float64(in.AdvertsReceived) })),
		perInstance("vrrpd_instance_priority_zero_sent_total", "Adverts sent at priority 0: a master leaving.", counter,
			always(func(in *control.InstanceStatus) float64 { return float64(in.PriorityZeroSent) })),
		perInstance("vrrpd_instance_priority_zero_received_total", "Adverts received at priority 0: a master leaving.", counter,
			always(func(in *control.InstanceStatus) float64 { return float64(in.PriorityZeroReceived) })),
		perInstanceBy("vrrpd_instance_adverts_dropped_total",
			"Packets dropped, by reason (see docs/monitoring.md).", counter, "reason", dropReasons(),
			func(in *control.InstanceStatus, r string) float64 { return float64(in.Drops[r]) }),
		perInstance("vrrpd_instance_advert_send_errors_total", "Adverts the kernel refused to send, one per destination.", counter,
			always(func(in *control.InstanceStatus) float64 { return float64(in.AdvertSendErrors) })),
		perInstance("vrrpd_instance_garp_sent_total", "Gratuitous ARPs sent for the IPv4 VIPs.", counter,
			always(func(in *control.InstanceStatus) float64 { return float64(in.GARPSent) })),
		perInstance("vrrpd_instance_na_sent_total", "Unsolicited neighbour advertisements sent for the IPv6 VIPs.", counter,
			always(func(in *control.InstanceStatus) float64 { return float64(in.NASent) })),
		perInstance("vrrpd_instance_announce_errors_total",
			"Bursts of GARPs or NAs that failed, counted as none sent.", counter,
			always(func(in *control.InstanceStatus) float64 { return float64(in.AnnounceErrors) })),
		newFamily("vrrpd_instance_vip_present",
			"1 while the kernel has the VIP on its interface, 0 otherwise.", gauge, writeVIPs),
		perInstanceBy("vrrpd_instance_hook_runs_total",
			"Notify hooks, by how they ended: ok, failed, timeout, error (not run), dropped (too many waiting).", counter, "result", hookResults,
			func(in *control.InstanceStatus, r string) float64 { return float64(in.HookRuns[r]) }),
		perInstance("vrrpd_instance_split_brains_healed_total",
			"Other masters at a lower priority this master answered at once.", counter,
			always(func(in *control.InstanceStatus) float64 { return float64(in.SplitBrainsHealed) })),
		perInstance("vrrpd_instance_advert_lateness_max_seconds",
			"The most a periodic advert went out after it was due.", gauge,
			always(func(in *control.InstanceStatus) float64 { return in.AdvertLatenessMax.Seconds() })),
		perInstance("vrrpd_instance_holding_vips",
			"1 while the instance has left mastership and keeps its VIPs until the next master announces.", gauge,
			always(func(in *control.InstanceStatus) float64 { return bool01(in.Holding) })),
		perTracker("vrrpd_instance_tracker_priority_delta",
			"What a tracker adds to the instance's priority now.",
			func(s *trackerSample) float64 { return float64(s.delta) }),
		perTracker("vrrpd_instance_tracker_fault",
			"1 while a tracker (of weight 0) holds the instance in FAULT.",
			func(s *trackerSample) float64 { return bool01(s.fault) }),

		newFamily("vrrpd_tracker_state",
			"A tracker's state: 1 for the current one (ok, failing, unknown), 0 for the others.", gauge, writeTrackerStates),
		newFamily("vrrpd_script_runs_total",
			"Check script runs, by how they ended: ok, failed, timeout, error (not run).", counter, writeScriptRuns),
		newFamily("vrrpd_script_duration_seconds", "How long check script runs took.", histogram, writeScriptDurations),
		perNode("vrrpd_config_last_reload_successful",
			"1 when the last reload succeeded (or none was asked for), 0 when it failed and the file on disk is not what runs.", gauge,
			func(st *control.Status) (float64, bool) { return bool01(!st.Reloads.LastFailed), true }),
		perNode("vrrpd_config_last_reload_success_timestamp_seconds",
			"When the running configuration was loaded: at start, or by the last reload that succeeded.", gauge,
			func(st *control.Status) (float64, bool) {
				return seconds(st.Reloads.Loaded.UnixNano()), !st.Reloads.Loaded.IsZero()
			}),
		newFamily("vrrpd_config_reloads_total", "Reloads, by result: success, failure.", counter, writeReloads),
		perNode("vrrpd_events_dropped_total", "Events lost by subscribers (vrrpd events) too slow to read them.", counter,
			func(st *control.Status) (float64, bool) { return float64(st.EventsDropped), true }),
		perInstance("vrrpd_instance_route_errors_total", "Virtual routes and rules that could not be added or removed.", counter,
			func(in *control.InstanceStatus) (float64, bool) { return float64(in.RouteErrors), len(in.Routes) > 0 }),
		newFamily("vrrpd_sync_group_state",
			"The sync group's state: 1 for the current one (STOP, BACKUP, MASTER, FAULT), 0 for the others.", gauge, writeSyncGroups),
	}
	fs = append(fs, bgpFamilies()...)
	slices.SortFunc(fs, func(a, b *family) int { return cmp.Compare(a.name, b.name) })
	return fs
}

// writeSyncGroups writes the sync groups' states, by state and group as their labels
// sort.
func writeSyncGroups(t *textWriter, f *family, v *view) {
	groups := slices.SortedFunc(slices.Values(v.st.SyncGroups), func(a, b control.SyncGroupStatus) int { return cmp.Compare(a.Name, b.Name) })
	for _, s := range syncGroupStates {
		for _, g := range groups {
			t.begin(f)
			t.label('{', "state", s)
			t.label(',', "sync_group", g.Name)
			t.closeLabels()
			t.value(bool01(g.State == s))
		}
	}
}

func writeVIPs(t *textWriter, f *family, v *view) {
	for i := range v.vips {
		s := &v.vips[i]
		l := &v.instances[s.at]
		t.instanceHead(f, l)
		t.label(',', "vip", s.address)
		t.label(',', "vip_interface", s.vipIface)
		t.instanceTail(l, bool01(s.present))
	}
}

// writeTrackerStates writes the states of the daemon's trackers, by kind, state and
// name as their labels sort.
func writeTrackerStates(t *textWriter, f *family, v *view) {
	trs := v.nodeTrackers
	for lo := 0; lo < len(trs); {
		hi := lo + 1
		for hi < len(trs) && trs[hi].Kind == trs[lo].Kind {
			hi++
		}
		for _, s := range trackerStates {
			for _, tr := range trs[lo:hi] {
				t.begin(f)
				t.label('{', "kind", tr.Kind)
				t.label(',', "state", s)
				t.label(',', "tracker", tr.Name)
				t.closeLabels()
				t.value(bool01(tr.State == s))
			}
		}
		lo = hi
	}
}

func writeScriptRuns(t *textWriter, f *family, v *view) {
	for _, r := range scriptResults {
		for _, tr := range v.scripts {
			t.begin(f)
			t.label('{', "result", r)
			t.label(',', "script", tr.Name)
			t.closeLabels()
			t.value(float64(tr.Runs.Results[r]))
		}
	}
}

// writeScriptDurations writes each script's histogram: its buckets by bound (of two
// with the same bound, the last), the +Inf bucket, the sum and the count.
func writeScriptDurations(t *textWriter, f *family, v *view) {
	for _, tr := range v.scripts {
		h := &tr.Runs.Duration
		bounds := make([]control.Bucket, 0, len(h.Buckets))
		for i := len(h.Buckets) - 1; i >= 0; i-- {
			if !slices.ContainsFunc(bounds, func(b control.Bucket) bool { return b.UpperBound == h.Buckets[i].UpperBound }) {
				bounds = append(bounds, h.Buckets[i])
			}
		}
		slices.SortFunc(bounds, func(a, b control.Bucket) int { return cmp.Compare(a.UpperBound, b.UpperBound) })
		for _, b := range bounds {
			t.bucket(f, tr.Name, b.UpperBound.Seconds(), b.Count)
		}
		t.bucket(f, tr.Name, math.Inf(1), h.Count)
		t.beginSuffixed(f, "_sum")
		t.label('{', "script", tr.Name)
		t.closeLabels()
		t.value(h.Sum.Seconds())
		t.beginSuffixed(f, "_count")
		t.label('{', "script", tr.Name)
		t.closeLabels()
		t.value(float64(h.Count))
	}
}

func writeReloads(t *textWriter, f *family, v *view) {
	for _, r := range reloadResults {
		n := v.st.Reloads.Succeeded
		if r == "failure" {
			n = v.st.Reloads.Failed
		}
		t.begin(f)
		t.label('{', "result", r)
		t.closeLabels()
		t.value(float64(n))
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func seconds(unixNano int64) float64 { return float64(unixNano) / 1e9 }

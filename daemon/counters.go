package daemon

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/tracker"
)

// Counters of what the daemon does around the routers, for the status and the metrics;
// the routers count the protocol's own (vrrp.Stats).

// announceCounters count an instance's announcements of its VIPs. The announcement
// schedules run in goroutines of their own: atomics.
type announceCounters struct {
	garpSent, naSent, errors atomic.Uint64
}

// countingAnnouncer is an instance's announcer: it counts what the system's sends.
type countingAnnouncer struct {
	netops.Announcer
	c *announceCounters
}

// Announce counts the announcements sent; a burst that fails counts as one error and
// none sent, since the error does not say which went out.
func (a countingAnnouncer) Announce(ifname string, vips []netip.Addr, count int, reply bool) error {
	if err := a.Announcer.Announce(ifname, vips, count, reply); err != nil {
		a.c.errors.Add(1)
		return err
	}
	n := uint64(max(count, 0))
	for _, v := range vips {
		switch {
		case v.Is4() && reply:
			a.c.garpSent.Add(2 * n) // a request-form GARP and a reply-form one
		case v.Is4():
			a.c.garpSent.Add(n)
		default:
			a.c.naSent.Add(n)
		}
	}
	return nil
}

// fillCounters adds the instance's own counters to its status; it runs in the
// instance's goroutine.
func (in *instance) fillCounters(s *control.InstanceStatus) {
	s.AdvertSendErrors = in.drops.sendErrors
	s.GARPSent, s.NASent = in.announced.garpSent.Load(), in.announced.naSent.Load()
	s.AnnounceErrors = in.announced.errors.Load()
	s.HookRuns = in.hooks.runs()
}

// reloads counts the configuration reloads. Safe for concurrent use.
type reloads struct {
	mu sync.Mutex
	st control.Reloads
}

func (r *reloads) record(now time.Time, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.LastFailed = !ok
	if ok {
		r.st.Succeeded++
		r.st.Loaded = now
	} else {
		r.st.Failed++
	}
}

func (r *reloads) status() control.Reloads {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// ReloadRefused records a reload refused before it reached Reload, such as a file
// with errors: the running configuration stays, and the status says the last reload
// failed.
func (d *Daemon) ReloadRefused() { d.reloads.record(d.clock.Now(), false) }

// fillDaemonStatus adds what belongs to no instance to the status: the trackers,
// the reloads and the events lost.
func (d *Daemon) fillDaemonStatus(st *control.Status) {
	st.Trackers = d.trk.list()
	st.Reloads = d.reloads.status()
	if st.Reloads.Loaded.IsZero() {
		st.Reloads.Loaded = st.Started
	}
	st.EventsDropped = d.events.dropped.Load()
}

// list returns every tracker's state, in the order of the configuration.
func (t *trackers) list() []control.Tracker {
	var out []control.Tracker
	for _, st := range t.set.Status() {
		ct := control.Tracker{Kind: string(st.Kind), Name: st.Name, State: st.State.String(), Since: st.Since,
			Detail: st.Detail, Value: st.Value}
		if r := st.Runs; st.Kind == tracker.KindScript {
			ct.Runs = &control.ScriptRuns{
				Results: map[string]uint64{control.ResultOK: r.OK, control.ResultFailed: r.Failed,
					control.ResultTimeout: r.TimedOut, control.ResultError: r.NotRun},
				Duration: durationHistogram(&r),
			}
		}
		out = append(out, ct)
	}
	return out
}

// durationHistogram turns a script's run durations into cumulative buckets.
func durationHistogram(r *tracker.ScriptRuns) control.Histogram {
	h := control.Histogram{Sum: control.Duration(r.Total)}
	for i, bound := range tracker.ScriptRunBounds {
		h.Count += r.Durations[i]
		h.Buckets = append(h.Buckets, control.Bucket{UpperBound: control.Duration(bound), Count: h.Count})
	}
	h.Count += r.Durations[len(tracker.ScriptRunBounds)]
	return h
}

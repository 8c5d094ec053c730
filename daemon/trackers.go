package daemon

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/tracker"
)

// trackers runs the health trackers of the current configuration and hands each
// instance its effective priority. A reload that leaves every tracker definition alone
// keeps the running set, so that no script's fall and rise count starts over.
type trackers struct {
	d   *Daemon
	env tracker.Env

	mu     sync.Mutex
	set    *tracker.Set // nil when no instance tracks anything
	cancel context.CancelFunc
	def    trackerDefs
	links  chan netops.Event           // the running set's link events
	latest map[string]netops.LinkEvent // the last event of every interface, to replay
	last   map[string]tracker.Status   // tracker states last reported, by kind/name
}

// trackerDefs is what decides a tracker set: the definitions and who tracks what.
type trackerDefs struct {
	Scripts   []config.Script
	Processes []config.Process
	Files     []config.File
	HAProxy   []config.HAProxy
	Tracks    map[string]config.Track
	Bases     map[string]uint8
}

// defsOf returns cfg's tracker definitions without their line numbers: a reload that
// only moves lines (a comment added) must not restart the trackers.
func defsOf(cfg *config.Config) trackerDefs {
	d := trackerDefs{
		Scripts:   noLines(cfg.Scripts, func(s *config.Script) { s.Line = 0 }),
		Processes: noLines(cfg.Processes, func(p *config.Process) { p.Line = 0 }),
		Files:     noLines(cfg.Files, func(f *config.File) { f.Line = 0 }),
		HAProxy:   noLines(cfg.HAProxy, func(h *config.HAProxy) { h.Line = 0 }),
		Tracks:    map[string]config.Track{},
		Bases:     map[string]uint8{},
	}
	ref := func(r *config.TrackRef) { r.Line = 0 }
	for _, in := range cfg.Instances {
		t := in.Track
		d.Tracks[in.Name] = config.Track{
			Scripts: noLines(t.Scripts, ref), Interfaces: noLines(t.Interfaces, ref), Processes: noLines(t.Processes, ref),
			Files: noLines(t.Files, ref), HAProxy: noLines(t.HAProxy, ref),
		}
		d.Bases[in.Name] = in.Priority
	}
	return d
}

func noLines[T any](xs []T, clear func(*T)) []T {
	out := slices.Clone(xs)
	for i := range out {
		clear(&out[i])
	}
	return out
}

func tracks(cfg *config.Config) bool {
	for _, in := range cfg.Instances {
		if len(tracker.Refs(in.Track)) > 0 {
			return true
		}
	}
	return false
}

// prepare builds the tracker set for cfg, without starting it: a script that fails
// the security check refuses the configuration here, before anything changes.
func (t *trackers) prepare(cfg *config.Config) (*tracker.Set, chan netops.Event, error) {
	if !tracks(cfg) {
		return nil, nil, nil
	}
	env := t.env
	links := make(chan netops.Event, 256)
	env.Links = links
	set, err := tracker.NewSet(cfg, env, t.d.log)
	if err != nil {
		return nil, nil, fmt.Errorf("trackers: %w", err)
	}
	return set, links, nil
}

// changed reports whether cfg needs another tracker set than the running one.
func (t *trackers) changed(cfg *config.Config) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !reflect.DeepEqual(t.def, defsOf(cfg))
}

// run replaces the running set (if any) with set, already prepared.
func (t *trackers) run(cfg *config.Config, set *tracker.Set, links chan netops.Event) {
	t.mu.Lock()
	old, oldCancel := t.set, t.cancel
	t.set, t.links, t.def = set, links, defsOf(cfg)
	t.cancel = nil
	if set != nil {
		// Replay the link state a new set has not seen: the monitor listed it once.
		for _, ev := range t.latest {
			select {
			case links <- ev:
			default:
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		t.cancel = cancel
		set.Start(ctx)
		go t.consume(set)
	}
	t.mu.Unlock()
	if old != nil {
		oldCancel()
		old.Close()
	}
}

// link passes a link event to the running set and remembers it.
func (t *trackers) link(ev netops.LinkEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.latest == nil {
		t.latest = map[string]netops.LinkEvent{}
	}
	t.latest[ev.Name] = ev
	if t.links != nil {
		select {
		case t.links <- ev:
		default:
			t.d.log.Warn("tracker link events overflow", "interface", ev.Name)
		}
	}
}

func (t *trackers) consume(set *tracker.Set) {
	for u := range set.Updates() {
		t.report(set)
		for _, in := range t.d.instancesNamed(u.Instance) {
			in.do(func() { in.setTracked(u.Priority) })
		}
	}
}

// report logs and publishes every tracker whose state changed since the last report.
func (t *trackers) report(set *tracker.Set) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[string]tracker.Status{}
	}
	for _, st := range set.Status() {
		key := string(st.Kind) + "/" + st.Name
		prev, seen := t.last[key]
		if seen && prev.State == st.State && prev.Detail == st.Detail {
			continue
		}
		t.last[key] = st
		t.d.log.Info("tracker changed", "tracker", st.Name, "kind", string(st.Kind), "state", st.State.String(), "detail", st.Detail)
		t.d.events.publish(Event{Type: "tracker", Time: t.d.clock.Now(), Node: t.d.node(),
			Tracker: st.Name, Kind: string(st.Kind), State: st.State.String(), Detail: st.Detail})
	}
}

// status returns the running set's tracker states by kind/name.
func (t *trackers) status() map[string]tracker.Status {
	t.mu.Lock()
	set := t.set
	t.mu.Unlock()
	out := map[string]tracker.Status{}
	if set == nil {
		return out
	}
	for _, st := range set.Status() {
		out[string(st.Kind)+"/"+st.Name] = st
	}
	return out
}

func (t *trackers) close() {
	t.mu.Lock()
	set, cancel := t.set, t.cancel
	t.set, t.cancel, t.links = nil, nil, nil
	t.mu.Unlock()
	if set != nil {
		cancel()
		set.Close()
	}
}

package daemon

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/tracker"
)

// trackers runs the health trackers of the daemon's configuration, one tracker.Set for
// the daemon's life, and hands each instance its effective priority. A reload
// reconfigures the set: trackers whose definition did not change keep running, so
// that no script's fall and rise count starts over, and every instance's priority and
// faults are computed again from what is configured now.
//
// An instance gets its priority when it is created, before its router starts (see
// newInstance), then at every change. While the daemon starts or reloads instances,
// changes wait: start and reconfigure pause the delivery, and refresh, which must
// follow each (deferred), hands every instance its latest priority and resumes it.
type trackers struct {
	d     *Daemon
	set   *tracker.Set
	links chan netops.Event

	// delivery is held while changes wait.
	delivery sync.Mutex

	mu   sync.Mutex
	last map[string]tracker.Status // tracker states last reported, by kind/name
}

// prepare builds the tracker set for cfg, without starting it: a script that fails the
// security check refuses the configuration here.
func (t *trackers) prepare(cfg *config.Config, env tracker.Env) error {
	t.links = make(chan netops.Event, 256)
	env.Links = t.links
	set, err := tracker.NewSet(cfg, env, t.d.log)
	if err != nil {
		return fmt.Errorf("trackers: %w", err)
	}
	t.set = set
	return nil
}

// start starts the trackers and pauses the delivery until refresh: the first
// observations are made, and every instance's first priority is known, when it
// returns.
func (t *trackers) start() {
	t.delivery.Lock()
	t.set.Start(context.Background())
	go t.consume()
}

// reconfigure makes cfg the trackers' configuration and pauses the delivery until
// refresh. A configuration whose trackers cannot be built (a script that fails the
// security check) changes nothing, and the delivery goes on.
func (t *trackers) reconfigure(cfg *config.Config) error {
	t.delivery.Lock()
	if err := t.set.Reconfigure(cfg); err != nil {
		t.delivery.Unlock()
		return fmt.Errorf("trackers: %w", err)
	}
	return nil
}

// refresh hands every instance its latest priority and resumes the delivery.
func (t *trackers) refresh() {
	defer t.delivery.Unlock()
	t.d.mu.Lock()
	instances := slices.Clone(t.d.instances)
	t.d.mu.Unlock()
	for _, in := range instances {
		in.do(func() { t.apply(in) })
	}
}

// apply hands in its latest priority. It runs in the instance's goroutine, or before
// it runs. An instance that tracks nothing and never did is left alone: its router
// has its base priority.
func (t *trackers) apply(in *instance) {
	p, ok := t.set.Priority(in.cfg.Name)
	if !ok || in.tracked == nil && len(p.Contributions) == 0 {
		return
	}
	in.setTracked(p)
}

// consume hands the instances their priority whenever it changes. An update only
// says which instance changed: the latest priority is read when it is handed over,
// so that one held back by a pause is never handed after a newer one.
func (t *trackers) consume() {
	for u := range t.set.Updates() {
		t.delivery.Lock()
		for _, in := range t.d.instancesNamed(u.Instance) {
			in.do(func() { t.apply(in) })
		}
		t.delivery.Unlock()
		// Logged once the instances have it: a master advertises a lowered priority
		// first.
		t.report()
	}
}

// link passes a link event to the trackers.
func (t *trackers) link(ev netops.LinkEvent) {
	select {
	case t.links <- ev:
	default:
		t.d.log.Warn("tracker link events overflow", "interface", ev.Name)
	}
}

// report logs and publishes every tracker whose state changed since the last report.
func (t *trackers) report() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[string]tracker.Status{}
	}
	for _, st := range t.set.Status() {
		key := string(st.Kind) + "/" + st.Name
		prev, seen := t.last[key]
		if seen && prev.State == st.State && prev.Detail == st.Detail {
			continue
		}
		t.last[key] = st
		t.d.log.Info("tracker changed", "tracker", st.Name, "kind", string(st.Kind), "state", st.State.String(), "detail", st.Detail)
		t.d.events.publish(control.Event{Type: "tracker", Time: t.d.clock.Now(), Node: t.d.node(),
			Tracker: st.Name, Kind: string(st.Kind), State: st.State.String(), Detail: st.Detail})
	}
}

// status returns the tracker states by kind/name.
func (t *trackers) status() map[string]tracker.Status {
	out := map[string]tracker.Status{}
	for _, st := range t.set.Status() {
		out[string(st.Kind)+"/"+st.Name] = st
	}
	return out
}

func (t *trackers) close() { t.set.Close() }

package tracker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vrrpd/vrrpd/netops"
)

// ifTracker follows the state of one link, as netops.LinkEvent.Up defines it, from
// link events: no polling. A change counts once it lasted down_delay (going down) or
// up_delay (going up). A link that does not exist is down.
type ifTracker struct {
	base
	env                *Env
	ifname             string
	downDelay, upDelay time.Duration

	// Owned by the linkWatcher.
	seen bool   // an event named the link
	raw  State  // the link's state now
	why  string // what the last event said
	d    debounce
}

func newIfTracker(r Ref, env *Env, log *slog.Logger, notify func()) *ifTracker {
	return &ifTracker{
		base:      newBase(KindInterface, r.Name, env, log, notify),
		env:       env,
		ifname:    r.Name,
		downDelay: r.DownDelay,
		upDelay:   r.UpDelay,
	}
}

// start only sets the time: the linkWatcher feeds the tracker.
func (t *ifTracker) start(context.Context, *sync.WaitGroup) { t.begin() }

// observe takes the link's state now and returns how long until a change that waits
// for its delay is due; 0 when none waits.
func (t *ifTracker) observe(raw State, why string) time.Duration {
	t.seen, t.raw, t.why = true, raw, why
	return t.evaluate()
}

// evaluate reports the state the delays allow now.
func (t *ifTracker) evaluate() time.Duration {
	delay, delayName := t.downDelay, "down_delay"
	if t.raw == OK {
		delay, delayName = t.upDelay, "up_delay"
	}
	st, wait := t.d.observe(t.raw, t.env.Clock(), delay)
	detail := t.why
	if wait > 0 {
		detail = fmt.Sprintf("%s; counts after %s %v", t.why, delayName, delay)
	}
	t.set(st, 0, detail)
	return wait
}

// linkListingGrace is how long after Start a tracked link that no event named is taken
// for missing: the daemon's monitor lists the links when it starts, and a link
// listed later than this is reported up then.
const linkListingGrace = time.Second

// linkWatcher reads link events for every interface tracker.
type linkWatcher struct {
	env    *Env
	log    *slog.Logger
	byName map[string][]*ifTracker
	names  map[int]string  // the name of each link index seen
	timers chan *ifTracker // trackers whose delay expired
	links  <-chan netops.Event
	// Set by start: the Set's context and goroutines, for the delays.
	ctx context.Context
	wg  *sync.WaitGroup
}

func newLinkWatcher(env *Env, trackers []*ifTracker, log *slog.Logger) *linkWatcher {
	w := &linkWatcher{
		env:    env,
		log:    log,
		byName: make(map[string][]*ifTracker),
		names:  make(map[int]string),
		timers: make(chan *ifTracker),
		links:  env.Links,
	}
	for _, t := range trackers {
		w.byName[t.ifname] = append(w.byName[t.ifname], t)
	}
	return w
}

// start takes the events already waiting on Links, the monitor's listing of the links,
// as the first state, then follows the events in the background.
func (w *linkWatcher) start(ctx context.Context, wg *sync.WaitGroup) {
	w.ctx, w.wg = ctx, wg
drain:
	for w.links != nil {
		select {
		case ev, ok := <-w.links:
			if !ok {
				w.links = nil
				break drain
			}
			w.apply(ev)
		default:
			break drain
		}
	}
	wg.Go(w.run)
}

func (w *linkWatcher) run() {
	grace := w.env.After(linkListingGrace)
	for {
		select {
		case <-w.ctx.Done():
			return
		case ev, ok := <-w.links:
			if !ok {
				w.log.Warn("link events ended: interface trackers keep their last state")
				w.links = nil
				continue
			}
			w.apply(ev)
		case t := <-w.timers:
			w.arm(t, t.evaluate())
		case <-grace:
			grace = nil
			for name, ts := range w.byName {
				for _, t := range ts {
					if !t.seen {
						w.arm(t, t.observe(Failing, name+" does not exist"))
					}
				}
			}
		}
	}
}

// apply takes one event.
func (w *linkWatcher) apply(ev netops.Event) {
	le, ok := ev.(netops.LinkEvent)
	if !ok {
		return
	}
	if old, known := w.names[le.Index]; known && old != le.Name {
		delete(w.names, le.Index)
		if !w.inUse(old) {
			w.observe(old, Failing, fmt.Sprintf("%s renamed to %s", old, le.Name))
		}
	}
	switch {
	case le.Deleted:
		delete(w.names, le.Index)
		if !w.inUse(le.Name) {
			w.observe(le.Name, Failing, le.Name+" deleted")
		}
	case le.Up:
		w.names[le.Index] = le.Name
		w.observe(le.Name, OK, le.Name+" up")
	default:
		w.names[le.Index] = le.Name
		w.observe(le.Name, Failing, le.Name+" down")
	}
}

// inUse reports whether a link has the name.
func (w *linkWatcher) inUse(name string) bool {
	for _, n := range w.names {
		if n == name {
			return true
		}
	}
	return false
}

func (w *linkWatcher) observe(name string, s State, why string) {
	for _, t := range w.byName[name] {
		w.arm(t, t.observe(s, why))
	}
}

// arm evaluates t again after wait, when wait is not 0.
func (w *linkWatcher) arm(t *ifTracker, wait time.Duration) {
	if wait <= 0 {
		return
	}
	ctx := w.ctx
	w.wg.Go(func() {
		select {
		case <-w.env.After(wait):
			select {
			case w.timers <- t:
			case <-ctx.Done():
			}
		case <-ctx.Done():
		}
	})
}

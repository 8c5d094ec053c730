package tracker

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
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

// linkWatcher reads link events for every interface tracker, and remembers what they
// said of each link for the trackers that a reload adds.
type linkWatcher struct {
	env      *Env
	log      *slog.Logger
	byName   map[string][]*ifTracker
	names    map[int]string       // the name of each link index seen
	last     map[string]linkState // what the last event said of each link name
	listed   bool                 // the listing's grace has passed: a link not named is missing
	timers   chan *ifTracker      // trackers whose delay expired
	replaced chan linkTrackers
	links    <-chan netops.Event
	// Set by start: the Set's context and goroutines, for the delays.
	ctx context.Context
	wg  *sync.WaitGroup
}

type linkState struct {
	state State
	why   string
}

// linkTrackers asks the running watcher to feed other trackers.
type linkTrackers struct {
	trackers []*ifTracker
	done     chan struct{}
}

func newLinkWatcher(env *Env, log *slog.Logger) *linkWatcher {
	return &linkWatcher{
		env:      env,
		log:      log,
		byName:   make(map[string][]*ifTracker),
		names:    make(map[int]string),
		last:     make(map[string]linkState),
		timers:   make(chan *ifTracker),
		replaced: make(chan linkTrackers),
		links:    env.Links,
	}
}

// replace makes the watcher feed trackers, and returns once a tracker it did not feed
// before has the state of its link, when an event said it or the link is known to be
// missing. Before start it only records them. It does nothing on a nil watcher.
func (w *linkWatcher) replace(trackers []*ifTracker) {
	if w == nil {
		return
	}
	if w.ctx == nil {
		w.feed(trackers)
		return
	}
	req := linkTrackers{trackers: trackers, done: make(chan struct{})}
	select {
	case w.replaced <- req:
	case <-w.ctx.Done():
		return
	}
	select {
	case <-req.done:
	case <-w.ctx.Done():
	}
}

// feed makes trackers those the events go to, giving the new ones what is known of
// their link.
func (w *linkWatcher) feed(trackers []*ifTracker) {
	fed := make(map[*ifTracker]bool)
	for _, ts := range w.byName {
		for _, t := range ts {
			fed[t] = true
		}
	}
	w.byName = make(map[string][]*ifTracker)
	for _, t := range trackers {
		w.byName[t.ifname] = append(w.byName[t.ifname], t)
		if fed[t] {
			continue
		}
		if l, ok := w.last[t.ifname]; ok {
			w.arm(t, t.observe(l.state, l.why))
		} else if w.listed {
			w.arm(t, t.observe(Failing, t.ifname+" does not exist"))
		}
	}
}

// feeds reports whether the watcher feeds t.
func (w *linkWatcher) feeds(t *ifTracker) bool {
	return slices.Contains(w.byName[t.ifname], t)
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
			if w.feeds(t) {
				w.arm(t, t.evaluate())
			}
		case req := <-w.replaced:
			w.feed(req.trackers)
			close(req.done)
		case <-grace:
			grace = nil
			w.listed = true
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
			delete(w.last, old) // a missing link is not remembered: links come and go
		}
	}
	switch {
	case le.Deleted:
		delete(w.names, le.Index)
		if !w.inUse(le.Name) {
			w.observe(le.Name, Failing, le.Name+" deleted")
			delete(w.last, le.Name)
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
	w.last[name] = linkState{s, why}
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

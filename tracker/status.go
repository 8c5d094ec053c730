package tracker

import (
	"context"

	"github.com/vrrpd/vrrpd/config"
	"log/slog"
	"sync"
	"time"
)

// Kind is what a tracker watches; its values are the keys of `track:` in the
// configuration, in the singular.
type Kind string

// The kinds of trackers.
const (
	KindScript    Kind = "script"
	KindInterface Kind = "interface"
	KindProcess   Kind = "process"
	KindFile      Kind = "file"
	KindHAProxy   Kind = "haproxy"
	KindBFD       Kind = "bfd"
)

// kinds lists the kinds in the order of `track:` and of Set.Status.
var kinds = [...]Kind{KindScript, KindInterface, KindProcess, KindFile, KindHAProxy, KindBFD}

// State is what a tracker last concluded.
type State int

// The states of a tracker. A file tracker is OK once read: what counts is its Value.
const (
	// Unknown: no result yet, such as a script before its first run ends. It moves
	// no priority and causes no fault, as keepalived's INIT state of a script.
	Unknown State = iota
	OK
	Failing
)

func (s State) String() string {
	switch s {
	case OK:
		return "ok"
	case Failing:
		return "failing"
	}
	return "unknown"
}

// Status is one tracker as `vrrpd show` shows it.
type Status struct {
	Kind Kind
	// Name is the tracker's name in the configuration: the script, process, file or
	// haproxy check, or the interface.
	Name  string
	State State
	// Since is when State last changed, or when the Set started.
	Since time.Time
	// Value is the number a file tracker read, clamped to -254..254; 0 for the others.
	Value int
	// Detail is the last result in words: "exit 1", "timed out after 2s, process group
	// killed", "be_app DOWN (0/2 UP), be_static UP (2/2 UP)", "eth1 down",
	// "2 haproxy processes (quorum 1)".
	Detail string
	// Awaiting reports that the tracker has no result yet and is still within the time
	// its first result may take: a script's or haproxy check's timeout (and a second),
	// the link listing's grace for an interface. Meanwhile a weight of 0 holds an
	// instance that has just started out of MASTER, as keepalived's INIT state of a
	// script does.
	Awaiting bool
	// Runs counts a script's runs; zero for the other kinds.
	Runs ScriptRuns
	// Objects are an haproxy check's backends and frontends, in the order of its rule,
	// as its last answer had them: all down when HAProxy did not answer. Nil for the
	// other kinds.
	Objects []ObjectStatus
}

// ObjectStatus is one backend or frontend of an haproxy check.
type ObjectStatus struct {
	Object config.HAProxyObject
	Up     bool
	// Detail is what the answer said: "be_app DOWN (0/2 UP)".
	Detail string
}

// tracker is one running check. status is safe for concurrent use; start is called
// once, by the Set.
type tracker interface {
	status() Status
	// start makes the first observation when it is quick (a file read, a /proc scan)
	// and starts the goroutines of the tracker in wg, which end when ctx does.
	start(ctx context.Context, wg *sync.WaitGroup)
	// await and endAwait set and clear Status.Awaiting; see base.
	await()
	endAwait()
}

// base holds a tracker's Status and reports its changes.
type base struct {
	clock  func() time.Time
	log    *slog.Logger
	notify func() // tells the Set that the status changed

	mu sync.Mutex
	st Status
}

func newBase(kind Kind, name string, env *Env, log *slog.Logger, notify func()) base {
	return base{
		clock:  env.Clock,
		log:    log.With("tracker", string(kind), "name", name),
		notify: notify,
		st:     Status{Kind: kind, Name: name},
	}
}

func (b *base) status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.st
}

// begin sets Since to the start of the Set.
func (b *base) begin() {
	b.mu.Lock()
	b.st.Since = b.clock()
	b.mu.Unlock()
}

// await marks a tracker that has not started as waiting for its first result.
func (b *base) await() {
	b.mu.Lock()
	b.st.Awaiting = true
	b.mu.Unlock()
}

// endAwait ends the wait for a first result that did not come in time: the tracker
// stays Unknown, which moves nothing.
func (b *base) endAwait() {
	b.mu.Lock()
	if !b.st.Awaiting {
		b.mu.Unlock()
		return
	}
	b.st.Awaiting = false
	b.mu.Unlock()
	b.log.Warn("no result in time: instances no longer wait for it")
	b.notify()
}

// set records a result. A change of state is logged; any change is reported.
func (b *base) set(state State, value int, detail string) {
	b.mu.Lock()
	old := b.st
	if old.State == state && old.Value == value && old.Detail == detail && !old.Awaiting {
		b.mu.Unlock()
		return
	}
	if old.State != state {
		b.st.Since = b.clock()
	}
	b.st.State, b.st.Value, b.st.Detail, b.st.Awaiting = state, value, detail, false
	b.mu.Unlock()
	if old.State != state {
		b.log.Debug("tracker state changed", "from", old.State.String(), "to", state.String(), "detail", detail)
	}
	b.notify()
}

// debounce reports a change of state once it has lasted a delay, against flapping:
// interface down_delay and up_delay, process delay. The first state is reported at
// once. It is not safe for concurrent use.
type debounce struct {
	reported State
	pending  State // the state waiting for its delay; Unknown when none
	since    time.Time
}

// observe takes the current state s at now, with the delay a change to s must last.
// It returns the state to report and, while a change waits, how long until it is due.
func (d *debounce) observe(s State, now time.Time, delay time.Duration) (State, time.Duration) {
	if d.reported == Unknown || s == d.reported || delay <= 0 {
		d.reported, d.pending = s, Unknown
		return s, 0
	}
	if d.pending != s {
		d.pending, d.since = s, now
	}
	if waited := now.Sub(d.since); waited < delay {
		return d.reported, delay - waited
	}
	d.reported, d.pending = s, Unknown
	return s, 0
}

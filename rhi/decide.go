package rhi

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/tracker"
)

// Inputs are what routes' conditions read.
type Inputs struct {
	// Trackers are the states of the trackers, as tracker.Set.Status returns them.
	Trackers []tracker.Status
	// VRRP is the state of each VRRP instance by name ("MASTER", "BACKUP", ...).
	VRRP map[string]string
}

// State is what a route's prefixes are doing.
type State int

// The states of a route.
const (
	// Withdrawn: not announced.
	Withdrawn State = iota
	// Pending: the condition holds, but not yet for up_delay; the prefixes are not
	// announced, or announced as a last resort with on_failure.
	Pending
	// Announced: announced as a healthy path.
	Announced
	// LastResort: the condition fails and on_failure keeps the prefixes announced with
	// a worse MED and a longer AS path.
	LastResort
)

func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Announced:
		return "announced"
	case LastResort:
		return "last resort"
	}
	return "withdrawn"
}

// Cause is why a route is in its state, as one word of a small set: what metrics and
// alerts group by, where Reason is for a person.
type Cause string

// The causes of a route's state.
const (
	// CauseHealthy: the condition holds.
	CauseHealthy Cause = "healthy"
	// CauseTracker: a tracker of the condition fails or has no result yet.
	CauseTracker Cause = "tracker"
	// CauseUpDelay: the condition holds, not yet for up_delay.
	CauseUpDelay Cause = "up_delay"
	// CauseNotMaster: the instance of only_when_master is not MASTER.
	CauseNotMaster Cause = "not_master"
	// CauseAddress: the route's address could not be put on its interface.
	CauseAddress Cause = "address"
	// CauseStarting: nothing was decided yet.
	CauseStarting Cause = "starting"
)

// Causes are every Cause, in the order above.
var Causes = []Cause{CauseHealthy, CauseTracker, CauseUpDelay, CauseNotMaster, CauseAddress, CauseStarting}

// States are every State, in their order.
var States = []State{Withdrawn, Pending, Announced, LastResort}

// Decision is what a route's prefixes should be doing now, and why.
type Decision struct {
	Route string
	State State
	// Announce says the prefixes are announced: Announced, or LastResort, or Pending
	// after a failure that on_failure keeps announced.
	Announce bool
	// Attributes are those of the announce.
	Attributes Attributes
	// Reason says why in words: "be_app DOWN (0/2 UP)", "healthy for 1.2s of
	// up_delay 2s", "instance web-vrrp is BACKUP".
	Reason string
	Cause  Cause
	// Since is when State last changed.
	Since time.Time
}

// Attributes are what an announce carries besides the prefix and its next hop (the
// session's own address).
type Attributes struct {
	// MED, when HasMED, is the MULTI_EXIT_DISC.
	MED    uint32
	HasMED bool
	// Prepend is how many more times the node's AS is put in front of the AS path.
	Prepend int
	// Communities are standard communities (RFC 1997), in the order configured.
	Communities []uint32
}

// CommunityGracefulShutdown is GRACEFUL_SHUTDOWN, 65535:0 (RFC 8326).
const CommunityGracefulShutdown = 0xFFFF0000

// Equal reports whether a and b carry the same attributes.
func (a Attributes) Equal(b Attributes) bool {
	return a.MED == b.MED && a.HasMED == b.HasMED && a.Prepend == b.Prepend && slices.Equal(a.Communities, b.Communities)
}

// Table decides which routes are announced. It remembers since when each route's
// condition holds (for up_delay) and its last decision; it does no I/O and reads no
// clock: time is an argument. It is not safe for concurrent use.
type Table struct {
	routes  []config.Route
	healthy map[string]time.Time // since when the condition holds; absent while it fails
	last    map[string]Decision
}

// NewTable returns a Table for routes.
func NewTable(routes []config.Route) *Table {
	t := &Table{healthy: map[string]time.Time{}, last: map[string]Decision{}}
	t.Reconfigure(routes)
	return t
}

// Reconfigure makes routes the Table's. A route whose definition (its line aside) did
// not change keeps what the Table remembers of it; a changed one starts over, so that
// a new up_delay counts from now.
func (t *Table) Reconfigure(routes []config.Route) {
	keep := map[string]bool{}
	for _, r := range routes {
		i := slices.IndexFunc(t.routes, func(o config.Route) bool { return o.Name == r.Name })
		if i >= 0 && sameRoute(t.routes[i], r) {
			keep[r.Name] = true
		}
	}
	for name := range t.last {
		if !keep[name] {
			delete(t.last, name)
			delete(t.healthy, name)
		}
	}
	t.routes = slices.Clone(routes)
}

func sameRoute(a, b config.Route) bool {
	a.Line, b.Line = 0, 0
	return reflect.DeepEqual(a, b)
}

// Decide returns the decision of every route at now, in configuration order, and how
// long until a pending route's up_delay ends (0 when none waits): call it again then.
func (t *Table) Decide(now time.Time, in Inputs) ([]Decision, time.Duration) {
	var next time.Duration
	out := make([]Decision, 0, len(t.routes))
	for _, r := range t.routes {
		d, wait := t.decide(r, now, in)
		if prev, ok := t.last[r.Name]; ok && prev.State == d.State {
			d.Since = prev.Since
		} else {
			d.Since = now
		}
		t.last[r.Name] = d
		if wait > 0 && (next == 0 || wait < next) {
			next = wait
		}
		out = append(out, d)
	}
	return out, next
}

func (t *Table) decide(r config.Route, now time.Time, in Inputs) (Decision, time.Duration) {
	d := Decision{Route: r.Name, Attributes: Attributes{Communities: slices.Clone(r.Communities)}}
	ok, why := Evaluate(r.When, in.Trackers)
	if !ok {
		delete(t.healthy, r.Name)
	} else if _, known := t.healthy[r.Name]; !known {
		t.healthy[r.Name] = now
	}
	if r.OnlyWhenMaster != "" {
		if st := in.VRRP[r.OnlyWhenMaster]; st != "MASTER" {
			if st == "" {
				st = "not running"
			}
			d.Reason, d.Cause = fmt.Sprintf("instance %s is %s", r.OnlyWhenMaster, st), CauseNotMaster
			return d, 0
		}
	}
	lastResort := func() {
		if !r.OnFailure.Withdraw {
			d.Announce = true
			d.Attributes.MED, d.Attributes.HasMED, d.Attributes.Prepend = r.OnFailure.MED, true, r.OnFailure.Prepend
		}
	}
	if !ok {
		d.State, d.Reason, d.Cause = Withdrawn, why, CauseTracker
		if !r.OnFailure.Withdraw {
			d.State = LastResort
			lastResort()
		}
		return d, 0
	}
	if held := now.Sub(t.healthy[r.Name]); held < r.UpDelay {
		d.State, d.Cause = Pending, CauseUpDelay
		d.Reason = fmt.Sprintf("healthy for %v of up_delay %v", held.Round(time.Millisecond), r.UpDelay)
		// A route that was a last resort stays one until it is announced as healthy.
		if prev := t.last[r.Name]; prev.State == LastResort || prev.State == Pending && prev.Announce {
			lastResort()
		}
		return d, r.UpDelay - held
	}
	d.State, d.Announce, d.Reason, d.Cause = Announced, true, why, CauseHealthy
	return d, 0
}

// Evaluate applies a condition to the trackers' states: whether it holds, and why in
// words. An empty condition always holds.
func Evaluate(c config.Condition, trackers []tracker.Status) (bool, string) {
	if len(c.Items) == 0 {
		return true, "no condition"
	}
	var passing, failing []string
	for _, it := range c.Items {
		if ok, why := evaluateItem(it, trackers); ok {
			passing = append(passing, why)
		} else {
			failing = append(failing, why)
		}
	}
	holds := len(failing) == 0
	if c.Any {
		holds = len(passing) > 0
	}
	if holds {
		return true, strings.Join(passing, ", ")
	}
	return false, strings.Join(failing, ", ")
}

// evaluateItem says whether one tracker passes, and why.
func evaluateItem(it config.ConditionItem, trackers []tracker.Status) (bool, string) {
	kind, _ := tracker.SectionKind(it.Section)
	i := slices.IndexFunc(trackers, func(s tracker.Status) bool { return s.Kind == kind && s.Name == it.Name })
	if i < 0 {
		return false, fmt.Sprintf("%s %s is not running", kind, it.Name)
	}
	st := trackers[i]
	switch {
	case st.State == tracker.Unknown:
		return false, fmt.Sprintf("%s %s has no result yet", kind, it.Name)
	case it.Object != nil:
		j := slices.IndexFunc(st.Objects, func(o tracker.ObjectStatus) bool { return o.Object == *it.Object })
		if j < 0 {
			return false, fmt.Sprintf("%v not in the answer of haproxy %s", *it.Object, it.Name)
		}
		return st.Objects[j].Up, st.Objects[j].Detail
	case kind == tracker.KindFile:
		return st.State == tracker.OK && st.Value >= 0, fmt.Sprintf("file %s = %d", it.Name, st.Value)
	case kind == tracker.KindInterface:
		return st.State == tracker.OK, st.Detail
	}
	word := "ok"
	if st.State != tracker.OK {
		word = "failing"
	}
	if st.Detail == "" {
		return st.State == tracker.OK, fmt.Sprintf("%s %s %s", kind, it.Name, word)
	}
	return st.State == tracker.OK, fmt.Sprintf("%s %s %s: %s", kind, it.Name, word, st.Detail)
}

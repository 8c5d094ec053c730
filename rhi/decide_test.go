package rhi

import (
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/tracker"
)

func cond(t *testing.T, s string) config.Condition {
	t.Helper()
	c, err := config.ParseCondition(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	beApp    = config.HAProxyObject{Name: "be_app"}
	beStatic = config.HAProxyObject{Name: "be_static"}
)

func lb(appUp bool) tracker.Status {
	st := tracker.Status{Kind: tracker.KindHAProxy, Name: "lb", State: tracker.OK,
		Objects: []tracker.ObjectStatus{{Object: beApp, Up: true, Detail: "be_app UP (2/2 UP)"}, {Object: beStatic, Up: true, Detail: "be_static UP (1/1 UP)"}}}
	if !appUp {
		st.State = tracker.Failing
		st.Objects[0] = tracker.ObjectStatus{Object: beApp, Detail: "be_app DOWN (0/2 UP)"}
	}
	return st
}

func proc(state tracker.State) tracker.Status {
	return tracker.Status{Kind: tracker.KindProcess, Name: "haproxy", State: state, Detail: "1 haproxy process (quorum 1)"}
}

func TestEvaluate(t *testing.T) {
	file := func(v int) tracker.Status {
		return tracker.Status{Kind: tracker.KindFile, Name: "maint", State: tracker.OK, Value: v}
	}
	tests := []struct {
		name     string
		when     string
		trackers []tracker.Status
		ok       bool
		why      string
	}{
		{"object up", "haproxy:lb/b:be_app", []tracker.Status{lb(true)}, true, "be_app UP (2/2 UP)"},
		{"object down", "all(haproxy:lb/b:be_app, processes:haproxy)", []tracker.Status{lb(false), proc(tracker.OK)}, false, "be_app DOWN (0/2 UP)"},
		{"other object up", "haproxy:lb/b:be_static", []tracker.Status{lb(false)}, true, "be_static UP (1/1 UP)"},
		{"whole check", "haproxy:lb", []tracker.Status{lb(false)}, false, "haproxy lb failing"},
		{"any", "any(haproxy:lb/b:be_app, processes:haproxy)", []tracker.Status{lb(false), proc(tracker.OK)}, true, "process haproxy ok: 1 haproxy process (quorum 1)"},
		{"any none", "any(haproxy:lb/b:be_app, processes:haproxy)", []tracker.Status{lb(false), proc(tracker.Failing)}, false,
			"be_app DOWN (0/2 UP), process haproxy failing: 1 haproxy process (quorum 1)"},
		{"no result yet", "processes:haproxy", []tracker.Status{proc(tracker.Unknown)}, false, "process haproxy has no result yet"},
		{"not running", "scripts:chk", nil, false, "script chk is not running"},
		{"file zero", "files:maint", []tracker.Status{file(0)}, true, "file maint = 0"},
		{"file negative", "files:maint", []tracker.Status{file(-1)}, false, "file maint = -1"},
		{"interface", "interfaces:eth1", []tracker.Status{{Kind: tracker.KindInterface, Name: "eth1", State: tracker.Failing, Detail: "eth1 down"}}, false, "eth1 down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why := Evaluate(cond(t, tt.when), tt.trackers)
			if ok != tt.ok || why != tt.why {
				t.Errorf("got %v %q, want %v %q", ok, why, tt.ok, tt.why)
			}
		})
	}
}

// step is one call of Decide: the inputs at an offset from the start, and the decision
// and wait expected.
type step struct {
	at       time.Duration
	trackers []tracker.Status
	vrrp     string // state of instance v
	state    State
	announce bool
	med      bool
	reason   string
	cause    Cause
	wait     time.Duration
}

func TestDecide(t *testing.T) {
	web := config.Route{Name: "web", OnFailure: config.OnFailure{Withdraw: true}, Communities: []uint32{65010<<16 | 100}}
	up, down := []tracker.Status{lb(true), proc(tracker.OK)}, []tracker.Status{lb(false), proc(tracker.OK)}
	tests := []struct {
		name  string
		route func(r *config.Route)
		steps []step
	}{
		{"up_delay, withdraw at once", func(r *config.Route) { r.UpDelay = 2 * time.Second }, []step{
			{at: 0, trackers: up, state: Pending, cause: CauseUpDelay, reason: "healthy for 0s of up_delay 2s", wait: 2 * time.Second},
			{at: 1500 * time.Millisecond, trackers: up, state: Pending, cause: CauseUpDelay, reason: "healthy for 1.5s of up_delay 2s", wait: 500 * time.Millisecond},
			{at: 2 * time.Second, trackers: up, state: Announced, announce: true, cause: CauseHealthy, reason: "be_app UP (2/2 UP), process haproxy ok: 1 haproxy process (quorum 1)"},
			{at: 3 * time.Second, trackers: down, state: Withdrawn, cause: CauseTracker, reason: "be_app DOWN (0/2 UP)"},
			{at: 4 * time.Second, trackers: up, state: Pending, cause: CauseUpDelay, reason: "healthy for 0s of up_delay 2s", wait: 2 * time.Second},
			{at: 5 * time.Second, trackers: down, state: Withdrawn, cause: CauseTracker, reason: "be_app DOWN (0/2 UP)"},
		}},
		{"no delay", nil, []step{
			{at: 0, trackers: down, state: Withdrawn, cause: CauseTracker, reason: "be_app DOWN (0/2 UP)"},
			{at: time.Second, trackers: up, state: Announced, announce: true, cause: CauseHealthy, reason: "be_app UP (2/2 UP), process haproxy ok: 1 haproxy process (quorum 1)"},
		}},
		{"last resort", func(r *config.Route) {
			r.UpDelay, r.OnFailure = time.Second, config.OnFailure{MED: 1000, Prepend: 2}
		}, []step{
			{at: 0, trackers: down, state: LastResort, announce: true, med: true, cause: CauseTracker, reason: "be_app DOWN (0/2 UP)"},
			{at: time.Second, trackers: up, state: Pending, announce: true, med: true, cause: CauseUpDelay, reason: "healthy for 0s of up_delay 1s", wait: time.Second},
			{at: 2 * time.Second, trackers: up, state: Announced, announce: true, cause: CauseHealthy, reason: "be_app UP (2/2 UP), process haproxy ok: 1 haproxy process (quorum 1)"},
			{at: 3 * time.Second, trackers: down, state: LastResort, announce: true, med: true, cause: CauseTracker, reason: "be_app DOWN (0/2 UP)"},
		}},
		{"a first start is not a last resort", func(r *config.Route) {
			r.UpDelay, r.OnFailure = time.Second, config.OnFailure{MED: 1000}
		}, []step{
			{at: 0, trackers: up, state: Pending, cause: CauseUpDelay, reason: "healthy for 0s of up_delay 1s", wait: time.Second},
		}},
		{"only when master", func(r *config.Route) {
			r.OnlyWhenMaster, r.OnFailure = "v", config.OnFailure{MED: 1000}
		}, []step{
			{at: 0, trackers: up, state: Withdrawn, cause: CauseNotMaster, reason: "instance v is not running"},
			{at: time.Second, trackers: up, vrrp: "BACKUP", state: Withdrawn, cause: CauseNotMaster, reason: "instance v is BACKUP"},
			{at: 2 * time.Second, trackers: up, vrrp: "MASTER", state: Announced, announce: true, cause: CauseHealthy, reason: "be_app UP (2/2 UP), process haproxy ok: 1 haproxy process (quorum 1)"},
			{at: 3 * time.Second, trackers: down, vrrp: "BACKUP", state: Withdrawn, cause: CauseNotMaster, reason: "instance v is BACKUP"},
		}},
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := web
			r.When = cond(t, "all(haproxy:lb/b:be_app, processes:haproxy)")
			if tt.route != nil {
				tt.route(&r)
			}
			tab := NewTable([]config.Route{r})
			var since time.Time
			var prev State = -1
			for i, s := range tt.steps {
				now := start.Add(s.at)
				ds, wait := tab.Decide(now, Inputs{Trackers: s.trackers, VRRP: map[string]string{"v": s.vrrp}})
				if len(ds) != 1 {
					t.Fatalf("step %d: %d decisions", i, len(ds))
				}
				d := ds[0]
				if d.State != s.state || d.Announce != s.announce || d.Attributes.HasMED != s.med || d.Reason != s.reason || d.Cause != s.cause || wait != s.wait {
					t.Fatalf("step %d: got %v announce=%v med=%v %q (%s) wait %v\nwant %v announce=%v med=%v %q (%s) wait %v",
						i, d.State, d.Announce, d.Attributes.HasMED, d.Reason, d.Cause, wait, s.state, s.announce, s.med, s.reason, s.cause, s.wait)
				}
				if s.med && (d.Attributes.MED != r.OnFailure.MED || d.Attributes.Prepend != r.OnFailure.Prepend) {
					t.Fatalf("step %d: attributes %+v, want on_failure's", i, d.Attributes)
				}
				if d.Announce && (len(d.Attributes.Communities) != 1 || d.Attributes.Communities[0] != 65010<<16|100) {
					t.Fatalf("step %d: communities %v", i, d.Attributes.Communities)
				}
				if d.State != prev {
					since = now
				}
				if !d.Since.Equal(since) {
					t.Fatalf("step %d: since %v, want %v", i, d.Since, since)
				}
				prev = d.State
			}
		})
	}
}

// TestTableReconfigure: an unchanged route keeps its up_delay count across a reload;
// a changed one starts over.
func TestTableReconfigure(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a := config.Route{Name: "a", UpDelay: 2 * time.Second, OnFailure: config.OnFailure{Withdraw: true}, Line: 3}
	b := a
	b.Name = "b"
	tab := NewTable([]config.Route{a, b})
	tab.Decide(start, Inputs{})
	a.Line = 10 // moved in the file: the same route
	b.UpDelay = 3 * time.Second
	tab.Reconfigure([]config.Route{a, b})
	ds, wait := tab.Decide(start.Add(2*time.Second), Inputs{})
	if ds[0].State != Announced || !ds[0].Since.Equal(start.Add(2*time.Second)) {
		t.Errorf("a: %+v, want announced now", ds[0])
	}
	if ds[1].State != Pending || wait != 3*time.Second {
		t.Errorf("b: %+v, wait %v: want pending for its whole new up_delay", ds[1], wait)
	}
}

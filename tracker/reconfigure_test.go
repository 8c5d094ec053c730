package tracker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/netops"
)

// answer replies to one run of each script named by the last argument of its command,
// then waits until each waits for its next run.
func answer(t *testing.T, c *fakeClock, r *fakeRunner, results map[string]ScriptResult) {
	t.Helper()
	n, runs := c.Calls(), len(results)
	for range runs {
		call := r.next(t)
		arg := call.cmd.Argv[len(call.cmd.Argv)-1]
		res, ok := results[arg]
		if !ok {
			t.Fatalf("unexpected run of %q", call.cmd.Argv)
		}
		delete(results, arg)
		call.reply <- res
	}
	c.WaitCalls(t, n+runs)
}

// priorityOf returns the latest Priority of an instance, failing when there is none.
func priorityOf(t *testing.T, s *Set, instance string) Priority {
	t.Helper()
	p, ok := s.Priority(instance)
	if !ok {
		t.Fatalf("no Priority for %s", instance)
	}
	return p
}

// drain reads the Updates waiting, until none comes for 20 ms.
func drain(s *Set) {
	for {
		select {
		case <-s.Updates():
		case <-time.After(20 * time.Millisecond):
			return
		}
	}
}

// TestHoldUntilFirstResult: a script tracked with weight 0 holds an instance out of
// MASTER from Start until its first result, or until its timeout and a second have
// passed without one; weights other than 0 hold nothing.
func TestHoldUntilFirstResult(t *testing.T) {
	const bound = 2*time.Second + firstResultGrace
	tests := []struct {
		name    string
		advance time.Duration // before the result, if any
		result  *ScriptResult
		explain string
	}{
		{"ok", 0, &ScriptResult{}, "priority 255"},
		{"failing", 0, &ScriptResult{ExitCode: 1}, "FAULT: chk failing (weight 0); priority 255"},
		{"no result within the bound", bound, nil, "priority 255"},
		{"a failure after the bound", bound, &ScriptResult{ExitCode: 1}, "FAULT: chk failing (weight 0); priority 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := currentUser(t)
			c, r := newFakeClock(), newFakeRunner()
			env := c.env()
			env.Runner = r
			cfg := parseConfig(t, `
scripts:
  chk: {exec: [/bin/true, chk], interval: 10s, timeout: 2s, user: USER}
instances:
  - {name: owner, interface: eth0, vrid: 51, priority: 255, vips: [192.0.2.100/24], track: {scripts: [chk]}}
  - {name: weighted, interface: eth0, vrid: 52, priority: 150, vips: [192.0.2.101/24], track: {scripts: [{name: chk, weight: -60}]}}
`, u)
			s, err := NewSet(cfg, env, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.Start(context.Background())
			defer s.Close()

			// Known when Start returns, before any Update is read.
			if p := priorityOf(t, s, "owner"); !p.Fault || p.FaultReason != "chk: no result yet (weight 0)" ||
				p.Explanation != "FAULT: chk: no result yet (weight 0); priority 255" {
				t.Fatalf("owner at start: %+v", p)
			}
			if p := priorityOf(t, s, "weighted"); p.Fault || p.Explanation != "priority 150" {
				t.Fatalf("weighted at start: %+v", p)
			}
			if st := statusOf(s, KindScript, "chk"); !st.Awaiting || st.State != Unknown {
				t.Fatalf("status at start: %+v", st)
			}
			call := r.next(t)
			if tt.advance > 0 {
				c.Advance(tt.advance - time.Nanosecond)
				time.Sleep(20 * time.Millisecond) // a window in which an early end would show
				if p := priorityOf(t, s, "owner"); !p.Fault {
					t.Fatalf("the hold ended before its bound: %+v", p)
				}
				c.Advance(time.Nanosecond)
				eventually(t, func() bool { return !priorityOf(t, s, "owner").Fault }, "the hold ends at its bound")
				if st := statusOf(s, KindScript, "chk"); st.Awaiting || st.State != Unknown {
					t.Fatalf("status after the bound: %+v", st)
				}
			}
			if tt.result != nil {
				call.reply <- *tt.result
			}
			eventually(t, func() bool { return priorityOf(t, s, "owner").Explanation == tt.explain }, "owner: %q", tt.explain)
			if st := statusOf(s, KindScript, "chk"); st.Awaiting {
				t.Fatalf("still awaiting: %+v", st)
			}
		})
	}
}

// TestAwaitBounds: scripts and haproxy checks wait for their first result for their
// timeout and a second; links until listed (the link watcher's grace); processes and
// files are observed at Start and do not wait.
func TestAwaitBounds(t *testing.T) {
	u := currentUser(t)
	dir := t.TempDir()
	cfg := parseConfig(t, `
scripts:
  chk: {exec: [/bin/true], timeout: 3s, user: USER}
haproxy:
  lb: {socket: /run/haproxy/admin.sock, interval: 2s, timeout: 1500ms, rule: "b:be_app"}
processes:
  haproxy: {}
files:
  drain: {path: `+filepath.Join(dir, "drain")+`}
instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: 150
    vips: [192.0.2.100/24]
    track: {scripts: [chk], haproxy: [lb], processes: [haproxy], files: [drain], interfaces: [eth1]}
`, u)
	s, err := NewSet(cfg, Env{Links: make(chan netops.Event)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := map[Kind]struct {
		awaits bool
		bound  time.Duration
	}{
		KindScript:    {true, 4 * time.Second},
		KindHAProxy:   {true, 2500 * time.Millisecond},
		KindInterface: {true, 0},
		KindProcess:   {false, 0},
		KindFile:      {false, 0},
	}
	for k, e := range s.trackers {
		w := want[k.kind]
		if e.awaits != w.awaits || e.bound != w.bound || e.t.status().Awaiting != w.awaits {
			t.Errorf("%s: awaits %v for %v (status %v), want %v for %v", k.kind, e.awaits, e.bound, e.t.status().Awaiting, w.awaits, w.bound)
		}
	}
	if len(s.trackers) != len(want) {
		t.Errorf("%d trackers", len(s.trackers))
	}
}

// TestReconfigureKeepsUnchanged: a reload that changes one script (and moves every
// line) keeps the other running, with its state, Since and rise/fall count; the
// changed one starts over.
func TestReconfigureKeepsUnchanged(t *testing.T) {
	u := currentUser(t)
	c, r := newFakeClock(), newFakeRunner()
	env := c.env()
	env.Runner = r
	const instances = `
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 150, vips: [192.0.2.100/24], track: {scripts: [{name: a, weight: -60}, {name: b, weight: -10}]}}
`
	cfg := parseConfig(t, `
scripts:
  a: {exec: [/bin/true, a], interval: 1s, timeout: 1s, rise: 3, fall: 3, user: USER}
  b: {exec: [/bin/true, b], interval: 1s, timeout: 1s, user: USER}
`+instances, u)
	s, err := NewSet(cfg, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	answer(t, c, r, map[string]ScriptResult{"a": {}, "b": {}})
	c.Advance(time.Second)
	answer(t, c, r, map[string]ScriptResult{"a": {ExitCode: 1}, "b": {}})
	a := statusOf(s, KindScript, "a")
	if a.State != OK || a.Detail != "exit 1 (failure 1 of fall 3)" {
		t.Fatalf("a before the reload: %+v", a)
	}
	c.Advance(500 * time.Millisecond)

	next := parseConfig(t, `
# Two lines more: every line number changes.

scripts:
  a: {exec: [/bin/true, a], interval: 1s, timeout: 1s, rise: 3, fall: 3, user: USER}
  b: {exec: [/bin/true, b2], interval: 1s, timeout: 1s, user: USER}
`+instances, u)
	if err := s.Reconfigure(next); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(s, KindScript, "a"); got != a {
		t.Fatalf("a after the reload: %+v, want %+v", got, a)
	}
	if b := statusOf(s, KindScript, "b"); b.State != Unknown || b.Detail != "" || !b.Since.Equal(c.Now()) || !b.Awaiting {
		t.Fatalf("b after the reload: %+v, want it started over at %v", b, c.Now())
	}
	answer(t, c, r, map[string]ScriptResult{"b2": {ExitCode: 1}}) // the new b runs at once
	c.Advance(500 * time.Millisecond)                             // a's interval since its last run
	answer(t, c, r, map[string]ScriptResult{"a": {ExitCode: 1}})
	if a := statusOf(s, KindScript, "a"); a.State != OK || a.Detail != "exit 1 (failure 2 of fall 3)" {
		t.Fatalf("a's next run after the reload: %+v", a)
	}
	eventually(t, func() bool { return priorityOf(t, s, "web").Explanation == "priority 150 -> 140: b failing (-10)" }, "web at 140")
}

// TestReconfigureRecomputes: trackers a reload removes take their effect with them,
// a new base priority counts, a removed instance is forgotten, and every instance's
// Priority is delivered. A new instance is held by a new weight-0 check; an instance
// that ran already is not.
func TestReconfigureRecomputes(t *testing.T) {
	u := currentUser(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "drain"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, r := newFakeClock(), newFakeRunner()
	env := c.env()
	env.Runner = r
	cfg := parseConfig(t, `
files:
  drain: {path: `+filepath.Join(dir, "drain")+`}
scripts:
  chk: {exec: [/bin/true, chk], interval: 10s, timeout: 1s, user: USER}
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 150, vips: [192.0.2.100/24], track: {files: [{name: drain, weight: 0}], scripts: [{name: chk, weight: -60}]}}
  - {name: gone, interface: eth0, vrid: 52, priority: 100, vips: [192.0.2.101/24]}
`, u)
	s, err := NewSet(cfg, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	answer(t, c, r, map[string]ScriptResult{"chk": {ExitCode: 1}})
	eventually(t, func() bool {
		return priorityOf(t, s, "web").Explanation == "FAULT: drain = 1 (weight 0); priority 150 -> 90: chk failing (-60)"
	}, "web in FAULT at 90")
	drain(s)

	// The same configuration: nothing changes, and every Priority is delivered.
	if err := s.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 2 {
		seen[nextUpdate(t, s).Instance] = true
	}
	if !seen["web"] || !seen["gone"] {
		t.Fatalf("updates after a reload that changes nothing: %v", seen)
	}

	next := parseConfig(t, `
scripts:
  chk2: {exec: [/bin/true, chk2], interval: 10s, timeout: 1s, user: USER}
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 200, vips: [192.0.2.100/24], track: {scripts: [chk2]}}
  - {name: api, interface: eth0, vrid: 53, priority: 255, vips: [192.0.2.102/24], track: {scripts: [chk2]}}
`, u)
	if err := s.Reconfigure(next); err != nil {
		t.Fatal(err)
	}
	if p := priorityOf(t, s, "web"); p.Fault || p.Priority != 200 || p.Explanation != "priority 200" {
		t.Fatalf("web after the reload: %+v", p)
	}
	if p := priorityOf(t, s, "api"); !p.Fault || p.Explanation != "FAULT: chk2: no result yet (weight 0); priority 255" {
		t.Fatalf("api after the reload: %+v", p)
	}
	if _, ok := s.Priority("gone"); ok {
		t.Fatal("the removed instance still has a Priority")
	}
	if got := len(s.Status()); got != 1 {
		t.Fatalf("%d trackers after the reload: %+v", got, s.Status())
	}
	got := map[string]string{}
	for len(got) < 2 {
		up := nextUpdate(t, s)
		got[up.Instance] = up.Priority.Explanation
	}
	if got["web"] != "priority 200" || got["api"] != "FAULT: chk2: no result yet (weight 0); priority 255" {
		t.Fatalf("updates after the reload: %v", got)
	}
	answer(t, c, r, map[string]ScriptResult{"chk2": {}}) // chk is no longer run
	eventually(t, func() bool { return priorityOf(t, s, "api").Explanation == "priority 255" }, "api's hold ends")
}

// TestReconfigureRefused: a configuration with a tracker that cannot be built is
// refused whole, and the running trackers go on untouched. After Close, Reconfigure
// refuses everything.
func TestReconfigureRefused(t *testing.T) {
	u := currentUser(t)
	c, r := newFakeClock(), newFakeRunner()
	env := c.env()
	env.Runner = r
	cfg := parseConfig(t, `
scripts:
  chk: {exec: [/bin/true, chk], interval: 1s, timeout: 1s, user: USER}
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 150, vips: [192.0.2.100/24], track: {scripts: [{name: chk, weight: -60}]}}
`, u)
	s, err := NewSet(cfg, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	answer(t, c, r, map[string]ScriptResult{"chk": {ExitCode: 1}})
	before := s.Status()
	bad := parseConfig(t, `
scripts:
  chk: {exec: [/bin/true, chk2], interval: 1s, timeout: 1s, user: no-such-user-vrrpd}
files:
  drain: {path: /nonexistent-vrrpd/drain}
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 100, vips: [192.0.2.100/24], track: {scripts: [chk], files: [drain]}}
`, nil)
	err = s.Reconfigure(bad)
	if err == nil {
		t.Fatal("Reconfigure accepted it")
	}
	for _, want := range []string{`tracker: script chk: script user "no-such-user-vrrpd"`, "tracker: file drain: directory of /nonexistent-vrrpd/drain"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if after := s.Status(); len(after) != 1 || after[0] != before[0] {
		t.Fatalf("status after a refused reload: %+v, want %+v", after, before)
	}
	if p := priorityOf(t, s, "web"); p.Priority != 90 {
		t.Fatalf("web after a refused reload: %+v", p)
	}
	c.Advance(time.Second)
	answer(t, c, r, map[string]ScriptResult{"chk": {}}) // the old command, still running
	eventually(t, func() bool { return priorityOf(t, s, "web").Priority == 150 }, "web back to 150")

	s.Close()
	if err := s.Reconfigure(cfg); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reconfigure after Close: %v", err)
	}
}

// TestReconfigureInterfaces: an interface tracker a reload adds takes the state the
// events said last of its link at once, or is missing once the listing's grace has
// passed; the link watcher feeds the new trackers, not the removed ones.
func TestReconfigureInterfaces(t *testing.T) {
	c := newFakeClock()
	links := make(chan netops.Event, 16)
	links <- netops.LinkEvent{Index: 3, Name: "eth1", Up: true}
	env := c.env()
	env.Links = links
	config := func(track string) string {
		return `
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 150, vips: [192.0.2.100/24], track: {interfaces: ` + track + `}}
`
	}
	s, err := NewSet(parseConfig(t, config(`[{name: eth1, weight: -50}]`), nil), env, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := c.Calls()
	s.Start(context.Background())
	defer s.Close()
	c.WaitCalls(t, calls+1) // the grace timer
	if p := priorityOf(t, s, "web"); p.Explanation != "priority 150" {
		t.Fatalf("web at start: %+v", p)
	}

	// Other delays make another tracker; eth3 is not listed yet.
	if err := s.Reconfigure(parseConfig(t, config(`[{name: eth1, weight: -50, down_delay: 2s}, {name: eth3, weight: -10}]`), nil)); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(s, KindInterface, "eth1"); st.State != OK || st.Detail != "eth1 up" {
		t.Fatalf("the new eth1 tracker: %+v", st)
	}
	if st := statusOf(s, KindInterface, "eth3"); st.State != Unknown || !st.Awaiting {
		t.Fatalf("eth3 within the grace: %+v", st)
	}
	c.Advance(linkListingGrace)
	eventually(t, func() bool { return statusOf(s, KindInterface, "eth3").Detail == "eth3 does not exist" }, "eth3 missing")
	n := c.Calls()
	links <- netops.LinkEvent{Index: 3, Name: "eth1"}
	c.WaitCalls(t, n+1) // the down_delay of the new tracker
	eventually(t, func() bool {
		return statusOf(s, KindInterface, "eth1").Detail == "eth1 down; counts after down_delay 2s"
	}, "eth1 down, delayed")

	// After the grace, a link no event named is missing at once; one deleted too.
	n = c.Calls()
	links <- netops.LinkEvent{Index: 3, Name: "eth1", Deleted: true}
	c.WaitCalls(t, n+1)
	eventually(t, func() bool {
		return statusOf(s, KindInterface, "eth1").Detail == "eth1 deleted; counts after down_delay 2s"
	}, "eth1 deleted")
	if err := s.Reconfigure(parseConfig(t, config(`[{name: eth1, weight: -50, up_delay: 1s}, eth4]`), nil)); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(s, KindInterface, "eth4"); st.State != Failing || st.Detail != "eth4 does not exist" {
		t.Fatalf("eth4 after the grace: %+v", st)
	}
	if st := statusOf(s, KindInterface, "eth1"); st.State != Failing || st.Detail != "eth1 does not exist" {
		t.Fatalf("eth1 once deleted: %+v", st)
	}
	if p := priorityOf(t, s, "web"); p.Explanation != "FAULT: eth4 down (weight 0); priority 150 -> 100: eth1 down (-50)" {
		t.Fatalf("web: %+v", p)
	}
}

// TestUpdateOnTrackerState: a tracker whose state changes without moving the priority
// still updates the instance, whose status shows each tracker's state.
func TestUpdateOnTrackerState(t *testing.T) {
	u := currentUser(t)
	c, r := newFakeClock(), newFakeRunner()
	env := c.env()
	env.Runner = r
	cfg := parseConfig(t, `
scripts:
  chk: {exec: [/bin/true, chk], interval: 1s, timeout: 1s, user: USER}
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 150, vips: [192.0.2.100/24], track: {scripts: [{name: chk, weight: -60}]}}
`, u)
	s, err := NewSet(cfg, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	if up := nextUpdate(t, s); up.Priority.Contributions[0].State != Unknown {
		t.Fatalf("first update %+v", up.Priority)
	}
	answer(t, c, r, map[string]ScriptResult{"chk": {}})
	if up := nextUpdate(t, s); up.Priority.Explanation != "priority 150" || up.Priority.Contributions[0].State != OK {
		t.Fatalf("update %+v", up.Priority)
	}
}

package tracker

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/runner"
)

// TestRiseFall replays result sequences through keepalived's counter: s is a success,
// f a failure; the states after each are U(nknown), O(k) or F(ailing).
func TestRiseFall(t *testing.T) {
	tests := []struct {
		name       string
		rise, fall int
		initFail   bool
		results    string
		states     string // the state before any result, then after each
	}{
		{"defaults: each result counts", 1, 1, false, "sfsf", "UOFOF"},
		{"first success counts at once", 2, 2, false, "s", "UO"},
		{"first failure counts at once", 2, 2, false, "f", "UF"},
		{"then rise successes", 2, 2, false, "fss", "UFFO"},
		{"then fall failures", 2, 2, false, "sff", "UOOF"},
		{"a success resets the failures", 2, 3, false, "sffsfff", "UOOOOOOF"},
		{"a failure resets the successes", 3, 1, false, "fssfsss", "UFFFFFFO"},
		{"fall 1", 3, 1, false, "sf", "UOF"},
		{"init_fail needs rise successes", 3, 2, true, "sss", "FFFO"},
		{"init_fail, rise 1", 1, 1, true, "fs", "FFO"},
		{"zero rise and fall are 1", 0, 0, false, "fs", "UFO"},
	}
	letter := map[State]byte{Unknown: 'U', OK: 'O', Failing: 'F'}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newRiseFall(tt.rise, tt.fall, tt.initFail)
			got := []byte{letter[c.state]}
			for _, r := range tt.results {
				c.add(r == 's')
				got = append(got, letter[c.state])
				if c.result < 0 || c.result > c.rise+c.fall-1 {
					t.Fatalf("counter %d out of 0..%d", c.result, c.rise+c.fall-1)
				}
			}
			if string(got) != tt.states {
				t.Errorf("states %s, want %s", got, tt.states)
			}
		})
	}
}

func TestRiseFallProgress(t *testing.T) {
	c := newRiseFall(3, 2, true)
	c.add(true)
	if got := c.progress(true); got != " (success 1 of rise 3)" {
		t.Errorf("progress = %q", got)
	}
	c.add(true)
	c.add(true)
	c.add(false)
	if got := c.progress(false); got != " (failure 1 of fall 2)" {
		t.Errorf("progress = %q", got)
	}
	c.add(false)
	if got := c.progress(false); got != "" {
		t.Errorf("progress once failing = %q", got)
	}
}

// fakeRunner hands each run to the test, which answers it.
type fakeRunner struct {
	calls   chan fakeCall
	running atomic.Int32
	overlap atomic.Bool
}

type fakeCall struct {
	cmd   ScriptCommand
	reply chan ScriptResult
}

func newFakeRunner() *fakeRunner { return &fakeRunner{calls: make(chan fakeCall)} }

func (r *fakeRunner) RunScript(ctx context.Context, cmd ScriptCommand) ScriptResult {
	if r.running.Add(1) > 1 {
		r.overlap.Store(true)
	}
	defer r.running.Add(-1)
	c := fakeCall{cmd: cmd, reply: make(chan ScriptResult)}
	select {
	case r.calls <- c:
	case <-ctx.Done():
		return ScriptResult{ExitCode: -1}
	}
	select {
	case res := <-c.reply:
		return res
	case <-ctx.Done():
		return ScriptResult{ExitCode: -1}
	}
}

// next waits for the next run.
func (r *fakeRunner) next(t *testing.T) fakeCall {
	t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("the script did not run")
	}
	return fakeCall{}
}

// currentUser is the user tests run scripts as: the one running the tests.
func currentUser(t *testing.T) *runner.User {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	su, err := lookupUser(u.Username)
	if err != nil {
		t.Fatal(err)
	}
	return su
}

// parseConfig reads a configuration for tests; USER stands for the current user.
func parseConfig(t *testing.T, yaml string, u *runner.User) *config.Config {
	t.Helper()
	if u != nil {
		yaml = strings.ReplaceAll(yaml, "USER", u.Name)
	}
	cfg, err := config.Parse("test.yaml", []byte("node: test\n"+yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func nextUpdate(t *testing.T, s *Set) Update {
	t.Helper()
	select {
	case u, ok := <-s.Updates():
		if !ok {
			t.Fatal("Updates closed")
		}
		return u
	case <-time.After(5 * time.Second):
		t.Fatal("no update")
	}
	return Update{}
}

// TestScriptTracker runs a script through a Set with a fake clock and runner: the
// first result counts, then rise and fall; timeouts fail; runs start every interval
// from the start of the previous one and never overlap.
func TestScriptTracker(t *testing.T) {
	u := currentUser(t)
	c, r := newFakeClock(), newFakeRunner()
	env := c.env()
	env.Runner = r
	cfg := parseConfig(t, `
scripts:
  chk: {exec: [/bin/true, arg], interval: 2s, timeout: 1s, fall: 2, rise: 2, user: USER}
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 150, vips: [192.0.2.100/24], track: {scripts: [{name: chk, weight: -60}]}}
`, u)
	s, err := NewSet(cfg, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()

	if up := nextUpdate(t, s); up.Instance != "web" || up.Priority.Explanation != "priority 150" ||
		up.Priority.Contributions[0].State != Unknown {
		t.Fatalf("first update %+v", up)
	}

	// run answers the next run with res and waits until the tracker waits again.
	run := func(res ScriptResult) {
		t.Helper()
		call := r.next(t)
		if got := strings.Join(call.cmd.Argv, " "); got != "/bin/true arg" || call.cmd.Timeout != time.Second || call.cmd.User != *u {
			t.Fatalf("ran %q for %v as %+v", got, call.cmd.Timeout, call.cmd.User)
		}
		n := c.Calls()
		call.reply <- res
		c.WaitCalls(t, n+1)
	}
	check := func(state State, detail string) {
		t.Helper()
		if st := statusOf(s, KindScript, "chk"); st.State != state || st.Detail != detail {
			t.Fatalf("status %v %q, want %v %q", st.State, st.Detail, state, detail)
		}
	}

	run(ScriptResult{ExitCode: 1})
	check(Failing, "exit 1")
	if up := nextUpdate(t, s); up.Priority.Explanation != "priority 150 -> 90: chk failing (-60)" || up.Priority.Priority != 90 {
		t.Fatalf("update %+v", up.Priority)
	}
	c.Advance(2 * time.Second)
	run(ScriptResult{ExitCode: 0})
	check(Failing, "exit 0 (success 1 of rise 2)")
	c.Advance(2 * time.Second)
	run(ScriptResult{ExitCode: 0})
	check(OK, "exit 0")
	if up := nextUpdate(t, s); up.Priority.Explanation != "priority 150" {
		t.Fatalf("update %+v", up.Priority)
	}
	c.Advance(2 * time.Second)
	run(ScriptResult{ExitCode: -1, TimedOut: true})
	check(OK, "timed out after 1s, process group killed (failure 1 of fall 2)")
	c.Advance(2 * time.Second)
	run(ScriptResult{ExitCode: 2, Output: "no backend"})
	check(Failing, "exit 2: no backend")
	if up := nextUpdate(t, s); up.Priority.Priority != 90 {
		t.Fatalf("update %+v", up.Priority)
	}

	// A run of 0.5 s: the next starts 2 s after this one started.
	c.Advance(2 * time.Second)
	call := r.next(t)
	c.Advance(500 * time.Millisecond)
	n := c.Calls()
	call.reply <- ScriptResult{ExitCode: 1}
	c.WaitCalls(t, n+1)
	c.Advance(1500*time.Millisecond - time.Nanosecond)
	select {
	case <-r.calls:
		t.Fatal("ran before the interval")
	case <-time.After(20 * time.Millisecond):
	}
	c.Advance(time.Nanosecond)
	run(ScriptResult{ExitCode: 0})
	if r.overlap.Load() {
		t.Error("runs overlapped")
	}
	if st := statusOf(s, KindScript, "chk"); !st.Since.Equal(c.Now().Add(-4 * time.Second)) {
		t.Errorf("Since = %v, want the failure 4 s ago (%v)", st.Since, c.Now().Add(-4*time.Second))
	}
}

// TestScriptInitFail: with init_fail the script fails from the start, before any run.
func TestScriptInitFail(t *testing.T) {
	u := currentUser(t)
	c, r := newFakeClock(), newFakeRunner()
	env := c.env()
	env.Runner = r
	cfg := parseConfig(t, `
scripts:
  chk: {exec: [/bin/true], rise: 2, init_fail: true, user: USER}
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 150, vips: [192.0.2.100/24], track: {scripts: [chk]}}
`, u)
	s, err := NewSet(cfg, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	if up := nextUpdate(t, s); !up.Priority.Fault || up.Priority.Explanation != "FAULT: chk failing (weight 0); priority 150" {
		t.Fatalf("first update %+v", up.Priority)
	}
	call := r.next(t)
	call.reply <- ScriptResult{}
	eventually(t, func() bool { return statusOf(s, KindScript, "chk").Detail == "exit 0 (success 1 of rise 2)" }, "one success")
	if st := statusOf(s, KindScript, "chk"); st.State != Failing {
		t.Errorf("state %v after one success of rise 2", st.State)
	}
}

// TestExecRunner runs real commands through the adapter: the result keeps the last
// line, and describe reads it.
func TestExecRunner(t *testing.T) {
	u := currentUser(t)
	run := func(timeout time.Duration, argv ...string) ScriptResult {
		return ExecRunner{}.RunScript(context.Background(), ScriptCommand{Argv: argv, User: *u, Timeout: timeout})
	}
	long := strings.Repeat("x", 300)
	tests := []struct {
		name     string
		argv     []string
		timeout  time.Duration
		success  bool
		describe string
	}{
		{"exit 3", []string{"/bin/sh", "-c", "echo first; echo; echo 'the last line' >&2; exit 3"}, 5 * time.Second, false, "exit 3: the last line"},
		{"exit 0", []string{"/bin/sh", "-c", "exit 0"}, 5 * time.Second, true, "exit 0"},
		{"signal", []string{"/bin/sh", "-c", "kill -TERM $$"}, 5 * time.Second, false, "killed by signal terminated"},
		{"timeout", []string{"/bin/sh", "-c", "echo started; exec sleep 60"}, 200 * time.Millisecond, false, "timed out after 200ms, process group killed: started"},
		{"long output", []string{"/bin/sh", "-c", "echo " + long}, 5 * time.Second, true, "exit 0: " + strings.Repeat("x", 200) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(tt.timeout, tt.argv...)
			if res.Success() != tt.success || res.PID == 0 || res.describe(tt.timeout) != tt.describe {
				t.Errorf("%+v: %q, want %q", res, res.describe(tt.timeout), tt.describe)
			}
		})
	}
	if res := run(5*time.Second, "/nonexistent/check"); res.Err == nil || !errors.Is(res.Err, os.ErrNotExist) || res.Success() ||
		!strings.HasPrefix(res.describe(time.Second), "cannot run: ") {
		t.Errorf("missing program: %+v", res)
	}
}

// TestNewSetRefusesInsecureScript: NewSet fails, naming the script and the reason.
func TestNewSetRefusesInsecureScript(t *testing.T) {
	u := currentUser(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "check")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o777); err != nil {
		t.Fatal(err)
	}
	cfg := parseConfig(t, `
scripts:
  chk: {exec: [`+path+`], user: USER}
instances:
  - {name: web, interface: eth0, vrid: 51, vips: [192.0.2.100/24], track: {scripts: [chk]}}
  - {name: db, interface: eth0, vrid: 52, vips: [192.0.2.101/24], track: {scripts: [chk]}}
`, u)
	_, err := NewSet(cfg, Env{}, nil)
	if !errors.Is(err, runner.ErrInsecure) || !strings.Contains(err.Error(), "tracker: script chk: "+path+": ") ||
		!strings.Contains(err.Error(), "writable by everyone") {
		t.Fatalf("NewSet: %v", err)
	}
	if n := strings.Count(err.Error(), "tracker: script chk"); n != 1 {
		t.Errorf("the script is refused %d times, want once:\n%v", n, err)
	}
}

// TestScriptRefusedAtRun: a script that became insecure after NewSet fails its next
// run, and says why.
func TestScriptRefusedAtRun(t *testing.T) {
	u := currentUser(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "check")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := parseConfig(t, `
scripts:
  chk: {exec: [`+path+`], interval: 50ms, user: USER}
instances:
  - {name: web, interface: eth0, vrid: 51, vips: [192.0.2.100/24], track: {scripts: [chk]}}
`, u)
	s, err := NewSet(cfg, Env{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	eventually(t, func() bool { return statusOf(s, KindScript, "chk").State == OK }, "the script passes")
	if err := os.Chmod(path, 0o777); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return statusOf(s, KindScript, "chk").State == Failing }, "the script fails once writable by everyone")
	if d := statusOf(s, KindScript, "chk").Detail; !strings.Contains(d, "cannot run: "+path+": refused") || !strings.Contains(d, "writable by everyone") {
		t.Errorf("detail %q", d)
	}
}

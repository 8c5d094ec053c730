package tracker

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// fakeBFD is a BFDWatcher whose sessions a test sets.
type fakeBFD struct {
	mu       sync.Mutex
	up       map[string]bool
	watchers map[string][]func(bool, string)
	watches  int
}

func newFakeBFD() *fakeBFD {
	return &fakeBFD{up: map[string]bool{}, watchers: map[string][]func(bool, string){}}
}

func detailOf(up bool) string {
	if up {
		return "Up"
	}
	return "Down: control detection time expired"
}

func (f *fakeBFD) WatchBFD(ctx context.Context, name string, report func(bool, string)) {
	f.mu.Lock()
	f.watches++
	up := f.up[name]
	f.watchers[name] = append(f.watchers[name], report)
	f.mu.Unlock()
	report(up, detailOf(up))
	<-ctx.Done()
}

func (f *fakeBFD) set(name string, up bool) {
	f.mu.Lock()
	f.up[name] = up
	ws := f.watchers[name]
	f.mu.Unlock()
	for _, w := range ws {
		w(up, detailOf(up))
	}
}

const bfdConfig = `
bfd:
  gw: {neighbor: 192.0.2.1}
  core: {neighbor: 192.0.2.9}
instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: 150
    vips: [192.0.2.100/24]
    track: {bfd: [gw, {name: core, weight: -20}]}
`

// TestBFDTracker: weight 0 faults while the session is not Up, from the start; a
// negative weight lowers the priority while it is not Up.
func TestBFDTracker(t *testing.T) {
	c := newFakeClock()
	env := c.env()
	bfd := newFakeBFD()
	env.BFD = bfd
	s, err := NewSet(parseConfig(t, bfdConfig, nil), env, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Start(context.Background())
	want := func(fault bool, prio uint8) {
		t.Helper()
		eventually(t, func() bool {
			p, ok := s.Priority("web")
			return ok && p.Fault == fault && p.Priority == prio
		}, "web: want fault %v, priority %d", fault, prio)
	}
	want(true, 130)
	if st := statusOf(s, KindBFD, "gw"); st.State != Failing || !strings.Contains(st.Detail, "detection time") {
		t.Errorf("gw at the start: %+v", st)
	}
	bfd.set("gw", true)
	want(false, 130)
	bfd.set("core", true)
	want(false, 150)
	if st := statusOf(s, KindBFD, "core"); st.State != OK || st.Detail != "Up" {
		t.Errorf("core up: %+v", st)
	}
	bfd.set("gw", false)
	want(true, 150)

	// A reload that keeps the sessions keeps their trackers: no new watch.
	if err := s.Reconfigure(parseConfig(t, strings.Replace(bfdConfig, "priority: 150", "priority: 140", 1), nil)); err != nil {
		t.Fatal(err)
	}
	bfd.mu.Lock()
	n := bfd.watches
	bfd.mu.Unlock()
	if n != 2 {
		t.Errorf("%d watches after a reload, want the 2 of the start", n)
	}
	want(true, 140)
}

func TestBFDTrackerNeedsWatcher(t *testing.T) {
	if _, err := NewSet(parseConfig(t, bfdConfig, nil), newFakeClock().env(), nil); err == nil || !strings.Contains(err.Error(), "Env.BFD is nil") {
		t.Fatalf("NewSet without a watcher: %v", err)
	}
}

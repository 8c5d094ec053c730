package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
)

// TestNewSetErrors: every problem at once, each naming its tracker.
func TestNewSetErrors(t *testing.T) {
	cfg := &config.Config{
		Scripts: []config.Script{{Name: "chk", Exec: []string{"/bin/true"}, User: "no-such-user-vrrpd"}},
		Instances: []config.Instance{{Name: "web", Priority: 100, Track: config.Track{
			Scripts:   []config.TrackRef{{Name: "chk"}, {Name: "undefined"}},
			Processes: []config.TrackRef{{Name: "haproxy"}},
			Files:     []config.TrackRef{{Name: "drain"}},
			HAProxy:   []config.TrackRef{{Name: "lb"}},
		}}},
	}
	_, err := NewSet(cfg, Env{}, nil)
	if err == nil {
		t.Fatal("NewSet accepted it")
	}
	for _, want := range []string{
		`tracker: script chk: script user "no-such-user-vrrpd": `,
		"tracker: script undefined: not defined: define it under scripts",
		"tracker: process haproxy: not defined: define it under processes",
		"tracker: file drain: not defined: define it under files",
		"tracker: haproxy lb: not defined: define it under haproxy",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if !errors.Is(err, ErrUndefined) {
		t.Errorf("errors.Is(err, ErrUndefined) = false")
	}
}

// TestSet: one tracker followed by two instances runs once; Status lists the trackers
// by kind then name; Priority tells the last Priority; Close ends Updates even when
// nobody reads them.
func TestSet(t *testing.T) {
	dir := t.TempDir()
	links := make(chan netops.Event, 4)
	links <- netops.LinkEvent{Index: 2, Name: "eth0", Up: true}
	proc := fakeProc(t.TempDir())
	proc.add(t, 10, "haproxy", 'S', "haproxy")
	c := newFakeClock()
	env := c.env()
	env.Links, env.ProcRoot = links, string(proc)
	cfg := parseConfig(t, `
processes:
  haproxy: {}
files:
  zdrain: {path: `+filepath.Join(dir, "drain")+`}
  adrain: {path: `+filepath.Join(dir, "drain2")+`}
instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: 150
    vips: [192.0.2.100/24]
    track: {processes: [haproxy], files: [zdrain, adrain], interfaces: [eth0]}
  - name: db
    interface: eth0
    vrid: 52
    priority: 255
    vips: [192.0.2.101/24]
    track: {processes: [{name: haproxy, weight: -10}], interfaces: [{name: eth0, down_delay: 1s}]}
`, nil)
	s, err := NewSet(cfg, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Priority("web"); ok {
		t.Error("a Priority before Start")
	}
	s.Start(context.Background())
	s.Start(context.Background()) // does nothing
	var got []string
	for _, st := range s.Status() {
		got = append(got, fmt.Sprintf("%s:%s:%v", st.Kind, st.Name, st.State))
	}
	if want := "[interface:eth0:ok interface:eth0:ok process:haproxy:ok file:adrain:ok file:zdrain:ok]"; fmt.Sprint(got) != want {
		t.Errorf("Status:\n got %v\nwant %s", got, want)
	}
	for _, st := range s.Status() {
		if !st.Since.Equal(c.Now()) {
			t.Errorf("%s %s: Since %v, want the start %v", st.Kind, st.Name, st.Since, c.Now())
		}
	}
	seen := map[string]string{}
	for range 2 {
		up := nextUpdate(t, s)
		seen[up.Instance] = up.Priority.Explanation
	}
	if seen["web"] != "priority 150" || seen["db"] != "priority 255" {
		t.Errorf("first updates %v", seen)
	}
	if p, ok := s.Priority("db"); !ok || p.Priority != 255 {
		t.Errorf("Priority(db) = %+v, %v", p, ok)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
	if _, ok := <-s.Updates(); ok {
		t.Error("Updates still open after Close")
	}
	s.Close()
}

// TestUpdatesCoalesce: a reader that falls behind gets the latest Priority of each
// instance, not every step.
func TestUpdatesCoalesce(t *testing.T) {
	c := newFakeClock()
	st := &stubTracker{}
	s := &Set{
		env:       Env{Clock: c.Now, After: c.After},
		log:       discard(),
		instances: []instanceRefs{{name: "web", base: 100, refs: []Ref{{Kind: KindFile, TrackRef: config.TrackRef{Name: "f", Weight: -1}}}}},
		trackers:  map[trackerKey]*entry{{kind: KindFile, name: "f"}: {t: st}},
		order:     []trackerKey{{kind: KindFile, name: "f"}},
		current:   map[string]Priority{},
		pending:   map[string]Priority{},
		wake:      make(chan struct{}, 1),
		updates:   make(chan Update), // nothing buffered: the reader decides
	}
	st.base = newBase(KindFile, "f", &s.env, s.log, s.changed)
	s.Start(context.Background())
	defer s.Close()
	// Fifty changes while the reader is away. dispatch holds at most one Priority it
	// took before the reader came back; the next is the last.
	for v := 1; v <= 50; v++ {
		st.set(OK, v, "")
	}
	up := nextUpdate(t, s)
	if up.Priority.Priority != 50 {
		up = nextUpdate(t, s)
	}
	if up.Priority.Priority != 50 || up.Priority.Explanation != "priority 100 -> 50: f = 50 x -1 (-50)" {
		t.Fatalf("update %+v, want the last", up.Priority)
	}
	select {
	case up := <-s.Updates():
		t.Fatalf("another update %+v", up.Priority)
	case <-time.After(20 * time.Millisecond):
	}
}

// stubTracker is a tracker the test sets by hand.
type stubTracker struct{ base }

func (*stubTracker) start(context.Context, *sync.WaitGroup) {}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

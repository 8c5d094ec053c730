package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/netops/fake"
)

// TestHookRunsCounted: every hook is counted by how it ended, and one that finds the
// queue full as dropped.
func TestHookRunsCounted(t *testing.T) {
	dir := hookDir(t)
	ok, fail, hang := filepath.Join(dir, "ok.sh"), filepath.Join(dir, "fail.sh"), filepath.Join(dir, "hang.sh")
	writeFile(t, ok, "#!/bin/sh\nexit 0\n", 0o755)
	writeFile(t, fail, "#!/bin/sh\nexit 3\n", 0o755)
	started := filepath.Join(dir, "started")
	writeFile(t, hang, "#!/bin/sh\ntouch "+started+"\nexec sleep 60\n", 0o755)
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	user := func() string { return currentUser(t) }

	tests := []struct {
		name  string
		user  func() string
		hooks [][]string
		want  map[string]uint64
	}{
		{"ok and failed", user, [][]string{{ok}, {fail}, {ok}}, map[string]uint64{"ok": 2, "failed": 1}},
		{"timeout", user, [][]string{{hang}}, map[string]uint64{"timeout": 1}},
		{"no such user", func() string { return "vrrpd-no-such-user" }, [][]string{{ok}}, map[string]uint64{"error": 1}},
		// While the first hangs, the queue takes hookQueue hooks.
		{"queue full", user, append([][]string{{hang}}, repeat([]string{ok}, hookQueue+1)...),
			map[string]uint64{"timeout": 1, "ok": hookQueue, "dropped": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(started)
			h := newHookRunner(discard, tt.user, 300*time.Millisecond)
			for _, argv := range tt.hooks {
				h.enqueue(argv, nil)
				if argv[0] == hang {
					waitFile(t, started)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			h.close(ctx)
			if got := h.runs(); !maps.Equal(got, tt.want) {
				t.Errorf("runs %v, want %v", got, tt.want)
			}
		})
	}
}

// waitFile waits until path exists, at most 5 s.
func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
	}
}

func repeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TestCountingAnnouncer counts GARPs (two per VIP with the reply form) and NAs, and a
// burst that fails as an error only.
func TestCountingAnnouncer(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")
	fa := fake.NewAnnouncer(time.Now)
	var c announceCounters
	a := countingAnnouncer{fa, &c}
	if err := a.Announce("eth0", []netip.Addr{v4, v6}, 3, false); err != nil {
		t.Fatal(err)
	}
	if err := a.Announce("eth0", []netip.Addr{v4}, 2, true); err != nil {
		t.Fatal(err)
	}
	fa.Fail("eth1", errors.New("no such device"))
	if err := a.Announce("eth1", []netip.Addr{v4}, 5, false); err == nil {
		t.Fatal("the failing announcer did not fail")
	}
	if g, n, e := c.garpSent.Load(), c.naSent.Load(), c.errors.Load(); g != 3+4 || n != 3 || e != 1 {
		t.Errorf("garp %d, na %d, errors %d; want 7, 3, 1", g, n, e)
	}
}

// TestSendErrorsCounted: every advert that cannot be sent counts, though the log says
// so once per interval.
func TestSendErrorsCounted(t *testing.T) {
	var l dropLog
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Now()
	for i := range 5 {
		l.sendFailed(log, now.Add(time.Duration(i)*time.Millisecond), netip.MustParseAddr("224.0.0.18"), errors.New("ENOBUFS"))
	}
	if l.sendErrors != 5 {
		t.Errorf("%d send errors counted, want 5", l.sendErrors)
	}
}

// TestEventsDroppedCounted: a subscriber that reads nothing loses the events past its
// buffer, and they are counted; one that reads loses none.
func TestEventsDroppedCounted(t *testing.T) {
	var b broadcaster
	slow, stopSlow := b.subscribe()
	defer stopSlow()
	fast, stopFast := b.subscribe()
	defer stopFast()
	n := cap(slow) + 3
	got := 0
	for range n {
		b.publish(control.Event{Type: "transition"})
		<-fast
		got++
	}
	if d := b.dropped.Load(); d != 3 || got != n {
		t.Errorf("dropped %d, want 3; the reading subscriber got %d of %d", d, got, n)
	}
}

// TestStatusCounters: the status counts a pair's transitions and announcements, and
// the reloads.
func TestStatusCounters(t *testing.T) {
	l, a, b := pair(t)
	l.until("a's announcements", func() bool { return a.instance(t, "web").GARPSent >= 2 })
	if st := a.instance(t, "web"); !maps.Equal(st.Transitions, map[string]uint64{"BACKUP": 1, "MASTER": 1}) {
		t.Errorf("a's transitions %v", st.Transitions)
	}
	if st := b.instance(t, "web"); !maps.Equal(st.Transitions, map[string]uint64{"BACKUP": 1}) || st.GARPSent != 0 {
		t.Errorf("b's transitions %v, GARPs %d", st.Transitions, st.GARPSent)
	}

	started := a.d.Status().Started
	if r := a.d.Status().Reloads; r != (control.Reloads{Loaded: started}) {
		t.Errorf("reloads at start %+v, want loaded at the start %v", r, started)
	}
	next := *a.cfg
	next.Instances = []config.Instance{instanceCfg("web", 160, "192.0.2.100/24")}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	if r := a.d.Status().Reloads; r != (control.Reloads{Succeeded: 1, Loaded: l.clock.Now()}) {
		t.Errorf("after a reload: %+v", r)
	}
	a.d.ReloadRefused()
	if r := a.d.Status().Reloads; r != (control.Reloads{Succeeded: 1, Failed: 1, LastFailed: true, Loaded: l.clock.Now()}) {
		t.Errorf("after a refused reload: %+v", r)
	}
}

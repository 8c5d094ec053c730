package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/tracker"
)

func TestElection(t *testing.T) {
	l, a, b := pair(t)
	if !a.hasVIP("192.0.2.100") || b.hasVIP("192.0.2.100") {
		t.Fatalf("VIP on a: %v, on b: %v", a.hasVIP("192.0.2.100"), b.hasVIP("192.0.2.100"))
	}
	l.until("a's announcements", func() bool { return a.ann.Count("eth0", netip.MustParseAddr("192.0.2.100")) >= 2 })
	st := b.instance(t, "web")
	if st.Master != "192.0.2.1" || st.MasterPriority != 150 || st.Source != "192.0.2.2" {
		t.Fatalf("b follows %s at %d from %s", st.Master, st.MasterPriority, st.Source)
	}
	as := a.instance(t, "web")
	if len(as.VIPs) != 1 || !as.VIPs[0].Present || as.AdvertsSent == 0 {
		t.Fatalf("a's status %+v", as)
	}
}

func TestCrashFailover(t *testing.T) {
	l, a, b := pair(t)
	l.Cut(a.host) // the master falls silent without a word
	b.waitState(t, "web", "MASTER")
	if !strings.HasPrefix(b.instance(t, "web").Reason, "master down timer expired") {
		t.Fatalf("reason %q", b.instance(t, "web").Reason)
	}
	l.Mend(a.host) // back: the lower priority yields to the higher at once
	b.waitState(t, "web", "BACKUP")
	if !a.hasVIP("192.0.2.100") {
		t.Fatal("the VIP did not follow the master back")
	}
	// b keeps it for vrrp.ReleaseLinger while a announces.
	l.until("b to release the VIP", func() bool { return !b.hasVIP("192.0.2.100") })
}

func TestStopHandsOverAndReleases(t *testing.T) {
	_, a, b := pair(t)
	a.stop(t)
	if a.hasVIP("192.0.2.100") {
		t.Fatal("the stopped master kept its VIP")
	}
	b.waitState(t, "web", "MASTER")
	if r := b.instance(t, "web").Reason; !strings.HasPrefix(r, "master 192.0.2.1 left (priority 0)") {
		t.Fatalf("reason %q", r)
	}
}

func TestReloadChangesVIPsWithoutTransition(t *testing.T) {
	l, a, b := pair(t)
	events, stop := a.d.Events()
	defer stop()
	next := *a.cfg
	next.Instances = []config.Instance{instanceCfg("web", 150, "192.0.2.101/24")}
	next.Instances[0].ExcludedVIPs = []config.VIP{{Prefix: netip.MustParsePrefix("198.51.100.7/24")}}
	a.addrs.AddInterface("eth0")
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	if a.hasVIP("192.0.2.100") || !a.hasVIP("192.0.2.101") || !a.hasVIP("198.51.100.7") {
		t.Fatalf("after reload: .100 %v, .101 %v, excluded %v", a.hasVIP("192.0.2.100"), a.hasVIP("192.0.2.101"), a.hasVIP("198.51.100.7"))
	}
	l.until("the new VIP announced", func() bool { return a.ann.Count("eth0", netip.MustParseAddr("192.0.2.101")) > 0 })
	// b still expects .100: it drops a's adverts (address list) until it reloads too.
	nextB := *b.cfg
	nextB.Instances = []config.Instance{instanceCfg("web", 100, "192.0.2.101/24")}
	if err := b.d.Reload(context.Background(), &nextB); err != nil {
		t.Fatal(err)
	}
	l.run(10 * interval) // a window in which a transition would show
	select {
	case e := <-events:
		t.Fatalf("reload caused a transition: %+v", e)
	default:
	}
	if st := a.instance(t, "web"); st.State != "MASTER" {
		t.Fatalf("a is %s", st.State)
	}
	if st := b.instance(t, "web"); st.State != "BACKUP" {
		t.Fatalf("b is %s", st.State)
	}
}

func TestReloadAddsAndRemovesInstances(t *testing.T) {
	_, a, b := pair(t)
	next := *a.cfg
	api := instanceCfg("api", 200, "192.0.2.110/24")
	api.VRID = 52
	next.Instances = []config.Instance{api}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	// It serves until b, its backup, takes over.
	if !a.hasVIP("192.0.2.100") {
		t.Fatal("the removed master left its VIP before its backup took over")
	}
	a.lan.until("the removed instance to release its VIP", func() bool { return !a.hasVIP("192.0.2.100") })
	if st := b.instance(t, "web"); st.State != "MASTER" || !b.hasVIP("192.0.2.100") {
		t.Fatalf("b is %s", st.State)
	}
	a.waitState(t, "api", "MASTER")
	if !a.hasVIP("192.0.2.110") {
		t.Fatal("the new instance has no VIP")
	}
	if n := len(a.d.Status().Instances); n != 1 {
		t.Fatalf("%d instances after reload", n)
	}
}

func TestLinkDownIsFault(t *testing.T) {
	_, a, b := pair(t)
	a.ifs.setDown("eth0", true)
	a.links <- netops.LinkEvent{Index: 2, Name: "eth0", Up: false}
	a.waitState(t, "web", "FAULT")
	if a.hasVIP("192.0.2.100") {
		t.Fatal("a faulted master kept its VIP")
	}
	b.waitState(t, "web", "MASTER")
	a.ifs.setDown("eth0", false)
	a.links <- netops.LinkEvent{Index: 2, Name: "eth0", Up: true}
	a.waitState(t, "web", "MASTER") // preempts back
	b.waitState(t, "web", "BACKUP")
}

func TestNotifyHooksInOrder(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "hooks.log")
	script := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+out+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := newLAN(t)
	in := instanceCfg("web", 150, "192.0.2.100/24")
	in.Notify = config.Notify{Any: []string{script}, Master: []string{script, "master-hook"}, Stop: []string{script, "stop-hook"}}
	a := newNode(t, l, "a", "192.0.2.1", in)
	a.start(t)
	a.waitState(t, "web", "MASTER")
	a.stop(t)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"INSTANCE web BACKUP 150",
		"master-hook",
		"INSTANCE web MASTER 150",
		"stop-hook",
		"INSTANCE web STOP 150",
	}
	if got := strings.Split(strings.TrimSpace(string(b)), "\n"); !slices.Equal(got, want) {
		t.Fatalf("hooks ran:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestControlSocket(t *testing.T) {
	l, a, b := pair(t)
	sock := filepath.Join(t.TempDir(), "vrrpd.sock")
	srv, err := control.Listen(sock, b.d, control.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := control.Listen(sock, b.d, control.Options{}); err == nil {
		t.Fatal("a second daemon could listen on the same socket")
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v (%v)", fi.Mode().Perm(), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := control.QueryStatus(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Node != "b" || len(st.Instances) != 1 || st.Instances[0].State != "BACKUP" || st.Instances[0].Master != "192.0.2.1" {
		t.Fatalf("status %+v", st)
	}
	got := make(chan control.Event, 4)
	go control.FollowEvents(ctx, sock, func(e control.Event, _ json.RawMessage) error { got <- e; return nil })
	l.until("the events subscription", func() bool {
		b.d.events.mu.Lock()
		defer b.d.events.mu.Unlock()
		return len(b.d.events.subs) > 0
	})
	a.stop(t)
	var e control.Event
	l.until("b's transition event", func() bool {
		select {
		case e = <-got:
			return true
		default:
			return false
		}
	})
	if e.Instance != "web" || e.From != "BACKUP" || e.To != "MASTER" || e.Node != "b" {
		t.Fatalf("event %+v", e)
	}
}

// TestReloadMovesVIPBetweenInstances swaps the VIPs of two instances: whatever order the
// instances take the change in, both VIPs stay on the master.
func TestReloadMovesVIPBetweenInstances(t *testing.T) {
	l := newLAN(t)
	web := instanceCfg("web", 150, "192.0.2.100/24")
	api := instanceCfg("api", 150, "192.0.2.110/24")
	api.VRID = 52
	a := newNode(t, l, "a", "192.0.2.1", web, api)
	a.start(t)
	a.waitState(t, "web", "MASTER")
	a.waitState(t, "api", "MASTER")
	next := *a.cfg
	web.VIPs, api.VIPs = api.VIPs, web.VIPs
	next.Instances = []config.Instance{web, api}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	if !a.hasVIP("192.0.2.100") || !a.hasVIP("192.0.2.110") {
		t.Fatalf("after the swap: .100 %v, .110 %v", a.hasVIP("192.0.2.100"), a.hasVIP("192.0.2.110"))
	}
	if got := a.instance(t, "web").VIPs[0].Address; got != "192.0.2.110/24" {
		t.Fatalf("web has %s", got)
	}
}

// TestTrackersMoveMastership: a drain file and a failing script lower a's priority below
// b's, which preempts; show explains the priority; clearing both brings a back.
func TestTrackersMoveMastership(t *testing.T) {
	dir := t.TempDir()
	drain := filepath.Join(dir, "drain")
	flag := filepath.Join(dir, "healthy")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l := newLAN(t)
	web := instanceCfg("web", 150, "192.0.2.100/24")
	web.Track = config.Track{
		Files:   []config.TrackRef{{Name: "drain", Weight: 1}},
		Scripts: []config.TrackRef{{Name: "chk", Weight: -60}},
	}
	a := newNode(t, l, "a", "192.0.2.1")
	a.cfg.Instances = []config.Instance{web}
	a.cfg.Files = []config.File{{Name: "drain", Path: drain}}
	a.cfg.Scripts = []config.Script{{Name: "chk", Exec: []string{"/usr/bin/test", "-e", flag}, Interval: 20 * time.Millisecond,
		Timeout: time.Second, Fall: 1, Rise: 1, User: currentUser(t)}}
	// Rebuild a's daemon with the tracked configuration.
	d, err := a.newDaemon(Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a.d = d
	b := newNode(t, l, "b", "192.0.2.2", instanceCfg("web", 100, "192.0.2.100/24"))
	a.start(t)
	b.start(t)
	a.waitState(t, "web", "MASTER")
	if st := a.instance(t, "web"); st.PriorityReason != "priority 150" || len(st.Trackers) != 2 {
		t.Fatalf("a: %q, trackers %+v", st.PriorityReason, st.Trackers)
	}
	// The daemon's trackers, each once: the script with its runs.
	l.until("a's script to run", func() bool {
		trk := a.d.Status().Trackers
		return len(trk) == 2 && trk[0].Runs != nil && trk[0].Runs.Results["ok"] > 0
	})
	trk := a.d.Status().Trackers
	if trk[0].Kind != "script" || trk[0].Name != "chk" || trk[0].State != "ok" || trk[1].Kind != "file" || trk[1].Runs != nil {
		t.Fatalf("trackers %+v", trk)
	}
	if r := trk[0].Runs; r.Duration.Count != r.Results["ok"]+r.Results["failed"] || len(r.Duration.Buckets) == 0 {
		t.Fatalf("runs %+v", r)
	}

	os.Remove(flag) // the script fails: 150 - 60 = 90 < 100
	b.waitState(t, "web", "MASTER")
	a.waitState(t, "web", "BACKUP")
	if st := a.instance(t, "web"); st.Priority != 90 || st.PriorityReason != "priority 150 -> 90: chk failing (-60)" {
		t.Fatalf("a: priority %d, %q", st.Priority, st.PriorityReason)
	}
	os.WriteFile(flag, nil, 0o644)
	a.waitState(t, "web", "MASTER")

	os.WriteFile(drain, []byte("-1000\n"), 0o644) // maintenance: FAULT
	a.waitState(t, "web", "FAULT")
	b.waitState(t, "web", "MASTER")
	// It keeps it for vrrp.ReleaseLinger after b's advert, while b announces.
	l.until("the drained master to release its VIP", func() bool { return !a.hasVIP("192.0.2.100") })
	os.WriteFile(drain, []byte("0\n"), 0o644)
	a.waitState(t, "web", "MASTER")
	b.waitState(t, "web", "BACKUP")
}

// script is a check script for the daemon tests: argv run every interval.
func script(t *testing.T, name string, interval time.Duration, argv ...string) config.Script {
	return config.Script{Name: name, Exec: argv, Interval: interval, Timeout: 5 * time.Second, Fall: 1, Rise: 1, User: currentUser(t)}
}

// trackerOf returns what an instance's status says of one of its trackers.
func (n *node) trackerOf(t *testing.T, instance, name string) control.TrackerStatus {
	t.Helper()
	for _, ts := range n.instance(t, instance).Trackers {
		if ts.Name == name {
			return ts
		}
	}
	t.Fatalf("%s: %s tracks no %s", n.name, instance, name)
	return control.TrackerStatus{}
}

// TestReloadRemovesFault: a reload that removes the failing weight-0 check an instance
// was in FAULT for takes the fault away.
func TestReloadRemovesFault(t *testing.T) {
	web := instanceCfg("web", 150, "192.0.2.100/24")
	web.Track.Scripts = []config.TrackRef{{Name: "chk"}}
	a := newNodeWith(t, newLAN(t), "a", "192.0.2.1", func(c *config.Config) {
		c.Instances = []config.Instance{web}
		c.Scripts = []config.Script{script(t, "chk", interval, "/bin/false")}
	}, tracker.Env{})
	a.start(t)
	a.lan.until("the check to fault a", func() bool {
		st := a.instance(t, "web")
		return st.State == "FAULT" && st.PriorityReason == "FAULT: chk failing (weight 0); priority 150"
	})
	next := *a.cfg
	next.Scripts = nil
	next.Instances = []config.Instance{instanceCfg("web", 150, "192.0.2.100/24")}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, "web", "MASTER")
	if st := a.instance(t, "web"); st.Priority != 150 || st.PriorityReason != "priority 150" || len(st.Trackers) != 0 {
		t.Fatalf("a after the reload: priority %d, %q, trackers %+v", st.Priority, st.PriorityReason, st.Trackers)
	}
}

// TestReloadRestoresPriority: a reload that removes the failing check that lowered an
// instance's priority, and changes its base priority, gives it the new base: it takes
// mastership back.
func TestReloadRestoresPriority(t *testing.T) {
	l := newLAN(t)
	web := instanceCfg("web", 150, "192.0.2.100/24")
	web.Track.Scripts = []config.TrackRef{{Name: "chk", Weight: -60}}
	a := newNodeWith(t, l, "a", "192.0.2.1", func(c *config.Config) {
		c.Instances = []config.Instance{web}
		c.Scripts = []config.Script{script(t, "chk", interval, "/bin/false")}
	}, tracker.Env{})
	b := newNode(t, l, "b", "192.0.2.2", instanceCfg("web", 100, "192.0.2.100/24"))
	a.start(t)
	b.start(t)
	b.waitState(t, "web", "MASTER")
	a.waitState(t, "web", "BACKUP")
	if st := a.instance(t, "web"); st.Priority != 90 {
		t.Fatalf("a's priority %d, %q", st.Priority, st.PriorityReason)
	}
	next := *a.cfg
	next.Scripts = nil
	next.Instances = []config.Instance{instanceCfg("web", 140, "192.0.2.100/24")}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, "web", "MASTER")
	b.waitState(t, "web", "BACKUP")
	if st := a.instance(t, "web"); st.Priority != 140 || st.BasePriority != 140 || st.PriorityReason != "priority 140" {
		t.Fatalf("a after the reload: priority %d of %d, %q", st.Priority, st.BasePriority, st.PriorityReason)
	}
}

// TestReloadKeepsUnchangedCheck: a reload that changes one script keeps the other
// running: its rise count goes on, its Since stays; the changed one runs again.
func TestReloadKeepsUnchangedCheck(t *testing.T) {
	dir := t.TempDir()
	runs2 := filepath.Join(dir, "runs2")
	counting := script(t, "counting", interval, "/bin/true")
	counting.Rise, counting.InitFail = 1000, true // every run is one more success of the rise
	web := instanceCfg("web", 150, "192.0.2.100/24")
	web.Track.Scripts = []config.TrackRef{{Name: "counting", Weight: -10}, {Name: "other", Weight: -5}}
	a := newNodeWith(t, newLAN(t), "a", "192.0.2.1", func(c *config.Config) {
		c.Instances = []config.Instance{web}
		c.Scripts = []config.Script{counting, script(t, "other", time.Hour, "/bin/sh", "-c", "echo one >> "+runs2)}
	}, tracker.Env{})
	a.start(t)
	// successes reads the rise count of counting from its status: "exit 0 (success 7 of
	// rise 1000)".
	successes := func() int {
		var n int
		for _, ts := range a.instance(t, "web").Trackers {
			if ts.Name == "counting" {
				fmt.Sscanf(ts.Detail, "exit 0 (success %d of rise 1000)", &n)
			}
		}
		return n
	}
	a.lan.until("three successes", func() bool { return successes() >= 3 })
	since := a.trackerOf(t, "web", "counting").Since
	otherSince := a.trackerOf(t, "web", "other").Since
	before := successes()

	next := *a.cfg
	next.Scripts = []config.Script{counting, script(t, "other", time.Hour, "/bin/sh", "-c", "echo two >> "+runs2)}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	if got := a.trackerOf(t, "web", "counting"); !got.Since.Equal(since) || successes() < before {
		t.Fatalf("counting after the reload: %+v, want Since %v and at least %d successes", got, since, before)
	}
	a.lan.until("the changed script to run", func() bool {
		b, _ := os.ReadFile(runs2)
		return string(b) == "one\ntwo\n"
	})
	if got := a.trackerOf(t, "web", "other"); got.Since.Equal(otherSince) {
		t.Fatalf("the changed script kept its state: %+v", got)
	}
	a.lan.until("more successes", func() bool { return successes() > before+1 })
}

// TestOwnerWaitsForCheck: an address owner whose weight-0 check has no result yet
// stays out of MASTER (no VIP, no announcement) until the check passes.
func TestOwnerWaitsForCheck(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok")
	owner := instanceCfg("web", 255, "192.0.2.100/24")
	owner.Track.Scripts = []config.TrackRef{{Name: "chk"}}
	a := newNodeWith(t, newLAN(t), "a", "192.0.2.1", func(c *config.Config) {
		c.Instances = []config.Instance{owner}
		// Passes once ok exists; killed at its timeout or when the daemon stops.
		c.Scripts = []config.Script{script(t, "chk", time.Hour, "/bin/sh", "-c", "while [ ! -e "+ok+" ]; do sleep 0.01; done")}
	}, tracker.Env{})
	a.start(t)
	vip := netip.MustParseAddr("192.0.2.100")
	held := func() {
		t.Helper()
		st := a.instance(t, "web")
		if st.State != "FAULT" || st.PriorityReason != "FAULT: chk: no result yet (weight 0); priority 255" || a.hasVIP("192.0.2.100") ||
			a.ann.Count("eth0", vip) != 0 {
			t.Fatalf("a: %s (%q), VIP %v, announcements %d", st.State, st.PriorityReason, a.hasVIP("192.0.2.100"), a.ann.Count("eth0", vip))
		}
	}
	held()
	a.lan.run(10 * interval) // a window in which mastership would show
	held()
	if err := os.WriteFile(ok, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, "web", "MASTER")
	a.lan.until("the VIP announced", func() bool { return a.hasVIP("192.0.2.100") && a.ann.Count("eth0", vip) > 0 })
	if st := a.instance(t, "web"); st.PriorityReason != "priority 255" {
		t.Fatalf("a: %q", st.PriorityReason)
	}
}

// TestOwnerHoldEnds: an address owner whose weight-0 check gives no result within its
// timeout and a second stops waiting for it and becomes master.
func TestOwnerHoldEnds(t *testing.T) {
	const timeout = time.Minute
	bound := make(chan time.Time, 1) // the end of the wait for a first result
	env := tracker.Env{After: func(d time.Duration) <-chan time.Time {
		if d >= timeout {
			return bound
		}
		return time.After(d)
	}}
	owner := instanceCfg("web", 255, "192.0.2.100/24")
	owner.Track.Scripts = []config.TrackRef{{Name: "chk"}}
	a := newNodeWith(t, newLAN(t), "a", "192.0.2.1", func(c *config.Config) {
		c.Instances = []config.Instance{owner}
		chk := script(t, "chk", time.Hour, "/bin/sleep", "120") // killed when the daemon stops
		chk.Timeout = timeout
		c.Scripts = []config.Script{chk}
	}, env)
	a.start(t)
	a.lan.run(10 * interval) // a window in which mastership would show
	vip := netip.MustParseAddr("192.0.2.100")
	if st := a.instance(t, "web"); st.State != "FAULT" || a.hasVIP("192.0.2.100") || a.ann.Count("eth0", vip) != 0 {
		t.Fatalf("a before the bound: %s (%q), VIP %v, announcements %d", st.State, st.PriorityReason, a.hasVIP("192.0.2.100"), a.ann.Count("eth0", vip))
	}
	bound <- time.Now()
	a.waitState(t, "web", "MASTER")
	if st := a.instance(t, "web"); st.PriorityReason != "priority 255" || st.Trackers[0].State != "unknown" || !a.hasVIP("192.0.2.100") {
		t.Fatalf("a after the bound: %q, %+v, VIP %v", st.PriorityReason, st.Trackers, a.hasVIP("192.0.2.100"))
	}
}

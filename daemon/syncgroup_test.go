package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vrrpd/vrrpd/config"
)

// groupNode is a node with two instances, web (VRID 51) and db (VRID 52), in sync group
// G; db tracks the file drain, whose -1000 puts it in FAULT.
func groupNode(t *testing.T, l *lan, name, addr string, prio uint8, drain string, notify config.Notify) *node {
	t.Helper()
	web := instanceCfg("web", prio, "192.0.2.100/24")
	db := instanceCfg("db", prio, "192.0.2.101/24")
	db.VRID = 52
	web.SyncGroup, db.SyncGroup = "G", "G"
	db.Track = config.Track{Files: []config.TrackRef{{Name: "drain", Weight: 1}}}
	n := newNode(t, l, name, addr)
	n.cfg.Instances = []config.Instance{web, db}
	n.cfg.Files = []config.File{{Name: "drain", Path: drain}}
	n.cfg.SyncGroups = []config.SyncGroup{{Name: "G", Instances: []string{"web", "db"}, Notify: notify}}
	d, err := n.newDaemon(Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	n.d = d
	return n
}

func TestSyncGroupFollowsAMemberInFault(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "hooks.log")
	script := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+out+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	drainA, drainB := filepath.Join(dir, "drain-a"), filepath.Join(dir, "drain-b")
	l := newLAN(t)
	a := groupNode(t, l, "a", "192.0.2.1", 150, drainA, config.Notify{Any: []string{script}, Fault: []string{script, "fault-hook"}})
	b := groupNode(t, l, "b", "192.0.2.2", 100, drainB, config.Notify{})
	a.start(t)
	b.start(t)
	for _, in := range []string{"web", "db"} {
		a.waitState(t, in, "MASTER")
		b.waitState(t, in, "BACKUP")
	}
	if st := a.instance(t, "web"); st.SyncGroup != "G" {
		t.Fatalf("web's sync group %q", st.SyncGroup)
	}
	if g := a.d.Status().SyncGroups; len(g) != 1 || g[0].State != "MASTER" || !slices.Equal(g[0].Instances, []string{"web", "db"}) {
		t.Fatalf("a's sync groups %+v", g)
	}

	// db faults on a: web follows, and b takes both.
	os.WriteFile(drainA, []byte("-1000\n"), 0o644)
	a.waitState(t, "db", "FAULT")
	a.waitState(t, "web", "FAULT")
	if r := a.instance(t, "web").Reason; !strings.Contains(r, "sync group G: db is in fault") {
		t.Fatalf("web's reason %q", r)
	}
	b.waitState(t, "web", "MASTER")
	b.waitState(t, "db", "MASTER")
	l.until("a to release both VIPs", func() bool { return !a.hasVIP("192.0.2.100") && !a.hasVIP("192.0.2.101") })
	if g := a.d.Status().SyncGroups; g[0].State != "FAULT" {
		t.Fatalf("a's group %s, want FAULT", g[0].State)
	}

	// db recovers: a takes both back.
	os.WriteFile(drainA, []byte("0\n"), 0o644)
	a.waitState(t, "db", "MASTER")
	a.waitState(t, "web", "MASTER")
	b.waitState(t, "web", "BACKUP")
	b.waitState(t, "db", "BACKUP")

	a.stop(t)
	l.until("the group's hooks", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "\n") >= 6
	})
	got, _ := os.ReadFile(out)
	want := []string{"GROUP G BACKUP 0", "GROUP G MASTER 0", "fault-hook", "GROUP G FAULT 0", "GROUP G BACKUP 0", "GROUP G MASTER 0"}
	if lines := strings.Split(strings.TrimSpace(string(got)), "\n"); !slices.Equal(lines, want) {
		t.Fatalf("group hooks ran:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestSyncGroupMembersPreferBackup(t *testing.T) {
	dir := t.TempDir()
	l := newLAN(t)
	a := groupNode(t, l, "a", "192.0.2.1", 150, filepath.Join(dir, "a"), config.Notify{})
	b := groupNode(t, l, "b", "192.0.2.2", 100, filepath.Join(dir, "b"), config.Notify{})
	a.start(t)
	b.start(t)
	a.waitState(t, "web", "MASTER")
	a.waitState(t, "db", "MASTER")
	// b's db now outranks a's; b's web does not: b's db waits for web, and nothing moves.
	os.WriteFile(filepath.Join(dir, "b"), []byte("100\n"), 0o644)
	l.until("b's db to want mastership", func() bool { return b.instance(t, "db").WantsMaster })
	l.run(50 * interval)
	for _, in := range []string{"web", "db"} {
		if st := a.instance(t, in); st.State != "MASTER" || st.Transitions["BACKUP"] != 1 {
			t.Fatalf("a's %s: %s, transitions %v", in, st.State, st.Transitions)
		}
		if st := b.instance(t, in); st.State != "BACKUP" {
			t.Fatalf("b's %s: %s", in, st.State)
		}
	}
}

func TestSyncGroupReload(t *testing.T) {
	dir := t.TempDir()
	drain := filepath.Join(dir, "drain")
	os.WriteFile(drain, []byte("-1000\n"), 0o644) // db in FAULT from the start
	l := newLAN(t)
	a := groupNode(t, l, "a", "192.0.2.1", 150, drain, config.Notify{})
	a.start(t)
	a.waitState(t, "db", "FAULT")
	a.waitState(t, "web", "FAULT")

	// Without the group, web is on its own: it leaves the group's fault.
	next := *a.cfg
	next.SyncGroups = nil
	next.Instances = slices.Clone(a.cfg.Instances)
	for i := range next.Instances {
		next.Instances[i].SyncGroup = ""
	}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, "web", "MASTER")
	if st := a.instance(t, "db"); st.State != "FAULT" || st.SyncGroup != "" {
		t.Fatalf("db is %s in group %q", st.State, st.SyncGroup)
	}
	if g := a.d.Status().SyncGroups; len(g) != 0 {
		t.Fatalf("sync groups after the reload: %+v", g)
	}

	// The group again: web follows db into FAULT.
	if err := a.d.Reload(context.Background(), a.cfg); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, "web", "FAULT")
	if r := a.instance(t, "web").Reason; !strings.Contains(r, "sync group G: db is in fault") {
		t.Fatalf("web's reason %q", r)
	}
}

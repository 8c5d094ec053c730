package daemon

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/tracker"
)

// rebuild gives n a new daemon of its (changed) configuration, with sysctls recorded.
func (n *node) rebuild(t *testing.T, sysctl func(path, value string) error) {
	t.Helper()
	opts := Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), HookTimeout: 5 * time.Second}
	opts.Clock = n.lan.clock
	sys := System{Open: n.host.Open, Addresses: n.addrs, Routes: n.routes, Links: n.vmacs, Announcer: n.ann, Interfaces: n.ifs, Events: n.links, Sysctl: sysctl}
	d, err := New(n.cfg, sys, opts)
	if err != nil {
		t.Fatal(err)
	}
	n.lan.t.Cleanup(func() { n.lan.stopDaemon(d) })
	n.d = d
}

func TestOwnGroupIsNotTheRFCs(t *testing.T) {
	l := newLAN(t)
	group := netip.MustParseAddr("224.0.0.118")
	inA, inB := instanceCfg("web", 150, "192.0.2.100/24"), instanceCfg("web", 100, "192.0.2.100/24")
	inA.Group, inB.Group = group, group
	a := newNode(t, l, "a", "192.0.2.1", inA)
	b := newNode(t, l, "b", "192.0.2.2", inB)
	c := newNode(t, l, "c", "192.0.2.3", instanceCfg("web", 50, "192.0.2.100/24"))
	a.start(t)
	b.start(t)
	c.start(t)
	a.waitState(t, "web", "MASTER")
	b.waitState(t, "web", "BACKUP")
	// c uses the RFC's group: it hears nobody and is master too; a drops its adverts.
	c.waitState(t, "web", "MASTER")
	l.until("a to drop c's adverts", func() bool { return a.instance(t, "web").Drops["destination"] > 0 })
	if d := a.instance(t, "web").LastDrop; d == nil || !strings.Contains(d.Detail, "expected the group 224.0.0.118") {
		t.Fatalf("a's last drop %+v", d)
	}
	if st := b.instance(t, "web"); st.Master != "192.0.2.1" {
		t.Fatalf("b follows %s", st.Master)
	}
}

func TestLinkNotTracked(t *testing.T) {
	l := newLAN(t)
	in := instanceCfg("web", 150, "192.0.2.100/24")
	in.IgnoreLink = true
	a := newNode(t, l, "a", "192.0.2.1", in)
	a.start(t)
	a.waitState(t, "web", "MASTER")
	a.ifs.setDown("eth0", true)
	a.links <- netops.LinkEvent{Index: 2, Name: "eth0", Up: false}
	l.run(20 * interval)
	if st := a.instance(t, "web"); st.State != "MASTER" {
		t.Fatalf("a is %s (%s) with its untracked link down", st.State, st.Reason)
	}
	// A reload that tracks it again: FAULT at once.
	next := *a.cfg
	next.Instances = []config.Instance{instanceCfg("web", 150, "192.0.2.100/24")}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, "web", "FAULT")
}

func TestTrackSource(t *testing.T) {
	l := newLAN(t)
	in := instanceCfg("web", 150, "192.0.2.100/24")
	in.Source, in.TrackSource = netip.MustParseAddr("192.0.2.1"), true
	a := newNode(t, l, "a", "192.0.2.1", in)
	a.start(t)
	a.waitState(t, "web", "MASTER")
	a.ifs.setAddrs(netip.MustParseAddr("192.0.2.5"))
	a.links <- netops.AddrEvent{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.1/24"), Deleted: true}
	a.waitState(t, "web", "FAULT")
	if r := a.instance(t, "web").Reason; !strings.Contains(r, "source 192.0.2.1 not on eth0") {
		t.Fatalf("reason %q", r)
	}
	a.ifs.setAddrs(netip.MustParseAddr("192.0.2.1"))
	a.links <- netops.AddrEvent{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.1/24")}
	a.waitState(t, "web", "MASTER")
}

func TestUnicastWithoutPeersIsFault(t *testing.T) {
	l := newLAN(t)
	in := instanceCfg("web", 150, "192.0.2.100/24")
	in.Unicast = &config.Unicast{Source: netip.MustParseAddr("192.0.2.1")}
	in.Source = in.Unicast.Source
	a := newNode(t, l, "a", "192.0.2.1", in)
	a.start(t)
	if st := a.instance(t, "web"); st.State != "FAULT" || !strings.Contains(st.Reason, "unicast without peers") {
		t.Fatalf("a is %s: %s", st.State, st.Reason)
	}
}

func TestPromoteSecondaries(t *testing.T) {
	l := newLAN(t)
	in := instanceCfg("web", 150, "192.0.2.100/24")
	in.PromoteSecondaries = true
	a := newNode(t, l, "a", "192.0.2.1", in)
	var mu sync.Mutex
	set := map[string]string{}
	a.rebuild(t, func(path, value string) error {
		mu.Lock()
		defer mu.Unlock()
		set[path] = value
		return nil
	})
	a.start(t)
	mu.Lock()
	defer mu.Unlock()
	if set["net/ipv4/conf/eth0/promote_secondaries"] != "1" {
		t.Fatalf("sysctls set: %v", set)
	}
}

func TestRefreshOtherInterfaces(t *testing.T) {
	cfg := instanceCfg("web", 150, "192.0.2.100/24")
	in := &instance{cfg: &cfg}
	in.cfg.GARP.RefreshOtherInterfaces = 100 * time.Second
	base := netops.AnnounceConfig{Repeat: 5}
	if got := in.otherInterfacesRefresh("eth0", base); got.Refresh != 0 {
		t.Fatalf("the instance's interface: refresh %v, want none", got.Refresh)
	}
	if got := in.otherInterfacesRefresh("eth1", base); got.Refresh != 100*time.Second {
		t.Fatalf("another interface: refresh %v, want 100s", got.Refresh)
	}
	base.Refresh = time.Minute
	if got := in.otherInterfacesRefresh("eth1", base); got.Refresh != time.Minute {
		t.Fatalf("another interface with a shorter refresh: %v, want 1m", got.Refresh)
	}
}

func TestExtraHooks(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "hooks.log")
	script := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+out+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	drain := filepath.Join(dir, "drain")
	l := newLAN(t)
	web := instanceCfg("web", 150, "192.0.2.100/24")
	web.Track = config.Track{Files: []config.TrackRef{{Name: "drain", Weight: 1}}}
	web.Notify = config.Notify{Any: []string{script}, MasterRxLowerPri: []string{script, "lower"},
		Priority: []string{script, "prio"}, Deleted: true, DeletedHook: []string{script, "deleted"}}
	a := newNodeWith(t, l, "a", "192.0.2.1", func(c *config.Config) {
		c.Instances = []config.Instance{web}
		c.Files = []config.File{{Name: "drain", Path: drain}}
	}, tracker.Env{})
	b := newNode(t, l, "b", "192.0.2.2", instanceCfg("web", 100, "192.0.2.100/24"))
	a.start(t)
	b.start(t)
	a.waitState(t, "web", "MASTER")
	lines := func() []string {
		b, _ := os.ReadFile(out)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	waitLine := func(want string) {
		t.Helper()
		l.until("hook "+want, func() bool { return slices.Contains(lines(), want) })
	}

	// The priority falls to 140: MASTER_PRIORITY.
	os.WriteFile(drain, []byte("-10\n"), 0o644)
	waitLine("prio INSTANCE web MASTER_PRIORITY 140")

	// b, cut off, becomes master; back, a hears its lower priority.
	l.Cut(a.host)
	b.waitState(t, "web", "MASTER")
	l.Mend(a.host)
	b.waitState(t, "web", "BACKUP")
	waitLine("lower INSTANCE web MASTER_RX_LOWER_PRI 140")

	// A reload removes web: DELETED, and the deleted hook, not STOP.
	next := *a.cfg
	api := instanceCfg("api", 200, "192.0.2.110/24")
	api.VRID = 52
	next.Instances = []config.Instance{api}
	next.Files = nil
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	waitLine("INSTANCE web DELETED 140")
	waitLine("deleted")
	for _, line := range lines() {
		if strings.Contains(line, "STOP") {
			t.Fatalf("a deleted instance said STOP: %q", lines())
		}
	}
}

package rhi

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/fake"
	"github.com/vrrpd/vrrpd/tracker"
)

// journal records what the speaker and the addresses were asked, in order.
type journal struct {
	mu  sync.Mutex
	ops []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	j.ops = append(j.ops, fmt.Sprintf(format, args...))
	j.mu.Unlock()
}

// take returns the operations recorded since the last take.
func (j *journal) take() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	ops := j.ops
	j.ops = nil
	return ops
}

type fakeSpeaker struct{ j *journal }

func (s fakeSpeaker) Start(_ context.Context, g Global) error {
	s.j.add("start %d", g.ASN)
	return nil
}
func (s fakeSpeaker) SetPeers(_ context.Context, peers []config.BGPPeer) error {
	s.j.add("peers %d", len(peers))
	return nil
}
func (s fakeSpeaker) Announce(_ context.Context, p netip.Prefix, a Attributes) error {
	s.j.add("announce %v med=%d %v", p, a.MED, a.Communities)
	return nil
}
func (s fakeSpeaker) Withdraw(_ context.Context, p netip.Prefix) error {
	s.j.add("withdraw %v", p)
	return nil
}
func (s fakeSpeaker) Peers() []PeerStatus { return nil }
func (s fakeSpeaker) Stop(context.Context) error {
	s.j.add("stop")
	return nil
}

type journalAddrs struct {
	*fake.Addresses
	j *journal
}

func (a journalAddrs) Add(v netops.VIP) error {
	a.j.add("add %v", v)
	return a.Addresses.Add(v)
}

func (a journalAddrs) Remove(v netops.VIP) error {
	a.j.add("remove %v", v)
	return a.Addresses.Remove(v)
}

// manualClock fires the channels of After when Advance passes their time.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []manualTimer
}

type manualTimer struct {
	at time.Time
	ch chan time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, manualTimer{c.now.Add(d), ch})
	return ch
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.timers = slices.DeleteFunc(c.timers, func(t manualTimer) bool {
		if t.at.After(c.now) {
			return false
		}
		t.ch <- c.now
		return true
	})
}

func (c *manualClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// expect waits until the journal holds want, in order, and nothing else.
func expect(t *testing.T, j *journal, want ...string) {
	t.Helper()
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		got = append(got, j.take()...)
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // nothing more follows
	got = append(got, j.take()...)
	if !slices.Equal(got, want) {
		t.Fatalf("operations:\n %s\nwant\n %s", strings.Join(got, "\n "), strings.Join(want, "\n "))
	}
}

func TestManager(t *testing.T) {
	j := &journal{}
	addrs := fake.NewAddresses()
	addrs.AddInterface("lo")
	clock := &manualClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := &config.BGP{ASN: 65010, RouterID: netip.MustParseAddr("192.0.2.11"), HoldTime: 9 * time.Second, Drain: 2 * time.Second,
		Peers: []config.BGPPeer{{Address: netip.MustParseAddr("192.0.2.1"), ASN: 65000}},
		Routes: []config.Route{{
			Name: "web", Prefixes: []netip.Prefix{netip.MustParsePrefix("198.51.100.10/32")}, AddressInterface: "lo",
			When: cond(t, "processes:haproxy"), UpDelay: time.Second, OnFailure: config.OnFailure{Withdraw: true},
		}}}
	var changes []RouteStatus
	var cmu sync.Mutex
	m := NewManager(cfg, fakeSpeaker{j}, journalAddrs{addrs, j}, Env{Now: clock.Now, After: clock.After}, nil, func(c Change) {
		cmu.Lock()
		changes = append(changes, *c.Route)
		cmu.Unlock()
	})
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	expect(t, j, "start 65010", "peers 1")

	m.Update(Inputs{Trackers: []tracker.Status{proc(tracker.OK)}})
	expect(t, j) // pending for up_delay
	if st := m.Status().Routes[0]; st.State != Pending || st.Announced {
		t.Fatalf("status while pending: %+v", st)
	}
	clock.Advance(time.Second)
	expect(t, j, "add 198.51.100.10/32 dev lo", "announce 198.51.100.10/32 med=0 []")
	if st := m.Status().Routes[0]; st.State != Announced || !st.Announced || st.Interface != "lo" {
		t.Fatalf("status when announced: %+v", st)
	}

	m.Update(Inputs{Trackers: []tracker.Status{proc(tracker.Failing)}})
	expect(t, j, "withdraw 198.51.100.10/32", "remove 198.51.100.10/32 dev lo")
	if st := m.Status().Routes[0]; st.State != Withdrawn || st.Announced || st.Reason != "process haproxy failing: 1 haproxy process (quorum 1)" {
		t.Fatalf("status when withdrawn: %+v", st)
	}

	// A reload that makes the failure a last resort announces at once, with the MED.
	next := *cfg
	next.Routes = slices.Clone(cfg.Routes)
	next.Routes[0].OnFailure = config.OnFailure{MED: 500}
	if err := m.Reconfigure(ctx, &next); err != nil {
		t.Fatal(err)
	}
	expect(t, j, "peers 1", "add 198.51.100.10/32 dev lo", "announce 198.51.100.10/32 med=500 []")
	m.Update(Inputs{Trackers: []tracker.Status{proc(tracker.OK)}})
	expect(t, j)
	for clock.pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	clock.Advance(time.Second)
	expect(t, j, "announce 198.51.100.10/32 med=0 []")

	// The graceful stop: GRACEFUL_SHUTDOWN for the drain, withdraw, close, address.
	stopped := make(chan struct{})
	go func() { m.Stop(ctx); close(stopped) }()
	expect(t, j, fmt.Sprintf("announce 198.51.100.10/32 med=0 [%d]", uint32(CommunityGracefulShutdown)))
	for clock.pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	clock.Advance(2 * time.Second)
	<-stopped
	expect(t, j, "withdraw 198.51.100.10/32", "stop", "remove 198.51.100.10/32 dev lo")

	cmu.Lock()
	defer cmu.Unlock()
	var states []string
	for _, c := range changes {
		states = append(states, c.State.String())
	}
	if want := []string{"withdrawn", "pending", "announced", "withdrawn", "last resort", "pending", "announced"}; !slices.Equal(states, want) {
		t.Errorf("changes %v, want %v", states, want)
	}
	last := changes[len(changes)-1]
	if want := map[State]uint64{Withdrawn: 2, Pending: 2, Announced: 2, LastResort: 1}; !maps.Equal(last.Transitions, want) || last.Cause != CauseHealthy {
		t.Errorf("the last change counts %v (%s), want %v (healthy)", last.Transitions, last.Cause, want)
	}
}

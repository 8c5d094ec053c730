package tracker

import (
	"context"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/netops"
)

// TestInterfaceTracker feeds link events through a Set with a fake clock: the listing
// waiting at Start is the first state, a link no event names is missing after the
// grace, delays absorb a flap and delay a change, and renames and deletions count as
// down.
func TestInterfaceTracker(t *testing.T) {
	c := newFakeClock()
	links := make(chan netops.Event, 16)
	links <- netops.LinkEvent{Index: 1, Name: "lo", Up: true}
	links <- netops.LinkEvent{Index: 3, Name: "eth1", Up: true}
	env := c.env()
	env.Links = links
	cfg := parseConfig(t, `
instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: 150
    vips: [192.0.2.100/24]
    track:
      interfaces: [{name: eth1, weight: -50, down_delay: 2s, up_delay: 1s}, eth2]
`, nil)
	s, err := NewSet(cfg, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := c.Calls()
	s.Start(context.Background())
	defer s.Close()
	c.WaitCalls(t, calls+1) // the grace timer

	check := func(name string, state State, detail string) {
		t.Helper()
		if st := statusOf(s, KindInterface, name); st.State != state || st.Detail != detail {
			t.Fatalf("%s: %v %q, want %v %q", name, st.State, st.Detail, state, detail)
		}
	}
	// send sends an event and waits until the tracker took it: when a delay starts,
	// until its timer is set.
	send := func(ev netops.LinkEvent, name, detail string, timer bool) {
		t.Helper()
		n := c.Calls()
		links <- ev
		if timer {
			c.WaitCalls(t, n+1)
		}
		eventually(t, func() bool { return statusOf(s, KindInterface, name).Detail == detail }, "%s: %q", name, detail)
	}

	check("eth1", OK, "eth1 up")
	check("eth2", Unknown, "")
	// eth2 is not listed yet: weight 0 holds the instance until the grace passes.
	if up := nextUpdate(t, s); up.Priority.Explanation != "FAULT: eth2: no result yet (weight 0); priority 150" {
		t.Fatalf("first update %+v", up.Priority)
	}
	c.Advance(linkListingGrace)
	if up := nextUpdate(t, s); up.Priority.Explanation != "FAULT: eth2 down (weight 0); priority 150" {
		t.Fatalf("update %+v", up.Priority)
	}
	check("eth2", Failing, "eth2 does not exist")

	// A flap shorter than down_delay is absorbed.
	send(netops.LinkEvent{Index: 3, Name: "eth1"}, "eth1", "eth1 down; counts after down_delay 2s", true)
	check("eth1", OK, "eth1 down; counts after down_delay 2s")
	c.Advance(time.Second)
	send(netops.LinkEvent{Index: 3, Name: "eth1", Up: true}, "eth1", "eth1 up", false)
	c.Advance(time.Second) // the old delay's timer: nothing waits any more
	eventually(t, func() bool { return statusOf(s, KindInterface, "eth1").State == OK }, "eth1 stays up")

	// Down for good: after down_delay.
	send(netops.LinkEvent{Index: 3, Name: "eth1"}, "eth1", "eth1 down; counts after down_delay 2s", true)
	c.Advance(2 * time.Second)
	eventually(t, func() bool { return statusOf(s, KindInterface, "eth1").State == Failing }, "eth1 down after 2 s")
	check("eth1", Failing, "eth1 down")
	if up := nextUpdate(t, s); up.Priority.Explanation != "FAULT: eth2 down (weight 0); priority 150 -> 100: eth1 down (-50)" {
		t.Fatalf("update %+v", up.Priority)
	}

	// Up again after up_delay.
	send(netops.LinkEvent{Index: 3, Name: "eth1", Up: true}, "eth1", "eth1 up; counts after up_delay 1s", true)
	c.Advance(time.Second)
	eventually(t, func() bool { return statusOf(s, KindInterface, "eth1").State == OK }, "eth1 up after 1 s")
	if up := nextUpdate(t, s); up.Priority.Explanation != "FAULT: eth2 down (weight 0); priority 150" {
		t.Fatalf("update %+v", up.Priority)
	}

	// eth2 appears, is renamed away, another link takes its name, and is deleted.
	send(netops.LinkEvent{Index: 4, Name: "eth2", Up: true}, "eth2", "eth2 up", false)
	check("eth2", OK, "eth2 up")
	if up := nextUpdate(t, s); up.Priority.Explanation != "priority 150" || up.Priority.Fault {
		t.Fatalf("update %+v", up.Priority)
	}
	send(netops.LinkEvent{Index: 4, Name: "eth9", Up: true}, "eth2", "eth2 renamed to eth9", false)
	check("eth2", Failing, "eth2 renamed to eth9")
	send(netops.LinkEvent{Index: 5, Name: "eth2", Up: true}, "eth2", "eth2 up", false)
	// The old index of the name is deleted: eth2 is still there.
	links <- netops.LinkEvent{Index: 4, Name: "eth9", Deleted: true}
	send(netops.LinkEvent{Index: 5, Name: "eth2", Deleted: true}, "eth2", "eth2 deleted", false)
	check("eth2", Failing, "eth2 deleted")
}

func TestNewSetNeedsLinks(t *testing.T) {
	cfg := parseConfig(t, `
instances:
  - {name: web, interface: eth0, vrid: 51, vips: [192.0.2.100/24], track: {interfaces: [eth1]}}
`, nil)
	if _, err := NewSet(cfg, Env{}, nil); err == nil {
		t.Fatal("NewSet accepted interface trackers without link events")
	}
}

package netops

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func TestLinkUp(t *testing.T) {
	// IF_OPER_* of linux/if.h not named in monitor.go.
	const (
		operNotPresent     = 1
		operDown           = 2
		operLowerLayerDown = 3
		operDormant        = 5
	)
	cases := []struct {
		name  string
		flags uint32
		oper  uint8
		want  bool
	}{
		{name: "up with carrier", flags: iffUp | iffRunning, oper: operUp, want: true},
		{name: "oper up without IFF_RUNNING still up", flags: iffUp, oper: operUp, want: true},
		{name: "unknown and running (loopback, tun)", flags: iffUp | iffRunning, oper: operUnknown, want: true},
		{name: "unknown, not running", flags: iffUp, oper: operUnknown, want: false},
		{name: "admin down", flags: iffRunning, oper: operUp, want: false},
		{name: "no carrier", flags: iffUp, oper: operDown, want: false},
		{name: "lower layer down (VLAN on a down parent)", flags: iffUp, oper: operLowerLayerDown, want: false},
		{name: "dormant", flags: iffUp | iffRunning, oper: operDormant, want: false},
		{name: "not present", flags: iffUp, oper: operNotPresent, want: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := linkUp(c.flags, c.oper); got != c.want {
				t.Errorf("linkUp(%#x, %d) = %v, want %v", c.flags, c.oper, got, c.want)
			}
		})
	}
}

var (
	eth0   = LinkEvent{Index: 2, Name: "eth0", Up: true}
	vlan   = LinkEvent{Index: 3, Name: "eth0.10", Up: true}
	addr4  = AddrEvent{Index: 2, Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.1/24")}
	addr6  = AddrEvent{Index: 2, Interface: "eth0", Prefix: netip.MustParsePrefix("2001:db8::1/64")}
	vaddr4 = AddrEvent{Index: 3, Interface: "eth0.10", Prefix: netip.MustParsePrefix("198.51.100.1/24")}
)

func deleted(e Event) Event {
	switch e := e.(type) {
	case LinkEvent:
		e.Deleted, e.Up = true, false
		return e
	case AddrEvent:
		e.Deleted = true
		return e
	}
	return e
}

func checkEvents(t *testing.T, got []Event, want ...Event) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
}

func TestNetStateLink(t *testing.T) {
	s := newNetState()
	checkEvents(t, s.link(eth0), eth0)
	// RTM_NEWLINK repeats for changes that are not ours (MTU, statistics): nothing.
	checkEvents(t, s.link(eth0))
	down := eth0
	down.Up = false
	checkEvents(t, s.link(down), down)
	checkEvents(t, s.link(eth0), eth0)

	// Addresses carry the name; a rename updates them.
	checkEvents(t, s.addr(AddrEvent{Index: 2, Prefix: addr4.Prefix}), addr4)
	renamed := eth0
	renamed.Name = "lan0"
	checkEvents(t, s.link(renamed), renamed)
	a := addr4
	a.Interface = "lan0"
	checkEvents(t, s.link(LinkEvent{Index: 2, Deleted: true}), deleted(a), LinkEvent{Index: 2, Name: "lan0", Deleted: true})

	// A deletion of a link never seen is not news.
	checkEvents(t, s.link(LinkEvent{Index: 9, Name: "x", Deleted: true}))
}

func TestNetStateAddr(t *testing.T) {
	s := newNetState()
	// The link is not known: the caller should have made it known first.
	checkEvents(t, s.addr(addr4))
	s.link(eth0)
	checkEvents(t, s.addr(AddrEvent{Index: 2, Prefix: addr4.Prefix}), addr4)
	checkEvents(t, s.addr(addr4))
	checkEvents(t, s.addr(deleted(addr4).(AddrEvent)), deleted(addr4))
	checkEvents(t, s.addr(deleted(addr4).(AddrEvent)))
}

// TestNetStateDeleteCascade: a link goes with its addresses, which are reported first,
// and an address deletion that arrives after its link's (the two come through separate
// sockets) is not reported twice.
func TestNetStateDeleteCascade(t *testing.T) {
	s := newNetState()
	s.link(eth0)
	s.link(vlan)
	s.addr(addr4)
	s.addr(vaddr4)
	checkEvents(t, s.link(LinkEvent{Index: 3, Name: "eth0.10", Deleted: true}), deleted(vaddr4), deleted(vlan))
	checkEvents(t, s.addr(deleted(vaddr4).(AddrEvent)))
	// Re-created: a new index.
	vlan2 := LinkEvent{Index: 4, Name: "eth0.10", Up: false}
	checkEvents(t, s.link(vlan2), vlan2)
}

func TestNetStateResync(t *testing.T) {
	s := newNetState()
	checkEvents(t, s.resync([]LinkEvent{vlan, eth0}, []AddrEvent{vaddr4, addr6, addr4}),
		eth0, vlan, addr4, addr6, vaddr4) // links first, each in order

	// The same listing again: nothing.
	checkEvents(t, s.resync([]LinkEvent{eth0, vlan}, []AddrEvent{addr4, addr6, vaddr4}))

	// While no subscription ran: the VLAN was deleted and re-created, eth0 lost an
	// address and went down.
	down := eth0
	down.Up = false
	vlan2 := LinkEvent{Index: 5, Name: "eth0.10"}
	checkEvents(t, s.resync([]LinkEvent{down, vlan2}, []AddrEvent{addr4}),
		deleted(addr6), deleted(vaddr4), deleted(vlan), down, vlan2)

	// An address whose link is not in the listing (created between the two dumps) is
	// left to its own event.
	checkEvents(t, s.resync([]LinkEvent{down, vlan2}, []AddrEvent{addr4, {Index: 7, Prefix: addr6.Prefix}}))
}

// collect reads what ch holds now.
func collect(ch <-chan Event) []Event {
	var evs []Event
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, e)
		default:
			return evs
		}
	}
}

// replay applies evs to an empty state: what a consumer ends up believing.
func replay(evs []Event) netState {
	s := newNetState()
	for _, e := range evs {
		s.apply(e)
	}
	return s
}

func TestMonitorSubscribeStartsWithState(t *testing.T) {
	m := newMonitor(nil)
	m.update(func(s *netState) []Event { return s.resync([]LinkEvent{eth0, vlan}, []AddrEvent{addr4, vaddr4}) })
	ch, cancel := m.Subscribe()
	checkEvents(t, collect(ch), eth0, vlan, addr4, vaddr4)
	m.update(func(s *netState) []Event { return s.addr(addr6) })
	checkEvents(t, collect(ch), addr6)
	cancel()
	cancel() // idempotent
	if _, ok := <-ch; ok {
		t.Fatal("channel open after cancel")
	}
	m.update(func(s *netState) []Event { return s.addr(deleted(addr6).(AddrEvent)) })
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMonitorSlowConsumer: a consumer whose channel is full does not hold the others
// back, and when it reads again it gets what takes it to the current state, including
// a deletion it would otherwise have missed.
func TestMonitorSlowConsumer(t *testing.T) {
	m := newMonitor(nil)
	m.buffer = 2
	m.update(func(s *netState) []Event { return s.link(eth0) })
	slow, cancelSlow := m.Subscribe() // eth0, and room for 2 more
	defer cancelSlow()
	fast, cancelFast := m.Subscribe()
	defer cancelFast()
	fastGot := collect(fast)

	down := eth0
	down.Up = false
	steps := []func(s *netState) []Event{
		func(s *netState) []Event { return s.link(vlan) },
		func(s *netState) []Event { return s.addr(vaddr4) }, // slow is full now
		func(s *netState) []Event { return s.addr(addr4) },
		func(s *netState) []Event { return s.link(down) },
		func(s *netState) []Event { return s.link(LinkEvent{Index: vlan.Index, Deleted: true}) },
	}
	for _, f := range steps {
		m.update(f)
		fastGot = append(fastGot, collect(fast)...)
	}
	checkEvents(t, fastGot, eth0, vlan, vaddr4, addr4, down, deleted(vaddr4), deleted(vlan))

	slowGot := collect(slow)
	checkEvents(t, slowGot, eth0, vlan, vaddr4)
	// What it missed is 4 events, more than its channel holds: two rounds.
	for range 2 {
		m.catchUp()
		slowGot = append(slowGot, collect(slow)...)
	}
	checkEvents(t, slowGot[3:], deleted(vaddr4), deleted(vlan), down, addr4)
	if got := replay(slowGot); !reflect.DeepEqual(got, m.state) {
		t.Fatalf("slow consumer believes %+v, state is %+v", got, m.state)
	}

	// Caught up: events flow one by one again.
	m.update(func(s *netState) []Event { return s.addr(addr6) })
	checkEvents(t, collect(slow), addr6)
}

// TestMonitorResubscribes: when a session ends, the monitor starts another, and the
// consumer converges on what the new one lists, vanished things included.
func TestMonitorResubscribes(t *testing.T) {
	m := newMonitor(nil)
	m.minBackoff, m.maxBackoff = time.Millisecond, 4*time.Millisecond
	ch, cancel := m.Subscribe()
	defer cancel()
	sessions := make(chan int, 10)
	started := 0 // used by the session goroutine only
	m.start(func(stop <-chan struct{}) error {
		started++
		sessions <- started
		switch started {
		case 1:
			m.update(func(s *netState) []Event { return s.resync([]LinkEvent{eth0, vlan}, []AddrEvent{addr4}) })
			return errors.New("receive: no buffer space available")
		case 2:
			return errors.New("subscribe: resource temporarily unavailable")
		}
		m.update(func(s *netState) []Event { return s.resync([]LinkEvent{eth0}, []AddrEvent{addr4, addr6}) })
		<-stop
		return nil
	})
	deadline := time.After(5 * time.Second)
	for n := 0; n < 3; {
		select {
		case n = <-sessions:
		case <-deadline:
			t.Fatal("no third session")
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	var got []Event
	for e := range ch { // closed by Close
		got = append(got, e)
	}
	checkEvents(t, got, eth0, vlan, addr4, deleted(vlan), addr6)
}

func TestMonitorClosed(t *testing.T) {
	m := newMonitor(nil)
	m.start(func(stop <-chan struct{}) error { <-stop; return nil })
	ch, cancel := m.Subscribe()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Fatal("channel open after Close")
	}
	cancel()
	ch, cancel = m.Subscribe()
	if _, ok := <-ch; ok {
		t.Fatal("Subscribe after Close gave an open channel")
	}
	cancel()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

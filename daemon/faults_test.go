package daemon

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/vrrp"
)

// TestVIPThatCannotBeAddedFaults: a master that cannot add a VIP retries, then after an
// advert interval goes to FAULT with the error as its reason, so that the backup serves;
// once the VIP can be added it comes back on its own.
func TestVIPThatCannotBeAddedFaults(t *testing.T) {
	l := newLAN(t)
	web := instanceCfg("web", 150, "192.0.2.100/24")
	web.VIPs = append(web.VIPs, config.VIP{Prefix: netip.MustParsePrefix("198.51.100.100/24"), Interface: "eth1"})
	a := newNode(t, l, "a", "192.0.2.1", web)
	bWeb := web
	bWeb.Priority = 100
	b := newNode(t, l, "b", "192.0.2.2", bWeb)
	b.addrs.AddInterface("eth1")
	a.start(t)
	b.start(t)
	a.waitState(t, "web", "FAULT")
	st := a.instance(t, "web")
	if !strings.Contains(st.Reason, "cannot add VIP 198.51.100.100/24 on eth1") || !strings.Contains(st.Reason, "no such interface") {
		t.Fatalf("reason %q does not give the kernel's error", st.Reason)
	}
	if a.hasVIP("192.0.2.100") {
		t.Fatal("a faulted master kept the VIP it could add")
	}
	b.waitState(t, "web", "MASTER")
	if !b.hasVIP("192.0.2.100") || !b.addrs.Has("eth1", netip.MustParseAddr("198.51.100.100")) {
		t.Fatal("b serves without its VIPs")
	}
	// Still broken at the first retry: back to FAULT, and the next try waits longer.
	l.run(1500 * time.Millisecond)
	if st := a.instance(t, "web"); st.State != "FAULT" {
		t.Fatalf("a is %s while its VIP still cannot be added", st.State)
	}
	a.addrs.AddInterface("eth1")
	a.waitState(t, "web", "MASTER") // recovers, then preempts
	b.waitState(t, "web", "BACKUP")
	if !a.addrs.Has("eth1", netip.MustParseAddr("198.51.100.100")) || !a.hasVIP("192.0.2.100") {
		t.Fatal("a is master without its VIPs")
	}
}

// TestVIPAddedOnRetry: a VIP that fails once and works within the advert interval costs
// no FAULT.
func TestVIPAddedOnRetry(t *testing.T) {
	l := newLAN(t)
	web := instanceCfg("web", 255, "192.0.2.100/24")
	web.AdvertInterval = time.Second
	web.VIPs = append(web.VIPs, config.VIP{Prefix: netip.MustParsePrefix("198.51.100.100/24"), Interface: "eth1"})
	a := newNode(t, l, "a", "192.0.2.1", web)
	a.start(t)
	if st := a.instance(t, "web"); st.State != "MASTER" {
		t.Fatalf("a is %s", st.State)
	}
	l.run(50 * time.Millisecond)
	a.addrs.AddInterface("eth1")
	l.run(time.Second)
	if st := a.instance(t, "web"); st.State != "MASTER" || !a.addrs.Has("eth1", netip.MustParseAddr("198.51.100.100")) {
		t.Fatalf("a is %s, VIP on eth1: %v", st.State, a.addrs.Has("eth1", netip.MustParseAddr("198.51.100.100")))
	}
}

// TestLinkDownAtStart: an instance whose link is down when it starts (at start, or added
// by a reload, when no link event will come) starts in FAULT, even an address owner.
func TestLinkDownAtStart(t *testing.T) {
	l := newLAN(t)
	a := newNode(t, l, "a", "192.0.2.1", instanceCfg("web", 255, "192.0.2.100/24"))
	a.ifs.setDown("eth0", true)
	a.start(t)
	if st := a.instance(t, "web"); st.State != "FAULT" || a.hasVIP("192.0.2.100") {
		t.Fatalf("an owner on a down link is %s, VIP %v", st.State, a.hasVIP("192.0.2.100"))
	}
	api := instanceCfg("api", 255, "192.0.2.110/24")
	api.VRID = 52
	next := *a.cfg
	next.Instances = append(next.Instances, api)
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	l.settle()
	if st := a.instance(t, "api"); st.State != "FAULT" || a.hasVIP("192.0.2.110") {
		t.Fatalf("an owner added by a reload on a down link is %s", st.State)
	}
	a.ifs.setDown("eth0", false)
	a.links <- netops.LinkEvent{Index: 2, Name: "eth0", Up: true}
	a.waitState(t, "web", "MASTER")
	a.waitState(t, "api", "MASTER")
}

// TestStartAsksOncePerInterface: starting many instances on one interface, or adding
// them by a reload, asks the kernel for the interface's addresses and link state once.
func TestStartAsksOncePerInterface(t *testing.T) {
	l := newLAN(t)
	var instances []config.Instance
	for i := range 40 {
		in := instanceCfg(fmt.Sprintf("web%d", i), 100, fmt.Sprintf("192.0.2.%d/24", 100+i))
		in.VRID = uint8(1 + i)
		instances = append(instances, in)
	}
	a := newNode(t, l, "a", "192.0.2.1", instances[:20]...)
	a.start(t)
	want := map[string]int{"Addrs eth0": 1, "Up eth0": 1}
	if q := a.ifs.questions(); !maps.Equal(q, want) {
		t.Errorf("starting 20 instances asked %v, want %v", q, want)
	}
	next := *a.cfg
	next.Instances = instances
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	l.settle()
	if q := a.ifs.questions(); !maps.Equal(q, want) {
		t.Errorf("a reload adding 20 instances asked %v, want %v", q, want)
	}
	a.waitState(t, "web39", "MASTER")
}

// TestBackupReadsAdvertsBeforeTimer: a backup that stalled past its Master_Down_Interval
// while its master's adverts queued up reads them before its timer, and stays backup.
func TestBackupReadsAdvertsBeforeTimer(t *testing.T) {
	l, a, b := pair(t)
	in := b.d.instancesNamed("web")[0]
	events, stop := b.d.Events()
	defer stop()
	for round := range 20 {
		release, blocked := make(chan struct{}), make(chan struct{})
		go in.do(func() { close(blocked); <-release })
		<-blocked
		// Time passes past b's down timer; a keeps advertising into b's queue.
		for range 100 {
			l.clock.set(l.clock.Now().Add(time.Millisecond))
			l.clock.fireDue()
			a.barrier()
		}
		deadline := time.Now().Add(5 * time.Second)
		for !b.host.Idle() {
			if time.Now().After(deadline) {
				t.Fatal("b's socket never emptied")
			}
			time.Sleep(time.Millisecond)
		}
		close(release)
		l.settle()
		select {
		case e := <-events:
			t.Fatalf("round %d: b changed state with its master's adverts unread: %+v", round, e)
		default:
		}
	}
	if st := a.instance(t, "web"); st.State != "MASTER" {
		t.Fatalf("a is %s", st.State)
	}
}

// TestStopMakesBeforeBreak: a master that stops keeps its VIP until its backup has taken
// over; Stop returns then.
func TestStopMakesBeforeBreak(t *testing.T) {
	l, a, b := pair(t)
	vip := "192.0.2.100"
	done := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		a.d.Stop(ctx)
		close(done)
	}()
	gap := false
	l.until("a's stop", func() bool {
		gap = gap || !a.hasVIP(vip) && !b.hasVIP(vip)
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
	if gap {
		t.Fatal("a moment with the VIP on neither node")
	}
	if a.hasVIP(vip) || !b.hasVIP(vip) {
		t.Fatalf("after the stop: on a %v, on b %v", a.hasVIP(vip), b.hasVIP(vip))
	}
	if st := b.instance(t, "web"); st.State != "MASTER" || !strings.Contains(st.Reason, "left (priority 0)") {
		t.Fatalf("b is %s: %s", st.State, st.Reason)
	}
}

// TestSplitBrainHealedEvent: after a partition both are master; when it heals the winner
// says so, once, and counts it.
func TestSplitBrainHealedEvent(t *testing.T) {
	l, a, b := pair(t)
	events, stop := a.d.Events()
	defer stop()
	l.Cut(a.host)
	b.waitState(t, "web", "MASTER")
	l.Mend(a.host)
	b.waitState(t, "web", "BACKUP")
	var heal control.Event
	l.until("the split brain event", func() bool {
		for {
			select {
			case e := <-events:
				if e.Type == "split_brain" {
					heal = e
					return true
				}
			default:
				return false
			}
		}
	})
	if !strings.Contains(heal.Reason, "split brain with 192.0.2.2 healed") {
		t.Fatalf("event %+v", heal)
	}
	if st := a.instance(t, "web"); st.SplitBrainsHealed == 0 || st.State != "MASTER" {
		t.Fatalf("a: %s, healed %d", st.State, st.SplitBrainsHealed)
	}
}

// TestSplitBrainLogBounded: a lower master that never hears this one is answered every
// interval; the log says so once per dropLogInterval, with a count, not each time.
func TestSplitBrainLogBounded(t *testing.T) {
	// One node alone: with a peer, the jumps of the clock below could make a real split brain
	// whose heal would be counted too.
	l := newLAN(t)
	a := newNode(t, l, "a", "192.0.2.1", instanceCfg("web", 150, "192.0.2.100/24"))
	a.start(t)
	a.waitState(t, "web", "MASTER")
	var buf bytes.Buffer // written in the port's goroutine, read after run returns
	a.d.mu.Lock()
	in := a.d.instances[0]
	a.d.mu.Unlock()
	in.port.run(in, func() { in.log = slog.New(slog.NewTextHandler(&buf, nil)) })
	heal := vrrp.SplitBrainHealed{Peer: netip.MustParseAddr("192.0.2.9"), Priority: 50}
	for range 3 {
		for range 50 {
			in.port.run(in, func() { in.splitBrainHealed(heal) })
			l.clock.set(l.clock.Now().Add(interval))
		}
	}
	// 150 heals over 3 s: the first is logged, then one per 10 s.
	if n := strings.Count(buf.String(), "split brain with 192.0.2.9 healed"); n != 1 {
		t.Fatalf("logged %d times:\n%s", n, buf.String())
	}
	in.port.run(in, func() { in.splitBrainHealed(heal) })
	l.clock.set(l.clock.Now().Add(dropLogInterval))
	in.port.run(in, func() { in.splitBrainHealed(heal) })
	if !strings.Contains(buf.String(), "more_since_last_report=150") {
		t.Fatalf("no count of the suppressed reports:\n%s", buf.String())
	}
}

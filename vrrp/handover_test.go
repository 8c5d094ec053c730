package vrrp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// vrrpd's hand-overs without a gap for clients: make-before-break, the lowered master,
// and the healed split brain.

func handoverCfg(addr string, prio uint8, interval time.Duration) Config {
	return with(node(addr, prio), func(c *Config) {
		c.AdvertInterval = interval
		c.MakeBeforeBreak, c.FastHandover, c.StepDownAdvert = true, true, true
	})
}

// noGap fails when, between from and to, a moment passed with the VIPs on no node.
func noGap(t *testing.T, from, to time.Time, nodes ...*simNode) {
	t.Helper()
	moments := []time.Time{from}
	for _, n := range nodes {
		for _, c := range n.vipLog {
			if c.at.After(from) && c.at.Before(to) {
				moments = append(moments, c.at)
			}
		}
	}
	for _, at := range moments {
		held := false
		for _, n := range nodes {
			held = held || n.vipsAt(at)
		}
		if !held {
			t.Fatalf("at %v no node held the VIPs", at.Sub(epoch))
		}
	}
}

func TestMakeBeforeBreakOnStop(t *testing.T) {
	for _, interval := range []time.Duration{time.Second, 100 * time.Millisecond, 10 * time.Millisecond} {
		t.Run(interval.String(), func(t *testing.T) {
			s := newSim(t, 1)
			s.delay = interval / 100
			m := s.add("m", handoverCfg("192.0.2.1", 150, interval))
			b := s.add("b", handoverCfg("192.0.2.2", 100, interval))
			s.start(m)
			s.start(b)
			s.run(10*interval + interval/2)
			s.checkOneMaster(m)
			s.stop(m)
			stopped := s.now()
			if m.holds != 1 || !m.hasVIPs || !m.up {
				t.Fatalf("the stopping master: holds %d, VIPs %v, up %v", m.holds, m.hasVIPs, m.up)
			}
			s.run(2*interval + ReleaseLinger)
			took := mustTransition(t, b, Master)
			wantTime(t, "takeover", took, stopped.Add(s.delay+SkewTime(Version3, 100, interval)))
			// The old master released ReleaseLinger after b's first advert reached it,
			// not before: b's announcement follows its advert.
			if m.hasVIPs || m.up {
				t.Fatalf("the old master still holds: VIPs %v, up %v", m.hasVIPs, m.up)
			}
			released := m.vipLog[len(m.vipLog)-1].at
			wantTime(t, "release", released, took.Add(s.delay+ReleaseLinger))
			noGap(t, stopped, s.now(), m, b)
		})
	}
}

func TestMakeBeforeBreakWithoutTakeover(t *testing.T) {
	s := newSim(t, 1)
	m := s.add("m", handoverCfg("192.0.2.1", 150, time.Second))
	s.start(m)
	s.run(5 * time.Second)
	s.stop(m)
	stopped := s.now()
	s.run(10 * time.Second)
	if m.hasVIPs || m.up {
		t.Fatal("a master nobody took over from kept its VIPs for good")
	}
	wantTime(t, "release", m.vipLog[len(m.vipLog)-1].at, stopped.Add(MasterDownInterval(Version3, 150, time.Second, 3)))
}

func TestMakeBeforeBreakOnFault(t *testing.T) {
	for _, immediate := range []bool{false, true} {
		t.Run(fmt.Sprint("immediate=", immediate), func(t *testing.T) {
			s := newSim(t, 1)
			m := s.add("m", handoverCfg("192.0.2.1", 150, 100*time.Millisecond))
			b := s.add("b", handoverCfg("192.0.2.2", 100, 100*time.Millisecond))
			s.start(m)
			s.start(b)
			s.run(2 * time.Second)
			s.handle(m, FaultRaised{Reason: "uplink down", Immediate: immediate})
			faulted := s.now()
			if m.hasVIPs == immediate {
				t.Fatalf("FAULT (immediate %v): the master holds its VIPs: %v", immediate, m.hasVIPs)
			}
			s.run(time.Second)
			s.checkOneMaster(b)
			if m.hasVIPs || m.state() != Fault {
				t.Fatalf("m is %v with VIPs %v", m.state(), m.hasVIPs)
			}
			if !immediate {
				noGap(t, faulted, s.now(), m, b)
			}
		})
	}
}

// TestFastHandover: a master whose priority falls below its backup's says so at once, and
// the backup takes over after its Skew_Time; the old master keeps the VIPs until then.
func TestFastHandover(t *testing.T) {
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprint("fast=", fast), func(t *testing.T) {
			const interval = 100 * time.Millisecond
			s := newSim(t, 1)
			m := s.add("m", handoverCfg("192.0.2.1", 150, interval))
			b := s.add("b", with(handoverCfg("192.0.2.2", 100, interval), func(c *Config) { c.FastHandover = fast }))
			s.start(m)
			s.start(b)
			s.run(2*time.Second + interval/3)
			sent := len(m.sent)
			s.setPriority(m, 90)
			lowered := s.now()
			if len(m.sent) != sent+1 || m.sent[sent].Priority != 90 {
				t.Fatalf("the lowered master did not advertise at once: %v", m.sent[sent:])
			}
			s.run(time.Second)
			s.checkOneMaster(b)
			want := lowered.Add(SkewTime(Version3, 100, interval))
			if !fast {
				// The lowered advert is discarded: the down timer runs from the last one
				// at 150, sent just before.
				want = m.sentAt[sent-1].Add(MasterDownInterval(Version3, 100, interval, 3))
			}
			wantTime(t, "takeover", mustTransition(t, b, Master), want)
			if fast && !strings.Contains(b.r.Status().Reason, "lowered its priority to 90") {
				t.Errorf("reason %q", b.r.Status().Reason)
			}
			noGap(t, lowered, s.now(), m, b)
		})
	}
}

// TestFastHandoverNotWithPreemptDelay: a preempt delay asks to wait; the lowered master
// is not a reason to hurry.
func TestFastHandoverNotWithPreemptDelay(t *testing.T) {
	const interval = 100 * time.Millisecond
	s := newSim(t, 1)
	m := s.add("m", handoverCfg("192.0.2.1", 150, interval))
	b := s.add("b", with(handoverCfg("192.0.2.2", 100, interval), func(c *Config) { c.PreemptDelay = time.Second }))
	s.start(m)
	s.start(b)
	s.run(2 * time.Second)
	s.setPriority(m, 90)
	lowered := s.now()
	s.run(3 * time.Second)
	s.checkOneMaster(b)
	if took := mustTransition(t, b, Master); took.Sub(lowered) < time.Second {
		t.Fatalf("b took over %v after, within its preempt delay", took.Sub(lowered))
	}
}

// splitPair returns a winner w (priority 150) and a loser l (100) at 100 ms adverts, both
// master after a partition of 2 s and extra, with or without StepDownAdvert.
func splitPair(t *testing.T, seed uint64, stepDown bool, extra time.Duration) (s *sim, w, l *simNode) {
	t.Helper()
	const interval = 100 * time.Millisecond
	s = newSim(t, seed)
	s.delay = time.Millisecond
	w = s.add("w", with(handoverCfg("192.0.2.1", 150, interval), func(c *Config) { c.StepDownAdvert = stepDown }))
	l = s.add("l", with(handoverCfg("192.0.2.2", 100, interval), func(c *Config) { c.StepDownAdvert = stepDown }))
	s.start(w)
	s.start(l)
	s.run(2 * time.Second)
	s.partition([]*simNode{w}, []*simNode{l})
	s.run(2*time.Second + extra)
	if w.state() != Master || l.state() != Master {
		t.Fatalf("not a split brain: %v %v", w.state(), l.state())
	}
	return s, w, l
}

// TestSplitBrainHeals: after a partition both are master; when they hear each other
// again the winner announces its VIPs within one advert interval, whichever advert
// crosses first, so that no client stays on the loser.
func TestSplitBrainHeals(t *testing.T) {
	const interval = 100 * time.Millisecond
	for _, stepDown := range []bool{true, false} {
		stranded := 0
		for phase := range 20 {
			s, w, _ := splitPair(t, uint64(phase), stepDown, time.Duration(phase)*interval/20) // at every phase
			announced := w.announces
			s.heal()
			s.run(interval + 2*s.delay)
			s.checkOneMaster(w)
			if w.announces == announced {
				stranded++
				continue
			}
			if w.splitBrains == 0 || w.r.Status().Stats.SplitBrainsHealed == 0 {
				t.Fatalf("phase %d: the heal was not counted", phase)
			}
		}
		if stepDown && stranded > 0 {
			t.Fatalf("%d of 20 heals left clients on the loser", stranded)
		}
		if !stepDown && stranded == 0 {
			t.Fatal("without the step-down advert every heal was announced: the test cannot tell")
		}
		t.Logf("step-down advert %v: %d of 20 heals not announced by the winner", stepDown, stranded)
	}
}

// lastChange returns when n last added or removed its VIPs; zero if never.
func lastChange(n *simNode) time.Time {
	if len(n.vipLog) == 0 {
		return time.Time{}
	}
	return n.vipLog[len(n.vipLog)-1].at
}

// lastAnnounced returns when n last announced its VIPs; zero if never.
func lastAnnounced(n *simNode) time.Time {
	if len(n.announcedAt) == 0 {
		return time.Time{}
	}
	return n.announcedAt[len(n.announcedAt)-1]
}

// TestSplitBrainHealAnnouncesAfterTheLoser: the loser of a healed split brain may
// announce its VIPs after the winner did, when their adverts crossed and the loser was
// slower to add its VIPs: the winner announces again once the loser has released them,
// and a second after the heal.
func TestSplitBrainHealAnnouncesAfterTheLoser(t *testing.T) {
	const interval = 100 * time.Millisecond
	for phase := range 20 {
		s, w, l := splitPair(t, uint64(phase), true, time.Duration(phase)*interval/20)
		before := len(w.announcedAt)
		s.heal()
		s.run(interval + healReannounce[0] + 2*s.delay)
		s.checkOneMaster(w)
		released := lastChange(l)
		if l.hasVIPs || released.IsZero() {
			t.Fatalf("phase %d: the loser did not release its VIPs", phase)
		}
		if last := lastAnnounced(w); last.Before(released) {
			t.Fatalf("phase %d: the winner last announced at %v, before the loser released the VIPs at %v",
				phase, last.Sub(epoch), released.Sub(epoch))
		}
		s.run(2 * time.Second)
		var after []time.Duration
		for _, at := range w.announcedAt[before:] {
			after = append(after, at.Sub(w.announcedAt[before]))
		}
		if want := fmt.Sprint([]time.Duration{0, healReannounce[0], healReannounce[1]}); fmt.Sprint(after) != want {
			t.Fatalf("phase %d: the winner announced at %v after the heal, want %v", phase, after, want)
		}
	}
}

// TestStepDownSaidAgain: a master that yields to a higher one it hears says so
// StepDownAdverts times: as it yields, as it releases its VIPs ReleaseLinger later, and
// one and two advert intervals after it yielded. The winner, which never heard it as
// master, hears a lower master and announces, even when the first step-down advert was
// lost.
func TestStepDownSaidAgain(t *testing.T) {
	const interval = 100 * time.Millisecond
	for _, stepDown := range []bool{true, false} {
		s, w, l := splitPair(t, 1, stepDown, 0)
		w.deaf = true // w hears nothing of l, which hears w again
		s.heal()
		for i := 0; i < 200 && l.state() == Master; i++ {
			s.run(time.Millisecond)
		}
		s.run(2 * s.delay) // the first step-down advert is lost on its way
		if l.state() != Backup || !l.r.Holding() {
			t.Fatalf("l is %v, holding %v: it did not yield to w", l.state(), l.r.Holding())
		}
		w.deaf = false // the next one is not
		announced := w.announces
		s.run(interval)
		s.checkOneMaster(w)
		if !stepDown {
			if w.announces != announced {
				t.Fatal("without step-down adverts the winner announced: the test cannot tell")
			}
			continue
		}
		if w.announces == announced || lastAnnounced(w).Before(lastChange(l)) {
			t.Fatalf("the winner did not announce after the loser released its VIPs at %v (announcements at %v)",
				lastChange(l).Sub(epoch), w.announcedAt)
		}
		s.run(time.Second)
		yielded := l.transitions[len(l.transitions)-1].At
		var got []time.Duration
		for i, a := range l.sent {
			if a.Priority == stepDownPriority {
				got = append(got, l.sentAt[i].Sub(yielded))
			}
		}
		want := []time.Duration{0, ReleaseLinger, interval, 2 * interval}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("step-down adverts %v after the yield, want %v", got, want)
		}
		if w.splitBrains != 1 {
			t.Fatalf("one split brain counted %d times", w.splitBrains)
		}
	}
}

// TestStartupGrace: two nodes started together elect the higher priority even when its
// process starts later than the other's by more than their skews differ.
func TestStartupGrace(t *testing.T) {
	const interval = 100 * time.Millisecond
	for _, grace := range []time.Duration{0, 400 * time.Millisecond} {
		t.Run(fmt.Sprint("grace=", grace), func(t *testing.T) {
			s := newSim(t, 1)
			hi := s.add("hi", with(handoverCfg("192.0.2.1", 150, interval), func(c *Config) { c.StartupGrace = grace }))
			lo := s.add("lo", with(handoverCfg("192.0.2.2", 100, interval), func(c *Config) { c.StartupGrace = grace }))
			s.start(lo)
			s.run(50 * time.Millisecond) // hi's process is 50 ms late
			s.start(hi)
			s.run(2 * time.Second)
			s.checkOneMaster(hi)
			_, loWasMaster := lo.lastTransitionTo(Master)
			if loWasMaster != (grace == 0) {
				t.Fatalf("lo was master: %v", loWasMaster)
			}
			if grace > 0 {
				// Alone, hi would take over at its first Master_Down_Interval with its skew
				// counted over the grace instead of the interval.
				want := MasterDownInterval(Version3, 150, interval, 3) + (256-150)*(grace-interval)/256
				if got := mustTransition(t, hi, Master).Sub(epoch.Add(50 * time.Millisecond)); got != want {
					t.Fatalf("hi took over %v after its start, want %v", got, want)
				}
			}
		})
	}
}

// TestStartupGraceFromLaunch: the grace counts from the process's launch, the
// Master_Down_Interval from when the router listened, and a router never takes over
// before it has listened for a whole Master_Down_Interval.
func TestStartupGraceFromLaunch(t *testing.T) {
	const (
		interval = 100 * time.Millisecond
		grace    = 250 * time.Millisecond
	)
	mdi := MasterDownInterval(Version3, 150, interval, 3)
	extra := (256 - 150) * (grace - interval) / 256
	at := func(d time.Duration) time.Time { return epoch.Add(d) }
	tests := []struct {
		name      string
		grace     time.Duration
		listening time.Duration // after the launch; the event comes 5 ms later
		launched  bool
		want      time.Duration // takeover, after the launch
	}{
		{"quick start", grace, 30 * time.Millisecond, true, mdi + extra},
		{"slow start", grace, 100 * time.Millisecond, true, 100*time.Millisecond + mdi},
		{"launch unknown", grace, 30 * time.Millisecond, false, 30*time.Millisecond + mdi + extra},
		{"no grace", 0, 30 * time.Millisecond, true, 30*time.Millisecond + mdi},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, 1)
			n := s.add("n", with(handoverCfg("192.0.2.1", 150, interval), func(c *Config) { c.StartupGrace = tt.grace }))
			ev := Startup{Listening: at(tt.listening)}
			if tt.launched {
				ev.Launched = epoch
			}
			s.run(tt.listening + 5*time.Millisecond)
			s.startWith(n, ev)
			s.run(2 * time.Second)
			if got := mustTransition(t, n, Master).Sub(epoch); got != tt.want {
				t.Errorf("took over %v after the launch, want %v", got, tt.want)
			}
		})
	}
	// Launched together, the higher priority 60 ms slower to listen: counted from the
	// launch, the grace still elects it; counted from listening, it would not.
	for _, launched := range []bool{true, false} {
		t.Run(fmt.Sprint("pair/launched=", launched), func(t *testing.T) {
			s := newSim(t, 1)
			hi := s.add("hi", with(handoverCfg("192.0.2.1", 150, interval), func(c *Config) { c.StartupGrace = grace }))
			lo := s.add("lo", with(handoverCfg("192.0.2.2", 100, interval), func(c *Config) { c.StartupGrace = grace }))
			evLo, evHi := Startup{}, Startup{Listening: at(60 * time.Millisecond)}
			if launched {
				evLo.Launched, evHi.Launched = epoch, epoch
			}
			s.startWith(lo, evLo)
			s.run(60 * time.Millisecond)
			s.startWith(hi, evHi)
			s.run(2 * time.Second)
			s.checkOneMaster(hi)
			if _, loWasMaster := lo.lastTransitionTo(Master); loWasMaster == launched {
				t.Fatalf("launch known %v: lo was master %v", launched, loWasMaster)
			}
		})
	}
}

// TestStartupGraceWait: a router alone takes over after its first Master_Down_Interval
// with its Skew_Time counted over the grace when that is longer than the interval, and
// as the RFC says otherwise.
func TestStartupGraceWait(t *testing.T) {
	const grace = 400 * time.Millisecond
	tests := []struct {
		version  Version
		interval time.Duration
		extra    time.Duration
	}{
		{Version3, 10 * time.Millisecond, 150 * (grace - 10*time.Millisecond) / 256},
		{Version3, 100 * time.Millisecond, 150 * (grace - 100*time.Millisecond) / 256},
		{Version3, 400 * time.Millisecond, 0},
		{Version3, time.Second, 0},
		{Version2, time.Second, 0}, // VRRPv2 counts its skew over a second
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("v%d/%v", tt.version, tt.interval), func(t *testing.T) {
			s := newSim(t, 1)
			n := s.add("n", with(handoverCfg("192.0.2.1", 106, tt.interval), func(c *Config) {
				c.Version, c.StartupGrace = tt.version, grace
			}))
			s.start(n)
			s.run(5 * time.Second)
			want := MasterDownInterval(tt.version, 106, tt.interval, 3) + tt.extra
			if got := mustTransition(t, n, Master).Sub(epoch); got != want {
				t.Errorf("took over %v after its start, want %v", got, want)
			}
		})
	}
}

// TestHigherMasterAdvertisingLess: a split brain heals between a master that advertises
// every 2 s and ignores lower priorities and one that advertises every 100 ms. The
// backup that heard both follows the higher one; it does not take over when the lower
// one steps down, which would start a cycle of takeovers that never settles.
func TestHigherMasterAdvertisingLess(t *testing.T) {
	const fast, slow = 100 * time.Millisecond, 2 * time.Second
	for phase := range 20 {
		s := newSim(t, uint64(phase))
		// Long enough that mid's adverts sent while hi's is on its way reach lo after it.
		s.delay = 20 * time.Millisecond
		hi := s.add("hi", with(handoverCfg("fe80::1", 151, slow), func(c *Config) { c.LowerPriorityNoAdvert = true }))
		mid := s.add("mid", with(handoverCfg("fe80::2", 81, fast), func(c *Config) { c.Preempt = false }))
		lo := s.add("lo", handoverCfg("fe80::3", 36, fast))
		s.start(mid)
		s.start(lo)
		s.partition([]*simNode{hi}, []*simNode{mid, lo})
		s.run(time.Duration(phase) * fast / 20) // hi's adverts at every phase of mid's
		s.start(hi)
		s.run(8 * time.Second)
		if hi.state() != Master || mid.state() != Master {
			t.Fatalf("phase %d: not a split brain: %v %v", phase, hi.state(), mid.state())
		}
		healed := s.now()
		s.heal()
		s.run(4 * slow)
		s.checkOneMaster(hi)
		if at, ok := lo.lastTransitionTo(Master); ok && at.After(healed) {
			t.Fatalf("phase %d: lo took over %v after the heal", phase, at.Sub(healed))
		}
	}
}

// TestPreemptionIsNotSplitBrain: a router that preempts a lower master answers the
// adverts that crossed its own, but that is a preemption, not a healed split brain. A
// lower master that never hears it is, reported once per interval at most.
func TestPreemptionIsNotSplitBrain(t *testing.T) {
	const interval = 100 * time.Millisecond
	for phase := range 10 {
		s := newSim(t, uint64(phase))
		s.delay = 30 * time.Millisecond // lo's adverts cross hi's first ones
		lo := s.add("lo", handoverCfg("192.0.2.2", 100, interval))
		hi := s.add("hi", handoverCfg("192.0.2.1", 150, interval))
		s.start(lo)
		s.run(time.Second + time.Duration(phase)*interval/10)
		s.start(hi)
		s.run(2 * time.Second)
		s.checkOneMaster(hi)
		if hi.splitBrains != 0 {
			t.Fatalf("phase %d: the preemption counted as %d split brains", phase, hi.splitBrains)
		}
	}

	s := newSim(t, 1)
	s.delay = time.Millisecond
	hi := s.add("hi", handoverCfg("192.0.2.1", 150, interval))
	deaf := s.add("deaf", handoverCfg("192.0.2.2", 100, interval))
	s.start(hi)
	s.run(time.Second)
	deaf.deaf = true
	s.start(deaf)
	s.run(time.Second) // deaf becomes master; then hi hears it, every interval, for 1 s
	if got := hi.splitBrains; got < 5 || got > 11 {
		t.Fatalf("a deaf lower master was reported %d times, want one per interval", got)
	}
}

func TestMasterReportsLowerPriorityOncePerInterval(t *testing.T) {
	for _, noAdvert := range []bool{false, true} {
		t.Run(fmt.Sprint("lower_prio_no_advert=", noAdvert), func(t *testing.T) {
			s := newSim(t, 3)
			m := s.add("m", with(node("192.0.2.1", 150), func(c *Config) {
				c.ReportLowerPriority, c.LowerPriorityNoAdvert = true, noAdvert
			}))
			s.start(m)
			s.run(5 * time.Second)
			// A lower-priority node that believes itself master advertises ten times a
			// second for a second: the master reports it once per its interval.
			low := s.add("low", with(node("192.0.2.2", 100), func(c *Config) { c.AdvertInterval = 100 * time.Millisecond }))
			s.start(low)
			s.handle(low, TimerFired{})
			for i := range 10 {
				s.at(s.now().Add(time.Duration(i)*100*time.Millisecond), func() {
					s.apply(low, []Action{low.r.sendAdvert(100)})
				})
			}
			s.run(1050 * time.Millisecond)
			if m.lowerHeard < 1 || m.lowerHeard > 2 {
				t.Fatalf("the master reported %d lower priorities in a second, want 1 or 2", m.lowerHeard)
			}
		})
	}
}

// TestTimersCountFromArrival: a backup's Master_Down_Timer and Skew_Time count from when
// the advert arrived (Meta.Received), up to ArrivalCredit before it was handled; an
// arrival unknown, in the future, or before the timer's last start counts as the
// handling.
func TestTimersCountFromArrival(t *testing.T) {
	const interval = time.Second
	for _, tc := range []struct {
		name   string
		known  bool
		early  time.Duration // how long before its handling the advert arrived
		credit time.Duration // what the deadline moves forward by
	}{
		{"unknown", false, 0, 0},
		{"in the future", true, -2 * time.Millisecond, 0},
		{"0.6 ms before", true, 600 * time.Microsecond, 600 * time.Microsecond},
		{"5 ms before", true, 5 * time.Millisecond, ArrivalCredit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: epoch}
			cfg := with(handoverCfg("192.0.2.2", 100, interval), func(c *Config) {
				c.Version, c.VRID, c.VIPs = Version3, 51, addrs("192.0.2.100")
			})
			r, err := NewRouter(cfg, clock)
			if err != nil {
				t.Fatal(err)
			}
			r.Handle(Startup{})
			receive := func(prio uint8) time.Time {
				t.Helper()
				master := netip.MustParseAddr("192.0.2.1")
				adv := Advertisement{Version: cfg.Version, Type: TypeAdvertisement, VRID: cfg.VRID, Priority: prio,
					Interval: interval, Addresses: cfg.VIPs}
				pkt, err := adv.Encode(master, GroupIPv4, ChecksumPseudoHeader)
				if err != nil {
					t.Fatal(err)
				}
				m := Meta{Src: master, Dst: GroupIPv4, TTL: 255}
				if tc.known {
					m.Received = clock.now.Add(-tc.early)
				}
				r.Receive(pkt, m)
				d, ok := r.NextDeadline()
				if !ok {
					t.Fatal("no deadline after an advert")
				}
				return d
			}
			clock.now = clock.now.Add(100 * time.Millisecond)
			if got, want := receive(150), clock.now.Add(r.MasterDownInterval()-tc.credit); !got.Equal(want) {
				t.Errorf("Master_Down_Timer ends at %v, want %v", got.Sub(epoch), want.Sub(epoch))
			}
			clock.now = clock.now.Add(interval)
			if got, want := receive(90), clock.now.Add(r.SkewTime()-tc.credit); !got.Equal(want) {
				t.Errorf("a lowered master: takeover at %v, want %v", got.Sub(epoch), want.Sub(epoch))
			}
		})
	}
	t.Run("before the timer's start", func(t *testing.T) {
		r := &Router{downFrom: epoch}
		m := Meta{Received: epoch.Add(-time.Millisecond)}
		if got := r.arrival(epoch.Add(500*time.Microsecond), m); !got.Equal(epoch) {
			t.Errorf("arrival %v, want the timer's start", got.Sub(epoch))
		}
	})
}

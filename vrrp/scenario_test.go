package vrrp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Scenarios on the simulated network, asserting exact simulated times.

func node(addr string, prio uint8) Config {
	return Config{Address: netip.MustParseAddr(addr), Priority: prio, Preempt: true}
}

func with(c Config, f func(*Config)) Config { f(&c); return c }

func at(d time.Duration) time.Time { return epoch.Add(d) }

func mustTransition(t *testing.T, n *simNode, to State) time.Time {
	t.Helper()
	ts, ok := n.lastTransitionTo(to)
	if !ok {
		t.Fatalf("%s never became %v; transitions %v", n.name, to, n.transitions)
	}
	return ts
}

func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s at %v, want exactly %v", what, got.Sub(epoch), want.Sub(epoch))
	}
}

func TestElectionHighestPriorityWins(t *testing.T) {
	for _, v := range []Version{Version2, Version3} {
		t.Run(fmt.Sprint("v", v), func(t *testing.T) {
			s := newSim(t, 1)
			a := s.add("a", with(node("192.0.2.1", 100), func(c *Config) { c.Version = v }))
			b := s.add("b", with(node("192.0.2.2", 200), func(c *Config) { c.Version = v }))
			c := s.add("c", with(node("192.0.2.3", 150), func(c *Config) { c.Version = v }))
			for _, n := range s.nodes {
				s.start(n)
			}
			s.run(20 * time.Second)
			s.checkOneMaster(b)
			wantTime(t, "b master", mustTransition(t, b, Master), at(MasterDownInterval(v, 200, time.Second, 3)))
			for _, n := range []*simNode{a, c} {
				if _, ok := n.lastTransitionTo(Master); ok {
					t.Errorf("%s was master on the way", n.name)
				}
			}
			if got, want := b.r.Status().Reason, "master down timer expired (3.219 s without adverts since start)"; got != want {
				t.Errorf("reason %q, want %q", got, want)
			}
			if st := a.r.Status(); st.Master != b.cfg.Address || st.MasterPriority != 200 {
				t.Errorf("a sees master %v priority %d", st.Master, st.MasterPriority)
			}
		})
	}
}

func TestEqualPriorityHigherAddressWins(t *testing.T) {
	t.Run("started together", func(t *testing.T) {
		s := newSim(t, 1)
		s.delay = time.Millisecond // both timers expire before either advert arrives
		low := s.add("low", node("192.0.2.1", 100))
		high := s.add("high", node("192.0.2.2", 100))
		s.start(low)
		s.start(high)
		s.run(10 * time.Second)
		s.checkOneMaster(high)
		// Both timers expire together; both become master and the lower address yields
		// at once on the higher one's first advert.
		wantTime(t, "low back to backup", mustTransition(t, low, Backup), at(MasterDownInterval(Version3, 100, time.Second, 3)+s.delay))
		if got := low.r.Status().Reason; got != "equal priority 100 from higher address 192.0.2.2" {
			t.Errorf("low's reason %q", got)
		}
	})
	t.Run("lower address master stays", func(t *testing.T) {
		s := newSim(t, 1)
		low := s.add("low", node("192.0.2.1", 100))
		high := s.add("high", node("192.0.2.2", 100))
		s.start(low)
		s.run(10 * time.Second)
		s.start(high)
		s.run(60 * time.Second)
		s.checkOneMaster(low) // a backup never applies the address tie-break
	})
	t.Run("IPv6 compares link-local sources", func(t *testing.T) {
		s := newSim(t, 1)
		s.delay = time.Millisecond
		low := s.add("low", node("fe80::1", 100))
		high := s.add("high", node("fe80::2", 100))
		s.start(high)
		s.start(low)
		s.run(10 * time.Second)
		s.checkOneMaster(high)
	})
}

// figures collects the simulated timings reported by the failover tests.
type figure struct {
	version          Version
	interval         time.Duration
	priority         uint8
	failover, handed time.Duration
}

func TestCrashFailoverTakesMasterDownInterval(t *testing.T) {
	cases := []struct {
		v        Version
		interval time.Duration
	}{
		{Version2, time.Second}, {Version2, 3 * time.Second},
		{Version3, time.Second}, {Version3, 100 * time.Millisecond}, {Version3, 10 * time.Millisecond}, {Version3, 2500 * time.Millisecond},
	}
	var figs []figure
	for _, c := range cases {
		for _, prio := range []uint8{1, 100, 254} {
			name := fmt.Sprintf("v%d/%v/priority %d", c.v, c.interval, prio)
			t.Run(name, func(t *testing.T) {
				cfg := func(addr string, p uint8) Config {
					return with(node(addr, p), func(cf *Config) { cf.Version, cf.AdvertInterval = c.v, c.interval })
				}
				mp := uint8(255)
				if prio < 200 {
					mp = 200
				}
				s := newSim(t, 1)
				m := s.add("m", cfg("192.0.2.1", mp))
				b := s.add("b", cfg("192.0.2.2", prio))
				s.start(m)
				s.start(b)
				s.run(5*MasterDownInterval(c.v, prio, c.interval, 3) + c.interval/3)
				s.checkOneMaster(m)
				lastAdvert := s.lastSent(m)
				s.crash(m)
				crashed := s.now()
				s.run(2 * MasterDownInterval(c.v, prio, c.interval, 3))
				s.checkOneMaster(b)
				took := mustTransition(t, b, Master)
				want := MasterDownInterval(c.v, prio, c.interval, 3)
				wantTime(t, "takeover", took, lastAdvert.Add(want))
				if !strings.HasPrefix(b.r.Status().Reason, "master down timer expired ("+seconds(want)+" without adverts from 192.0.2.1)") {
					t.Errorf("reason %q", b.r.Status().Reason)
				}
				if gap := took.Sub(crashed); gap > want {
					t.Errorf("VIPs missing for %v, more than %v", gap, want)
				}
				figs = append(figs, figure{version: c.v, interval: c.interval, priority: prio, failover: want})
			})
		}
	}
	if !t.Failed() {
		var sb strings.Builder
		for _, f := range figs {
			fmt.Fprintf(&sb, "  v%d %-6v priority %3d: crash failover %v\n", f.version, f.interval, f.priority, f.failover)
		}
		t.Logf("simulated crash failover (last advert to takeover):\n%s", sb.String())
	}
}

// lastSent returns when n last sent an advert. Without a delay on the links, that is
// when its peers last heard it.
func (s *sim) lastSent(n *simNode) time.Time {
	s.t.Helper()
	if len(n.sentAt) == 0 {
		s.t.Fatalf("%s sent nothing", n.name)
	}
	return n.sentAt[len(n.sentAt)-1]
}

// firstSentAfter returns when n first sent an advert at or after t.
func (s *sim) firstSentAfter(n *simNode, t time.Time) time.Time {
	s.t.Helper()
	for _, at := range n.sentAt {
		if !at.Before(t) {
			return at
		}
	}
	s.t.Fatalf("%s sent nothing after %v", n.name, t.Sub(epoch))
	return time.Time{}
}

func TestGracefulHandoverTakesSkewTime(t *testing.T) {
	var figs []figure
	for _, v := range []Version{Version2, Version3} {
		intervals := []time.Duration{time.Second, 100 * time.Millisecond, 10 * time.Millisecond}
		if v == Version2 {
			intervals = []time.Duration{time.Second, 5 * time.Second}
		}
		for _, interval := range intervals {
			for _, prio := range []uint8{1, 100, 254} {
				t.Run(fmt.Sprintf("v%d/%v/priority %d", v, interval, prio), func(t *testing.T) {
					cfg := func(addr string, p uint8) Config {
						return with(node(addr, p), func(c *Config) { c.Version, c.AdvertInterval = v, interval })
					}
					s := newSim(t, 1)
					m := s.add("m", cfg("192.0.2.1", 255))
					b := s.add("b", cfg("192.0.2.2", prio))
					s.start(m)
					s.start(b)
					s.run(10*interval + interval/2)
					s.stop(m)
					stopped := s.now()
					if last := m.sent[len(m.sent)-1]; last.Priority != 0 {
						t.Fatalf("last advert of the stopped master has priority %d", last.Priority)
					}
					s.run(2 * time.Second)
					s.checkOneMaster(b)
					want := SkewTime(v, prio, interval)
					wantTime(t, "takeover", mustTransition(t, b, Master), stopped.Add(want))
					if got := b.r.Status().Reason; got != "master 192.0.2.1 left (priority 0), took over after skew time "+seconds(want) {
						t.Errorf("reason %q", got)
					}
					figs = append(figs, figure{version: v, interval: interval, priority: prio, handed: want,
						failover: MasterDownInterval(v, prio, interval, 3)})
				})
			}
		}
	}
	if !t.Failed() {
		var sb strings.Builder
		for _, f := range figs {
			fmt.Fprintf(&sb, "  v%d %-6v priority %3d: crash failover %-12v graceful hand-over %v\n", f.version, f.interval, f.priority, f.failover, f.handed)
		}
		t.Logf("simulated timings (failover: last advert to takeover; hand-over: priority 0 to takeover):\n%s", sb.String())
	}
}

func TestPreemptBack(t *testing.T) {
	s := newSim(t, 1)
	hi := s.add("hi", node("192.0.2.1", 200))
	lo := s.add("lo", node("192.0.2.2", 100))
	s.start(hi)
	s.start(lo)
	s.run(10 * time.Second)
	s.crash(hi)
	s.run(10 * time.Second)
	s.checkOneMaster(lo)
	s.start(hi)
	restarted := s.now()
	s.run(10 * time.Second)
	s.checkOneMaster(hi)
	// hi discards lo's lower adverts and takes over when its first down timer expires.
	wantTime(t, "hi back", mustTransition(t, hi, Master), restarted.Add(MasterDownInterval(Version3, 200, time.Second, 3)))
	if got := hi.r.Status().Reason; !strings.HasPrefix(got, "preempted 192.0.2.2: its priority 100 is below ours 200") {
		t.Errorf("reason %q", got)
	}
	wantTime(t, "lo steps down", mustTransition(t, lo, Backup), restarted.Add(MasterDownInterval(Version3, 200, time.Second, 3)))
}

func TestNoPreemptStaysBackup(t *testing.T) {
	for _, prio := range []uint8{200, 254} {
		s := newSim(t, 1)
		hi := s.add("hi", with(node("192.0.2.1", prio), func(c *Config) { c.Preempt = false }))
		lo := s.add("lo", node("192.0.2.2", 100))
		s.start(lo)
		s.run(10 * time.Second)
		s.start(hi)
		s.run(time.Hour)
		s.checkOneMaster(lo)
		if got := lo.r.Status().Stats.AdvertsSent; got < 3500 {
			t.Fatalf("lo sent %d adverts in an hour", got)
		}
		// When the master goes, the nopreempt backup takes over as usual.
		s.crash(lo)
		s.run(10 * time.Second)
		s.checkOneMaster(hi)
	}
}

func TestPreemptDelay(t *testing.T) {
	const delay = 10 * time.Second
	s := newSim(t, 1)
	hi := s.add("hi", with(node("192.0.2.1", 200), func(c *Config) { c.PreemptDelay = delay }))
	lo := s.add("lo", node("192.0.2.2", 100))
	s.start(lo)
	s.run(10*time.Second + 500*time.Millisecond)
	s.start(hi)
	restarted := s.now()
	s.run(30 * time.Second)
	s.checkOneMaster(hi)
	// lo's adverts, one a second, are accepted for delay after the first one, then
	// discarded; hi takes over Master_Down_Interval after the last accepted one.
	firstLower := s.firstSentAfter(lo, restarted)
	lastAccepted := firstLower.Add(delay - time.Second)
	wantTime(t, "hi preempts", mustTransition(t, hi, Master), lastAccepted.Add(MasterDownInterval(Version3, 200, time.Second, 3)))
	if took := mustTransition(t, hi, Master); took.Sub(restarted) < delay {
		t.Fatalf("preempted %v after restart, before the delay %v", took.Sub(restarted), delay)
	}
}

func TestVersion3LearnsMasterInterval(t *testing.T) {
	s := newSim(t, 1)
	slow := s.add("slow", with(node("192.0.2.1", 200), func(c *Config) { c.AdvertInterval = 2 * time.Second }))
	fast := s.add("fast", with(node("192.0.2.2", 100), func(c *Config) { c.AdvertInterval = 100 * time.Millisecond }))
	s.start(slow)
	s.start(fast)
	s.run(30 * time.Second)
	s.checkOneMaster(slow)
	st := fast.r.Status()
	if st.MasterAdverInterval != 2*time.Second {
		t.Fatalf("fast learned %v, want 2s", st.MasterAdverInterval)
	}
	want := MasterDownInterval(Version3, 100, 2*time.Second, 3) // 7.21875 s
	if st.MasterDownInterval != want || want != 7218750*time.Microsecond {
		t.Fatalf("Master_Down_Interval %v, want %v", st.MasterDownInterval, want)
	}
	last := s.lastSent(slow)
	s.crash(slow)
	s.run(20 * time.Second)
	s.checkOneMaster(fast)
	wantTime(t, "fast takes over", mustTransition(t, fast, Master), last.Add(want))
	// As master it advertises its own interval again.
	if got := fast.sent[len(fast.sent)-1].Interval; got != 100*time.Millisecond {
		t.Fatalf("fast advertises %v", got)
	}
	if got := fast.r.Status().MasterAdverInterval; got != 100*time.Millisecond {
		t.Fatalf("fast's Master_Adver_Interval %v as master", got)
	}
}

func TestVersion2IntervalMismatchGivesTwoMasters(t *testing.T) {
	s := newSim(t, 1)
	a := s.add("a", with(node("192.0.2.1", 200), func(c *Config) { c.Version = Version2; c.AdvertInterval = 2 * time.Second }))
	b := s.add("b", with(node("192.0.2.2", 100), func(c *Config) { c.Version = Version2 }))
	s.start(a)
	s.start(b)
	s.run(30 * time.Second)
	if got := len(s.masters()); got != 2 {
		t.Fatalf("%d masters, want 2 (v2 has no interval learning)", got)
	}
	st := b.r.Status().Stats
	if st.Drops[ReasonInterval] == 0 || st.LastDrop.Reason != ReasonInterval || st.LastDrop.Detail != "advert interval 2s, expected 1s" {
		t.Fatalf("b's drops %v, last %+v", st.Drops, st.LastDrop)
	}
}

func TestPartitionHeals(t *testing.T) {
	for _, interval := range []time.Duration{time.Second, 100 * time.Millisecond, 10 * time.Millisecond} {
		t.Run(interval.String(), func(t *testing.T) {
			s := newSim(t, 1)
			s.delay = interval / 20
			hi := s.add("hi", with(node("192.0.2.1", 200), func(c *Config) { c.AdvertInterval = interval }))
			lo := s.add("lo", with(node("192.0.2.2", 100), func(c *Config) { c.AdvertInterval = interval }))
			s.start(hi)
			s.start(lo)
			s.run(10 * interval * 10)
			s.partition([]*simNode{hi}, []*simNode{lo})
			s.run(10 * interval * 10)
			if len(s.masters()) != 2 {
				t.Fatalf("%d masters during the partition, want 2", len(s.masters()))
			}
			s.heal()
			healed := s.now()
			s.run(interval + s.delay)
			s.checkOneMaster(hi)
			if took := mustTransition(t, lo, Backup); took.Sub(healed) > interval+s.delay {
				t.Fatalf("lo stepped down %v after the heal", took.Sub(healed))
			}
		})
	}
}

func TestOwnerBecomesMasterAtOnce(t *testing.T) {
	s := newSim(t, 1)
	b := s.add("b", node("192.0.2.2", 100))
	s.start(b)
	s.run(10 * time.Second)
	o := s.add("owner", node("192.0.2.1", 255))
	s.start(o)
	started := s.now()
	wantTime(t, "owner master", mustTransition(t, o, Master), started)
	if got := o.r.Status().Reason; got != "started: address owner (priority 255)" {
		t.Errorf("reason %q", got)
	}
	s.run(time.Millisecond)
	s.checkOneMaster(o)
	wantTime(t, "b yields", mustTransition(t, b, Backup), started)
}

func TestFault(t *testing.T) {
	s := newSim(t, 1)
	a := s.add("a", node("192.0.2.1", 200))
	b := s.add("b", node("192.0.2.2", 100))
	s.start(a)
	s.start(b)
	s.run(10 * time.Second)
	s.checkOneMaster(a)
	s.handle(a, FaultRaised{Reason: "interface eth0 down"})
	faulted := s.now()
	if last := a.sent[len(a.sent)-1]; last.Priority != 0 {
		t.Fatalf("a master entering fault sent priority %d, want 0", last.Priority)
	}
	s.run(10 * time.Second)
	s.checkOneMaster(b)
	wantTime(t, "b takes over", mustTransition(t, b, Master), faulted.Add(SkewTime(Version3, 100, time.Second)))
	if st := a.r.Status(); st.State != Fault || st.Reason != "fault: interface eth0 down" {
		t.Fatalf("a: %v %q", st.State, st.Reason)
	}
	s.handle(a, FaultCleared{Reason: "interface eth0 up"})
	cleared := s.now()
	s.run(10 * time.Second)
	s.checkOneMaster(a)
	wantTime(t, "a preempts", mustTransition(t, a, Master), cleared.Add(MasterDownInterval(Version3, 200, time.Second, 3)))
	// A fault raised before start keeps the router in Fault until it clears.
	c := s.add("c", node("192.0.2.3", 250))
	c.r, _ = NewRouter(c.cfg, s.clock)
	c.up = true
	s.handle(c, FaultRaised{Reason: "script failed"})
	s.handle(c, Startup{})
	s.run(10 * time.Second)
	if c.state() != Fault {
		t.Fatalf("c is %v", c.state())
	}
	s.checkOneMaster(a)
}

func TestMasterPriorityDropLetsPreemptingPeerTakeOver(t *testing.T) {
	s := newSim(t, 1)
	m := s.add("m", node("192.0.2.1", 200))
	b := s.add("b", node("192.0.2.2", 150))
	s.start(m)
	s.start(b)
	s.run(10*time.Second + 300*time.Millisecond)
	lastAtOldPriority := s.lastSent(m)
	s.setPriority(m, 90)
	s.run(10 * time.Second)
	s.checkOneMaster(b)
	wantTime(t, "b takes over", mustTransition(t, b, Master), lastAtOldPriority.Add(MasterDownInterval(Version3, 150, time.Second, 3)))
	if got := m.r.Status().Reason; got != "higher priority 150 from 192.0.2.2" {
		t.Errorf("m's reason %q", got)
	}
}

func TestBackupPriorityChangeMovesDownTimer(t *testing.T) {
	s := newSim(t, 1)
	m := s.add("m", node("192.0.2.1", 255))
	b := s.add("b", node("192.0.2.2", 1))
	s.start(m)
	s.start(b)
	s.run(5*time.Second + 100*time.Millisecond)
	last := s.lastSent(m)
	s.crash(m)
	s.run(time.Second)
	s.setPriority(b, 254) // Skew_Time falls from 0.996 s to 0.008 s
	s.run(10 * time.Second)
	wantTime(t, "takeover", mustTransition(t, b, Master), last.Add(MasterDownInterval(Version3, 254, time.Second, 3)))
}

func TestMasterAnswersLowerPriority(t *testing.T) {
	for _, noAdvert := range []bool{false, true} {
		t.Run(fmt.Sprint("lower_prio_no_advert=", noAdvert), func(t *testing.T) {
			s := newSim(t, 1)
			hi := s.add("hi", with(node("192.0.2.1", 200), func(c *Config) { c.LowerPriorityNoAdvert = noAdvert }))
			lo := s.add("lo", node("192.0.2.2", 100))
			s.start(hi)
			s.start(lo)
			s.run(5 * time.Second)
			s.partition([]*simNode{hi}, []*simNode{lo})
			s.run(5*time.Second + 500*time.Millisecond)
			s.heal()
			sent, announced := len(hi.sent), hi.announces
			// hi's adverts go out at x.219 s, lo's (master since 7.828 s) at x.828 s: lo's
			// next one reaches hi at 10.828 s, before hi's own timer at 11.219 s.
			s.run(600 * time.Millisecond)
			answered := len(hi.sent) - sent
			if want := map[bool]int{false: 1, true: 0}[noAdvert]; answered != want {
				t.Fatalf("hi sent %d adverts, want %d", answered, want)
			}
			// Once: without StepDownAdvert, no second announcement after the heal.
			if got, want := hi.announces-announced, map[bool]int{false: 1, true: 0}[noAdvert]; got != want {
				t.Fatalf("hi announced %d times, want %d", got, want)
			}
			s.run(2 * time.Second)
			s.checkOneMaster(hi)
		})
	}
}

func TestDownTimerAdverts(t *testing.T) {
	s := newSim(t, 1)
	m := s.add("m", node("192.0.2.1", 200))
	b := s.add("b", with(node("192.0.2.2", 100), func(c *Config) { c.DownTimerAdverts = 5 }))
	s.start(m)
	s.start(b)
	s.run(10 * time.Second)
	last := s.lastSent(m)
	s.crash(m)
	s.run(10 * time.Second)
	wantTime(t, "takeover", mustTransition(t, b, Master), last.Add(5*time.Second+SkewTime(Version3, 100, time.Second)))
}

func TestUnicast(t *testing.T) {
	for _, fam := range []struct{ a, b, x, vip string }{
		{"192.0.2.1", "192.0.2.2", "192.0.2.9", "192.0.2.100"},
		{"2001:db8::1", "2001:db8::2", "2001:db8::9", "2001:db8::100"},
	} {
		s := newSim(t, 1)
		uc := func(self, peer string, p uint8) Config {
			return with(node(self, p), func(c *Config) {
				c.Unicast, c.CheckPeers, c.Peers = true, true, addrs(peer)
				c.VIPs = addrs(fam.vip)
			})
		}
		a := s.add("a", uc(fam.a, fam.b, 200))
		b := s.add("b", uc(fam.b, fam.a, 100))
		// A stranger on the segment sending to b is ignored: not a configured peer.
		x := s.add("x", uc(fam.x, fam.b, 250))
		s.start(a)
		s.start(b)
		s.start(x)
		s.run(20 * time.Second)
		if st := b.r.Status(); st.State != Backup || st.Master != a.cfg.Address || st.Stats.Drops[ReasonSource] == 0 {
			t.Fatalf("%s: b is %v following %v, source drops %d", fam.a, st.State, st.Master, st.Stats.Drops[ReasonSource])
		}
		if a.state() != Master {
			t.Fatalf("a is %v", a.state())
		}
	}
}

func TestReconfigureKeepsState(t *testing.T) {
	s := newSim(t, 1)
	m := s.add("m", node("192.0.2.1", 200))
	b := s.add("b", node("192.0.2.2", 100))
	s.start(m)
	s.start(b)
	s.run(10*time.Second + 500*time.Millisecond)
	s.checkOneMaster(m)
	sent := len(m.sent)
	newVIPs := addrs("192.0.2.100", "192.0.2.101")
	mc := with(m.cfg, func(c *Config) { c.VIPs = newVIPs; c.AdvertInterval = 500 * time.Millisecond })
	s.handle(m, Reconfigure{Config: mc})
	if len(m.sent) != sent+1 || len(m.sent[sent].Addresses) != 1 {
		t.Fatalf("master did not send one advert with the old VIPs before applying: %v", m.sent[sent:])
	}
	m.cfg = mc
	bc := with(b.cfg, func(c *Config) { c.VIPs = newVIPs; c.Priority = 150 })
	s.handle(b, Reconfigure{Config: bc})
	b.cfg = bc
	s.run(30 * time.Second)
	s.checkOneMaster(m)
	if n := len(m.transitions); n != 2 {
		t.Fatalf("m made %d transitions, want 2 (init, master)", n)
	}
	if got := m.sent[len(m.sent)-1]; len(got.Addresses) != 2 || got.Interval != 500*time.Millisecond {
		t.Fatalf("m advertises %v every %v", got.Addresses, got.Interval)
	}
	st := b.r.Status()
	if st.Priority != 150 || st.MasterAdverInterval != 500*time.Millisecond || st.Stats.Drops[ReasonAddressList] > 0 {
		t.Fatalf("b: priority %d, learned %v, address list drops %d", st.Priority, st.MasterAdverInterval, st.Stats.Drops[ReasonAddressList])
	}
	// An invalid configuration changes nothing.
	if acts := b.r.Handle(Reconfigure{Config: Config{}}); acts != nil || b.r.Config().Priority != 150 {
		t.Fatalf("invalid reconfigure: %v", acts)
	}
}

// TestMasterAnswersAFloodWithinBounds: a host flooding lower-priority adverts gets a few
// answers per advert interval and one announcement, not one of each per packet.
func TestMasterAnswersAFloodWithinBounds(t *testing.T) {
	clock := &fakeClock{now: epoch}
	cfg := with(node("192.0.2.1", 200), func(c *Config) {
		c.Version, c.VRID, c.AdvertInterval, c.VIPs = Version3, 51, time.Second, addrs("192.0.2.100")
	})
	r, err := NewRouter(cfg, clock)
	if err != nil {
		t.Fatal(err)
	}
	r.Handle(Startup{})
	clock.now = clock.now.Add(r.MasterDownInterval())
	r.Handle(TimerFired{})
	if r.State() != Master {
		t.Fatalf("router is %v", r.State())
	}
	flood := Advertisement{Version: cfg.Version, Type: TypeAdvertisement, VRID: cfg.VRID, Priority: 100,
		Interval: cfg.AdvertInterval, Addresses: cfg.VIPs}
	answers, announces := 0, 0
	for i := range 1000 {
		src := netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i%200)})
		pkt, err := flood.Encode(src, GroupIPv4, ChecksumPseudoHeader)
		if err != nil {
			t.Fatal(err)
		}
		clock.now = clock.now.Add(cfg.AdvertInterval / 100) // 1000 packets over 10 intervals
		for _, a := range r.Receive(pkt, Meta{Src: src, Dst: GroupIPv4, TTL: 255}) {
			switch a.(type) {
			case SendAdvert:
				answers++
			case AnnounceVIPs:
				announces++
			}
		}
	}
	// A burst of 8, then 8 per interval; one announcement per interval.
	if answers < 80 || answers > 88 || announces != 10 {
		t.Fatalf("%d answers and %d announcements to 1000 lower-priority adverts over 10 intervals, want 80 to 88 and 10",
			answers, announces)
	}
}

// TestTransitionsCounted: the router counts its state changes by the state entered, as
// they happened: backup at start, master when its master crashed, backup when preempted.
func TestTransitionsCounted(t *testing.T) {
	s := newSim(t, 1)
	hi := s.add("hi", node("192.0.2.1", 200))
	lo := s.add("lo", node("192.0.2.2", 100))
	s.start(hi)
	s.start(lo)
	s.run(10 * time.Second)
	s.crash(hi)
	s.run(10 * time.Second)
	s.start(hi)
	s.run(10 * time.Second)
	s.checkOneMaster(hi)
	var want [NumStates]uint64
	for _, tr := range lo.transitions {
		want[tr.To]++
	}
	got := lo.r.Status().Stats.Transitions
	if got != want || got[Backup] != 2 || got[Master] != 1 {
		t.Fatalf("transitions counted %v, happened %v (want 2 to BACKUP, 1 to MASTER)", got, want)
	}
}

package chaos

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	testVIP   = netip.MustParseAddr("192.0.2.100")
	secondVIP = netip.MustParseAddr("192.0.2.101")
	testT0    = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

func testSetup() Setup {
	return Setup{
		Nodes: []NodeSetup{
			{Name: "n1", Daemon: "vrrpd", Addr: netip.MustParseAddr("192.0.2.1"), Priority: 150},
			{Name: "n2", Daemon: "vrrpd", Addr: netip.MustParseAddr("192.0.2.2"), Priority: 100},
			{Name: "n3", Daemon: "keepalived", Addr: netip.MustParseAddr("192.0.2.3"), Priority: 50},
		},
		VIPs:     []netip.Addr{testVIP},
		Interval: 100 * time.Millisecond,
		Weight:   -60,
		Settle:   1500 * time.Millisecond,
		ProbeGap: 20 * time.Millisecond,
	}
}

// story builds a timeline in milliseconds from its start.
type story []Event

func (s *story) add(ms int, e Event) *story {
	e.At = testT0.Add(time.Duration(ms) * time.Millisecond)
	if !e.Until.IsZero() {
		panic("set Until with until()")
	}
	*s = append(*s, e)
	return s
}

func at(ms int) time.Time { return testT0.Add(time.Duration(ms) * time.Millisecond) }

func ev(kind EventKind, node int) Event { return Event{Kind: kind, Node: node} }

func addr(kind EventKind, node int, a netip.Addr) Event {
	return Event{Kind: kind, Node: node, Addr: a}
}

func text(kind EventKind, node int, t string) Event { return Event{Kind: kind, Node: node, Text: t} }

func mark(kind EventKind, cycle int) Event { return Event{Kind: kind, Node: -1, Cycle: cycle} }

func configured(node, priority int, tracked bool, vips ...netip.Addr) Event {
	return Event{Kind: Configured, Node: node, Priority: priority, Tracked: tracked, Addrs: vips}
}

// started is a cluster that elected n1 at 500 ms; cycle 1 starts at 1000 ms.
func started() *story {
	s := &story{}
	for i, p := range []int{150, 100, 50} {
		s.add(0, configured(i, p, true, testVIP)).add(0, ev(DaemonUp, i))
	}
	s.add(500, addr(AddrAdded, 0, testVIP))
	s.add(1000, mark(CycleStart, 1))
	return s
}

// killMaster is cycle 1 of a plan: n1 killed at 1000 ms, restarted at 2000 ms.
func killPlan() Plan {
	return Plan{Seed: 1, Nodes: 3, Cycles: []Cycle{{Faults: []Fault{{Kind: Kill, Node: 0, Hold: time.Second}}}}}
}

// cleanKill is a kill of the master that loses nothing: n2 takes over in 0.38 s, n1
// comes back, removes what the kill left, and preempts.
func cleanKill() *story {
	s := started()
	s.add(1000, text(DaemonDown, 0, "kill")).add(1001, text(DaemonExited, 0, "expected"))
	s.add(1380, addr(AddrAdded, 1, testVIP))
	s.add(1999, mark(HoldEnd, 1))
	s.add(2000, ev(DaemonUp, 0))
	s.add(2050, addr(AddrRemoved, 0, testVIP))
	s.add(2500, addr(AddrAdded, 0, testVIP)).add(2502, addr(AddrRemoved, 1, testVIP))
	s.add(4500, mark(Settled, 1))
	return s
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name  string
		plan  Plan
		story func() *story
		want  []Rule
	}{
		{"a clean kill and preemption", killPlan(), cleanKill, nil},
		{
			name: "two holders for longer than the window",
			story: func() *story {
				s := started()
				s.add(1100, addr(AddrAdded, 1, testVIP)).add(1700, addr(AddrRemoved, 1, testVIP))
				return s.add(4000, mark(Settled, 1))
			},
			want: []Rule{TwoHolders},
		},
		{
			name: "two holders within the window",
			story: func() *story {
				s := started()
				s.add(1100, addr(AddrAdded, 1, testVIP)).add(1550, addr(AddrRemoved, 1, testVIP))
				return s.add(4000, mark(Settled, 1))
			},
		},
		{
			name: "two holders while a node is cut off, and briefly after",
			story: func() *story {
				s := started()
				s.add(1000, ev(Cut, 2)).add(1400, addr(AddrAdded, 2, testVIP))
				s.add(3000, ev(Joined, 2)).add(3090, addr(AddrRemoved, 2, testVIP))
				return s.add(5000, mark(Settled, 1))
			},
		},
		{
			name: "two holders for too long after the cut heals",
			story: func() *story {
				s := started()
				s.add(1000, ev(Cut, 2)).add(1400, addr(AddrAdded, 2, testVIP))
				s.add(3000, ev(Joined, 2)).add(3600, addr(AddrRemoved, 2, testVIP))
				return s.add(5000, mark(Settled, 1))
			},
			want: []Rule{TwoHolders},
		},
		{
			name: "two holders while a port loses frames",
			story: func() *story {
				s := started()
				s.add(1000, text(Impaired, 1, "loss 60 %")).add(1400, addr(AddrAdded, 1, testVIP))
				s.add(2400, addr(AddrRemoved, 1, testVIP)).add(3000, ev(Unimpaired, 1))
				return s.add(5000, mark(Settled, 1))
			},
		},
		{
			name: "a stopped node's leftover is no second holder",
			story: func() *story {
				s := started()
				s.add(1000, text(DaemonDown, 0, "kill")).add(1001, text(DaemonExited, 0, "expected"))
				s.add(1380, addr(AddrAdded, 1, testVIP))
				return s.add(3000, mark(HoldEnd, 1))
			},
		},
		{
			name: "no holder for longer than the window",
			plan: killPlan(),
			story: func() *story {
				s := started()
				s.add(1000, text(DaemonDown, 0, "kill")).add(1001, text(DaemonExited, 0, "expected"))
				s.add(1700, addr(AddrAdded, 1, testVIP))
				return s.add(1999, mark(HoldEnd, 1))
			},
			want: []Rule{NoHolder},
		},
		{
			name: "the only holder cut off counts as none",
			story: func() *story {
				s := started()
				s.add(1000, ev(Cut, 0)).add(1800, addr(AddrAdded, 1, testVIP))
				s.add(3000, ev(Joined, 0)).add(3005, addr(AddrRemoved, 1, testVIP))
				return s.add(5000, mark(Settled, 1))
			},
			want: []Rule{NoHolder},
		},
		{
			name: "no holder and no healthy node",
			story: func() *story {
				s := started()
				s.add(1000, text(CheckFailing, 0, "fault")).add(1010, addr(AddrRemoved, 0, testVIP))
				s.add(1000, text(CheckFailing, 1, "fault")).add(1000, text(CheckFailing, 2, "fault"))
				s.add(3000, mark(HoldEnd, 1))
				for i := range 3 {
					s.add(3000, text(CheckPassing, i, "fault"))
				}
				s.add(3400, addr(AddrAdded, 0, testVIP))
				return s.add(5000, mark(Settled, 1))
			},
		},
		{
			name: "the wrong holder after the quiet period",
			story: func() *story {
				s := started()
				s.add(1000, text(DaemonDown, 0, "term")).add(1001, addr(AddrRemoved, 0, testVIP))
				s.add(1002, text(DaemonExited, 0, "expected")).add(1100, addr(AddrAdded, 1, testVIP))
				s.add(2000, ev(DaemonUp, 0))
				return s.add(4500, mark(Settled, 1))
			},
			want: []Rule{WrongHolder},
		},
		{
			name: "a lowered master that keeps the VIP at the end of a long hold",
			story: func() *story {
				s := started()
				s.add(1000, text(CheckFailing, 0, "lower"))
				return s.add(3000, mark(HoldEnd, 1))
			},
			want: []Rule{WrongHolder},
		},
		{
			name: "a lowered master that hands over",
			story: func() *story {
				s := started()
				s.add(1000, text(CheckFailing, 0, "lower")).add(1005, addr(AddrAdded, 1, testVIP)).add(1006, addr(AddrRemoved, 0, testVIP))
				s.add(3000, mark(HoldEnd, 1)).add(3001, text(CheckPassing, 0, "lower"))
				s.add(3400, addr(AddrAdded, 0, testVIP)).add(3401, addr(AddrRemoved, 1, testVIP))
				return s.add(5000, mark(Settled, 1))
			},
		},
		{
			name: "a cut-off master keeps its VIP and the others elect their own",
			story: func() *story {
				s := started()
				s.add(1000, ev(Cut, 0)).add(1380, addr(AddrAdded, 1, testVIP))
				return s.add(3000, mark(HoldEnd, 1))
			},
		},
		{
			name: "the others elect the wrong node while the master is cut off",
			story: func() *story {
				s := started()
				s.add(1000, ev(Cut, 0)).add(1380, addr(AddrAdded, 2, testVIP))
				return s.add(3000, mark(HoldEnd, 1))
			},
			want: []Rule{WrongHolder},
		},
		{
			name: "a node whose link is down is not judged",
			story: func() *story {
				s := started()
				s.add(1000, ev(LinkSetDown, 0)).add(1380, addr(AddrAdded, 1, testVIP))
				return s.add(3000, mark(HoldEnd, 1))
			},
		},
		{
			name: "no election is judged while frames are lost",
			story: func() *story {
				s := started()
				s.add(1000, text(Impaired, 1, "loss 60 %")).add(1380, addr(AddrAdded, 2, testVIP)).add(1400, addr(AddrRemoved, 2, testVIP))
				return s.add(3000, mark(HoldEnd, 1))
			},
		},
		{
			name: "a hold too short to judge the election",
			story: func() *story {
				s := started()
				s.add(1000, text(CheckFailing, 0, "lower"))
				return s.add(2000, mark(HoldEnd, 1))
			},
		},
		{
			name: "a reload that drops the failing tracker must end its effect",
			story: func() *story {
				s := started()
				s.add(1000, text(CheckFailing, 0, "lower")).add(1005, addr(AddrAdded, 1, testVIP)).add(1006, addr(AddrRemoved, 0, testVIP))
				s.add(1300, configured(0, 150, false, testVIP))
				return s.add(3000, mark(HoldEnd, 1))
			},
			want: []Rule{WrongHolder},
		},
		{
			name: "equal priorities: the higher address wins",
			story: func() *story {
				s := started()
				s.add(1000, configured(1, 150, true, testVIP))
				s.add(1005, addr(AddrAdded, 1, testVIP)).add(1006, addr(AddrRemoved, 0, testVIP))
				return s.add(3000, mark(HoldEnd, 1))
			},
		},
		{
			name: "equal priorities: the master stays, whatever its address",
			story: func() *story {
				s := started()
				s.add(1000, configured(1, 150, true, testVIP))
				return s.add(3000, mark(HoldEnd, 1))
			},
		},
		{
			name: "equal priorities: both hold",
			story: func() *story {
				s := started()
				s.add(1000, configured(1, 150, true, testVIP)).add(1005, addr(AddrAdded, 1, testVIP))
				return s.add(3000, mark(HoldEnd, 1))
			},
			want: []Rule{TwoHolders, WrongHolder},
		},
		{
			name: "equal priorities: the lower node holds",
			story: func() *story {
				s := started()
				s.add(1000, configured(1, 150, true, testVIP)).add(1005, addr(AddrAdded, 2, testVIP)).add(1006, addr(AddrRemoved, 0, testVIP))
				return s.add(3000, mark(HoldEnd, 1))
			},
			want: []Rule{WrongHolder},
		},
		{
			name: "a stale VIP kept after the restart",
			plan: killPlan(),
			story: func() *story {
				s := started()
				s.add(1000, text(DaemonDown, 2, "kill")).add(1001, text(DaemonExited, 2, "expected"))
				s.add(1000, addr(AddrAdded, 2, testVIP)) // as if it had been master
				s.add(2000, ev(DaemonUp, 2))
				s.add(3300, addr(AddrRemoved, 2, testVIP))
				return s.add(5000, mark(Settled, 1))
			},
			want: []Rule{TwoHolders, StaleAfterKill},
		},
		{
			name: "a VIP left after a graceful stop",
			story: func() *story {
				s := started()
				s.add(1000, text(DaemonDown, 0, "term")).add(1005, text(DaemonExited, 0, "expected"))
				s.add(1380, addr(AddrAdded, 1, testVIP))
				return s.add(1999, mark(HoldEnd, 1))
			},
			want: []Rule{VIPAfterStop},
		},
		{
			name: "a VIP left after the final stop",
			story: func() *story {
				s := started()
				for i := range 3 {
					s.add(2000, text(DaemonDown, i, "term")).add(2010, text(DaemonExited, i, "expected"))
				}
				s.add(2001, addr(AddrRemoved, 0, testVIP)).add(2005, addr(AddrAdded, 1, testVIP))
				return s.add(2500, mark(Final, 0))
			},
			want: []Rule{VIPAfterStop, VIPAfterStop},
		},
		{
			name: "a second run that deletes the master's VIP",
			story: func() *story {
				s := started()
				s.add(1000, Event{Kind: SecondRunDone, Node: 0, Code: 1})
				(*s)[len(*s)-1].Until = at(1150)
				s.add(1100, addr(AddrRemoved, 0, testVIP)).add(1102, addr(AddrAdded, 0, testVIP))
				return s.add(3000, mark(Settled, 1))
			},
			want: []Rule{SecondRunChanged},
		},
		{
			name: "a second run that exits 0, slowly, and breaks the control socket",
			story: func() *story {
				s := started()
				s.add(1000, Event{Kind: SecondRunDone, Node: 1, Code: 0, Text: "the control socket no longer answers"})
				(*s)[len(*s)-1].Until = at(3500)
				return s.add(5000, mark(Settled, 1))
			},
			want: []Rule{SecondRunChanged, SecondRunChanged, SecondRunChanged},
		},
		{
			name: "a second keepalived that exits 0 at once",
			story: func() *story {
				s := started()
				s.add(1000, Event{Kind: SecondRunDone, Node: 2, Code: 0})
				(*s)[len(*s)-1].Until = at(1030)
				return s.add(3000, mark(Settled, 1))
			},
		},
		{
			name: "a VIP removed by a reload but kept",
			story: func() *story {
				s := started()
				for i, p := range []int{150, 100, 50} {
					s.add(1000, configured(i, p, true, testVIP, secondVIP))
				}
				s.add(1010, addr(AddrAdded, 0, secondVIP))
				for i, p := range []int{150, 100, 50} {
					s.add(3000, configured(i, p, true, testVIP))
				}
				s.add(4000, addr(AddrRemoved, 0, secondVIP))
				return s.add(5000, mark(Settled, 1))
			},
			want: []Rule{Unconfigured},
		},
		{
			name: "a VIP added and removed by reloads",
			story: func() *story {
				s := started()
				for i, p := range []int{150, 100, 50} {
					s.add(1000, configured(i, p, true, testVIP, secondVIP))
				}
				s.add(1010, addr(AddrAdded, 0, secondVIP))
				for i, p := range []int{150, 100, 50} {
					s.add(3000, configured(i, p, true, testVIP))
				}
				s.add(3010, addr(AddrRemoved, 0, secondVIP))
				return s.add(5000, mark(Settled, 1))
			},
		},
		{
			name: "ip addr disagrees with the timeline",
			story: func() *story {
				s := started()
				s.add(2000, Event{Kind: Snapshot, Node: 1, Addrs: []netip.Addr{testVIP}})
				(*s)[len(*s)-1].Until = at(2010)
				s.add(2000, Event{Kind: Snapshot, Node: 0, Addrs: []netip.Addr{testVIP}})
				(*s)[len(*s)-1].Until = at(2010)
				return s
			},
			want: []Rule{TimelineMismatch},
		},
		{
			name: "a daemon that dies, and a harness that fails",
			story: func() *story {
				s := started()
				s.add(1500, Event{Kind: DaemonExited, Node: 2, Code: 2, Text: "unexpected"})
				return s.add(1600, text(HarnessProblem, -1, "nft: no such file"))
			},
			want: []Rule{DaemonFailed, HarnessFailed},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := tc.plan
			if plan.Cycles == nil {
				plan = Plan{Seed: 1, Nodes: 3, Cycles: []Cycle{{Faults: []Fault{{Kind: Reload, Node: 0}}}}}
			}
			r := Check(testSetup(), plan, *tc.story())
			var got []Rule
			for _, v := range r.Violations {
				got = append(got, v.Rule)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("violations %v, want %v\n%s", got, want, r)
			}
			for _, v := range r.Violations {
				if len(v.Excerpt) == 0 {
					t.Errorf("%s has no excerpt", v.Rule)
				}
			}
		})
	}
}

func TestCheckIgnoresTheInitialElection(t *testing.T) {
	s := &story{}
	for i, p := range []int{150, 100, 50} {
		s.add(0, configured(i, p, true, testVIP)).add(0, ev(DaemonUp, i))
	}
	// Nobody for 2 s, then two holders for 1 s: all before the first cycle.
	s.add(2000, addr(AddrAdded, 0, testVIP)).add(2000, addr(AddrAdded, 1, testVIP)).add(3000, addr(AddrRemoved, 1, testVIP))
	s.add(4000, mark(CycleStart, 1)).add(6000, mark(Settled, 1))
	r := Check(testSetup(), killPlan(), *s)
	if len(r.Violations) != 0 {
		t.Errorf("violations before the first cycle:\n%s", r)
	}
}

func TestCheckReportsViolationsInTheirCycle(t *testing.T) {
	plan := Plan{Seed: 7, Nodes: 3, Cycles: []Cycle{
		{Faults: []Fault{{Kind: Reload, Node: 0}}},
		{Faults: []Fault{{Kind: Partition, Node: 1, Hold: time.Second}, {Kind: Loss, Node: 2, Hold: time.Second, Percent: 30}}},
	}}
	s := started()
	s.add(3000, mark(Settled, 1)).add(3000, mark(CycleStart, 2))
	s.add(3000, ev(Cut, 1)).add(3000, text(Impaired, 2, "loss 30 %"))
	s.add(4000, ev(Joined, 1)).add(4000, ev(Unimpaired, 2))
	s.add(4000, addr(AddrAdded, 2, testVIP)) // appears after the repair, for too long
	s.add(5000, mark(Settled, 2))
	r := Check(testSetup(), plan, *s)
	if len(r.Violations) != 2 {
		t.Fatalf("want a two-holder and a wrong-holder violation:\n%s", r)
	}
	for _, v := range r.Violations {
		if v.Cycle != 2 {
			t.Errorf("%s in cycle %d, want 2", v.Rule, v.Cycle)
		}
	}
	figs := map[Kind]KindFigures{}
	for _, f := range r.Kinds {
		figs[f.Kind] = f
	}
	if figs[Partition].Violations != 2 || figs[Loss].Violations != 2 || figs[Reload].Violations != 0 {
		t.Errorf("per kind: %+v", r.Kinds)
	}
	out := r.String()
	for _, want := range []string{"two-holders in cycle 2", "partition on node 2", "loss on node 3 (30 %)", "violations: 2", "192.0.2.100 held by [n1 n3]"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report does not say %q:\n%s", want, out)
		}
	}
}

func TestCheckClientFigures(t *testing.T) {
	s := cleanKill()
	answers := func(from, to int, node int) {
		s.add(from, Event{Kind: Answers, Node: node, Addr: testVIP, Count: (to - from) / 4})
		(*s)[len(*s)-1].Until = at(to)
	}
	answers(600, 1000, 0)  // n1 until the kill
	answers(1400, 2500, 1) // n2 after the takeover: a gap of 0.4 s
	answers(2505, 4500, 0) // n1 after preempting: 5 ms is no outage
	s.add(1380, text(Note, 1, `level=WARN msg="announce failed" instance=v4`))
	s.add(1390, text(Note, 1, `level=WARN msg="announce failed" instance=v6`))
	s.add(1400, text(Note, 1, `msg="state changed" instance=v4`))
	r := Check(testSetup(), killPlan(), *s)
	if want := map[string]int{`vrrpd WARN "announce failed"`: 2}; !maps.Equal(r.Complaints, want) {
		t.Errorf("complaints %v, want %v", r.Complaints, want)
	}
	if len(r.Violations) != 0 {
		t.Fatalf("violations:\n%s", r)
	}
	if len(r.Kinds) != 1 || r.Kinds[0].Kind != Kill || r.Kinds[0].Faults != 1 {
		t.Fatalf("kinds: %+v", r.Kinds)
	}
	if f := r.Kinds[0]; f.Outage != 400*time.Millisecond || f.Longest != 400*time.Millisecond {
		t.Errorf("outage %v, longest %v; want 0.4 s each", f.Outage, f.Longest)
	}
	if r.Total.Faults != 1 || r.Total.Outage != 400*time.Millisecond {
		t.Errorf("total: %+v", r.Total)
	}
}

func TestWindow(t *testing.T) {
	// 3 x 100 ms + (256-1)/256 x 100 ms + 100 ms.
	if got, want := testSetup().Window(), 300*time.Millisecond+99609375*time.Nanosecond+100*time.Millisecond; got != want {
		t.Errorf("window %v, want %v", got, want)
	}
}

func TestCheckExcusesTimersAfterAStallOnly(t *testing.T) {
	s := started()
	// The machine stalls 0.8 s; n2 takes over, the VIP is on both for 0.6 s.
	s.add(1200, Event{Kind: Stall, Node: -1})
	(*s)[len(*s)-1].Until = at(2000)
	s.add(2000, addr(AddrAdded, 1, testVIP)).add(2600, addr(AddrRemoved, 1, testVIP))
	// Later, with no stall: a daemon dies, and two holders for 0.6 s again.
	s.add(5000, Event{Kind: DaemonExited, Node: 2, Code: 2, Text: "unexpected"})
	s.add(6000, addr(AddrAdded, 1, testVIP)).add(6600, addr(AddrRemoved, 1, testVIP))
	s.add(8000, mark(Settled, 1))
	r := Check(testSetup(), killPlan(), *s)
	var excused, counted []Rule
	for _, v := range r.Violations {
		if v.Excused != "" {
			excused = append(excused, v.Rule)
		} else {
			counted = append(counted, v.Rule)
		}
	}
	if !slices.Equal(excused, []Rule{TwoHolders}) || !slices.Equal(counted, []Rule{DaemonFailed, TwoHolders}) || r.Failed() != 2 {
		t.Errorf("excused %v, counted %v:\n%s", excused, counted, r)
	}
	if r.Stalls != 1 || r.LongestStall != 800*time.Millisecond || r.Total.Excused != 1 || r.Total.Violations != 2 {
		t.Errorf("stalls %d, longest %v, total %+v", r.Stalls, r.LongestStall, r.Total)
	}
	if out := r.String(); !strings.Contains(out, "EXCUSED: the machine stalled for 0.800 s at 1.200 s") {
		t.Errorf("the report does not say what was excused:\n%s", out)
	}
}

func TestFormatTimeline(t *testing.T) {
	out := FormatTimeline(testSetup(), killPlan(), *cleanKill())
	for _, want := range []string{
		"# cycle 1: kill on node 1 at +0.00 s for 1.00 s\n    1.000      -- cycle 1\n",
		"    1.000  n1  down kill\n",
		"    1.380  n2  addr+ 192.0.2.100\n",
		"    2.050  n1  addr- 192.0.2.100\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the timeline does not say %q:\n%s", want, out)
		}
	}
}

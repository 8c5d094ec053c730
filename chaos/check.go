package chaos

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vrrpd/vrrpd/vrrp"
)

// Rule names an invariant.
type Rule string

// The invariants.
const (
	// TwoHolders: two running nodes held a VIP for longer than Window while the network
	// was connected.
	TwoHolders Rule = "two-holders"
	// NoHolder: no running node on the LAN held a VIP for longer than Window while a
	// healthy node configured with it ran.
	NoHolder Rule = "no-holder"
	// WrongHolder: after a quiet period (or a long enough hold on a connected network)
	// the VIP was not on exactly the node the election must pick.
	WrongHolder Rule = "wrong-holder"
	// Unconfigured: a running node held a VIP it is not configured with for longer than
	// Window.
	Unconfigured Rule = "unconfigured-vip"
	// VIPAfterStop: a node held a VIP after its daemon stopped gracefully.
	VIPAfterStop Rule = "vip-after-stop"
	// StaleAfterKill: a VIP that a killed daemon left stayed for more than StaleLimit
	// after its restart.
	StaleAfterKill Rule = "stale-after-kill"
	// SecondRunChanged: a second daemon on a node did not exit at once, exited with
	// status 0 (vrrpd), or changed something.
	SecondRunChanged Rule = "second-run"
	// DaemonFailed: a daemon exited unexpectedly, or would not stop.
	DaemonFailed Rule = "daemon"
	// TimelineMismatch: `ip addr` disagreed with the timeline: address events were lost.
	TimelineMismatch Rule = "timeline"
	// HarnessFailed: the harness could not do what the plan said.
	HarnessFailed Rule = "harness"
)

// Limits of the point checks.
const (
	// StaleLimit is how long after its restart a killed daemon may keep the VIPs it left.
	StaleLimit = time.Second
	// SecondRunLimit is how long a second daemon may take to give up.
	SecondRunLimit = 2 * time.Second
	// stopGrace is how long after a graceful exit the last address event may arrive.
	stopGrace = 100 * time.Millisecond
	// secondRunGrace extends the window in which a second daemon must change nothing.
	secondRunGrace = 200 * time.Millisecond
	// snapshotGrace is how late an address event may arrive after `ip addr` returned.
	snapshotGrace = 50 * time.Millisecond
)

// Window is how long two holders, or none, are tolerated: Master_Down_Interval of the
// lowest possible priority (the longest skew) plus one advert interval.
func (s Setup) Window() time.Duration {
	return vrrp.MasterDownInterval(vrrp.Version3, 1, s.Interval, vrrp.DefaultDownTimerAdverts) + s.Interval
}

// Violation is one breach of an invariant.
type Violation struct {
	Rule  Rule
	Cycle int // the cycle it began in; 0 before the first
	At    time.Time
	For   time.Duration
	Text  string
	// Excerpt is the timeline around it.
	Excerpt []string
	// Excused says why the violation does not count, or is empty: a stall of the whole
	// machine near it, which the protocol's timers cannot survive.
	Excused string
}

// KindFigures sums up the cycles that had a kind of fault. A cycle with two faults
// counts under both.
type KindFigures struct {
	Kind       Kind
	Faults     int
	Violations int // not excused
	Excused    int
	// Outage is the time the client got no answer from a VIP, summed over the cycles
	// and the VIPs probed; Longest is the longest such gap.
	Outage  time.Duration
	Longest time.Duration
}

// Report is what Check found.
type Report struct {
	Setup      Setup
	Plan       Plan
	Start, End time.Time
	// Cycles is the number of cycles the timeline has (the plan may have more, if the
	// run was cut short).
	Cycles     int
	Violations []Violation
	Kinds      []KindFigures
	Total      KindFigures
	// Stalls are the machine's stalls the harness measured; Longest the longest.
	Stalls       int
	LongestStall time.Duration
	// Complaints counts what the daemons logged as warnings or errors, by daemon, level
	// and message: not invariants, but where to look next.
	Complaints map[string]int
}

// Failed counts the violations that are not excused.
func (r Report) Failed() int {
	n := 0
	for _, v := range r.Violations {
		if v.Excused == "" {
			n++
		}
	}
	return n
}

// Check replays the timeline and checks every invariant. It is a pure function: the
// same inputs give the same report.
func Check(s Setup, p Plan, events []Event) Report {
	events = slices.Clone(events)
	sort.SliceStable(events, func(i, j int) bool { return events[i].At.Before(events[j].At) })
	tl := replay(s, events)
	c := &checker{s: s, p: p, events: events, tl: tl}
	c.vips = c.universe()
	for _, e := range events {
		if e.Kind == CycleStart {
			c.cycleStarts = append(c.cycleStarts, e.At)
		}
		if e.Kind == Final {
			c.final = e.At
		}
	}
	c.intervals()
	c.points()
	sort.SliceStable(c.out, func(i, j int) bool { return c.out[i].At.Before(c.out[j].At) })
	for i := range c.out {
		c.out[i].Cycle = c.cycleAt(c.out[i].At)
		c.out[i].Excused = c.excuse(c.out[i])
		c.out[i].Excerpt = c.excerpt(c.out[i])
	}
	r := Report{Setup: s, Plan: p, Start: tl.start, End: tl.end, Cycles: len(c.cycleStarts), Violations: c.out}
	r.Kinds, r.Total = c.figures()
	r.Complaints = map[string]int{}
	for _, e := range events {
		switch e.Kind {
		case Stall:
			r.Stalls++
			r.LongestStall = max(r.LongestStall, e.Until.Sub(e.At))
		case Note:
			if m := complaint.FindStringSubmatch(e.Text); m != nil && e.Node >= 0 && e.Node < len(s.Nodes) {
				r.Complaints[fmt.Sprintf("%s %s %q", s.Nodes[e.Node].Daemon, m[1], m[2])]++
			}
		}
	}
	return r
}

// complaint matches a warning or an error that vrrpd logged.
var complaint = regexp.MustCompile(`level=(WARN|ERROR) msg="([^"]*)"`)

// excuse returns why v does not count, or "": a stall of the machine that began
// between a window (or a settling time, for a check of the election) before v and its
// end. Only the invariants that depend on timers are excused; a crash, a second run's
// changes, the timeline's agreement with the kernel and the harness's own failures
// never are.
func (c *checker) excuse(v Violation) string {
	var before time.Duration
	switch v.Rule {
	case TwoHolders, NoHolder, Unconfigured, StaleAfterKill:
		before = c.s.Window()
	case WrongHolder:
		before = c.s.Settle
	default:
		return ""
	}
	lo, hi := v.At.Add(-before), v.At.Add(v.For)
	for _, e := range c.events {
		if e.Kind == Stall && !e.Until.Before(lo) && !e.At.After(hi) {
			return fmt.Sprintf("the machine stalled for %.3f s at %.3f s", e.Until.Sub(e.At).Seconds(), e.At.Sub(c.tl.start).Seconds())
		}
	}
	return ""
}

type checker struct {
	s           Setup
	p           Plan
	events      []Event
	tl          *timeline
	cycleStarts []time.Time
	final       time.Time
	vips        []netip.Addr // every VIP of the timeline
	out         []Violation
}

func (c *checker) report(rule Rule, at time.Time, d time.Duration, format string, args ...any) {
	c.out = append(c.out, Violation{Rule: rule, At: at, For: d, Text: fmt.Sprintf(format, args...)})
}

// cycleAt returns the cycle that t falls in, 0 before the first.
func (c *checker) cycleAt(t time.Time) int {
	return sort.Search(len(c.cycleStarts), func(i int) bool { return c.cycleStarts[i].After(t) })
}

// universe returns every VIP of the timeline: configured anywhere, or held anywhere.
func (c *checker) universe() []netip.Addr {
	all := slices.Clone(c.s.VIPs)
	for _, e := range c.events {
		switch e.Kind {
		case AddrAdded:
			all = append(all, e.Addr)
		case Configured:
			all = append(all, e.Addrs...)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Less(all[j]) })
	return slices.Compact(all)
}

// span follows one condition over the segments and reports it when it held longer than
// the window.
type span struct {
	open  bool
	start time.Time
	who   []int
	text  func(sp *span, d time.Duration) string
}

// intervals checks the invariants that bound how long a state may last: two holders,
// no holder, an unconfigured VIP held. They apply from the first cycle on: the initial
// election is not under test.
func (c *checker) intervals() {
	if len(c.cycleStarts) == 0 {
		return
	}
	from := c.cycleStarts[0]
	limit := c.s.Window()
	type key struct {
		rule Rule
		vip  netip.Addr
		node int
	}
	spans := map[key]*span{}
	var keys []key // in order of creation, so that reports come in a stable order
	step := func(k key, at time.Time, on bool, who []int, text func(sp *span, d time.Duration) string) {
		sp := spans[k]
		if sp == nil {
			sp = &span{text: text}
			spans[k] = sp
			keys = append(keys, k)
		}
		switch {
		case on && !sp.open:
			sp.open, sp.start, sp.who = true, at, slices.Clone(who)
		case on:
			for _, n := range who {
				if !slices.Contains(sp.who, n) {
					sp.who = append(sp.who, n)
				}
			}
		case sp.open:
			sp.open = false
			if d := at.Sub(sp.start); d > limit {
				c.report(k.rule, sp.start, d, "%s", sp.text(sp, d))
			}
		}
	}
	twoText := func(vip netip.Addr) func(*span, time.Duration) string {
		return func(sp *span, d time.Duration) string {
			return fmt.Sprintf("%v held by %s at once for %.3f s while the network was connected (limit %.3f s)",
				vip, c.s.names(sp.who), d.Seconds(), limit.Seconds())
		}
	}
	noneText := func(vip netip.Addr) func(*span, time.Duration) string {
		return func(sp *span, d time.Duration) string {
			return fmt.Sprintf("%v held by no node on the LAN for %.3f s while %s could be master (limit %.3f s)",
				vip, d.Seconds(), c.s.names(sp.who), limit.Seconds())
		}
	}
	unconfText := func(vip netip.Addr, n int) func(*span, time.Duration) string {
		return func(sp *span, d time.Duration) string {
			return fmt.Sprintf("%s held %v for %.3f s without being configured with it (limit %.3f s)",
				c.s.Nodes[n].Name, vip, d.Seconds(), limit.Seconds())
		}
	}
	for i, seg := range c.tl.segs {
		at := seg.from
		if end := c.tl.until(i); !end.After(from) {
			continue
		}
		if at.Before(from) {
			at = from
		}
		w := seg.w
		for _, vip := range c.vips {
			running := w.holders(vip, func(n int) bool { return w[n].running })
			step(key{TwoHolders, vip, -1}, at, w.connected() && len(running) >= 2, running, twoText(vip))

			var candidates []int
			for n := range w {
				if w.healthy(n) && w.configured(n, vip) {
					candidates = append(candidates, n)
				}
			}
			onLAN := w.holders(vip, func(n int) bool { return w[n].running && w.reachable(n) })
			step(key{NoHolder, vip, -1}, at, len(candidates) > 0 && len(onLAN) == 0, candidates, noneText(vip))

			for n := range w {
				on := w[n].running && w.holds(n, vip) && !w.configured(n, vip)
				step(key{Unconfigured, vip, n}, at, on, []int{n}, unconfText(vip, n))
			}
		}
	}
	for _, k := range keys {
		if sp := spans[k]; sp.open {
			sp.open = false
			if d := c.tl.end.Sub(sp.start); d > limit {
				c.report(k.rule, sp.start, d, "%s, and still at the end of the timeline", sp.text(sp, d))
			}
		}
	}
}

// points checks what must hold at given moments.
func (c *checker) points() {
	for i, e := range c.events {
		seg := c.tl.segs[c.tl.after[i]]
		switch e.Kind {
		case Settled:
			c.election(e.At, seg.w, fmt.Sprintf("after the quiet period of cycle %d", e.Cycle), false)
		case HoldEnd:
			if !seg.w.impaired() && e.At.Sub(seg.lastChange) >= c.s.Settle {
				c.election(e.At, seg.w, fmt.Sprintf("at the end of the hold of cycle %d (%.2f s after the last change)",
					e.Cycle, e.At.Sub(seg.lastChange).Seconds()), true)
			}
		case Final:
			w := seg.w
			for i := range w {
				if len(w[i].holds) > 0 {
					c.report(VIPAfterStop, e.At, 0, "%s still holds %v after every daemon stopped gracefully", c.s.Nodes[i].Name, w[i].holds)
				}
			}
		case DaemonExited:
			c.exited(e, seg.w)
		case DaemonUp:
			c.restarted(e, seg.w)
		case SecondRunDone:
			c.secondRun(e)
		case Snapshot:
			c.snapshot(e)
		case DaemonProblem:
			c.report(DaemonFailed, e.At, 0, "%s: %s", c.nodeName(e.Node), e.Text)
		case HarnessProblem:
			c.report(HarnessFailed, e.At, 0, "%s", e.Text)
		}
	}
}

func (c *checker) nodeName(i int) string {
	if i >= 0 && i < len(c.s.Nodes) {
		return c.s.Nodes[i].Name
	}
	return "harness"
}

// election checks that every VIP sits on exactly the nodes the election must pick: one
// winner among the nodes on the LAN, and every node cut off from it that could be master
// (it hears no one, so it is master of its island). Nodes whose link is down are not
// judged. With runningOnly, a stopped node's leftovers are not counted either.
func (c *checker) election(at time.Time, w world, when string, runningOnly bool) {
	for _, vip := range c.vips {
		var islands []int
		for n := range w {
			if w[n].cut && w[n].running && !w[n].linkDown && !w.inFault(n) && w.configured(n, vip) {
				islands = append(islands, n)
			}
		}
		winners := w.winners(c.s, vip)
		got := w.holders(vip, func(n int) bool { return (!runningOnly || w[n].running) && !w[n].linkDown })
		var lan []int
		for _, n := range got {
			if !slices.Contains(islands, n) {
				lan = append(lan, n)
			}
		}
		ok := len(got)-len(lan) == len(islands) && len(lan) == min(len(winners), 1) && (len(lan) == 0 || slices.Contains(winners, lan[0]))
		if !ok {
			want := c.s.names(slices.Concat(winners, islands))
			if len(winners) > 1 {
				want = fmt.Sprintf("one of %s", c.s.names(winners))
				if len(islands) > 0 {
					want += " and " + c.s.names(islands)
				}
			}
			c.report(WrongHolder, at, 0, "%s: %v on %s, want %s (%s)", when, vip, c.s.names(got), want, w.describe(c.s))
		}
	}
}

// exited checks a daemon's exit: expected, and after a graceful stop with no VIP left.
func (c *checker) exited(e Event, w world) {
	if e.Text != "expected" {
		c.report(DaemonFailed, e.At, 0, "%s exited with status %d: %s", c.nodeName(e.Node), e.Code, e.Text)
		return
	}
	if w[e.Node].lastStop != "term" {
		return
	}
	later := c.tl.at(e.At.Add(stopGrace)).w
	if n := later[e.Node]; !n.running && len(n.holds) > 0 {
		c.report(VIPAfterStop, e.At, 0, "%s still holds %v %v after its daemon stopped gracefully", c.nodeName(e.Node), n.holds, stopGrace)
	}
}

// restarted checks that a daemon restarted after a kill removes, within StaleLimit, the
// VIPs it left.
func (c *checker) restarted(e Event, w world) {
	if w[e.Node].lastStop != "kill" {
		return
	}
	for _, vip := range w[e.Node].holds {
		gone := false
		for i, seg := range c.tl.segs {
			if c.tl.until(i).Before(e.At) {
				continue
			}
			if seg.from.After(e.At.Add(StaleLimit)) {
				break
			}
			if !seg.w.holds(e.Node, vip) {
				gone = true
				break
			}
		}
		if !gone {
			c.report(StaleAfterKill, e.At, StaleLimit, "%s still held %v, left by its killed daemon, %v after the restart",
				c.nodeName(e.Node), vip, StaleLimit)
		}
	}
}

// secondRun checks that a second daemon left at once, with an error, changing nothing.
func (c *checker) secondRun(e Event) {
	name := c.nodeName(e.Node)
	d := e.Until.Sub(e.At)
	switch {
	case e.Code < 0:
		c.report(SecondRunChanged, e.At, d, "a second daemon on %s did not exit within %.1f s: killed", name, d.Seconds())
	case d > SecondRunLimit:
		c.report(SecondRunChanged, e.At, d, "a second daemon on %s took %.3f s to exit (limit %v)", name, d.Seconds(), SecondRunLimit)
	}
	if e.Code == 0 && c.s.Nodes[e.Node].Daemon == "vrrpd" {
		c.report(SecondRunChanged, e.At, d, "a second vrrpd run on %s exited with status 0", name)
	}
	if e.Text != "" {
		c.report(SecondRunChanged, e.At, d, "a second daemon on %s: %s", name, e.Text)
	}
	end := e.Until.Add(secondRunGrace)
	var changes []string
	var first time.Time
	for _, x := range c.events {
		if (x.Kind == AddrAdded || x.Kind == AddrRemoved) && !x.At.Before(e.At) && !x.At.After(end) {
			if first.IsZero() {
				first = x.At
			}
			changes = append(changes, fmt.Sprintf("%s %s %v", c.nodeName(x.Node), x.Kind, x.Addr))
		}
	}
	if len(changes) > 0 {
		c.report(SecondRunChanged, first, end.Sub(first), "while a second daemon ran on %s, the kernel changed: %s", name, strings.Join(changes, ", "))
	}
}

// snapshot checks the timeline against what `ip addr` listed: they must agree at the
// start of the command or just after its end.
func (c *checker) snapshot(e Event) {
	want := slices.Clone(e.Addrs)
	sort.Slice(want, func(i, j int) bool { return want[i].Less(want[j]) })
	before := c.tl.at(e.At).w[e.Node].holds
	after := c.tl.at(e.Until.Add(snapshotGrace)).w[e.Node].holds
	if !slices.Equal(before, want) && !slices.Equal(after, want) {
		c.report(TimelineMismatch, e.At, 0, "ip addr on %s lists %v, the timeline says %v", c.nodeName(e.Node), want, after)
	}
}

// excerptMargin is how much of the timeline an excerpt shows around a violation.
const (
	excerptBefore = 1500 * time.Millisecond
	excerptAfter  = 500 * time.Millisecond
	excerptLines  = 80
)

// excerpt returns the timeline around v, its times counted from the timeline's start.
func (c *checker) excerpt(v Violation) []string {
	lo, hi := v.At.Add(-excerptBefore), v.At.Add(v.For+excerptAfter)
	var lines []string
	for _, e := range c.events {
		end := e.At
		if e.Kind == Answers {
			end = e.Until
		}
		if end.Before(lo) || e.At.After(hi) {
			continue
		}
		lines = append(lines, e.format(c.s, c.tl.start))
	}
	if len(lines) > excerptLines {
		cut := len(lines) - excerptLines
		lines = slices.Concat(lines[:excerptLines/2], []string{fmt.Sprintf("          ... %d more lines", cut)}, lines[len(lines)-excerptLines/2:])
	}
	return lines
}

// gaps returns the pauses in the client's answers longer than ProbeGap, for every VIP
// probed.
func (c *checker) gaps() [][2]time.Time {
	byVIP := map[netip.Addr][]Event{}
	for _, e := range c.events {
		if e.Kind == Answers {
			byVIP[e.Addr] = append(byVIP[e.Addr], e)
		}
	}
	var out [][2]time.Time
	for _, runs := range byVIP {
		sort.Slice(runs, func(i, j int) bool { return runs[i].At.Before(runs[j].At) })
		for i := 1; i < len(runs); i++ {
			from, to := runs[i-1].Until, runs[i].At
			if to.Sub(from) > c.s.ProbeGap {
				out = append(out, [2]time.Time{from, to})
			}
		}
	}
	return out
}

// figures sums up outages and violations per kind of fault.
func (c *checker) figures() ([]KindFigures, KindFigures) {
	gaps := c.gaps()
	byKind := map[Kind]*KindFigures{}
	total := KindFigures{Kind: "all"}
	violations := make([]int, len(c.cycleStarts)+1)
	excused := make([]int, len(c.cycleStarts)+1)
	for _, v := range c.out {
		if v.Excused != "" {
			excused[v.Cycle]++
		} else {
			violations[v.Cycle]++
		}
	}
	// A gap counts, whole, in the cycle where it began: an outage that a fault starts
	// is the fault's, however long it lasts.
	gapSum := make([]time.Duration, len(c.cycleStarts)+1)
	gapMax := make([]time.Duration, len(c.cycleStarts)+1)
	for _, g := range gaps {
		if !c.final.IsZero() && g[0].After(c.final) {
			continue
		}
		k, d := c.cycleAt(g[0]), g[1].Sub(g[0])
		gapSum[k] += d
		gapMax[k] = max(gapMax[k], d)
	}
	for i := range c.cycleStarts {
		outage, longest := gapSum[i+1], gapMax[i+1]
		total.Outage += outage
		total.Longest = max(total.Longest, longest)
		if i >= len(c.p.Cycles) {
			continue
		}
		cy := c.p.Cycles[i]
		total.Faults += len(cy.Faults)
		for _, k := range cy.Kinds() {
			f := byKind[k]
			if f == nil {
				f = &KindFigures{Kind: k}
				byKind[k] = f
			}
			for _, x := range cy.Faults {
				if x.Kind == k {
					f.Faults++
				}
			}
			f.Violations += violations[i+1]
			f.Excused += excused[i+1]
			f.Outage += outage
			f.Longest = max(f.Longest, longest)
		}
	}
	for _, v := range c.out {
		if v.Excused != "" {
			total.Excused++
		} else {
			total.Violations++
		}
	}
	var out []KindFigures
	for _, k := range Kinds {
		if f := byKind[k]; f != nil {
			out = append(out, *f)
		}
	}
	return out, total
}

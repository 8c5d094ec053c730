package chaos

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// NodeSetup is one node of the cluster as it starts.
type NodeSetup struct {
	Name     string
	Daemon   string     // "vrrpd" or "keepalived"
	Addr     netip.Addr // primary IPv4 address, the election's tie-break
	Priority int
}

// Setup is the cluster the timeline was recorded on.
type Setup struct {
	Nodes []NodeSetup
	// VIPs are what every node is configured with at the start.
	VIPs []netip.Addr
	// Interval is the advert interval (VRRPv3).
	Interval time.Duration
	// Weight is the weight of the lowering check (negative).
	Weight int
	// Settle is how long the state must have lasted before a hold ends for the check at
	// the end of the hold to apply.
	Settle time.Duration
	// ProbeGap is the client's probe gap beyond which a pause in answers counts as an
	// outage.
	ProbeGap time.Duration
}

// nodeState is what the timeline says of a node at a moment.
type nodeState struct {
	running  bool
	lastStop string // the signal of the last stop: "kill" or "term"
	linkDown bool
	cut      bool
	impaired bool
	// lowerFailing and faultFailing: the weight -60 and weight 0 checks fail.
	lowerFailing bool
	faultFailing bool
	tracked      bool
	priority     int
	vips         []netip.Addr // configured
	holds        []netip.Addr // in the kernel, sorted
}

// world is the state of every node at a moment.
type world []nodeState

func initialWorld(s Setup) world {
	w := make(world, len(s.Nodes))
	for i, n := range s.Nodes {
		w[i] = nodeState{tracked: true, priority: n.Priority, vips: slices.Clone(s.VIPs)}
	}
	return w
}

func (w world) clone() world {
	c := slices.Clone(w)
	for i := range c {
		c[i].vips = slices.Clone(c[i].vips)
		c[i].holds = slices.Clone(c[i].holds)
	}
	return c
}

// apply changes w as e says. It reports whether anything changed, and whether that was
// a condition of a node (anything but the addresses it holds).
func (w world) apply(e Event) (changed, condition bool) {
	if e.Node < 0 || e.Node >= len(w) {
		return false, false
	}
	n := &w[e.Node]
	switch e.Kind {
	case AddrAdded:
		if slices.Contains(n.holds, e.Addr) {
			return false, false
		}
		n.holds = append(slices.Clone(n.holds), e.Addr)
		sort.Slice(n.holds, func(i, j int) bool { return n.holds[i].Less(n.holds[j]) })
		return true, false
	case AddrRemoved:
		if !slices.Contains(n.holds, e.Addr) {
			return false, false
		}
		n.holds = slices.DeleteFunc(slices.Clone(n.holds), func(a netip.Addr) bool { return a == e.Addr })
		return true, false
	}
	before := *n
	switch e.Kind {
	case DaemonUp:
		n.running = true
	case DaemonDown:
		n.running, n.lastStop = false, e.Text
	case DaemonExited:
		n.running = false
	case LinkSetDown:
		n.linkDown = true
	case LinkSetUp:
		n.linkDown = false
	case Cut:
		n.cut = true
	case Joined:
		n.cut = false
	case Impaired:
		n.impaired = true
	case Unimpaired:
		n.impaired = false
	case CheckFailing, CheckPassing:
		failing := e.Kind == CheckFailing
		switch e.Text {
		case "lower":
			n.lowerFailing = failing
		case "fault":
			n.faultFailing = failing
		}
	case Configured:
		n.priority, n.vips, n.tracked = e.Priority, slices.Clone(e.Addrs), e.Tracked
	default:
		return false, false
	}
	changed = !before.sameConditions(*n)
	return changed, changed
}

// sameConditions reports whether n and o agree on everything but the addresses held.
func (n nodeState) sameConditions(o nodeState) bool {
	return n.running == o.running && n.lastStop == o.lastStop && n.linkDown == o.linkDown &&
		n.cut == o.cut && n.impaired == o.impaired && n.lowerFailing == o.lowerFailing &&
		n.faultFailing == o.faultFailing && n.tracked == o.tracked && n.priority == o.priority &&
		slices.Equal(n.vips, o.vips)
}

// connected reports whether every frame between the nodes gets through at once: no link
// down, no cut, no loss or delay anywhere.
func (w world) connected() bool {
	for _, n := range w {
		if n.linkDown || n.cut || n.impaired {
			return false
		}
	}
	return true
}

// impaired reports whether frames are lost or delayed somewhere.
func (w world) impaired() bool {
	for _, n := range w {
		if n.impaired {
			return true
		}
	}
	return false
}

// reachable reports whether node i is on the LAN: its link up and its port not cut.
func (w world) reachable(i int) bool { return !w[i].linkDown && !w[i].cut }

// inFault reports whether node i's weight 0 check puts it in FAULT.
func (w world) inFault(i int) bool { return w[i].tracked && w[i].faultFailing }

// healthy reports whether node i runs, is on the LAN and is not in FAULT: a node that
// can be master.
func (w world) healthy(i int) bool { return w[i].running && w.reachable(i) && !w.inFault(i) }

// effectivePriority is the priority node i advertises, as RFC 9568 and keepalived
// compose it: the weight while the check fails, kept within 1..254.
func (w world) effectivePriority(i int, weight int) int {
	p := w[i].priority
	if p == 255 {
		return p
	}
	if w[i].tracked && w[i].lowerFailing {
		p += weight
	}
	return min(max(p, 1), 254)
}

// configured reports whether node i is configured with vip.
func (w world) configured(i int, vip netip.Addr) bool { return slices.Contains(w[i].vips, vip) }

// holds reports whether node i's kernel has vip.
func (w world) holds(i int, vip netip.Addr) bool { return slices.Contains(w[i].holds, vip) }

// holders returns the nodes that hold vip and pass keep.
func (w world) holders(vip netip.Addr, keep func(int) bool) []int {
	var out []int
	for i := range w {
		if w.holds(i, vip) && keep(i) {
			out = append(out, i)
		}
	}
	return out
}

// winners returns the nodes the election may make master of vip: those of the highest
// effective priority among the healthy nodes configured with vip (every node preempts).
// With one, it must win. With several of equal priority, the highest primary address
// wins only when they meet as masters (RFC 5798 section 6.4.3); a backup never takes
// over from a master of its own priority (section 6.4.2), so history decides which.
func (w world) winners(s Setup, vip netip.Addr) []int {
	var best []int
	top := 0
	for i := range w {
		if !w.healthy(i) || !w.configured(i, vip) {
			continue
		}
		switch p := w.effectivePriority(i, s.Weight); {
		case p > top:
			best, top = []int{i}, p
		case p == top:
			best = append(best, i)
		}
	}
	return best
}

// describe says what the election sees of every node, for violation texts.
func (w world) describe(s Setup) string {
	var parts []string
	for i, n := range w {
		var what []string
		switch {
		case !n.running:
			what = append(what, "stopped")
		case w.inFault(i):
			what = append(what, "FAULT")
		default:
			what = append(what, fmt.Sprintf("priority %d", w.effectivePriority(i, s.Weight)))
		}
		if n.linkDown {
			what = append(what, "link down")
		}
		if n.cut {
			what = append(what, "cut off")
		}
		if n.impaired {
			what = append(what, "impaired")
		}
		parts = append(parts, fmt.Sprintf("%s %s", s.Nodes[i].Name, strings.Join(what, ", ")))
	}
	return strings.Join(parts, "; ")
}

// names returns the names of nodes.
func (s Setup) names(nodes []int) string {
	var out []string
	for _, i := range nodes {
		out = append(out, s.Nodes[i].Name)
	}
	return "[" + strings.Join(out, " ") + "]"
}

// segment is the state of the world from from until the next segment.
type segment struct {
	from time.Time
	w    world
	// lastChange is when a condition of a node last changed, at or before from.
	lastChange time.Time
}

// timeline is a replayed timeline: the world after each change.
type timeline struct {
	setup Setup
	start time.Time
	end   time.Time
	segs  []segment
	// after is, for each event, the segment in force once it was applied: events of
	// the same time keep their order.
	after []int
}

// replay builds the world's states from events, which must be sorted by time.
func replay(s Setup, events []Event) *timeline {
	tl := &timeline{setup: s}
	if len(events) == 0 {
		return tl
	}
	tl.start, tl.end = events[0].At, events[len(events)-1].At
	w := initialWorld(s)
	tl.segs = []segment{{from: tl.start, w: w.clone()}}
	last := time.Time{}
	for _, e := range events {
		tl.end = maxTime(tl.end, e.At, e.Until)
		changed, cond := w.apply(e)
		if !changed {
			tl.after = append(tl.after, len(tl.segs)-1)
			continue
		}
		if cond {
			last = e.At
		}
		seg := segment{from: e.At, w: w.clone(), lastChange: last}
		if top := &tl.segs[len(tl.segs)-1]; top.from.Equal(e.At) {
			*top = seg
		} else {
			tl.segs = append(tl.segs, seg)
		}
		tl.after = append(tl.after, len(tl.segs)-1)
	}
	return tl
}

func maxTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// at returns the segment in force at t.
func (tl *timeline) at(t time.Time) segment {
	i := sort.Search(len(tl.segs), func(i int) bool { return tl.segs[i].from.After(t) })
	if i == 0 {
		return segment{from: t, w: initialWorld(tl.setup)}
	}
	return tl.segs[i-1]
}

// until returns the end of segment i.
func (tl *timeline) until(i int) time.Time {
	if i+1 < len(tl.segs) {
		return tl.segs[i+1].from
	}
	return tl.end
}

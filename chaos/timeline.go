package chaos

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// EventKind says what an Event records.
type EventKind string

// The events of a timeline. Address events come from the kernel; the others are what the
// harness did, stamped before an action that makes things worse (a kill, a cut) and
// after one that makes them better (a restart, a repair), so that a few milliseconds of
// harness time never count against a daemon.
const (
	// AddrAdded and AddrRemoved: the kernel of Node added or removed Addr (any address but
	// the node's own).
	AddrAdded   EventKind = "addr+"
	AddrRemoved EventKind = "addr-"

	// DaemonUp: the daemon of Node was started. DaemonDown: it was sent the signal in
	// Text ("kill" or "term"). DaemonExited: it exited with Code; Text is "expected" or
	// what went wrong.
	DaemonUp     EventKind = "up"
	DaemonDown   EventKind = "down"
	DaemonExited EventKind = "exited"

	// Conditions of a node, set by the faults.
	LinkSetDown  EventKind = "link-down"
	LinkSetUp    EventKind = "link-up"
	Cut          EventKind = "cut"    // the switch drops the node's frames
	Joined       EventKind = "joined" // no longer cut
	Impaired     EventKind = "impaired"
	Unimpaired   EventKind = "unimpaired"
	CheckFailing EventKind = "check-failing" // Text: "lower" (weight -60) or "fault" (weight 0)
	CheckPassing EventKind = "check-passing"
	// Configured: the daemon of Node now runs with Priority, Addrs as its VIPs, and its
	// trackers when Tracked (it was started or reloaded).
	Configured EventKind = "configured"

	// Marks of the schedule.
	CycleStart EventKind = "cycle"    // Cycle starts
	Applied    EventKind = "applied"  // fault Fault of Cycle applied; Text describes it
	Repaired   EventKind = "repaired" // fault Fault of Cycle repaired
	HoldEnd    EventKind = "hold-end" // the first repair of Cycle is next
	Settled    EventKind = "settled"  // the quiet period after Cycle is over
	Final      EventKind = "final"    // every daemon was stopped gracefully

	// SecondRunDone: a second daemon started on Node at At ended at Until, with Code
	// (-1 if it had to be killed); Text says anything it changed that is not an address.
	SecondRunDone EventKind = "second-run"
	// Snapshot: the VIPs (Addrs) that `ip addr` listed on Node, run between At and Until.
	Snapshot EventKind = "snapshot"
	// Answers: the client got Count answers to its probes of Addr from Node between At
	// and Until, none more than the prober's gap apart.
	Answers EventKind = "answers"
	// Note: what a daemon said (Node), for the excerpts.
	Note EventKind = "note"
	// DaemonProblem and HarnessProblem: something went wrong (Text), in a daemon or in
	// the harness itself.
	DaemonProblem  EventKind = "daemon-problem"
	HarnessProblem EventKind = "harness-problem"
	// Stall: the harness, which wakes every few milliseconds, did not run from At to
	// Until: the machine stalled, and the daemons on it likely did too.
	Stall EventKind = "stall"
)

// Event is one entry of a timeline.
type Event struct {
	At       time.Time
	Kind     EventKind
	Node     int
	Addr     netip.Addr
	Addrs    []netip.Addr
	Priority int
	Tracked  bool
	Cycle    int
	Fault    int
	Until    time.Time
	Count    int
	Code     int
	Text     string
}

// format writes the event as one line, its time counted from start.
func (e Event) format(s Setup, start time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%9.3f  ", e.At.Sub(start).Seconds())
	node := func() {
		if e.Node >= 0 && e.Node < len(s.Nodes) {
			fmt.Fprintf(&b, "%-3s ", s.Nodes[e.Node].Name)
		} else {
			b.WriteString("    ")
		}
	}
	switch e.Kind {
	case AddrAdded, AddrRemoved:
		node()
		fmt.Fprintf(&b, "%s %v", e.Kind, e.Addr)
	case DaemonUp, LinkSetDown, LinkSetUp, Cut, Joined, Unimpaired:
		node()
		b.WriteString(string(e.Kind))
	case DaemonDown, Impaired, CheckFailing, CheckPassing, Note, DaemonProblem:
		node()
		fmt.Fprintf(&b, "%s %s", e.Kind, e.Text)
	case DaemonExited:
		node()
		fmt.Fprintf(&b, "exited %d (%s)", e.Code, e.Text)
	case Configured:
		node()
		fmt.Fprintf(&b, "configured: priority %d, VIPs %v, trackers %v", e.Priority, e.Addrs, e.Tracked)
	case CycleStart, HoldEnd, Settled:
		fmt.Fprintf(&b, "    -- %s %d", e.Kind, e.Cycle)
	case Final:
		b.WriteString("    -- final")
	case Applied, Repaired:
		fmt.Fprintf(&b, "    -- %s: %s", e.Kind, e.Text)
	case SecondRunDone:
		node()
		fmt.Fprintf(&b, "second run for %.3f s, exit %d %s", e.Until.Sub(e.At).Seconds(), e.Code, e.Text)
	case Snapshot:
		node()
		fmt.Fprintf(&b, "ip addr: %v", e.Addrs)
	case Stall:
		fmt.Fprintf(&b, "    -- the machine stalled for %.3f s", e.Until.Sub(e.At).Seconds())
	case Answers:
		node()
		fmt.Fprintf(&b, "answered %d probes of %v until %.3f", e.Count, e.Addr, e.Until.Sub(start).Seconds())
	default:
		node()
		fmt.Fprintf(&b, "%s %s", e.Kind, e.Text)
	}
	return b.String()
}

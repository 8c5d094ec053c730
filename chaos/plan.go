package chaos

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Kind names a fault.
type Kind string

// The faults. Each one is applied, held, then repaired.
const (
	Kill           Kind = "kill"            // SIGKILL; the repair restarts the daemon
	Term           Kind = "term"            // SIGTERM; the repair restarts the daemon
	LinkDown       Kind = "link-down"       // the node's eth0 down; the repair sets it up
	Partition      Kind = "partition"       // the switch drops every frame of the node's port
	Loss           Kind = "loss"            // the switch drops Percent % of the port's frames, each way
	Delay          Kind = "delay"           // the port's frames are delayed by Delay, each way
	Reload         Kind = "reload"          // SIGHUP with the same configuration, twice
	ReloadPriority Kind = "reload-priority" // SIGHUP with another priority; the repair restores it
	ReloadVIPs     Kind = "reload-vips"     // every node: SIGHUP with a second VIP; the repair removes it
	ReloadTrack    Kind = "reload-track"    // the weight -60 check fails and a SIGHUP drops every tracker
	SecondRun      Kind = "second-run"      // a second daemon with the node's configuration
	CheckLower     Kind = "check-lower"     // the weight -60 check fails; the repair makes it pass
	CheckFault     Kind = "check-fault"     // the weight 0 check fails (FAULT); the repair makes it pass
)

// Kinds lists every fault, in the order of the summary.
var Kinds = []Kind{Kill, Term, LinkDown, Partition, Loss, Delay, Reload, ReloadPriority, ReloadVIPs, ReloadTrack, SecondRun, CheckLower, CheckFault}

// AllNodes is the Node of a fault that concerns every node.
const AllNodes = -1

// Fault is one fault of a cycle.
type Fault struct {
	Kind Kind
	Node int           // index of the node, or AllNodes
	At   time.Duration // from the start of the cycle
	Hold time.Duration // from At to the repair
	// Percent is the loss of a Loss fault.
	Percent int
	// Delay is the one-way delay of a Delay fault.
	Delay time.Duration
	// Priority is the priority a ReloadPriority fault configures.
	Priority int
}

// End is when the fault is repaired, from the start of the cycle.
func (f Fault) End() time.Duration { return f.At + f.Hold }

func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(string(f.Kind))
	if f.Node == AllNodes {
		b.WriteString(" on every node")
	} else {
		fmt.Fprintf(&b, " on node %d", f.Node+1)
	}
	switch f.Kind {
	case Loss:
		fmt.Fprintf(&b, " (%d %%)", f.Percent)
	case Delay:
		fmt.Fprintf(&b, " (%v)", f.Delay)
	case ReloadPriority:
		fmt.Fprintf(&b, " (priority %d)", f.Priority)
	}
	fmt.Fprintf(&b, " at +%.2f s for %.2f s", f.At.Seconds(), f.Hold.Seconds())
	return b.String()
}

// Cycle is one or two faults, overlapping when there are two.
type Cycle struct {
	Faults []Fault
}

// Kinds returns the distinct kinds of the cycle's faults.
func (c Cycle) Kinds() []Kind {
	var out []Kind
	for _, f := range c.Faults {
		if !containsKind(out, f.Kind) {
			out = append(out, f.Kind)
		}
	}
	return out
}

// End is when the cycle's last fault is repaired.
func (c Cycle) End() time.Duration {
	var end time.Duration
	for _, f := range c.Faults {
		end = max(end, f.End())
	}
	return end
}

func containsKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// Plan is the faults of a run.
type Plan struct {
	Seed   uint64
	Nodes  int
	Cycles []Cycle
}

// CISeed is the seed of the short runs that `make test` makes: the first 30 cycles of its
// plan for three nodes hold every kind of fault, and a kill, a graceful stop and a second
// run on the first node, the master.
const CISeed = 29

// What the plan draws from.
var (
	lossPercents     = []int{10, 30, 60}
	delays           = []time.Duration{20 * time.Millisecond, 80 * time.Millisecond, 200 * time.Millisecond}
	reloadPriorities = []int{25, 75, 100, 125, 175, 200} // 100 ties with the second node of a cluster
	overlapPercent   = 30
)

// holdRange is how long a fault of kind k is held. A reload that changes something is
// held long enough for the check at the end of the hold to see the election it makes.
func holdRange(k Kind) (lo, hi time.Duration) {
	switch k {
	case SecondRun:
		return 0, 0
	case Loss, Delay:
		return time.Second, 4 * time.Second
	case ReloadPriority, ReloadVIPs, ReloadTrack:
		return 2500 * time.Millisecond, 3500 * time.Millisecond
	}
	return 200 * time.Millisecond, 3 * time.Second
}

// alone reports whether a fault of kind k must be the only one of its cycle: it
// concerns every node, or it must change nothing and so needs a cluster at rest.
func alone(k Kind) bool { return k == ReloadVIPs || k == SecondRun }

// NewPlan draws cycles of faults for a cluster of nodes (at least 2) from seed. The same
// seed and counts give the same plan.
func NewPlan(seed uint64, cycles, nodes int) Plan {
	rng := rand.New(rand.NewPCG(seed, 0x63_68_61_6f_73)) // "chaos"
	p := Plan{Seed: seed, Nodes: nodes}
	hold := func(k Kind) time.Duration {
		lo, hi := holdRange(k)
		steps := int((hi - lo) / (10 * time.Millisecond))
		return lo + time.Duration(rng.IntN(steps+1))*10*time.Millisecond
	}
	draw := func(node int) Fault {
		f := Fault{Kind: Kinds[rng.IntN(len(Kinds))], Node: node}
		if f.Kind == ReloadVIPs {
			f.Node = AllNodes
		}
		f.Hold = hold(f.Kind)
		switch f.Kind {
		case Loss:
			f.Percent = lossPercents[rng.IntN(len(lossPercents))]
		case Delay:
			f.Delay = delays[rng.IntN(len(delays))]
		case ReloadPriority:
			f.Priority = reloadPriorities[rng.IntN(len(reloadPriorities))]
		}
		return f
	}
	for range cycles {
		first := draw(rng.IntN(nodes))
		c := Cycle{Faults: []Fault{first}}
		if !alone(first.Kind) && rng.IntN(100) < overlapPercent {
			// The second fault hits another node, and starts while the first holds.
			other := (first.Node + 1 + rng.IntN(nodes-1)) % nodes
			second := draw(other)
			for alone(second.Kind) {
				second = draw(other)
			}
			second.At = time.Duration(rng.Int64N(int64(first.Hold)/int64(10*time.Millisecond)+1)) * 10 * time.Millisecond
			c.Faults = append(c.Faults, second)
		}
		p.Cycles = append(p.Cycles, c)
	}
	return p
}

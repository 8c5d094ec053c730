package chaos

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// StallThreshold is the pause of the harness beyond which it records a stall of the
// machine: one advert interval of the cluster under test. The daemons, which share the
// machine, are taken to have stalled as long.
const StallThreshold = 100 * time.Millisecond

// Impairments says how loss and delay are made, for the report and the docs: the
// kernel of the test machines has no sch_netem.
const Impairments = "loss: an nftables rule in the switch namespace's bridge family, " +
	"`numgen random mod 100 < N drop`, on the frames into and out of the node's port; " +
	"delay: the node's port taken off the bridge and its frames relayed both ways, " +
	"each held for the delay, by AF_PACKET sockets in the harness"

// Write prints the report: the run, a summary per kind of fault, then every violation
// with its excerpt.
func (r Report) Write(w io.Writer) {
	var nodes []string
	for _, n := range r.Setup.Nodes {
		nodes = append(nodes, fmt.Sprintf("%s=%s(%d)", n.Name, n.Daemon, n.Priority))
	}
	wall := r.End.Sub(r.Start)
	fmt.Fprintf(w, "chaos: seed %d, %d of %d cycles, nodes %s, VIPs %v, adverts every %v (VRRPv3)\n",
		r.Plan.Seed, r.Cycles, len(r.Plan.Cycles), strings.Join(nodes, " "), r.Setup.VIPs, r.Setup.Interval)
	per := time.Duration(0)
	if r.Cycles > 0 {
		per = wall / time.Duration(r.Cycles)
	}
	fmt.Fprintf(w, "window (Master_Down_Interval + advert interval) %.3f s; wall clock %.1f s, %.2f s per cycle\n",
		r.Setup.Window().Seconds(), wall.Seconds(), per.Seconds())
	fmt.Fprintf(w, "impairments: %s\n", Impairments)
	fmt.Fprintf(w, "machine stalls over %v seen by the harness: %d, the longest %.3f s\n\n", StallThreshold, r.Stalls, r.LongestStall.Seconds())

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "fault\tcount\tviolations\texcused\tclient outage\tlongest gap\t")
	row := func(f KindFigures) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f s\t%.3f s\t\n", f.Kind, f.Faults, f.Violations, f.Excused, f.Outage.Seconds(), f.Longest.Seconds())
	}
	for _, f := range r.Kinds {
		row(f)
	}
	row(r.Total)
	tw.Flush()
	fmt.Fprintln(w, "(a cycle with two faults counts under both; outage sums the VIPs probed)")

	if len(r.Complaints) > 0 {
		fmt.Fprintln(w, "\nwhat the daemons complained of (not invariants):")
		var keys []string
		for k := range r.Complaints {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %5d  %s\n", r.Complaints[k], k)
		}
	}
	fmt.Fprintf(w, "\nviolations: %d, and %d excused by a stall of the machine\n", r.Failed(), len(r.Violations)-r.Failed())
	for i, v := range r.Violations {
		fmt.Fprintf(w, "\n#%d %s in cycle %d at %.3f s", i+1, v.Rule, v.Cycle, v.At.Sub(r.Start).Seconds())
		if v.Excused != "" {
			fmt.Fprintf(w, ", EXCUSED: %s", v.Excused)
		}
		if v.Cycle > 0 && v.Cycle <= len(r.Plan.Cycles) {
			var fs []string
			for _, f := range r.Plan.Cycles[v.Cycle-1].Faults {
				fs = append(fs, f.String())
			}
			fmt.Fprintf(w, " (%s)", strings.Join(fs, "; "))
		}
		fmt.Fprintf(w, "\n   %s\n", v.Text)
		for _, l := range v.Excerpt {
			fmt.Fprintf(w, "   | %s\n", l)
		}
	}
}

// Summary is what a benchmark reads of a run: its size and its totals.
type Summary struct {
	Seed         uint64  `json:"seed"`
	Cycles       int     `json:"cycles"`
	Faults       int     `json:"faults"`
	Violations   int     `json:"violations"` // not excused
	Excused      int     `json:"excused"`
	Outage       float64 `json:"outage_seconds"`      // summed over the VIPs probed
	LongestGap   float64 `json:"longest_gap_seconds"` // the longest the client went unanswered
	Stalls       int     `json:"stalls"`
	LongestStall float64 `json:"longest_stall_seconds"`
}

// Summary sums the report up.
func (r Report) Summary() Summary {
	return Summary{Seed: r.Plan.Seed, Cycles: r.Cycles, Faults: r.Total.Faults, Violations: r.Failed(),
		Excused: len(r.Violations) - r.Failed(), Outage: r.Total.Outage.Seconds(), LongestGap: r.Total.Longest.Seconds(),
		Stalls: r.Stalls, LongestStall: r.LongestStall.Seconds()}
}

// String is the report as Write prints it.
func (r Report) String() string {
	var b strings.Builder
	r.Write(&b)
	return b.String()
}

// FormatTimeline writes a whole timeline, one event a line, its times counted from its
// first event, each cycle headed by its faults.
func FormatTimeline(s Setup, p Plan, events []Event) string {
	events = slices.Clone(events)
	sort.SliceStable(events, func(i, j int) bool { return events[i].At.Before(events[j].At) })
	var b strings.Builder
	if len(events) == 0 {
		return ""
	}
	start := events[0].At
	for _, e := range events {
		if e.Kind == CycleStart && e.Cycle >= 1 && e.Cycle <= len(p.Cycles) {
			for _, f := range p.Cycles[e.Cycle-1].Faults {
				fmt.Fprintf(&b, "# cycle %d: %v\n", e.Cycle, f)
			}
		}
		fmt.Fprintln(&b, e.format(s, start))
	}
	return b.String()
}

package bench

import (
	"fmt"
	"time"

	"github.com/vrrpd/vrrpd/vrrp"
)

// The priorities of the two nodes, and the weight of the tracked file that lowers the
// master below the backup (150 - 60 = 90 < 100).
const (
	masterPriority = 150
	backupPriority = 100
	lowerWeight    = -60
)

// figure is one line a scenario adds to the table at each interval.
type figure struct {
	name string
	unit Unit
	agg  Agg
	// goal returns vrrpd's goal at an advert interval, or nil.
	goal func(interval time.Duration) *Goal
	// vrrpdOnly figures are measured for vrrpd alone.
	vrrpdOnly bool
}

// scenario is a row group of the table.
type scenario struct {
	id      string // its name in -scenarios
	name    string
	figures []figure
}

func noGoal(time.Duration) *Goal { return nil }

// at returns a goal that applies at the given intervals only.
func at(g Goal, intervals ...time.Duration) func(time.Duration) *Goal {
	return func(iv time.Duration) *Goal {
		for _, i := range intervals {
			if i == iv {
				return &g
			}
		}
		return nil
	}
}

// backupSkew is the Skew_Time of the backup at an interval (VRRPv3).
func backupSkew(iv time.Duration) time.Duration {
	return vrrp.SkewTime(vrrp.Version3, backupPriority, iv)
}

// masterDown is the Master_Down_Interval of the master node, which decides when it is
// master after a start.
func masterDown(iv time.Duration) time.Duration {
	return vrrp.MasterDownInterval(vrrp.Version3, masterPriority, iv, vrrp.DefaultDownTimerAdverts)
}

const (
	second = time.Second
	ms100  = 100 * time.Millisecond
	ms10   = 10 * time.Millisecond
)

var (
	outage      = figure{name: "client outage", unit: Seconds, agg: Median, goal: noGoal}
	under5ms    = figure{name: "client outage", unit: Seconds, agg: Median, goal: at(Goal{Limit: 0.005, Strict: true}, second, ms100)}
	backupServe = figure{name: "time until the backup serves", unit: Seconds, agg: Median, goal: noGoal}
)

// failoverScenarios are the two-node scenarios, in the table's order.
var failoverScenarios = []scenario{
	{"stop", "graceful stop of the master (SIGTERM)", []figure{under5ms}},
	{"fault", "master enters FAULT (tracked file, weight 0), VIP link up", []figure{under5ms}},
	{"lowered", "master's priority drops below the backup's (tracked file, weight -60)", []figure{
		{name: "time from the change until the backup serves", unit: Seconds, agg: Median, goal: func(iv time.Duration) *Goal {
			if iv != second && iv != ms100 {
				return nil
			}
			return &Goal{Limit: (backupSkew(iv) + 5*time.Millisecond).Seconds()}
		}},
		outage,
	}},
	{"split-brain", "split brain healed (the nodes hear each other again)", []figure{
		{name: "runs with clients stranded on the loser (no answer for > 1 s)", unit: Runs, agg: Total, goal: func(time.Duration) *Goal { return &Goal{Limit: 0} }},
		{name: "client outage after the heal", unit: Seconds, agg: Max, goal: func(iv time.Duration) *Goal { return &Goal{Limit: iv.Seconds(), Strict: true} }},
		{name: "time until the client's neighbour entry names the winner", unit: Seconds, agg: Median, goal: noGoal},
	}},
	{"host-loss", "host loss (link down, daemon killed)", []figure{
		{name: "client outage", unit: Seconds, agg: Median, goal: at(Goal{Limit: 0.040}, ms10)},
	}},
	{"sigkill", "daemon of the master killed (SIGKILL), node up", []figure{outage, backupServe}},
	{"preempt", "preempt back (the stopped master starts again)", []figure{outage, {name: "time until the master serves again", unit: Seconds, agg: Median, goal: noGoal}}},
}

// scaleScenario is a thousand instances (or -instances) on four links per node.
func scaleScenario(instances int) scenario {
	mb := func(g float64) func(time.Duration) *Goal { return at(Goal{Limit: g}, second, ms100) }
	return scenario{"scale", fmt.Sprintf("%d instances, both nodes started together", instances), []figure{
		{name: "master CPU", unit: Percent, agg: Median, goal: func(iv time.Duration) *Goal {
			switch iv {
			case second:
				return &Goal{Limit: 2.5}
			case ms100:
				return &Goal{Limit: 8}
			}
			return nil
		}},
		{name: "master RSS (VmRSS)", unit: Megabytes, agg: Median, goal: mb(20)},
		{name: "master RssAnon", unit: Megabytes, agg: Median, goal: noGoal},
		{name: "master RssFile", unit: Megabytes, agg: Median, goal: noGoal},
		{name: "master peak RSS (VmHWM)", unit: Megabytes, agg: Median, goal: noGoal},
		{name: "backup CPU", unit: Percent, agg: Median, goal: noGoal},
		{name: "all settled after the start", unit: Seconds, agg: Median, goal: func(iv time.Duration) *Goal {
			switch iv {
			case second:
				return &Goal{Limit: (masterDown(iv) + 200*time.Millisecond).Seconds()}
			case ms100:
				return &Goal{Limit: 0.5}
			}
			return nil
		}},
		{name: "instances the lower node was master of", unit: Count, agg: Max, goal: at(Goal{Limit: 0}, ms100)},
	}}
}

// chaosScenario is the seeded fault plan of the chaos suite, run on a cluster of each
// daemon in turn.
func chaosScenario(cycles int, seed uint64) scenario {
	return scenario{"chaos", fmt.Sprintf("the chaos suite's plan of seed %d, %d cycles, three nodes of one daemon", seed, cycles), []figure{
		{name: "total client outage", unit: Seconds, agg: Total, goal: func(time.Duration) *Goal { return &Goal{Limit: 0.5, OfKeepalived: true} }},
		{name: "longest client gap", unit: Seconds, agg: Max, goal: noGoal},
		{name: "faults", unit: Count, agg: Total, goal: noGoal},
		{name: "invariant violations (not excused by a machine stall)", unit: Count, agg: Total, goal: func(time.Duration) *Goal { return &Goal{Limit: 0} }},
	}}
}

// loadScenario is instances at 10 ms for minutes with every CPU busy, in one of the
// variants of scheduling.
func loadScenario(instances int, minutes float64, variant string) scenario {
	return scenario{"load", fmt.Sprintf("%d instances at 10 ms, CPUs saturated by stress-ng for %g min, %s", instances, minutes, variant), []figure{
		{name: "takeovers by the backup (false)", unit: Count, agg: Total, goal: func(time.Duration) *Goal { return &Goal{Limit: 0} }},
		{name: "latest periodic advert (vrrpd's advert_lateness_max)", unit: Seconds, agg: Max, goal: noGoal, vrrpdOnly: true},
		{name: "master CPU under load", unit: Percent, agg: Median, goal: noGoal},
	}}
}

// addRows makes the rows of s at each interval, in order, so that the table keeps its
// order whatever runs first.
func (t *Table) addRows(s scenario, intervals []time.Duration) {
	for _, f := range s.figures {
		for _, iv := range intervals {
			t.row(s, iv, f)
		}
	}
}

// row returns the row of figure f of s at interval iv.
func (t *Table) row(s scenario, iv time.Duration, f figure) *Row {
	r := t.Row(s.name, iv, f.name, f.unit, f.agg, f.goal(iv))
	r.VrrpdOnly = f.vrrpdOnly
	return r
}

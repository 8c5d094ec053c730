package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vrrpd/vrrpd/internal/daemons"
)

// Unit is what a figure counts.
type Unit int

// The units of figures.
const (
	Seconds   Unit = iota // a duration, in seconds
	Percent               // CPU time, in % of one CPU
	Megabytes             // memory, in MB (10^6 bytes)
	Runs                  // runs in which something happened: 1 or 0 per run
	Count                 // things counted in a run
)

// Agg says how a row sums up the runs of one daemon.
type Agg int

// The ways to sum up runs.
const (
	Median Agg = iota
	Max
	Total
)

// Goal is the bound a figure of vrrpd must stay within.
type Goal struct {
	Limit  float64 // in the row's unit, or a share of keepalived's figure
	Strict bool    // below Limit, not at it
	// OfKeepalived makes Limit a share of keepalived's figure in the same run.
	OfKeepalived bool
}

// met reports whether v is within the limit.
func (g Goal) met(v, limit float64) bool {
	if g.Strict {
		return v < limit
	}
	return v <= limit
}

// Row is one figure of one scenario at one interval, for every daemon.
type Row struct {
	Scenario string
	Interval time.Duration // 0: not one of the advert intervals
	Figure   string
	Unit     Unit
	Agg      Agg
	Goal     *Goal
	// VrrpdOnly rows have no figure for keepalived, which does not measure it.
	VrrpdOnly bool
	// Values holds one value per run that gave one; Failed counts the runs that did not.
	Values map[daemons.Kind][]float64
	Failed map[daemons.Kind]int
}

// Key names the row: scenario, interval and figure.
func (r *Row) Key() string {
	return fmt.Sprintf("%s | %s | %s", r.Scenario, intervalName(r.Interval), r.Figure)
}

func intervalName(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return d.String()
}

// Add records the value of one run of kind.
func (r *Row) Add(kind daemons.Kind, v float64) {
	if r.Values == nil {
		r.Values = map[daemons.Kind][]float64{}
	}
	r.Values[kind] = append(r.Values[kind], v)
}

// Fail records a run of kind that gave no value.
func (r *Row) Fail(kind daemons.Kind) {
	if r.Failed == nil {
		r.Failed = map[daemons.Kind]int{}
	}
	r.Failed[kind]++
}

// Value sums up the runs of kind; false when there is none.
func (r *Row) Value(kind daemons.Kind) (float64, bool) {
	vs := r.Values[kind]
	if len(vs) == 0 {
		return 0, false
	}
	switch r.Agg {
	case Max:
		return slices.Max(vs), true
	case Total:
		var s float64
		for _, v := range vs {
			s += v
		}
		return s, true
	}
	return median(vs), true
}

// median returns the median of vs, the mean of the middle two for an even count.
func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// format writes v in the row's unit.
func (r *Row) format(v float64, runs int) string {
	switch r.Unit {
	case Seconds:
		return formatSeconds(v)
	case Percent:
		return fmt.Sprintf("%.2f %%", v)
	case Megabytes:
		return fmt.Sprintf("%.1f MB", v)
	case Runs:
		return fmt.Sprintf("%g of %d", v, runs)
	}
	return fmt.Sprintf("%g", v)
}

// formatSeconds writes a duration given in seconds with three significant digits, in
// milliseconds below one second.
func formatSeconds(v float64) string {
	switch {
	case v == 0:
		return "0 ms"
	case v < 0.01:
		return fmt.Sprintf("%.2f ms", v*1e3)
	case v < 0.1:
		return fmt.Sprintf("%.1f ms", v*1e3)
	case v < 1:
		return fmt.Sprintf("%.0f ms", v*1e3)
	}
	return fmt.Sprintf("%.2f s", v)
}

// cell is what the table shows of kind: the summed-up value, and the runs that failed.
func (r *Row) cell(kind daemons.Kind) string {
	v, ok := r.Value(kind)
	failed := r.Failed[kind]
	runs := len(r.Values[kind]) + failed
	var s string
	switch {
	case kind == daemons.Keepalived && r.VrrpdOnly:
		return "n/a"
	case !ok && failed == 0:
		return "not run"
	case !ok:
		return fmt.Sprintf("no result (%d runs)", failed)
	default:
		s = r.format(v, runs)
	}
	if failed > 0 {
		s += fmt.Sprintf(" (%d of %d runs failed)", failed, runs)
	}
	return s
}

// ratio is vrrpd's figure over keepalived's, or "—" when it means nothing.
func (r *Row) ratio() string {
	k, ok1 := r.Value(daemons.Keepalived)
	v, ok2 := r.Value(daemons.Vrrpd)
	switch {
	case !ok1 || !ok2 || r.VrrpdOnly:
		return "—"
	case k == 0 && v == 0:
		return "equal"
	case k == 0:
		return "—"
	}
	q := v / k
	switch {
	case q >= 10:
		return fmt.Sprintf("%.0f×", q)
	case q >= 0.1:
		return fmt.Sprintf("%.2f×", q)
	case q >= 0.001:
		return fmt.Sprintf("%.3f×", q)
	}
	return fmt.Sprintf("%.1g×", q)
}

// goalText writes the goal in the row's unit.
func (r *Row) goalText() string {
	if r.Goal == nil {
		return "—"
	}
	op := "≤"
	if r.Goal.Strict {
		op = "<"
	}
	switch {
	case r.Goal.OfKeepalived:
		return fmt.Sprintf("%s %g × keepalived's", op, r.Goal.Limit)
	case r.Unit == Runs:
		return fmt.Sprintf("%s %g runs", op, r.Goal.Limit)
	}
	return op + " " + r.format(r.Goal.Limit, 0)
}

// limit is the bound the goal sets in the row's unit; false when it rests on a figure
// of keepalived that the run does not have.
func (r *Row) limit() (float64, bool) {
	if !r.Goal.OfKeepalived {
		return r.Goal.Limit, true
	}
	k, ok := r.Value(daemons.Keepalived)
	return r.Goal.Limit * k, ok
}

// Met says whether vrrpd's figure meets the goal: "yes", "no", or "—" without a goal or
// a figure.
func (r *Row) Met() string {
	if r.Goal == nil {
		return "—"
	}
	v, ok := r.Value(daemons.Vrrpd)
	limit, known := r.limit()
	switch {
	case !ok || !known || r.Failed[daemons.Vrrpd] > 0 && r.Agg != Median:
		return "—"
	case r.Goal.met(v, limit):
		return "yes"
	}
	return "**no**"
}

// aggName says how the row sums up its runs, for the figure's column.
func (r *Row) aggName() string {
	n := 0
	for _, vs := range r.Values {
		n = max(n, len(vs))
	}
	switch {
	case r.Unit == Runs:
		return ""
	case r.Agg == Max:
		return fmt.Sprintf(" (worst of %d)", n)
	case r.Agg == Total:
		return fmt.Sprintf(" (total of %d)", n)
	case n > 1:
		return fmt.Sprintf(" (median of %d)", n)
	}
	return ""
}

// Table is the rows of a run, in the order they were first made.
type Table struct {
	rows []*Row
	byID map[string]*Row
}

// Row returns the row of scenario, interval and figure, made with unit, agg and goal
// when it does not exist yet.
func (t *Table) Row(scenario string, interval time.Duration, figure string, unit Unit, agg Agg, goal *Goal) *Row {
	r := &Row{Scenario: scenario, Interval: interval, Figure: figure, Unit: unit, Agg: agg, Goal: goal}
	if t.byID == nil {
		t.byID = map[string]*Row{}
	}
	if old, ok := t.byID[r.Key()]; ok {
		return old
	}
	t.byID[r.Key()] = r
	t.rows = append(t.rows, r)
	return r
}

// Rows returns the rows in order.
func (t *Table) Rows() []*Row { return t.rows }

// Markdown renders the table.
func (t *Table) Markdown() string {
	var b strings.Builder
	b.WriteString("| scenario | adverts | figure | keepalived | vrrpd | vrrpd ÷ keepalived | goal (vrrpd) | met |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range t.rows {
		fmt.Fprintf(&b, "| %s | %s | %s%s | %s | %s | %s | %s | %s |\n", r.Scenario, intervalName(r.Interval), r.Figure, r.aggName(),
			r.cell(daemons.Keepalived), r.cell(daemons.Vrrpd), r.ratio(), r.goalText(), r.Met())
	}
	return b.String()
}

// Details lists every run's value of every row, for the record.
func (t *Table) Details() string {
	var b strings.Builder
	for _, r := range t.rows {
		fmt.Fprintf(&b, "- %s, %s, %s:", r.Scenario, intervalName(r.Interval), r.Figure)
		for _, k := range []daemons.Kind{daemons.Keepalived, daemons.Vrrpd} {
			var vs []string
			for _, v := range r.Values[k] {
				vs = append(vs, r.format(v, 1))
			}
			if r.Unit == Runs {
				vs = vs[:0]
				for _, v := range r.Values[k] {
					vs = append(vs, fmt.Sprintf("%g", v))
				}
			}
			s := strings.Join(vs, ", ")
			if n := r.Failed[k]; n > 0 {
				s += fmt.Sprintf(" and %d failed", n)
			}
			if s == "" {
				s = "none"
			}
			fmt.Fprintf(&b, " %s %s;", k, s)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Missed returns the rows whose goal vrrpd did not meet.
func (t *Table) Missed() []*Row {
	var out []*Row
	for _, r := range t.rows {
		if r.Met() == "**no**" {
			out = append(out, r)
		}
	}
	return out
}

// roundMB turns kB into MB.
func roundMB(kB int64) float64 { return math.Round(float64(kB)*1024/1e5) / 10 }

package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/daemons"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"one", []float64{3}, 3},
		{"odd, unsorted", []float64{5, 1, 3}, 3},
		{"even: mean of the middle two", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestRowCells(t *testing.T) {
	k, v := daemons.Keepalived, daemons.Vrrpd
	tests := []struct {
		name                  string
		row                   Row
		keep, vrrpd, ratio    string
		goal, met, aggregated string
	}{
		{
			name: "outage, median, goal met",
			row: Row{Unit: Seconds, Agg: Median, Goal: &Goal{Limit: 0.005, Strict: true},
				Values: map[daemons.Kind][]float64{k: {0.61, 0.62, 0.60}, v: {0, 0.003, 0}}},
			keep: "610 ms", vrrpd: "0 ms", ratio: "0×", goal: "< 5.00 ms", met: "yes", aggregated: " (median of 3)",
		},
		{
			name: "goal missed, a failed run",
			row: Row{Unit: Seconds, Agg: Median, Goal: &Goal{Limit: 0.040},
				Values: map[daemons.Kind][]float64{k: {0.0209}, v: {0.0412}}, Failed: map[daemons.Kind]int{v: 1}},
			keep: "20.9 ms", vrrpd: "41.2 ms (1 of 2 runs failed)", ratio: "1.97×", goal: "≤ 40.0 ms", met: "**no**",
		},
		{
			name: "runs stranded, total",
			row: Row{Unit: Runs, Agg: Total, Goal: &Goal{Limit: 0},
				Values: map[daemons.Kind][]float64{k: {1, 0, 1}, v: {0, 0, 0}}},
			keep: "2 of 3", vrrpd: "0 of 3", ratio: "0×", goal: "≤ 0 runs", met: "yes",
		},
		{
			name: "worst of, both zero",
			row:  Row{Unit: Count, Agg: Max, Values: map[daemons.Kind][]float64{k: {0, 0}, v: {0, 0}}},
			keep: "0", vrrpd: "0", ratio: "equal", goal: "—", met: "—", aggregated: " (worst of 2)",
		},
		{
			name: "memory and CPU",
			row:  Row{Unit: Megabytes, Agg: Median, Goal: &Goal{Limit: 20}, Values: map[daemons.Kind][]float64{k: {14.5}, v: {59}}},
			keep: "14.5 MB", vrrpd: "59.0 MB", ratio: "4.07×", goal: "≤ 20.0 MB", met: "**no**",
		},
		{
			name: "vrrpd alone",
			row:  Row{Unit: Seconds, Agg: Max, VrrpdOnly: true, Values: map[daemons.Kind][]float64{v: {0.0066}}},
			keep: "n/a", vrrpd: "6.60 ms", ratio: "—", goal: "—", met: "—", aggregated: " (worst of 1)",
		},
		{
			name: "a share of keepalived's, met",
			row: Row{Unit: Seconds, Agg: Total, Goal: &Goal{Limit: 0.5, OfKeepalived: true},
				Values: map[daemons.Kind][]float64{k: {24.2}, v: {12.1}}},
			keep: "24.20 s", vrrpd: "12.10 s", ratio: "0.50×", goal: "≤ 0.5 × keepalived's", met: "yes", aggregated: " (total of 1)",
		},
		{
			name: "a share of keepalived's, missed",
			row: Row{Unit: Seconds, Agg: Total, Goal: &Goal{Limit: 0.5, OfKeepalived: true},
				Values: map[daemons.Kind][]float64{k: {24.2}, v: {12.2}}},
			keep: "24.20 s", vrrpd: "12.20 s", ratio: "0.50×", goal: "≤ 0.5 × keepalived's", met: "**no**", aggregated: " (total of 1)",
		},
		{
			name: "a share of keepalived's, keepalived not run",
			row: Row{Unit: Seconds, Agg: Total, Goal: &Goal{Limit: 0.5, OfKeepalived: true},
				Values: map[daemons.Kind][]float64{v: {12.1}}},
			keep: "not run", vrrpd: "12.10 s", ratio: "—", goal: "≤ 0.5 × keepalived's", met: "—", aggregated: " (total of 1)",
		},
		{
			name: "not run",
			row:  Row{Unit: Percent, Agg: Median},
			keep: "not run", vrrpd: "not run", ratio: "—", goal: "—", met: "—",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.row
			got := []string{r.cell(k), r.cell(v), r.ratio(), r.goalText(), r.Met(), r.aggName()}
			want := []string{tt.keep, tt.vrrpd, tt.ratio, tt.goal, tt.met, tt.aggregated}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("got %q, want %q (all: %q)", got[i], want[i], got)
				}
			}
		})
	}
}

// TestTableOrder: rows keep the order they were made in, and the same key gives the
// same row.
func TestTableOrder(t *testing.T) {
	var tb Table
	s := failoverScenarios[0]
	tb.addRows(s, []time.Duration{second, ms100})
	tb.row(s, ms100, s.figures[0]).Add(daemons.Vrrpd, 0.001)
	tb.row(s, second, s.figures[0]).Add(daemons.Keepalived, 0.6)
	rows := tb.Rows()
	if len(rows) != 2 || rows[0].Interval != second || rows[1].Interval != ms100 {
		t.Fatalf("rows %+v", rows)
	}
	if len(rows[1].Values[daemons.Vrrpd]) != 1 || len(rows[0].Values[daemons.Keepalived]) != 1 {
		t.Errorf("values went to the wrong rows: %+v", rows)
	}
	md := tb.Markdown()
	if !strings.Contains(md, "| graceful stop of the master (SIGTERM) | 1s | client outage | 600 ms | not run | — | < 5.00 ms | — |") {
		t.Errorf("markdown:\n%s", md)
	}
}

// TestGoals are the requirements' figures.
func TestGoals(t *testing.T) {
	find := func(s scenario, name string) figure {
		for _, f := range s.figures {
			if f.name == name {
				return f
			}
		}
		t.Fatalf("%s has no figure %q", s.id, name)
		return figure{}
	}
	byID := map[string]scenario{}
	for _, s := range failoverScenarios {
		byID[s.id] = s
	}
	scale := scaleScenario(1000)
	tests := []struct {
		s        scenario
		figure   string
		interval time.Duration
		want     float64 // 0 with none: no goal
		none     bool
	}{
		{byID["stop"], "client outage", second, 0.005, false},
		{byID["stop"], "client outage", ms10, 0, true},
		{byID["lowered"], "time from the change until the backup serves", second, 0.614375, false},
		{byID["lowered"], "time from the change until the backup serves", ms100, 0.0659375, false},
		{byID["host-loss"], "client outage", ms10, 0.040, false},
		{byID["host-loss"], "client outage", second, 0, true},
		{byID["split-brain"], "client outage after the heal", ms100, 0.1, false},
		{scale, "all settled after the start", second, 3.6140625, false},
		{scale, "all settled after the start", ms100, 0.5, false},
		{scale, "master CPU", ms100, 8, false},
		{scale, "master RSS (VmRSS)", second, 20, false},
	}
	for _, tt := range tests {
		g := find(tt.s, tt.figure).goal(tt.interval)
		switch {
		case tt.none && g != nil:
			t.Errorf("%s %s at %v: goal %+v, want none", tt.s.id, tt.figure, tt.interval, *g)
		case !tt.none && (g == nil || g.Limit != tt.want):
			t.Errorf("%s %s at %v: goal %+v, want %v", tt.s.id, tt.figure, tt.interval, g, tt.want)
		}
	}
}

// TestPerformanceDocCurrent: docs/performance.md was generated by a whole run: every
// scenario is in it, and no cell was left unrun.
func TestPerformanceDocCurrent(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "performance.md"))
	if err != nil {
		t.Fatalf("docs/performance.md: %v (generate it with `make bench-failover` as root)", err)
	}
	doc := string(b)
	if !strings.HasPrefix(strings.SplitN(doc, "\n\n", 3)[1], docMarker) {
		t.Error("docs/performance.md was not generated by the benchmark")
	}
	names := []string{scaleScenario(1000).name, "100 instances at 10 ms, CPUs saturated by stress-ng"}
	for _, s := range failoverScenarios {
		names = append(names, s.name)
	}
	for _, n := range names {
		if !strings.Contains(doc, "| "+n) {
			t.Errorf("docs/performance.md has no row of %q: run `make bench-failover`", n)
		}
	}
	for _, iv := range []string{"| 1s |", "| 100ms |", "| 10ms |"} {
		if !strings.Contains(doc, iv) {
			t.Errorf("docs/performance.md has no row at %s", iv)
		}
	}
	if strings.Contains(doc, "| not run |") {
		t.Error("docs/performance.md has cells that were not run: generate it from a whole run")
	}
}

package metrics

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/vrrpd/vrrpd/control"
)

// scrapeText is what the endpoint serves of the exporter, go_* and process_*
// families among the others.
func scrapeText(t testing.TB, e *Exporter) string {
	t.Helper()
	resp := scrape(e.scraper(slog.New(slog.DiscardHandler), scrapeTimeout), "")
	if resp.status != 200 {
		t.Fatalf("scrape: %d %s", resp.status, resp.body)
	}
	return string(resp.body)
}

// scraperOf reads the exporter's scrapes as Prometheus reads them, for client_golang's
// test helpers.
func scraperOf(t testing.TB, e *Exporter) prometheus.Gatherer {
	return textGatherer(func() (io.Reader, error) { return strings.NewReader(scrapeText(t, e)), nil })
}

// clientGolangSelf gathers what client_golang's default Go and process collectors
// export in this process, by name.
func clientGolangSelf(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// labelsOf is a sample's labels, name="value" in order.
func labelsOf(m *dto.Metric) []string {
	var out []string
	for _, l := range m.GetLabel() {
		out = append(out, l.GetName()+"="+l.GetValue())
	}
	return out
}

// valueOf is a gauge's, counter's or untyped sample's value, or a summary's count.
func valueOf(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Summary != nil:
		return float64(m.GetSummary().GetSampleCount())
	}
	return m.GetUntyped().GetValue()
}

// TestGoProcessAsClientGolang: the go_* and process_* families of a scrape are those of
// client_golang's default Go and process collectors, of the same HELP, TYPE and labels;
// the values that do not move are the same, the others near or not below.
func TestGoProcessAsClientGolang(t *testing.T) {
	want := clientGolangSelf(t)
	got := parse(t, strings.NewReader(scrapeText(t, exporterOf(t, twoInstances))))
	for name := range got {
		if !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			delete(got, name)
		}
	}
	if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
		t.Fatalf("families:\n got %v\nwant %v", g, w)
	}
	for name, w := range want {
		g := got[name]
		if g.GetHelp() != w.GetHelp() || g.GetType() != w.GetType() {
			t.Errorf("%s: HELP %q TYPE %v, want HELP %q TYPE %v", name, g.GetHelp(), g.GetType(), w.GetHelp(), w.GetType())
			continue
		}
		if len(g.GetMetric()) != 1 || len(w.GetMetric()) != 1 {
			t.Errorf("%s: %d samples, want %d", name, len(g.GetMetric()), len(w.GetMetric()))
			continue
		}
		gm, wm := g.GetMetric()[0], w.GetMetric()[0]
		if gl, wl := labelsOf(gm), labelsOf(wm); !slices.Equal(gl, wl) {
			t.Errorf("%s: labels %v, want %v", name, gl, wl)
		}
		if w.GetType() == dto.MetricType_SUMMARY {
			var gq, wq []float64
			for _, q := range gm.GetSummary().GetQuantile() {
				gq = append(gq, q.GetQuantile())
			}
			for _, q := range wm.GetSummary().GetQuantile() {
				wq = append(wq, q.GetQuantile())
			}
			if !slices.Equal(gq, wq) {
				t.Errorf("%s: quantiles %v, want %v", name, gq, wq)
			}
		}
		gv, wv := valueOf(gm), valueOf(wm)
		switch {
		case name == "go_goroutines" || name == "go_threads" || name == "process_open_fds":
			// A few may come and go between the two readings.
			if math.Abs(gv-wv) > 10 {
				t.Errorf("%s %v, want about %v", name, gv, wv)
			}
		case w.GetType() == dto.MetricType_COUNTER || w.GetType() == dto.MetricType_SUMMARY:
			// Read after client_golang's: not less.
			if gv < wv {
				t.Errorf("%s %v, below client_golang's %v", name, gv, wv)
			}
		case slices.Contains([]string{"go_gc_gogc_percent", "go_gc_gomemlimit_bytes", "go_sched_gomaxprocs_threads", "go_info",
			"process_max_fds", "process_virtual_memory_max_bytes", "process_start_time_seconds"}, name):
			if gv != wv {
				t.Errorf("%s %v, want %v", name, gv, wv)
			}
		case gv <= 0 && name != "go_memstats_last_gc_time_seconds":
			t.Errorf("%s %v", name, gv)
		}
	}

	// The memory figures add up as client_golang adds them.
	v := func(name string) float64 { return valueOf(got[name].GetMetric()[0]) }
	if v("go_memstats_heap_sys_bytes") != v("go_memstats_heap_inuse_bytes")+v("go_memstats_heap_idle_bytes") ||
		v("go_memstats_alloc_bytes") != v("go_memstats_heap_alloc_bytes") {
		t.Error("go_memstats_heap_sys_bytes is not inuse + idle, or alloc_bytes not heap_alloc_bytes")
	}
}

// TestScrapeInNameOrder: a scrape lists its families once each, by name, the go_* and
// process_* ones among the vrrpd_* ones as client_golang's registry merged them.
func TestScrapeInNameOrder(t *testing.T) {
	text := scrapeText(t, exporterOf(t, oddInstances))
	var names []string
	for line := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			names = append(names, strings.Fields(rest)[0])
		}
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("families out of order or twice: %v", names)
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "vrrpd_build_info", "vrrpd_instance_state"} {
		if !slices.Contains(names, name) {
			t.Errorf("no %s in %v", name, names)
		}
	}
	// The families of the status are written as vrrpd metrics prints them.
	var printed bytes.Buffer
	if err := exporterOf(t, oddInstances).WriteText(&printed); err != nil {
		t.Fatal(err)
	}
	var own strings.Builder
	family := ""
	for line := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			family = strings.Fields(rest)[0]
		}
		if strings.HasPrefix(family, "vrrpd_") {
			own.WriteString(line)
		}
	}
	if own.String() != printed.String() {
		t.Errorf("the vrrpd_* families differ from what vrrpd metrics prints:\n%s", firstDifference(own.String(), printed.String()))
	}
}

// TestProcessPartly: the process_* families of what could not be read in /proc are
// left out, as client_golang leaves them out, and the scrape goes on.
func TestProcessPartly(t *testing.T) {
	st := twoInstances()
	e := exporterOf(t, func() control.Status { return st })
	v := newView(&st)
	v.rt = readRuntime()
	unread := errors.New("unreadable")
	v.proc = &processSample{fds: 7, statErr: unread, limitsErr: unread, netErr: unread}
	var b bytes.Buffer
	if err := e.write(&b, v); err != nil {
		t.Fatal(err)
	}
	var process []string
	for line := range strings.Lines(b.String()) {
		if strings.HasPrefix(line, "process_") {
			process = append(process, line)
		}
	}
	if !slices.Equal(process, []string{"process_open_fds 7\n"}) || !strings.Contains(b.String(), "\ngo_goroutines ") {
		t.Errorf("process_* samples %q, in:\n%s", process, b.String())
	}
}

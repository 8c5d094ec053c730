package metrics

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/vrrpd/vrrpd/control"
)

// Exporter turns the daemon's status into metrics at each scrape. The families of
// the instances and trackers are written straight from the status, a thousand
// instances in a few milliseconds; vrrpd_build_info and the Go and process collectors
// come from a client_golang registry. Safe for concurrent use.
type Exporter struct {
	status   func() control.Status
	reg      *prometheus.Registry
	families []*family
}

// NewExporter returns an exporter of the status that status returns; it is called once
// per scrape, concurrently when scrapes overlap. version is vrrpd_build_info's.
func NewExporter(status func() control.Status, version string) (*Exporter, error) {
	reg := prometheus.NewRegistry()
	build := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "vrrpd_build_info",
		Help:        "Always 1, with the version of vrrpd and the Go version it was built with.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	}, func() float64 { return 1 })
	for _, c := range []prometheus.Collector{
		build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return &Exporter{status: status, reg: reg, families: families()}, nil
}

// WriteText writes the vrrpd_* metrics in the Prometheus text format, as a scrape gets
// them: what `vrrpd metrics` prints for node_exporter's textfile collector. The go_*
// and process_* metrics are left out: node_exporter has its own, of the same names,
// and refuses a file that repeats them. A series that cannot be exported (a label
// value that is not UTF-8, a duplicate) is an error, and nothing is written.
func (e *Exporter) WriteText(w io.Writer) error {
	st := e.status()
	v := newView(&st)
	if len(v.errs) > 0 {
		return fmt.Errorf("metrics: %w", errors.Join(v.errs...))
	}
	mfs, err := e.reg.Gather()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	var own []*dto.MetricFamily
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "vrrpd_") {
			own = append(own, mf)
		}
	}
	return e.write(w, v, own)
}

// write writes the families of the view and mfs, sorted by name, mfs sorted too.
func (e *Exporter) write(w io.Writer, v *view, mfs []*dto.MetricFamily) error {
	t := newTextWriter(w)
	enc := expfmt.NewEncoder(t, expfmt.NewFormat(expfmt.TypeTextPlain))
	var errs []error
	encode := func(mf *dto.MetricFamily) {
		if err := enc.Encode(mf); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range e.families {
		for len(mfs) > 0 && mfs[0].GetName() < f.name {
			encode(mfs[0])
			mfs = mfs[1:]
		}
		f.write(t, f, v)
	}
	for _, mf := range mfs {
		encode(mf)
	}
	if err := t.flush(); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("metrics: %w", errors.Join(errs...))
	}
	return nil
}

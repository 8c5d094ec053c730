package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/vrrpd/vrrpd/control"
)

// Exporter turns the daemon's status into metrics at each scrape. Every family is
// written straight into the text format: the instances' and trackers' from the
// status, a thousand instances in a few milliseconds; vrrpd_build_info; and the Go
// runtime's and the process's, with the names and text of client_golang's collectors,
// which vrrpd no longer links. Safe for concurrent use.
type Exporter struct {
	status   func() control.Status
	families []*family
}

// NewExporter returns an exporter of the status that status returns; it is called once
// per scrape, concurrently when scrapes overlap. version is vrrpd_build_info's: one
// that is not UTF-8 is an error, as no scraper would take the series.
func NewExporter(status func() control.Status, version string) (*Exporter, error) {
	if !utf8.ValidString(version) {
		return nil, fmt.Errorf("metrics: version %q is not UTF-8", version)
	}
	fs := append(families(), buildInfo(version))
	fs = append(fs, goFamilies()...)
	fs = append(fs, processFamilies()...)
	slices.SortFunc(fs, func(a, b *family) int { return cmp.Compare(a.name, b.name) })
	return &Exporter{status: status, families: fs}, nil
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
	// A view without a reading of the runtime and the process: their families write
	// nothing.
	return e.write(w, v)
}

// write writes the families of the view, by name.
func (e *Exporter) write(w io.Writer, v *view) error {
	t := newTextWriter(w)
	for _, f := range e.families {
		f.write(t, f, v)
	}
	if err := t.flush(); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

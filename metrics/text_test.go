package metrics

import (
	"bytes"
	"errors"
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// expfmtText is what expfmt writes of a gauge m of value v with the label l="value"
// and the HELP text help.
func expfmtText(t *testing.T, help, value string, v float64) string {
	t.Helper()
	mf := &dto.MetricFamily{
		Name: proto.String("m"), Help: proto.String(help), Type: dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{
			Label: []*dto.LabelPair{{Name: proto.String("l"), Value: proto.String(value)}},
			Gauge: &dto.Gauge{Value: proto.Float64(v)},
		}},
	}
	var b bytes.Buffer
	if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestTextAsExpfmt: values and escaped strings come out as expfmt writes them.
func TestTextAsExpfmt(t *testing.T) {
	tests := []struct {
		name        string
		help, value string
		v           float64
	}{
		{"zero", "plain", "a", 0},
		{"negative zero", "plain", "a", math.Copysign(0, -1)},
		{"one", "plain", "a", 1},
		{"minus one", "plain", "a", -1},
		{"below a million", "plain", "a", 999999},
		{"minus below a million", "plain", "a", -999999},
		{"a million", "plain", "a", 1e6},
		{"above 2^53", "plain", "a", 1<<53 + 2},
		{"2^60", "plain", "a", 1 << 60},
		{"fraction", "plain", "a", 3.41484375},
		{"small", "plain", "a", 1e-05},
		{"half", "plain", "a", 123456.5},
		{"timestamp", "plain", "a", 1.795327946123e+09},
		{"NaN", "plain", "a", math.NaN()},
		{"+Inf", "plain", "a", math.Inf(1)},
		{"-Inf", "plain", "a", math.Inf(-1)},
		{"escapes", "back\\slash \"quoted\"\nnew line", "back\\slash \"quoted\"\nnew line", 2},
		{"only escapes", "\\\n\"", "\\\n\"", 2},
		{"UTF-8", "señal ✓", "señal ✓", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFamily("m", tt.help, gauge, nil)
			var b bytes.Buffer
			w := newTextWriter(&b)
			w.begin(f)
			w.label('{', "l", tt.value)
			w.closeLabels()
			w.value(tt.v)
			if err := w.flush(); err != nil {
				t.Fatal(err)
			}
			if want := expfmtText(t, tt.help, tt.value, tt.v); b.String() != want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), want)
			}
		})
	}
}

// TestTextWriterError: the first error of the writer is kept and returned.
func TestTextWriterError(t *testing.T) {
	w := newTextWriter(failingWriter{})
	f := newFamily("m", "help", gauge, nil)
	for range 2 * flushAt / len("m 1\n") {
		w.begin(f)
		w.value(1)
	}
	if err := w.flush(); !errors.Is(err, errGone) {
		t.Errorf("flush: %v, want %v", err, errGone)
	}
}

var errGone = errors.New("gone")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errGone }

package metrics

import (
	"io"
	"math"
	"strconv"
)

// textWriter writes the Prometheus text exposition format 0.0.4 a line at a time into
// a buffer it hands to w in chunks, so that a scrape of a thousand instances costs a
// few appends per sample and no allocation. The first error of w sticks: later writes
// are dropped, and flush returns it.
type textWriter struct {
	w   io.Writer
	buf []byte
	err error
	// family is the family whose HELP and TYPE lines were written last: a family's
	// header goes out with its first sample, so that a family without samples is
	// left out, as client_golang leaves it out.
	family *family
}

// flushAt is the buffered size at which the buffer goes to the writer.
const flushAt = 128 << 10

func newTextWriter(w io.Writer) *textWriter {
	return &textWriter{w: w, buf: make([]byte, 0, flushAt+4<<10)}
}

func (t *textWriter) flushIfFull() {
	if len(t.buf) >= flushAt {
		t.flush()
	}
}

// flush hands the buffer to the writer and returns the first error it gave.
func (t *textWriter) flush() error {
	if t.err == nil && len(t.buf) > 0 {
		_, t.err = t.w.Write(t.buf)
	}
	t.buf = t.buf[:0]
	return t.err
}

// begin starts a sample of f: its header first if it is f's first, then its name.
func (t *textWriter) begin(f *family) {
	if t.family != f {
		t.family = f
		t.buf = append(t.buf, f.header...)
	}
	t.buf = append(t.buf, f.name...)
}

// beginSuffixed starts a sample of f named with a suffix, such as a histogram's
// _bucket.
func (t *textWriter) beginSuffixed(f *family, suffix string) {
	t.begin(f)
	t.buf = append(t.buf, suffix...)
}

// label writes sep (the '{' before the first label, ',' before the others) and the
// label name="value".
func (t *textWriter) label(sep byte, name, value string) {
	t.buf = append(t.buf, sep)
	t.buf = append(t.buf, name...)
	t.buf = append(t.buf, '=', '"')
	t.buf = appendEscaped(t.buf, value, true)
	t.buf = append(t.buf, '"')
}

// instanceHead starts a sample of f of the instance l, up to its interface label:
// the family's labels follow, then instanceTail.
func (t *textWriter) instanceHead(f *family, l *instanceLabels) {
	t.begin(f)
	t.buf = append(t.buf, l.head...)
}

// instanceTail ends a sample of the instance l with its vrid and vrrp_instance labels
// and the value.
func (t *textWriter) instanceTail(l *instanceLabels, v float64) {
	t.buf = append(t.buf, ',')
	t.buf = append(t.buf, l.tail...)
	t.value(v)
}

// bucket writes a histogram's bucket of bound le for a script, the label that comes
// last as expfmt writes it.
func (t *textWriter) bucket(f *family, script string, le float64, count uint64) {
	t.beginSuffixed(f, "_bucket")
	t.label('{', "script", script)
	t.buf = append(t.buf, `,le="`...)
	t.buf = appendFloat(t.buf, le)
	t.buf = append(t.buf, '"', '}')
	t.value(float64(count))
}

// closeLabels writes the '}' after the last label.
func (t *textWriter) closeLabels() { t.buf = append(t.buf, '}') }

// value ends the sample with its value.
func (t *textWriter) value(v float64) {
	t.buf = append(t.buf, ' ')
	t.buf = appendFloat(t.buf, v)
	t.buf = append(t.buf, '\n')
	t.flushIfFull()
}

// appendFloat formats v as expfmt does: the shortest 'g' form that reads back as v,
// with NaN, +Inf and -Inf spelled so, and 0 for -0. Whole numbers below a million,
// most of a scrape, take a shortcut to the same text.
func appendFloat(b []byte, v float64) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1e6 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendEscaped appends s escaped as the text format wants a label value (quoted) or
// a HELP text: a backslash and a new line are written \\ and \n, and in a label value
// a double quote \".
func appendEscaped(b []byte, s string, quoted bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc byte
		switch s[i] {
		case '\\':
			esc = '\\'
		case '\n':
			esc = 'n'
		case '"':
			if !quoted {
				continue
			}
			esc = '"'
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\', esc)
		start = i + 1
	}
	return append(b, s[start:]...)
}

package control

import (
	"io"
	"unicode/utf8"
)

// writeMetrics sends the reply to `vrrpd metrics`, {"metrics":"..."}, as metrics writes
// the text: escaped for a JSON string on the way out, not built in memory, since the
// text of a thousand instances is megabytes that a reply built whole holds several
// times over. An error before the text starts is answered with an errorReply; one
// after it started cuts the reply short, which the client reports as such.
func writeMetrics(w io.Writer, metrics func(io.Writer) error) error {
	js := &jsonString{w: w}
	if err := metrics(js); err != nil {
		if !js.started {
			return writeJSON(w, errorReply{"metrics: " + err.Error()})
		}
		return err
	}
	js.close()
	js.out = append(js.out, "}\n"...)
	return js.flush()
}

// metricsReplyStart opens the reply: metricsReply's field, then its string.
const metricsReplyStart = `{"metrics":"`

// jsonString writes what it is given as the inside of a JSON string, escaped as
// encoding/json escapes it without its HTML escapes: ", \ and the control characters
// escaped, a byte that is not UTF-8 written as U+FFFD, U+2028 and U+2029 escaped for
// JavaScript. A character split between two writes is kept until the next. The first
// error of w sticks.
type jsonString struct {
	w       io.Writer
	out     []byte // escaped, for w
	err     error
	started bool
	// partial is the start of a character that a write ended in the middle of: at
	// most three bytes that could begin one.
	partial []byte
}

// flushAt is how much escaped text goes to the writer at once.
const flushAt = 64 << 10

func (j *jsonString) start() {
	if !j.started {
		j.started = true
		j.out = append(make([]byte, 0, flushAt+4<<10), metricsReplyStart...)
	}
}

// Write escapes p.
func (j *jsonString) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, j.err
	}
	j.start()
	n := len(p)
	if len(j.partial) > 0 {
		// Rare: only a character outside ASCII split by the writer's buffering.
		p = append(j.partial, p...)
		j.partial = nil
	}
	for len(p) > 0 && j.err == nil {
		// A piece at a time, so that the buffer stays near its size.
		piece := p[:min(len(p), flushAt)]
		rest := j.escape(piece, false)
		p = p[len(piece)-len(rest):]
		if len(j.out) >= flushAt {
			j.flush()
		}
		if len(rest) > 0 && len(rest) == len(p) {
			j.partial = append(j.partial, rest...) // the rest of it comes with the next write
			break
		}
	}
	return n, j.err
}

// close ends the string, with U+FFFD for a character cut off at the end.
func (j *jsonString) close() {
	j.start()
	if len(j.partial) > 0 {
		j.escape(j.partial, true)
		j.partial = nil
	}
	j.out = append(j.out, '"')
}

func (j *jsonString) flush() error {
	if j.err == nil && len(j.out) > 0 {
		_, j.err = j.w.Write(j.out)
	}
	j.out = j.out[:0]
	return j.err
}

// escape appends p escaped to j.out and returns the start of a character it ends in
// the middle of, unless whole says p is all there is.
func (j *jsonString) escape(p []byte, whole bool) []byte {
	const hex = "0123456789abcdef"
	out := j.out
	start := 0
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			out = append(out, p[start:i]...)
			switch c {
			case '"', '\\':
				out = append(out, '\\', c)
			case '\n':
				out = append(out, '\\', 'n')
			case '\r':
				out = append(out, '\\', 'r')
			case '\t':
				out = append(out, '\\', 't')
			case '\b':
				out = append(out, '\\', 'b')
			case '\f':
				out = append(out, '\\', 'f')
			default:
				out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		if !whole && !utf8.FullRune(p[i:]) {
			j.out = append(out, p[start:i]...)
			return p[i:]
		}
		r, size := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, p[start:i]...)
			out = append(out, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			out = append(out, p[start:i]...)
			out = append(out, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	j.out = append(out, p[start:]...)
	return nil
}

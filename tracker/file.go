package tracker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/vrrpd/vrrpd/config"
)

// fileTracker reads a number from a file whenever the file changes, keepalived's
// vrrp_track_file: the maintenance switch (`echo -1000 > /etc/vrrpd/drain`). It watches
// the file's directory with inotify, so that writing the file in place and an editor's
// rename over it both count, and so does removing it.
//
// The number is read as keepalived reads it (strtol with base 0 on the first 127
// bytes): leading white space is skipped, then an optional sign and digits, in hex
// after 0x and in octal after a leading 0; what follows is ignored. A missing,
// unreadable or empty file, or one without a number, counts as 0, as in keepalived,
// and the number is kept within -254..254.
type fileTracker struct {
	base
	cfg config.File
}

func newFileTracker(f config.File, env *Env, log *slog.Logger, notify func()) (*fileTracker, error) {
	dir := filepath.Dir(f.Path)
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("directory of %s: %w", f.Path, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: %s is not a directory", f.Path, dir)
	}
	return &fileTracker{base: newBase(KindFile, f.Name, env, log, notify), cfg: f}, nil
}

func (t *fileTracker) start(ctx context.Context, wg *sync.WaitGroup) {
	t.begin()
	w, err := watchDir(filepath.Dir(t.cfg.Path))
	if err != nil {
		t.log.Error("file not watched: changes are not seen", "path", t.cfg.Path, "error", err)
		t.read("; not watched: " + err.Error())
		return
	}
	t.read("")
	wg.Go(func() { t.run(ctx, w) })
}

// run reads the file again whenever an event names it.
func (t *fileTracker) run(ctx context.Context, w *dirWatch) {
	defer w.close()
	stop := context.AfterFunc(ctx, w.close)
	defer stop()
	name := filepath.Base(t.cfg.Path)
	for {
		names, err := w.next()
		if err != nil {
			if ctx.Err() == nil {
				t.log.Error("file no longer watched", "path", t.cfg.Path, "error", err)
				t.read("; no longer watched: " + err.Error())
			}
			return
		}
		for _, n := range names {
			if n == name {
				t.read("")
				break
			}
		}
	}
}

// read reads the number and reports it; note ends Detail.
func (t *fileTracker) read(note string) {
	v, detail := readValue(t.cfg.Path)
	t.set(OK, v, detail+note)
}

// Bounds of a tracked file's number, as keepalived's.
const (
	fileValueMax = 254
	fileReadMax  = 127
)

// readValue reads the number in the file at path, with what Detail says of it.
func readValue(path string) (int, string) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, "0 (no file)"
	case err != nil:
		return 0, fmt.Sprintf("0 (cannot read: %v)", err)
	}
	defer f.Close()
	buf := make([]byte, fileReadMax)
	n, err := f.Read(buf)
	if err != nil && n == 0 && !errors.Is(err, io.EOF) {
		return 0, fmt.Sprintf("0 (cannot read: %v)", err)
	}
	text := string(buf[:n])
	v, digits, rest := parseValue(text)
	kept := min(max(v, -fileValueMax), fileValueMax)
	detail := fmt.Sprintf("%d", kept)
	switch {
	case strings.TrimSpace(text) == "":
		detail += " (empty file)"
	case digits == 0:
		detail += fmt.Sprintf(" (no number in %q)", trimQuote(text))
	case kept != v:
		detail += fmt.Sprintf(" (the file says %s, kept within -254..254)", trimQuote(text))
	case rest != "":
		detail += fmt.Sprintf(" (%q ignored)", trimQuote(rest))
	}
	return kept, detail
}

// trimQuote trims white space and cuts s for a message.
func trimQuote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

// parseValue reads a number at the start of s as C's strtol with base 0: white space,
// a sign, then hex digits after 0x, octal after 0, decimal otherwise. It returns the
// value (saturated far beyond the range that counts), the number of digits read, and
// what follows them but white space.
func parseValue(s string) (v, digits int, rest string) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base := 10
	switch {
	case i+2 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && digitValue(s[i+2]) < 16:
		base, i = 16, i+2
	case i < len(s) && s[i] == '0':
		base = 8
	}
	const saturated = 1 << 32
	for ; i < len(s); i++ {
		d := digitValue(s[i])
		if d >= base {
			break
		}
		v = min(v*base+d, saturated)
		digits++
	}
	if neg {
		v = -v
	}
	return v, digits, strings.TrimSpace(s[i:])
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// digitValue is the value of a digit in bases up to 16; 16 for anything else.
func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 16
}

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestSummaryAlignedInColour: in colour, the columns of show's summary are where they
// are in plain text.
func TestSummaryAlignedInColour(t *testing.T) {
	var plain, coloured bytes.Buffer
	now := time.Now()
	writeSummary(&plain, fakeStatus, now, palette{})
	writeSummary(&coloured, fakeStatus, now, palette{on: true})
	if !sgr.Match(coloured.Bytes()) {
		t.Fatalf("no colour:\n%s", coloured.String())
	}
	if got := sgr.ReplaceAllString(coloured.String(), ""); got != plain.String() {
		t.Errorf("in colour, without the colour codes:\n%s\nplain:\n%s", got, plain.String())
	}
}

// openPTY returns a pseudo-terminal: the side a program writes to, a terminal, and a
// function returning what was written once that side is closed.
func openPTY(t *testing.T) (*os.File, func() string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(m) // ends with EIO once the terminal side is closed
		out <- strings.ReplaceAll(string(b), "\r\n", "\n")
	}()
	return s, func() string {
		s.Close()
		select {
		case o := <-out:
			return o
		case <-time.After(5 * time.Second):
			t.Fatal("the terminal's output did not end")
			return ""
		}
	}
}

// TestTerminal runs show and events with a terminal for output: colour unless
// NO_COLOR says otherwise, and events as lines for a person unless --json.
func TestTerminal(t *testing.T) {
	sock := fakeDaemon(t, fakeStatus)
	tests := []struct {
		name    string
		args    []string
		noColor string
		want    []string
		absent  []string
	}{
		{"show in colour", []string{"show"}, "", []string{"\x1b[32mMASTER\x1b[0m", "\x1b[01mINSTANCE\x1b[0m"}, nil},
		{"show with NO_COLOR", []string{"show"}, "1", []string{"INSTANCE  STATE   VRID"}, []string{"\x1b["}},
		{"events", []string{"events"}, "1", []string{
			// Times are local: the fake daemon's events have the zero time.
			".000  web  BACKUP -> MASTER at priority 0\n",
			".000  tracker chk (script) FAILING\n",
		}, []string{`"type"`}},
		{"events in colour", []string{"events"}, "", []string{"BACKUP -> \x1b[32mMASTER\x1b[0m"}, nil},
		{"events --json", []string{"events", "--json"}, "", []string{`{"type":"transition","time":"0001-01-01T00:00:00Z","node":"lb1","instance":"web","from":"BACKUP","to":"MASTER"}`},
			[]string{"\x1b["}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tt.noColor)
			t.Setenv("TERM", "xterm")
			term, output := openPTY(t)
			var errOut bytes.Buffer
			run(append(tt.args, "--socket", sock), term, &errOut)
			out := output()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in:\n%q", w, out)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(out, a) {
					t.Errorf("%q in:\n%q", a, out)
				}
			}
		})
	}
}

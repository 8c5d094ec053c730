package runner

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// currentUser is the user the tests run programs as: the one running the tests.
func currentUser(t *testing.T) *User {
	t.Helper()
	cur, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	u, err := Lookup(cur.Username)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestRun runs real programs as the current user and reads how they ended.
func TestRun(t *testing.T) {
	u := currentUser(t)
	long := strings.Repeat("x", 300)
	tests := []struct {
		name     string
		argv     []string
		exit     int
		signal   syscall.Signal
		lastLine string
		success  bool
	}{
		{"exit status and last line", []string{"/bin/sh", "-c", "echo first; echo; echo 'the last line' >&2; exit 3"}, 3, 0, "the last line", false},
		{"success", []string{"/bin/sh", "-c", "exit 0"}, 0, 0, "", true},
		{"killed by a signal", []string{"/bin/sh", "-c", "kill -TERM $$"}, -1, syscall.SIGTERM, "", false},
		{"arguments without a shell", []string{"/bin/echo", "a b", "$HOME", "*"}, 0, 0, "a b $HOME *", true},
		{"working directory", []string{"/bin/sh", "-c", "pwd"}, 0, 0, "/", true},
		{"long last line", []string{"/bin/sh", "-c", "echo " + long}, 0, 0, strings.Repeat("x", 200) + "…", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Run(context.Background(), Command{Argv: tt.argv, User: *u, Timeout: 5 * time.Second})
			if res.Err != nil || res.PID == 0 || res.TimedOut {
				t.Fatalf("result %+v", res)
			}
			if res.ExitCode != tt.exit || res.Signal != tt.signal || res.Success() != tt.success {
				t.Errorf("exit %d, signal %v, success %v; want %d, %v, %v", res.ExitCode, res.Signal, res.Success(), tt.exit, tt.signal, tt.success)
			}
			if got := res.LastLine(200); got != tt.lastLine {
				t.Errorf("last line %q, want %q", got, tt.lastLine)
			}
		})
	}
}

// TestRunEnvironment: the program sees PATH, HOME and the extra variables, nothing of
// the daemon's own environment.
func TestRunEnvironment(t *testing.T) {
	t.Setenv("VRRPD_TEST_LEAK", "leaked")
	u := currentUser(t)
	res := Run(context.Background(), Command{Argv: []string{"/usr/bin/env"}, User: *u, Env: []string{"VRRPD_INSTANCE=web", "VRRPD_STATE=MASTER"}, Timeout: 5 * time.Second})
	if !res.Success() {
		t.Fatalf("result %+v", res)
	}
	home := u.Home
	if home == "" {
		home = "/"
	}
	got := strings.Split(strings.TrimSpace(string(res.Output)), "\n")
	want := []string{"PATH=" + Path, "HOME=" + home, "VRRPD_INSTANCE=web", "VRRPD_STATE=MASTER"}
	if !slices.Equal(got, want) {
		t.Errorf("environment:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRunRefused: a program that fails Check, or cannot run, never starts.
func TestRunRefused(t *testing.T) {
	u := currentUser(t)
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	prog := filepath.Join(dir, "prog")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(prog, 0o777); err != nil { // past the umask: writable by everyone
		t.Fatal(err)
	}
	tests := []struct {
		name string
		argv []string
		is   error
	}{
		{"writable by everyone", []string{prog}, ErrInsecure},
		{"missing", []string{filepath.Join(dir, "missing")}, os.ErrNotExist},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Run(context.Background(), Command{Argv: tt.argv, User: *u, Timeout: 5 * time.Second})
			if res.Err == nil || res.PID != 0 || res.Success() || res.ExitCode != -1 {
				t.Fatalf("result %+v, want not run", res)
			}
			if tt.is != nil && !errors.Is(res.Err, tt.is) {
				t.Errorf("error %v, want %v", res.Err, tt.is)
			}
		})
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the refused program ran")
	}
}

// TestRunAsUser: as root, a program runs as its user and group, without root's
// supplementary groups, with the user's home.
func TestRunAsUser(t *testing.T) {
	netnstest.RequireRoot(t, "run a program as another user")
	nobody, err := Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	home := nobody.Home
	if home == "" {
		home = "/"
	}
	tests := []struct{ cmd, want string }{
		{"id -u", strconv.FormatUint(uint64(nobody.UID), 10)},
		{"id -g", strconv.FormatUint(uint64(nobody.GID), 10)},
		{"id -G", strconv.FormatUint(uint64(nobody.GID), 10)},
		{"echo $HOME", home},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			res := Run(context.Background(), Command{Argv: []string{"/bin/sh", "-c", tt.cmd}, User: *nobody, Timeout: 5 * time.Second})
			if !res.Success() || res.LastLine(200) != tt.want {
				t.Errorf("%s as nobody: %+v (%q), want %s", tt.cmd, res, res.Output, tt.want)
			}
		})
	}
}

// TestRunCancel: when ctx ends, the program is killed, and that is not a timeout.
func TestRunCancel(t *testing.T) {
	u := currentUser(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	res := Run(ctx, Command{Argv: []string{"/bin/sh", "-c", "sleep 60"}, User: *u, Timeout: time.Minute})
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("the run lasted %v", elapsed)
	}
	if res.TimedOut || res.Success() || res.Signal != syscall.SIGKILL {
		t.Errorf("result %+v, want killed, not timed out", res)
	}
}

func TestResultOutput(t *testing.T) {
	tests := []struct {
		name, out      string
		n              int
		lastLine, tail string
	}{
		{"empty", "", 10, "", ""},
		{"one line", "ok\n", 10, "ok", "ok"},
		{"blank lines after the last", "first\nlast\n\n  \n", 10, "last", "first\nlast"},
		{"cut", "first\n0123456789abc\n", 10, "0123456789…", "…3456789abc"},
		{"invalid UTF-8", "bad \xff\n", 10, "bad ?", "bad ?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Result{Output: []byte(tt.out)}
			if got := r.LastLine(tt.n); got != tt.lastLine {
				t.Errorf("LastLine(%d) = %q, want %q", tt.n, got, tt.lastLine)
			}
			if got := r.Tail(tt.n); got != tt.tail {
				t.Errorf("Tail(%d) = %q, want %q", tt.n, got, tt.tail)
			}
		})
	}
}

// TestTailBuffer: only the last OutputKept bytes are kept, however they are written.
func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 8}
	for _, s := range []string{"abc", "defghij", "", "klmnopqrstuvwxyz"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := string(b.buf); got != "stuvwxyz" {
		t.Errorf("kept %q", got)
	}
	u := currentUser(t)
	res := Run(context.Background(), Command{Argv: []string{"/bin/sh", "-c", "head -c 10000 /dev/zero | tr '\\0' x; echo; echo end"}, User: *u, Timeout: 5 * time.Second})
	if len(res.Output) != OutputKept || !strings.HasSuffix(string(res.Output), "x\nend\n") {
		t.Errorf("kept %d bytes ending %q", len(res.Output), res.Tail(10))
	}
}

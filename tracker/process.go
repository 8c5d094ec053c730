package tracker

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vrrpd/vrrpd/config"
)

// procTracker counts the running processes that match, keepalived's
// vrrp_track_process, without forking anything.
//
// How it notices changes: it scans /proc at start, then holds a pidfd of every process
// that matches. A pidfd becomes readable the moment its process exits, and the Go
// runtime's poller wakes a goroutine for it: the exit is seen at once, and /proc is
// scanned again to count what remains. New processes are found by a scan every
// second. So losing the quorum is reported at once (well within 100 ms), gaining it
// within a second. keepalived uses the netlink process connector instead, which needs
// CAP_NET_ADMIN and sees every fork on the machine; one scan a second of
// /proc/PID/stat (and /proc/PID/cmdline with cmdline: true) is simpler, and its cost
// is that of one `pgrep` a second. Where pidfds are missing (Linux before 5.3) the
// matched processes are checked every 50 ms instead.
type procTracker struct {
	base
	env  *Env
	cfg  config.Process
	root string
	self int

	// Owned by the tracker's goroutine once started.
	d    debounce
	pids []int
	w    *pidWatcher
}

// Intervals of the process trackers.
const (
	processRescan    = time.Second
	processExitCheck = 50 * time.Millisecond
)

// commLen is how much of a process name the kernel keeps (TASK_COMM_LEN less the NUL).
const commLen = 15

func newProcTracker(p config.Process, env *Env, log *slog.Logger, notify func()) *procTracker {
	return &procTracker{
		base: newBase(KindProcess, p.Name, env, log, notify),
		env:  env,
		cfg:  p,
		root: env.ProcRoot,
		self: os.Getpid(),
	}
}

func (t *procTracker) start(ctx context.Context, wg *sync.WaitGroup) {
	t.begin()
	exited := make(chan struct{}, 1)
	t.w = newPidWatcher(t.root == defaultProcRoot, exited)
	wait := t.scan()
	wg.Go(func() { t.run(ctx, exited, wait) })
}

func (t *procTracker) run(ctx context.Context, exited <-chan struct{}, wait time.Duration) {
	defer t.w.close()
	// Without pidfds on the real /proc, the matched processes are checked often.
	check := !t.w.works() && t.root == defaultProcRoot
	now := t.env.Clock()
	rescan := now.Add(processRescan)
	var due time.Time // the end of a delay; zero when none
	if wait > 0 {
		due = now.Add(wait)
	}
	for {
		// One timer per turn: the next rescan, check or end of a delay.
		wake := rescan
		if check {
			wake = t.env.Clock().Add(processExitCheck)
		}
		if !due.IsZero() && due.Before(wake) {
			wake = due
		}
		select {
		case <-ctx.Done():
			return
		case <-exited:
		case <-t.env.After(wake.Sub(t.env.Clock())):
			now := t.env.Clock()
			if check && now.Before(rescan) && (due.IsZero() || now.Before(due)) && !t.anyGone() {
				continue
			}
		}
		now := t.env.Clock()
		rescan, due = now.Add(processRescan), time.Time{}
		if wait := t.scan(); wait > 0 {
			due = now.Add(wait)
		}
	}
}

// scan counts the matching processes, watches them, and reports the quorum. It
// returns how long until a change waiting for the delay is due.
func (t *procTracker) scan() time.Duration {
	pids, err := scanProcesses(t.root, t.cfg, t.self)
	if err != nil {
		t.set(Failing, 0, "cannot read processes: "+err.Error())
		return 0
	}
	t.pids = pids
	t.w.watch(pids)
	raw := Failing
	if n := len(pids); n >= t.cfg.Min && (t.cfg.Max == 0 || n <= t.cfg.Max) {
		raw = OK
	}
	st, wait := t.d.observe(raw, t.env.Clock(), t.cfg.Delay)
	detail := t.describe(pids)
	if wait > 0 {
		detail += fmt.Sprintf("; counts after delay %v", t.cfg.Delay)
	}
	t.set(st, 0, detail)
	return wait
}

// anyGone reports whether a matched process exited.
func (t *procTracker) anyGone() bool {
	for _, pid := range t.pids {
		b, err := os.ReadFile(filepath.Join(t.root, strconv.Itoa(pid), "stat"))
		if err != nil {
			return true
		}
		if _, state, ok := parseStat(b); !ok || state == 'Z' || state == 'X' {
			return true
		}
	}
	return false
}

// describe says how many processes match, against the quorum:
// "2 haproxy processes (quorum 1): 812, 813".
func (t *procTracker) describe(pids []int) string {
	what := t.cfg.Match + " process"
	if t.cfg.Cmdline {
		what = fmt.Sprintf("process matching %q", t.cfg.Match)
	}
	if len(pids) != 1 {
		what = strings.Replace(what, "process", "processes", 1)
	}
	var quorum string
	switch {
	case t.cfg.Max == 0:
		quorum = fmt.Sprintf("quorum %d", t.cfg.Min)
	case t.cfg.Min == 0:
		quorum = fmt.Sprintf("at most %d", t.cfg.Max)
	default:
		quorum = fmt.Sprintf("quorum %d..%d", t.cfg.Min, t.cfg.Max)
	}
	s := fmt.Sprintf("%d %s (%s)", len(pids), what, quorum)
	const shown = 5
	if len(pids) > 0 {
		ids := make([]string, 0, shown)
		for _, pid := range pids[:min(len(pids), shown)] {
			ids = append(ids, strconv.Itoa(pid))
		}
		s += ": " + strings.Join(ids, ", ")
		if len(pids) > shown {
			s += ", …"
		}
	}
	return s
}

// scanProcesses returns the running processes under root (a /proc) that match p,
// by process ID, leaving out self. Zombies do not run.
func scanProcesses(root string, p config.Process, self int) ([]int, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 || pid == self {
			continue
		}
		dir := filepath.Join(root, e.Name())
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue // it exited meanwhile
		}
		comm, state, ok := parseStat(stat)
		if !ok || state == 'Z' || state == 'X' {
			continue
		}
		if matches(p, comm, func() []byte {
			b, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
			return b
		}) {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// matches reports whether a process with name comm matches p. cmdline reads its
// command line (arguments ending with NUL), only when needed: with p.Cmdline, and to
// compare the base name of argv[0] with a name longer than the kernel keeps.
func matches(p config.Process, comm string, cmdline func() []byte) bool {
	if p.Cmdline {
		args := strings.ReplaceAll(string(bytes.TrimRight(cmdline(), "\x00")), "\x00", " ")
		return args != "" && strings.Contains(args, p.Match)
	}
	if comm == p.Match {
		return true
	}
	if len(p.Match) <= commLen || comm != p.Match[:commLen] {
		return false
	}
	argv0, _, _ := bytes.Cut(cmdline(), []byte{0})
	return filepath.Base(string(argv0)) == p.Match
}

// parseStat reads the name and state of a process from /proc/PID/stat:
// "PID (NAME) STATE ...". The name may hold spaces and parentheses: it ends at the
// last ')'.
func parseStat(b []byte) (comm string, state byte, ok bool) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || end+2 >= len(b) {
		return "", 0, false
	}
	return string(b[open+1 : end]), b[end+2], true
}

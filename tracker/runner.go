package tracker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"time"
)

// User is the account a script runs as.
type User struct {
	Name     string
	UID, GID uint32
	Home     string
}

// lookupUser resolves a script user by name.
func lookupUser(name string) (*User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("script user %q: %w (create it, or set script_user or the script's user)", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("script user %q: %w", name, err)
	}
	return &User{Name: name, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}, nil
}

// ScriptRunner runs one check script and waits for it. It must return when ctx ends,
// having ended the script.
type ScriptRunner interface {
	RunScript(ctx context.Context, cmd ScriptCommand) ScriptResult
}

// ScriptCommand is one run of a check script.
type ScriptCommand struct {
	// Argv is run directly: argv[0] is an absolute path, and there is no shell unless
	// argv names one.
	Argv []string
	// User runs it; when it is the daemon's own user and group, they are kept.
	User User
	// Timeout bounds the run: past it the script's process group is killed.
	Timeout time.Duration
}

// ScriptResult is how a run ended.
type ScriptResult struct {
	// PID is the script's process ID, which is also its process group's; 0 when it
	// did not start.
	PID int
	// ExitCode is the exit status, or -1 when the script did not exit by itself.
	ExitCode int
	// Signal is the signal that ended the script, when one did and it was not the
	// kill of a timeout.
	Signal syscall.Signal
	// TimedOut reports that the script ran past its timeout and its process group was
	// killed.
	TimedOut bool
	// Err is why the script could not run.
	Err error
	// Output is the last line the script wrote (standard output or error), cut to
	// 200 bytes.
	Output string
}

// Success reports whether the check passed: the script exited 0 within its timeout.
func (r ScriptResult) Success() bool {
	return r.Err == nil && !r.TimedOut && r.ExitCode == 0
}

// describe says how a run ended, for Status.Detail.
func (r ScriptResult) describe(timeout time.Duration) string {
	var s string
	switch {
	case r.Err != nil:
		s = "cannot run: " + r.Err.Error()
	case r.TimedOut:
		s = fmt.Sprintf("timed out after %v, process group killed", timeout)
	case r.Signal != 0:
		s = "killed by signal " + r.Signal.String()
	default:
		s = fmt.Sprintf("exit %d", r.ExitCode)
	}
	if r.Output != "" {
		s += ": " + r.Output
	}
	return s
}

// ExecRunner runs scripts as processes: each in a process group of its own, as its
// user, with a minimal environment (PATH and HOME) in /. On timeout, or when ctx ends,
// it kills the whole group with SIGKILL, so that what the script started dies with it.
// Processes a script leaves behind after it exits by itself are not killed.
type ExecRunner struct{}

// Bounds of ExecRunner.
const (
	// scriptPath is the PATH of scripts, as the notify hooks'.
	scriptPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// scriptWaitDelay bounds the wait for a script's output once it exited, when
	// something it left running holds its output open.
	scriptWaitDelay = 500 * time.Millisecond
	// outputKept is how much of a script's output is kept to find its last line.
	outputKept = 4096
	// outputShown is the most of the last line shown.
	outputShown = 200
)

// RunScript runs cmd and waits for it.
func (ExecRunner) RunScript(ctx context.Context, c ScriptCommand) ScriptResult {
	if len(c.Argv) == 0 {
		return ScriptResult{ExitCode: -1, Err: errors.New("empty command")}
	}
	runCtx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, c.Argv[0], c.Argv[1:]...)
	home := c.User.Home
	if home == "" {
		home = "/"
	}
	cmd.Env = []string{scriptPath, "HOME=" + home}
	cmd.Dir = "/"
	out := &tailBuffer{max: outputKept}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.User.UID != uint32(os.Geteuid()) || c.User.GID != uint32(os.Getegid()) {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: c.User.UID, Gid: c.User.GID}
	}
	// The process is the leader of its group: killing -pid kills what it started
	// too. It is not reaped yet when Cancel runs, so the group ID is still its own.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = scriptWaitDelay
	if err := cmd.Start(); err != nil {
		return ScriptResult{ExitCode: -1, Err: err}
	}
	res := ScriptResult{PID: cmd.Process.Pid, ExitCode: -1}
	_ = cmd.Wait() // the outcome is read from ProcessState
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Exited():
			res.ExitCode = ws.ExitStatus()
		case ws.Signaled():
			res.Signal = ws.Signal()
		}
	}
	if ctx.Err() == nil && errors.Is(runCtx.Err(), context.DeadlineExceeded) && res.ExitCode < 0 {
		res.TimedOut, res.Signal = true, 0
	}
	res.Output = out.lastLine()
	return res
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// lastLine returns the last non-empty line, cut to outputShown bytes.
func (t *tailBuffer) lastLine() string {
	b := bytes.TrimSpace(t.buf)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = bytes.TrimSpace(b[i+1:])
	}
	if len(b) > outputShown {
		b = append(b[:outputShown:outputShown], "…"...)
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Command is one run of a program.
type Command struct {
	// Argv is run directly: argv[0] is an absolute path, and there is no shell unless
	// argv names one.
	Argv []string
	// User runs it; when it is the daemon's own user and group, they are kept.
	User User
	// Env is added to the environment, after PATH and HOME, as NAME=value.
	Env []string
	// Timeout bounds the run: past it the program's process group is killed. Zero
	// leaves the bound to ctx.
	Timeout time.Duration
}

// Result is how a run ended.
type Result struct {
	// PID is the program's process ID, which is also its process group's; 0 when it
	// did not start.
	PID int
	// ExitCode is the exit status, or -1 when the program did not exit by itself.
	ExitCode int
	// Signal is the signal that ended the program, when one did and it was not the
	// kill of a timeout.
	Signal syscall.Signal
	// TimedOut reports that the program ran past its timeout and its process group was
	// killed.
	TimedOut bool
	// Err is why the program did not run; it wraps ErrInsecure when Check refused it.
	Err error
	// Duration is how long the run took, from start to the end of its output.
	Duration time.Duration
	// Output is the end of what the program wrote (standard output and error), at most
	// OutputKept bytes.
	Output []byte
}

// Success reports whether the program ran and exited 0 within its timeout.
func (r Result) Success() bool {
	return r.Err == nil && !r.TimedOut && r.ExitCode == 0
}

// LastLine returns the last non-empty line of the output, cut to n bytes with an
// ellipsis, invalid UTF-8 replaced.
func (r Result) LastLine(n int) string {
	b := bytes.TrimSpace(r.Output)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = bytes.TrimSpace(b[i+1:])
	}
	if len(b) > n {
		b = append(b[:n:n], "…"...)
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// Tail returns the last n bytes of the output, trimmed, preceded by an ellipsis when
// cut, invalid UTF-8 replaced.
func (r Result) Tail(n int) string {
	b := bytes.TrimSpace(r.Output)
	if len(b) > n {
		b = append([]byte("…"), b[len(b)-n:]...)
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// Bounds of Run.
const (
	// Path is the PATH programs get.
	Path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// WaitDelay bounds the wait for a program's output once it exited (or was killed),
	// when something it left running holds its output open.
	WaitDelay = 500 * time.Millisecond
	// OutputKept is how much of a program's output is kept.
	OutputKept = 4096
)

// Run checks c's program with Check, runs it and waits for it. The program runs in a
// process group of its own, as c.User, with PATH, HOME and c.Env in /. On timeout, or
// when ctx ends, Run kills the whole group with SIGKILL, so that what the program
// started dies with it; processes it leaves behind after it exits by itself are not
// killed, and Run waits for them to close its output for at most WaitDelay.
func Run(ctx context.Context, c Command) Result {
	if len(c.Argv) == 0 {
		return Result{ExitCode: -1, Err: errors.New("empty command")}
	}
	// Checked at each run: the file or a directory above it may have changed since
	// the configuration was loaded.
	if err := Check(c.Argv[0], &c.User); err != nil {
		return Result{ExitCode: -1, Err: err}
	}
	runCtx, cancel := context.WithCancel(ctx)
	if c.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, c.Timeout)
	}
	defer cancel()
	cmd := exec.CommandContext(runCtx, c.Argv[0], c.Argv[1:]...)
	home := c.User.Home
	if home == "" {
		home = "/"
	}
	cmd.Env = append([]string{"PATH=" + Path, "HOME=" + home}, c.Env...)
	cmd.Dir = "/"
	out := &tailBuffer{max: OutputKept}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.User.UID != uint32(os.Geteuid()) || c.User.GID != uint32(os.Getegid()) {
		// Groups left empty: the program loses the daemon's supplementary groups.
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: c.User.UID, Gid: c.User.GID}
	}
	// The process is the leader of its group: killing -pid kills what it started
	// too. It is not reaped yet when Cancel runs, so the group ID is still its own.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = WaitDelay
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{ExitCode: -1, Err: err}
	}
	res := Result{PID: cmd.Process.Pid, ExitCode: -1}
	_ = cmd.Wait() // the outcome is read from ProcessState
	res.Duration = time.Since(start)
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
	res.Output = out.buf
	return res
}

// tailBuffer keeps the last max bytes written to it. exec.Cmd writes to it from one
// goroutine at a time, since Stdout and Stderr are the same writer.
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

package tracker

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/vrrpd/vrrpd/runner"
)

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
	User runner.User
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
	// Err is why the script could not run, such as a failed security check
	// (runner.ErrInsecure).
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

// ExecRunner runs scripts with runner.Run: checked again before each run, in a process
// group of their own killed on timeout or when ctx ends, as their user, with PATH and
// HOME only, in /.
type ExecRunner struct{}

// outputShown is the most of a script's last line shown in its status.
const outputShown = 200

// RunScript runs cmd and waits for it.
func (ExecRunner) RunScript(ctx context.Context, c ScriptCommand) ScriptResult {
	r := runner.Run(ctx, runner.Command{Argv: c.Argv, User: c.User, Timeout: c.Timeout})
	return ScriptResult{
		PID:      r.PID,
		ExitCode: r.ExitCode,
		Signal:   r.Signal,
		TimedOut: r.TimedOut,
		Err:      r.Err,
		Output:   r.LastLine(outputShown),
	}
}

// lookupUser resolves a script user by name.
func lookupUser(name string) (*runner.User, error) {
	u, err := runner.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("script %w (create it, or set script_user or the script's user)", err)
	}
	return u, nil
}

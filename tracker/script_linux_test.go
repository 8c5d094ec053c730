package tracker

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestExecRunnerTimeoutKillsGroup: a script that started a process in the background
// and runs past its timeout is killed with everything in its process group.
func TestExecRunnerTimeoutKillsGroup(t *testing.T) {
	// The background process, once killed, is an orphan: make this process its
	// reaper, so that its zombie can be reaped here (PID 1 of a container may never
	// do it) and the group seen empty.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	u := currentUser(t)
	start := time.Now()
	res := ExecRunner{}.RunScript(context.Background(), ScriptCommand{
		Argv:    []string{"/bin/sh", "-c", "sleep 60 & sleep 60"},
		User:    *u,
		Timeout: 200 * time.Millisecond,
	})
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("the run lasted %v", elapsed)
	}
	if !res.TimedOut || res.PID == 0 || res.Success() || res.Signal != 0 {
		t.Fatalf("result %+v, want a timeout", res)
	}
	if got := res.describe(200 * time.Millisecond); got != "timed out after 200ms, process group killed" {
		t.Errorf("describe = %q", got)
	}
	pgid := res.PID
	eventually(t, func() bool {
		for {
			pid, err := unix.Wait4(-pgid, nil, unix.WNOHANG, nil)
			if err != nil || pid <= 0 {
				break
			}
		}
		return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
	}, "process group %d still has processes", pgid)
}

// TestExecRunnerCancel: closing a Set (its context ending) kills a running script.
func TestExecRunnerCancel(t *testing.T) {
	u := currentUser(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	res := ExecRunner{}.RunScript(ctx, ScriptCommand{Argv: []string{"/bin/sh", "-c", "sleep 60"}, User: *u, Timeout: time.Minute})
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("the run lasted %v", elapsed)
	}
	if res.TimedOut || res.Success() || res.Signal != syscall.SIGKILL {
		t.Errorf("result %+v, want killed, not timed out", res)
	}
}

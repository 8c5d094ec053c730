package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// subreaper makes this process the reaper of the orphans the tests leave, so that their
// zombies can be reaped here (PID 1 of a container may never do it) and a killed process
// group seen empty.
func subreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("the kernel lacks PR_SET_CHILD_SUBREAPER: %v", err)
	}
}

// groupGone reaps what is left of process group pgid and reports whether it is empty.
func groupGone(pgid int) bool {
	for {
		pid, err := unix.Wait4(-pgid, nil, unix.WNOHANG, nil)
		if err != nil || pid <= 0 {
			break
		}
	}
	return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

// TestRunTimeoutKillsGroup: a program that started processes, which started their own,
// and runs past its timeout is killed with everything in its process group.
func TestRunTimeoutKillsGroup(t *testing.T) {
	subreaper(t)
	u := currentUser(t)
	pidFile := filepath.Join(t.TempDir(), "grandchild")
	start := time.Now()
	res := Run(context.Background(), Command{
		Argv:    []string{"/bin/sh", "-c", `/bin/sh -c 'sleep 60 & echo $! > ` + pidFile + `; sleep 60' & sleep 60`},
		User:    *u,
		Timeout: 500 * time.Millisecond,
	})
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("the run lasted %v", elapsed)
	}
	if !res.TimedOut || res.PID == 0 || res.Success() || res.Signal != 0 || res.ExitCode != -1 {
		t.Fatalf("result %+v, want a timeout", res)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the grandchild did not start: %v", err)
	}
	grandchild, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if pgid, err := syscall.Getpgid(grandchild); err == nil && pgid != res.PID {
		t.Fatalf("the grandchild %d is in group %d, not the program's %d", grandchild, pgid, res.PID)
	}
	netnstest.Eventually(t, 5*time.Second, func() bool { return groupGone(res.PID) },
		"process group %d still has processes", res.PID)
}

// TestRunWaitDelay: a program that exits while a child it left holds its output open
// ends the run within WaitDelay, not when the child ends.
func TestRunWaitDelay(t *testing.T) {
	subreaper(t)
	u := currentUser(t)
	start := time.Now()
	res := Run(context.Background(), Command{
		Argv:    []string{"/bin/sh", "-c", "sleep 60 & echo $!; echo done"},
		User:    *u,
		Timeout: time.Minute,
	})
	elapsed := time.Since(start)
	if res.PID != 0 {
		// The child is in the program's group; end it here.
		t.Cleanup(func() {
			_ = syscall.Kill(-res.PID, syscall.SIGKILL)
			netnstest.Eventually(t, 5*time.Second, func() bool { return groupGone(res.PID) }, "the child outlived the test")
		})
	}
	if elapsed > 5*time.Second {
		t.Fatalf("the run lasted %v: the child holding the output blocked it", elapsed)
	}
	if !res.Success() || res.LastLine(200) != "done" {
		t.Fatalf("result %+v (%q)", res, res.Output)
	}
	if errors.Is(syscall.Kill(-res.PID, 0), syscall.ESRCH) {
		t.Fatal("the child is gone: the test proves nothing")
	}
}

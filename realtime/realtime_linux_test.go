package realtime

import (
	"fmt"
	"log/slog"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// offPolicy says which thread of the process does not have policy want, or "".
func offPolicy(t *testing.T, want string) string {
	t.Helper()
	tids, err := threads()
	if err != nil {
		t.Fatal(err)
	}
	for _, tid := range tids {
		p, err := Policy(tid)
		if err != nil {
			continue // the thread ended
		}
		if p != want {
			return fmt.Sprintf("thread %d has %s", tid, p)
		}
	}
	return ""
}

// childPolicy returns the policy and real-time priority of a process this one starts,
// as its /proc/self/stat says (fields 41 and 40).
func childPolicy(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("cat", "/proc/self/stat").Output()
	if err != nil {
		t.Fatal(err)
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	fields := strings.Fields(string(out[strings.LastIndexByte(string(out), ')')+1:]))
	return "policy " + fields[41-3] + " rt_priority " + fields[40-3]
}

// TestKeeper moves the test's own threads to SCHED_RR and back: every thread, the ones
// the runtime adds after, and never a child process.
func TestKeeper(t *testing.T) {
	netnstest.RequireRoot(t, "set a real-time scheduling policy")
	k := NewKeeper(slog.New(slog.DiscardHandler), 10*time.Millisecond)
	t.Cleanup(func() {
		if err := k.Set(0); err != nil {
			t.Error(err)
		}
		k.Close()
	})
	if err := k.Set(5); err != nil {
		t.Fatal(err)
	}
	if off := offPolicy(t, "SCHED_RR 5"); off != "" {
		t.Fatalf("after Set(5): %s", off)
	}
	if got := childPolicy(t); got != "policy 0 rt_priority 0" {
		t.Errorf("a child process runs with %s, want the default policy", got)
	}

	// Goroutines wired to threads that sleep in a system call make the runtime start
	// threads for the others.
	before := threadCount(t)
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for {
				select {
				case <-release:
					return
				default:
					_ = unix.Nanosleep(&unix.Timespec{Nsec: int64(5 * time.Millisecond)}, nil)
				}
			}
		}()
	}
	defer func() { close(release); wg.Wait() }()
	netnstest.Eventually(t, 5*time.Second, func() bool { return threadCount(t) > before },
		"the runtime started no thread (%d before)", before)
	netnstest.Eventually(t, 5*time.Second, func() bool { return offPolicy(t, "SCHED_RR 5") == "" },
		"a new thread was not moved: %s", lazy(func() string { return offPolicy(t, "SCHED_RR 5") }))

	if err := k.Set(0); err != nil {
		t.Fatal(err)
	}
	if off := offPolicy(t, "SCHED_OTHER"); off != "" {
		t.Fatalf("after Set(0): %s", off)
	}
}

func TestPriorityOutOfRange(t *testing.T) {
	for _, p := range []int{-1, MaxPriority + 1} {
		if err := setThreads(p); err == nil {
			t.Errorf("setThreads(%d) succeeded", p)
		}
	}
}

func threadCount(t *testing.T) int {
	t.Helper()
	tids, err := threads()
	if err != nil {
		t.Fatal(err)
	}
	return len(tids)
}

// lazy formats as what it returns, when the message is built.
type lazy func() string

func (l lazy) String() string { return l() }

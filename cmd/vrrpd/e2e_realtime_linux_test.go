package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// schedOf returns the scheduling policy and real-time priority of a thread or process
// as its stat file says (fields 41 and 40): "2/7" is SCHED_RR at 7, "0/0" the default.
func schedOf(stat []byte) string {
	s := string(stat)
	// The command name, field 2, is in parentheses and may hold spaces.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 41-3+1 {
		return "?"
	}
	return f[41-3] + "/" + f[40-3]
}

// threadPolicies returns the policy of each thread of pid that differs from want.
func threadPolicies(t *testing.T, pid int, want string) []string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/task", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var off []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			continue // the thread ended
		}
		if got := schedOf(b); got != want {
			off = append(off, e.Name()+": "+got)
		}
	}
	return off
}

// lockedKB returns VmLck of pid, in kB.
func lockedKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmLck:"); ok {
			var kb int
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb
		}
	}
	t.Fatalf("no VmLck in /proc/%d/status", pid)
	return 0
}

// TestE2ERealtime: realtime_priority puts every thread of vrrpd under SCHED_RR and
// lock_memory locks its pages; the check script it runs has the default policy; a
// reload turns both off.
func TestE2ERealtime(t *testing.T) {
	c := newCluster(t, 1)
	nd := c.nodes[0]
	stat := filepath.Join(nd.dir, "script-stat")
	conf := func(prio int, lock bool) string {
		return fmt.Sprintf("realtime_priority: %d\nlock_memory: %v\nscripts:\n  chk: {exec: [/bin/cp, /proc/self/stat, %s], interval: 100ms}\ninstances:\n%s    track: {scripts: [{name: chk, weight: -10}]}\n",
			prio, lock, stat, instanceYAML("web", 51, 150, "10ms", vip+"/24"))
	}
	nd.writeFile(conf(7, true))
	nd.start()
	nd.waitState("web", "MASTER", 5*time.Second)
	pid := nd.cmd.Process.Pid

	netnstest.Eventually(t, 5*time.Second, func() bool { return len(threadPolicies(t, pid, "2/7")) == 0 },
		"threads of vrrpd not at SCHED_RR 7: %v", lazyString(func() string { return fmt.Sprint(threadPolicies(t, pid, "2/7")) }))
	if kb := lockedKB(t, pid); kb == 0 {
		t.Error("lock_memory: true, but VmLck is 0")
	}
	// One processor for the Go runtime at a real-time priority (see tuning.processors).
	if os.Getenv("GOMAXPROCS") == "" {
		netnstest.Eventually(t, 5*time.Second, func() bool { return strings.Contains(nd.out.String(), "realtime_priority=7 gomaxprocs=1") },
			"at a real-time priority, no log of gomaxprocs=1:\n%s", nd.out)
	}
	var script []byte
	netnstest.Eventually(t, 5*time.Second, func() bool {
		var err error
		script, err = os.ReadFile(stat)
		return err == nil && len(script) > 0
	}, "the check script did not run")
	if got := schedOf(script); got != "0/0" {
		t.Errorf("the check script ran with policy/priority %s, want the default 0/0", got)
	}

	nd.writeFile(conf(0, false))
	nd.reload()
	netnstest.Eventually(t, 5*time.Second, func() bool { return len(threadPolicies(t, pid, "0/0")) == 0 && lockedKB(t, pid) == 0 },
		"after a reload without them: threads %v, VmLck %d kB", lazyString(func() string { return fmt.Sprint(threadPolicies(t, pid, "0/0")) }),
		lazyInt(func() int { return lockedKB(t, pid) }))
	// The threads change before the line that says so is logged: wait for it too.
	if want := fmt.Sprintf("realtime_priority=0 gomaxprocs=%d", runtime.GOMAXPROCS(0)); os.Getenv("GOMAXPROCS") == "" {
		netnstest.Eventually(t, 5*time.Second, func() bool { return strings.Contains(nd.out.String(), want) },
			"after a reload without a real-time priority, no log of %q:\n%s", want, nd.out)
	}
}

type lazyString func() string

func (l lazyString) String() string { return l() }

type lazyInt func() int

func (l lazyInt) String() string { return fmt.Sprint(l()) }

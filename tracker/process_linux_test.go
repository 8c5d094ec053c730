package tracker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestProcessExitSeenAtOnce: the death of the last matching process is reported
// through its pidfd, on the real /proc: the tracker's timers never fire here, so only
// the pidfd can tell it.
func TestProcessExitSeenAtOnce(t *testing.T) {
	// A sleep with an argument no other process has.
	arg := fmt.Sprintf("3600.%d%d", os.Getpid(), time.Now().UnixNano()%1000000)
	cmd := exec.Command("sleep", arg)
	if err := cmd.Start(); err != nil {
		t.Fatalf("sleep: %v", err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-waited })

	cfg := parseConfig(t, `
processes:
  sleeper: {match: "sleep `+arg+`", cmdline: true}
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 150, vips: [192.0.2.100/24], track: {processes: [sleeper]}}
`, nil)
	never := func(time.Duration) <-chan time.Time { return nil }
	s, err := NewSet(cfg, Env{After: never}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	if st := statusOf(s, KindProcess, "sleeper"); st.State != OK {
		t.Fatalf("at start: %+v", st)
	}

	killed := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return statusOf(s, KindProcess, "sleeper").State == Failing }, "the exit is not seen")
	t.Logf("the exit was seen after %v", time.Since(killed))
	p, _ := s.Priority("web")
	if !p.Fault || p.FaultReason != "sleeper failing (weight 0)" {
		t.Errorf("priority %+v", p)
	}
}

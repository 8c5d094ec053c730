package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestHookTimeoutKillsGroup runs a hook that leaves a child behind and hangs: after the
// timeout, the hook and its child are gone, the error is logged, and the next hook runs.
func TestHookTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	hang := filepath.Join(dir, "hang.sh")
	os.WriteFile(hang, []byte("#!/bin/sh\nsleep 60 &\necho $! > "+pidFile+"\nsleep 60\n"), 0o755)
	after := filepath.Join(dir, "after")
	next := filepath.Join(dir, "next.sh")
	os.WriteFile(next, []byte("#!/bin/sh\ntouch "+after+"\n"), 0o755)

	u, err := LookupHookUser(currentUser(t))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncWriter
	h := newHookRunner(slog.New(slog.NewTextHandler(&logs, nil)), u, 300*time.Millisecond)
	start := time.Now()
	h.enqueue([]string{hang}, nil)
	h.enqueue([]string{next}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.close(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("hooks took %v with a 300 ms timeout", took)
	}
	if _, err := os.Stat(after); err != nil {
		t.Fatal("the hook after the hung one did not run")
	}
	if !strings.Contains(logs.String(), "notify hook timed out and was killed") {
		t.Fatalf("log: %s", logs.String())
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the hook's child %d outlived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs: a zombie, killed but not yet reaped by whoever
// inherited it, does not count.
func alive(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses: "123 (sleep) Z ...".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/runner"
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

	var logs syncWriter
	h := newHookRunner(slog.New(slog.NewTextHandler(&logs, nil)), func() string { return currentUser(t) }, 300*time.Millisecond)
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

// hookDir returns a new directory for hooks, the tester's and mode 0755 under the
// system's temporary directory, so that hooks in it pass the security check and any
// user may run them.
func hookDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vrrpd-hooks-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeFile writes a file and gives it mode, past the umask.
func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// logHook writes a hook that appends its arguments and user ID to out, a file anyone
// may write.
func logHook(t *testing.T, dir, out string) string {
	t.Helper()
	writeFile(t, out, "", 0o666)
	hook := filepath.Join(dir, "log.sh")
	writeFile(t, hook, "#!/bin/sh\necho \"$* uid=$(id -u)\" >> "+out+"\n", 0o755)
	return hook
}

// readLines returns the lines of path.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// newHookNode builds, without starting it, a node whose one instance, web, runs
// notify; its log, at debug level, is returned too.
func newHookNode(t *testing.T, scriptUser string, hookTimeout time.Duration, notify config.Notify) (*node, *syncWriter, error) {
	t.Helper()
	in := instanceCfg("web", 150, "192.0.2.100/24")
	in.Notify = notify
	n := addNode(t, newLAN(t), "a", "192.0.2.1", &config.Config{Node: "a", ScriptUser: scriptUser, Instances: []config.Instance{in}})
	logs := &syncWriter{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := n.newDaemon(Options{Log: log, HookTimeout: hookTimeout})
	if err != nil {
		return nil, logs, err
	}
	n.d = d
	t.Cleanup(func() { n.stop(t) })
	return n, logs, nil
}

// groupWritable makes dir writable by group nogroup (nobody's group), which no
// security check allows for a program run as root.
func groupWritable(t *testing.T, dir string) {
	t.Helper()
	nobody, err := runner.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 0, int(nobody.GID)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o775); err != nil {
		t.Fatal(err)
	}
}

// TestHookSecurity: a notify hook in a directory others may write is refused for root
// at start and on reload (which keeps the running configuration), and a hook that
// became insecure after the start is not run.
func TestHookSecurity(t *testing.T) {
	netnstest.RequireRoot(t, "give a hook's directory another group and run hooks as root")

	t.Run("at start", func(t *testing.T) {
		dir := hookDir(t)
		hook := logHook(t, dir, filepath.Join(dir, "out"))
		groupWritable(t, dir)
		_, _, err := newHookNode(t, "root", 5*time.Second, config.Notify{Master: []string{hook}})
		if !errors.Is(err, runner.ErrInsecure) || !strings.Contains(err.Error(), "instance web: notify master: "+hook+": ") ||
			!strings.Contains(err.Error(), dir+" is writable by group") {
			t.Fatalf("New: %v", err)
		}
	})

	t.Run("on reload", func(t *testing.T) {
		dir := hookDir(t)
		out := filepath.Join(dir, "out")
		hook := logHook(t, dir, out)
		n, _, err := newHookNode(t, "root", 5*time.Second, config.Notify{})
		if err != nil {
			t.Fatal(err)
		}
		n.start(t)
		n.waitState(t, "web", "MASTER")
		groupWritable(t, dir)
		next := *n.cfg
		next.Instances = slices.Clone(n.cfg.Instances)
		next.Instances[0].Notify = config.Notify{Any: []string{hook}}
		next.Instances[0].Priority = 200
		next.File, next.Instances[0].Line = "vrrpd.yaml", 7
		err = n.d.Reload(context.Background(), &next)
		if !errors.Is(err, runner.ErrInsecure) || !strings.Contains(err.Error(), "vrrpd.yaml:7: instance web: notify any: "+hook+": ") {
			t.Fatalf("Reload: %v", err)
		}
		if st := n.instance(t, "web"); st.Priority != 150 {
			t.Errorf("priority %d after a refused reload", st.Priority)
		}
		n.stop(t)
		if lines := readLines(t, out); len(lines) != 1 || lines[0] != "" {
			t.Errorf("the refused hook ran: %q", lines)
		}
	})

	t.Run("at run time", func(t *testing.T) {
		dir := hookDir(t)
		out := filepath.Join(dir, "out")
		hook := logHook(t, dir, out)
		n, logs, err := newHookNode(t, "root", 5*time.Second, config.Notify{Any: []string{hook}})
		if err != nil {
			t.Fatal(err)
		}
		n.start(t)
		n.waitState(t, "web", "MASTER")
		n.lan.until("the MASTER hook", func() bool { return slices.Contains(readLines(t, out), "INSTANCE web MASTER 150 uid=0") })
		groupWritable(t, dir)
		n.stop(t)
		if lines := readLines(t, out); slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "STOP") }) {
			t.Errorf("the stop hook ran from a group-writable directory:\n%s", strings.Join(lines, "\n"))
		}
		if l := logs.String(); !strings.Contains(l, "notify hook refused") || !strings.Contains(l, dir+" is writable by group") {
			t.Errorf("the refusal is not logged with its reason:\n%s", l)
		}
	})
}

// TestHookChildHoldingOutput: a hook that exits while a child it left holds its output
// open does not hold back the hooks after it until its timeout.
func TestHookChildHoldingOutput(t *testing.T) {
	dir := hookDir(t)
	out := filepath.Join(dir, "out")
	any := logHook(t, dir, out)
	pidFile := filepath.Join(dir, "child.pid")
	writeFile(t, pidFile, "", 0o666)
	master := filepath.Join(dir, "master.sh")
	writeFile(t, master, "#!/bin/sh\nsleep 60 &\necho $! > "+pidFile+"\n", 0o755)
	t.Cleanup(func() {
		b, _ := os.ReadFile(pidFile)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	n, _, err := newHookNode(t, currentUser(t), time.Minute, config.Notify{Master: []string{master}, Any: []string{any}})
	if err != nil {
		t.Fatal(err)
	}
	n.start(t)
	n.waitState(t, "web", "MASTER")
	n.lan.until("the hook after the one whose child holds its output", func() bool {
		return slices.ContainsFunc(readLines(t, out), func(l string) bool { return strings.HasPrefix(l, "INSTANCE web MASTER 150 ") })
	})
}

// TestReloadScriptUserNextHook: a reload that changes script_user applies to the next
// hook of a running instance.
func TestReloadScriptUserNextHook(t *testing.T) {
	netnstest.RequireRoot(t, "run hooks as root and as nobody")
	nobody, err := runner.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	dir := hookDir(t)
	out := filepath.Join(dir, "out")
	hook := logHook(t, dir, out)
	n, _, err := newHookNode(t, "root", 5*time.Second, config.Notify{Any: []string{hook}})
	if err != nil {
		t.Fatal(err)
	}
	n.start(t)
	n.waitState(t, "web", "MASTER")
	n.lan.until("the MASTER hook", func() bool { return slices.Contains(readLines(t, out), "INSTANCE web MASTER 150 uid=0") })
	next := *n.cfg
	next.ScriptUser = "nobody"
	if err := n.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	n.stop(t)
	want := []string{
		"INSTANCE web BACKUP 150 uid=0",
		"INSTANCE web MASTER 150 uid=0",
		fmt.Sprintf("INSTANCE web STOP 150 uid=%d", nobody.UID),
	}
	if got := readLines(t, out); !slices.Equal(got, want) {
		t.Fatalf("hooks ran:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// HookUser is the account notify hooks run as.
type HookUser struct {
	Name     string
	Uid, Gid uint32
	Home     string
}

// LookupHookUser resolves name; root runs hooks as root only when named.
func LookupHookUser(name string) (*HookUser, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("script_user %q: %w (create it, or set script_user in the config)", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("script_user %q: %w", name, err)
	}
	return &HookUser{Name: name, Uid: uint32(uid), Gid: uint32(gid), Home: u.HomeDir}, nil
}

// hookRunner runs one instance's notify hooks one at a time, in transition order, so that
// a hook for BACKUP never overtakes the hook for the MASTER before it. The protocol never
// waits for it: enqueue does not block.
type hookRunner struct {
	log     *slog.Logger
	user    *HookUser
	timeout time.Duration
	queue   chan hook
	done    chan struct{}
}

type hook struct {
	argv []string
	env  []string
}

// hookQueue is how many hooks may wait; beyond it they are dropped with an error, which
// takes a transition storm while a hook hangs.
const hookQueue = 64

func newHookRunner(log *slog.Logger, u *HookUser, timeout time.Duration) *hookRunner {
	h := &hookRunner{log: log, user: u, timeout: timeout, queue: make(chan hook, hookQueue), done: make(chan struct{})}
	go h.run()
	return h
}

func (h *hookRunner) enqueue(argv, env []string) {
	select {
	case h.queue <- hook{argv, env}:
	default:
		h.log.Error("notify hook dropped: too many waiting", "hook", argv[0])
	}
}

// close waits for the queued hooks (the stop hook among them) until ctx ends.
func (h *hookRunner) close(ctx context.Context) {
	close(h.queue)
	select {
	case <-h.done:
	case <-ctx.Done():
		h.log.Warn("notify hooks still running at exit")
	}
}

func (h *hookRunner) run() {
	defer close(h.done)
	for hk := range h.queue {
		h.runOne(hk)
	}
}

func (h *hookRunner) runOne(hk hook) {
	if h.user == nil {
		h.log.Error("notify hook not run: no script_user", "hook", hk.argv[0])
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, hk.argv[0], hk.argv[1:]...)
	cmd.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + h.user.Home}, hk.env...)
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so that a timeout ends whatever the hook started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if h.user.Uid != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: h.user.Uid, Gid: h.user.Gid}
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	err := cmd.Run()
	attrs := []any{"hook", strings.Join(hk.argv, " "), "seconds", time.Since(start).Seconds()}
	if out.Len() > 0 {
		attrs = append(attrs, "output", strings.TrimSpace(tail(out.String(), 512)))
	}
	switch {
	case ctx.Err() != nil:
		h.log.Error("notify hook timed out and was killed", append(attrs, "timeout", h.timeout.Seconds())...)
	case err != nil:
		h.log.Error("notify hook failed", append(attrs, "error", err)...)
	default:
		h.log.Debug("notify hook ran", attrs...)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

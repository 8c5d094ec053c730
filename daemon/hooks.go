package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/runner"
)

// checkHooks refuses a configuration whose notify hooks could be changed by a user
// other than root or script_user (runner.Check, keepalived's enable_script_security),
// or whose script_user does not exist while there are hooks to run. Every refused hook
// is in the error, named by its instance.
func checkHooks(cfg *config.Config) error {
	var u *runner.User
	var errs []error
	for _, in := range cfg.Instances {
		n := in.Notify
		for _, h := range []struct {
			kind string
			argv []string
		}{{"master", n.Master}, {"backup", n.Backup}, {"fault", n.Fault}, {"stop", n.Stop}, {"any", n.Any}} {
			if len(h.argv) == 0 {
				continue
			}
			if u == nil {
				var err error
				if u, err = runner.Lookup(cfg.ScriptUser); err != nil {
					// Reads: script_user "name": ...
					return fmt.Errorf("script_%w (create it, or set script_user in the config)", err)
				}
			}
			if err := runner.Check(h.argv[0], u); err != nil {
				where := ""
				if cfg.File != "" && in.Line > 0 {
					where = fmt.Sprintf("%s:%d: ", cfg.File, in.Line)
				}
				errs = append(errs, fmt.Errorf("%sinstance %s: notify %s: %w", where, in.Name, h.kind, err))
			}
		}
	}
	return errors.Join(errs...)
}

// scriptUser returns the script_user of the running configuration: hooks look it up at
// each run, so that a reload that changes it applies to the next hook of every instance.
func (d *Daemon) scriptUser() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg.ScriptUser
}

// hookRunner runs one instance's notify hooks one at a time, in transition order, so that
// a hook for BACKUP never overtakes the hook for the MASTER before it. The protocol never
// waits for it: enqueue does not block.
type hookRunner struct {
	log     *slog.Logger
	user    func() string // the name of the user hooks run as, read at each run
	timeout time.Duration
	queue   chan hook
	done    chan struct{}
}

type hook struct {
	argv []string
	env  []string
}

const (
	// hookQueue is how many hooks may wait; beyond it they are dropped with an error,
	// which takes a transition storm while a hook hangs.
	hookQueue = 64
	// hookOutputShown is how much of a hook's output its log line shows.
	hookOutputShown = 512
)

func newHookRunner(log *slog.Logger, user func() string, timeout time.Duration) *hookRunner {
	h := &hookRunner{log: log, user: user, timeout: timeout, queue: make(chan hook, hookQueue), done: make(chan struct{})}
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

// runOne runs a hook as the current script_user, checked again (the file may have
// changed since the configuration was loaded), and logs how it ended.
func (h *hookRunner) runOne(hk hook) {
	attrs := []any{"hook", strings.Join(hk.argv, " ")}
	u, err := runner.Lookup(h.user())
	if err != nil {
		h.log.Error("notify hook not run", append(attrs, "error", fmt.Errorf("script_%w", err))...)
		return
	}
	res := runner.Run(context.Background(), runner.Command{Argv: hk.argv, User: *u, Env: hk.env, Timeout: h.timeout})
	attrs = append(attrs, "user", u.Name)
	if res.PID != 0 {
		attrs = append(attrs, "seconds", res.Duration.Seconds())
	}
	if out := res.Tail(hookOutputShown); out != "" {
		attrs = append(attrs, "output", out)
	}
	switch {
	case errors.Is(res.Err, runner.ErrInsecure):
		h.log.Error("notify hook refused", append(attrs, "error", res.Err)...)
	case res.Err != nil:
		h.log.Error("notify hook not run", append(attrs, "error", res.Err)...)
	case res.TimedOut:
		h.log.Error("notify hook timed out and was killed", append(attrs, "timeout", h.timeout.Seconds())...)
	case res.Signal != 0:
		h.log.Error("notify hook failed", append(attrs, "signal", res.Signal.String())...)
	case res.ExitCode != 0:
		h.log.Error("notify hook failed", append(attrs, "exit", res.ExitCode)...)
	default:
		h.log.Debug("notify hook ran", attrs...)
	}
}

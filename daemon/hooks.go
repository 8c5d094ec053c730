package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/runner"
)

// checkHooks refuses a configuration whose notify hooks could be changed by a user
// other than root or script_user (runner.Check, keepalived's enable_script_security),
// or whose script_user does not exist while there are hooks to run. Every refused hook
// is in the error, named by its instance.
func checkHooks(cfg *config.Config) error {
	var u *runner.User
	var errs []error
	type owner struct {
		what   string // "instance web", "sync group VG_1"
		line   int
		notify config.Notify
	}
	var owners []owner
	for _, in := range cfg.Instances {
		owners = append(owners, owner{"instance " + in.Name, in.Line, in.Notify})
	}
	for _, g := range cfg.SyncGroups {
		owners = append(owners, owner{"sync group " + g.Name, g.Line, g.Notify})
	}
	for _, in := range owners {
		for _, h := range notifyHooks(in.notify) {
			if u == nil {
				var err error
				if u, err = runner.Lookup(cfg.ScriptUser); err != nil {
					// Reads: script_user "name": ...
					return fmt.Errorf("script_%w (create it, or set script_user in the config)", err)
				}
			}
			if err := runner.Check(h.argv[0], u); err != nil {
				where := ""
				if cfg.File != "" && in.line > 0 {
					where = fmt.Sprintf("%s:%d: ", cfg.File, in.line)
				}
				errs = append(errs, fmt.Errorf("%s%s: notify %s: %w", where, in.what, h.kind, err))
			}
		}
	}
	return errors.Join(errs...)
}

// notifyHook is one hook of a Notify, by kind.
type notifyHook struct {
	kind string
	argv []string
}

// notifyHooks lists the hooks of n that are set.
func notifyHooks(n config.Notify) []notifyHook {
	all := []notifyHook{{"master", n.Master}, {"backup", n.Backup}, {"fault", n.Fault}, {"stop", n.Stop}, {"any", n.Any}}
	return slices.DeleteFunc(all, func(h notifyHook) bool { return len(h.argv) == 0 })
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

	mu      sync.Mutex
	queue   []hook
	running bool          // a goroutine runs the queue; none while it is empty
	idle    chan struct{} // closed when that goroutine ends
	closed  bool
	results map[string]uint64 // hooks by how they ended, see control.InstanceStatus.HookRuns
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

// newHookRunner returns a runner with no goroutine: one starts when a hook is queued
// and ends when the queue is empty, so that a thousand instances without busy hooks
// cost no goroutines.
func newHookRunner(log *slog.Logger, user func() string, timeout time.Duration) *hookRunner {
	return &hookRunner{log: log, user: user, timeout: timeout}
}

func (h *hookRunner) enqueue(argv, env []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if len(h.queue) >= hookQueue {
		h.countLocked(control.ResultDropped)
		h.log.Error("notify hook dropped: too many waiting", "hook", argv[0])
		return
	}
	h.queue = append(h.queue, hook{argv, env})
	if !h.running {
		h.running, h.idle = true, make(chan struct{})
		go h.run(h.idle)
	}
}

// count counts a hook that ended with result.
func (h *hookRunner) count(result string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.countLocked(result)
}

// countLocked is count with h.mu held.
func (h *hookRunner) countLocked(result string) {
	if h.results == nil {
		h.results = map[string]uint64{}
	}
	h.results[result]++
}

// runs returns the hooks counted by how they ended; nil when none ran.
func (h *hookRunner) runs() map[string]uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.results)
}

// close waits for the queued hooks (the stop hook among them) until ctx ends; no hook
// is queued after.
func (h *hookRunner) close(ctx context.Context) {
	h.mu.Lock()
	h.closed = true
	running, idle := h.running, h.idle
	h.mu.Unlock()
	if !running {
		return
	}
	select {
	case <-idle:
	case <-ctx.Done():
		h.log.Warn("notify hooks still running at exit")
	}
}

func (h *hookRunner) run(idle chan struct{}) {
	defer close(idle)
	for {
		h.mu.Lock()
		if len(h.queue) == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		hk := h.queue[0]
		h.queue = h.queue[1:]
		h.mu.Unlock()
		h.runOne(hk)
	}
}

// runOne runs a hook as the current script_user, checked again (the file may have
// changed since the configuration was loaded), and logs how it ended.
func (h *hookRunner) runOne(hk hook) {
	attrs := []any{"hook", strings.Join(hk.argv, " ")}
	u, err := runner.Lookup(h.user())
	if err != nil {
		h.count(control.ResultError)
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
		h.count(control.ResultError)
		h.log.Error("notify hook refused", append(attrs, "error", res.Err)...)
	case res.Err != nil:
		h.count(control.ResultError)
		h.log.Error("notify hook not run", append(attrs, "error", res.Err)...)
	case res.TimedOut:
		h.count(control.ResultTimeout)
		h.log.Error("notify hook timed out and was killed", append(attrs, "timeout", h.timeout.Seconds())...)
	case res.Signal != 0:
		h.count(control.ResultFailed)
		h.log.Error("notify hook failed", append(attrs, "signal", res.Signal.String())...)
	case res.ExitCode != 0:
		h.count(control.ResultFailed)
		h.log.Error("notify hook failed", append(attrs, "exit", res.ExitCode)...)
	default:
		h.count(control.ResultOK)
		h.log.Debug("notify hook ran", attrs...)
	}
}

package tracker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/runner"
)

// scriptTracker runs a check script every interval, one run at a time, and counts its
// results with rise and fall.
type scriptTracker struct {
	base
	env   *Env
	cfg   config.Script
	cmd   ScriptCommand
	count riseFall // owned by run
}

func newScriptTracker(sc config.Script, u *runner.User, env *Env, log *slog.Logger, notify func()) (*scriptTracker, error) {
	if len(sc.Exec) == 0 {
		return nil, fmt.Errorf("no exec")
	}
	if err := runner.Check(sc.Exec[0], u); err != nil {
		return nil, err
	}
	return &scriptTracker{
		base:  newBase(KindScript, sc.Name, env, log, notify),
		env:   env,
		cfg:   sc,
		cmd:   ScriptCommand{Argv: sc.Exec, User: *u, Timeout: sc.Timeout},
		count: newRiseFall(sc.Rise, sc.Fall, sc.InitFail),
	}, nil
}

func (t *scriptTracker) start(ctx context.Context, wg *sync.WaitGroup) {
	t.begin()
	if t.cfg.InitFail {
		t.set(Failing, 0, "init_fail: failing until it succeeds")
	}
	wg.Go(func() { t.run(ctx) })
}

// run runs the script at once, then every interval from the start of the previous
// run, or at once when a run lasted longer. Runs never overlap.
func (t *scriptTracker) run(ctx context.Context) {
	for {
		started := t.env.Clock()
		res := t.env.Runner.RunScript(ctx, t.cmd)
		if ctx.Err() != nil {
			return
		}
		t.record(res)
		wait := max(t.cfg.Interval-t.env.Clock().Sub(started), 0)
		select {
		case <-ctx.Done():
			return
		case <-t.env.After(wait):
		}
	}
}

// record counts a result and reports the state.
func (t *scriptTracker) record(res ScriptResult) {
	ok := res.Success()
	t.count.add(ok)
	t.set(t.count.state, 0, res.describe(t.cfg.Timeout)+t.count.progress(ok))
	if !ok {
		t.log.Debug("script failed", "result", res.describe(t.cfg.Timeout))
	}
}

// riseFall counts script results as keepalived does (vrrp_scheduler.c): a counter in
// 0..rise+fall-1 that is OK from rise up. A success while failing counts up, and the
// rise-th in a row makes the script OK, the counter then at its top; a failure while OK
// counts down, and the fall-th in a row makes it fail, the counter then 0. Before the
// first result the counter is at rise-1, in no state: the first result decides, as one
// success or one failure. With init_fail it starts at 0, failing.
type riseFall struct {
	rise, fall int
	result     int
	state      State
}

func newRiseFall(rise, fall int, initFail bool) riseFall {
	rise, fall = max(rise, 1), max(fall, 1)
	if initFail {
		return riseFall{rise: rise, fall: fall, state: Failing}
	}
	return riseFall{rise: rise, fall: fall, result: rise - 1, state: Unknown}
}

// add counts one result.
func (c *riseFall) add(success bool) {
	switch {
	case success && c.result < c.rise-1:
		c.result++
	case success:
		c.result, c.state = c.rise+c.fall-1, OK
	case c.result > c.rise:
		c.result--
	default:
		c.result, c.state = 0, Failing
	}
}

// progress says how far a result that did not change the state went, after add.
func (c *riseFall) progress(success bool) string {
	switch {
	case success && c.state != OK:
		return fmt.Sprintf(" (success %d of rise %d)", c.result, c.rise)
	case !success && c.state == OK:
		return fmt.Sprintf(" (failure %d of fall %d)", c.rise+c.fall-1-c.result, c.fall)
	}
	return ""
}

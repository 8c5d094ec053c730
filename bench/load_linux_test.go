package bench

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"github.com/vrrpd/vrrpd/internal/daemons"
)

// loadVariant is a way to schedule the daemons under load.
type loadVariant struct {
	name string // in -load-variants
	text string // in the table
	tune func(*daemons.Node)
}

// realtimePriority is what the real-time variant sets on both daemons.
const realtimePriority = 50

var loadVariants = []loadVariant{
	{"default", "default scheduling", nil},
	{"realtime", fmt.Sprintf("real-time priority %d (realtime_priority, vrrp_rt_priority)", realtimePriority),
		func(n *daemons.Node) { n.RealtimePriority = realtimePriority }},
	{"realtime-locked", fmt.Sprintf("real-time priority %d and memory locked (lock_memory, vrrp_no_swap)", realtimePriority),
		func(n *daemons.Node) { n.RealtimePriority, n.LockMemory = realtimePriority, true }},
	{"locked", "memory locked (lock_memory, vrrp_no_swap)", func(n *daemons.Node) { n.LockMemory = true }},
	{"nice", "nice -10 (systemd's Nice=, vrrp_priority)", func(n *daemons.Node) { n.Nice = -10 }},
}

// loadFigures is what one load run measured.
type loadFigures struct {
	takeovers     int           // the backup became master
	lateness      time.Duration // vrrpd's advert_lateness_max after the run
	latenessStart time.Duration // and before the load
	masterCPU     float64
}

// runLoad settles both nodes, then keeps every CPU busy with stress-ng for d and
// counts the state changes meanwhile.
func (sr *scaleRun) runLoad(d time.Duration) (loadFigures, error) {
	var f loadFigures
	if err := sr.start(); err != nil {
		return f, err
	}
	if err := errors.Join(sr.settle(masterDown(sr.interval)+60*time.Second), sr.exited()); err != nil {
		return f, err
	}
	time.Sleep(6 * time.Second) // past the repeated announcements
	m, b := sr.runs[0], sr.runs[1]
	if sr.kind == daemons.Vrrpd {
		var err error
		if f.latenessStart, err = m.latenessMax(); err != nil {
			return f, err
		}
	}
	before := len(b.log.transitions())
	hz, err := clockTicks()
	if err != nil {
		return f, err
	}
	s0, err := readStat(m.pids())
	if err != nil {
		return f, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	stress := exec.CommandContext(ctx, "stress-ng", "--cpu", fmt.Sprint(runtime.NumCPU()), "--timeout", fmt.Sprintf("%ds", int(d.Seconds())), "--quiet")
	if out, err := stress.CombinedOutput(); err != nil {
		return f, fmt.Errorf("stress-ng: %w: %s", err, out)
	}
	s1, err := readStat(m.pids())
	if err != nil {
		return f, err
	}
	f.masterCPU = float64(s1.ticks-s0.ticks) / hz / time.Since(start).Seconds() * 100
	if err := sr.exited(); err != nil {
		return f, err
	}
	for _, tr := range b.log.transitions()[before:] {
		if tr.to == "MASTER" {
			f.takeovers++
		}
	}
	if sr.kind == daemons.Vrrpd {
		if f.lateness, err = m.latenessMax(); err != nil {
			return f, err
		}
	}
	return f, nil
}

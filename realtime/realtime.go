package realtime

import (
	"errors"
	"log/slog"
	"sync"
	"time"
)

// MaxPriority is the highest SCHED_RR priority Linux gives.
const MaxPriority = 99

// ErrNotSupported is returned where the system has no real-time scheduling.
var ErrNotSupported = errors.New("realtime: not supported on this system")

// DefaultSweep is how often a Keeper looks for threads the runtime added.
const DefaultSweep = time.Second

// Keeper keeps every thread of the process at one scheduling priority: SCHED_RR at
// Priority, or the default policy at 0. Its methods are safe for concurrent use.
type Keeper struct {
	log   *slog.Logger
	every time.Duration

	mu       sync.Mutex
	priority int
	failed   bool // the last sweep failed: logged once until one succeeds

	stop chan struct{}
	done chan struct{}
}

// NewKeeper returns a Keeper that sweeps every interval once Set gave it a priority
// above 0. Close ends it.
func NewKeeper(log *slog.Logger, every time.Duration) *Keeper {
	k := &Keeper{log: log, every: every, stop: make(chan struct{}), done: make(chan struct{})}
	go k.run()
	return k
}

// Set moves every thread to priority (0: back to the default policy) and keeps new
// ones there. An error says why some thread could not be moved; the Keeper still tries
// at each sweep.
func (k *Keeper) Set(priority int) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.priority = priority
	err := setThreads(priority)
	k.failed = err != nil
	return err
}

// Priority returns the priority the Keeper keeps.
func (k *Keeper) Priority() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.priority
}

func (k *Keeper) run() {
	defer close(k.done)
	t := time.NewTicker(k.every)
	defer t.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-t.C:
			k.sweep()
		}
	}
}

func (k *Keeper) sweep() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.priority == 0 {
		return
	}
	err := setThreads(k.priority)
	switch {
	case err != nil && !k.failed:
		k.log.Error("cannot keep the real-time priority of a new thread", "error", err)
	case err == nil && k.failed:
		k.log.Info("every thread at the real-time priority again", "priority", k.priority)
	}
	k.failed = err != nil
}

// Close stops the sweeps; the threads keep their policy.
func (k *Keeper) Close() {
	select {
	case <-k.stop:
	default:
		close(k.stop)
	}
	<-k.done
}

package tracker

import (
	"context"
	"log/slog"
	"sync"
)

// BFDWatcher tells the state of the BFD sessions that the daemon runs: the tracker
// package runs no session itself, and knows nothing of sockets.
type BFDWatcher interface {
	// WatchBFD calls report with the state of the session name now, then after every
	// change, from one goroutine, until ctx ends; it returns then. up says the session
	// is Up; detail says its state in words, such as "Down: control detection time
	// expired". A session the watcher does not run is reported down.
	WatchBFD(ctx context.Context, name string, report func(up bool, detail string))
}

// bfdTracker follows one BFD session: OK while it is Up, failing otherwise, from the
// start as keepalived's track_bfd (an instance that tracks it with weight 0 is in FAULT
// until the session first comes Up).
type bfdTracker struct {
	base
	env  *Env
	name string
}

func newBFDTracker(name string, env *Env, log *slog.Logger, notify func()) *bfdTracker {
	return &bfdTracker{base: newBase(KindBFD, name, env, log, notify), env: env, name: name}
}

func (t *bfdTracker) start(ctx context.Context, wg *sync.WaitGroup) {
	t.begin()
	first := make(chan struct{})
	var once sync.Once
	wg.Go(func() {
		defer once.Do(func() { close(first) })
		t.env.BFD.WatchBFD(ctx, t.name, func(up bool, detail string) {
			st := Failing
			if up {
				st = OK
			}
			t.set(st, 0, detail)
			once.Do(func() { close(first) })
		})
	})
	// The state now counts in the first priority, as a file's does.
	<-first
}

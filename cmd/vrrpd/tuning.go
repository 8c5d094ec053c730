package main

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/realtime"
)

// tuning applies realtime_priority and lock_memory, at the start and at each reload.
// Neither stops vrrpd when the system refuses it: adverts still go out, only less
// surely on time, and the error says what to grant.
type tuning struct {
	log    *slog.Logger
	keeper *realtime.Keeper
	locked bool
}

func newTuning(log *slog.Logger) *tuning {
	return &tuning{log: log, keeper: realtime.NewKeeper(log, realtime.DefaultSweep)}
}

func (t *tuning) apply(cfg *config.Config) {
	if cfg.LockMemory != t.locked {
		if err := realtime.LockMemory(cfg.LockMemory); err != nil {
			t.log.Error("cannot lock memory: lock_memory needs CAP_IPC_LOCK or a large enough RLIMIT_MEMLOCK (LimitMEMLOCK= under systemd)", "error", err)
		} else {
			t.locked = cfg.LockMemory
			t.log.Info("memory locked", "lock_memory", cfg.LockMemory)
		}
	}
	if cfg.RealtimePriority != t.keeper.Priority() {
		if err := t.keeper.Set(cfg.RealtimePriority); err != nil {
			t.log.Error("cannot set the real-time priority: realtime_priority needs CAP_SYS_NICE, and under systemd RestrictRealtime=no (see docs/timing.md)",
				"realtime_priority", cfg.RealtimePriority, "error", err)
		} else {
			t.log.Info("scheduling policy set", "realtime_priority", cfg.RealtimePriority, "gomaxprocs", t.processors(cfg.RealtimePriority > 0))
		}
	}
}

// processors gives the Go runtime one processor (P) while vrrpd runs at a real-time
// priority, and its default otherwise, unless GOMAXPROCS is set; it returns the count.
//
// Under SCHED_RR every thread of vrrpd has the same priority, and the kernel lets none
// preempt another. With more than one P, the garbage collector's workers then kept a
// CPU from the thread due to send adverts: with two nodes of 100 instances at 10 ms
// on two busy CPUs, adverts went out up to 80 ms late and the backup took over 100
// times a minute; with one P, or with the collector off, the worst was 6 ms and no
// takeover (docs/timing.md).
func (t *tuning) processors(realtime bool) int {
	switch {
	case os.Getenv("GOMAXPROCS") != "":
	case realtime:
		runtime.GOMAXPROCS(1)
	default:
		runtime.SetDefaultGOMAXPROCS()
	}
	return runtime.GOMAXPROCS(0)
}

func (t *tuning) close() { t.keeper.Close() }

// heapGrowth is vrrpd's GOGC: the heap grows by half its live size between
// collections, not by all of it as Go's default lets it.
//
// vrrpd's live heap is small (about 5 MB with a thousand instances) and it allocates
// little (about a megabyte a second with a thousand instances at 100 ms adverts), so
// a collection every second instead of every other one costs about 0.3 % of a CPU
// there, and the heap it keeps resident shrinks by a quarter, about 2.5 MB.
const heapGrowth = 50

// collectSooner sets heapGrowth, unless GOGC is set.
func collectSooner() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(heapGrowth)
	}
}

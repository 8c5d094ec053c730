package main

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"time"

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

// How much the heap may grow over its live size between collections, in percent (GOGC),
// unless GOGC is set; Go's default is 100. vrrpd's live heap is small (about 6 MB with a
// thousand instances) and, once its instances have started, it allocates little (under
// a megabyte a second with a thousand instances at 100 ms adverts).
const (
	// startingGrowth holds while the configuration is read, the instances start and
	// hold their first elections. Tighter, the collections slowed a thousand instances'
	// start and takeovers enough for a peer started with them to take some over.
	startingGrowth = 50
	// runningGrowth holds once the first elections are over: four times as many
	// collections as Go's default cost no CPU one can measure there (5.5-6.5 % either
	// way), and the memory vrrpd keeps resident drops from 22.5 to 20.5 MB (make
	// bench-failover, the scale scenario).
	runningGrowth = 25
)

// firstElections bounds the first elections after a start: the longest first
// Master_Down_Interval (its Skew_Time counted over the startup grace), and a second for
// the takeovers.
func firstElections(cfg *config.Config) time.Duration {
	var longest time.Duration
	for _, in := range cfg.Instances {
		longest = max(longest, 3*in.AdvertInterval+max(in.AdvertInterval, in.StartupGrace))
	}
	return longest + time.Second
}

// setHeapGrowth sets GOGC to percent, unless GOGC is set in the environment.
func setHeapGrowth(percent int) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(percent)
	}
}

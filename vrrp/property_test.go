package vrrp

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestPropertyOneMaster runs seeded random histories of crashes, restarts, graceful
// stops, partitions, loss, delay, faults and priority changes, each followed by a quiet
// period on a connected, loss-free network. After every quiet period of
// Master_Down_Interval plus one advert interval (plus link delays, and where a router
// has a preempt delay, the delay and a second Master_Down_Interval), exactly one router
// is master, only it holds the VIPs,
// and when every router preempts it has the highest priority, as the RFC wants.
// A failure names its seed; `go test -run 'TestPropertyOneMaster/seed=N$'` replays it.
// VRRP_PROPERTY_RUNS sets how many seeds run (1000 by default).
func TestPropertyOneMaster(t *testing.T) {
	runs := 1000
	if n, err := strconv.Atoi(os.Getenv("VRRP_PROPERTY_RUNS")); err == nil && n > 0 {
		runs = n
	}
	if testing.Short() {
		runs = 100
	}
	for seed := range uint64(runs) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			propertyRun(t, seed)
		})
	}
}

type history struct {
	s           *sim
	rng         *rand.Rand
	allPreempt  bool
	maxInterval time.Duration
	maxDelay    time.Duration
	maxPreempt  time.Duration
	version     Version
	down        map[*simNode]bool // crashed or stopped by the history
	faulted     map[*simNode]bool
}

func propertyRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	s := newSim(t, seed)
	h := &history{s: s, rng: rng, down: map[*simNode]bool{}, faulted: map[*simNode]bool{}}

	h.version = Version3
	if rng.IntN(3) == 0 {
		h.version = Version2
	}
	ipv6 := h.version == Version3 && rng.IntN(3) == 0
	h.allPreempt = rng.IntN(4) != 0
	intervals := []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, time.Second, 2 * time.Second}
	if rng.IntN(10) == 0 {
		intervals = []time.Duration{10 * time.Millisecond, 30 * time.Millisecond}
	}
	if h.version == Version2 {
		intervals = []time.Duration{time.Second, 2 * time.Second}
	}
	shared := intervals[rng.IntN(len(intervals))]

	nodes := 2 + rng.IntN(3)
	owner := -1
	if rng.IntN(8) == 0 {
		owner = rng.IntN(nodes)
	}
	for i := range nodes {
		addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + rng.IntN(250))})
		if ipv6 {
			addr = netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 15: byte(1 + rng.IntN(250))})
		}
		for _, n := range s.nodes { // addresses must differ
			for n.cfg.Address == addr {
				addr = addr.Next()
			}
		}
		interval := shared
		if h.version == Version3 && rng.IntN(3) == 0 {
			interval = intervals[rng.IntN(len(intervals))] // VRRPv3 backups learn the master's
		}
		cfg := Config{
			Version:        h.version,
			Address:        addr,
			Priority:       uint8(1 + rng.IntN(254)),
			AdvertInterval: interval,
			Preempt:        h.allPreempt || rng.IntN(2) == 0,
		}
		if i == owner {
			cfg.Priority = 255
		}
		if rng.IntN(6) == 0 {
			cfg.PreemptDelay = time.Duration(rng.IntN(4)) * interval
		}
		cfg.LowerPriorityNoAdvert = rng.IntN(5) == 0
		// vrrpd's defaults, off now and then as an operator may turn them off.
		cfg.MakeBeforeBreak = rng.IntN(4) != 0
		cfg.FastHandover = rng.IntN(4) != 0
		cfg.StepDownAdvert = rng.IntN(4) != 0
		if rng.IntN(2) == 0 {
			cfg.StartupGrace = 300 * time.Millisecond
		}
		h.maxInterval = max(h.maxInterval, interval)
		h.maxPreempt = max(h.maxPreempt, cfg.PreemptDelay)
		s.add(fmt.Sprint("r", i), cfg)
	}
	for _, n := range s.nodes {
		s.start(n)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range s.nodes {
				t.Logf("%s: %+v", n.name, n.cfg)
			}
		}
	})

	for round := range 4 {
		h.chaos(time.Duration(15+rng.IntN(30)) * time.Second)
		h.quiet(round)
	}
}

// chaos schedules random events over d and runs through them.
func (h *history) chaos(d time.Duration) {
	s, rng := h.s, h.rng
	start := s.now()
	for range 3 + rng.IntN(12) {
		at := start.Add(time.Duration(rng.Int64N(int64(d))))
		kind := rng.IntN(8)
		n := s.nodes[rng.IntN(len(s.nodes))]
		s.at(at, func() { h.event(kind, n) })
	}
	s.at(start, func() {
		s.delay = time.Duration(rng.Int64N(int64(h.maxInterval / 10)))
		s.jitter = time.Duration(rng.Int64N(int64(h.maxInterval/10) + 1))
		h.maxDelay = max(h.maxDelay, s.delay+s.jitter)
	})
	s.runUntil(start.Add(d))
}

func (h *history) event(kind int, n *simNode) {
	s, rng := h.s, h.rng
	switch kind {
	case 0: // crash, or boot a node that is down
		if h.down[n] {
			h.boot(n)
		} else {
			h.down[n] = true
			s.crash(n)
		}
	case 1: // graceful stop, or boot
		if h.down[n] {
			h.boot(n)
		} else {
			h.down[n] = true
			s.stop(n)
		}
	case 2: // partition into two random groups
		var a, b []*simNode
		for _, m := range s.nodes {
			if rng.IntN(2) == 0 {
				a = append(a, m)
			} else {
				b = append(b, m)
			}
		}
		s.partition(a, b)
	case 3:
		s.heal()
	case 4:
		s.loss = []float64{0, 0.1, 0.5, 1}[rng.IntN(4)]
		s.logf("loss %.1f", s.loss)
	case 5, 6: // effective priority change; an owner ignores weights
		if n.cfg.Priority != 255 {
			s.setPriority(n, uint8(1+rng.IntN(254)))
		}
	case 7:
		if h.faulted[n] {
			delete(h.faulted, n)
			s.handle(n, FaultCleared{Reason: "check passed"})
		} else {
			h.faulted[n] = true
			s.handle(n, FaultRaised{Reason: "check failed"})
		}
	}
}

func (h *history) boot(n *simNode) {
	delete(h.down, n)
	h.s.start(n)
	if h.faulted[n] {
		h.s.handle(n, FaultRaised{Reason: "still failing"})
	}
}

// quiet connects everything, stops loss and faults, waits the bound and checks.
func (h *history) quiet(round int) {
	s := h.s
	s.heal()
	s.loss = 0
	for n := range h.faulted {
		delete(h.faulted, n)
		s.handle(n, FaultCleared{Reason: "quiet"})
	}
	if len(h.down) == len(s.nodes) {
		h.boot(s.nodes[0])
	}
	mdi := MasterDownInterval(h.version, 1, h.maxInterval, DefaultDownTimerAdverts)
	// A router booted just before gets its startup grace on top.
	wait := mdi + h.maxInterval + 2*h.maxDelay + 300*time.Millisecond
	if h.maxPreempt > 0 {
		// A preempt delay only starts when a lower master shows up, which may take
		// Master_Down_Interval; then the delay, then the down timer once more.
		wait += h.maxPreempt + mdi
	}
	s.run(wait)

	masters := s.masters()
	if len(masters) != 1 {
		names := []string{}
		for _, m := range masters {
			names = append(names, m.name)
		}
		s.t.Fatalf("round %d: %d masters %v after a quiet %v", round, len(masters), names, wait)
	}
	m := masters[0]
	for _, n := range s.nodes {
		if n.up && n.hasVIPs != (n == m) {
			s.t.Fatalf("round %d: %s (%v) has VIPs %v", round, n.name, n.state(), n.hasVIPs)
		}
		if !h.allPreempt || !n.up {
			continue
		}
		if p := n.r.Status().Priority; p > m.r.Status().Priority {
			s.t.Fatalf("round %d: master %s has priority %d, %s has %d", round, m.name, m.r.Status().Priority, n.name, p)
		}
	}
}

package bfd

import (
	"math/rand/v2"
	"testing"
	"time"
)

// sim is two sessions joined by a link with a delay, in simulated time: each step
// delivers the earliest packet in flight or fires the earliest timer.
type sim struct {
	t        *testing.T
	clk      *fakeClock
	s        [2]*Session
	delay    time.Duration
	cut      bool
	inflight []flight
	sent     [2]int
	history  [2][]StateChanged
}

type flight struct {
	at  time.Time
	to  int
	pkt []byte
}

func newSim(t *testing.T, a, b Config) *sim {
	m := &sim{t: t, clk: newClock(), delay: time.Millisecond}
	for i, c := range []Config{a, b} {
		s, err := NewSession(c, m.clk)
		if err != nil {
			t.Fatal(err)
		}
		m.s[i] = s
	}
	return m
}

func (m *sim) do(i int, acts []Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case Send:
			b, err := a.Packet.MarshalBinary()
			if err != nil {
				m.t.Fatal(err)
			}
			m.sent[i]++
			if !m.cut {
				m.inflight = append(m.inflight, flight{at: m.clk.now.Add(m.delay), to: 1 - i, pkt: b})
			}
		case StateChanged:
			m.history[i] = append(m.history[i], a)
		}
	}
}

// run advances simulated time by d.
func (m *sim) run(d time.Duration) {
	end := m.clk.now.Add(d)
	for steps := 0; steps < 1_000_000; steps++ {
		next, who, pkt := end, -1, -1
		for i, s := range m.s {
			if at, ok := s.NextDeadline(); ok && at.Before(next) {
				next, who = at, i
			}
		}
		for j, f := range m.inflight {
			if f.at.Before(next) {
				next, who, pkt = f.at, f.to, j
			}
		}
		if who < 0 {
			m.clk.now = end
			return
		}
		m.clk.now = next
		if pkt >= 0 {
			f := m.inflight[pkt]
			m.inflight = append(m.inflight[:pkt], m.inflight[pkt+1:]...)
			p, err := Parse(f.pkt)
			if err != nil {
				m.t.Fatalf("session %d sent a packet Parse refuses: %v", 1-who, err)
			}
			m.do(who, m.s[who].Handle(Received{p}))
			continue
		}
		m.do(who, m.s[who].Handle(TimerFired{}))
	}
	m.t.Fatal("simulation did not end")
}

func (m *sim) wantStates(when string, st State) {
	m.t.Helper()
	for i, s := range m.s {
		if s.State() != st {
			m.t.Fatalf("%s: session %d is %v, want %v; history %v", when, i, s.State(), st, m.history[i])
		}
	}
}

func simConfig(discr uint32, seed uint64) Config {
	r := rand.New(rand.NewPCG(seed, seed))
	return Config{LocalDiscriminator: discr, DesiredMinTxInterval: 50 * time.Millisecond, RequiredMinRxInterval: 50 * time.Millisecond,
		IdleTxInterval: time.Second, DetectMult: 3, Jitter: r.Float64}
}

// TestSimulation: two sessions come Up, hold it, go Down within the detection time
// when the link is cut, and come back Up when it is mended.
func TestSimulation(t *testing.T) {
	for _, c := range []struct {
		name    string
		passive bool
	}{{"both active", false}, {"one passive", true}} {
		t.Run(c.name, func(t *testing.T) {
			a, b := simConfig(1, 1), simConfig(0x80000000, 2)
			b.Passive = c.passive
			m := newSim(t, a, b)
			m.do(0, m.s[0].Handle(Start{}))
			m.do(1, m.s[1].Handle(Start{}))
			// Down and Init go at the slow rate of one packet a second.
			m.run(1100 * time.Millisecond)
			m.wantStates("1.1s after start", Up)

			// Steady: one packet per 37.5..50 ms each way, no state change.
			sent, hist := m.sent, len(m.history[0])
			m.run(10 * time.Second)
			m.wantStates("after 10s", Up)
			for i := range m.s {
				n := m.sent[i] - sent[i]
				if n < 200 || n > 267 {
					t.Errorf("session %d sent %d packets in 10s, want 200..267 (one every 37.5..50ms)", i, n)
				}
			}
			if len(m.history[0]) != hist {
				t.Errorf("state changed while steady: %v", m.history[0][hist:])
			}

			m.cut, m.inflight = true, nil
			cutAt := m.clk.now
			m.run(150 * time.Millisecond)
			m.wantStates("150ms after the cut", Down)
			for i := range m.s {
				last := m.history[i][len(m.history[i])-1]
				if last.Diag != DiagControlDetectionTimeExpired {
					t.Errorf("session %d went down with %v", i, last.Diag)
				}
				if d := m.s[i].Status().Since.Sub(cutAt); d > 150*time.Millisecond {
					t.Errorf("session %d down %v after the cut", i, d)
				}
			}
			m.run(5 * time.Second)
			m.wantStates("5s after the cut", Down)

			m.cut = false
			m.run(2500 * time.Millisecond)
			m.wantStates("2.5s after the mend", Up)
		})
	}
}

// TestSimulationAdminDown: a session stopped takes its peer Down at once, with
// diagnostic 3.
func TestSimulationAdminDown(t *testing.T) {
	m := newSim(t, simConfig(1, 1), simConfig(2, 2))
	m.do(0, m.s[0].Handle(Start{}))
	m.do(1, m.s[1].Handle(Start{}))
	m.run(time.Second)
	m.wantStates("1s after start", Up)
	m.do(0, m.s[0].Handle(Stop{}))
	m.run(5 * time.Millisecond)
	if st := m.s[1].Status(); st.State != Down || st.Diag != DiagNeighborSignaledSessionDown {
		t.Fatalf("peer of a stopped session: %v, %v", st.State, st.Diag)
	}
}

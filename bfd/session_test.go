package bfd

import (
	"testing"
	"time"
)

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) advance(d time.Duration) { c.now = c.now.Add(d) }
func newClock() *fakeClock                   { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func noJitter() float64                      { return 1 } // the full interval

func testConfig() Config {
	return Config{LocalDiscriminator: 11, DesiredMinTxInterval: 100 * time.Millisecond, RequiredMinRxInterval: 100 * time.Millisecond,
		IdleTxInterval: time.Second, DetectMult: 3, Jitter: noJitter}
}

func sends(acts []Action) []ControlPacket {
	var out []ControlPacket
	for _, a := range acts {
		if s, ok := a.(Send); ok {
			out = append(out, s.Packet)
		}
	}
	return out
}

func changes(acts []Action) []StateChanged {
	var out []StateChanged
	for _, a := range acts {
		if c, ok := a.(StateChanged); ok {
			out = append(out, c)
		}
	}
	return out
}

// peer is what the other side sends: state st, its discriminator 22.
func peer(st State, your uint32) ControlPacket {
	return ControlPacket{Version: 1, State: st, DetectMult: 3, MyDiscriminator: 22, YourDiscriminator: your,
		DesiredMinTxInterval: 100 * time.Millisecond, RequiredMinRxInterval: 100 * time.Millisecond}
}

func started(t *testing.T, cfg Config) (*Session, *fakeClock) {
	t.Helper()
	clk := newClock()
	s, err := NewSession(cfg, clk)
	if err != nil {
		t.Fatal(err)
	}
	s.Handle(Start{})
	return s, clk
}

// bringTo drives a started session to st by the peer's packets.
func bringTo(s *Session, st State) {
	switch st {
	case Init:
		s.Handle(Received{peer(Down, 0)})
	case Up:
		s.Handle(Received{peer(Init, 11)})
	}
}

// TestTransitions is the state diagram of RFC 5880 section 6.2 with the reception
// rules of section 6.8.6.
func TestTransitions(t *testing.T) {
	for _, c := range []struct {
		name     string
		from     State
		received ControlPacket
		want     State
		diag     Diag
	}{
		{"Down hears Down", Down, peer(Down, 0), Init, DiagNone},
		{"Down hears Init", Down, peer(Init, 11), Up, DiagNone},
		{"Down hears Up: stays", Down, peer(Up, 11), Down, DiagNone},
		{"Down hears AdminDown: stays", Down, peer(AdminDown, 11), Down, DiagNone},
		{"Init hears Init", Init, peer(Init, 11), Up, DiagNone},
		{"Init hears Up", Init, peer(Up, 11), Up, DiagNone},
		{"Init hears Down: stays", Init, peer(Down, 11), Init, DiagNone},
		{"Init hears AdminDown", Init, peer(AdminDown, 11), Down, DiagNeighborSignaledSessionDown},
		{"Up hears Down", Up, peer(Down, 11), Down, DiagNeighborSignaledSessionDown},
		{"Up hears AdminDown", Up, peer(AdminDown, 11), Down, DiagNeighborSignaledSessionDown},
		{"Up hears Up: stays", Up, peer(Up, 11), Up, DiagNone},
		{"Up hears Init: stays", Up, peer(Init, 11), Up, DiagNone},
		{"another session's packet is discarded", Up, peer(Down, 99), Up, DiagNone},
		{"authentication is discarded", Up, func() ControlPacket { p := peer(Down, 11); p.AuthPresent = true; return p }(), Up, DiagNone},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := started(t, testConfig())
			bringTo(s, c.from)
			if s.State() != c.from {
				t.Fatalf("set up in %v, want %v", s.State(), c.from)
			}
			s.Handle(Received{c.received})
			if s.State() != c.want {
				t.Fatalf("state %v, want %v", s.State(), c.want)
			}
			if c.want != c.from && s.Status().Diag != c.diag {
				t.Fatalf("diag %v, want %v", s.Status().Diag, c.diag)
			}
		})
	}
}

func TestAdminDownIgnoresPackets(t *testing.T) {
	s, _ := started(t, testConfig())
	bringTo(s, Up)
	acts := s.Handle(Stop{})
	p := sends(acts)
	if len(p) != 1 || p[0].State != AdminDown || p[0].Diag != DiagAdministrativelyDown {
		t.Fatalf("Stop sent %+v, want one AdminDown packet with diagnostic 7", p)
	}
	if acts := s.Handle(Received{peer(Init, 11)}); len(acts) != 0 || s.State() != AdminDown {
		t.Fatalf("in AdminDown a packet gave %v, state %v", acts, s.State())
	}
	if _, ok := s.NextDeadline(); ok {
		t.Fatal("a timer runs in AdminDown")
	}
}

// TestDetectionTime: the peer's Detect Mult times the larger of our Required Min RX
// and its Desired Min TX, then Down with diagnostic 1, and the peer is forgotten.
func TestDetectionTime(t *testing.T) {
	s, clk := started(t, testConfig())
	p := peer(Init, 11)
	p.DetectMult, p.DesiredMinTxInterval = 4, 250*time.Millisecond
	s.Handle(Received{p})
	if s.State() != Up {
		t.Fatal("not Up")
	}
	if d := s.DetectionTime(); d != time.Second {
		t.Fatalf("detection time %v, want 4 x 250ms", d)
	}
	step := 10 * time.Millisecond
	for range 99 {
		clk.advance(step)
		s.Handle(TimerFired{})
	}
	if s.State() != Up {
		t.Fatalf("down after 990 ms: %v", s.State())
	}
	clk.advance(step)
	ch := changes(s.Handle(TimerFired{}))
	if len(ch) != 1 || ch[0].To != Down || ch[0].Diag != DiagControlDetectionTimeExpired {
		t.Fatalf("at the detection time: %v, want Up -> Down: control detection time expired", ch)
	}
	if st := s.Status(); st.RemoteDiscr != 0 || st.DetectionTime != 0 {
		t.Fatalf("the peer is not forgotten: %+v", st)
	}
	// Packets go out at the slow rate again, to Your Discriminator 0.
	clk.advance(time.Second)
	pk := sends(s.Handle(TimerFired{}))
	if len(pk) != 1 || pk[0].YourDiscriminator != 0 || pk[0].DesiredMinTxInterval != time.Second || pk[0].State != Down {
		t.Fatalf("after the expiry sent %+v", pk)
	}
}

// TestTransmission covers section 6.8.7 and the slow rate of 6.8.3.
func TestTransmission(t *testing.T) {
	t.Run("first packet at Start, then one a second while Down", func(t *testing.T) {
		clk := newClock()
		s, _ := NewSession(testConfig(), clk)
		p := sends(s.Handle(Start{}))
		if len(p) != 1 || p[0].State != Down || p[0].DesiredMinTxInterval != time.Second || p[0].RequiredMinRxInterval != 100*time.Millisecond {
			t.Fatalf("Start sent %+v", p)
		}
		if at, _ := s.NextDeadline(); at.Sub(clk.now) != time.Second {
			t.Fatalf("next packet after %v, want 1s", at.Sub(clk.now))
		}
	})
	t.Run("idle_tx below a second is raised to a second", func(t *testing.T) {
		cfg := testConfig()
		cfg.IdleTxInterval = 10 * time.Millisecond
		s, _ := started(t, cfg)
		if st := s.Status(); st.TxInterval != time.Second {
			t.Fatalf("TX interval %v while Down", st.TxInterval)
		}
	})
	t.Run("passive waits for the peer", func(t *testing.T) {
		cfg := testConfig()
		cfg.Passive = true
		clk := newClock()
		s, _ := NewSession(cfg, clk)
		if p := sends(s.Handle(Start{})); len(p) != 0 {
			t.Fatalf("a passive session sent %+v", p)
		}
		if p := sends(s.Handle(Received{peer(Down, 0)})); len(p) != 1 || p[0].YourDiscriminator != 22 || p[0].State != Init {
			t.Fatalf("after hearing the peer sent %+v, want an Init packet to it", p)
		}
	})
	t.Run("the peer's Required Min RX sets the rate", func(t *testing.T) {
		s, _ := started(t, testConfig())
		p := peer(Init, 11)
		p.RequiredMinRxInterval = 400 * time.Millisecond
		s.Handle(Received{p})
		if st := s.Status(); st.TxInterval != 400*time.Millisecond {
			t.Fatalf("TX interval %v, want the peer's 400ms", st.TxInterval)
		}
	})
	t.Run("a peer asking for nothing gets nothing", func(t *testing.T) {
		s, clk := started(t, testConfig())
		p := peer(Down, 0)
		p.RequiredMinRxInterval, p.DesiredMinTxInterval = 0, time.Second
		s.Handle(Received{p})
		clk.advance(2 * time.Second) // within its detection time of 3s
		if p := sends(s.Handle(TimerFired{})); len(p) != 0 {
			t.Fatalf("sent %+v to a peer with Required Min RX 0", p)
		}
	})
	t.Run("a poll is answered at once with Final", func(t *testing.T) {
		s, _ := started(t, testConfig())
		bringTo(s, Up)
		p := peer(Up, 11)
		p.Poll = true
		out := sends(s.Handle(Received{p}))
		if len(out) == 0 || !out[0].Final || out[0].Poll {
			t.Fatalf("answer to a poll: %+v", out)
		}
	})
}

func TestJitter(t *testing.T) {
	for _, c := range []struct {
		mult   uint8
		r      float64
		lo, hi time.Duration
	}{
		{3, 0, 750 * time.Millisecond, 750 * time.Millisecond},
		{3, 0.999999, 999 * time.Millisecond, time.Second},
		{1, 0, 750 * time.Millisecond, 750 * time.Millisecond},
		{1, 0.999999, 899 * time.Millisecond, 900 * time.Millisecond},
	} {
		cfg := testConfig()
		cfg.DetectMult = c.mult
		cfg.Jitter = func() float64 { return c.r }
		s, clk := started(t, cfg)
		at, _ := s.NextDeadline()
		if d := at.Sub(clk.now); d < c.lo || d > c.hi {
			t.Errorf("detect mult %d, random %v: interval %v, want %v..%v", c.mult, c.r, d, c.lo, c.hi)
		}
	}
	// Without an injected source the interval stays within 75..100 %.
	cfg := testConfig()
	cfg.Jitter = nil
	s, _ := started(t, cfg)
	for range 100 {
		if d := s.jittered(time.Second); d < 750*time.Millisecond || d > time.Second {
			t.Fatalf("jittered 1s to %v", d)
		}
	}
}

// TestPollSequence: leaving the slow rate at Up polls the peer; a longer TX interval
// and a shorter Detection Time wait for its Final (RFC 5880 section 6.8.3).
func TestPollSequence(t *testing.T) {
	s, clk := started(t, testConfig())
	bringTo(s, Up)
	// The faster rate applies at once: the next packet comes 100ms after the last.
	clk.advance(100 * time.Millisecond)
	p := sends(s.Handle(TimerFired{}))
	if len(p) != 1 || !p[0].Poll || p[0].DesiredMinTxInterval != 100*time.Millisecond {
		t.Fatalf("first packet once Up: %+v, want a poll with 100ms", p)
	}
	f := peer(Up, 11)
	f.Final = true
	s.Handle(Received{f})
	clk.advance(100 * time.Millisecond)
	if p := sends(s.Handle(TimerFired{})); len(p) != 1 || p[0].Poll {
		t.Fatalf("after Final: %+v, want a packet without Poll", p)
	}

	// A reload to slower timers: the TX interval stays 100ms and the Detection Time
	// 300ms until the peer's Final.
	cfg := testConfig()
	cfg.DesiredMinTxInterval, cfg.RequiredMinRxInterval = 500*time.Millisecond, 50*time.Millisecond
	s.Handle(Reconfigure{cfg})
	if st := s.Status(); st.TxInterval != 100*time.Millisecond || st.DetectionTime != 300*time.Millisecond {
		t.Fatalf("during the poll: TX %v, detection %v, want the old 100ms and 300ms", st.TxInterval, st.DetectionTime)
	}
	clk.advance(100 * time.Millisecond)
	p = sends(s.Handle(TimerFired{}))
	if len(p) != 1 || !p[0].Poll || p[0].DesiredMinTxInterval != 500*time.Millisecond || p[0].RequiredMinRxInterval != 50*time.Millisecond {
		t.Fatalf("poll for the new timers: %+v", p)
	}
	s.Handle(Received{f})
	if st := s.Status(); st.TxInterval != 500*time.Millisecond || st.DetectionTime != 300*time.Millisecond {
		t.Fatalf("after Final: TX %v, detection %v, want 500ms and 3 x max(50ms, 100ms)", st.TxInterval, st.DetectionTime)
	}
	// A reload that changes nothing polls nothing.
	s.Handle(Reconfigure{cfg})
	clk.advance(500 * time.Millisecond)
	if p := sends(s.Handle(TimerFired{})); len(p) != 1 || p[0].Poll {
		t.Fatalf("after an unchanged reload: %+v", p)
	}
}

func TestConfigValidate(t *testing.T) {
	good := testConfig()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(*Config){
		"discriminator 0": func(c *Config) { c.LocalDiscriminator = 0 },
		"detect mult 0":   func(c *Config) { c.DetectMult = 0 },
		"tx 0":            func(c *Config) { c.DesiredMinTxInterval = 0 },
		"rx 0":            func(c *Config) { c.RequiredMinRxInterval = 0 },
	} {
		c := good
		f(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := NewSession(c, newClock()); err == nil {
			t.Errorf("%s: NewSession accepted it", name)
		}
	}
}

package bfd

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Clock tells a Session the time. The daemon gives it the system clock; tests a fake one.
type Clock interface {
	Now() time.Time
}

// SlowTxInterval is the least Desired Min TX a session advertises while it is not Up
// (RFC 5880 section 6.8.3).
const SlowTxInterval = time.Second

// Config is what a Session needs to know. Intervals have microsecond resolution.
type Config struct {
	// LocalDiscriminator is My Discriminator: non-zero and unique among the node's
	// sessions.
	LocalDiscriminator uint32
	// DesiredMinTxInterval is how often we would like to send while Up.
	DesiredMinTxInterval time.Duration
	// RequiredMinRxInterval is the fastest we accept the peer's packets; more than 0.
	RequiredMinRxInterval time.Duration
	// IdleTxInterval is how often we would like to send while not Up; raised to
	// SlowTxInterval when less (keepalived's idle_tx).
	IdleTxInterval time.Duration
	// DetectMult is the number of packets the peer may miss before it declares the
	// session down: our Detect Mult, 1..255.
	DetectMult uint8
	// Passive takes the passive role: nothing is sent before the peer is heard.
	Passive bool
	// Jitter returns a number in [0, 1) that chooses each packet's jitter; nil takes
	// math/rand/v2. Tests inject a fixed one.
	Jitter func() float64
}

// Validate reports the first value a session cannot run with.
func (c Config) Validate() error {
	switch {
	case c.LocalDiscriminator == 0:
		return errors.New("bfd: local discriminator 0")
	case c.DetectMult == 0:
		return errors.New("bfd: detect mult 0")
	case c.DesiredMinTxInterval < time.Microsecond:
		return fmt.Errorf("bfd: desired min tx interval %v, less than 1µs", c.DesiredMinTxInterval)
	case c.RequiredMinRxInterval < time.Microsecond:
		return fmt.Errorf("bfd: required min rx interval %v, less than 1µs", c.RequiredMinRxInterval)
	}
	return nil
}

// Event is an input to a Session. The concrete types are the ones in this file.
type Event interface{ event() }

// Start leaves AdminDown for Down and starts sending, unless passive.
type Start struct{}

// Received carries a packet that passed Parse, from the session's peer: the caller
// demultiplexes by Your Discriminator, or by address while it is 0.
type Received struct{ Packet ControlPacket }

// TimerFired tells the session that the clock reached its NextDeadline.
type TimerFired struct{}

// Stop takes the session to AdminDown: it sends one packet saying so, which takes the
// peer's session Down, and nothing more.
type Stop struct{}

// Reconfigure replaces the timers of a session and keeps its state; a change of the
// intervals while Up starts a Poll Sequence. LocalDiscriminator does not change. A
// configuration that fails Validate is ignored.
type Reconfigure struct{ Config Config }

func (Start) event()       {}
func (Received) event()    {}
func (TimerFired) event()  {}
func (Stop) event()        {}
func (Reconfigure) event() {}

// Action is an output of a Session, for the caller to carry out in order.
type Action interface{ action() }

// Send asks for a control packet to be sent to the peer.
type Send struct{ Packet ControlPacket }

// StateChanged reports a change of the session's state; Diag says why it left Up.
type StateChanged struct {
	From, To State
	Diag     Diag
}

func (Send) action()         {}
func (StateChanged) action() {}

func (c StateChanged) String() string {
	if c.Diag == DiagNone {
		return fmt.Sprintf("%v -> %v", c.From, c.To)
	}
	return fmt.Sprintf("%v -> %v: %v", c.From, c.To, c.Diag)
}

// Status is a session's state, timers and counters.
type Status struct {
	State, RemoteState State
	// Diag is the local diagnostic: why the session last left Up.
	Diag                    Diag
	LocalDiscr, RemoteDiscr uint32
	// Since is when State last changed.
	Since         time.Time
	TxInterval    time.Duration // between our packets, before jitter; 0 while we send none
	DetectionTime time.Duration // 0 before the peer is heard
	// Sent and Received count packets; Discarded those received for another session
	// or with authentication; Ups the times the session came Up.
	Sent, Received, Discarded, Ups uint64
}

// Session is one BFD session in asynchronous mode (RFC 5880 section 6.2 and 6.8). It
// never blocks, sleeps, starts goroutines or makes system calls, and is not safe for
// concurrent use.
type Session struct {
	cfg   Config
	clock Clock

	state       State
	remoteState State
	diag        Diag
	since       time.Time
	started     bool

	remoteDiscr        uint32
	remoteMinRx        time.Duration // bfd.RemoteMinRxInterval
	remoteDesiredMinTx time.Duration
	remoteDetectMult   uint8
	remoteDemand       bool

	// txInEffect and rxInEffect are the Desired Min TX and Required Min RX that the
	// transmission rate and the Detection Time use: during a Poll Sequence the old
	// ones, where the new ones must wait for the peer's Final.
	txInEffect, rxInEffect time.Duration
	polling                bool

	lastTx, nextTx time.Time // nextTx zero: nothing scheduled
	detectAt       time.Time // zero: not armed

	sent, received, discarded, ups uint64
}

// NewSession returns a session in AdminDown; Start starts it.
func NewSession(cfg Config, clock Clock) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Session{cfg: cfg, clock: clock, state: AdminDown, remoteState: Down, since: clock.Now(), remoteMinRx: time.Microsecond}
	s.txInEffect, s.rxInEffect = s.desiredTx(), cfg.RequiredMinRxInterval
	return s, nil
}

// desiredTx is the Desired Min TX Interval to advertise now.
func (s *Session) desiredTx() time.Duration {
	if s.state == Up {
		return s.cfg.DesiredMinTxInterval
	}
	return max(s.cfg.IdleTxInterval, SlowTxInterval, s.cfg.DesiredMinTxInterval)
}

// State returns the session's state.
func (s *Session) State() State { return s.state }

// Handle feeds one event to the session and returns what must be done, in order.
func (s *Session) Handle(ev Event) []Action {
	now := s.clock.Now()
	switch ev := ev.(type) {
	case Start:
		if s.started {
			return nil
		}
		s.started = true
		acts := s.setState(now, Down, DiagNone)
		if !s.cfg.Passive {
			s.nextTx = now
		}
		return append(acts, s.expire(now)...)
	case Received:
		return s.receive(now, ev.Packet)
	case TimerFired:
		return s.expire(now)
	case Stop:
		if !s.started || s.state == AdminDown {
			return nil
		}
		acts := s.setState(now, AdminDown, DiagAdministrativelyDown)
		s.nextTx, s.detectAt, s.polling = time.Time{}, time.Time{}, false
		s.sent++
		return append(acts, Send{s.packet(false, false)})
	case Reconfigure:
		cfg := ev.Config
		cfg.LocalDiscriminator = s.cfg.LocalDiscriminator
		if cfg.Validate() != nil {
			return nil
		}
		s.cfg = cfg
		s.timersChanged(now)
		if s.started && s.state != AdminDown && s.nextTx.IsZero() && s.mayTransmit() {
			s.nextTx = now
		}
		return s.expire(now)
	}
	return nil
}

// setState moves the session to st, and sets the timers that depend on it.
func (s *Session) setState(now time.Time, st State, diag Diag) []Action {
	if st == s.state {
		return nil
	}
	from := s.state
	s.state, s.since = st, now
	if diag != DiagNone || st == Up {
		s.diag = diag
	}
	if st == Up {
		s.ups++
	}
	s.timersChanged(now)
	return []Action{StateChanged{From: from, To: st, Diag: diag}}
}

// timersChanged applies a change of the intervals to advertise (RFC 5880 section
// 6.8.3): at once while not Up; while Up through a Poll Sequence, in which a longer TX
// interval and a shorter Detection Time wait for the peer's Final.
func (s *Session) timersChanged(now time.Time) {
	tx, rx := s.desiredTx(), s.cfg.RequiredMinRxInterval
	if tx == s.txInEffect && rx == s.rxInEffect && !s.polling {
		return
	}
	if s.state != Up {
		s.txInEffect, s.rxInEffect, s.polling = tx, rx, false
		return
	}
	s.polling = true
	if tx < s.txInEffect {
		s.txInEffect = tx
		s.reschedule(now)
	}
	if rx > s.rxInEffect {
		s.rxInEffect = rx
	}
}

// txInterval is the interval between periodic packets before jitter (section 6.8.7).
func (s *Session) txInterval() time.Duration { return max(s.txInEffect, s.remoteMinRx) }

// mayTransmit applies the rules of section 6.8.7 on sending periodic packets.
func (s *Session) mayTransmit() bool {
	switch {
	case s.state == AdminDown:
		return false
	case s.cfg.Passive && s.remoteDiscr == 0:
		return false
	case s.remoteMinRx == 0:
		return false
	case s.remoteDemand && s.state == Up && s.remoteState == Up:
		return false
	}
	return true
}

// jittered reduces d by 0 to 25 %, or by 10 to 25 % with a Detect Mult of 1 (section
// 6.8.7).
func (s *Session) jittered(d time.Duration) time.Duration {
	r := rand.Float64
	if s.cfg.Jitter != nil {
		r = s.cfg.Jitter
	}
	f := 0.75 + 0.25*r()
	if s.cfg.DetectMult == 1 {
		f = 0.75 + 0.15*r()
	}
	return time.Duration(float64(d) * f)
}

// reschedule brings the next periodic packet forward when the interval got shorter,
// so that the peer, which expects packets at the new rate, does not time out.
func (s *Session) reschedule(now time.Time) {
	if !s.mayTransmit() {
		s.nextTx = time.Time{}
		return
	}
	if s.nextTx.IsZero() || s.lastTx.IsZero() {
		s.nextTx = now
		return
	}
	if at := s.lastTx.Add(s.jittered(s.txInterval())); at.Before(s.nextTx) {
		s.nextTx = at
	}
	if s.nextTx.Before(now) {
		s.nextTx = now
	}
}

// DetectionTime is the Detection Time of section 6.8.4, asynchronous mode; 0 before
// the peer is heard.
func (s *Session) DetectionTime() time.Duration {
	if s.remoteDetectMult == 0 {
		return 0
	}
	return time.Duration(s.remoteDetectMult) * max(s.rxInEffect, s.remoteDesiredMinTx)
}

// packet builds the packet to send now (section 6.8.7).
func (s *Session) packet(poll, final bool) ControlPacket {
	return ControlPacket{
		Version: Version, Diag: s.diag, State: s.state, Poll: poll, Final: final,
		DetectMult: s.cfg.DetectMult, MyDiscriminator: s.cfg.LocalDiscriminator, YourDiscriminator: s.remoteDiscr,
		DesiredMinTxInterval: s.desiredTx(), RequiredMinRxInterval: s.cfg.RequiredMinRxInterval,
	}
}

// receive is the reception of section 6.8.6, after Parse's checks.
func (s *Session) receive(now time.Time, p ControlPacket) []Action {
	if !s.started || p.AuthPresent || p.YourDiscriminator != 0 && p.YourDiscriminator != s.cfg.LocalDiscriminator {
		s.discarded++
		return nil
	}
	s.received++
	if s.state == AdminDown {
		return nil
	}
	heardFirst := s.remoteDiscr == 0
	s.remoteDiscr = p.MyDiscriminator
	s.remoteState = p.State
	s.remoteDemand = p.Demand
	s.remoteDetectMult = p.DetectMult
	s.remoteDesiredMinTx = p.DesiredMinTxInterval
	oldMinRx := s.remoteMinRx
	s.remoteMinRx = p.RequiredMinRxInterval
	if p.Final && s.polling {
		s.polling = false
		s.txInEffect, s.rxInEffect = s.desiredTx(), s.cfg.RequiredMinRxInterval
	}
	s.detectAt = now.Add(s.DetectionTime())

	var acts []Action
	switch {
	case p.State == AdminDown:
		if s.state != Down {
			acts = s.setState(now, Down, DiagNeighborSignaledSessionDown)
		}
	case s.state == Down && p.State == Down:
		acts = s.setState(now, Init, DiagNone)
	case s.state == Down && p.State == Init, s.state == Init && (p.State == Init || p.State == Up):
		acts = s.setState(now, Up, DiagNone)
	case s.state == Up && p.State == Down:
		acts = s.setState(now, Down, DiagNeighborSignaledSessionDown)
	}
	if heardFirst || s.remoteMinRx < oldMinRx || !s.mayTransmit() {
		s.reschedule(now)
	}
	if p.Poll {
		// At once, whatever the transmission timer says; never with Poll too.
		s.sent++
		acts = append(acts, Send{s.packet(false, true)})
	}
	return append(acts, s.expire(now)...)
}

// expire handles the timers that are due: the Detection Time, then the next periodic
// packet.
func (s *Session) expire(now time.Time) []Action {
	var acts []Action
	if !s.detectAt.IsZero() && !now.Before(s.detectAt) {
		s.detectAt = time.Time{}
		if s.state == Init || s.state == Up {
			acts = s.setState(now, Down, DiagControlDetectionTimeExpired)
		}
		// The peer is gone: forget it (section 6.8.1).
		s.remoteDiscr, s.remoteState, s.remoteDemand = 0, Down, false
		s.remoteMinRx, s.remoteDesiredMinTx, s.remoteDetectMult = time.Microsecond, 0, 0
		s.reschedule(now)
	}
	if !s.nextTx.IsZero() && !now.Before(s.nextTx) {
		if !s.mayTransmit() {
			s.nextTx = time.Time{}
			return acts
		}
		s.sent++
		acts = append(acts, Send{s.packet(s.polling, false)})
		s.lastTx = now
		s.nextTx = now.Add(s.jittered(s.txInterval()))
	}
	return acts
}

// NextDeadline returns when the session next needs a TimerFired, and false when no
// timer runs.
func (s *Session) NextDeadline() (time.Time, bool) {
	switch {
	case s.nextTx.IsZero() && s.detectAt.IsZero():
		return time.Time{}, false
	case s.nextTx.IsZero():
		return s.detectAt, true
	case s.detectAt.IsZero() || s.nextTx.Before(s.detectAt):
		return s.nextTx, true
	}
	return s.detectAt, true
}

// Status returns the session's state and counters.
func (s *Session) Status() Status {
	st := Status{
		State: s.state, RemoteState: s.remoteState, Diag: s.diag,
		LocalDiscr: s.cfg.LocalDiscriminator, RemoteDiscr: s.remoteDiscr, Since: s.since,
		DetectionTime: s.DetectionTime(),
		Sent:          s.sent, Received: s.received, Discarded: s.discarded, Ups: s.ups,
	}
	if s.mayTransmit() {
		st.TxInterval = s.txInterval()
	}
	return st
}

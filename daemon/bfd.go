package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vrrpd/vrrpd/bfd"
	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/tracker"
	"github.com/vrrpd/vrrpd/vrrp"
)

// bfdRunner runs the configuration's BFD sessions (package bfd) over the sockets of
// netops, one goroutine per session and one reader per family, and tells the trackers
// their states: it is their tracker.BFDWatcher. A reload keeps a session whose
// neighbour, source and interface are unchanged, its state with it; changed timers
// reach it as a Reconfigure, which polls the neighbour.
type bfdRunner struct {
	d       *Daemon
	sockets netops.BFDSockets
	log     *slog.Logger

	mu        sync.Mutex
	sessions  map[string]*bfdSession
	byDiscr   map[uint32]*bfdSession
	listeners map[vrrp.Family]netops.BFDListener
	watchers  map[string]map[*bfdWatch]bool
	states    map[string]bfdState // the last state of each session, for new watchers
	drops     dropCounter
	stopped   bool
	wg        sync.WaitGroup

	// pending counts the packets handed to sessions and not yet handled, and the
	// sessions removed that have not yet said so to their neighbour; handled, the events
	// the sessions handled: tests on a manual clock wait for both to settle.
	pending atomic.Int64
	handled atomic.Uint64
}

type bfdWatch struct{ report func(bool, string) }

type bfdState struct {
	up     bool
	detail string
}

// dropCounter counts received packets that match no session or fail a check, and
// logs them at most once per dropLogInterval: a peer can send them at any rate.
type dropCounter struct {
	n, suppressed uint64
	last          time.Time
}

func newBFDRunner(d *Daemon, sockets netops.BFDSockets) *bfdRunner {
	return &bfdRunner{
		d: d, sockets: sockets, log: d.log,
		sessions: map[string]*bfdSession{}, byDiscr: map[uint32]*bfdSession{},
		listeners: map[vrrp.Family]netops.BFDListener{}, watchers: map[string]map[*bfdWatch]bool{},
		states: map[string]bfdState{},
	}
}

// configure runs the sessions of cfgs: it starts new ones, reconfigures kept ones and
// stops removed ones, and opens the listener of each family a session needs.
func (r *bfdRunner) configure(cfgs []config.BFDSession) error {
	if len(cfgs) > 0 && r.sockets == nil {
		return errors.New("bfd: this system has no BFD sockets")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return nil
	}
	var errs []error
	want := map[string]bool{}
	failed := map[vrrp.Family]bool{}
	for _, c := range cfgs {
		want[c.Name] = true
		f := vrrp.FamilyOf(c.Neighbor)
		if r.listeners[f] == nil && !failed[f] {
			// Without it the sessions of f hear nothing and stay down; a reload tries
			// again.
			l, err := r.sockets.ListenBFD(f)
			if err != nil {
				failed[f] = true
				errs = append(errs, fmt.Errorf("bfd: %w", err))
			} else {
				r.listeners[f] = l
				r.wg.Go(func() { r.read(l) })
			}
		}
		if s := r.sessions[c.Name]; s != nil {
			if sameEndpoints(s.endpoints, c) {
				s.reconfigure(c)
				continue
			}
			r.remove(s)
		}
		r.add(c)
	}
	for name, s := range r.sessions {
		if !want[name] {
			r.remove(s)
			r.publish(name, bfdState{detail: "not configured"})
		}
	}
	return errors.Join(errs...)
}

func sameEndpoints(a, b config.BFDSession) bool {
	return a.Neighbor == b.Neighbor && a.Source == b.Source && a.Interface == b.Interface
}

// add starts a session. mu is held.
func (r *bfdRunner) add(c config.BFDSession) {
	var discr uint32
	for discr == 0 || r.byDiscr[discr] != nil {
		discr = rand.Uint32()
	}
	sess, err := bfd.NewSession(sessionConfig(c, discr), r.d.clock)
	if err != nil {
		// config.Load refuses what NewSession refuses.
		r.log.Error("BFD session not started", "session", c.Name, "error", err)
		return
	}
	s := &bfdSession{
		r: r, name: c.Name, endpoints: c, cfg: c, sess: sess, discr: discr,
		log:    r.log.With("session", c.Name, "neighbor", c.Neighbor.String()),
		in:     make(chan bfd.ControlPacket, 16),
		reconf: make(chan config.BFDSession, 1),
		synced: make(chan chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	r.sessions[c.Name], r.byDiscr[discr] = s, s
	r.wg.Go(s.run)
}

// remove stops a session: it tells the neighbour it is AdminDown. mu is held.
func (r *bfdRunner) remove(s *bfdSession) {
	delete(r.sessions, s.name)
	delete(r.byDiscr, s.discr)
	r.pending.Add(1) // until it has told the neighbour: sync no longer sees it
	s.cancel()
}

func sessionConfig(c config.BFDSession, discr uint32) bfd.Config {
	return bfd.Config{LocalDiscriminator: discr, DesiredMinTxInterval: c.MinTx, RequiredMinRxInterval: c.MinRx,
		IdleTxInterval: c.IdleTx, DetectMult: uint8(c.Multiplier), Passive: c.Passive}
}

// stop stops every session, sending AdminDown, and closes the sockets.
func (r *bfdRunner) stop() {
	r.mu.Lock()
	r.stopped = true
	for _, s := range r.sessions {
		r.remove(s)
	}
	for f, l := range r.listeners {
		l.Close()
		delete(r.listeners, f)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// read hands each packet of a listener to its session, until the listener closes.
func (r *bfdRunner) read(l netops.BFDListener) {
	b := make([]byte, 1500)
	for {
		n, m, err := l.Read(b)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil && !errors.Is(err, netops.ErrBFDTTL) {
			r.log.Error("BFD receive failed", "error", err)
			time.Sleep(100 * time.Millisecond) // a socket that errs at once must not spin
			continue
		}
		if err == nil {
			var p bfd.ControlPacket
			if p, err = bfd.Parse(b[:n]); err == nil {
				err = r.deliver(p, m)
			}
		}
		if err != nil {
			r.dropped(m, err)
		}
	}
}

var errNoSession = errors.New("no session")

// deliver finds the session of a packet (RFC 5880 section 6.3): by Your Discriminator,
// or while it is 0 by the source address and interface.
func (r *bfdRunner) deliver(p bfd.ControlPacket, m netops.BFDMeta) error {
	r.mu.Lock()
	var s *bfdSession
	if p.YourDiscriminator != 0 {
		if c := r.byDiscr[p.YourDiscriminator]; c != nil && c.endpoints.Neighbor == m.Src {
			s = c
		}
	} else {
		for _, c := range r.sessions {
			e := c.endpoints
			if e.Neighbor == m.Src && (e.Interface == "" || m.IfIndex == 0 || r.d.mayBeLink(e.Interface, m.IfIndex)) {
				s = c
				break
			}
		}
	}
	r.mu.Unlock()
	if s == nil {
		return fmt.Errorf("%w for discriminator %d from %v", errNoSession, p.YourDiscriminator, m.Src)
	}
	r.pending.Add(1)
	select {
	case s.in <- p:
	default: // the session is behind: a packet lost, as on the wire
		r.pending.Add(-1)
	}
	return nil
}

func (r *bfdRunner) dropped(m netops.BFDMeta, err error) {
	now := r.d.clock.Now()
	r.mu.Lock()
	c := &r.drops
	c.n++
	if !c.last.IsZero() && now.Sub(c.last) < dropLogInterval {
		c.suppressed++
		r.mu.Unlock()
		return
	}
	suppressed := c.suppressed
	c.last, c.suppressed = now, 0
	r.mu.Unlock()
	r.log.Warn("BFD packet dropped", "from", m.Src.String(), "error", err, "more_dropped_since_last_report", suppressed)
}

// WatchBFD implements tracker.BFDWatcher.
func (r *bfdRunner) WatchBFD(ctx context.Context, name string, report func(bool, string)) {
	w := &bfdWatch{report: report}
	r.mu.Lock()
	if r.watchers[name] == nil {
		r.watchers[name] = map[*bfdWatch]bool{}
	}
	r.watchers[name][w] = true
	st, ok := r.states[name]
	if !ok {
		st.detail = "not started"
	}
	report(st.up, st.detail)
	r.mu.Unlock()
	<-ctx.Done()
	r.mu.Lock()
	delete(r.watchers[name], w)
	r.mu.Unlock()
}

// publish records a session's state and tells its watchers. mu is held, so that a
// watcher never hears an older state after a newer one.
func (r *bfdRunner) publish(name string, st bfdState) {
	r.states[name] = st
	for w := range r.watchers[name] {
		w.report(st.up, st.detail)
	}
}

// bfdSession runs one bfd.Session in its goroutine.
type bfdSession struct {
	r    *bfdRunner
	name string
	// endpoints is the configuration the session started with: its neighbour, source
	// and interface never change. cfg is the latest, owned by run.
	endpoints config.BFDSession
	cfg       config.BFDSession
	discr     uint32
	sess      *bfd.Session
	log       *slog.Logger
	in        chan bfd.ControlPacket
	// synced answers once the session has handled every timer and packet that was
	// ready when it asked: tests on a manual clock wait for it (sync).
	synced chan chan struct{}
	reconf chan config.BFDSession
	ctx    context.Context
	cancel context.CancelFunc

	sender   netops.BFDSender
	dialedAt time.Time
	sendLog  time.Time
}

// reconfigure hands the session new timers; the latest wins.
func (s *bfdSession) reconfigure(c config.BFDSession) {
	for {
		select {
		case s.reconf <- c:
			return
		default:
		}
		select {
		case <-s.reconf:
		default:
		}
	}
}

func (s *bfdSession) run() {
	timer := s.r.d.clock.NewTimer()
	defer timer.Stop()
	defer func() {
		if s.sender != nil {
			s.sender.Close()
		}
	}()
	s.do(s.sess.Handle(bfd.Start{}))
	s.r.handled.Add(1)
	for {
		// Without a deadline the timer is set far off rather than stopped, so that it
		// can be reset.
		wait := time.Hour
		if at, ok := s.sess.NextDeadline(); ok {
			wait = max(at.Sub(s.r.d.clock.Now()), 0)
		}
		timer.Reset(wait)
		// A due timer or a received packet first, then the rest: sync must not answer
		// before the work that was ready.
		select {
		case p := <-s.in:
			s.received(p)
			continue
		case <-timer.C():
			s.do(s.sess.Handle(bfd.TimerFired{}))
			s.r.handled.Add(1)
			continue
		default:
		}
		select {
		case <-s.ctx.Done():
			s.do(s.sess.Handle(bfd.Stop{}))
			s.r.pending.Add(-1)
			return
		case p := <-s.in:
			s.received(p)
		case <-timer.C():
			s.do(s.sess.Handle(bfd.TimerFired{}))
			s.r.handled.Add(1)
		case c := <-s.reconf:
			if c != s.cfg {
				s.log.Info("BFD session timers changed", "min_rx", c.MinRx.Seconds(), "min_tx", c.MinTx.Seconds(), "multiplier", c.Multiplier)
			}
			s.cfg = c
			s.do(s.sess.Handle(bfd.Reconfigure{Config: sessionConfig(c, s.discr)}))
			s.r.handled.Add(1)
		case done := <-s.synced:
			close(done)
		}
	}
}

func (s *bfdSession) received(p bfd.ControlPacket) {
	s.do(s.sess.Handle(bfd.Received{Packet: p}))
	s.r.handled.Add(1)
	s.r.pending.Add(-1)
}

// sync returns once every session has handled what was ready for it.
func (r *bfdRunner) sync() {
	r.mu.Lock()
	sessions := make([]*bfdSession, 0, len(r.sessions))
	for _, s := range r.sessions {
		sessions = append(sessions, s)
	}
	r.mu.Unlock()
	for _, s := range sessions {
		done := make(chan struct{})
		select {
		case s.synced <- done:
			<-done
		case <-s.ctx.Done():
		}
	}
}

// do carries out a session's actions.
func (s *bfdSession) do(acts []bfd.Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case bfd.Send:
			s.send(a.Packet)
		case bfd.StateChanged:
			attrs := []any{"from", a.From.String(), "to", a.To.String(), "diagnostic", a.Diag.String()}
			if a.From == bfd.Up {
				s.log.Warn("BFD session down", attrs...)
			} else {
				s.log.Info("BFD session state", attrs...)
			}
			detail := s.cfg.Neighbor.String() + ": " + a.To.String()
			if a.To != bfd.Up && a.Diag != bfd.DiagNone {
				detail += ": " + a.Diag.String()
			}
			s.r.mu.Lock()
			if s.r.sessions[s.name] == s {
				s.r.publish(s.name, bfdState{up: a.To == bfd.Up, detail: detail})
			}
			s.r.mu.Unlock()
		}
	}
}

// send sends a packet, opening the session's sender first, at most once a second
// while it fails (the source address may not be there yet).
func (s *bfdSession) send(p bfd.ControlPacket) {
	now := s.r.d.clock.Now()
	if s.sender == nil {
		if !s.dialedAt.IsZero() && now.Sub(s.dialedAt) < time.Second {
			return
		}
		s.dialedAt = now
		snd, err := s.r.sockets.DialBFD(s.cfg.Source, s.cfg.Neighbor, s.cfg.Interface)
		if err != nil {
			s.sendFailed(now, err)
			return
		}
		s.sender = snd
	}
	b, err := p.MarshalBinary()
	if err == nil {
		err = s.sender.Write(b)
	}
	if err != nil {
		s.sendFailed(now, err)
	}
}

func (s *bfdSession) sendFailed(now time.Time, err error) {
	if !s.sendLog.IsZero() && now.Sub(s.sendLog) < dropLogInterval {
		return
	}
	s.sendLog = now
	s.log.Error("cannot send BFD packet", "error", err)
}

// mayBeLink reports whether index may be interface name's: it is the index last seen
// of name, or no event named name yet.
func (d *Daemon) mayBeLink(name string, index int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	i, ok := d.links[name]
	return !ok || i == index
}

var _ tracker.BFDWatcher = (*bfdRunner)(nil)

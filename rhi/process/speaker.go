package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/rhi"
)

// Timing of the restarts of a vrrpd-bgp that ended on its own: the first after a
// second, then twice as long each time, up to half a minute, until one lives for a
// minute.
const (
	firstRestart = time.Second
	maxRestart   = 30 * time.Second
	livedLong    = time.Minute
	// peersTimeout bounds the question behind `vrrpd show`.
	peersTimeout = 2 * time.Second
	// replayTimeout bounds giving a restarted vrrpd-bgp its state.
	replayTimeout = 10 * time.Second
)

// Speaker is the rhi.Speaker that runs in vrrpd-bgp. Safe for concurrent use.
//
// It keeps what it was told (identity, peers, announced routes) and gives it to every
// vrrpd-bgp it starts. A request made while no vrrpd-bgp runs is kept for the next one
// and is not an error: the peers show as down meanwhile.
type Speaker struct {
	path   string
	log    *slog.Logger
	onPeer func(rhi.PeerStatus)

	// order keeps the requests that change the speaker's state in the order they were
	// made, without holding mu while vrrpd-bgp answers.
	order sync.Mutex

	mu      sync.Mutex
	child   *child // nil when vrrpd-bgp is not running
	started bool   // between Start and Stop: a child that ends is started again
	global  rhi.Global
	peers   []config.BGPPeer
	routes  map[netip.Prefix]rhi.Attributes // announced
	wait    time.Duration                   // before the next restart
	restart *time.Timer
	// callTimeout is how long vrrpd-bgp may take to answer: defaultCallTimeout but in
	// tests.
	callTimeout time.Duration
}

var _ rhi.Speaker = (*Speaker)(nil)

// New returns a speaker that runs the vrrpd-bgp at path (found by Path at Start when
// empty), logs its records and its failures to log, and tells onPeer (when not nil) of
// every change of a session's state.
func New(path string, log *slog.Logger, onPeer func(rhi.PeerStatus)) *Speaker {
	if onPeer == nil {
		onPeer = func(rhi.PeerStatus) {}
	}
	return &Speaker{path: path, log: log, onPeer: onPeer, wait: firstRestart, callTimeout: defaultCallTimeout}
}

// Start implements rhi.Speaker: it starts vrrpd-bgp and its speaker.
func (s *Speaker) Start(ctx context.Context, g rhi.Global) error {
	s.order.Lock()
	defer s.order.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("process: BGP speaker already started")
	}
	if s.path == "" {
		p, err := Path()
		if err != nil {
			return err
		}
		s.path = p
	}
	c, err := s.spawn()
	if err != nil {
		return err
	}
	if _, err := c.call(ctx, request{Op: opStart, Global: &g}); err != nil {
		c.kill()
		return fmt.Errorf("process: start BGP: %w", err)
	}
	s.child, s.started, s.global, s.peers, s.routes = c, true, g, nil, map[netip.Prefix]rhi.Attributes{}
	s.wait = firstRestart
	return nil
}

// SetPeers implements rhi.Speaker.
func (s *Speaker) SetPeers(ctx context.Context, peers []config.BGPPeer) error {
	return s.change(ctx, request{Op: opSetPeers, Peers: peers}, func() func() {
		old := s.peers
		s.peers = slices.Clone(peers)
		return func() { s.peers = old }
	})
}

// Announce implements rhi.Speaker.
func (s *Speaker) Announce(ctx context.Context, prefix netip.Prefix, a rhi.Attributes) error {
	return s.change(ctx, request{Op: opAnnounce, Prefix: prefix, Attrs: &a}, func() func() {
		old, had := s.routes[prefix]
		s.routes[prefix] = a
		return func() {
			if had {
				s.routes[prefix] = old
			} else {
				delete(s.routes, prefix)
			}
		}
	})
}

// Withdraw implements rhi.Speaker.
func (s *Speaker) Withdraw(ctx context.Context, prefix netip.Prefix) error {
	return s.change(ctx, request{Op: opWithdraw, Prefix: prefix}, func() func() {
		old, had := s.routes[prefix]
		delete(s.routes, prefix)
		return func() {
			if had {
				s.routes[prefix] = old
			}
		}
	})
}

// change records what req changes (record returns how to undo it), then sends req to
// the running vrrpd-bgp. The record comes first, so that a restart under way gives the
// next vrrpd-bgp the change too. A request the speaker refuses is undone: the next
// vrrpd-bgp would refuse it as well. One made while none runs, or that the one running
// could not answer, waits in the record for the next.
func (s *Speaker) change(ctx context.Context, req request, record func() (undo func())) error {
	s.order.Lock()
	defer s.order.Unlock()
	s.mu.Lock()
	if !s.started {
		s.mu.Unlock()
		return errNotStarted
	}
	undo := record()
	c := s.child
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	_, err := c.call(ctx, req)
	if errors.As(err, new(refused)) {
		s.mu.Lock()
		undo()
		s.mu.Unlock()
		return fmt.Errorf("process: %s: %w", req.Op, err)
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("process: %s: %w", req.Op, err)
	}
	// Any other failure ended this vrrpd-bgp (call kills one that does not answer):
	// the next one gets the change.
	return nil
}

// Peers implements rhi.Speaker. A vrrpd-bgp that does not answer shows every peer as
// idle, with the reason.
func (s *Speaker) Peers() []rhi.PeerStatus {
	s.mu.Lock()
	if !s.started {
		s.mu.Unlock()
		return nil
	}
	c, peers := s.child, s.peers
	s.mu.Unlock()
	err := errClosed
	if c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), peersTimeout)
		defer cancel()
		var m message
		if m, err = c.call(ctx, request{Op: opPeers}); err == nil {
			return m.Peers
		}
	}
	return down(peers, err)
}

// down is every peer as idle, for err.
func down(peers []config.BGPPeer, err error) []rhi.PeerStatus {
	out := make([]rhi.PeerStatus, 0, len(peers))
	for _, p := range peers {
		out = append(out, rhi.PeerStatus{Address: p.Address, ASN: p.ASN, State: "idle", LastError: err.Error()})
	}
	return out
}

// Stop implements rhi.Speaker: the speaker closes its sessions, then vrrpd-bgp exits.
func (s *Speaker) Stop(ctx context.Context) error {
	s.order.Lock()
	defer s.order.Unlock()
	s.mu.Lock()
	c := s.child
	s.child, s.started = nil, false
	if s.restart != nil {
		s.restart.Stop()
		s.restart = nil
	}
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	_, err := c.call(ctx, request{Op: opStop})
	c.close(ctx)
	if err != nil {
		return fmt.Errorf("process: stop BGP: %w", err)
	}
	return nil
}

// spawn starts vrrpd-bgp and watches it.
func (s *Speaker) spawn() (*child, error) {
	c, err := startChild(s.path, logLevel(s.log), s.received, s.log, s.callTimeout)
	if err != nil {
		return nil, err
	}
	go s.watch(c)
	return c, nil
}

// watch waits for c to end and, when it was not asked to, tells of its peers as down
// and starts it again.
func (s *Speaker) watch(c *child) {
	err := c.wait()
	s.mu.Lock()
	if s.child != c {
		s.mu.Unlock()
		return // stopped, or a failed start
	}
	s.child = nil
	if time.Since(c.since) >= livedLong {
		s.wait = firstRestart
	}
	s.log.Error("BGP speaker vrrpd-bgp ended: starting it again", "error", err, "in", s.wait.String())
	statuses := down(s.peers, fmt.Errorf("vrrpd-bgp ended: %w", err))
	s.restart = time.AfterFunc(s.wait, s.respawn)
	s.wait = min(2*s.wait, maxRestart)
	s.mu.Unlock()
	for _, p := range statuses {
		s.onPeer(p)
	}
}

// respawn starts vrrpd-bgp again and gives it the speaker's identity, peers and
// routes. The requests made meanwhile wait (order): they would reach it before its
// identity.
func (s *Speaker) respawn() {
	s.order.Lock()
	defer s.order.Unlock()
	s.mu.Lock()
	if !s.started || s.child != nil {
		s.mu.Unlock()
		return
	}
	s.restart = nil
	c, err := s.spawn()
	if err != nil {
		s.log.Error("BGP speaker vrrpd-bgp not started again", "error", err, "next_in", s.wait.String())
		s.restart = time.AfterFunc(s.wait, s.respawn)
		s.wait = min(2*s.wait, maxRestart)
		s.mu.Unlock()
		return
	}
	s.child = c
	// Only the holders of order change the state: it stays as read while mu is free
	// for Peers and watch.
	g, peers, routes := s.global, s.peers, maps.Clone(s.routes)
	s.mu.Unlock()
	if err := replay(c, g, peers, routes, s.log); err != nil {
		s.log.Error("BGP speaker vrrpd-bgp did not take its state again", "error", err)
		c.kill() // watch starts it again
		return
	}
	s.log.Info("BGP speaker vrrpd-bgp started again", "peers", len(peers), "routes", len(routes))
}

// replay gives c the speaker's state. A route or a peer the speaker refuses is logged
// and skipped, as when it was first asked; a refused identity is a failure.
func replay(c *child, g rhi.Global, peers []config.BGPPeer, routes map[netip.Prefix]rhi.Attributes, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), replayTimeout)
	defer cancel()
	if _, err := c.call(ctx, request{Op: opStart, Global: &g}); err != nil {
		return fmt.Errorf("%s: %w", opStart, err)
	}
	reqs := []request{{Op: opSetPeers, Peers: peers}}
	for _, p := range slices.SortedFunc(maps.Keys(routes), netip.Prefix.Compare) {
		a := routes[p]
		reqs = append(reqs, request{Op: opAnnounce, Prefix: p, Attrs: &a})
	}
	for _, req := range reqs {
		_, err := c.call(ctx, req)
		if errors.As(err, new(refused)) {
			log.Warn("BGP speaker vrrpd-bgp, started again, refused", "request", req.Op, "error", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", req.Op, err)
		}
	}
	return nil
}

// received handles what vrrpd-bgp tells on its own: a peer's change, a log record.
func (s *Speaker) received(m message) {
	switch {
	case m.Peer != nil:
		s.onPeer(*m.Peer)
	case m.Log != nil:
		r := slog.NewRecord(m.Log.Time, m.Log.Level, m.Log.Message, 0)
		for i := 0; i+1 < len(m.Log.Attrs); i += 2 {
			r.AddAttrs(slog.String(m.Log.Attrs[i], m.Log.Attrs[i+1]))
		}
		ctx := context.Background()
		if h := s.log.Handler(); h.Enabled(ctx, r.Level) {
			_ = h.Handle(ctx, r) // as slog.Logger.Log: a line that cannot be written is lost
		}
	}
}

// logLevel is the lowest level log writes.
func logLevel(log *slog.Logger) slog.Level {
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		if log.Enabled(context.Background(), l) {
			return l
		}
	}
	return slog.LevelError
}

var (
	errNotStarted = errors.New("process: BGP speaker not started")
	// errClosed is the error of a request to a vrrpd-bgp that is gone.
	errClosed = errors.New("vrrpd-bgp is not running")
)

// refused is the speaker's own error, as vrrpd-bgp answered it: an error of the
// request, not of the process.
type refused string

func (r refused) Error() string { return string(r) }

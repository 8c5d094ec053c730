package process

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"os/exec"
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
	// exitTimeout is how long Stop waits for vrrpd-bgp to exit before it kills it.
	exitTimeout = 5 * time.Second
)

// Speaker is the rhi.Speaker that runs in vrrpd-bgp. Safe for concurrent use.
type Speaker struct {
	path   string
	log    *slog.Logger
	onPeer func(rhi.PeerStatus)

	mu      sync.Mutex
	child   *child // nil when vrrpd-bgp is not running
	started bool   // between Start and Stop: a child that ends is started again
	global  rhi.Global
	peers   []config.BGPPeer
	routes  map[netip.Prefix]rhi.Attributes // announced
	wait    time.Duration                   // before the next restart
	restart *time.Timer
}

var _ rhi.Speaker = (*Speaker)(nil)

// New returns a speaker that runs the vrrpd-bgp at path (found by Path at Start when
// empty), logs its records and its failures to log, and tells onPeer (when not nil) of every change of a session's
// state.
func New(path string, log *slog.Logger, onPeer func(rhi.PeerStatus)) *Speaker {
	if onPeer == nil {
		onPeer = func(rhi.PeerStatus) {}
	}
	return &Speaker{path: path, log: log, onPeer: onPeer, wait: firstRestart}
}

// Start implements rhi.Speaker: it starts vrrpd-bgp and its speaker.
func (s *Speaker) Start(ctx context.Context, g rhi.Global) error {
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
	return nil
}

// SetPeers implements rhi.Speaker.
func (s *Speaker) SetPeers(ctx context.Context, peers []config.BGPPeer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return errNotStarted
	}
	s.peers = slices.Clone(peers)
	return s.ask(ctx, request{Op: opSetPeers, Peers: peers})
}

// Announce implements rhi.Speaker.
func (s *Speaker) Announce(ctx context.Context, prefix netip.Prefix, a rhi.Attributes) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return errNotStarted
	}
	err := s.ask(ctx, request{Op: opAnnounce, Prefix: prefix, Attrs: &a})
	if !errors.As(err, new(refused)) { // a speaker that refuses it now would refuse it at a restart
		s.routes[prefix] = a
	}
	return err
}

// Withdraw implements rhi.Speaker.
func (s *Speaker) Withdraw(ctx context.Context, prefix netip.Prefix) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return errNotStarted
	}
	delete(s.routes, prefix)
	return s.ask(ctx, request{Op: opWithdraw, Prefix: prefix})
}

// ask sends req to the running child. Without a child the request is kept in the
// speaker's state only, for the restart to replay, and the error says so.
func (s *Speaker) ask(ctx context.Context, req request) error {
	if s.child == nil {
		return fmt.Errorf("process: %s: %w", req.Op, errClosed)
	}
	_, err := s.child.call(ctx, req)
	if err != nil {
		return fmt.Errorf("process: %s: %w", req.Op, err)
	}
	return nil
}

// Peers implements rhi.Speaker. A vrrpd-bgp that does not answer shows every peer as
// idle, with the reason.
func (s *Speaker) Peers() []rhi.PeerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return nil
	}
	err := errClosed
	if s.child != nil {
		ctx, cancel := context.WithTimeout(context.Background(), peersTimeout)
		defer cancel()
		var m message
		if m, err = s.child.call(ctx, request{Op: opPeers}); err == nil {
			return m.Peers
		}
	}
	return s.down(err)
}

// down is every peer as idle, for err.
func (s *Speaker) down(err error) []rhi.PeerStatus {
	out := make([]rhi.PeerStatus, 0, len(s.peers))
	for _, p := range s.peers {
		out = append(out, rhi.PeerStatus{Address: p.Address, ASN: p.ASN, State: "idle", LastError: err.Error()})
	}
	return out
}

// Stop implements rhi.Speaker: the speaker closes its sessions, then vrrpd-bgp exits.
func (s *Speaker) Stop(ctx context.Context) error {
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

// spawn starts vrrpd-bgp.
func (s *Speaker) spawn() (*child, error) {
	c, err := startChild(s.path, logLevel(s.log), s.received)
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
	defer s.mu.Unlock()
	if s.child != c {
		return // stopped, or a failed start
	}
	s.child = nil
	if time.Since(c.since) >= livedLong {
		s.wait = firstRestart
	}
	s.log.Error("BGP speaker vrrpd-bgp ended: starting it again", "error", err, "in", s.wait.String())
	for _, p := range s.down(fmt.Errorf("vrrpd-bgp ended: %w", err)) {
		s.onPeer(p)
	}
	s.restart = time.AfterFunc(s.wait, s.respawn)
	s.wait = min(2*s.wait, maxRestart)
}

// respawn starts vrrpd-bgp again and gives it the speaker's identity, peers and
// routes.
func (s *Speaker) respawn() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.child != nil {
		return
	}
	s.restart = nil
	c, err := s.spawn()
	if err != nil {
		s.log.Error("BGP speaker vrrpd-bgp not started again", "error", err, "next_in", s.wait.String())
		s.restart = time.AfterFunc(s.wait, s.respawn)
		s.wait = min(2*s.wait, maxRestart)
		return
	}
	s.child = c
	if err := s.replay(c); err != nil {
		s.log.Error("BGP speaker vrrpd-bgp did not take its state again", "error", err)
		c.kill() // watch starts it again
		return
	}
	s.log.Info("BGP speaker vrrpd-bgp started again", "peers", len(s.peers), "routes", len(s.routes))
}

func (s *Speaker) replay(c *child) error {
	ctx, cancel := context.WithTimeout(context.Background(), exitTimeout)
	defer cancel()
	reqs := []request{{Op: opStart, Global: &s.global}, {Op: opSetPeers, Peers: s.peers}}
	for _, p := range slices.SortedFunc(maps.Keys(s.routes), netip.Prefix.Compare) {
		a := s.routes[p]
		reqs = append(reqs, request{Op: opAnnounce, Prefix: p, Attrs: &a})
	}
	for _, req := range reqs {
		_, err := c.call(ctx, req)
		if errors.As(err, new(refused)) {
			// As when it was first asked: the rest goes on.
			s.log.Warn("BGP speaker vrrpd-bgp, started again, refused", "request", req.Op, "prefix", req.Prefix, "error", err)
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

// child is one run of vrrpd-bgp.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	since time.Time

	wmu sync.Mutex // one request line at a time
	enc *json.Encoder

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan message
	done    chan struct{} // closed when vrrpd-bgp's output ends
	err     error         // why it ended
}

// startChild starts vrrpd-bgp at path; received gets its messages that answer no
// request.
func startChild(path string, level slog.Level, received func(message)) (*child, error) {
	cmd := exec.Command(path, "--log-level", level.String())
	cmd.Stderr = os.Stderr // a panic's trace goes where vrrpd's own would
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("process: start the BGP speaker: %w", err)
	}
	c := &child{cmd: cmd, in: in, since: time.Now(), enc: json.NewEncoder(in),
		pending: map[uint64]chan message{}, done: make(chan struct{})}
	go c.read(out, received)
	go c.beat()
	return c, nil
}

// read routes vrrpd-bgp's messages until its output ends.
func (c *child) read(out io.Reader, received func(message)) {
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, maxLine)
	err := errors.New("vrrpd-bgp closed its output")
	for sc.Scan() {
		var m message
		if e := json.Unmarshal(sc.Bytes(), &m); e != nil {
			err = fmt.Errorf("vrrpd-bgp: %w", e)
			break
		}
		if m.ID == 0 {
			received(m)
			continue
		}
		c.mu.Lock()
		ch := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
	if e := sc.Err(); e != nil {
		err = fmt.Errorf("vrrpd-bgp: %w", e)
	}
	c.mu.Lock()
	c.err = err
	close(c.done)
	c.mu.Unlock()
}

// beat tells vrrpd-bgp that vrrpd is alive until it ends.
func (c *child) beat() {
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.wmu.Lock()
			err := c.enc.Encode(request{Op: opAlive})
			c.wmu.Unlock()
			if err != nil {
				return // it is ending: read tells why
			}
		}
	}
}

// call sends req and waits for its answer.
func (c *child) call(ctx context.Context, req request) (message, error) {
	ch := make(chan message, 1)
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return message{}, errClosed
	default:
	}
	c.nextID++
	req.ID = c.nextID
	c.pending[req.ID] = ch
	c.mu.Unlock()
	c.wmu.Lock()
	err := c.enc.Encode(req)
	c.wmu.Unlock()
	if err != nil {
		return message{}, fmt.Errorf("write to vrrpd-bgp: %w", err)
	}
	select {
	case m := <-ch:
		if m.Error != "" {
			return m, refused(m.Error)
		}
		return m, nil
	case <-c.done:
		return message{}, errClosed
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
		return message{}, ctx.Err()
	}
}

// wait waits for vrrpd-bgp to exit, returning why.
func (c *child) wait() error {
	<-c.done
	err := c.cmd.Wait()
	if err == nil {
		c.mu.Lock()
		err = c.err
		c.mu.Unlock()
	}
	return err
}

// close closes vrrpd-bgp's input, which ends it, and kills it if it has not ended
// when ctx ends or after exitTimeout.
func (c *child) close(ctx context.Context) {
	c.in.Close()
	t := time.NewTimer(exitTimeout)
	defer t.Stop()
	select {
	case <-c.done:
	case <-ctx.Done():
		c.kill()
	case <-t.C:
		c.kill()
	}
}

func (c *child) kill() {
	_ = c.cmd.Process.Kill() // it may have exited: nothing to do then
	c.in.Close()
}

package tracker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/runner"
)

// Env is what a Set needs of the system. A zero field takes the real thing.
type Env struct {
	// Clock and After are time.Now and time.After unless a test injects a fake clock.
	Clock func() time.Time
	After func(time.Duration) <-chan time.Time
	// Links delivers link events for the interface trackers, the current state first:
	// the daemon subscribes to its netops.Monitor and passes the channel. Required
	// when an instance tracks an interface.
	Links <-chan netops.Event
	// ProcRoot is where process trackers read processes: "/proc" unless a test points
	// elsewhere, in which case exits are noticed by rescans only (no pidfd).
	ProcRoot string
	// Runner runs scripts: ExecRunner unless a test injects one.
	Runner ScriptRunner
}

// defaultProcRoot is the proc file system the process trackers read.
const defaultProcRoot = "/proc"

// Update tells an instance its effective priority.
type Update struct {
	Instance string
	Priority Priority
}

// Set runs every tracker a configuration's instances follow and tells each instance
// its Priority whenever it changes. Each tracker runs once however many instances
// follow it. Methods are safe for concurrent use.
type Set struct {
	env       Env
	log       *slog.Logger
	instances []instanceRefs
	trackers  map[trackerKey]tracker
	order     []trackerKey // the order of Status
	links     *linkWatcher // nil when no instance tracks an interface
	updates   chan Update

	mu      sync.Mutex
	state   setState
	cancel  context.CancelFunc
	current map[string]Priority // the last Priority of each instance
	pending map[string]Priority // Priorities not yet delivered
	queue   []string            // instances with a pending Priority, in order
	wake    chan struct{}       // tells dispatch that queue is not empty

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// setState is where a Set is in its life.
type setState int

const (
	created  setState = iota
	starting          // trackers are starting; their reports wait
	running
	closed
)

type instanceRefs struct {
	name string
	base uint8
	refs []Ref
}

// trackerKey identifies a tracker: interfaces tracked with other delays are other
// trackers, since the delays decide their state.
type trackerKey struct {
	kind     Kind
	name     string
	down, up time.Duration
}

func keyOf(r Ref) trackerKey {
	k := trackerKey{kind: r.Kind, name: r.Name}
	if r.Kind == KindInterface {
		k.down, k.up = r.DownDelay, r.UpDelay
	}
	return k
}

// ErrUndefined is wrapped by NewSet's error when an instance tracks a script, process,
// file or haproxy check that the configuration does not define; config.Load reports
// that already.
var ErrUndefined = errors.New("not defined")

// NewSet prepares the trackers of cfg without starting anything: it resolves script
// users, refuses scripts that a user other than root (or the script's own user) could
// change (keepalived's enable_script_security, always on), and checks that tracked
// files' directories exist. Every problem is in the error, joined. log may be nil.
func NewSet(cfg *config.Config, env Env, log *slog.Logger) (*Set, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if env.Clock == nil {
		env.Clock = time.Now
	}
	if env.After == nil {
		env.After = time.After
	}
	if env.ProcRoot == "" {
		env.ProcRoot = defaultProcRoot
	}
	if env.Runner == nil {
		env.Runner = ExecRunner{}
	}
	s := &Set{
		env:      env,
		log:      log,
		trackers: make(map[trackerKey]tracker),
		current:  make(map[string]Priority),
		pending:  make(map[string]Priority),
		wake:     make(chan struct{}, 1),
		updates:  make(chan Update, len(cfg.Instances)),
	}
	b := builder{cfg: cfg, set: s, users: make(map[string]userResult)}
	var errs []error
	failed := make(map[trackerKey]bool)
	var links []*ifTracker
	for _, in := range cfg.Instances {
		refs := Refs(in.Track)
		s.instances = append(s.instances, instanceRefs{name: in.Name, base: in.Priority, refs: refs})
		for _, r := range refs {
			k := keyOf(r)
			if s.trackers[k] != nil || failed[k] {
				continue
			}
			t, err := b.tracker(r)
			if err != nil {
				failed[k] = true
				errs = append(errs, fmt.Errorf("tracker: %s %s: %w", r.Kind, r.Name, err))
				continue
			}
			if it, ok := t.(*ifTracker); ok {
				links = append(links, it)
			}
			s.trackers[k] = t
			s.order = append(s.order, k)
		}
	}
	if len(links) > 0 {
		if env.Links == nil {
			errs = append(errs, errors.New("tracker: instances track interfaces, but Env.Links is nil"))
		}
		s.links = newLinkWatcher(&s.env, links, log)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortStableFunc(s.order, func(a, b trackerKey) int {
		return cmp.Or(cmp.Compare(slices.Index(kinds[:], a.kind), slices.Index(kinds[:], b.kind)), cmp.Compare(a.name, b.name))
	})
	return s, nil
}

// builder makes trackers from a configuration.
type builder struct {
	cfg   *config.Config
	set   *Set
	users map[string]userResult // script users looked up so far
}

type userResult struct {
	u   *runner.User
	err error
}

func (b *builder) tracker(r Ref) (tracker, error) {
	s := b.set
	env, log, notify := &s.env, s.log, s.changed
	switch r.Kind {
	case KindScript:
		i := slices.IndexFunc(b.cfg.Scripts, func(x config.Script) bool { return x.Name == r.Name })
		if i < 0 {
			return nil, fmt.Errorf("%w: define it under scripts", ErrUndefined)
		}
		sc := b.cfg.Scripts[i]
		res, ok := b.users[sc.User]
		if !ok {
			res.u, res.err = lookupUser(sc.User)
			b.users[sc.User] = res
		}
		if res.err != nil {
			return nil, res.err
		}
		return newScriptTracker(sc, res.u, env, log, notify)
	case KindInterface:
		return newIfTracker(r, env, log, notify), nil
	case KindProcess:
		i := slices.IndexFunc(b.cfg.Processes, func(x config.Process) bool { return x.Name == r.Name })
		if i < 0 {
			return nil, fmt.Errorf("%w: define it under processes", ErrUndefined)
		}
		return newProcTracker(b.cfg.Processes[i], env, log, notify), nil
	case KindFile:
		i := slices.IndexFunc(b.cfg.Files, func(x config.File) bool { return x.Name == r.Name })
		if i < 0 {
			return nil, fmt.Errorf("%w: define it under files", ErrUndefined)
		}
		return newFileTracker(b.cfg.Files[i], env, log, notify)
	case KindHAProxy:
		i := slices.IndexFunc(b.cfg.HAProxy, func(x config.HAProxy) bool { return x.Name == r.Name })
		if i < 0 {
			return nil, fmt.Errorf("%w: define it under haproxy", ErrUndefined)
		}
		return newHAProxyTracker(b.cfg.HAProxy[i], env, log, notify), nil
	}
	return nil, fmt.Errorf("unknown kind %q", r.Kind)
}

// Start starts every tracker. Quick first observations (files, processes, the links
// already listed on Links) are made before it returns; scripts and haproxy checks run
// at once in the background. The first Update of every instance follows at once. The
// trackers stop when ctx ends or at Close. Start does nothing after the first call.
func (s *Set) Start(ctx context.Context) {
	s.mu.Lock()
	if s.state != created {
		s.mu.Unlock()
		return
	}
	s.state = starting
	ctx, s.cancel = context.WithCancel(ctx)
	s.mu.Unlock()

	for _, k := range s.order {
		s.trackers[k].start(ctx, &s.wg)
	}
	if s.links != nil {
		s.links.start(ctx, &s.wg)
	}
	s.wg.Go(func() { s.dispatch(ctx) })

	s.mu.Lock()
	if s.state == starting {
		s.state = running
	}
	s.mu.Unlock()
	s.changed()
}

// Updates delivers each instance's Priority: the first at Start, then every change.
// When an instance's Priority changes faster than the reader reads, only the latest is
// delivered. The channel is closed by Close.
func (s *Set) Updates() <-chan Update { return s.updates }

// Status returns the state of every tracker, by kind then name.
func (s *Set) Status() []Status {
	out := make([]Status, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.trackers[k].status())
	}
	return out
}

// Priority returns the last Priority of an instance, and whether the Set knows it
// (after Start, for an instance of the configuration).
func (s *Set) Priority(instance string) (Priority, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.current[instance]
	return p, ok
}

// Close stops the trackers (a running script's process group is killed), waits for
// their goroutines and closes Updates. It is safe to call more than once.
func (s *Set) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.state = closed
		cancel := s.cancel
		s.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		s.wg.Wait()
		close(s.updates)
	})
}

// status is the lookup Effective uses.
func (s *Set) status(r Ref) Status {
	if t := s.trackers[keyOf(r)]; t != nil {
		return t.status()
	}
	return Status{Kind: r.Kind, Name: r.Name}
}

// changed recomputes every instance's Priority after a tracker changed and queues
// those that differ for delivery.
func (s *Set) changed() {
	s.mu.Lock()
	if s.state != running {
		s.mu.Unlock()
		return
	}
	for _, in := range s.instances {
		p := Effective(in.base, in.refs, s.status)
		old, known := s.current[in.name]
		s.current[in.name] = p
		if known && old.same(p) {
			continue
		}
		s.log.Debug("effective priority", "instance", in.name, "priority", int(p.Priority), "fault", p.Fault, "explanation", p.Explanation)
		if _, queued := s.pending[in.name]; !queued {
			s.queue = append(s.queue, in.name)
		}
		s.pending[in.name] = p
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// dispatch delivers the queued Priorities until ctx ends.
func (s *Set) dispatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			if len(s.queue) == 0 {
				s.mu.Unlock()
				break
			}
			name := s.queue[0]
			s.queue = s.queue[1:]
			p := s.pending[name]
			delete(s.pending, name)
			s.mu.Unlock()
			select {
			case s.updates <- Update{Instance: name, Priority: p}:
			case <-ctx.Done():
				return
			}
		}
	}
}

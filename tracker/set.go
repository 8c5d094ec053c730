package tracker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
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
	// BFD tells the state of BFD sessions. Required when an instance tracks one.
	BFD BFDWatcher
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
// follow it. Reconfigure changes the configuration in place: a tracker whose
// definition did not change keeps running, its state and counters with it. Methods
// are safe for concurrent use.
type Set struct {
	env     Env
	log     *slog.Logger
	links   *linkWatcher // nil without Env.Links
	updates chan Update

	// life serializes Start, Reconfigure and Close. The trackers and the instances
	// change under life and mu both.
	life sync.Mutex

	mu        sync.Mutex
	state     setState
	ctx       context.Context // the Set's, from Start
	cancel    context.CancelFunc
	instances []instanceRefs
	trackers  map[trackerKey]*entry
	order     []trackerKey        // the order of Status
	current   map[string]Priority // the last Priority of each instance
	pending   map[string]Priority // Priorities not yet delivered
	queue     []string            // instances with a pending Priority, in order
	wake      chan struct{}       // tells dispatch that queue is not empty
	changes   chan struct{}       // see Changes

	wg        sync.WaitGroup // dispatch and the link watcher
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
	// held is set while the instance is new and may be held out of MASTER by the
	// trackers it follows with weight 0 that await their first result. It is
	// cleared once none holds it, and never set again for that instance: a tracker
	// that a reload adds or changes does not take a running instance out of MASTER
	// before its first result.
	held bool
}

// entry is one tracker of the Set.
type entry struct {
	t tracker
	// def is the tracker's definition without line numbers: a reload with the same
	// definition keeps the tracker.
	def any
	// awaits: the tracker may take a while to its first result (scripts, haproxy
	// checks, links not listed yet). bound ends the wait when no result came, 0 when
	// the tracker ends it itself.
	awaits bool
	bound  time.Duration
	cancel context.CancelFunc // nil until started
	wg     sync.WaitGroup
}

// firstResultGrace is added to a check's timeout to bound the wait for its first
// result, so that a first run that times out is reported (its process group killed)
// before instances stop waiting for it.
const firstResultGrace = time.Second

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

// ErrClosed is returned by Reconfigure after Close.
var ErrClosed = errors.New("tracker set closed")

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
		trackers: make(map[trackerKey]*entry),
		current:  make(map[string]Priority),
		pending:  make(map[string]Priority),
		wake:     make(chan struct{}, 1),
		changes:  make(chan struct{}, 1),
		updates:  make(chan Update, len(cfg.Instances)),
	}
	if env.Links != nil {
		s.links = newLinkWatcher(&s.env, log)
	}
	p, err := s.plan(cfg)
	if err != nil {
		return nil, err
	}
	s.install(p)
	s.links.replace(p.links)
	return s, nil
}

// plan is a configuration ready to install: every tracker built and checked.
type plan struct {
	instances []instanceRefs
	trackers  map[trackerKey]*entry // kept and new
	fresh     []*entry              // the new ones, not started
	order     []trackerKey
	links     []*ifTracker
}

// plan builds the trackers of cfg, keeping those of the Set whose definition is the
// same, and checks them all, changing nothing. life is held.
func (s *Set) plan(cfg *config.Config) (*plan, error) {
	b := builder{cfg: cfg, set: s, users: make(map[string]userResult)}
	p := &plan{trackers: make(map[trackerKey]*entry)}
	var errs []error
	failed := make(map[trackerKey]bool)
	for _, in := range cfg.Instances {
		refs := Refs(in.Track)
		p.instances = append(p.instances, instanceRefs{name: in.Name, base: in.Priority, refs: refs, held: true})
		for _, r := range refs {
			k := keyOf(r)
			if p.trackers[k] != nil || failed[k] {
				continue
			}
			// Kept trackers are built and checked too: a reload is refused for what a
			// start would refuse.
			e, err := b.entry(r)
			if err != nil {
				failed[k] = true
				errs = append(errs, fmt.Errorf("tracker: %s %s: %w", r.Kind, r.Name, err))
				continue
			}
			if old := s.trackers[k]; old != nil && reflect.DeepEqual(old.def, e.def) {
				e = old
			} else {
				if e.awaits {
					e.t.await()
				}
				p.fresh = append(p.fresh, e)
			}
			p.trackers[k] = e
			p.order = append(p.order, k)
			if it, ok := e.t.(*ifTracker); ok {
				p.links = append(p.links, it)
			}
		}
	}
	// Trackers that only routes follow run too; their states are read with Status.
	if cfg.BGP != nil {
		for _, rt := range cfg.BGP.Routes {
			for _, r := range ConditionRefs(rt.When) {
				k := keyOf(r)
				if p.trackers[k] != nil || failed[k] {
					continue
				}
				e, err := b.entry(r)
				if err != nil {
					failed[k] = true
					errs = append(errs, fmt.Errorf("tracker: %s %s: %w", r.Kind, r.Name, err))
					continue
				}
				if old := s.trackers[k]; old != nil && reflect.DeepEqual(old.def, e.def) {
					e = old
				} else {
					p.fresh = append(p.fresh, e)
				}
				p.trackers[k] = e
				p.order = append(p.order, k)
				if it, ok := e.t.(*ifTracker); ok {
					p.links = append(p.links, it)
				}
			}
		}
	}
	if len(p.links) > 0 && s.env.Links == nil {
		errs = append(errs, errors.New("tracker: instances track interfaces, but Env.Links is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortStableFunc(p.order, func(a, b trackerKey) int {
		return cmp.Or(cmp.Compare(slices.Index(kinds[:], a.kind), slices.Index(kinds[:], b.kind)), cmp.Compare(a.name, b.name))
	})
	return p, nil
}

// install makes p the configuration and returns the trackers it leaves out. An
// instance that was configured already stays held or not; the Priorities of the
// instances no longer configured are forgotten. life is held.
func (s *Set) install(p *plan) (removed []*entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.trackers {
		if p.trackers[k] != e {
			removed = append(removed, e)
		}
	}
	configured := make(map[string]bool)
	for i := range p.instances {
		in := &p.instances[i]
		configured[in.name] = true
		if j := slices.IndexFunc(s.instances, func(o instanceRefs) bool { return o.name == in.name }); j >= 0 {
			in.held = s.instances[j].held
		}
	}
	for name := range s.current {
		if !configured[name] {
			delete(s.current, name)
			delete(s.pending, name)
		}
	}
	s.queue = slices.DeleteFunc(s.queue, func(name string) bool { return !configured[name] })
	s.instances, s.trackers, s.order = p.instances, p.trackers, p.order
	return removed
}

// Reconfigure makes cfg the Set's configuration. It checks every tracker of cfg
// first, as NewSet does, and on error changes nothing. Then trackers whose definition
// (line numbers aside) and key are unchanged keep running with their state; removed
// or changed ones stop, and Reconfigure waits for them; new ones start, those that
// observe at once having done so when it returns. Every instance's Priority is then
// computed again and delivered, changed or not; instances no longer configured get
// none. Before Start, it only replaces what Start will start.
func (s *Set) Reconfigure(cfg *config.Config) error {
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	if st == closed {
		return ErrClosed
	}
	p, err := s.plan(cfg)
	if err != nil {
		return err
	}
	started := st == running
	if started {
		// Reports wait until the new trackers have started: they are all taken
		// into account below.
		s.setState(starting)
	}
	removed := s.install(p)
	for _, e := range removed {
		if e.cancel != nil {
			e.cancel()
		}
	}
	for _, e := range removed {
		e.wg.Wait()
	}
	if started {
		for _, e := range p.fresh {
			s.startEntry(e)
		}
	}
	s.links.replace(p.links)
	if started {
		s.setState(running)
		s.recompute(true)
	}
	return nil
}

func (s *Set) setState(st setState) {
	s.mu.Lock()
	s.state = st
	s.mu.Unlock()
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

// entry builds the tracker r names, with its definition.
func (b *builder) entry(r Ref) (*entry, error) {
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
		t, err := newScriptTracker(sc, res.u, env, log, notify)
		if err != nil {
			return nil, err
		}
		sc.Line = 0
		return &entry{t: t, def: sc, awaits: true, bound: sc.Timeout + firstResultGrace}, nil
	case KindInterface:
		// The key holds the whole definition. The link watcher ends the wait when the
		// link is listed, or after the listing's grace.
		return &entry{t: newIfTracker(r, env, log, notify), awaits: true}, nil
	case KindProcess:
		i := slices.IndexFunc(b.cfg.Processes, func(x config.Process) bool { return x.Name == r.Name })
		if i < 0 {
			return nil, fmt.Errorf("%w: define it under processes", ErrUndefined)
		}
		pr := b.cfg.Processes[i]
		t := newProcTracker(pr, env, log, notify)
		pr.Line = 0
		return &entry{t: t, def: pr}, nil
	case KindFile:
		i := slices.IndexFunc(b.cfg.Files, func(x config.File) bool { return x.Name == r.Name })
		if i < 0 {
			return nil, fmt.Errorf("%w: define it under files", ErrUndefined)
		}
		f := b.cfg.Files[i]
		t, err := newFileTracker(f, env, log, notify)
		if err != nil {
			return nil, err
		}
		f.Line = 0
		return &entry{t: t, def: f}, nil
	case KindHAProxy:
		i := slices.IndexFunc(b.cfg.HAProxy, func(x config.HAProxy) bool { return x.Name == r.Name })
		if i < 0 {
			return nil, fmt.Errorf("%w: define it under haproxy", ErrUndefined)
		}
		h := b.cfg.HAProxy[i]
		t := newHAProxyTracker(h, env, log, notify)
		h.Line = 0
		return &entry{t: t, def: h, awaits: true, bound: h.Timeout + firstResultGrace}, nil
	case KindBFD:
		if !slices.ContainsFunc(b.cfg.BFDSessions, func(x config.BFDSession) bool { return x.Name == r.Name }) {
			return nil, fmt.Errorf("%w: define it under bfd", ErrUndefined)
		}
		if s.env.BFD == nil {
			return nil, errors.New("instances track BFD sessions, but Env.BFD is nil")
		}
		// The daemon runs the session and changes its timers in place: the tracker only
		// watches it by name, and a reload keeps it.
		return &entry{t: newBFDTracker(r.Name, env, log, notify)}, nil
	}
	return nil, fmt.Errorf("unknown kind %q", r.Kind)
}

// Start starts every tracker. Quick first observations (files, processes, the links
// already listed on Links) are made before it returns, and so is the first Priority of
// every instance (see Priority); scripts and haproxy checks run at once in the
// background. The first Update of every instance follows at once. The trackers stop
// when ctx ends or at Close. Start does nothing after the first call.
func (s *Set) Start(ctx context.Context) {
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	if s.state != created {
		s.mu.Unlock()
		return
	}
	s.state = starting
	s.ctx, s.cancel = context.WithCancel(ctx)
	entries := make([]*entry, 0, len(s.order))
	for _, k := range s.order {
		entries = append(entries, s.trackers[k])
	}
	s.mu.Unlock()

	for _, e := range entries {
		s.startEntry(e)
	}
	if s.links != nil {
		s.links.start(s.ctx, &s.wg)
	}
	s.wg.Go(func() { s.dispatch(s.ctx) })

	s.mu.Lock()
	if s.state == starting {
		s.state = running
	}
	s.mu.Unlock()
	s.changed()
}

// startEntry starts a tracker in a context of its own, and the end of its wait for a
// first result. life is held.
func (s *Set) startEntry(e *entry) {
	ctx, cancel := context.WithCancel(s.ctx)
	e.cancel = cancel
	if e.awaits && e.bound > 0 {
		due := s.env.After(e.bound)
		e.wg.Go(func() {
			select {
			case <-due:
				e.t.endAwait()
			case <-ctx.Done():
			}
		})
	}
	e.t.start(ctx, &e.wg)
}

// Updates delivers each instance's Priority: the first at Start, then every change,
// and every instance's at Reconfigure. When an instance's Priority changes faster
// than the reader reads, only the latest is delivered. The channel is closed by Close.
func (s *Set) Updates() <-chan Update { return s.updates }

// Status returns the state of every tracker, by kind then name.
func (s *Set) Status() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.trackers[k].t.status())
	}
	return out
}

// Priority returns the latest Priority of an instance, and whether the Set knows it
// (after Start, for an instance of the configuration). It may be newer than the last
// Update delivered.
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
		s.life.Lock()
		defer s.life.Unlock()
		s.mu.Lock()
		s.state = closed
		cancel := s.cancel
		entries := slices.Collect(maps.Values(s.trackers))
		s.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		for _, e := range entries {
			e.wg.Wait()
		}
		s.wg.Wait()
		close(s.updates)
	})
}

// status is the lookup Effective uses. mu is held.
func (s *Set) status(r Ref) Status {
	if e := s.trackers[keyOf(r)]; e != nil {
		return e.t.status()
	}
	return Status{Kind: r.Kind, Name: r.Name}
}

// settledStatus is status for an instance no longer held: no wait counts.
func (s *Set) settledStatus(r Ref) Status {
	st := s.status(r)
	st.Awaiting = false
	return st
}

// changed recomputes every instance's Priority after a tracker changed and queues
// those that differ for delivery.
func (s *Set) changed() { s.recompute(false) }

// recompute computes every instance's Priority and queues those that differ, or with
// all every one, for delivery.
func (s *Set) recompute(all bool) {
	s.mu.Lock()
	if s.state != running {
		s.mu.Unlock()
		return
	}
	for i := range s.instances {
		in := &s.instances[i]
		status := s.settledStatus
		if in.held {
			status = s.status
		}
		p := Effective(in.base, in.refs, status)
		if in.held && !p.held() {
			in.held = false
		}
		old, known := s.current[in.name]
		s.current[in.name] = p
		if known && old.same(p) && !all {
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
	select {
	case s.changes <- struct{}{}:
	default:
	}
}

// Changes receives a value after any tracker's Status changed, and after Start and
// Reconfigure: read Status then. Changes faster than the reader coalesce into one.
// It is never closed.
func (s *Set) Changes() <-chan struct{} { return s.changes }

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

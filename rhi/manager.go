package rhi

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
	"github.com/vrrpd/vrrpd/netops"
)

// Env is what a Manager needs of time; the zero value is the real clock.
type Env struct {
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// addressRetry is how soon an address that could not be added is tried again.
const addressRetry = time.Second

// Change is a route whose State changed, or a peer whose session did.
type Change struct {
	Route *RouteStatus
	Peer  *PeerStatus
}

// RouteStatus is one route as `vrrpd show` shows it.
type RouteStatus struct {
	Name     string
	Prefixes []netip.Prefix
	State    State
	// Announced: the prefixes are announced (as healthy or as a last resort).
	Announced bool
	Reason    string
	Cause     Cause
	Since     time.Time
	// Transitions counts the changes of State, by the State entered.
	Transitions map[State]uint64
	// Interface carries the route's address, "" when the route has none.
	Interface string
}

// Status is the speaker's peers and the routes.
type Status struct {
	ASN      uint32
	RouterID netip.Addr
	Peers    []PeerStatus
	Routes   []RouteStatus
}

// Manager announces and withdraws the routes of a configuration as their decisions
// change, and puts their addresses on their interface. Methods are safe for concurrent
// use.
type Manager struct {
	speaker Speaker
	addrs   netops.Addresses
	env     Env
	log     *slog.Logger
	notify  func(Change)

	kick chan struct{}

	mu        sync.Mutex
	cfg       *config.BGP
	table     *Table
	inputs    Inputs
	decisions []Decision
	announced map[netip.Prefix]Attributes
	addresses map[netip.Prefix]netops.VIP // the addresses we put on an interface
	addrErr   map[string]error            // by route: its address could not be added
	changes   map[string]map[State]uint64 // by route: changes of State, by the State entered
	cancel    context.CancelFunc
	done      chan struct{}
}

// NewManager returns a Manager for cfg that announces through speaker and adds route
// addresses through addrs. notify, when not nil, is told of every change of a route's
// State; log may be nil.
func NewManager(cfg *config.BGP, speaker Speaker, addrs netops.Addresses, env Env, log *slog.Logger, notify func(Change)) *Manager {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.After == nil {
		env.After = time.After
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if notify == nil {
		notify = func(Change) {}
	}
	return &Manager{
		speaker: speaker, addrs: addrs, env: env, log: log, notify: notify,
		kick:      make(chan struct{}, 1),
		cfg:       cfg,
		table:     NewTable(cfg.Routes),
		announced: map[netip.Prefix]Attributes{},
		addresses: map[netip.Prefix]netops.VIP{},
		addrErr:   map[string]error{},
		changes:   map[string]map[State]uint64{},
	}
}

func global(cfg *config.BGP) Global {
	return Global{ASN: cfg.ASN, RouterID: cfg.RouterID, HoldTime: cfg.HoldTime}
}

// Start starts the speaker, opens the sessions and decides at once with the inputs
// given so far (see Update): nothing is announced before a tracker passes.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	cfg := m.cfg
	m.mu.Unlock()
	if err := m.speaker.Start(ctx, global(cfg)); err != nil {
		return err
	}
	if err := m.speaker.SetPeers(ctx, cfg.Peers); err != nil {
		m.log.Error("BGP peers", "error", err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	m.mu.Lock()
	m.cancel, m.done = cancel, make(chan struct{})
	m.mu.Unlock()
	go m.loop(lctx)
	return nil
}

// Update gives the Manager the current inputs; it decides again at once.
func (m *Manager) Update(in Inputs) {
	m.mu.Lock()
	m.inputs = in
	m.mu.Unlock()
	m.wake()
}

func (m *Manager) wake() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Manager) loop(ctx context.Context) {
	defer close(m.done)
	for {
		wait := m.step(ctx)
		var timer <-chan time.Time
		if wait > 0 {
			timer = m.env.After(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
		case <-timer:
		}
	}
}

// step decides and applies the decisions; it returns how soon to decide again, 0 for
// when something changes.
func (m *Manager) step(ctx context.Context) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ctx.Err() != nil {
		return 0
	}
	ds, wait := m.table.Decide(m.env.Now(), m.inputs)
	m.apply(ctx, ds)
	if len(m.addrErr) > 0 && (wait == 0 || wait > addressRetry) {
		wait = addressRetry
	}
	return wait
}

// apply makes the speaker and the addresses follow ds. mu is held.
func (m *Manager) apply(ctx context.Context, ds []Decision) {
	prev := m.decisions
	m.decisions = ds
	want := map[netip.Prefix]Attributes{}
	iface := map[netip.Prefix]string{}
	route := map[netip.Prefix]string{}
	for _, d := range ds {
		r := m.route(d.Route)
		if r == nil || !d.Announce {
			continue
		}
		for _, p := range r.Prefixes {
			want[p], iface[p], route[p] = d.Attributes, r.AddressInterface, r.Name
		}
	}
	// Withdraw first, then remove the addresses of what is withdrawn.
	for _, p := range slices.SortedFunc(maps.Keys(m.announced), comparePrefix) {
		if _, ok := want[p]; ok {
			continue
		}
		if err := m.speaker.Withdraw(ctx, p); err != nil {
			m.log.Error("cannot withdraw", "prefix", p.String(), "error", err)
			continue
		}
		delete(m.announced, p)
		m.log.Info("withdrawn", "prefix", p.String())
	}
	for _, p := range slices.SortedFunc(maps.Keys(m.addresses), comparePrefix) {
		v := m.addresses[p]
		if _, ok := m.announced[p]; ok && iface[p] == v.Interface {
			continue
		}
		if _, ok := want[p]; ok && iface[p] == v.Interface {
			continue
		}
		if err := m.addrs.Remove(v); err != nil {
			m.log.Error("cannot remove a route's address", "address", v.String(), "error", err)
			continue
		}
		delete(m.addresses, p)
	}
	clear(m.addrErr)
	// The address goes on before the first announce: traffic must find it.
	for _, p := range slices.SortedFunc(maps.Keys(want), comparePrefix) {
		a := want[p]
		if ifname := iface[p]; ifname != "" {
			if _, ok := m.addresses[p]; !ok {
				v := netops.VIP{Prefix: netip.PrefixFrom(p.Addr(), p.Addr().BitLen()), Interface: ifname}
				if err := m.addrs.Add(v); err != nil {
					m.addrErr[route[p]] = err
					m.log.Error("cannot add a route's address: not announced", "route", route[p], "address", v.String(), "error", err)
					continue
				}
				m.addresses[p] = v
			}
		}
		if old, ok := m.announced[p]; ok && old.Equal(a) {
			continue
		}
		if err := m.speaker.Announce(ctx, p, a); err != nil {
			m.log.Error("cannot announce", "prefix", p.String(), "error", err)
			continue
		}
		m.announced[p] = a
		m.log.Info("announced", "prefix", p.String(), "med", a.MED, "prepend", a.Prepend)
	}
	for _, d := range ds {
		i := slices.IndexFunc(prev, func(o Decision) bool { return o.Route == d.Route })
		if i >= 0 && prev[i].State == d.State && prev[i].Announce == d.Announce {
			continue
		}
		if i < 0 || prev[i].State != d.State {
			if m.changes[d.Route] == nil {
				m.changes[d.Route] = map[State]uint64{}
			}
			m.changes[d.Route][d.State]++
		}
		st := m.routeStatus(d)
		m.log.Info("route changed", "route", d.Route, "state", st.State.String(), "announced", st.Announced, "reason", st.Reason)
		m.notify(Change{Route: &st})
	}
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// route returns the configured route named name. mu is held.
func (m *Manager) route(name string) *config.Route {
	for i := range m.cfg.Routes {
		if m.cfg.Routes[i].Name == name {
			return &m.cfg.Routes[i]
		}
	}
	return nil
}

// routeStatus describes d as it is applied. mu is held.
func (m *Manager) routeStatus(d Decision) RouteStatus {
	r := m.route(d.Route)
	st := RouteStatus{Name: d.Route, State: d.State, Reason: d.Reason, Cause: d.Cause, Since: d.Since,
		Transitions: maps.Clone(m.changes[d.Route])}
	if r == nil {
		return st
	}
	st.Prefixes, st.Interface = slices.Clone(r.Prefixes), r.AddressInterface
	st.Announced = len(r.Prefixes) > 0
	for _, p := range r.Prefixes {
		if _, ok := m.announced[p]; !ok {
			st.Announced = false
		}
	}
	if err := m.addrErr[d.Route]; err != nil {
		st.Reason, st.Cause = fmt.Sprintf("address not added: %v", err), CauseAddress
	}
	return st
}

// Status returns the peers and the routes.
func (m *Manager) Status() Status {
	peers := m.speaker.Peers()
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Status{ASN: m.cfg.ASN, RouterID: m.cfg.RouterID, Peers: peers}
	for _, r := range m.cfg.Routes {
		i := slices.IndexFunc(m.decisions, func(d Decision) bool { return d.Route == r.Name })
		d := Decision{Route: r.Name, Reason: "not decided yet", Cause: CauseStarting}
		if i >= 0 {
			d = m.decisions[i]
		}
		st.Routes = append(st.Routes, m.routeStatus(d))
	}
	return st
}

// Reconfigure makes cfg the configuration: peers are added and removed without
// resetting the others' sessions; routes are decided again, those removed withdrawn. A
// change of AS or router ID restarts the speaker, and so every session.
func (m *Manager) Reconfigure(ctx context.Context, cfg *config.BGP) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.cfg
	m.cfg = cfg
	m.table.Reconfigure(cfg.Routes)
	for name := range m.changes {
		if !slices.ContainsFunc(cfg.Routes, func(r config.Route) bool { return r.Name == name }) {
			delete(m.changes, name)
		}
	}
	var errs []error
	if global(old) != global(cfg) {
		m.log.Info("BGP identity or hold time changed: every session restarts")
		if err := m.speaker.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
		clear(m.announced)
		if err := m.speaker.Start(ctx, global(cfg)); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	if err := m.speaker.SetPeers(ctx, cfg.Peers); err != nil {
		errs = append(errs, err)
	}
	m.wake()
	return errors.Join(errs...)
}

// Stop leaves gracefully: the announced prefixes get the GRACEFUL_SHUTDOWN community
// for the drain time (routers that honour it move traffic away while this node still
// serves), then they are withdrawn, the sessions close, and the addresses go last. A
// ctx that ends cuts the drain short.
func (m *Manager) Stop(ctx context.Context) {
	m.mu.Lock()
	cancel, done := m.cancel, m.done
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if drain := m.cfg.Drain; drain > 0 && len(m.announced) > 0 {
		for _, p := range slices.SortedFunc(maps.Keys(m.announced), comparePrefix) {
			a := m.announced[p]
			a.Communities = append(slices.Clone(a.Communities), CommunityGracefulShutdown)
			if err := m.speaker.Announce(ctx, p, a); err != nil {
				m.log.Error("cannot announce graceful shutdown", "prefix", p.String(), "error", err)
			}
		}
		m.log.Info("graceful shutdown: draining", "seconds", drain.Seconds())
		select {
		case <-m.env.After(drain):
		case <-ctx.Done():
		}
	}
	for _, p := range slices.SortedFunc(maps.Keys(m.announced), comparePrefix) {
		if err := m.speaker.Withdraw(ctx, p); err != nil {
			m.log.Error("cannot withdraw", "prefix", p.String(), "error", err)
		}
		delete(m.announced, p)
	}
	if err := m.speaker.Stop(ctx); err != nil {
		m.log.Error("cannot stop BGP", "error", err)
	}
	for _, p := range slices.SortedFunc(maps.Keys(m.addresses), comparePrefix) {
		if err := m.addrs.Remove(m.addresses[p]); err != nil {
			m.log.Error("cannot remove a route's address", "address", m.addresses[p].String(), "error", err)
			continue
		}
		delete(m.addresses, p)
	}
}

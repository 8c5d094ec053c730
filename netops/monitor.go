package netops

import (
	"cmp"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Event is a change of a link or an address, as a Monitor delivers it: a LinkEvent or
// an AddrEvent. Events describe state, not deltas: a consumer that applies them in order
// ends with the namespace's links and addresses.
type Event interface{ event() }

// LinkEvent is the state of one interface.
type LinkEvent struct {
	// Index is the kernel's interface index. An interface that is deleted and created
	// again under the same name gets a new index.
	Index int
	// Name is the interface name; for a deleted interface, its last name.
	Name string
	// Up reports whether the interface can carry adverts: administratively up (IFF_UP)
	// and with working lower layers, which is operational state UP, or UNKNOWN with
	// IFF_RUNNING for drivers that report no operational state (loopback, tun, dummy).
	// IFF_UP alone is not enough: a cable pulled, a veth whose peer is down, or a VLAN
	// whose parent is down leave IFF_UP set while nothing gets through (states DOWN,
	// LOWERLAYERDOWN); DORMANT and NOTPRESENT are not up either.
	Up bool
	// Deleted reports that the interface is gone. Its addresses were reported deleted
	// first.
	Deleted bool
}

// AddrEvent is an address of an interface appearing or going away.
type AddrEvent struct {
	// Index is the interface index; a LinkEvent for it always comes first.
	Index int
	// Interface is the interface name when the event was delivered.
	Interface string
	// Prefix is the address with its prefix length.
	Prefix netip.Prefix
	// Deleted reports that the address is gone.
	Deleted bool
}

func (LinkEvent) event() {}
func (AddrEvent) event() {}

// Interface flags (linux/if.h) and operational states (RFC 2863, IF_OPER_* in
// linux/if.h) as netlink reports them. They are spelled out here, not taken from x/sys,
// so that the rule in linkUp is plain data that builds and is tested on every system.
const (
	iffUp       = 0x1
	iffRunning  = 0x40
	operUnknown = 0
	operUp      = 6
)

// linkUp is the rule documented on LinkEvent.Up. flags are the interface's ifi_flags,
// oper its IFLA_OPERSTATE.
func linkUp(flags uint32, oper uint8) bool {
	if flags&iffUp == 0 {
		return false
	}
	switch oper {
	case operUp:
		return true
	case operUnknown:
		// The kernel sets IFF_RUNNING only when the device runs and has carrier.
		return flags&iffRunning != 0
	}
	return false
}

// netState is the links and addresses of a namespace as a consumer was told them. It
// turns observations, which repeat (the kernel sends RTM_NEWLINK for every MTU or
// statistics change) and arrive through two sockets whose relative order is lost, into
// events that change something, in an order consumers can rely on: a link before its
// addresses, and addresses deleted before their link.
type netState struct {
	links map[int]LinkEvent
	// addrs is a set: an address's event is made from its key and its link's name.
	addrs map[addrKey]struct{}
}

type addrKey struct {
	index  int
	prefix netip.Prefix
}

func newNetState() netState {
	return netState{links: map[int]LinkEvent{}, addrs: map[addrKey]struct{}{}}
}

func (s *netState) clone() netState {
	return netState{links: maps.Clone(s.links), addrs: maps.Clone(s.addrs)}
}

// link applies a link observation and returns the events it causes: none when nothing
// changed, the addresses of a deleted link then the link itself.
func (s *netState) link(e LinkEvent) []Event {
	old, known := s.links[e.Index]
	if e.Deleted {
		if !known {
			return nil
		}
		var evs []Event
		for _, k := range s.sortedAddrs() {
			if k.index == e.Index {
				a := s.event(k)
				a.Deleted = true
				delete(s.addrs, k)
				evs = append(evs, a)
			}
		}
		delete(s.links, e.Index)
		return append(evs, LinkEvent{Index: e.Index, Name: old.Name, Deleted: true})
	}
	if known && old == e {
		return nil
	}
	s.links[e.Index] = e
	return []Event{e}
}

// addr applies an address observation. Addresses of links it does not know are
// dropped: the caller makes sure the link comes first, and an address whose link is
// already gone went with it.
func (s *netState) addr(e AddrEvent) []Event {
	l, known := s.links[e.Index]
	if !known {
		return nil
	}
	e.Interface = l.Name
	k := addrKey{e.Index, e.Prefix}
	_, have := s.addrs[k]
	switch {
	case e.Deleted && have:
		delete(s.addrs, k)
	case !e.Deleted && !have:
		s.addrs[k] = struct{}{}
	default:
		return nil
	}
	return []Event{e}
}

// apply applies an event that some netState emitted.
func (s *netState) apply(e Event) {
	switch e := e.(type) {
	case LinkEvent:
		s.link(e)
	case AddrEvent:
		s.addr(e)
	}
}

// resync replaces the state by a complete listing and returns the events that take a
// consumer from the old state to the new one: first what vanished unseen (addresses,
// then links), then links and addresses that are new or changed.
func (s *netState) resync(links []LinkEvent, addrs []AddrEvent) []Event {
	newLinks := make(map[int]bool, len(links))
	for _, l := range links {
		newLinks[l.Index] = true
	}
	newAddrs := make(map[addrKey]bool, len(addrs))
	for _, a := range addrs {
		if newLinks[a.Index] {
			newAddrs[addrKey{a.Index, a.Prefix}] = true
		}
	}
	var evs []Event
	for _, k := range s.sortedAddrs() {
		if !newAddrs[k] {
			a := s.event(k)
			a.Deleted = true
			evs = append(evs, s.addr(a)...)
		}
	}
	for _, i := range slices.Sorted(maps.Keys(s.links)) {
		if !newLinks[i] {
			evs = append(evs, s.link(LinkEvent{Index: i, Deleted: true})...)
		}
	}
	links = slices.SortedFunc(slices.Values(links), func(a, b LinkEvent) int { return cmp.Compare(a.Index, b.Index) })
	for _, l := range links {
		evs = append(evs, s.link(l)...)
	}
	addrs = slices.SortedFunc(slices.Values(addrs), func(a, b AddrEvent) int {
		return compareAddrKeys(addrKey{a.Index, a.Prefix}, addrKey{b.Index, b.Prefix})
	})
	for _, a := range addrs {
		evs = append(evs, s.addr(a)...)
	}
	return evs
}

// listing returns the state as a resync listing, links and addresses in order.
func (s *netState) listing() ([]LinkEvent, []AddrEvent) {
	links := make([]LinkEvent, 0, len(s.links))
	for _, i := range slices.Sorted(maps.Keys(s.links)) {
		links = append(links, s.links[i])
	}
	addrs := make([]AddrEvent, 0, len(s.addrs))
	for _, k := range s.sortedAddrs() {
		addrs = append(addrs, s.event(k))
	}
	return links, addrs
}

// event is the address of k, as its event, under its link's current name.
func (s *netState) event(k addrKey) AddrEvent {
	return AddrEvent{Index: k.index, Interface: s.links[k.index].Name, Prefix: k.prefix}
}

func (s *netState) sortedAddrs() []addrKey {
	return slices.SortedFunc(maps.Keys(s.addrs), compareAddrKeys)
}

func compareAddrKeys(a, b addrKey) int {
	return cmp.Or(
		cmp.Compare(a.index, b.index),
		a.prefix.Addr().Compare(b.prefix.Addr()),
		cmp.Compare(a.prefix.Bits(), b.prefix.Bits()),
	)
}

// Defaults of a Monitor.
const (
	// subscriberBuffer is how many events a consumer may fall behind before its
	// events are held back and coalesced: a thousand VIPs taken over at once fit.
	subscriberBuffer = 2048
	// catchUpInterval is how often held-back consumers are offered what they missed
	// when no new event gives the occasion.
	catchUpInterval = 100 * time.Millisecond
	minBackoff      = 100 * time.Millisecond
	maxBackoff      = 10 * time.Second
)

// Monitor delivers the link and address events of one network namespace to any number
// of consumers: first the existing state, then changes. When its netlink subscription
// ends or fails (ENOBUFS, for one: the kernel dropped messages), it subscribes again
// after a backoff of 0.1 s doubling up to 10 s, and lists the state again; consumers
// get what changed in between, deletions included, so they converge.
//
// A consumer that does not keep up never blocks the others or the netlink reader:
// once its channel is full, its events are held back, and as its channel empties it
// gets the events that take it from what it last got to the current state. Changes
// that cancel out while it was behind (a link that went down and came back) are then
// not reported at all. Methods are safe for concurrent use.
type Monitor struct {
	log                    *slog.Logger
	minBackoff, maxBackoff time.Duration
	buffer                 int
	// kick makes the running session end as if its subscription had failed.
	kick chan struct{}
	// release frees what the system part of the monitor holds, after it stopped.
	release func() error

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	mu     sync.Mutex
	state  netState
	subs   map[*subscriber]struct{}
	closed bool
}

// subscriber is one consumer: its channel and what it has been sent.
type subscriber struct {
	ch     chan Event
	known  netState
	behind bool
}

func newMonitor(log *slog.Logger) *Monitor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Monitor{
		log:        log,
		minBackoff: minBackoff,
		maxBackoff: maxBackoff,
		buffer:     subscriberBuffer,
		kick:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		state:      newNetState(),
		subs:       map[*subscriber]struct{}{},
	}
}

// start runs session over and over until Close, and offers held-back consumers what
// they missed.
func (m *Monitor) start(session func(stop <-chan struct{}) error) {
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		m.run(session)
	}()
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(catchUpInterval)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.catchUp()
			}
		}
	}()
}

// run keeps a session going until Close. A session subscribes, lists the current
// state, and forwards changes until its subscription ends.
func (m *Monitor) run(session func(stop <-chan struct{}) error) {
	backoff := m.minBackoff
	for {
		started := time.Now()
		err := session(m.stop)
		select {
		case <-m.stop:
			return
		default:
		}
		if time.Since(started) > m.maxBackoff {
			// It ran well for a while: this failure is a new one.
			backoff = m.minBackoff
		}
		m.log.Warn("netlink subscription ended, subscribing again", "err", err, "retry_in_s", backoff.Seconds())
		t := time.NewTimer(backoff)
		select {
		case <-m.stop:
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, m.maxBackoff)
	}
}

// resubscribe ends the current subscription as a failure would; the monitor subscribes
// again and lists the state afresh.
func (m *Monitor) resubscribe() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// update changes the state with f and delivers the events f returns.
func (m *Monitor) update(f func(*netState) []Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	evs := f(&m.state)
	if len(evs) == 0 {
		return
	}
	for s := range m.subs {
		m.deliver(s, evs)
	}
}

// hasLink reports whether the monitor knows link index.
func (m *Monitor) hasLink(index int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.state.links[index]
	return ok
}

// deliver sends evs to s, or, when s is behind, what s has missed. m.mu is held.
func (m *Monitor) deliver(s *subscriber, evs []Event) {
	if s.behind {
		// catchUp offers it what it missed: a listing of the whole state per event
		// would cost a thousand of them for a thousand VIPs.
		return
	}
	for _, e := range evs {
		select {
		case s.ch <- e:
			s.known.apply(e)
		default:
			s.behind = true
			m.log.Warn("link event consumer is behind, coalescing its events", "buffer", cap(s.ch))
			return
		}
	}
}

// offer sends s the events that take it from what it knows to the current state, as
// many as its channel has room for; s stays behind until all went. Any prefix of them
// keeps the order consumers rely on. m.mu is held.
func (m *Monitor) offer(s *subscriber) {
	known := s.known.clone()
	for _, e := range known.resync(m.state.listing()) {
		select {
		case s.ch <- e:
			s.known.apply(e)
		default:
			return
		}
	}
	s.behind = false
}

// catchUp offers every consumer that is behind what it missed.
func (m *Monitor) catchUp() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := range m.subs {
		if s.behind {
			m.offer(s)
		}
	}
}

// Subscribe returns a channel of events, starting with the current state (links, then
// addresses), and a function that ends the subscription and closes the channel. Close
// closes every channel. The consumer should read promptly; see Monitor for what
// happens when it does not.
func (m *Monitor) Subscribe() (<-chan Event, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	links, addrs := m.state.listing()
	s := &subscriber{ch: make(chan Event, m.buffer+len(links)+len(addrs)), known: newNetState(), behind: true}
	if m.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	m.offer(s)
	m.subs[s] = struct{}{}
	cancel := func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if _, ok := m.subs[s]; ok {
			delete(m.subs, s)
			close(s.ch)
		}
	}
	return s.ch, cancel
}

// Close stops the monitor and closes every subscriber's channel.
func (m *Monitor) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		m.wg.Wait()
		m.mu.Lock()
		m.closed = true
		for s := range m.subs {
			close(s.ch)
		}
		m.subs = nil
		m.mu.Unlock()
		if m.release != nil {
			m.closeErr = m.release()
		}
	})
	return m.closeErr
}

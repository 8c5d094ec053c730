package netops

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vrrpd/vrrpd/vrrp"
)

// Packet is a received VRRP packet with what the kernel said about it. It is the
// subscriber's until it calls Release.
type Packet struct {
	Data []byte
	Meta vrrp.Meta
	buf  []byte
	pool *sync.Pool
}

// Release gives the packet back for another: it must not be used after. A packet never
// released is simply collected.
func (p *Packet) Release() {
	if p.pool != nil {
		p.pool.Put(p)
	}
}

// maxPacket is the largest packet read: an IPv4 header with options and the longest
// advert (255 IPv6 addresses), rounded up. smallPacket holds most adverts (up to 28
// IPv4 VIPs or 7 IPv6 ones): the queued packets of a thousand subscriptions under a
// flood take little memory.
const (
	maxPacket   = 4160
	smallPacket = 128
)

// QueueLen is how many received packets wait for a slow subscriber before the newest are
// dropped (and counted): a few intervals of a busy LAN's adverts for one VRID, small
// enough that a thousand subscriptions cost little.
const QueueLen = 16

// ErrDuplicateVRID is returned when a VRID is subscribed twice on one interface and family.
var ErrDuplicateVRID = errors.New("netops: VRID already in use on this interface and family")

// Mux shares one Socket per interface and family among the virtual routers on it and
// hands each received packet to the subscriber of its VRID. A socket per interface
// rather than per instance is what lets a hundred VRIDs on one VLAN cost one read loop.
type Mux struct {
	open Opener
	log  *slog.Logger

	// small and large hold *Packet, reused so that a flood from the LAN costs no
	// allocation; scratch is where each port's reader reads, its owner.
	small, large sync.Pool

	mu     sync.Mutex
	ports  map[portKey]*port
	closed bool
}

type portKey struct {
	ifname string
	family vrrp.Family
}

// port is one socket and its subscribers.
type port struct {
	key     portKey
	sock    Socket
	subs    map[uint8]*Subscription
	unknown atomic.Uint64 // packets for a VRID nobody subscribed to, or too short to have one
	done    chan struct{} // closed when the reader of sock returns
}

// NewMux returns a Mux that opens sockets with open (OpenSocket, or a fake).
func NewMux(open Opener, log *slog.Logger) *Mux {
	m := &Mux{open: open, log: log, ports: map[portKey]*port{}}
	m.small.New = func() any { return &Packet{buf: make([]byte, smallPacket), pool: &m.small} }
	m.large.New = func() any { return &Packet{buf: make([]byte, maxPacket), pool: &m.large} }
	return m
}

// Subscription receives the packets of one VRID on one interface and family, and sends
// through the same socket.
type Subscription struct {
	mux      *Mux
	key      portKey
	vrid     uint8
	ch       chan *Packet // pointers: a thousand subscriptions' queues cost little
	overflow atomic.Uint64
	once     sync.Once
	// With an inbox instead of ch: the packets queued, and whether the inbox has the
	// subscription in its turn; both guarded by the inbox.
	inbox   *Inbox
	queue   []*Packet
	waiting bool
}

// Subscribe opens the interface's socket if it is the first subscription on it.
func (m *Mux) Subscribe(ifname string, family vrrp.Family, vrid uint8) (*Subscription, error) {
	return m.subscribe(ifname, family, vrid, nil)
}

func (m *Mux) subscribe(ifname string, family vrrp.Family, vrid uint8, inbox *Inbox) (*Subscription, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("netops: subscribe: %w", net.ErrClosed)
	}
	key := portKey{ifname, family}
	p := m.ports[key]
	if p == nil {
		sock, err := m.open(ifname, family)
		if err != nil {
			return nil, err
		}
		p = &port{key: key, sock: sock, subs: map[uint8]*Subscription{}}
		m.ports[key] = p
		m.startReader(p)
	}
	if _, dup := p.subs[vrid]; dup {
		return nil, fmt.Errorf("%w: VRID %d on %s %v", ErrDuplicateVRID, vrid, ifname, family)
	}
	s := &Subscription{mux: m, key: key, vrid: vrid, inbox: inbox}
	if inbox == nil {
		s.ch = make(chan *Packet, QueueLen)
	}
	p.subs[vrid] = s
	return s, nil
}

// startReader reads p.sock until it is closed. Called with m.mu held.
func (m *Mux) startReader(p *port) {
	p.done = make(chan struct{})
	go m.read(p, p.sock, p.done)
}

func (m *Mux) read(p *port, sock Socket, done chan struct{}) {
	defer close(done)
	var lastLog time.Time
	scratch := make([]byte, maxPacket)
	for {
		n, meta, err := sock.Read(scratch)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A read error on a raw socket is rare and usually lasting (the interface
			// went away); say it once a second and do not spin.
			if time.Since(lastLog) > time.Second {
				m.log.Warn("receive failed", "interface", p.key.ifname, "family", p.key.family.String(), "error", err)
				lastLog = time.Now()
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if n < 2 {
			p.unknown.Add(1)
			continue
		}
		m.mu.Lock()
		s := p.subs[scratch[1]]
		m.mu.Unlock()
		if s == nil {
			p.unknown.Add(1)
			continue
		}
		pool := &m.small
		if n > smallPacket {
			pool = &m.large
		}
		pkt := pool.Get().(*Packet)
		pkt.Data, pkt.Meta = pkt.buf[:copy(pkt.buf, scratch[:n]):n], meta
		if s.inbox != nil {
			if !s.inbox.put(s, pkt) {
				pkt.Release()
				s.overflow.Add(1)
			}
			continue
		}
		select {
		case s.ch <- pkt:
		default:
			pkt.Release()
			s.overflow.Add(1)
		}
	}
}

// Packets returns the channel of received packets; nil for a subscription to an inbox.
// It is never closed: the subscriber stops reading when it closes the subscription.
func (s *Subscription) Packets() <-chan *Packet { return s.ch }

// Dropped returns how many packets were dropped because the subscriber fell behind.
func (s *Subscription) Dropped() uint64 { return s.overflow.Load() }

// Send sends pkt from src to dst through the interface's socket.
func (s *Subscription) Send(pkt []byte, src, dst netip.Addr) error {
	s.mux.mu.Lock()
	p := s.mux.ports[s.key]
	var sock Socket
	if p != nil && p.subs[s.vrid] == s {
		sock = p.sock
	}
	s.mux.mu.Unlock()
	if sock == nil {
		return fmt.Errorf("netops: send on a closed subscription: %w", net.ErrClosed)
	}
	return sock.Write(pkt, src, dst)
}

// SendBatch sends pkts through the socket of interface ifname and family f: in few
// system calls where the socket can (BatchWriter), one at a time otherwise. It returns
// the first error, after trying every packet.
func (m *Mux) SendBatch(ifname string, f vrrp.Family, pkts []Outgoing) error {
	m.mu.Lock()
	p := m.ports[portKey{ifname, f}]
	var sock Socket
	if p != nil {
		sock = p.sock
	}
	m.mu.Unlock()
	if sock == nil {
		return fmt.Errorf("netops: send on %s %v: %w", ifname, f, net.ErrClosed)
	}
	if bw, ok := sock.(BatchWriter); ok {
		return bw.WriteBatch(pkts)
	}
	var first error
	for _, o := range pkts {
		if err := sock.Write(o.Data, o.Src, o.Dst); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close ends the subscription; the last one on an interface closes its socket.
func (s *Subscription) Close() {
	s.once.Do(func() {
		m := s.mux
		m.mu.Lock()
		p := m.ports[s.key]
		if p == nil || p.subs[s.vrid] != s {
			m.mu.Unlock()
			return
		}
		delete(p.subs, s.vrid)
		if s.inbox != nil {
			// Packets the reader puts after this are the inbox reader's to drop.
			defer s.inbox.forget(s)
		}
		if len(p.subs) > 0 {
			m.mu.Unlock()
			return
		}
		delete(m.ports, s.key)
		sock, done := p.sock, p.done
		m.mu.Unlock()
		sock.Close()
		<-done
	})
}

// Unknown returns how many packets arrived on an interface and family for a VRID nobody
// subscribed to.
func (m *Mux) Unknown(ifname string, family vrrp.Family) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.ports[portKey{ifname, family}]; p != nil {
		return p.unknown.Load()
	}
	return 0
}

// Reopen replaces the sockets of ifname, keeping their subscriptions: after an interface
// is deleted and created again (a VLAN re-created), the old socket is bound to an index
// that no longer exists.
func (m *Mux) Reopen(ifname string) error {
	m.mu.Lock()
	var ports []*port
	for key, p := range m.ports {
		if key.ifname == ifname {
			ports = append(ports, p)
		}
	}
	m.mu.Unlock()
	var errs []error
	for _, p := range ports {
		sock, err := m.open(ifname, p.key.family)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.mu.Lock()
		if m.ports[p.key] != p { // closed meanwhile
			m.mu.Unlock()
			sock.Close()
			continue
		}
		old, done := p.sock, p.done
		p.sock = sock
		m.startReader(p)
		m.mu.Unlock()
		// The old reader takes m.mu to dispatch: wait for it outside the lock.
		old.Close()
		<-done
	}
	return errors.Join(errs...)
}

// Close closes every socket. Subscriptions stop receiving and their Send fails.
func (m *Mux) Close() error {
	m.mu.Lock()
	m.closed = true
	var socks []Socket
	var dones []chan struct{}
	for _, p := range m.ports {
		socks, dones = append(socks, p.sock), append(dones, p.done)
	}
	m.ports = map[portKey]*port{}
	m.mu.Unlock()
	var errs []error
	for i, sock := range socks {
		errs = append(errs, sock.Close())
		<-dones[i]
	}
	return errors.Join(errs...)
}

package fake

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/vrrp"
)

// Segment is a broadcast domain, like a bridge or a VLAN, that carries adverts between
// the interfaces attached to it. It is safe for concurrent use.
type Segment struct {
	mu     sync.Mutex
	ifaces []*Interface
	ttl    int
	cut    map[*Host]bool
}

// NewSegment returns an empty segment.
func NewSegment() *Segment { return &Segment{cut: map[*Host]bool{}} }

// SetTTL makes every packet arrive with this TTL (0: as sent, 255), to exercise checks.
func (s *Segment) SetTTL(ttl int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = ttl
}

// Cut stops h from sending or receiving on the segment, like a pulled cable; Mend undoes it.
func (s *Segment) Cut(h *Host) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cut[h] = true
}

// Mend reconnects h.
func (s *Segment) Mend(h *Host) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cut, h)
}

// Host is a node with interfaces.
type Host struct {
	Name   string
	mu     sync.Mutex
	ifaces map[string]*Interface
	next   int
	// bfd are the BFD listeners, by family, under mu.
	bfd map[vrrp.Family]*BFDListener
	// bfdPorts is the next BFD source port, under mu.
	bfdPorts uint16
}

// NewHost returns a host without interfaces.
func NewHost(name string) *Host { return &Host{Name: name, ifaces: map[string]*Interface{}, next: 1} }

// Interface is a host's interface on a segment.
type Interface struct {
	host  *Host
	Name  string
	Index int
	seg   *Segment
	mu    sync.Mutex
	addrs []netip.Addr
	socks []*Socket
}

// Attach gives h an interface on seg with the given addresses.
func (h *Host) Attach(ifname string, seg *Segment, addrs ...netip.Addr) *Interface {
	h.mu.Lock()
	h.next++
	ifc := &Interface{host: h, Name: ifname, Index: h.next, seg: seg, addrs: addrs}
	h.ifaces[ifname] = ifc
	h.mu.Unlock()
	seg.mu.Lock()
	seg.ifaces = append(seg.ifaces, ifc)
	seg.mu.Unlock()
	return ifc
}

// Open is a netops.Opener for the host's interfaces.
func (h *Host) Open(ifname string, family vrrp.Family) (netops.Socket, error) {
	h.mu.Lock()
	ifc := h.ifaces[ifname]
	h.mu.Unlock()
	if ifc == nil {
		return nil, fmt.Errorf("fake: socket on %s: no such interface", ifname)
	}
	s := &Socket{ifc: ifc, family: family, in: make(chan packet, 256), closed: make(chan struct{})}
	ifc.mu.Lock()
	ifc.socks = append(ifc.socks, s)
	ifc.mu.Unlock()
	return s, nil
}

// packet is one packet on its way to a fake socket.
type packet struct {
	data []byte
	meta vrrp.Meta
}

// Socket is a fake netops.Socket.
type Socket struct {
	ifc    *Interface
	family vrrp.Family
	in     chan packet
	once   sync.Once
	closed chan struct{}
	// queued counts the packets put in in; done, the packets the reader is finished
	// with: a packet that Read returned is in the reader's hands until it calls Read
	// again. returned is the reader's own count.
	queued, done atomic.Uint64
	returned     uint64
	// groups are the groups joined besides the RFC's, under ifc.mu.
	groups map[netip.Addr]bool
}

// JoinGroup implements netops.GroupJoiner.
func (s *Socket) JoinGroup(group netip.Addr) error {
	s.ifc.mu.Lock()
	defer s.ifc.mu.Unlock()
	if s.groups[group] {
		return fmt.Errorf("fake: join %v: already joined", group)
	}
	if s.groups == nil {
		s.groups = map[netip.Addr]bool{}
	}
	s.groups[group] = true
	return nil
}

// LeaveGroup implements netops.GroupJoiner.
func (s *Socket) LeaveGroup(group netip.Addr) error {
	s.ifc.mu.Lock()
	defer s.ifc.mu.Unlock()
	if !s.groups[group] {
		return fmt.Errorf("fake: leave %v: not joined", group)
	}
	delete(s.groups, group)
	return nil
}

// hears reports whether s hears packets to dst: its own addresses' are checked by the
// caller. ifc.mu is held.
func (s *Socket) hears(dst netip.Addr) bool {
	return !dst.IsMulticast() || dst == netops.Group(s.family) || s.groups[dst]
}

// Read implements netops.Socket.
func (s *Socket) Read(b []byte) (int, vrrp.Meta, error) {
	s.done.Store(s.returned)
	select {
	case <-s.closed:
		return 0, vrrp.Meta{}, fmt.Errorf("fake: read: %w", net.ErrClosed)
	case p := <-s.in:
		s.returned++
		return copy(b, p.data), p.meta, nil
	}
}

// idle reports whether every packet sent to s was read and its reader came back for
// more.
func (s *Socket) idle() bool {
	select {
	case <-s.closed:
		return true
	default:
	}
	return s.queued.Load() == s.done.Load()
}

// Idle reports whether every packet sent to the host's sockets was read, and their
// readers wait for more: with a fake clock, a test knows the network is quiet.
func (h *Host) Idle() bool {
	h.mu.Lock()
	ifaces := make([]*Interface, 0, len(h.ifaces))
	for _, ifc := range h.ifaces {
		ifaces = append(ifaces, ifc)
	}
	h.mu.Unlock()
	h.mu.Lock()
	for _, l := range h.bfd {
		if !l.idle() {
			h.mu.Unlock()
			return false
		}
	}
	h.mu.Unlock()
	for _, ifc := range ifaces {
		ifc.mu.Lock()
		socks := slices.Clone(ifc.socks)
		ifc.mu.Unlock()
		for _, s := range socks {
			if !s.idle() {
				return false
			}
		}
	}
	return true
}

// Write implements netops.Socket: a multicast packet reaches the sockets of every other
// interface on the segment that joined its group (every socket hears the RFC's), a
// unicast one the interfaces that have dst; never the sender itself.
func (s *Socket) Write(pkt []byte, src, dst netip.Addr) error {
	select {
	case <-s.closed:
		return fmt.Errorf("fake: write: %w", net.ErrClosed)
	default:
	}
	seg := s.ifc.seg
	seg.mu.Lock()
	if seg.cut[s.ifc.host] {
		seg.mu.Unlock()
		return nil
	}
	ttl := 255
	if seg.ttl != 0 {
		ttl = seg.ttl
	}
	var targets []*Interface
	for _, ifc := range seg.ifaces {
		if ifc != s.ifc && !seg.cut[ifc.host] {
			targets = append(targets, ifc)
		}
	}
	seg.mu.Unlock()
	for _, ifc := range targets {
		ifc.mu.Lock()
		if !dst.IsMulticast() && !slices.Contains(ifc.addrs, dst) {
			ifc.mu.Unlock()
			continue
		}
		for _, rs := range ifc.socks {
			if rs.family != s.family || !rs.hears(dst) {
				continue
			}
			p := packet{data: slices.Clone(pkt), meta: vrrp.Meta{Src: src, Dst: dst, TTL: ttl, IfIndex: ifc.Index}}
			rs.queued.Add(1)
			select {
			case rs.in <- p:
			default: // a full queue drops, like a socket buffer
				rs.queued.Add(^uint64(0))
			}
		}
		ifc.mu.Unlock()
	}
	return nil
}

// Close implements netops.Socket.
func (s *Socket) Close() error {
	s.once.Do(func() {
		close(s.closed)
		ifc := s.ifc
		ifc.mu.Lock()
		ifc.socks = slices.DeleteFunc(ifc.socks, func(o *Socket) bool { return o == s })
		ifc.mu.Unlock()
	})
	return nil
}

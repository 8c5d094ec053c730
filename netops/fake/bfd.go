package fake

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/vrrp"
)

// BFDListener is a fake netops.BFDListener: it receives what the BFD senders of other
// hosts on its host's segments send to one of its addresses.
type BFDListener struct {
	in     chan bfdPacket
	once   sync.Once
	closed chan struct{}
	// queued and done count as a Socket's do, for Host.Idle.
	queued, done atomic.Uint64
	returned     uint64
}

type bfdPacket struct {
	data []byte
	meta netops.BFDMeta
}

// ListenBFD implements netops.BFDSockets; one listener per family at a time, as the
// kernel allows one socket on port 3784.
func (h *Host) ListenBFD(f vrrp.Family) (netops.BFDListener, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if l := h.bfd[f]; l != nil && !l.isClosed() {
		return nil, fmt.Errorf("fake: BFD %v listener: port 3784 is in use", f)
	}
	if h.bfd == nil {
		h.bfd = make(map[vrrp.Family]*BFDListener)
	}
	l := &BFDListener{in: make(chan bfdPacket, 256), closed: make(chan struct{})}
	h.bfd[f] = l
	return l, nil
}

func (l *BFDListener) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// Read implements netops.BFDListener.
func (l *BFDListener) Read(b []byte) (int, netops.BFDMeta, error) {
	l.done.Store(l.returned)
	select {
	case <-l.closed:
		return 0, netops.BFDMeta{}, fmt.Errorf("fake: BFD read: %w", net.ErrClosed)
	case p := <-l.in:
		l.returned++
		n := copy(b, p.data)
		if p.meta.TTL != 255 {
			return n, p.meta, fmt.Errorf("%w: %d from %v", netops.ErrBFDTTL, p.meta.TTL, p.meta.Src)
		}
		return n, p.meta, nil
	}
}

// Close implements netops.BFDListener.
func (l *BFDListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// BFDSender is a fake netops.BFDSender.
type BFDSender struct {
	host        *Host
	local, peer netip.Addr
	ifname      string
	port        uint16
	once        sync.Once
	closed      chan struct{}
}

// DialBFD implements netops.BFDSockets. Source ports count up from 49152.
func (h *Host) DialBFD(local, peer netip.Addr, ifname string) (netops.BFDSender, error) {
	if !peer.IsValid() {
		return nil, fmt.Errorf("fake: BFD sender: no peer address")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ifname != "" && h.ifaces[ifname] == nil {
		return nil, fmt.Errorf("fake: BFD sender on %s: no such interface", ifname)
	}
	port := 49152 + h.bfdPorts
	h.bfdPorts++
	return &BFDSender{host: h, local: local, peer: peer, ifname: ifname, port: port, closed: make(chan struct{})}, nil
}

// LocalPort implements netops.BFDSender.
func (s *BFDSender) LocalPort() uint16 { return s.port }

// Close implements netops.BFDSender.
func (s *BFDSender) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// Write implements netops.BFDSender: the packet reaches the listener of the host that
// has the peer's address on a segment of the sending interface, unless either host is
// cut from it; with the segment's TTL.
func (s *BFDSender) Write(pkt []byte) error {
	select {
	case <-s.closed:
		return fmt.Errorf("fake: BFD write: %w", net.ErrClosed)
	default:
	}
	for _, ifc := range s.host.interfaces() {
		if s.ifname != "" && ifc.Name != s.ifname || s.local.IsValid() && !ifc.has(s.local) {
			continue
		}
		src := s.local
		if !src.IsValid() {
			src = ifc.first(s.peer.Is6())
		}
		seg := ifc.seg
		seg.mu.Lock()
		if seg.cut[s.host] {
			seg.mu.Unlock()
			continue
		}
		ttl := 255
		if seg.ttl != 0 {
			ttl = seg.ttl
		}
		var target *Interface
		for _, o := range seg.ifaces {
			if o != ifc && !seg.cut[o.host] && o.has(s.peer) {
				target = o
				break
			}
		}
		seg.mu.Unlock()
		if target == nil {
			continue
		}
		f := vrrp.FamilyOf(s.peer)
		target.host.mu.Lock()
		l := target.host.bfd[f]
		target.host.mu.Unlock()
		if l == nil || l.isClosed() {
			return nil // the kernel would get an ICMP port unreachable
		}
		meta := netops.BFDMeta{Src: src, Dst: s.peer, SrcPort: s.port, TTL: ttl, IfIndex: target.Index}
		l.queued.Add(1)
		select {
		case l.in <- bfdPacket{data: append([]byte(nil), pkt...), meta: meta}:
		default: // a full queue drops, as a socket buffer does
			l.queued.Add(^uint64(0))
		}
		return nil
	}
	return nil
}

// interfaces returns the host's interfaces.
func (h *Host) interfaces() []*Interface {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Interface, 0, len(h.ifaces))
	for _, ifc := range h.ifaces {
		out = append(out, ifc)
	}
	return out
}

// has reports whether ifc has address a.
func (ifc *Interface) has(a netip.Addr) bool {
	ifc.mu.Lock()
	defer ifc.mu.Unlock()
	for _, x := range ifc.addrs {
		if x == a {
			return true
		}
	}
	return false
}

// first returns ifc's first address of a family.
func (ifc *Interface) first(v6 bool) netip.Addr {
	ifc.mu.Lock()
	defer ifc.mu.Unlock()
	for _, x := range ifc.addrs {
		if x.Is6() == v6 {
			return x
		}
	}
	return netip.Addr{}
}

var _ netops.BFDSockets = (*Host)(nil)

// idle reports whether every packet sent to l was read and its reader came back for
// more.
func (l *BFDListener) idle() bool {
	return l.isClosed() || l.queued.Load() == l.done.Load()
}

package netops

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/vrrp"
)

// BFD's ports (RFC 5881 section 4). Package bfd has them too; netops does not import it.
const (
	bfdPort          = 3784
	bfdMinSourcePort = 49152
	bfdMaxSourcePort = 65535
	// bfdPortTries bounds the search for a free source port.
	bfdPortTries = 64
)

// bfdListener is a UDP socket on port 3784 that asks for each packet's TTL or hop
// limit, destination and interface (IP_RECVTTL and IP_PKTINFO, or IPV6_RECVHOPLIMIT and
// IPV6_RECVPKTINFO).
type bfdListener struct {
	conn *net.UDPConn
	p4   *ipv4.PacketConn
	p6   *ipv6.PacketConn
}

// ListenBFD implements BFDSockets. IPv6's socket is IPv6 only.
func (KernelBFD) ListenBFD(f vrrp.Family) (BFDListener, error) {
	network, addr := "udp4", "0.0.0.0"
	if f == vrrp.IPv6 {
		network, addr = "udp6", "::"
	}
	lc := net.ListenConfig{}
	c, err := lc.ListenPacket(context.Background(), network, net.JoinHostPort(addr, strconv.Itoa(bfdPort)))
	if err != nil {
		return nil, fmt.Errorf("netops: BFD %v listener: %w", f, err)
	}
	l := &bfdListener{conn: c.(*net.UDPConn)}
	if f == vrrp.IPv6 {
		l.p6 = ipv6.NewPacketConn(c)
		err = l.p6.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true)
	} else {
		l.p4 = ipv4.NewPacketConn(c)
		err = l.p4.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("netops: BFD %v listener: %w", f, err)
	}
	return l, nil
}

// Read implements BFDListener. BFD sends a few packets a second per session: the
// allocations of x/net's readers do not matter here.
func (l *bfdListener) Read(b []byte) (int, BFDMeta, error) {
	var m BFDMeta
	var n int
	var src net.Addr
	var err error
	if l.p6 != nil {
		var cm *ipv6.ControlMessage
		n, cm, src, err = l.p6.ReadFrom(b)
		if cm != nil {
			m.TTL, m.IfIndex = cm.HopLimit, cm.IfIndex
			m.Dst, _ = netip.AddrFromSlice(cm.Dst)
		}
	} else {
		var cm *ipv4.ControlMessage
		n, cm, src, err = l.p4.ReadFrom(b)
		if cm != nil {
			m.TTL, m.IfIndex = cm.TTL, cm.IfIndex
			m.Dst, _ = netip.AddrFromSlice(cm.Dst)
		}
	}
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return 0, m, err
		}
		return 0, m, fmt.Errorf("netops: BFD receive: %w", err)
	}
	m.Dst = m.Dst.Unmap()
	if u, ok := src.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		m.Src, m.SrcPort = ap.Addr().Unmap().WithZone(""), ap.Port()
	}
	if m.TTL != 255 {
		return n, m, fmt.Errorf("%w: %d from %v", ErrBFDTTL, m.TTL, m.Src)
	}
	return n, m, nil
}

func (l *bfdListener) Close() error { return l.conn.Close() }

// bfdSender is a UDP socket connected to the peer's port 3784.
type bfdSender struct {
	conn *net.UDPConn
	port uint16
}

// DialBFD implements BFDSockets: it binds a random port of 49152..65535, trying
// others while one is taken.
func (KernelBFD) DialBFD(local, peer netip.Addr, ifname string) (BFDSender, error) {
	if !peer.IsValid() {
		return nil, errors.New("netops: BFD sender: no peer address")
	}
	zone := ""
	if peer.Is6() && peer.IsLinkLocalUnicast() {
		zone = ifname
	}
	raddr := &net.UDPAddr{IP: peer.AsSlice(), Port: bfdPort, Zone: zone}
	var err error
	for range bfdPortTries {
		port := bfdMinSourcePort + rand.IntN(bfdMaxSourcePort-bfdMinSourcePort+1)
		d := net.Dialer{LocalAddr: &net.UDPAddr{Port: port}, Control: bfdControl(peer.Is6(), ifname)}
		if local.IsValid() {
			d.LocalAddr = &net.UDPAddr{IP: local.AsSlice(), Port: port, Zone: zone}
		}
		network := "udp4"
		if peer.Is6() {
			network = "udp6"
		}
		var c net.Conn
		c, err = d.Dial(network, raddr.String())
		if errors.Is(err, unix.EADDRINUSE) {
			continue
		}
		if err != nil {
			break
		}
		return &bfdSender{conn: c.(*net.UDPConn), port: uint16(port)}, nil
	}
	return nil, fmt.Errorf("netops: BFD sender %v -> %v: %w", local, peer, err)
}

// bfdControl sets TTL or hop limit 255, the traffic class of network control, and
// SO_BINDTODEVICE when ifname is set, before the socket is bound.
func bfdControl(v6 bool, ifname string) func(string, string, syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			s := int(fd)
			if ifname != "" {
				if serr = unix.BindToDevice(s, ifname); serr != nil {
					serr = fmt.Errorf("SO_BINDTODEVICE %s: %w", ifname, serr)
					return
				}
			}
			if v6 {
				serr = errors.Join(unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 255),
					unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos))
			} else {
				serr = errors.Join(unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_TTL, 255),
					unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_TOS, tos))
			}
		})
		return errors.Join(err, serr)
	}
}

// Write implements BFDSender. A refused packet (the peer's port is closed, as ICMP
// said of an earlier one) is not an error: the session sees the peer is silent.
func (s *bfdSender) Write(pkt []byte) error {
	if _, err := s.conn.Write(pkt); err != nil && !errors.Is(err, unix.ECONNREFUSED) {
		return fmt.Errorf("netops: BFD send to %v: %w", s.conn.RemoteAddr(), err)
	}
	return nil
}

func (s *bfdSender) LocalPort() uint16 { return s.port }
func (s *bfdSender) Close() error      { return s.conn.Close() }

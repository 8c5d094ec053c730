package netops

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/vrrp"
)

// Socket options as keepalived and FRR set them (protocol notes, section 8).
const (
	// tos is the TOS / traffic class of adverts: network control (CS6).
	tos = 0xc0
	// ttl is the TTL / hop limit of every advert; receivers check it on multicast.
	ttl = 255
	// ipv6MulticastAll is IPV6_MULTICAST_ALL (Linux 4.20), missing from x/sys.
	ipv6MulticastAll = 29
)

// rawSocket is a raw protocol-112 socket bound to one interface. The kernel builds the IP
// header; control messages carry the TTL, destination and interface of each packet in,
// and the source address of each packet out.
type rawSocket struct {
	ifi    *net.Interface
	family vrrp.Family
	conn   net.PacketConn
	p4     *ipv4.PacketConn
	p6     *ipv6.PacketConn
	rc     syscall.RawConn
	recv   receiver // owned by the one reader
	send   sender
}

// OpenSocket opens the raw VRRP socket of one interface and family. It needs
// CAP_NET_RAW.
func OpenSocket(ifname string, family vrrp.Family) (Socket, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("netops: socket on %s: %w", ifname, err)
	}
	s := &rawSocket{ifi: ifi, family: family}
	if err := s.open(); err != nil {
		return nil, fmt.Errorf("netops: %v socket on %s: %w", family, ifname, err)
	}
	return s, nil
}

func (s *rawSocket) open() error {
	network, address := "ip4:112", "0.0.0.0"
	if s.family == vrrp.IPv6 {
		network, address = "ip6:112", "::"
	}
	lc := net.ListenConfig{Control: s.control}
	c, err := lc.ListenPacket(context.Background(), network, address)
	if err != nil {
		return err
	}
	s.conn = c
	if s.rc, err = c.(syscall.Conn).SyscallConn(); err != nil {
		c.Close()
		return err
	}
	s.recv.init(s.family)
	s.send.init(s.family, s.ifi.Index)
	if s.family == vrrp.IPv6 {
		err = s.setup6()
	} else {
		err = s.setup4()
	}
	if err != nil {
		c.Close()
	}
	return err
}

// control sets what x/net does not expose: SO_BINDTODEVICE, so that the socket hears this
// interface only, SO_TIMESTAMPNS, and IP(V6)_MULTICAST_ALL off, so that it hears only the groups it joined
// itself rather than every group joined on the host.
func (s *rawSocket) control(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if serr = unix.BindToDevice(int(fd), s.ifi.Name); serr != nil {
			serr = fmt.Errorf("SO_BINDTODEVICE: %w", serr)
			return
		}
		// When each advert arrived: a backup's timers count from there, not from when
		// its reader, asleep or busy, got to it.
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); serr != nil {
			serr = fmt.Errorf("SO_TIMESTAMPNS: %w", serr)
			return
		}
		if s.family == vrrp.IPv6 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, ipv6MulticastAll, 0)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
		}
		if serr != nil {
			serr = fmt.Errorf("MULTICAST_ALL: %w", serr)
		}
	})
	return errors.Join(err, serr)
}

func (s *rawSocket) setup4() error {
	p := ipv4.NewPacketConn(s.conn)
	s.p4 = p
	return errors.Join(
		p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true),
		p.SetMulticastInterface(s.ifi),
		p.SetMulticastTTL(ttl),
		p.SetTTL(ttl),
		p.SetTOS(tos),
		p.SetMulticastLoopback(false),
		p.JoinGroup(s.ifi, &net.IPAddr{IP: vrrp.GroupIPv4.AsSlice()}),
	)
}

func (s *rawSocket) setup6() error {
	p := ipv6.NewPacketConn(s.conn)
	s.p6 = p
	return errors.Join(
		// The kernel computes the checksum (pseudo-header included) on send and drops
		// packets whose checksum is wrong on receive.
		p.SetChecksum(true, 6),
		p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true),
		p.SetMulticastInterface(s.ifi),
		p.SetMulticastHopLimit(ttl),
		p.SetHopLimit(ttl),
		p.SetTrafficClass(tos),
		p.SetMulticastLoopback(false),
		p.JoinGroup(s.ifi, &net.IPAddr{IP: vrrp.GroupIPv6.AsSlice()}),
	)
}

// Read reads one packet with recvmsg and decodes its control messages itself: the
// x/net readers allocate for every packet, and a host on the LAN can send us packets at
// line rate.
func (s *rawSocket) Read(b []byte) (int, vrrp.Meta, error) {
	n, m, err := s.recv.read(s.rc, b)
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return 0, m, err
		}
		return 0, m, fmt.Errorf("netops: receive on %s: %w", s.ifi.Name, err)
	}
	return n, m, nil
}

// Write sends pkt with sendmsg, building its address and control message itself: the
// x/net writers allocate for every packet, and a node with many virtual routers sends
// thousands a second.
func (s *rawSocket) Write(pkt []byte, src, dst netip.Addr) error {
	if err := s.send.write(s.rc, pkt, src, dst); err != nil {
		return fmt.Errorf("netops: send %v -> %v on %s: %w", src, dst, s.ifi.Name, err)
	}
	return nil
}

// WriteBatch sends pkts with sendmmsg.
func (s *rawSocket) WriteBatch(pkts []Outgoing) error {
	if err := s.send.writeBatch(s.rc, pkts); err != nil {
		return fmt.Errorf("netops: send %d packets on %s: %w", len(pkts), s.ifi.Name, err)
	}
	return nil
}

func (s *rawSocket) Close() error { return s.conn.Close() }

// JoinGroup implements GroupJoiner.
func (s *rawSocket) JoinGroup(group netip.Addr) error {
	g := &net.IPAddr{IP: group.AsSlice()}
	var err error
	if s.family == vrrp.IPv6 {
		err = s.p6.JoinGroup(s.ifi, g)
	} else {
		err = s.p4.JoinGroup(s.ifi, g)
	}
	if err != nil {
		return fmt.Errorf("netops: join %v on %s: %w", group, s.ifi.Name, err)
	}
	return nil
}

// LeaveGroup implements GroupJoiner.
func (s *rawSocket) LeaveGroup(group netip.Addr) error {
	g := &net.IPAddr{IP: group.AsSlice()}
	var err error
	if s.family == vrrp.IPv6 {
		err = s.p6.LeaveGroup(s.ifi, g)
	} else {
		err = s.p4.LeaveGroup(s.ifi, g)
	}
	if err != nil {
		return fmt.Errorf("netops: leave %v on %s: %w", group, s.ifi.Name, err)
	}
	return nil
}

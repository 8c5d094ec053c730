package netops

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/vrrp"
)

// sender writes packets to a raw VRRP socket with sendmsg from buffers it owns: the
// source address and the interface in an IP_PKTINFO or IPV6_PKTINFO control message,
// as keepalived sends them, without allocating. Writers take turns.
type sender struct {
	family  vrrp.Family
	ifindex int

	mu   sync.Mutex
	name unix.RawSockaddrInet6 // large enough for either family
	oob  [unix.SizeofCmsghdr + unix.SizeofInet6Pktinfo + 8]byte
	iov  unix.Iovec
	msg  unix.Msghdr
	// What the last sendmsg returned, set by fn, which is made once so that a write
	// passes no new closure to the runtime.
	errno error
	fn    func(fd uintptr) bool
	batch batchSender
}

func (s *sender) init(f vrrp.Family, ifindex int) {
	s.family, s.ifindex = f, ifindex
	s.fn = s.sendmsg
}

func (s *sender) sendmsg(fd uintptr) bool {
	_, _, e := unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&s.msg)), unix.MSG_DONTWAIT)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false // wait until the socket can take it
	}
	s.errno = nil
	if e != 0 {
		s.errno = e
	}
	return true
}

// write sends pkt from src to dst.
func (s *sender) write(rc syscall.RawConn, pkt []byte, src, dst netip.Addr) error {
	if len(pkt) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.name = unix.RawSockaddrInet6{}
	var oobLen int
	s.msg.Namelen, oobLen = putDest(&s.name, s.oob[:], s.family, s.ifindex, src, dst)
	s.msg.Name = (*byte)(unsafe.Pointer(&s.name))
	s.iov.Base = &pkt[0]
	s.iov.SetLen(len(pkt))
	s.msg.Iov = &s.iov
	s.msg.Iovlen = 1
	s.msg.Control = &s.oob[0]
	s.msg.SetControllen(oobLen)
	if err := rc.Write(s.fn); err != nil {
		return err
	}
	return s.errno
}

// putDest writes dst into name and the packet info that sends from src on the
// interface into oob, and returns their lengths. No closure, so that nothing escapes:
// the send paths allocate nothing.
func putDest(name *unix.RawSockaddrInet6, oob []byte, f vrrp.Family, ifindex int, src, dst netip.Addr) (nameLen uint32, oobLen int) {
	if f == vrrp.IPv6 {
		name.Family = unix.AF_INET6
		name.Addr = dst.As16()
		if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() {
			name.Scope_id = uint32(ifindex)
		}
		c := cmsg(oob, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo)
		src16 := src.As16()
		copy(c[0:16], src16[:])
		binary.NativeEndian.PutUint32(c[16:20], uint32(ifindex))
		return unix.SizeofSockaddrInet6, unix.CmsgSpace(unix.SizeofInet6Pktinfo)
	}
	sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(name))
	sa.Family = unix.AF_INET
	sa.Addr = dst.As4()
	c := cmsg(oob, unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
	binary.NativeEndian.PutUint32(c[0:4], uint32(ifindex))
	src4 := src.As4()
	copy(c[4:8], src4[:]) // ipi_spec_dst: the source address to use
	return unix.SizeofSockaddrInet4, unix.CmsgSpace(unix.SizeofInet4Pktinfo)
}

// cmsg writes one control message header of level and type with n bytes of data at
// the start of b, and returns its data, zeroed.
func cmsg(b []byte, level, typ int32, n int) []byte {
	clear(b[:unix.CmsgSpace(n)])
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(n))
	return b[unix.CmsgLen(0):unix.CmsgLen(n)]
}

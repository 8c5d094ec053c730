package netops

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/vrrp"
)

// receiver reads packets from a raw VRRP socket with recvmsg into buffers it owns, and
// decodes what the kernel says about each (IP_PKTINFO and IP_TTL, or IPV6_PKTINFO and
// IPV6_HOPLIMIT, and SO_TIMESTAMPNS, which the socket asked for) without allocating. One
// goroutine reads.
type receiver struct {
	family vrrp.Family
	name   unix.RawSockaddrInet6 // large enough for either family's source address
	oob    [128]byte
	iov    unix.Iovec
	msg    unix.Msghdr
	// What the last recvmsg returned, set by fn, which is made once so that a read
	// passes no new closure to the runtime.
	n, oobn int
	errno   error
	fn      func(fd uintptr) bool
}

func (r *receiver) init(f vrrp.Family) {
	r.family = f
	r.fn = r.recvmsg
}

func (r *receiver) recvmsg(fd uintptr) bool {
	r.msg.Name = (*byte)(unsafe.Pointer(&r.name))
	r.msg.Namelen = uint32(unsafe.Sizeof(r.name))
	r.msg.Iov = &r.iov
	r.msg.Iovlen = 1
	r.msg.Control = &r.oob[0]
	r.msg.SetControllen(len(r.oob))
	n, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.msg)), unix.MSG_DONTWAIT)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false // wait for the socket to be readable again
	}
	r.n, r.oobn, r.errno = int(n), int(r.msg.Controllen), nil
	if e != 0 {
		r.errno = e
	}
	return true
}

// read reads one packet into b: for IPv4 the payload after the IP header, which raw
// sockets deliver with it.
func (r *receiver) read(rc syscall.RawConn, b []byte) (int, vrrp.Meta, error) {
	var m vrrp.Meta
	if len(b) == 0 {
		return 0, m, errors.New("empty buffer")
	}
	r.iov.Base = &b[0]
	r.iov.SetLen(len(b))
	if err := rc.Read(r.fn); err != nil {
		return 0, m, err
	}
	if r.errno != nil {
		return 0, m, r.errno
	}
	n := min(r.n, len(b))
	parseControl(r.oob[:min(r.oobn, len(r.oob))], &m)
	m.Received = sinceKernel(m.Received, time.Now())
	if r.family == vrrp.IPv6 {
		if r.name.Family == unix.AF_INET6 {
			m.Src = netip.AddrFrom16(r.name.Addr).Unmap()
		}
		return n, m, nil
	}
	return stripIPv4(b[:n], &m)
}

var errShortHeader = errors.New("packet shorter than its IPv4 header")

// stripIPv4 moves the payload of the IPv4 packet b to its start and returns its length,
// with the source, destination and TTL of the header in m.
func stripIPv4(b []byte, m *vrrp.Meta) (int, vrrp.Meta, error) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return 0, *m, errShortHeader
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl {
		return 0, *m, errShortHeader
	}
	m.TTL = int(b[8])
	m.Src = netip.AddrFrom4([4]byte(b[12:16]))
	m.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	return copy(b, b[ihl:]), *m, nil
}

// parseControl decodes the control messages oob into m.
func parseControl(oob []byte, m *vrrp.Meta) {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		// Compared as unsigned: a length that does not fit an int must not pass.
		if uint64(h.Len) < unix.SizeofCmsghdr || uint64(h.Len) > uint64(len(oob)) {
			return
		}
		data := oob[unix.CmsgLen(0):h.Len]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			m.IfIndex = int(int32(binary.NativeEndian.Uint32(data[0:4])))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			m.Dst = netip.AddrFrom16([16]byte(data[0:16])).Unmap()
			m.IfIndex = int(binary.NativeEndian.Uint32(data[16:20]))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_HOPLIMIT && len(data) >= 4:
			m.TTL = int(int32(binary.NativeEndian.Uint32(data[0:4])))
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= timespecLen:
			m.Received = decodeTimespec(data)
		}
		oob = oob[min(unix.CmsgSpace(int(h.Len)-unix.CmsgLen(0)), len(oob)):]
	}
}

// sinceKernel turns the kernel's receive timestamp, a reading of the wall clock, into a
// time of the Go clock read at now, which carries the monotonic reading that timers
// compare. Zero when the stamp is missing or not before now: a step of the wall clock
// in between must not make a packet look older than it is by more than the step.
func sinceKernel(stamp, now time.Time) time.Time {
	if stamp.IsZero() {
		return time.Time{}
	}
	age := now.Sub(stamp) // by the wall clocks: stamp has no monotonic reading
	if age < 0 {
		return time.Time{}
	}
	return now.Add(-age)
}

// timespecLen is the size of the kernel's struct timespec, two words.
const timespecLen = int(unsafe.Sizeof(unix.Timespec{}))

// decodeTimespec reads a struct timespec without assuming the buffer's alignment.
func decodeTimespec(b []byte) time.Time {
	if timespecLen == 16 {
		return time.Unix(int64(binary.NativeEndian.Uint64(b[0:8])), int64(binary.NativeEndian.Uint64(b[8:16])))
	}
	return time.Unix(int64(int32(binary.NativeEndian.Uint32(b[0:4]))), int64(int32(binary.NativeEndian.Uint32(b[4:8]))))
}

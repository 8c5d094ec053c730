package netops

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxBatch is how many packets one sendmmsg carries.
const maxBatch = 64

// batchSender writes many packets in one sendmmsg, from arrays it owns: the adverts
// of hundreds of virtual routers that fall due together leave in a few system calls.
// Guarded by the sender's mutex.
type batchSender struct {
	names [maxBatch]unix.RawSockaddrInet6
	oobs  [maxBatch][unix.SizeofCmsghdr + unix.SizeofInet6Pktinfo + 8]byte
	iovs  [maxBatch]unix.Iovec
	msgs  [maxBatch]unix.Mmsghdr
	n     int // messages prepared
	off   int // the first not sent yet
	sent  int // sent by the last sendmmsg
	errno error
	fn    func(fd uintptr) bool
}

func (b *batchSender) sendmmsg(fd uintptr) bool {
	n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.msgs[b.off])), uintptr(b.n-b.off), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	b.sent, b.errno = int(n), nil
	if e != 0 {
		b.errno = e
	}
	return true
}

// writeBatch sends pkts, maxBatch at a time. It returns the first error, after trying
// every packet.
func (s *sender) writeBatch(rc syscall.RawConn, pkts []Outgoing) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &s.batch
	if b.fn == nil {
		b.fn = b.sendmmsg
	}
	var first error
	for len(pkts) > 0 {
		b.n = 0
		for _, p := range pkts[:min(len(pkts), maxBatch)] {
			if len(p.Data) == 0 {
				continue
			}
			i := b.n
			b.n++
			name := &b.names[i]
			*name = unix.RawSockaddrInet6{}
			m := &b.msgs[i]
			*m = unix.Mmsghdr{}
			var oobLen int
			m.Hdr.Namelen, oobLen = putDest(name, b.oobs[i][:], s.family, s.ifindex, p.Src, p.Dst)
			m.Hdr.Name = (*byte)(unsafe.Pointer(name))
			b.iovs[i].Base = &p.Data[0]
			b.iovs[i].SetLen(len(p.Data))
			m.Hdr.Iov = &b.iovs[i]
			m.Hdr.Iovlen = 1
			m.Hdr.Control = &b.oobs[i][0]
			m.Hdr.SetControllen(oobLen)
		}
		pkts = pkts[min(len(pkts), maxBatch):]
		for b.off = 0; b.off < b.n; {
			if err := rc.Write(b.fn); err != nil {
				return err
			}
			if b.errno != nil || b.sent <= 0 {
				// The first message failed: skip it, send the rest.
				if first == nil {
					first = b.errno
				}
				b.sent = 1
			}
			b.off += b.sent
		}
	}
	return first
}

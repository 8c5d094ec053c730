package netops

import (
	"errors"
	"net/netip"

	"github.com/vrrpd/vrrpd/vrrp"
)

// Socket carries the VRRP packets of one family on one interface: every VRID, multicast
// and unicast alike. Implementations are safe for one reader and concurrent writers.
type Socket interface {
	// Read reads the next packet into b and returns its length and what the kernel said
	// about it. After Close it returns an error that wraps net.ErrClosed.
	Read(b []byte) (int, vrrp.Meta, error)
	// Write sends pkt from src to dst: the VRRP group, or a unicast peer.
	Write(pkt []byte, src, dst netip.Addr) error
	// Close stops the socket; a blocked Read returns.
	Close() error
}

// Outgoing is one packet to send: from Src to Dst.
type Outgoing struct {
	Data     []byte
	Src, Dst netip.Addr
}

// BatchWriter is a Socket that sends many packets in few system calls. WriteBatch sends
// every packet it can and returns the first error.
type BatchWriter interface {
	WriteBatch(pkts []Outgoing) error
}

// Opener opens the Socket of one interface and family. OpenSocket is the real one.
type Opener func(ifname string, family vrrp.Family) (Socket, error)

// ErrNotSupported is returned on systems other than Linux.
var ErrNotSupported = errors.New("netops: not supported on this system")

// Group returns the VRRP multicast group of family f.
func Group(f vrrp.Family) netip.Addr {
	if f == vrrp.IPv6 {
		return vrrp.GroupIPv6
	}
	return vrrp.GroupIPv4
}

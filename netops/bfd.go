package netops

import (
	"errors"
	"net/netip"

	"github.com/vrrpd/vrrpd/vrrp"
)

// BFDMeta is what the kernel says about a received BFD control packet.
type BFDMeta struct {
	Src, Dst netip.Addr
	// SrcPort is the sender's UDP port.
	SrcPort uint16
	// TTL is the TTL (IPv4) or hop limit (IPv6).
	TTL int
	// IfIndex is the interface the packet arrived on; 0 when unknown.
	IfIndex int
}

// ErrBFDTTL is wrapped by BFDListener.Read's error for a packet that arrived with a TTL
// or hop limit other than 255, which a single-hop session discards (RFC 5881 section
// 5): it crossed a router, or was forged off-link.
var ErrBFDTTL = errors.New("netops: BFD packet with a TTL other than 255")

// BFDListener receives the single-hop BFD control packets of one family, on UDP port
// 3784 of every address. One goroutine reads.
type BFDListener interface {
	// Read reads the next packet into b and returns its length and what the kernel said
	// of it. A packet with another TTL than 255 is returned with an error wrapping
	// ErrBFDTTL. After Close it returns an error that wraps net.ErrClosed.
	Read(b []byte) (int, BFDMeta, error)
	// Close stops the listener; a blocked Read returns.
	Close() error
}

// BFDSender sends the control packets of one session: to the peer's port 3784 from one
// port of 49152..65535, with TTL or hop limit 255. It is safe for concurrent use.
type BFDSender interface {
	Write(pkt []byte) error
	// LocalPort is the UDP source port of every packet.
	LocalPort() uint16
	Close() error
}

// BFDSockets opens BFD sockets: KernelBFD, or a fake's.
type BFDSockets interface {
	// ListenBFD opens the listener of family f.
	ListenBFD(f vrrp.Family) (BFDListener, error)
	// DialBFD opens the sender of a session to peer, from local when it is valid (else
	// the address the kernel picks), on ifname when it is not empty.
	DialBFD(local, peer netip.Addr, ifname string) (BFDSender, error)
}

// KernelBFD opens the kernel's UDP sockets.
type KernelBFD struct{}

var _ BFDSockets = KernelBFD{}

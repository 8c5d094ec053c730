package rhi

import (
	"context"
	"net/netip"
	"time"

	"github.com/vrrpd/vrrpd/config"
)

// Speaker is a BGP speaker as the Manager drives it. GoBGP is the one vrrpd runs;
// tests may use another. Methods are safe for concurrent use.
type Speaker interface {
	// Start starts the speaker with this node's AS and router ID, with no peers and
	// no routes. After Stop it may be started again.
	Start(ctx context.Context, g Global) error
	// SetPeers makes peers the speaker's peers: sessions to peers whose settings did
	// not change are kept, others are closed and opened again, new ones opened.
	SetPeers(ctx context.Context, peers []config.BGPPeer) error
	// Announce announces prefix to the peers of its family with the session's own
	// address as next hop, or replaces the attributes of its announce.
	Announce(ctx context.Context, prefix netip.Prefix, a Attributes) error
	// Withdraw withdraws prefix; withdrawing a prefix not announced does nothing.
	Withdraw(ctx context.Context, prefix netip.Prefix) error
	// Peers returns the state of every peer, in the order of SetPeers.
	Peers() []PeerStatus
	// Stop closes every session (a Cease NOTIFICATION) and stops the speaker.
	Stop(ctx context.Context) error
}

// Global is the speaker's own identity.
type Global struct {
	ASN      uint32
	RouterID netip.Addr
	// HoldTime is proposed to every peer.
	HoldTime time.Duration
}

// PeerStatus is one peer as `vrrpd show` shows it.
type PeerStatus struct {
	Address netip.Addr
	ASN     uint32
	// State is the session's state in RFC 4271's words, lower case: idle, connect,
	// active, opensent, openconfirm, established.
	State string
	// Since is when the session was last established or last went down; zero when it
	// never was up.
	Since time.Time
	// LastError is the last reason a session failed or could not be opened, such as a
	// NOTIFICATION received, the hold timer expiring, or a connection that timed out.
	LastError string
	// BFD is the BFD session's state (up, down, init, admin_down), empty without BFD.
	BFD string
	// Advertised is how many prefixes the peer was sent.
	Advertised int
}

// Established reports whether the session is up.
func (p PeerStatus) Established() bool { return p.State == "established" }

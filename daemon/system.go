package daemon

import (
	"net/netip"

	"github.com/vrrpd/vrrpd/netops"
)

// System is what the daemon needs of the machine. Linux provides the real one; the
// daemon's unit tests build one from netops/fake.
type System struct {
	// Open opens the advert socket of an interface and family.
	Open netops.Opener
	// Addresses adds and removes VIPs.
	Addresses netops.Addresses
	// Routes adds and removes virtual routes and rules; nil where there are none.
	Routes netops.Routes
	// Links creates and removes virtual MAC interfaces; nil where there are none.
	Links netops.Links
	// Announcer sends gratuitous ARP and unsolicited NA.
	Announcer netops.Announcer
	// Interfaces tells the node's own addresses, to pick advert sources.
	Interfaces Interfaces
	// Events, when not nil, delivers link and address changes.
	Events <-chan netops.Event
	// Sysctl sets a kernel parameter by its path under /proc/sys, such as
	// net/ipv4/conf/eth0/promote_secondaries; nil leaves them alone.
	Sysctl func(path, value string) error
	// BFD opens the sockets of BFD sessions; nil where there are none.
	BFD netops.BFDSockets
}

// Interfaces reports on the node's interfaces.
type Interfaces interface {
	// Addrs returns the node's own addresses on an interface, VIPs excluded.
	Addrs(ifname string) ([]netip.Addr, error)
	// Up reports whether an interface is up; an instance that starts on one that is
	// down starts in FAULT.
	Up(ifname string) (bool, error)
}
